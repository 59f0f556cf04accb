"""Explanations in the user's own column names: permutation importance and per-row contributions.

Both work on the model's inputs as the user named them, never on the model's features: an input
is changed in the DataFrame and the rows are pushed through the fitted recipe (imputation,
scaling, one-hot, PCA) and the model again. So ``Type`` is one entry, not three one-hot features,
a date is one entry, not its parts, and the names stay meaningful when PCA hides the features
behind components. A derived column (``dT = [Process temperature] - [Air temperature]``) that the
model reads is an input of its own: it is changed as computed, and the columns its formula reads
are changed with it held, so each effect is counted once. A column that only feeds formulas is
explained through them.

* :func:`permutation_importance`: how much the task's main metric drops when one column's values
  are shuffled among the evaluated rows (Breiman 2001; scikit-learn's
  ``inspection.permutation_importance`` on a pipeline, but on raw columns). Mean and standard
  deviation over ``n_repeats`` shuffles; rows subsampled to ``max_rows`` for speed; columns run in
  parallel threads (the Keras call and numpy release the GIL).
* :func:`contributions`: for one row, the change of the prediction when one input at a time is
  replaced by its typical training value (median, or most frequent category). Simple occlusion:
  positive means the row's actual value pushed the prediction up.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mfg_desktop.core.errors import DataError
from mfg_desktop.core.i18n import N_, tr
from mfg_desktop.core.jobs import JobState, ensure_state
from mfg_desktop.core.task import BINARY, MULTICLASS, REGRESSION

# The metric whose drop measures importance, per task: threshold-free for rare-positive binary
# targets, balanced over classes for fault types (a rare class counts as much as a common one).
MAIN_METRIC = {BINARY: "pr_auc", MULTICLASS: "balanced_accuracy", REGRESSION: "r2"}
MAIN_METRIC_TEXT = {
    "pr_auc": N_("PR-AUC (average precision)"),  # shown through tr()
    "balanced_accuracy": N_("balanced accuracy"),
    "r2": "R²",
}
DEFAULT_REPEATS = 5
DEFAULT_MAX_ROWS = 2000


def main_metric(task: str) -> str:
    return MAIN_METRIC[task]


def score_outputs(task: str, y: np.ndarray, outputs: np.ndarray) -> float:
    """The task's main metric (see :data:`MAIN_METRIC`) from scikit-learn; NaN when undefined."""
    from sklearn import metrics as skm

    y = np.asarray(y)
    if len(y) == 0:
        return math.nan
    if task == BINARY:
        if len(np.unique(y)) < 2:
            return math.nan
        return float(skm.average_precision_score(y, outputs[:, 1]))
    if task == MULTICLASS:
        return float(skm.balanced_accuracy_score(y, outputs.argmax(axis=1)))
    if len(y) < 2:
        return math.nan
    return float(skm.r2_score(y, outputs))


def model_outputs(run: Any, frame: pd.DataFrame, *, derived_given: bool = False) -> np.ndarray:
    """Probabilities (n, n_classes) or regression values (n,) for raw rows, through the fitted recipe
    (``derived_given``: ``frame`` holds the derived columns already, see :func:`with_derived`)."""
    return run.predict_matrix(run.fitted.transform(frame, derived_given=derived_given), frame=frame)


def explained_columns(run: Any) -> list[str]:
    """The model's inputs as the user named them: raw and derived columns, a categorical column as one
    entry (its one-hot group), a date as one entry (its parts)."""
    return list(run.fitted.recipe.inputs)


def derived_inputs(run: Any) -> dict[str, str]:
    """``{name: formula}`` of the derived columns among the model's inputs."""
    inputs = set(run.fitted.recipe.inputs)
    return {d.name: d.expression for d in run.fitted.recipe.derived if d.name in inputs}


def with_derived(run: Any, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame``'s raw columns (and history context) with the derived columns computed, index 0..n-1:
    the rows whose inputs explanations change one at a time."""
    from mfg_desktop.core.formula import apply_derived

    raw = list(run.fitted.required_columns())
    context = [c for c in history_columns(run) if c in frame.columns and c not in raw]
    return apply_derived(frame[raw + context].reset_index(drop=True), run.fitted.recipe.derived)


def history_columns(run: Any) -> list[str]:
    """A sequence network's entity and order columns: its windows are built from them (none for
    other models, which read each row on its own)."""
    if not getattr(run, "is_sequence", False):
        return []
    spec = getattr(run, "history_spec", None) or {}
    return [c for c in (spec.get("entity"), spec.get("order")) if c]


def uses_pca(run: Any) -> bool:
    return "pca_components" in run.fitted.arrays


def _subsample(y: np.ndarray, max_rows: int, task: str, seed: int) -> np.ndarray:
    """Positions of at most ``max_rows`` rows; stratified for classification so rare classes stay."""
    n = len(y)
    if n <= max_rows:
        return np.arange(n)
    if task != REGRESSION:
        from sklearn.model_selection import train_test_split

        try:
            keep, _ = train_test_split(np.arange(n), train_size=max_rows, stratify=y, random_state=seed)
            return np.sort(keep)
        except ValueError:  # a class with a single row cannot be stratified: plain sample
            pass
    return np.sort(np.random.default_rng(seed).choice(n, size=max_rows, replace=False))


@dataclass
class Importance:
    """Permutation importance per original column, sorted by mean drop (largest first)."""

    columns: list[str]
    mean: np.ndarray
    std: np.ndarray
    metric: str  # key of the metric whose drop is measured (see MAIN_METRIC)
    baseline_score: float
    n_rows: int
    n_repeats: int
    pca: bool
    note: str
    seconds: float = 0.0
    scores: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)), repr=False)  # (columns, repeats)
    derived: dict[str, str] = field(default_factory=dict)  # formula of each derived input

    def as_mapping(self) -> dict[str, dict[str, float | None]]:
        """``{column: {"mean": ..., "std": ...}}`` in ranking order (JSON-able, NaN as None)."""
        return {c: {"mean": _num(m), "std": _num(s)} for c, m, s in zip(self.columns, self.mean, self.std,
                                                                        strict=True)}

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "baseline_score": _num(self.baseline_score),
            "n_rows": int(self.n_rows),
            "n_repeats": int(self.n_repeats),
            "pca": bool(self.pca),
            "note": self.note,
            "columns": self.as_mapping(),
            "derived": dict(self.derived),
        }


def format_change(value: float | None, digits: int = 3, sign: bool = True) -> str:
    """A change (an importance, a contribution) with ``digits`` significant digits, however small:
    ``+0.312``, ``-0.000420``, ``0`` for none, ``—`` when not a number. Four fixed decimals would
    print a real but small change as ``-0.0000``."""
    if value is None or not math.isfinite(value):
        return "—"
    if value == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(value)))
    if magnitude < -5:  # 0.0000012 is hard to read
        return f"{value:+.{digits - 1}e}" if sign else f"{value:.{digits - 1}e}"
    decimals = max(digits, digits - 1 - magnitude) if magnitude < 0 else max(0, digits - 1 - magnitude)
    return f"{value:+.{decimals}f}" if sign else f"{value:.{decimals}f}"


def _num(v: Any) -> float | None:
    v = float(v)
    return v if math.isfinite(v) else None


def permutation_importance(
    run: Any,
    frame: pd.DataFrame,
    y: np.ndarray,
    *,
    n_repeats: int = DEFAULT_REPEATS,
    max_rows: int = DEFAULT_MAX_ROWS,
    seed: int = 0,
    n_jobs: int | None = None,
    state: JobState | None = None,
    progress_span: tuple[float, float] = (0.0, 1.0),
) -> Importance:
    """Drop of the main metric when each original input column is shuffled among ``frame``'s rows.

    ``run`` is a :class:`TrainingRun` (or anything with ``fitted``, ``model`` and ``task``);
    ``y`` the encoded targets of ``frame``'s rows. Deterministic for a given ``seed`` whatever
    ``n_jobs`` is: every (column, repeat) shuffle has its own seeded generator.
    """
    import time

    from joblib import Parallel, delayed

    state = ensure_state(state)
    t0 = time.perf_counter()
    task = run.task
    y = np.asarray(y)
    if len(frame) != len(y):
        raise ValueError("frame and y have different lengths")
    columns = explained_columns(run)
    # a sequence network reads each row's window of earlier rows: whole histories, no subsample
    sequence = bool(history_columns(run))
    pick = np.arange(len(y)) if sequence else _subsample(y, max_rows, task, seed)
    rows = with_derived(run, frame.iloc[pick])
    y_sub = y[pick]
    metric = MAIN_METRIC[task]
    base = score_outputs(task, y_sub, model_outputs(run, rows, derived_given=True))
    pca = uses_pca(run)
    derived = derived_inputs(run)
    note = tr("Drop in {metric} when one column's values are shuffled among {rows:,} evaluated rows ({repeats} "
              "shuffles each; bars show ± one standard deviation).", metric=tr(MAIN_METRIC_TEXT[metric]),
              rows=len(rows), repeats=n_repeats)
    if derived:
        note += " " + derived_note(derived)
    if pca:
        note += " " + tr("PCA is on: the network sees principal components, not columns; each column's importance "
                         "is measured through the PCA, by shuffling the column before it.")
    if not math.isfinite(base):
        nan = np.full(len(columns), np.nan)
        return Importance(columns, nan, nan, metric, base, len(rows), n_repeats, pca,
                          note + " " + tr("Not measurable: the evaluated rows hold only one class."),
                          time.perf_counter() - t0, np.full((len(columns), n_repeats), np.nan), derived)

    lo, hi = progress_span
    done = [0]
    lock = threading.Lock()

    def one(index: int, column: str) -> np.ndarray | None:
        if state.is_interruption_requested():
            return None
        # All repeats of a column in one stacked frame: one recipe pass and one model call each.
        stacked = pd.concat([rows] * n_repeats, ignore_index=True)
        shuffled = []
        for r in range(n_repeats):
            rng = np.random.default_rng([seed, index, r])
            shuffled.append(rows[column].iloc[rng.permutation(len(rows))])
        stacked[column] = pd.concat(shuffled, ignore_index=True)
        n = len(rows)
        if sequence:  # each repeat is the same histories again: scored one at a time
            out = np.concatenate([model_outputs(run, stacked.iloc[r * n:(r + 1) * n], derived_given=True)
                                  for r in range(n_repeats)])
        else:
            out = model_outputs(run, stacked, derived_given=True)
        scores = np.array([score_outputs(task, y_sub, out[r * n:(r + 1) * n]) for r in range(n_repeats)])
        with lock:
            done[0] += 1
            state.set_progress(lo + (hi - lo) * done[0] / len(columns), tr("importance of {column}", column=column))
        return scores

    results = Parallel(n_jobs=n_jobs or _default_jobs(), prefer="threads")(
        delayed(one)(i, c) for i, c in enumerate(columns))
    state.check_cancelled()
    drops = np.array([base - s for s in results], dtype=np.float64).reshape(len(columns), n_repeats)
    mean, std = drops.mean(axis=1), drops.std(axis=1)
    order = np.argsort(-mean, kind="stable")
    return Importance(
        columns=[columns[i] for i in order], mean=mean[order], std=std[order], metric=metric,
        baseline_score=base, n_rows=len(rows), n_repeats=n_repeats, pca=pca, note=note,
        seconds=time.perf_counter() - t0, scores=drops[order], derived=derived,
    )


def derived_note(derived: Mapping[str, str]) -> str:
    """What a derived input's entry means, with its formula."""
    formulas = tr("; ").join(f"{name} = {expression}" for name, expression in derived.items())
    return tr("Derived columns count on their own ({formulas}): each is shuffled as computed, and the columns "
              "its formula reads are shuffled with it held.", formulas=formulas)


def _default_jobs() -> int:
    import os

    return max(1, min(4, os.cpu_count() or 1))


# --------------------------------------------------------------------------------------------
# one row


def reference_values(run: Any) -> dict[str, Any]:
    """A typical training value per explained column: median (numbers, dates) or the most frequent
    category, as stored in the input schema. Model files saved before the schema held them fall
    back to the middle of the training range (numbers, dates) or the first category."""
    refs: dict[str, Any] = {}
    schema = {e["name"]: e for e in run.fitted.input_schema()}
    for column in explained_columns(run):
        entry = schema.get(column, {})
        dtype = entry.get("dtype")
        if dtype == "text":
            cats = entry.get("categories") or []
            refs[column] = entry.get("mode") if entry.get("mode") is not None else (cats[0] if cats else None)
        elif dtype == "datetime":
            if entry.get("median"):
                refs[column] = pd.Timestamp(entry["median"])
            elif entry.get("min") and entry.get("max"):
                lo, hi = pd.Timestamp(entry["min"]), pd.Timestamp(entry["max"])
                refs[column] = lo + (hi - lo) / 2
            else:
                refs[column] = None
        else:
            median = entry.get("median")
            if median is None and entry.get("min") is not None and entry.get("max") is not None:
                median = (float(entry["min"]) + float(entry["max"])) / 2
            refs[column] = median
    return refs


@dataclass
class Contributions:
    """How each input moved one row's prediction, against its typical training value."""

    columns: list[str]
    values: list[Any]  # the row's own values
    references: list[Any]  # the typical values swapped in
    deltas: np.ndarray  # prediction(row) - prediction(row with this column at its reference)
    prediction: float  # what is explained: p(class) or the regression value, for the row as it is
    output: str  # "p(<class>)" or "value"

    def ranked(self) -> list[tuple[str, Any, Any, float]]:
        """(column, value, reference, delta), largest effect first."""
        order = np.argsort(-np.abs(self.deltas), kind="stable")
        return [(self.columns[i], self.values[i], self.references[i], float(self.deltas[i])) for i in order]

    def to_dict(self) -> dict[str, Any]:
        return {
            "output": self.output,
            "prediction": _num(self.prediction),
            "contributions": [
                {"column": c, "value": _plain(v), "reference": _plain(r), "delta": _num(d)}
                for c, v, r, d in self.ranked()
            ],
        }


def _plain(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, bool | int | float | str):
        return v
    if isinstance(v, pd.Timestamp):
        return v.isoformat()
    try:
        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    return str(v)


def contributions(
    run: Any,
    row: pd.DataFrame | pd.Series,
    class_index: int | None = None,
    references: Mapping[str, Any] | None = None,
) -> Contributions:
    """Occlusion for one row: each input in turn set to its typical training value.

    Explains p(positive class) for binary, p(``class_index``) for multiclass (default: the class
    the model predicts for this row), and the value for regression. All variants go through the
    model in one call.
    """
    if history_columns(run):
        raise DataError(tr("The sequence network's prediction for a row reads its whole window of earlier rows, "
                           "so one row cannot be explained on its own."),
                        hint=tr("Use the permutation importance of the columns instead."))
    if isinstance(row, pd.Series):
        row = row.to_frame().T
    if len(row) != 1:
        raise DataError(tr("Pick exactly one row to explain (got {rows}).", rows=len(row)))
    refs = dict(references) if references is not None else reference_values(run)
    columns = [c for c in explained_columns(run) if refs.get(c) is not None]
    row = with_derived(run, row)
    own = row.iloc[0]
    values = [own[c] for c in columns]
    data: dict[str, list[Any]] = {}
    for c in row.columns:
        column = [own[c]] * (len(columns) + 1)
        if c in columns:
            column[columns.index(c) + 1] = refs[c]
        data[c] = column
    variants = pd.DataFrame(data)
    for c in variants.columns:
        # Keep the row's own dtype where the reference fits it (a float median into an int column
        # does not), so the recipe reads the values the way it reads the original table.
        try:
            variants[c] = variants[c].astype(row[c].dtype)
        except (TypeError, ValueError):
            pass
    out = model_outputs(run, variants, derived_given=True)
    if run.task == REGRESSION:
        explained = out
        label = tr("value")
    else:
        if class_index is None:
            class_index = 1 if run.task == BINARY else int(out[0].argmax())
        explained = out[:, class_index]
        label = f"p({run.classes[class_index]})"
    return Contributions(
        columns=columns, values=values, references=[refs[c] for c in columns],
        deltas=explained[0] - explained[1:], prediction=float(explained[0]), output=label,
    )


def rank_of(importance: Importance, column: str) -> int:
    """0-based position of ``column`` in the importance ranking."""
    return importance.columns.index(column)
