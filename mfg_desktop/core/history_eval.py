"""Judging a history model per entity: each machine/engine/tool's own errors, at its last row and along its life.

A row-level RMSE mixes every cycle of every engine; what a maintenance planner needs is how far off the
remaining life is *now*, at each entity's latest row, and how the prediction follows the truth along the
history. :func:`per_entity` computes that from plain arrays (entity id, order, true value, model output) so
that it is checked against a hand computation; :func:`history_evaluation` takes them from an
:class:`mfg_desktop.core.evaluate.Evaluation` of a model trained on histories.

Regression (remaining useful life, or any number): RMSE/MAE at each entity's last row and over all rows,
a per-entity table, and predicted-against-true curves along the order axis. Yes/no ("fails within N"): the
usual classification view comes from the evaluation itself; per entity come p(positive) at the last row,
the first alarm (first row at or above the threshold), how long before the entity's end it came, and
the false alarms and missed rows. Several classes: the class at the last row and the row accuracy.

Everything here is numbers and data for charts; no Qt, no TensorFlow.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mfg_desktop.core.i18n import N_, tr
from mfg_desktop.core.task import BINARY, REGRESSION

CHART_ENTITIES = 4  # entities drawn in a report chart
CURVE_POINTS = 250  # points kept per stored curve: plenty for a printed chart
MAX_STORED_ENTITIES = 2000

# per-entity table columns (machine-readable keys; labels below are what people read)
ENTITY, ROWS, LAST_ORDER = "entity", "rows", "last_order"
TRUE_LAST, PRED_LAST, ERROR_LAST, RMSE_ROWS, MAE_ROWS = "true_last", "predicted_last", "error_last", "rmse", "mae"
P_LAST, FIRST_ALARM, LEAD, FALSE_ALARMS, MISSED, ACCURACY = (
    "p_last", "first_alarm", "lead", "false_alarm_rows", "missed_rows", "accuracy")
COLUMN_TEXT = {
    ENTITY: N_("entity"), ROWS: N_("rows"), LAST_ORDER: N_("last order value"),
    TRUE_LAST: N_("true at last row"), PRED_LAST: N_("predicted at last row"),
    ERROR_LAST: N_("error at last row"), RMSE_ROWS: N_("RMSE (all rows)"), MAE_ROWS: N_("MAE (all rows)"),
    P_LAST: N_("p at last row"), FIRST_ALARM: N_("first alarm at"), LEAD: N_("alarm lead"),
    FALSE_ALARMS: N_("false alarm rows"), MISSED: N_("missed rows"), ACCURACY: N_("row accuracy"),
}
METRIC_TEXT = {
    "last_rmse": N_("RMSE at the last row"), "last_mae": N_("MAE at the last row"),
    "all_rmse": N_("RMSE over all rows"), "all_mae": N_("MAE over all rows"),
    "last_accuracy": N_("accuracy at the last row"), "entities_alarmed": N_("entities alarmed before their end"),
    "mean_lead": N_("mean alarm lead"), "entities": N_("entities evaluated"),
}


@dataclass
class EntityCurve:
    """One entity's true and predicted values along its order axis (sorted)."""

    entity: str
    order: np.ndarray
    true: np.ndarray
    predicted: np.ndarray

    def to_dict(self, limit: int = CURVE_POINTS) -> dict[str, Any]:
        keep = _thin_positions(len(self.order), limit)
        return {"entity": self.entity, "order": _floats(self.order[keep]), "true": _floats(self.true[keep]),
                "predicted": _floats(self.predicted[keep])}


@dataclass
class HistoryEvaluation:
    """Per-entity results of a history model on the evaluated rows."""

    task: str
    label: str  # "rul" | "fails_within" | "none" (the target was a column of the data)
    entity_column: str
    order_column: str  # "" when the row order is the order
    metrics: dict[str, float]
    entities: pd.DataFrame  # one row per entity, the columns above; in the order entities first appear
    curves: dict[str, EntityCurve] = field(default_factory=dict)  # every evaluated entity (not multiclass)
    setup: str = ""  # the history set-up in words (HistorySpec.describe)
    positive_class: str = ""

    @property
    def regression(self) -> bool:
        return self.task == REGRESSION

    def entity_ids(self) -> list[str]:
        return [str(e) for e in self.entities[ENTITY]]

    def chart_entities(self, n: int = CHART_ENTITIES) -> list[str]:
        """A few entities for a chart: spread over the range of history lengths (short to long), so the
        chart shows both a young and an old history rather than the first ids."""
        if not self.curves:
            return []
        by_length = sorted(self.curves, key=lambda e: (len(self.curves[e].order), e))
        if len(by_length) <= n:
            return by_length
        picks = np.unique(np.linspace(0, len(by_length) - 1, n).round().astype(int))
        return [by_length[i] for i in picks]

    def headline(self) -> str:
        """One line for a terminal or a banner."""
        m = self.metrics
        if self.regression:
            return tr("Per entity ({n} entities): RMSE {last_rmse:.2f}, MAE {last_mae:.2f} at each entity's last "
                      "row; RMSE {all_rmse:.2f}, MAE {all_mae:.2f} over all rows.",
                      n=int(m["entities"]), last_rmse=m["last_rmse"], last_mae=m["last_mae"],
                      all_rmse=m["all_rmse"], all_mae=m["all_mae"])
        if self.task == BINARY:
            return tr("Per entity ({n} entities): accuracy {accuracy:.1%} at the last row; {alarmed} of {ending} "
                      "entities ending in {positive} were alarmed before their last row.",
                      n=int(m["entities"]), accuracy=m["last_accuracy"], alarmed=int(m["entities_alarmed"]),
                      ending=int(m["entities_ending_positive"]), positive=self.positive_class)
        return tr("Per entity ({n} entities): accuracy {accuracy:.1%} at the last row.",
                  n=int(m["entities"]), accuracy=m["last_accuracy"])

    def to_dict(self, curve_entities: int = CHART_ENTITIES) -> dict[str, Any]:
        """JSON-able (NaN as null): metrics, the per-entity table, curves of a few entities."""
        rows = self.entities.head(MAX_STORED_ENTITIES)
        return {
            "task": self.task, "label": self.label, "entity_column": self.entity_column,
            "order_column": self.order_column, "setup": self.setup, "positive_class": self.positive_class,
            "metrics": {k: _num(v) for k, v in self.metrics.items()},
            "columns": list(map(str, rows.columns)),
            "entities": [[_cell(v) for v in r] for r in rows.itertuples(index=False, name=None)],
            "curves": [self.curves[e].to_dict() for e in self.chart_entities(curve_entities)],
        }

    @classmethod
    def from_dict(cls, d: Any) -> HistoryEvaluation:
        """Read back what :meth:`to_dict` wrote (a model file's stored evaluation); ``ValueError`` names what
        is malformed (``TypeError``: not an object). Every value is checked as read: the file may be crafted."""
        if not isinstance(d, Mapping):
            raise TypeError("the per-entity results are not an object")
        task = d.get("task")
        if task not in ("binary", "multiclass", REGRESSION):
            raise ValueError(f"the per-entity results have an unknown task {task!r}")
        columns = d.get("columns")
        known = set(COLUMN_TEXT)
        if not isinstance(columns, list) or not columns or not set(columns) <= known or columns[0] != ENTITY:
            raise ValueError("the per-entity table's columns are not the known ones")
        rows = d.get("entities")
        if not isinstance(rows, list) or len(rows) > MAX_STORED_ENTITIES or \
                not all(isinstance(r, list) and len(r) == len(columns) for r in rows):
            raise ValueError("the per-entity table is malformed")
        for r in rows:
            if not all(v is None or isinstance(v, str | int | float) for v in r):
                raise ValueError("the per-entity table holds values that are not plain numbers or text")
        metrics = d.get("metrics")
        if not isinstance(metrics, Mapping) or len(metrics) > 20 or \
                not all(v is None or (isinstance(v, int | float) and not isinstance(v, bool)) for v in metrics.values()):
            raise ValueError("the per-entity metrics are malformed")
        curves: dict[str, EntityCurve] = {}
        raw_curves = d.get("curves") or []
        if not isinstance(raw_curves, list) or len(raw_curves) > 20:
            raise ValueError("the per-entity curves are malformed")
        for c in raw_curves:
            parts = [c.get(k) if isinstance(c, Mapping) else None for k in ("order", "true", "predicted")]
            if not all(isinstance(p, list) and len(p) == len(parts[0]) and len(p) <= CURVE_POINTS for p in parts) \
                    or not all(isinstance(v, int | float) and not isinstance(v, bool) for p in parts for v in p):
                raise ValueError("a per-entity curve is malformed")
            name = str(c.get("entity"))
            curves[name] = EntityCurve(name, *(np.asarray(p, dtype=np.float64) for p in parts))
        table = pd.DataFrame(rows, columns=columns)
        table[ENTITY] = table[ENTITY].astype(str)
        return cls(task=task, label=str(d.get("label", "none")), entity_column=str(d.get("entity_column", ""))[:200],
                   order_column=str(d.get("order_column", ""))[:200],
                   metrics={str(k): (math.nan if v is None else float(v)) for k, v in metrics.items()},
                   entities=table, curves=curves, setup=str(d.get("setup", ""))[:1000],
                   positive_class=str(d.get("positive_class", ""))[:200])


def column_text(column: str, order_column: str = "") -> str:
    """A per-entity column's heading in the user's language (the last order value named by its column)."""
    if column == LAST_ORDER and order_column:
        return tr("last {order}", order=order_column)
    return tr(COLUMN_TEXT.get(column, column))


# --------------------------------------------------------------------------------------------
# the computation


def per_entity(
    entity: Sequence[Any] | np.ndarray,
    order: Sequence[float] | np.ndarray,
    y: Sequence[float] | np.ndarray,
    outputs: np.ndarray,
    task: str,
    threshold: float | None = None,
    classes: Sequence[Any] = (),
) -> tuple[dict[str, float], pd.DataFrame, dict[str, EntityCurve]]:
    """Per-entity numbers from one value per evaluated row.

    ``y``: true values (regression) or class codes; ``outputs``: predicted values, or probabilities
    (n, k). ``order``: each row's place in its entity's history (the last row is the largest).
    Returns (metrics, per-entity table, curves per entity: predicted against true values, or
    p(positive) against the true 0/1 for a yes/no target; none for several classes).
    """
    entity = np.asarray(entity, dtype=object)
    order = np.asarray(order, dtype=np.float64)
    n = len(entity)
    work = pd.DataFrame({"entity": entity, "order": order, "pos": np.arange(n)})
    codes, uniques = pd.factorize(work["entity"], sort=False)
    # sorted by entity (first appearance), then order, then file position: each history in its order
    sort = np.lexsort((np.arange(n), order, codes))
    codes_s = codes[sort]
    starts = np.r_[0, np.flatnonzero(np.diff(codes_s)) + 1] if n else np.zeros(0, dtype=np.int64)
    ends = np.r_[starts[1:], n] if n else np.zeros(0, dtype=np.int64)
    last = sort[ends - 1] if n else np.zeros(0, dtype=np.int64)
    counts = ends - starts
    table = pd.DataFrame({ENTITY: [str(uniques[c]) for c in codes_s[starts]] if n else [],
                          ROWS: counts.astype(np.int64), LAST_ORDER: order[last]})
    metrics: dict[str, float] = {"entities": float(len(starts))}
    curves: dict[str, EntityCurve] = {}
    if task == REGRESSION:
        y_f = np.asarray(y, dtype=np.float64)
        pred = np.asarray(outputs, dtype=np.float64).reshape(-1)
        err = pred - y_f
        per_rmse = np.sqrt(np.add.reduceat(err[sort] ** 2, starts) / counts) if n else np.zeros(0)
        per_mae = np.add.reduceat(np.abs(err[sort]), starts) / counts if n else np.zeros(0)
        table[TRUE_LAST], table[PRED_LAST], table[ERROR_LAST] = y_f[last], pred[last], err[last]
        table[RMSE_ROWS], table[MAE_ROWS] = per_rmse, per_mae
        metrics.update(last_rmse=_rmse(err[last]), last_mae=_mae(err[last]), all_rmse=_rmse(err), all_mae=_mae(err))
        for i, (a, b) in enumerate(zip(starts, ends, strict=True)):
            rows = sort[a:b]
            name = table[ENTITY].iloc[i]
            curves[name] = EntityCurve(name, order[rows], y_f[rows], pred[rows])
        return metrics, table, curves
    proba = np.asarray(outputs, dtype=np.float64)
    y_c = np.asarray(y, dtype=np.int64)
    if task == BINARY:
        t = 0.5 if threshold is None else float(threshold)
        decided = (proba[:, 1] >= t).astype(np.int64)
    else:
        decided = np.argmax(proba, axis=1)
    label = (lambda c: str(classes[int(c)])) if len(classes) else (lambda c: str(int(c)))
    table[TRUE_LAST] = [label(c) for c in y_c[last]]
    table[PRED_LAST] = [label(c) for c in decided[last]]
    correct = (decided == y_c).astype(np.float64)
    table[ACCURACY] = np.add.reduceat(correct[sort], starts) / counts if n else np.zeros(0)
    metrics["last_accuracy"] = float(np.mean(correct[last])) if n else math.nan
    if task == BINARY:
        table[P_LAST] = proba[last, 1]
        for i, (a, b) in enumerate(zip(starts, ends, strict=True)):  # p(positive) against the true 0/1
            rows = sort[a:b]
            name = table[ENTITY].iloc[i]
            curves[name] = EntityCurve(name, order[rows], y_c[rows].astype(np.float64), proba[rows, 1])
        first_alarm = np.full(len(starts), np.nan)
        for i, (a, b) in enumerate(zip(starts, ends, strict=True)):
            alarms = np.flatnonzero(decided[sort[a:b]] == 1)
            if len(alarms):
                first_alarm[i] = order[sort[a + alarms[0]]]
        table[FIRST_ALARM] = first_alarm
        table[LEAD] = order[last] - first_alarm  # how long before the entity's last row the first alarm came
        table[FALSE_ALARMS] = np.add.reduceat(((decided == 1) & (y_c == 0))[sort].astype(np.int64), starts) \
            if n else np.zeros(0, dtype=np.int64)
        table[MISSED] = np.add.reduceat(((decided == 0) & (y_c == 1))[sort].astype(np.int64), starts) \
            if n else np.zeros(0, dtype=np.int64)
        ending = y_c[last] == 1
        alarmed = ending & ~np.isnan(first_alarm)
        metrics["entities_ending_positive"] = float(ending.sum())
        metrics["entities_alarmed"] = float(alarmed.sum())
        metrics["mean_lead"] = float(np.mean(table[LEAD].to_numpy()[alarmed])) if alarmed.any() else math.nan
    return metrics, table, curves


def history_evaluation(evaluation: Any, spec_dict: Mapping[str, Any]) -> HistoryEvaluation | None:
    """The per-entity view of ``evaluation`` (its rows must carry the entity and order columns);
    None when the evaluated rows do not say whose they are (no entity column in them)."""
    from mfg_desktop.core.history import ORDER_TIME, HistorySpec, _order_values

    spec = HistorySpec.from_dict(spec_dict)
    frame = getattr(evaluation, "frame", None)
    if frame is None or len(frame) == 0:
        return None
    if spec.entity:
        if spec.entity not in frame.columns:
            return None
        entity = frame[spec.entity].to_numpy()
    else:
        entity = np.zeros(len(frame), dtype=np.int64)
    if spec.order and spec.order in frame.columns:
        order, kind = _order_values(frame, spec)
        if kind == ORDER_TIME:  # seconds since 1970 as hours since the entity's first evaluated row
            start = pd.Series(order).groupby(pd.factorize(pd.Series(entity))[0]).transform("min").to_numpy()
            order = (order - start) / 3600.0
    else:  # the row order within each entity: the rows are kept in file order
        order = pd.Series(np.ones(len(frame))).groupby(pd.factorize(pd.Series(entity))[0]).cumsum().to_numpy()
    metrics, table, curves = per_entity(entity, order, evaluation.y, evaluation.outputs, evaluation.task,
                                        evaluation.threshold, [str(c) for c in evaluation.classes])
    return HistoryEvaluation(
        task=evaluation.task, label=spec.label, entity_column=spec.entity or "", order_column=spec.order or "",
        metrics=metrics, entities=table, curves=curves, setup=spec.describe(),
        positive_class=str(evaluation.classes[1]) if evaluation.task == BINARY else "")


# --------------------------------------------------------------------------------------------
# scored histories: which entity needs attention first


def rank_by_risk(summary: pd.DataFrame, label: str, task: str) -> tuple[pd.DataFrame, str]:
    """The per-entity summary of a scored file (``<name>_entities.csv``), riskiest first, and how it
    was ranked: the lowest remaining life first, or the highest p(positive) of a yes/no model. For
    any other target high and low are not known to mean risk, so the file order is kept (and said)."""
    p_columns = [c for c in summary.columns if str(c).startswith("latest p(")]
    if task == BINARY and p_columns:
        ranked = summary.sort_values(p_columns[0], ascending=False, kind="stable")
        return ranked.reset_index(drop=True), tr("Ranked by risk: the highest {score} at the latest row first.",
                                                 score=p_columns[0].removeprefix("latest "))
    if task == REGRESSION and label == "rul":
        ranked = summary.sort_values("latest prediction", ascending=True, kind="stable")
        return ranked.reset_index(drop=True), tr("Ranked by risk: the lowest remaining life at the latest row first.")
    return summary.reset_index(drop=True), tr("In file order: for this target a high or a low prediction is not "
                                              "known to mean risk.")


# --------------------------------------------------------------------------------------------
# small helpers


def _rmse(err: np.ndarray) -> float:
    return float(np.sqrt(np.mean(err ** 2))) if len(err) else math.nan


def _mae(err: np.ndarray) -> float:
    return float(np.mean(np.abs(err))) if len(err) else math.nan


def _num(v: Any) -> float | None:
    f = float(v)
    return f if math.isfinite(f) else None


def _cell(v: Any) -> Any:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _floats(a: np.ndarray) -> list[float]:
    return [float(v) for v in np.nan_to_num(np.asarray(a, dtype=np.float64))]


def _thin_positions(n: int, limit: int) -> np.ndarray:
    """At most ``limit`` evenly spaced positions, the first and the last always kept."""
    if n <= limit:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, limit).round().astype(np.int64))
