"""From scores to decisions, all on the VALIDATION rows (the test rows stay for the Evaluate step).

* :func:`validation_scores` and :func:`choose_model`: which model Auto keeps (PR-AUC for a binary
  target, accuracy then log-loss for multiclass, RMSE for regression);
* :func:`fit_calibration`: Platt scaling or isotonic regression (scikit-learn) of p(positive), kept
  only when it lowers the validation log-loss *out of fold* (5-fold cross-fitting on the
  validation rows, so the calibrator is never judged on the rows it was fitted to); stored as
  plain numbers (:class:`Calibration`), applied with numpy;
* :func:`choose_threshold`: the binary operating threshold, lowest cost of missed defects and
  false alarms when both costs are given, else highest F1; rounded to :data:`THRESHOLD_DIGITS`
  decimals so the threshold printed is exactly the one used;
* :func:`prediction_interval`: for regression, the 5 %..95 % quantiles of the validation residuals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from mfg_desktop.core.errors import TrainingError
from mfg_desktop.core.i18n import N_, tr
from mfg_desktop.core.task import BINARY, MULTICLASS, REGRESSION

THRESHOLD_DIGITS = 3
INTERVAL_QUANTILES = (0.05, 0.95)
# Calibration needs this many validation rows of each class to be judged out of fold at all.
MIN_CALIBRATION_ROWS_PER_CLASS = 10
CALIBRATION_FOLDS = 5
# A calibration is kept only when it lowers the out-of-fold log-loss by at least this share: a
# smaller gain is within the noise of the folds, and an unneeded map only blurs the scores.
MIN_CALIBRATION_GAIN = 0.005
EPS = 1e-7


def format_threshold(threshold: float | None) -> str:
    """A threshold as every screen, file and report shows it (the stored value has these digits)."""
    return "-" if threshold is None else f"{float(threshold):.{THRESHOLD_DIGITS}f}"


def log_loss(y: np.ndarray, proba: np.ndarray) -> float:
    """Mean cross-entropy of class codes ``y`` under (n, k) probabilities, clipped like Keras."""
    y = np.asarray(y, dtype=np.int64)
    if len(y) == 0:
        return math.nan
    p = np.clip(proba[np.arange(len(y)), y], EPS, 1.0)
    return float(-np.mean(np.log(p)))


# --------------------------------------------------------------------------------------------
# which model


SELECTION_METRIC = {BINARY: "pr_auc", MULTICLASS: "accuracy", REGRESSION: "rmse"}
# shown through tr() (the language is chosen after import); the acronyms read the same in every language
SELECTION_TEXT = {"pr_auc": "PR-AUC", "accuracy": N_("accuracy"), "rmse": "RMSE", "log_loss": N_("log-loss"),
                  "roc_auc": "ROC-AUC", "mae": "MAE", "r2": "R²"}
MODEL_TEXT = {"network": N_("network"), "trees": N_("LightGBM trees"), "blend": N_("network + LightGBM (averaged)"),
              "sequence": N_("sequence network")}


def validation_scores(y: np.ndarray, outputs: np.ndarray, task: str) -> dict[str, float]:
    """The numbers the models are compared by, on the validation rows (scikit-learn)."""
    from sklearn import metrics as skm

    if task == REGRESSION:
        y = np.asarray(y, dtype=np.float64)
        return {"rmse": float(skm.root_mean_squared_error(y, outputs)),
                "mae": float(skm.mean_absolute_error(y, outputs)),
                "r2": float(skm.r2_score(y, outputs)) if len(y) > 1 else math.nan}
    y = np.asarray(y, dtype=np.int64)
    scores = {"accuracy": float(np.mean(outputs.argmax(axis=1) == y)), "log_loss": log_loss(y, outputs)}
    if task == BINARY and len(np.unique(y)) == 2:
        scores["pr_auc"] = float(skm.average_precision_score(y, outputs[:, 1]))
        scores["roc_auc"] = float(skm.roc_auc_score(y, outputs[:, 1]))
    return scores


def _ranking_key(scores: dict[str, float], task: str) -> tuple[float, ...]:
    """Smaller is better; NaN ranks last."""
    def low(v: float | None) -> float:
        return math.inf if v is None or not math.isfinite(v) else float(v)

    if task == REGRESSION:
        return (low(scores.get("rmse")),)
    if task == BINARY and "pr_auc" in scores:
        return (low(-scores["pr_auc"]), low(scores.get("log_loss")))
    return (low(-scores.get("accuracy", math.nan)), low(scores.get("log_loss")))


def choose_model(candidates: dict[str, dict[str, float]], task: str) -> tuple[str, str]:
    """The name of the candidate with the better validation score, and a sentence saying why."""
    if not candidates:
        raise TrainingError(tr("No model was trained."))
    ranked = sorted(candidates, key=lambda name: _ranking_key(candidates[name], task))
    best = ranked[0]
    metric = SELECTION_METRIC[task]
    if task == BINARY and "pr_auc" not in candidates[best]:
        metric = "accuracy"

    def value(name: str) -> str:
        v = candidates[name].get(metric)
        return tr("n/a") if v is None or not math.isfinite(v) else f"{v:.4f}"

    def label(name: str) -> str:
        return tr(MODEL_TEXT.get(name, name))

    what = tr(SELECTION_TEXT[metric])
    if len(ranked) == 1:
        return best, tr("{model} only (validation {metric} {value})", model=label(best), metric=what,
                        value=value(best))
    others = ", ".join(f"{label(name)} {value(name)}" for name in ranked[1:])
    # whole sentences per direction: "lower"/"higher" sit elsewhere in a Chinese sentence
    sentence = (N_("{model} has the lower validation {metric}: {value} against {others}") if metric == "rmse"
                else N_("{model} has the higher validation {metric}: {value} against {others}"))
    reason = tr(sentence, model=label(best), metric=what, value=value(best), others=others)
    if len(ranked) > 1 and _ranking_key(candidates[best], task)[0] == _ranking_key(candidates[ranked[1]], task)[0]:
        reason = tr("{reason} (tied; the lower validation log-loss decided)", reason=reason)
    return best, reason


def _selection_value(y: np.ndarray, outputs: np.ndarray, task: str) -> float:
    """The selection metric, larger is better (RMSE negated)."""
    from sklearn import metrics as skm

    if task == REGRESSION:
        return -float(np.sqrt(np.mean((np.asarray(outputs, dtype=np.float64) - y) ** 2)))
    if task == BINARY:
        return float(skm.average_precision_score(y, outputs[:, 1])) if 0 < y.sum() < len(y) else math.nan
    return float(np.mean(outputs.argmax(axis=1) == y))


def clearly_better(y: np.ndarray, outputs: np.ndarray, other: np.ndarray, task: str, *, rounds: int = 200,
                   seed: int = 0, confidence: float = 0.9) -> bool:
    """Whether ``outputs`` beat ``other`` on the validation rows by more than the rows' own noise: in
    a paired bootstrap of those rows, the selection metric is higher in at least ``confidence`` of
    the resamples. A few hundred validation rows cannot tell apart two models a point apart."""
    y = np.asarray(y)
    if task != REGRESSION:
        y = y.astype(np.int64)
    rng = np.random.default_rng(seed)
    wins = valid = 0
    for _ in range(rounds):
        rows = rng.integers(0, len(y), len(y))
        a, b = _selection_value(y[rows], outputs[rows], task), _selection_value(y[rows], other[rows], task)
        if math.isfinite(a) and math.isfinite(b):
            valid += 1
            wins += a > b
    return valid > 0 and wins >= confidence * valid


def prefer_average(chosen: str, reason: str, average: str, y: np.ndarray, raw: dict[str, np.ndarray],
                   task: str, seed: int = 0) -> tuple[str, str]:
    """Auto's rule for the average of the models: keep it unless the single model ranked above it is
    clearly better on the validation rows (:func:`clearly_better`). Two model families averaged err
    less on new rows more often than a lead within the validation noise predicts."""
    if chosen == average or average not in raw or chosen not in raw:
        return chosen, reason
    if clearly_better(y, raw[chosen], raw[average], task, seed=seed):
        return chosen, reason
    return average, tr("{reason}; that lead is within the noise of the validation rows (a bootstrap of them), "
                       "so Auto keeps {average}, the two models averaged", reason=reason,
                       average=tr(MODEL_TEXT.get(average, average)))


# --------------------------------------------------------------------------------------------
# calibration


@dataclass
class Calibration:
    """A monotone map of p(positive): Platt ``sigmoid(a * logit(p) + b)`` or isotonic (piecewise
    linear through ``xs``/``ys``)."""

    method: str  # "platt" | "isotonic"
    a: float = 1.0
    b: float = 0.0
    xs: list[float] | None = None
    ys: list[float] | None = None
    log_loss_before: float = math.nan  # out of fold, on the validation rows
    log_loss_after: float = math.nan

    def apply(self, p: np.ndarray) -> np.ndarray:
        p = np.asarray(p, dtype=np.float64)
        if self.method == "platt":
            z = np.log(np.clip(p, EPS, 1 - EPS)) - np.log(np.clip(1 - p, EPS, 1 - EPS))
            return 1.0 / (1.0 + np.exp(-(self.a * z + self.b)))
        return np.interp(p, np.asarray(self.xs, dtype=np.float64), np.asarray(self.ys, dtype=np.float64))

    def apply_outputs(self, outputs: np.ndarray) -> np.ndarray:
        """Binary outputs (n, 2) with the positive column calibrated."""
        p = self.apply(outputs[:, 1])
        return np.column_stack([1.0 - p, p])

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "a": self.a, "b": self.b, "xs": self.xs, "ys": self.ys,
                "log_loss_before": self.log_loss_before, "log_loss_after": self.log_loss_after}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Calibration:
        method = str(d["method"])
        if method not in ("platt", "isotonic"):
            raise ValueError(tr("unknown calibration method {method}", method=repr(method)))
        xs = None if d.get("xs") is None else [float(v) for v in d["xs"]]
        ys = None if d.get("ys") is None else [float(v) for v in d["ys"]]
        if method == "isotonic" and (not xs or xs is None or ys is None or len(xs) != len(ys)
                                     or any(np.diff(xs) < 0)):
            raise ValueError(tr("isotonic calibration needs increasing points"))
        calibration = cls(method, float(d.get("a", 1.0)), float(d.get("b", 0.0)), xs, ys,
                          float(d.get("log_loss_before", math.nan)), float(d.get("log_loss_after", math.nan)))
        if not (math.isfinite(calibration.a) and math.isfinite(calibration.b)):
            raise ValueError(tr("calibration numbers are not finite"))
        return calibration

    def describe(self) -> str:
        method = tr("Platt scaling") if self.method == "platt" else tr("isotonic regression")
        return tr("{method} on the validation rows (out-of-fold log-loss {before:.4f} -> {after:.4f})",
                  method=method, before=self.log_loss_before, after=self.log_loss_after)


def _fit_one(method: str, p: np.ndarray, y: np.ndarray) -> Calibration:
    if method == "platt":
        from sklearn.linear_model import LogisticRegression

        z = (np.log(np.clip(p, EPS, 1 - EPS)) - np.log(np.clip(1 - p, EPS, 1 - EPS))).reshape(-1, 1)
        lr = LogisticRegression(C=1e6).fit(z, y)
        return Calibration("platt", a=float(lr.coef_[0, 0]), b=float(lr.intercept_[0]))
    from sklearn.isotonic import IsotonicRegression

    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(p, y)
    return Calibration("isotonic", xs=[float(v) for v in iso.X_thresholds_],
                       ys=[float(v) for v in iso.y_thresholds_])


def fit_calibration(y_valid: np.ndarray, p_valid: np.ndarray, seed: int = 0) -> Calibration | None:
    """The calibration of p(positive) that lowers the out-of-fold validation log-loss most, or None."""
    from sklearn.model_selection import StratifiedKFold

    y = np.asarray(y_valid, dtype=np.int64)
    p = np.asarray(p_valid, dtype=np.float64)
    counts = np.bincount(y, minlength=2)
    if len(counts) != 2 or counts.min() < MIN_CALIBRATION_ROWS_PER_CLASS or not np.all(np.isfinite(p)):
        return None
    folds = StratifiedKFold(n_splits=min(CALIBRATION_FOLDS, int(counts.min())), shuffle=True, random_state=seed)
    splits = list(folds.split(p.reshape(-1, 1), y))

    def oof_loss(method: str | None) -> float:
        out = np.empty_like(p)
        for fit_rows, held_rows in splits:
            out[held_rows] = (p[held_rows] if method is None
                              else _fit_one(method, p[fit_rows], y[fit_rows]).apply(p[held_rows]))
        return log_loss(y, np.column_stack([1.0 - out, out]))

    before = oof_loss(None)
    losses = {method: oof_loss(method) for method in ("platt", "isotonic")}
    method = min(losses, key=losses.get)
    if not losses[method] < before * (1.0 - MIN_CALIBRATION_GAIN):
        return None
    calibration = _fit_one(method, p, y)
    calibration.log_loss_before, calibration.log_loss_after = before, losses[method]
    return calibration


# --------------------------------------------------------------------------------------------
# thresholds and intervals


def choose_threshold(y_valid: np.ndarray, p_valid: np.ndarray, cost_fn: float | None = None,
                     cost_fp: float | None = None) -> tuple[float, str]:
    """The binary operating threshold on the validation rows, and the rule that chose it.

    With both costs: the lowest total cost ``FN * cost_fn + FP * cost_fp``
    (:func:`core.evaluate.best_threshold`); otherwise the highest F1 of the positive class (ties:
    the cut nearer 0.5). Rounded to :data:`THRESHOLD_DIGITS` decimals within (0, 1).
    """
    from mfg_desktop.core.evaluate import ThresholdSweep, best_threshold

    y = np.asarray(y_valid, dtype=np.int64)
    p = np.asarray(p_valid, dtype=np.float64)
    if cost_fn is not None and cost_fp is not None:
        t = best_threshold(y, p, float(cost_fn), float(cost_fp))
        rule = tr("lowest cost on the validation rows (missed defect {cost_fn:g}, false alarm {cost_fp:g})",
                  cost_fn=cost_fn, cost_fp=cost_fp)
    else:
        if len(y) == 0 or not np.any(y == 1):
            return 0.5, tr("0.5 (no positive validation row to choose a threshold on)")
        scores = np.unique(p)
        cuts = np.concatenate([[scores[0] / 2], (scores[:-1] + scores[1:]) / 2, [(scores[-1] + 1.0) / 2]])
        sweep = ThresholdSweep(y, p)
        best_key, t = None, 0.5
        for cut in cuts:
            _, fp, fn, tp = sweep.counts(cut)
            f1 = 2 * tp / max(2 * tp + fp + fn, 1)
            key = (-f1, abs(cut - 0.5))
            if best_key is None or key < best_key:
                best_key, t = key, float(cut)
        rule = tr("highest F1 on the validation rows (no costs given)")
    step = 10.0 ** -THRESHOLD_DIGITS
    return float(min(max(round(t, THRESHOLD_DIGITS), step), 1 - step)), rule


def prediction_interval(y_valid: np.ndarray, predicted: np.ndarray) -> tuple[float, float] | None:
    """Offsets (low, high) to add to a prediction: the 5 % and 95 % quantiles of the validation
    residuals (actual - predicted), i.e. 90 % of validation rows fell inside."""
    residuals = np.asarray(y_valid, dtype=np.float64) - np.asarray(predicted, dtype=np.float64)
    residuals = residuals[np.isfinite(residuals)]
    if len(residuals) < 2:
        return None
    low, high = np.quantile(residuals, INTERVAL_QUANTILES)
    return float(low), float(high)


# --------------------------------------------------------------------------------------------
# one trained model and the decisions made for it


@dataclass
class Candidate:
    """One trained model of a run ("network" or "trees"): its validation numbers (raw outputs) and
    the decisions taken for it on the validation rows. JSON-able through ``to_dict``."""

    name: str
    validation: dict[str, float]
    threshold: float | None = None  # binary
    threshold_rule: str = ""
    calibration: Calibration | None = None  # binary, only where it lowered the validation log-loss
    interval: tuple[float, float] | None = None  # regression: residual quantiles to add
    seconds: float = 0.0
    detail: dict[str, Any] | None = None  # trees: best round, rounds run, validation history, settings

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "validation": {k: _finite_or_none(v) for k, v in self.validation.items()},
                "threshold": self.threshold, "threshold_rule": self.threshold_rule,
                "calibration": None if self.calibration is None else self.calibration.to_dict(),
                "interval": None if self.interval is None else list(self.interval),
                "seconds": float(self.seconds), "detail": self.detail or {}}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Candidate:
        interval = d.get("interval")
        threshold = d.get("threshold")
        if threshold is not None and not 0.0 < float(threshold) < 1.0:
            raise ValueError(tr("a stored threshold lies outside (0, 1)"))
        return cls(name=str(d["name"]),
                   validation={str(k): (math.nan if v is None else float(v))
                               for k, v in dict(d.get("validation", {})).items()},
                   threshold=None if threshold is None else float(threshold),
                   threshold_rule=str(d.get("threshold_rule", "")),
                   calibration=None if d.get("calibration") is None else Calibration.from_dict(d["calibration"]),
                   interval=None if interval is None else (float(interval[0]), float(interval[1])),
                   seconds=float(d.get("seconds", 0.0)), detail=dict(d.get("detail") or {}))

    def calibrate(self, outputs: np.ndarray, task: str) -> np.ndarray:
        return self.calibration.apply_outputs(outputs) if self.calibration is not None and task == BINARY \
            else outputs


def _finite_or_none(v: Any) -> float | None:
    v = float(v)
    return v if math.isfinite(v) else None


def make_candidate(name: str, y_valid: np.ndarray, raw_valid: np.ndarray, task: str, *, seconds: float,
                   cost_fn: float | None = None, cost_fp: float | None = None, seed: int = 0,
                   detail: dict[str, Any] | None = None) -> Candidate:
    """Score a trained model on the validation rows and take its decisions there."""
    candidate = Candidate(name, validation_scores(y_valid, raw_valid, task), seconds=seconds, detail=detail)
    if task == BINARY:
        candidate.calibration = fit_calibration(y_valid, raw_valid[:, 1], seed=seed)
        p = candidate.calibrate(raw_valid, task)[:, 1]
        candidate.threshold, candidate.threshold_rule = choose_threshold(y_valid, p, cost_fn, cost_fp)
    elif task == REGRESSION:
        candidate.interval = prediction_interval(y_valid, raw_valid)
    return candidate


def models_summary(run: Any) -> list[str]:
    """Lines saying which model a run keeps and why, and per trained model its validation numbers
    and decisions (the CLI prints them; the GUI and the report can show the same)."""
    chosen = getattr(run, "chosen", "network")
    candidates: dict[str, Candidate] = getattr(run, "candidates", {}) or {}
    asked = getattr(run, "model_choice", "network")
    how = tr("chosen by Auto on the validation rows") if asked == "auto" else tr("asked for")
    kept = getattr(run, "kept_model", chosen)
    lines = [tr("model: {model} ({how})", model=tr(MODEL_TEXT.get(kept, kept)), how=how)]
    if getattr(run, "choice_reason", ""):
        lines.append("  " + tr("why: {reason}", reason=run.choice_reason))
    for name in sorted(candidates, key=lambda n: n != chosen):
        cand = candidates[name]
        numbers = ", ".join(f"{tr(SELECTION_TEXT.get(k, k))} {v:.4f}"
                            for k, v in cand.validation.items() if math.isfinite(v))
        parts = [tr("validation {numbers}", numbers=numbers)]
        if cand.threshold is not None:
            threshold = run.threshold if name == chosen and run.threshold is not None else cand.threshold
            parts.append(tr("threshold {threshold}: {rule}", threshold=format_threshold(threshold),
                            rule=cand.threshold_rule))
        if run.task == BINARY:
            parts.append(tr("calibration: {how}", how=cand.calibration.describe() if cand.calibration is not None
                            else tr("none (it did not lower the validation log-loss)")))
        if cand.interval is not None:
            parts.append(tr("90 % interval: prediction {low:+.4g} .. {high:+.4g} "
                            "(5 %..95 % of the validation residuals)", low=cand.interval[0], high=cand.interval[1]))
        detail = cand.detail or {}
        if "best_round" in detail:
            parts.append(tr("{kept} rounds kept of {run}", kept=detail["best_round"], run=detail["rounds_run"]))
        parts.append(tr("{seconds:.1f} s", seconds=cand.seconds))
        model = tr(MODEL_TEXT.get(name, name))
        title = tr("{model} (chosen)", model=model) if name == chosen else model
        lines.append(f"  {title}: " + "; ".join(parts))
    return lines
