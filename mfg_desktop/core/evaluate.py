"""Evaluate a training run honestly: on held-out rows only, against baselines, with explanations.

:func:`evaluate_run` scores a run on the TEST rows of its own split (never a training or validation
row); :func:`evaluate_model_file` scores an opened model file on a labelled table, using only the
stored test rows when that table is the one the model was trained on (same fingerprint) and all
its rows otherwise. Every metric comes from scikit-learn.

Baselines, trained on the same training rows and read the same fitted-recipe matrix the network
reads (so the comparison is about the model, not the preparation):

* ``trivial``: ``DummyClassifier(strategy="prior")`` (predicts the majority class, scores every row
  with the class shares: ROC-AUC 0.5, PR-AUC = the positive share) or ``DummyRegressor`` (mean);
* ``HistGradientBoosting``: scikit-learn's default ``HistGradientBoostingClassifier/Regressor``
  with the run's seed and the run's class weights as sample weights. Trees do not care about the
  recipe's scaling, and one-hot columns are as good as native categories for the few categories a
  recipe one-hot encodes; with PCA on, it sees the components like the network does.

Binary models decide with a threshold on p(positive): the run's (0.5 unless chosen here); the
baselines decide at 0.5 (their own ``predict``). ROC-AUC and PR-AUC do not depend on it.
:func:`best_threshold` picks the threshold with the lowest expected cost on the VALIDATION rows.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mfg_desktop.core.errors import DataError
from mfg_desktop.core.explain import (
    MAIN_METRIC,
    Importance,
    contributions,
    permutation_importance,
)
from mfg_desktop.core.i18n import N_, tr, trn
from mfg_desktop.core.jobs import JobState, ensure_state
from mfg_desktop.core.task import BINARY, REGRESSION, target_columns, target_series

TRIVIAL = "trivial"
HGB = "HistGradientBoosting"
NETWORK = "network"
# Labels are shown through tr() where they are displayed (marked here: the language is chosen after import);
# the keys, and these English values, are what stored evaluations and other modules compare with.
MODEL_LABEL = {"network": N_("network"), "trees": "LightGBM", "blend": N_("network + LightGBM")}
CLASSIFICATION_KEYS = ("accuracy", "balanced_accuracy", "precision", "recall", "f1", "precision_macro",
                       "recall_macro", "f1_macro", "roc_auc", "pr_auc")
REGRESSION_KEYS = ("mae", "rmse", "r2")
METRIC_TEXT = {
    "accuracy": N_("accuracy"),
    "balanced_accuracy": N_("balanced accuracy"),
    "precision": N_("precision"),
    "recall": N_("recall"),
    "f1": "F1",
    "precision_macro": N_("precision (macro)"),
    "recall_macro": N_("recall (macro)"),
    "f1_macro": N_("F1 (macro)"),
    "roc_auc": "ROC-AUC",
    "pr_auc": "PR-AUC",
    "mae": "MAE",
    "rmse": "RMSE",
    "r2": "R²",
}
SINGLE_THREAD_ROWS = 50_000
# Lower is better for these; higher for every other metric.
LOWER_IS_BETTER = frozenset({"mae", "rmse"})


def metric_keys(task: str) -> tuple[str, ...]:
    return REGRESSION_KEYS if task == REGRESSION else CLASSIFICATION_KEYS


def _num(v: Any) -> float | None:
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


# --------------------------------------------------------------------------------------------
# metrics


def classification_metrics(y: np.ndarray, proba: np.ndarray, predicted: np.ndarray, n_classes: int,
                           task: str) -> dict[str, float]:
    """Accuracy, balanced accuracy, precision/recall/F1 and ROC-/PR-AUC (scikit-learn).

    Binary: precision, recall and F1 are those of the positive class (output 1) at the decision
    used for ``predicted``; ROC-AUC and PR-AUC score p(positive). Multiclass: they are macro
    averages, and the AUCs are one-vs-rest macro averages over the classes present in ``y`` (a
    class without rows has no curve). ``*_macro`` are macro averages in both cases. NaN where a
    metric is undefined (e.g. AUC with one class present).
    """
    from sklearn import metrics as skm

    y = np.asarray(y, dtype=np.int64)
    labels = list(range(n_classes))
    out: dict[str, float] = {k: math.nan for k in CLASSIFICATION_KEYS}
    if len(y) == 0:
        return out
    out["accuracy"] = float(skm.accuracy_score(y, predicted))
    out["balanced_accuracy"] = float(skm.balanced_accuracy_score(y, predicted))
    p, r, f, _ = skm.precision_recall_fscore_support(y, predicted, labels=labels, average="macro",
                                                     zero_division=0)
    out["precision_macro"], out["recall_macro"], out["f1_macro"] = float(p), float(r), float(f)
    present = np.unique(y)
    if task == BINARY:
        p, r, f, _ = skm.precision_recall_fscore_support(y, predicted, labels=[1], average=None,
                                                         zero_division=0)
        out["precision"], out["recall"], out["f1"] = float(p[0]), float(r[0]), float(f[0])
        if len(present) == 2:
            out["roc_auc"] = float(skm.roc_auc_score(y, proba[:, 1]))
            out["pr_auc"] = float(skm.average_precision_score(y, proba[:, 1]))
        return out
    out["precision"], out["recall"], out["f1"] = out["precision_macro"], out["recall_macro"], out["f1_macro"]
    if len(present) >= 2:
        if len(present) == n_classes:
            out["roc_auc"] = float(skm.roc_auc_score(y, proba, multi_class="ovr", average="macro",
                                                     labels=labels))
        else:
            out["roc_auc"] = float(np.mean([skm.roc_auc_score(y == c, proba[:, c]) for c in present]))
        onehot = (y[:, None] == np.arange(n_classes)[None, :]).astype(np.int64)
        out["pr_auc"] = float(skm.average_precision_score(onehot[:, present], proba[:, present], average="macro"))
    return out


def regression_metrics(y: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    from sklearn import metrics as skm

    if len(y) == 0:
        return {k: math.nan for k in REGRESSION_KEYS}
    return {
        "mae": float(skm.mean_absolute_error(y, predicted)),
        "rmse": float(skm.root_mean_squared_error(y, predicted)),
        "r2": float(skm.r2_score(y, predicted)) if len(y) > 1 else math.nan,
    }


def decide(proba: np.ndarray, task: str, threshold: float | None) -> np.ndarray:
    """Class codes: binary -> p(positive) >= threshold (0.5 when None); multiclass -> most probable."""
    if task == BINARY:
        t = 0.5 if threshold is None else float(threshold)
        return (proba[:, 1] >= t).astype(np.int64)
    return proba.argmax(axis=1).astype(np.int64)


def per_class_report(y: np.ndarray, predicted: np.ndarray, classes: Sequence[Any]) -> dict[str, dict[str, float]]:
    """Precision, recall, F1 and support per class (scikit-learn), keyed by the class name."""
    from sklearn import metrics as skm

    labels = list(range(len(classes)))
    if len(y) == 0:
        return {}
    p, r, f, s = skm.precision_recall_fscore_support(y, predicted, labels=labels, average=None, zero_division=0)
    return {str(c): {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])}
            for i, c in enumerate(classes)}


@dataclass
class Confusion:
    """Confusion matrix: rows are the actual classes, columns the predicted ones."""

    labels: list[str]
    counts: np.ndarray  # int (k, k)

    @property
    def shares(self) -> np.ndarray:
        """Each row divided by its total: the share of each actual class predicted as each class."""
        totals = self.counts.sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(totals > 0, self.counts / np.maximum(totals, 1), 0.0)

    def to_dict(self) -> dict[str, Any]:
        return {"labels": list(self.labels), "counts": self.counts.astype(int).tolist(),
                "shares": [[float(v) for v in row] for row in self.shares]}


def confusion(y: np.ndarray, predicted: np.ndarray, classes: Sequence[Any]) -> Confusion:
    from sklearn.metrics import confusion_matrix

    k = len(classes)
    counts = (confusion_matrix(y, predicted, labels=list(range(k))) if len(y)
              else np.zeros((k, k), dtype=np.int64))
    return Confusion([str(c) for c in classes], counts.astype(np.int64))


class ThresholdSweep:
    """Binary confusion counts at any threshold in O(log n), for a live slider.

    A row counts as predicted positive when p(positive) >= threshold (the rule prediction uses).
    """

    def __init__(self, y: np.ndarray, p_positive: np.ndarray) -> None:
        y = np.asarray(y, dtype=np.int64)
        p = np.asarray(p_positive, dtype=np.float64)
        self._pos = np.sort(p[y == 1])
        self._neg = np.sort(p[y == 0])

    def counts(self, threshold: float) -> tuple[int, int, int, int]:
        """(tn, fp, fn, tp) at ``threshold``."""
        t = float(threshold)
        fn = int(np.searchsorted(self._pos, t, side="left"))
        tn = int(np.searchsorted(self._neg, t, side="left"))
        return tn, len(self._neg) - tn, fn, len(self._pos) - fn


def expected_cost(y: np.ndarray, p_positive: np.ndarray, threshold: float, cost_fn: float, cost_fp: float) -> float:
    """Total cost of the decisions at ``threshold``: missed positives x cost_fn + false alarms x cost_fp."""
    _, fp, fn, _ = ThresholdSweep(y, p_positive).counts(threshold)
    return fn * float(cost_fn) + fp * float(cost_fp)


def best_threshold(y_valid: np.ndarray, p_valid: np.ndarray, cost_fn: float, cost_fp: float) -> float:
    """The threshold with the lowest total cost ``FN * cost_fn + FP * cost_fp`` on the validation rows.

    Candidates are the cuts between consecutive distinct scores (rows with p >= threshold count as
    positive); the threshold returned is the midpoint of the best cut, so it does not sit on a
    validation score. Below the lowest score: (0 + lowest) / 2; above the highest: (highest + 1) / 2.
    Equal costs: the cut with fewer wrong rows wins, then the one nearer 0.5.
    """
    y = np.asarray(y_valid, dtype=np.int64)
    p = np.asarray(p_valid, dtype=np.float64)
    if len(y) == 0 or len(y) != len(p):
        raise DataError(tr("Proposing a threshold needs validation rows with their scores."))
    if not (cost_fn >= 0 and cost_fp >= 0) or (cost_fn == 0 and cost_fp == 0):
        raise DataError(tr("Costs must be zero or positive, and not both zero."),
                        hint=tr("E.g. a missed defect costs 50, a false alarm 1."))
    scores = np.unique(p)  # ascending
    cuts = np.concatenate([[0.0], (scores[:-1] + scores[1:]) / 2, [(scores[-1] + 1.0) / 2]])
    cuts[0] = scores[0] / 2
    sweep = ThresholdSweep(y, p)
    best: tuple[float, int, float] | None = None
    chosen = 0.5
    for t in cuts:
        _, fp, fn, _ = sweep.counts(t)
        key = (fn * float(cost_fn) + fp * float(cost_fp), fn + fp, abs(t - 0.5))
        if best is None or key < best:
            best, chosen = key, float(t)
    return chosen


def set_run_threshold(run: Any, threshold: float) -> None:
    """Store a binary decision threshold in the run; save the model file afterwards to keep it."""
    if run.task != BINARY:
        raise DataError(tr("Only a yes/no (binary) model has a decision threshold."))
    t = float(threshold)
    if not 0.0 < t < 1.0:
        raise DataError(tr("A threshold must lie between 0 and 1 (got {value:g}).", value=t))
    run.threshold = t


# --------------------------------------------------------------------------------------------
# baselines


def fit_baselines(run: Any, x_train: np.ndarray, y_train: np.ndarray, seed: int = 0) -> dict[str, Any]:
    """The trivial and the HistGradientBoosting model, fitted on the run's training rows."""
    from sklearn.dummy import DummyClassifier, DummyRegressor
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from threadpoolctl import threadpool_limits

    # Small data: one OpenMP thread. Spinning OpenMP threads on a busy CPU (a network training at
    # the same time, Keras' own threads) measured 20-40x slower here (14 s against 0.5 s for 7,000
    # rows), while below this size threads save little.
    threads = 1 if len(x_train) < SINGLE_THREAD_ROWS else None
    with threadpool_limits(limits=threads, user_api="openmp"):
        if run.task == REGRESSION:
            return {HGB: HistGradientBoostingRegressor(random_state=seed).fit(x_train, y_train),
                    TRIVIAL: DummyRegressor(strategy="mean").fit(x_train, y_train)}
        weights = None
        if run.class_weights:
            weights = np.array([run.class_weights.get(int(c), 1.0) for c in y_train], dtype=np.float64)
        return {HGB: HistGradientBoostingClassifier(random_state=seed).fit(x_train, y_train,
                                                                           sample_weight=weights),
                TRIVIAL: DummyClassifier(strategy="prior").fit(x_train, y_train)}


def _baseline_outputs(model: Any, x: np.ndarray, task: str, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """(outputs, predicted codes); probabilities widened to all classes (a model trained without a
    class has no column for it)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1 if len(x) < SINGLE_THREAD_ROWS else None, user_api="openmp"):
        if task == REGRESSION:
            out = np.asarray(model.predict(x), dtype=np.float64)
            return out, out
        proba = np.zeros((len(x), n_classes))
        proba[:, np.asarray(model.classes_, dtype=np.int64)] = model.predict_proba(x)
        return proba, np.asarray(model.predict(x), dtype=np.int64)


# --------------------------------------------------------------------------------------------
# the evaluation


@dataclass
class Curves:
    """ROC and precision-recall points per class (binary: the positive class only)."""

    roc: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)  # class -> (fpr, tpr)
    pr: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)  # class -> (recall, precision)

    def to_dict(self) -> dict[str, Any]:
        return {"roc": {k: {"fpr": a.tolist(), "tpr": b.tolist()} for k, (a, b) in self.roc.items()},
                "pr": {k: {"recall": a.tolist(), "precision": b.tolist()} for k, (a, b) in self.pr.items()}}


def make_curves(y: np.ndarray, proba: np.ndarray, task: str, classes: Sequence[Any]) -> Curves:
    from sklearn.metrics import precision_recall_curve, roc_curve

    curves = Curves()
    targets = [1] if task == BINARY else list(range(len(classes)))
    for c in targets:
        hit = np.asarray(y) == c
        if hit.all() or not hit.any():
            continue  # one class only: no curve
        fpr, tpr, _ = roc_curve(hit, proba[:, c])
        precision, recall, _ = precision_recall_curve(hit, proba[:, c])
        curves.roc[str(classes[c])] = (fpr, tpr)
        curves.pr[str(classes[c])] = (recall, precision)
    return curves


@dataclass
class Evaluation:
    """A model judged on held-out rows. ``to_dict`` is what the CLI prints and the GUI shows."""

    task: str
    classes: list[Any]
    target: str
    rows: np.ndarray  # positions (in the evaluated table) of the rows used
    rows_total: int  # rows in the evaluated table
    source: str  # "test" (test rows of the training split) or "all" (every labelled row of a new file)
    note: str
    y: np.ndarray  # encoded true values of the rows used
    outputs: np.ndarray  # network outputs: probabilities (n, k) or values (n,)
    threshold: float | None
    metrics: dict[str, float]
    baselines: dict[str, dict[str, float]]
    baseline_outputs: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    baseline_note: str = ""
    per_class: dict[str, dict[str, float]] = field(default_factory=dict)
    confusion: Confusion | None = None
    curves: Curves = field(default_factory=Curves)
    importance: Importance | None = None
    valid_y: np.ndarray | None = None  # validation rows (binary), for proposing a threshold
    valid_p: np.ndarray | None = None
    frame: pd.DataFrame | None = field(default=None, repr=False)  # the evaluated rows, for explanations
    run: Any = field(default=None, repr=False)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    model_name: str = NETWORK  # the chosen model, whose numbers are ``metrics``
    # per trained model (chosen first): label, threshold, metrics (at its threshold), metrics at 0.5
    # (binary), its validation numbers
    models: dict[str, dict[str, Any]] = field(default_factory=dict)
    model_outputs: dict[str, np.ndarray] = field(default_factory=dict, repr=False)  # the other model's
    choice_reason: str = ""
    history: Any = None  # core.history_eval.HistoryEvaluation for a model trained on histories
    _sweep: ThresholdSweep | None = field(default=None, repr=False)

    @property
    def n_rows(self) -> int:
        return len(self.rows)

    @property
    def main_metric(self) -> str:
        return MAIN_METRIC[self.task]

    @property
    def predicted(self) -> np.ndarray:
        """Network decisions (class codes) or values for the rows used."""
        if self.task == REGRESSION:
            return self.outputs
        return decide(self.outputs, self.task, self.threshold)

    @property
    def residuals(self) -> np.ndarray:
        """Regression: actual - predicted."""
        return np.asarray(self.y, dtype=np.float64) - self.outputs

    def confusion_at(self, threshold: float) -> Confusion:
        """Binary: the confusion matrix at another threshold, fast enough for a live slider."""
        if self.task != BINARY:
            raise DataError(tr("Only a yes/no (binary) model has a decision threshold."))
        if self._sweep is None:
            self._sweep = ThresholdSweep(self.y, self.outputs[:, 1])
        tn, fp, fn, tp = self._sweep.counts(threshold)
        return Confusion([str(c) for c in self.classes], np.array([[tn, fp], [fn, tp]], dtype=np.int64))

    def propose_threshold(self, cost_fn: float, cost_fp: float) -> float:
        """The lowest-cost threshold on the run's VALIDATION rows (never on the evaluated rows)."""
        if self.task != BINARY:
            raise DataError(tr("Only a yes/no (binary) model has a decision threshold."))
        if self.valid_y is None or self.valid_p is None or len(self.valid_y) == 0:
            raise DataError(tr("The validation rows are not available here, so no threshold can be proposed "
                               "without tuning on the evaluated rows."),
                            hint=tr("Evaluate the model on the file it was trained on, then propose a threshold."))
        return best_threshold(self.valid_y, self.valid_p, cost_fn, cost_fp)

    def set_threshold(self, threshold: float) -> None:
        """Decide at ``threshold`` from now on: threshold-dependent metrics are recomputed."""
        if self.task != BINARY:
            raise DataError(tr("Only a yes/no (binary) model has a decision threshold."))
        t = float(threshold)
        if not 0.0 < t < 1.0:
            raise DataError(tr("A threshold must lie between 0 and 1 (got {value:g}).", value=t))
        self.threshold = t
        predicted = self.predicted
        self.metrics = classification_metrics(self.y, self.outputs, predicted, len(self.classes), self.task)
        self.per_class = per_class_report(self.y, predicted, self.classes)
        self.confusion = confusion(self.y, predicted, self.classes)

    def explain_row(self, position: int, class_index: int | None = None) -> Any:
        """Per-input contributions for the ``position``-th evaluated row (see core.explain)."""
        if self.frame is None or self.run is None:
            raise DataError(tr("This evaluation keeps no rows to explain."))
        return contributions(self.run, self.frame.iloc[[int(position)]], class_index=class_index)

    def position_of(self, data_row: int) -> int:
        """The evaluated position of ``data_row`` (1-based, as in a spreadsheet without its header, and
        as the Evaluate step lists them). Raises DataError when that row was not evaluated."""
        hits = np.flatnonzero(np.asarray(self.rows) == int(data_row) - 1)
        if not len(hits):
            examples = tr(", ").join(str(int(r) + 1) for r in np.sort(np.asarray(self.rows))[:5])
            raise DataError(tr("Data row {row} is not among the {n:,} evaluated rows ({note}).", row=data_row,
                               n=self.n_rows, note=self.note),
                            hint=tr("Pick an evaluated row, for example {rows}.", rows=examples) if examples
                            else None)
        return int(hits[0])

    def to_dict(self, curves: bool = False) -> dict[str, Any]:
        """JSON-able summary (NaN as null); ``curves=True`` adds the ROC/PR points."""
        out: dict[str, Any] = {
            "task": self.task,
            "target": self.target,
            "classes": [_plain(c) for c in self.classes],
            "rows_used": self.n_rows,
            "rows_total": int(self.rows_total),
            "rows_source": self.source,
            "note": self.note,
            "main_metric": self.main_metric,
            "metrics": {k: _num(v) for k, v in self.metrics.items()},
            "baselines": {name: {k: _num(v) for k, v in m.items()} for name, m in self.baselines.items()},
            "baseline_note": self.baseline_note,
            "threshold": _num(self.threshold) if self.task == BINARY else None,
            "model": self.model_name,
            "choice_reason": self.choice_reason,
            "models": {name: {**{k: v for k, v in e.items() if not k.startswith("metrics") and k != "validation"},
                              "validation": {k: _num(v) for k, v in e.get("validation", {}).items()},
                              **{k: {m: _num(v) for m, v in e[k].items()} for k in ("metrics", "metrics_at_0.5")
                                 if k in e}}
                       for name, e in self.models.items()},
            "importance": self.importance.as_mapping() if self.importance is not None else {},
            "importance_info": ({k: v for k, v in self.importance.to_dict().items() if k != "columns"}
                                if self.importance is not None else None),
            "notes": list(self.notes),
        }
        if self.task != REGRESSION:
            out["positive_class"] = _plain(self.classes[1]) if self.task == BINARY else None
            out["per_class"] = self.per_class
            out["confusion"] = self.confusion.to_dict() if self.confusion is not None else None
        if curves:
            out["curves"] = self.curves.to_dict()
        if self.history is not None:
            out["history"] = self.history.to_dict()
        return out


def _labelled_target(run: Any, df: pd.DataFrame, where: str) -> pd.Series:
    """The target of ``df`` (a one-hot group as one Series); a clear message when it is absent."""
    recipe = run.fitted.recipe
    columns = target_columns(recipe.target, list(map(str, df.columns)))
    missing = [c for c in columns if c not in set(map(str, df.columns))]
    if missing:
        raise DataError(
            tr("The {where} has no target column {columns}: evaluation needs the true values to compare with.",
               where=where, columns=" + ".join(repr(c) for c in missing)),
            column=missing[0],
            hint=tr("Load a labelled file with that column, or use Predict to score an unlabelled file."),
        )
    return target_series(df, recipe.target)


def _encode(run: Any, y: pd.Series) -> np.ndarray:
    """Encoded targets; unknown classes raise a DataError naming them and the known ones."""
    from mfg_desktop.core.recipe import UnseenTargetValues

    try:
        return run.fitted.label_mapping.encode(y)
    except UnseenTargetValues as exc:
        raise DataError(
            tr("The file's target holds classes the model never saw: {shown}.", shown=exc.shown),
            column=exc.column,
            hint=" ".join(filter(None, [exc.hint, tr("A model can only be judged on the classes it learned.")])),
        ) from exc


def _evaluate(
    run: Any,
    df: pd.DataFrame,
    rows: np.ndarray,
    source: str,
    note: str,
    train_rows: np.ndarray | None,
    valid_rows: np.ndarray | None,
    state: JobState,
    importance: bool,
    baselines: bool,
    n_repeats: int,
    max_rows: int,
    n_jobs: int | None,
) -> Evaluation:
    t0 = time.perf_counter()
    if not run.has_model:
        raise DataError(tr("This run has no trained model to evaluate."))
    task = run.task
    classes = list(run.classes)
    n_classes = len(classes)
    rows = np.asarray(rows, dtype=np.int64)
    if len(rows) == 0:
        raise DataError(tr("There are no rows to evaluate on."),
                        hint=tr("Give the split a test share, or evaluate on a labelled file."))
    state.set_progress(0.02, tr("scoring the evaluated rows"))
    frame = df.iloc[rows]
    y_series = _labelled_target(run, frame, tr("data"))
    y = _encode(run, y_series)
    x = run.fitted.transform(frame)
    outputs = run.predict_matrix(x, frame=frame)  # a sequence network reads the rows' histories
    threshold = (0.5 if run.threshold is None else float(run.threshold)) if task == BINARY else None
    notes: list[str] = []
    if getattr(run, "cancelled", False):
        notes.append(tr("Training was cancelled after {epochs} epochs; the model has the best weights "
                        "so far (epoch {best}).", epochs=run.epochs_run, best=run.best_epoch))

    if task == REGRESSION:
        metrics = regression_metrics(y, outputs)
        per_class: dict[str, dict[str, float]] = {}
        conf = None
        curves = Curves()
    else:
        predicted = decide(outputs, task, threshold)
        metrics = classification_metrics(y, outputs, predicted, n_classes, task)
        per_class = per_class_report(y, predicted, classes)
        conf = confusion(y, predicted, classes)
        curves = make_curves(y, outputs, task, classes)
        absent = [str(classes[i]) for i in range(n_classes) if not np.any(y == i)]
        if absent:
            notes.append(tr("No evaluated row belongs to {classes}; curves and AUC leave those classes out.",
                            classes=", ".join(repr(c) for c in absent)))
    state.check_cancelled()

    model_outputs: dict[str, np.ndarray] = {}
    valid_y = valid_p = None
    if task == BINARY and valid_rows is not None and len(valid_rows):
        vframe = df.iloc[np.asarray(valid_rows, dtype=np.int64)]
        valid_y = run.fitted.encode_target(vframe)
        valid_p = run.predict_matrix(run.fitted.transform(vframe), frame=vframe)[:, 1]

    # The other trained model (Auto keeps both), on the same rows, at its own validated threshold
    # and, for a yes/no target, also at 0.5 (labelled) so every decision rule is visible.
    models: dict[str, dict[str, Any]] = {}
    for name in run.trained_models():
        out = outputs if name == run.chosen else run.predict_matrix(x, which=name, frame=frame)
        t = run.threshold_of(name)
        entry: dict[str, Any] = {"label": MODEL_LABEL.get(name, name), "chosen": name == run.chosen,
                                 "threshold": t, "rows": "test" if source == "test" else "all labelled"}
        if task == REGRESSION:
            entry["metrics"] = regression_metrics(y, out)
        else:
            entry["metrics"] = classification_metrics(y, out, decide(out, task, t), n_classes, task)
            if task == BINARY:
                entry["metrics_at_0.5"] = classification_metrics(y, out, decide(out, task, 0.5), n_classes, task)
                costs = getattr(run, "costs", None)
                if costs:  # what the decisions cost on the evaluated rows, at the threshold and at 0.5
                    entry["cost"] = expected_cost(y, out[:, 1], t, costs["fn"], costs["fp"])
                    entry["cost_at_0.5"] = expected_cost(y, out[:, 1], 0.5, costs["fn"], costs["fp"])
        cand = run.candidate(name)
        entry["validation"] = {} if cand is None else dict(cand.validation)
        models[name] = entry
        if name != run.chosen:
            model_outputs[name] = out

    base_metrics: dict[str, dict[str, float]] = {}
    base_outputs: dict[str, np.ndarray] = {}
    if baselines and train_rows is not None and len(train_rows):
        state.set_progress(0.08, tr("training the baselines on the same training rows"))
        tframe = df.iloc[np.asarray(train_rows, dtype=np.int64)]
        x_train = run.fitted.transform(tframe)
        y_train = run.fitted.encode_target(tframe)
        for name, model in fit_baselines(run, x_train, y_train, seed=int(getattr(run, "seed", 0))).items():
            out, pred = _baseline_outputs(model, x, task, n_classes)
            base_outputs[name] = out
            base_metrics[name] = (regression_metrics(y, out) if task == REGRESSION
                                  else classification_metrics(y, out, pred, n_classes, task))
            state.check_cancelled()
        baseline_note = (tr("Baselines trained on the same training rows and recipe features as the models; "
                            "scored on the same rows. Their yes/no decisions use 0.5; each trained model decides "
                            "at its own threshold chosen on the validation rows.") if task == BINARY else
                         tr("Baselines trained on the same training rows and recipe features as the models; "
                            "scored on the same rows."))
    elif baselines:
        baseline_note = tr("Baselines need the training rows: evaluate on the file the model was trained on "
                           "to compare with them.")
    else:
        baseline_note = tr("Baselines not computed.")

    imp = None
    if importance:
        state.set_progress(0.3, tr("measuring permutation importance"))
        imp = permutation_importance(run, frame, y, n_repeats=n_repeats, max_rows=max_rows,
                                     seed=int(getattr(run, "seed", 0)), n_jobs=n_jobs, state=state,
                                     progress_span=(0.3, 1.0))
    state.set_progress(1.0, tr("evaluation done"))
    evaluation = Evaluation(
        task=task, classes=classes, target=str(y_series.name), rows=rows, rows_total=len(df), source=source,
        note=note, y=y, outputs=outputs, threshold=threshold, metrics=metrics, baselines=base_metrics,
        baseline_outputs=base_outputs, baseline_note=baseline_note, per_class=per_class, confusion=conf,
        curves=curves, importance=imp, valid_y=valid_y, valid_p=valid_p, frame=frame, run=run, notes=notes,
        seconds=time.perf_counter() - t0, model_name=run.chosen, models=models, model_outputs=model_outputs,
        choice_reason=getattr(run, "choice_reason", ""),
    )
    if getattr(run, "history_spec", None):  # per entity: each history's errors at its last row and along it
        from mfg_desktop.core.history_eval import history_evaluation

        evaluation.history = history_evaluation(evaluation, run.history_spec)
    return evaluation


def _test_note(run: Any, n_rows: int) -> str:
    return tr("test rows of the training split ({test:,} of {rows:,})", test=len(run.split_test), rows=n_rows)


def evaluate_run(
    run: Any,
    df: pd.DataFrame,
    state: JobState | None = None,
    *,
    importance: bool = True,
    baselines: bool = True,
    n_repeats: int = 5,
    max_rows: int = 2000,
    n_jobs: int | None = None,
) -> Evaluation:
    """Judge ``run`` on the test rows of its split. ``df`` is the table given to ``train_run``
    (the run's row positions index it); another table is refused rather than misread."""
    from mfg_desktop.core.fingerprint import frame_fingerprint

    state = ensure_state(state)
    stored = getattr(run, "data_fingerprint", {}) or {}
    if stored.get("rows") is not None and int(stored["rows"]) != len(df):
        raise DataError(
            tr("This table has {rows:,} rows, the run was trained on one with {trained:,}.", rows=len(df),
               trained=int(stored["rows"])),
            hint=tr("Evaluate the run on the data it was trained on, or open its model file and evaluate it "
                    "on a new labelled file."))
    if stored.get("frame_sha256") and frame_fingerprint(df) != stored["frame_sha256"]:
        raise DataError(
            tr("This is not the table the run was trained on (its contents differ), so its test rows cannot "
               "be found in it."),
            hint=tr("Evaluate the run on the data it was trained on, or evaluate its model file on a new labelled "
                    "file."))
    if len(run.split_test) == 0:
        raise DataError(tr("The run's split has no test rows: there is nothing held out to evaluate on."),
                        hint=tr("Train again with a test share above 0, or evaluate on a new labelled file."))
    return _evaluate(run, df, run.split_test, "test", _test_note(run, len(df)), run.split_train,
                     run.split_valid, state, importance, baselines, n_repeats, max_rows, n_jobs)


def same_data(run: Any, df: pd.DataFrame, data_files: Sequence[str | Path] = ()) -> bool:
    """Whether ``df`` is the table ``run`` was trained on: same frame fingerprint, or the same file
    contents (sha256, in order) with the same number of rows."""
    from mfg_desktop.core.fingerprint import file_sha256, frame_fingerprint

    stored = getattr(run, "data_fingerprint", {}) or {}
    if stored.get("rows") is not None and int(stored["rows"]) != len(df):
        return False
    if stored.get("frame_sha256") and frame_fingerprint(df) == stored["frame_sha256"]:
        return True
    files = [f.get("sha256") for f in stored.get("files", [])]
    if data_files and files and len(files) == len(data_files) and all(files):
        try:
            return [file_sha256(p) for p in data_files] == files
        except OSError:
            return False
    return False


def evaluate_model_file(
    loaded: Any,
    df: pd.DataFrame,
    data_files: Sequence[str | Path] = (),
    state: JobState | None = None,
    *,
    importance: bool = True,
    baselines: bool = True,
    n_repeats: int = 5,
    max_rows: int = 2000,
    n_jobs: int | None = None,
) -> Evaluation:
    """Judge an opened model file on a labelled table.

    The table the model was trained on (see :func:`same_data`): only its stored test rows, with
    baselines and validation rows for thresholds. Any other table: every row with a target value.
    A table without the target, or with classes the model never saw, raises :class:`DataError`.
    """
    state = ensure_state(state)
    run = loaded.run if hasattr(loaded, "run") else loaded
    if getattr(run, "history_spec", None):  # the model reads window features built from the histories
        from mfg_desktop.core.history import history_frame

        df = history_frame(run.history_spec, df, data_files)
    where = ", ".join(Path(p).name for p in data_files) or tr("table")
    y_all = _labelled_target(run, df, tr("file {name}", name=where) if data_files else tr("table"))
    if same_data(run, df, data_files):
        if len(run.split_test) == 0:
            raise DataError(tr("This is the file the model was trained on, and its split kept no test rows: "
                               "there is nothing held out to evaluate on."),
                            hint=tr("Evaluate the model on a new labelled file."))
        note = tr("{rows}: this is the file the model was trained on, so only its held-out test rows are used",
                  rows=_test_note(run, len(df)))
        return _evaluate(run, df, run.split_test, "test", note, run.split_train, run.split_valid, state,
                         importance, baselines, n_repeats, max_rows, n_jobs)
    labelled = np.flatnonzero(y_all.notna().to_numpy())
    if len(labelled) == 0:
        raise DataError(tr("The target column {column} of {where} has no values.", column=repr(y_all.name),
                           where=where), column=str(y_all.name), hint=tr("Load a labelled file."))
    _encode(run, y_all.iloc[labelled])  # unknown classes: refuse before any work
    note = tr("all {rows:,} labelled rows of {where} (a file the model was not trained on)", rows=len(labelled),
              where=where)
    if len(labelled) < len(df):
        left = len(df) - len(labelled)
        note = trn("{note}; {n:,} row without a target value left out",
                   "{note}; {n:,} rows without a target value left out", left, note=note)
    return _evaluate(run, df, labelled, "all", note, None, None, state, importance, baselines, n_repeats,
                     max_rows, n_jobs)


def _other_models(evaluation: Evaluation) -> list[str]:
    return [name for name in evaluation.models if name != evaluation.model_name]


def metrics_table(evaluation: Evaluation) -> list[tuple[str, list[float | None]]]:
    """(metric label, [chosen model, other trained model, baselines...]) rows, the layout the GUI
    and the CLI text share (column names: :func:`model_columns`). Each trained model decides at
    its own validated threshold, the baselines at 0.5."""
    others = _other_models(evaluation)
    rows = []
    for key in metric_keys(evaluation.task):
        if key not in evaluation.metrics:
            continue
        values = ([_num(evaluation.metrics.get(key))]
                  + [_num(evaluation.models[n]["metrics"].get(key)) for n in others]
                  + [_num(evaluation.baselines[n].get(key)) for n in evaluation.baselines])
        rows.append((key, values))
    return rows


def model_columns(evaluation: Evaluation) -> list[str]:
    """Column names for :func:`metrics_table`: "network" alone, or "LightGBM (chosen)", "network", ..."""
    chosen = evaluation.model_name
    label = tr(MODEL_LABEL.get(chosen, chosen))
    if not _other_models(evaluation):
        return [label, *evaluation.baselines]
    return [tr("{model} (chosen)", model=label), *(tr(MODEL_LABEL.get(n, n)) for n in _other_models(evaluation)),
            *evaluation.baselines]


# --------------------------------------------------------------------------------------------
# the evaluation a model file carries

STORED_CURVE_POINTS = 200  # ROC/PR points kept per curve in a model file
STORED_HISTOGRAM_BINS = 30
MAX_STORED_CLASSES = 1000  # a crafted file cannot make the report draw a million-cell matrix


class MalformedEvaluation(ValueError):
    """A stored evaluation that does not hold what :func:`evaluation_summary` writes."""


def thin_curve(x: np.ndarray, y: np.ndarray, limit: int) -> tuple[list[float], list[float]]:
    """At most ``limit`` points of a curve, always keeping the first and the last."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if len(x) > limit:
        keep = np.unique(np.linspace(0, len(x) - 1, limit).round().astype(int))
        x, y = x[keep], y[keep]
    return x.tolist(), y.tolist()


def _thinned_curves(curves: Curves) -> dict[str, Any]:
    def points(pairs: dict[str, tuple[np.ndarray, np.ndarray]], a: str, b: str) -> dict[str, Any]:
        return {k: dict(zip((a, b), thin_curve(x, y, STORED_CURVE_POINTS), strict=True)) for k, (x, y) in pairs.items()}

    return {"roc": points(curves.roc, "fpr", "tpr"), "pr": points(curves.pr, "recall", "precision")}


def evaluation_summary(evaluation: Evaluation, run: Any) -> dict[str, Any]:
    """The numbers of an evaluation on the held-out test rows, for the model file: metrics,
    baselines, threshold, confusion matrix, ROC/PR points (at most 200 per curve), a residual
    histogram, and which data it came from. No data rows and no per-row outputs."""
    out = evaluation.to_dict()
    out.pop("importance", None)
    out.pop("importance_info", None)
    out["curves"] = _thinned_curves(evaluation.curves)
    out["baseline_curves"] = {}
    if evaluation.task == BINARY and len(np.unique(evaluation.y)) == 2:
        for name, outputs in evaluation.baseline_outputs.items():
            proba = np.asarray(outputs, dtype=np.float64)
            if proba.ndim == 2:
                out["baseline_curves"][name] = _thinned_curves(
                    make_curves(evaluation.y, proba, evaluation.task, evaluation.classes))
    if evaluation.task == REGRESSION and evaluation.n_rows:
        counts, edges = np.histogram(evaluation.residuals, bins=STORED_HISTOGRAM_BINS)
        out["residual_histogram"] = {"counts": counts.astype(int).tolist(), "edges": edges.tolist()}
    fp = getattr(run, "data_fingerprint", {}) or {}
    out["data"] = {"frame_sha256": fp.get("frame_sha256"), "rows": fp.get("rows"),
                   "files": [str(f.get("name")) for f in fp.get("files", [])]}
    out["evaluated"] = "when the model was trained"
    return out


def attach_evaluation(run: Any, evaluation: Evaluation) -> None:
    """Keep ``evaluation`` with the run so that its model file carries it (test rows only)."""
    if evaluation.source == "test" and (evaluation.run is None or evaluation.run is run):
        run.test_evaluation = evaluation_summary(evaluation, run)


@dataclass
class StoredEvaluation:
    """An evaluation read back from a model file: the report's evaluation section needs no data.

    It has the attributes of :class:`Evaluation` that the report reads; per-row parts (outputs,
    validation probabilities, explanations) are absent by design.
    """

    task: str
    classes: list[Any]
    target: str
    n_rows: int
    rows_total: int
    note: str
    metrics: dict[str, float | None]
    baselines: dict[str, dict[str, float | None]]
    baseline_note: str
    threshold: float | None
    per_class: dict[str, dict[str, float]]
    confusion: Confusion | None
    curves: Curves
    baseline_curves: dict[str, Curves]
    residual_histogram: tuple[list[int], list[float]] | None
    data: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    source: str = "test"
    importance: Any = None
    valid_y: Any = None
    valid_p: Any = None
    baseline_outputs: dict[str, np.ndarray] = field(default_factory=dict)
    run: Any = None
    model_name: str = NETWORK  # the chosen model, and per trained model its metrics on the test rows
    models: dict[str, dict[str, Any]] = field(default_factory=dict)
    choice_reason: str = ""
    history: Any = None  # core.history_eval.HistoryEvaluation: per-entity numbers of a history model

    @property
    def main_metric(self) -> str:
        return MAIN_METRIC[self.task]

    @property
    def data_text(self) -> str:
        """Which data the numbers came from, in words."""
        files = ", ".join(self.data.get("files") or []) or tr("a table without a file name")
        sha = str(self.data.get("frame_sha256") or "")
        return tr("{files} (table fingerprint {fingerprint})", files=files, fingerprint=sha[:12] or tr("unknown"))

    @classmethod
    def from_dict(cls, d: Any) -> StoredEvaluation:
        """Check every value as it is read; :class:`ValueError` names what is wrong."""
        from mfg_desktop.core.task import MULTICLASS

        if not isinstance(d, dict):
            raise MalformedEvaluation(tr("the stored evaluation is not an object"))
        task = d.get("task")
        if task not in (BINARY, MULTICLASS, REGRESSION):
            raise MalformedEvaluation(tr("unknown task {task}", task=repr(task)))
        classes = d.get("classes")
        if not isinstance(classes, list) or len(classes) > MAX_STORED_CLASSES or \
                not all(isinstance(c, str | int | float | bool) for c in classes):
            raise MalformedEvaluation(tr("the classes are not a short list of plain values"))
        k = len(classes)

        def number(v: Any, what: str) -> float | None:
            if v is None:
                return None
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise MalformedEvaluation(tr("{what} is not a number", what=what))
            return float(v)

        def metric_map(m: Any, what: str) -> dict[str, float | None]:
            if not isinstance(m, dict) or len(m) > 100:
                raise MalformedEvaluation(tr("{what} is not a small mapping", what=what))
            return {str(key): number(v, f"{what} {key}") for key, v in m.items()}

        def curve_map(c: Any, a: str, b: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
            if not isinstance(c, dict) or len(c) > max(k, 1):
                raise MalformedEvaluation(tr("the curves are malformed"))
            out = {}
            for name, pts in c.items():
                if not isinstance(pts, dict) or not isinstance(pts.get(a), list) or not isinstance(pts.get(b), list):
                    raise MalformedEvaluation(tr("the curve of {name} is malformed", name=repr(name)))
                xs = [number(v, tr("a curve point")) for v in pts[a]]
                ys = [number(v, tr("a curve point")) for v in pts[b]]
                if len(xs) != len(ys) or len(xs) > STORED_CURVE_POINTS or any(v is None for v in xs + ys) \
                        or not all(0.0 <= v <= 1.0 for v in xs + ys):
                    raise MalformedEvaluation(tr("the curve of {name} has unusable points", name=repr(name)))
                out[str(name)] = (np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64))
            return out

        def curves_of(c: Any) -> Curves:
            if not isinstance(c, dict):
                raise MalformedEvaluation(tr("the curves are malformed"))
            return Curves(roc=curve_map(c.get("roc", {}), "fpr", "tpr"),
                          pr=curve_map(c.get("pr", {}), "recall", "precision"))

        conf = None
        if d.get("confusion") is not None:
            counts = np.asarray(d["confusion"].get("counts") if isinstance(d["confusion"], dict) else None)
            if counts.shape != (k, k) or counts.dtype.kind not in "iu" or (counts < 0).any():
                raise MalformedEvaluation(tr("the confusion matrix is not a square table of counts, one row per "
                                             "class"))
            conf = Confusion([str(c) for c in classes], counts.astype(np.int64))
        per_class = d.get("per_class") or {}
        if not isinstance(per_class, dict) or len(per_class) > k:
            raise MalformedEvaluation(tr("the per-class numbers are malformed"))
        hist = None
        if d.get("residual_histogram") is not None:
            h = d["residual_histogram"]
            counts_h = [int(number(v, tr("a histogram count")) or 0) for v in h.get("counts", [])]
            edges = [number(v, tr("a histogram edge")) for v in h.get("edges", [])]
            if len(edges) != len(counts_h) + 1 or len(counts_h) > 1000 or any(e is None for e in edges):
                raise MalformedEvaluation(tr("the residual histogram is malformed"))
            hist = (counts_h, [float(e) for e in edges])
        data = d.get("data") or {}
        if not isinstance(data, dict) or not isinstance(data.get("files", []), list):
            raise MalformedEvaluation(tr("the data it came from is not described"))
        baselines = d.get("baselines") or {}
        if not isinstance(baselines, dict) or len(baselines) > 10:
            raise MalformedEvaluation(tr("the baselines are malformed"))
        bcurves = d.get("baseline_curves") or {}
        if not isinstance(bcurves, dict) or len(bcurves) > 10:
            raise MalformedEvaluation(tr("the baseline curves are malformed"))
        rows_used = d.get("rows_used")
        if isinstance(rows_used, bool) or not isinstance(rows_used, int) or rows_used < 0:
            raise MalformedEvaluation(tr("the number of rows used is not a count"))
        models = d.get("models") or {}
        chosen = d.get("model") or NETWORK
        if not isinstance(models, dict) or not set(models) <= set(MODEL_LABEL) or chosen not in MODEL_LABEL \
                or not all(isinstance(e, dict) for e in models.values()):
            raise MalformedEvaluation(tr("the stored models are not the network and the trees"))
        return cls(
            task=task, classes=list(classes), target=str(d.get("target", "")), n_rows=rows_used,
            rows_total=int(number(d.get("rows_total"), "rows_total") or 0), note=str(d.get("note", "")),
            metrics=metric_map(d.get("metrics") or {}, tr("metric")),
            baselines={str(n): metric_map(m, tr("baseline {name}", name=n)) for n, m in baselines.items()},
            baseline_note=str(d.get("baseline_note", "")),
            threshold=number(d.get("threshold"), tr("the threshold")) if task == BINARY else None,
            per_class={str(c): metric_map(m, tr("class {name}", name=c)) for c, m in per_class.items()},
            confusion=conf, curves=curves_of(d.get("curves") or {}),
            baseline_curves={str(n): curves_of(c) for n, c in bcurves.items()},
            residual_histogram=hist,
            data={"frame_sha256": str(data.get("frame_sha256") or ""), "rows": data.get("rows"),
                  "files": [str(f) for f in data.get("files", [])][:100]},
            notes=[str(n) for n in (d.get("notes") or [])][:20],
            model_name=chosen,
            models={name: {"metrics": metric_map((e or {}).get("metrics") or {}, tr("model {name}", name=name))}
                    for name, e in models.items()},
            choice_reason=str(d.get("choice_reason") or "")[:1000],
            history=_stored_history(d.get("history")),
        )


def _stored_history(d: Any) -> Any:
    """The per-entity results a history model's file carries (None in other files)."""
    if d is None:
        return None
    from mfg_desktop.core.history_eval import HistoryEvaluation

    try:
        return HistoryEvaluation.from_dict(d)
    except (ValueError, TypeError) as exc:
        raise MalformedEvaluation(str(exc)) from None
