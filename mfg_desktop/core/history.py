"""Sensor histories: entities (machine, engine, tool, batch) each a sequence of rows over time.

A :class:`HistorySpec` says what the rows are (the entity column, the order column or the file's
row order), which label the data do not carry is built (remaining useful life, optionally capped;
"fails within N"), and which causal window features are added per entity and per input. It is
plain data (``to_dict``/``from_dict`` give JSON), saved in the model file and applied again
when new history files are scored.

Window features only ever look at the row itself and earlier rows of the same entity: every one
is a pandas rolling window over the rows sorted by entity and order, bounded at the entity's first
row (:class:`EntityWindow` for row windows, ``groupby().rolling("Ws")`` for time windows), or a
look-back by position, so a changed future row cannot move an earlier row's features (``tests/core/test_history.py`` proves
it). Rows keep their place: features are computed on a sorted view and put back by position.

An entity with fewer rows than a window is described with what it has (the window covers its
rows so far); :func:`short_history_mask` says which rows were.

Irregular timestamps can be put on a fixed step per entity first (``resample``, e.g. "10s",
"1min"; :func:`resample_history`), before labels and windows, in training and in scoring alike.
Each step's row holds what was logged in the step that ends at its time (numbers averaged, other
columns the last value): only readings at or before a row's time, so resampling stays causal. The
gap rule: a run of at most ``max_gap`` empty steps is forward-filled from the last reading; a
longer gap is left missing (never partly invented) and its rows are flagged in ``resampled_gap``.

The sequence network (``network.SEQUENCE``) reads no window features but each row's last W rows of
its entity: :func:`sequence_positions` says which rows (earlier ones of the same entity only,
padding before its first row), :func:`sequence_windows` gathers their recipe features.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.indexers import BaseIndexer

from mfg_desktop.core.errors import DataError, MfgError
from mfg_desktop.core.i18n import N_, tr

LABELS = ("none", "rul", "fails_within")
WINDOW_SETS = ("minimal", "extended", "none")
WINDOW_SET_WORDS = (N_("minimal"), N_("extended"))  # as describe() names them
DEFAULT_SIZES = (5, 10, 20)
SOURCE_FILE = "source_file"
# Rolling statistics per window size; "change" (since the entity's first row) and lags come once.
WINDOW_STATS = {"minimal": ("mean", "std", "slope"), "extended": ("mean", "std", "min", "max", "slope"),
                "none": ()}
LAGS = {"minimal": (), "extended": (1, 2, 3), "none": ()}
ORDER_ROWS, ORDER_NUMBER, ORDER_TIME = "rows", "number", "time"
GAP_COLUMN = "resampled_gap"  # set by resample_history: the row lies in a gap too long to fill
DEFAULT_MAX_GAP = 3
_NUMBER_IN_NAME = re.compile(r"(\d+)")


@dataclass
class HistorySpec:
    """What the rows are and what is built from them (all plain values, JSON-able).

    ``order`` None means the row order within each entity (each file) is the order.
    ``sizes`` are rows, or seconds when the order column holds timestamps, or steps once resampled.
    ``inputs`` are the columns windowed; :func:`default_inputs` fills them from a frame.
    ``order_kind`` is set by :func:`check_history` (rows / number / time).
    """

    entity: str | None = None
    order: str | None = None
    label: str = "none"  # none | rul | fails_within
    rul_cap: float | None = None
    fails_within: float | None = None
    windows: str = "minimal"  # minimal | extended | none
    sizes: tuple[int, ...] = DEFAULT_SIZES
    inputs: list[str] = field(default_factory=list)
    order_kind: str = ORDER_ROWS
    resample: str | None = None  # a fixed step per entity ("10s", "1min", "1h"); None keeps the rows
    max_gap: int = DEFAULT_MAX_GAP  # empty steps forward-filled; a longer gap stays missing, flagged

    def __post_init__(self) -> None:
        self.sizes = tuple(int(s) for s in self.sizes)

    @property
    def label_column(self) -> str | None:
        """The name of the built target column, or None when no label is built."""
        if self.label == "rul":
            return "RUL"
        if self.label == "fails_within":
            return f"fails_within_{_number_text(self.fails_within)}"
        return None

    @property
    def windows_in_seconds(self) -> bool:
        """Window sizes are seconds for a timestamp order; rows otherwise, and steps once resampled
        (a regular grid: W steps are W rows)."""
        return self.order_kind == ORDER_TIME and not self.resample

    @property
    def context_columns(self) -> list[str]:
        """Columns that say where a row is (never model inputs by default)."""
        return [c for c in (self.entity, self.order) if c] + ([SOURCE_FILE] if self.entity != SOURCE_FILE else []) \
            + ([GAP_COLUMN] if self.resample else [])

    def check(self) -> None:
        """The settings on their own (no data): raises :class:`MfgError` with what to change."""
        if self.label not in LABELS:
            raise MfgError(tr("Unknown label rule {rule!r}; use none, rul or fails_within.", rule=self.label))
        if self.windows not in WINDOW_SETS:
            raise MfgError(tr("Unknown window set {windows!r}; use minimal, extended or none.", windows=self.windows))
        if self.label != "none" and not self.entity:
            raise MfgError(tr("A remaining-life or fails-within label needs an entity column: whose life ends where?"),
                           hint=tr("Name the machine/unit column (or source_file, one history per file)."))
        if self.rul_cap is not None and not self.rul_cap > 0:
            raise MfgError(tr("The RUL cap must be above 0 (got {cap}).", cap=self.rul_cap))
        if self.label == "fails_within" and not (self.fails_within is not None and self.fails_within > 0):
            raise MfgError(tr("'Fails within N' needs N above 0."), hint=tr("E.g. --fails-within 30."))
        if self.windows != "none" and (not self.sizes or any(s < 1 for s in self.sizes)):
            raise MfgError(tr("Window sizes must be whole numbers of at least 1 (got {sizes}).", sizes=list(self.sizes)))
        if self.resample is not None:
            resample_step(self.resample)  # refuses a step that is none
            if not self.order:
                raise MfgError(tr("Resampling to {step} needs the order column that holds the timestamps.",
                                  step=self.resample), hint=tr("Name it (--order COL), or leave resampling off."))
        if int(self.max_gap) < 0:
            raise MfgError(tr("The longest gap to fill must be 0 or more steps (got {n}).", n=self.max_gap))

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["sizes"] = list(self.sizes)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> HistorySpec:
        try:
            spec = cls(
                entity=None if d.get("entity") is None else str(d["entity"]),
                order=None if d.get("order") is None else str(d["order"]),
                label=str(d.get("label", "none")),
                rul_cap=None if d.get("rul_cap") is None else float(d["rul_cap"]),
                fails_within=None if d.get("fails_within") is None else float(d["fails_within"]),
                windows=str(d.get("windows", "minimal")),
                sizes=tuple(int(s) for s in d.get("sizes", DEFAULT_SIZES)),
                inputs=[str(c) for c in d.get("inputs", [])],
                order_kind=str(d.get("order_kind", ORDER_ROWS)),
                resample=None if d.get("resample") is None else str(d["resample"]),
                max_gap=int(d.get("max_gap", DEFAULT_MAX_GAP)),
            )
        except (TypeError, ValueError) as exc:
            raise MfgError(tr("The stored history settings are malformed ({reason}).", reason=exc)) from exc
        spec.check()
        return spec

    def describe(self) -> str:
        """One line for a report or a terminal."""
        parts = [tr("entity {column}", column=self.entity) if self.entity else tr("entity (one history)"),
                 tr("order {column}", column=self.order) if self.order else tr("order row order in the file")]
        if self.label == "rul":
            parts.append(tr("label RUL capped at {cap}", cap=_number_text(self.rul_cap)) if self.rul_cap
                         else tr("label RUL"))
        elif self.label == "fails_within":
            parts.append(tr("label fails within {n}", n=_number_text(self.fails_within)))
        sizes = ", ".join(tr("{n}s", n=s) if self.windows_in_seconds else tr("{n} rows", n=s) for s in self.sizes)
        parts.append(tr("windows {set} ({sizes})", set=tr(self.windows), sizes=sizes) if self.windows != "none"
                     else tr("windows none"))
        if self.resample:
            parts.append(tr("resampled to {step} (gaps up to {n} steps filled)", step=self.resample, n=self.max_gap))
        return tr(", ").join(parts)


def _number_text(v: float | None) -> str:
    if v is None:
        return ""
    return str(int(v)) if float(v).is_integer() else f"{v:g}"


# --------------------------------------------------------------------------------------------
# suggestions


@dataclass
class HistorySuggestion:
    """Entity and order columns that look right, best first, each with the reason."""

    entity: str | None
    order: str | None
    entity_candidates: list[tuple[str, str]] = field(default_factory=list)
    order_candidates: list[tuple[str, str]] = field(default_factory=list)


def suggest_history(df: pd.DataFrame, max_rows: int = 200_000) -> HistorySuggestion:
    """Suggest the entity and order columns from the data.

    Entity: a column with few distinct values (2 up to a tenth of the rows) whose rows come in
    runs (as many runs as values: each entity's rows are together), integers or text; or
    ``source_file`` when several files were loaded. Order: a number or timestamp column that never
    goes backwards within each entity and is not constant.
    """
    part = df.iloc[:max_rows]
    n = len(part)
    entities: list[tuple[float, str, str]] = []
    for name in map(str, part.columns):
        s = part[name]
        if s.isna().any() or n < 4:
            continue
        integer = pd.api.types.is_integer_dtype(s.dtype)
        text = pd.api.types.is_object_dtype(s.dtype) or pd.api.types.is_string_dtype(s.dtype)
        if not (integer or text):
            continue
        distinct = int(s.nunique())
        if not 2 <= distinct <= max(2, n // 10):
            continue
        runs = int((s != s.shift()).sum())
        if runs > distinct * 1.05:  # values interleave: a category, not a history's id
            continue
        score = 2.0 if name == SOURCE_FILE else 1.0 + distinct / max(n, 1)
        entities.append((score, name, tr("{n} values, each in one run of rows", n=distinct)))
    entities.sort(key=lambda t: -t[0])
    entity = entities[0][1] if entities else None
    keys = part[entity] if entity else pd.Series(np.zeros(n), index=part.index)
    orders: list[tuple[float, str, str]] = []
    for name in map(str, part.columns):
        if name == entity:
            continue
        s = part[name]
        if pd.api.types.is_datetime64_any_dtype(s.dtype):
            values = s.astype("int64").astype(np.float64).where(s.notna())
        elif pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
            values = s.astype(np.float64)
        else:
            continue
        if values.isna().any() or values.nunique() < 3:
            continue
        steps = values.groupby(keys.to_numpy(), sort=False).diff().dropna()
        if len(steps) == 0 or (steps < 0).any():
            continue
        strict = bool((steps > 0).all())
        score = 2.0 if strict else 1.0
        orders.append((score, name, tr("rises within every entity") if strict else tr("never falls within an entity")))
    orders.sort(key=lambda t: -t[0])
    return HistorySuggestion(
        entity=entity, order=orders[0][1] if orders else None,
        entity_candidates=[(name, why) for _, name, why in entities],
        order_candidates=[(name, why) for _, name, why in orders],
    )


def default_inputs(df: pd.DataFrame, spec: HistorySpec, exclude: Sequence[str] = ()) -> list[str]:
    """The numeric columns to window: all but the entity, order, source file, label and ``exclude``."""
    skip = set(spec.context_columns) | set(exclude) | ({spec.label_column} if spec.label_column else set())
    out = []
    for name in map(str, df.columns):
        s = df[name]
        if name in skip or pd.api.types.is_bool_dtype(s.dtype) or not pd.api.types.is_numeric_dtype(s.dtype):
            continue
        out.append(name)
    return out


# --------------------------------------------------------------------------------------------
# validation


@dataclass
class HistoryCheck:
    """What :func:`check_history` found: problems (each an :class:`MfgError`) and warnings."""

    errors: list[MfgError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    n_entities: int = 0
    longest: float = 0.0  # rows, or seconds for a timestamp order
    shortest: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.errors

    def raise_first(self) -> None:
        if self.errors:
            raise self.errors[0]


def _entity_keys(df: pd.DataFrame, spec: HistorySpec) -> np.ndarray:
    """Integer codes of each row's entity (in order of first appearance); one entity without a column."""
    if not spec.entity:
        return np.zeros(len(df), dtype=np.int64)
    codes, _ = pd.factorize(df[spec.entity], sort=False)
    return codes.astype(np.int64)


def _order_values(df: pd.DataFrame, spec: HistorySpec) -> tuple[np.ndarray | None, str]:
    """The order as floats (seconds for timestamps) and its kind; None for the row order."""
    if not spec.order:
        return None, ORDER_ROWS
    s = df[spec.order]
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        t = s
    elif pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        return s.to_numpy(dtype=np.float64, na_value=np.nan), ORDER_NUMBER
    else:
        t = pd.to_datetime(s, errors="coerce", format="mixed")
        bad = t.isna() & s.notna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(tr("The order column holds {value!r}, neither a number nor a time.", value=s.iloc[row]),
                            row=row + 1, column=spec.order,
                            hint=tr("Pick a cycle counter or a timestamp column as the order, or none (row order)."))
    if getattr(t.dt, "tz", None) is not None:
        t = t.dt.tz_convert("UTC").dt.tz_localize(None)
    values = (t - pd.Timestamp("1970-01-01")) / pd.Timedelta(seconds=1)
    return values.to_numpy(dtype=np.float64, na_value=np.nan), ORDER_TIME


def check_history(df: pd.DataFrame, spec: HistorySpec, scoring: bool = False) -> HistoryCheck:
    """Check the spec against the data; sets ``spec.order_kind``. Never raises for data problems:
    each is an :class:`MfgError` in ``errors`` naming the column, entity and row (counted from 1).

    ``scoring``: new files to score, where a history shorter than every window is no error (it is
    scored with what it has, and flagged)."""
    spec.check()
    result = HistoryCheck()
    for role, column in (("entity", spec.entity), ("order", spec.order)):
        if column and column not in df.columns:
            result.errors.append(DataError(
                tr("The entity column is not in the data.") if role == "entity" else
                tr("The order column is not in the data."), column=column,
                hint=tr("Pick one of: {columns}.", columns=", ".join(map(str, df.columns[:12])))))
    if result.errors or len(df) == 0:
        return result
    if spec.entity:
        s = df[spec.entity]
        if s.isna().any():
            row = int(np.flatnonzero(s.isna().to_numpy())[0])
            result.errors.append(DataError(
                tr("{n} rows have no entity id; each row must belong to one entity.", n=int(s.isna().sum())),
                row=row + 1, column=spec.entity, hint=tr("Fill in the ids, or remove those rows.")))
            return result
        distinct = int(s.nunique())
        if len(df) > 1 and distinct == len(df):
            result.errors.append(DataError(
                tr("The entity column has a different value on every row ({n:,} values): each entity would "
                   "be one row, with no history to learn from.", n=distinct), column=spec.entity,
                hint=tr("Pick the machine/unit/batch column whose value repeats along each history.")))
    keys = _entity_keys(df, spec)
    try:
        order, kind = _order_values(df, spec)
    except DataError as exc:
        result.errors.append(exc)
        return result
    spec.order_kind = kind
    if order is not None:
        missing = np.isnan(order)
        if missing.any():
            row = int(np.flatnonzero(missing)[0])
            result.errors.append(DataError(tr("{n} rows have no order value.", n=int(missing.sum())), row=row + 1,
                                           column=spec.order, hint=tr("Fill them in, or use the row order.")))
            return result
        # within each entity, in file order: a step back means the rows are out of order
        step = pd.Series(order).groupby(keys, sort=False).diff().to_numpy()
        back = np.flatnonzero(step < 0)
        if len(back):
            row = int(back[0])
            entity = df[spec.entity].iloc[row] if spec.entity else "(the only one)"
            result.errors.append(DataError(
                tr("The order goes backwards within entity {entity!r}: {value!r} after {previous!r} "
                   "({n:,} such step(s) in all).", entity=_plain(entity), value=_plain(df[spec.order].iloc[row]),
                   previous=_plain(df[spec.order].iloc[row - 1]), n=len(back)),
                row=row + 1, column=spec.order,
                hint=tr("Sort the file by entity and order, or check the order column.")))
    if result.errors:
        return result
    if order is None or kind != ORDER_TIME or spec.resample:
        lengths = np.bincount(keys).astype(np.float64)
    else:
        frame = pd.DataFrame({"k": keys, "t": order})
        span = frame.groupby("k")["t"].agg(["min", "max"])
        lengths = (span["max"] - span["min"]).to_numpy()
    result.n_entities = int(keys.max()) + 1 if len(keys) else 0
    result.longest, result.shortest = float(lengths.max()), float(lengths.min())
    if spec.windows != "none" and spec.sizes:
        seconds = kind == ORDER_TIME and not spec.resample
        longest = _number_text(result.longest)
        too_long = [w for w in spec.sizes if w > result.longest]
        if too_long and not scoring:
            windows = ", ".join(map(str, too_long))
            result.errors.append(DataError(
                tr("The window(s) {windows} are longer than every entity's history (the longest has {n} seconds).",
                   windows=windows, n=longest) if seconds else
                tr("The window(s) {windows} are longer than every entity's history (the longest has {n} rows).",
                   windows=windows, n=longest),
                column=spec.entity,
                hint=tr("Choose windows of at most {n} seconds.", n=longest) if seconds else
                tr("Choose windows of at most {n} rows.", n=longest)))
        elif max(spec.sizes) > result.shortest:
            short = int((lengths < max(spec.sizes)).sum())
            result.warnings.append(
                (tr("{short} of {n} entities are shorter than the {w}-second window; their windows cover the rows "
                    "they have.") if seconds else
                 tr("{short} of {n} entities are shorter than the {w}-row window; their windows cover the rows they "
                    "have.")).format(short=short, n=result.n_entities, w=max(spec.sizes)))
    return result


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


# --------------------------------------------------------------------------------------------
# resampling


def resample_step(text: str) -> pd.Timedelta:
    """The step of a resample setting ("10s", "1min", "2h"), refused with a message when it is none."""
    try:
        step = pd.Timedelta(str(text).strip())
    except (ValueError, TypeError):
        step = pd.NaT
    if pd.isna(step) or step <= pd.Timedelta(0):
        raise MfgError(tr("{step} is not a time step to resample to.", step=repr(text)),
                       hint=tr('Give a step such as "10s", "1min" or "1h".'))
    return step


def resample_history(df: pd.DataFrame, spec: HistorySpec) -> pd.DataFrame:
    """``df`` on a fixed time step per entity (``spec.resample``); ``df`` itself when not asked.

    Every entity gets one row per step from its first to its last reading (steps aligned to
    midnight, so entities share a grid); a row at time t holds the readings in (t - step, t]:
    numbers averaged, other columns their last value. Empty steps: a run of at most
    ``spec.max_gap`` of them is forward-filled, a longer run is left missing and flagged in
    :data:`GAP_COLUMN`. The order column then holds the step times (timestamps).
    """
    if not spec.resample:
        return df
    step = resample_step(spec.resample)
    check_history(df, HistorySpec(entity=spec.entity, order=spec.order, windows="none"), scoring=True).raise_first()
    order, kind = _order_values(df, spec)
    if kind != ORDER_TIME:
        raise DataError(tr("Resampling needs timestamps in the order column; it holds numbers."), column=spec.order,
                        hint=tr("Resample by a timestamp column, or leave resampling off for a cycle counter."))
    if GAP_COLUMN in df.columns:
        raise DataError(tr("The data already has a column {column}, which resampling adds.", column=repr(GAP_COLUMN)),
                        column=GAP_COLUMN, hint=tr("Rename that column."))
    keys = _entity_keys(df, spec)
    values = [c for c in df.columns if c not in (spec.entity, spec.order)]
    numeric = [c for c in values if pd.api.types.is_numeric_dtype(df[c].dtype)
               and not pd.api.types.is_bool_dtype(df[c].dtype)]
    work = df[values].copy()
    work["__key"], work["__time"], work["__n"] = keys, pd.to_datetime(order, unit="s"), 1
    how = {c: ("mean" if c in numeric else "last") for c in values} | {"__n": "sum"}
    binned = (work.groupby("__key", sort=False).resample(step, on="__time", label="right", closed="right")
              .agg(how))
    empty = binned["__n"].to_numpy() == 0
    key_of_row = binned.index.get_level_values(0).to_numpy()
    # length of the run of empty steps each empty step belongs to (per entity)
    run_start = np.r_[True, (empty[1:] != empty[:-1]) | (key_of_row[1:] != key_of_row[:-1])]
    run_id = np.cumsum(run_start) - 1
    run_length = np.bincount(run_id)[run_id]
    fill = empty & (run_length <= int(spec.max_gap))
    gap = empty & ~fill
    out = binned[values].copy()
    filled = out.groupby(key_of_row, sort=False).ffill()
    out.loc[fill, values] = filled.loc[fill, values]  # only the short gaps take the last reading
    out = out.reset_index()
    firsts = np.unique(keys, return_index=True)[1]
    if spec.entity:
        out.insert(0, spec.entity, df[spec.entity].to_numpy()[firsts][out["__key"].to_numpy()])
    out[spec.order] = out["__time"]
    out[GAP_COLUMN] = gap
    columns = [c for c in df.columns] + [GAP_COLUMN]
    return out[columns].reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# labels


def _sorted_positions(keys: np.ndarray, order: np.ndarray | None) -> np.ndarray:
    """Row positions sorted by entity, then order, then file position (stable)."""
    if order is None:
        return np.argsort(keys, kind="stable")
    return np.lexsort((np.arange(len(keys)), order, keys))


def build_label(df: pd.DataFrame, spec: HistorySpec) -> pd.Series | None:
    """The label column the spec asks for (aligned with ``df``), or None for ``label == "none"``.

    RUL: rows until the entity's last row (row order), order units until its last order value
    (a cycle counter), or hours until its last timestamp; capped (piecewise-linear) at ``rul_cap``.
    Fails within N: 1 where that remaining life is at most N, else 0. Each entity is taken to run
    until it failed (a run-to-failure history).
    """
    if spec.label == "none":
        return None
    check_history(df, spec).raise_first()
    keys = _entity_keys(df, spec)
    order, kind = _order_values(df, spec)
    if order is None:
        order = pd.Series(np.ones(len(df))).groupby(keys).cumsum().to_numpy() - 1.0
    last = pd.Series(order).groupby(keys).transform("max").to_numpy()
    remaining = last - order
    if kind == ORDER_TIME:
        remaining = remaining / 3600.0
    if spec.label == "rul":
        if spec.rul_cap is not None:
            remaining = np.minimum(remaining, float(spec.rul_cap))
        return pd.Series(remaining, index=df.index, name=spec.label_column)
    within = (remaining <= float(spec.fails_within)).astype(np.int64)
    return pd.Series(within, index=df.index, name=spec.label_column)


# --------------------------------------------------------------------------------------------
# joining a label / lookup table


@dataclass
class JoinReport:
    """How a table joined the history: matched keys, and unmatched ones per file (rows kept)."""

    matched_keys: int = 0
    unmatched: dict[str, int] = field(default_factory=dict)  # history key -> rows without a table row
    unused_table_keys: list[str] = field(default_factory=list)
    added_columns: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [tr("joined {n} key(s); added {columns}", n=self.matched_keys, columns=", ".join(self.added_columns))]
        for key, rows in self.unmatched.items():
            out.append(tr("no table row for {key}: its {rows:,} rows are kept without those values", key=key,
                          rows=rows))
        if self.unused_table_keys:
            shown = ", ".join(self.unused_table_keys[:10]) + (" ..." if len(self.unused_table_keys) > 10 else "")
            out.append(tr("{n} table key(s) match no history: {keys}", n=len(self.unused_table_keys), keys=shown))
        return out


def file_key_candidates(name: str) -> tuple[str, int | None]:
    """A file name's stem and the number in it (``experiment_07.csv`` -> ("experiment_07", 7))."""
    stem = Path(str(name)).stem
    numbers = _NUMBER_IN_NAME.findall(stem)
    return stem, (int(numbers[-1]) if numbers else None)


def _key_text(v: Any) -> str:
    if isinstance(v, float | np.floating) and float(v).is_integer():
        return str(int(v))
    return str(_plain(v)).strip()


def join_table(df: pd.DataFrame, table: pd.DataFrame, history_key: str, table_key: str,
               table_name: str = "the table") -> tuple[pd.DataFrame, JoinReport]:
    """Left-join ``table`` onto the history rows; every history row is kept, in its place.

    ``history_key`` is a column of ``df``; when it is ``source_file`` the table's key matches the
    file name's stem or the number in it (experiment_07.csv <-> 7 or "experiment_07"). Keys are
    compared as text (1 and 1.0 are one key). A table with a key twice is refused; table columns
    named like history columns are refused too (which value would win?).
    """
    if history_key not in df.columns:
        raise DataError(tr("The join key is not a column of the history data."), column=history_key,
                        hint=tr("Use one of: {columns}.", columns=", ".join(map(str, df.columns[:12]))))
    if table_key not in table.columns:
        raise DataError(tr("The join key is not a column of the table."), file=table_name, column=table_key,
                        hint=tr("Use one of: {columns}.", columns=", ".join(map(str, table.columns[:12]))))
    keys = table[table_key]
    if keys.isna().any():
        row = int(np.flatnonzero(keys.isna().to_numpy())[0])
        raise DataError(tr("The table's key is empty on a row."), file=table_name, row=row + 1, column=table_key,
                        hint=tr("Fill in the key or remove the row."))
    texts = keys.map(_key_text)
    dup = texts[texts.duplicated(keep=False)]
    if len(dup):
        first = int(np.flatnonzero(texts.duplicated().to_numpy())[0])
        raise DataError(tr("The table has the key {key!r} on more than one row ({n} duplicated key(s)); which row "
                           "applies is unclear.", key=dup.iloc[0], n=dup.nunique()),
                        file=table_name, row=first + 1, column=table_key,
                        hint=tr("Keep one row per key in the table."))
    clash = [c for c in table.columns if c != table_key and c in df.columns]
    if clash:
        raise DataError(tr("The table's column {column!r} is also a column of the history data.", column=clash[0]),
                        file=table_name, column=str(clash[0]), hint=tr("Rename it in one of the two files."))
    lookup = {t: i for i, t in enumerate(texts)}
    values = df[history_key]
    uniques, codes = np.unique(values.map(_key_text).to_numpy(dtype=object), return_inverse=True)
    position = np.full(len(uniques), -1, dtype=np.int64)
    for i, u in enumerate(uniques):
        if u in lookup:
            position[i] = lookup[u]
        elif history_key == SOURCE_FILE:
            stem, number = file_key_candidates(u)
            for candidate in (stem, None if number is None else str(number)):
                if candidate is not None and candidate in lookup:
                    position[i] = lookup[candidate]
                    break
    row_pos = position[codes]
    added = [c for c in table.columns if c != table_key]
    # reindexing by position: -1 (no table row) gives missing values, the history row stays
    picked = table[added].reset_index(drop=True).reindex(pd.Index(row_pos))
    picked.index = df.index
    joined = pd.concat([df, picked], axis=1)
    report = JoinReport(matched_keys=int((position >= 0).sum()), added_columns=list(map(str, added)))
    for i in np.flatnonzero(position < 0):
        report.unmatched[str(uniques[i])] = int((codes == i).sum())
    used = set(position[position >= 0].tolist())
    report.unused_table_keys = [texts.iloc[i] for i in range(len(texts)) if i not in used]
    return joined, report


# --------------------------------------------------------------------------------------------
# window features


@dataclass
class HistoryFeatures:
    """The frame with the window features added (rows in their original places) and what was added."""

    frame: pd.DataFrame
    feature_columns: list[str]
    rows_seen: np.ndarray  # per row: rows of its entity up to and including it
    short: np.ndarray  # per row: its entity's history so far is shorter than the longest window


class EntityWindow(BaseIndexer):
    """pandas rolling bounds: the last ``window_size`` rows up to each row, never reaching back
    into the previous entity (rows sorted by entity, ``entity_start`` = each row's first row).

    The same windows as ``groupby(entity).rolling(W)``, computed once with numpy for all rows
    instead of per group and per column in Python, which made grouped rolling 1.6x slower than
    this on 1,000 entities (tests/benchmarks/bench_history.py)."""

    def get_window_bounds(self, num_values: int = 0, min_periods: int | None = None, center: bool | None = None,
                          closed: str | None = None, step: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        cached = getattr(self, "_bounds", None)
        if cached is None or len(cached[0]) != num_values:
            end = np.arange(1, num_values + 1, dtype=np.int64)
            start = np.maximum(end - int(self.window_size), np.asarray(self.entity_start, dtype=np.int64))
            cached = self._bounds = (start, end)
        return cached


def feature_names(spec: HistorySpec) -> list[str]:
    """The window feature columns the spec adds, in order."""
    unit = "s" if spec.windows_in_seconds else ""
    names = []
    for col in spec.inputs:
        for lag in LAGS[spec.windows]:
            names.append(f"{col} lag{lag}")
        for w in spec.sizes if spec.windows != "none" else ():
            for stat in WINDOW_STATS[spec.windows]:
                names.append(f"{col} {stat}{w}{unit}")
        if spec.windows != "none":
            names.append(f"{col} change")
    return names


def build_features(df: pd.DataFrame, spec: HistorySpec, scoring: bool = False) -> HistoryFeatures:
    """Add the spec's causal window features to ``df`` (a copy); rows stay in their order.

    Rolling mean/std/min/max come from pandas' rolling windows over the last W rows of the entity
    (or its last W seconds: a row exactly W seconds back is outside); the slope
    is the least-squares slope over the same window, from grouped rolling means of t, t² and t·x
    (t: rows since the entity's start, or seconds); std is the population std (0 for one row).
    """
    check_history(df, spec, scoring=scoring).raise_first()
    missing = [c for c in spec.inputs if c not in df.columns]
    if missing:
        raise DataError(tr("The history input column(s) {columns} are not in the data.",
                           columns=", ".join(map(repr, missing))),
                        column=missing[0], hint=tr("Load files with the columns the history was set up with."))
    keys = _entity_keys(df, spec)
    order, kind = _order_values(df, spec)
    sort = _sorted_positions(keys, order)
    sorted_keys = keys[sort]
    n = len(df)
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_keys)) + 1] if n else np.zeros(0, dtype=np.int64)
    start_of_row = np.repeat(starts, np.diff(np.r_[starts, n])) if n else np.zeros(0, dtype=np.int64)
    rows_seen_sorted = np.arange(n) - start_of_row + 1
    time_windows = kind == ORDER_TIME and not spec.resample  # resampled: one row per step, windows of rows
    t = (order[sort] - order[sort][start_of_row]) if time_windows else (rows_seen_sorted - 1).astype(np.float64)

    values = np.asfortranarray(df[spec.inputs].to_numpy(dtype=np.float64, na_value=np.nan)[sort]) \
        if spec.inputs else np.zeros((n, 0))
    blocks: list[np.ndarray] = []
    stats = WINDOW_STATS[spec.windows]
    for lag in LAGS[spec.windows]:
        source = np.maximum(np.arange(n) - lag, start_of_row)  # before the start: the first row's value
        blocks.append(values[source])
    rolled: dict[tuple[int, str], np.ndarray] = {}
    if stats:
        index = pd.to_datetime(t, unit="s") if time_windows else None
        frame = pd.DataFrame(values, index=index)
        extra = pd.DataFrame({"t": t, "tt": t * t}, index=index)
        # centred on the entity's first value: a constant input then has a slope of exactly 0
        # instead of float noise, and E[tx] - E[t]E[x] does not cancel large numbers
        centred = values - values[start_of_row]
        tx = pd.DataFrame(centred * t[:, None], index=index)
        for w in spec.sizes:
            if time_windows:
                def roll(x: pd.DataFrame, _w: str = f"{w}s") -> Any:
                    return x.groupby(sorted_keys, sort=False).rolling(_w, min_periods=1)
            else:
                bounds = EntityWindow(window_size=w, entity_start=start_of_row)

                def roll(x: pd.DataFrame, _b: EntityWindow = bounds) -> Any:
                    return x.rolling(_b, min_periods=1)
            grouped = roll(frame)
            for stat in stats:
                if stat == "slope":
                    continue
                if stat == "std":
                    out = grouped.std(ddof=0)
                else:
                    out = getattr(grouped, stat)()
                rolled[(w, stat)] = out.to_numpy()
            if "slope" in stats:
                mean_x = (rolled[(w, "mean")] if (w, "mean") in rolled else grouped.mean().to_numpy()) \
                    - values[start_of_row]
                mean_t = roll(extra).mean().to_numpy()
                mean_tx = roll(tx).mean().to_numpy()
                var_t = mean_t[:, 1] - mean_t[:, 0] ** 2
                cov = mean_tx - mean_t[:, :1] * mean_x
                with np.errstate(invalid="ignore", divide="ignore"):
                    slope = np.where(var_t[:, None] > 1e-12, cov / var_t[:, None], 0.0)
                rolled[(w, "slope")] = slope
    # blocks of (rows, inputs) in feature_names order: lags, window stats, change
    for w in spec.sizes if stats else ():
        for stat in stats:
            blocks.append(rolled[(w, stat)])  # population std: 0 for one row, not unknown
    if spec.windows != "none":
        blocks.append(values - values[start_of_row])
    names = feature_names(spec)
    in_order = bool(np.array_equal(sort, np.arange(n)))  # the usual case: the file is sorted already
    unsorted = np.empty(n, dtype=np.int64)
    unsorted[sort] = np.arange(n)
    out = df
    if blocks:
        clash = [c for c in names if c in df.columns]
        if clash:
            raise DataError(tr("The data already has a column named like a window feature ({column!r}).",
                               column=clash[0]),
                            column=clash[0], hint=tr("Rename that column, or switch the windows off."))
        # one contiguous array per feature column (pandas' rolling results are column-major
        # already): the DataFrame then copies each column once, no transposing of a big matrix
        columns: dict[str, np.ndarray] = {}
        k = 0
        for j in range(len(spec.inputs)):
            for block in blocks:
                column = block[:, j]
                columns[names[k]] = column if in_order else column[unsorted]
                k += 1
        out = pd.concat([df, pd.DataFrame(columns, index=df.index)], axis=1)
    else:
        out = df.copy()
    rows_seen = rows_seen_sorted[unsorted]
    longest = max(spec.sizes) if spec.windows != "none" and spec.sizes else 0
    # seconds covered so far for a timestamp order, else rows seen
    covered = t[unsorted] if time_windows else rows_seen
    short = covered < longest
    return HistoryFeatures(frame=out, feature_columns=names, rows_seen=rows_seen, short=short)


# The sequence network's windows are held in memory as float32 (rows x W x inputs): refuse what
# would take more than this instead of exhausting the PC's memory.
MAX_SEQUENCE_VALUES = 250_000_000  # 1 GB


def sequence_positions(df: pd.DataFrame, spec: HistorySpec, length: int) -> np.ndarray:
    """Per row of ``df``: the positions of its entity's last ``length`` rows up to and including
    it (by order, then file position), oldest first and right-aligned; -1 before the entity's
    first row (padding). Only earlier rows of the same entity, never later ones: causal."""
    check_history(df, spec, scoring=True).raise_first()
    keys = _entity_keys(df, spec)
    order, _ = _order_values(df, spec)
    sort = _sorted_positions(keys, order)
    n, length = len(df), int(length)
    sorted_keys = keys[sort]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_keys)) + 1] if n else np.zeros(0, dtype=np.int64)
    start_of_row = np.repeat(starts, np.diff(np.r_[starts, n])) if n else np.zeros(0, dtype=np.int64)
    # in sorted order: row i's window is sorted rows i-length+1 .. i, cut at its entity's start
    back = np.arange(n)[:, None] + np.arange(1 - length, 1)[None, :]
    inside = back >= start_of_row[:, None]
    windows = np.where(inside, sort[np.clip(back, 0, None)] if n else back, -1)
    out = np.empty_like(windows)
    out[sort] = windows  # back to the rows' own places
    return out


def sequence_windows(x: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """The sequence network's input: (rows, W, F + 1) float32 from the recipe's matrix ``x``
    (rows, F) and :func:`sequence_positions`; padding steps are 0 with presence 0, the others
    carry their row's features and presence 1."""
    n, length = positions.shape
    width = x.shape[1] + 1
    if n * length * width > MAX_SEQUENCE_VALUES:
        raise MfgError(tr("The sequence network's windows of {rows:,} rows x {steps} steps x {values} values would "
                          "need {gb:.1f} GB of memory.", rows=n, steps=length, values=width,
                          gb=n * length * width * 4 / 1e9),
                       hint=tr("Use a shorter sequence, fewer inputs or rows, or the window-feature network."))
    out = np.zeros((n, length, width), dtype=np.float32)
    present = positions >= 0
    out[..., :-1] = np.where(present[..., None], x[np.clip(positions, 0, None)], 0.0)
    out[..., -1] = present
    return out


def prepare_history(df: pd.DataFrame, spec: HistorySpec) -> HistoryFeatures:
    """Check, build the label (when asked) and the window features: what training and scoring use."""
    result = check_history(df, spec)
    result.raise_first()
    label = build_label(df, spec)
    features = build_features(df, spec)
    if label is not None:
        features.frame[label.name] = label.to_numpy()
    return features


# --------------------------------------------------------------------------------------------
# training set-up


@dataclass
class HistoryTraining:
    """What training on histories needs: the frame with label and features, the target, the columns
    that are never inputs by default, the default split, and what the user should read."""

    frame: pd.DataFrame
    target: str
    spec: HistorySpec
    not_inputs: list[str]
    split_text: str
    warnings: list[str] = field(default_factory=list)


def default_split_text(spec: HistorySpec) -> str:
    """By entity when there are entities (test entities never seen in training); by order for one
    history; else random."""
    if spec.entity:
        return f"group:{spec.entity}"
    if spec.order:
        return f"time:{spec.order}"
    return "random"


def prepare_training(df: pd.DataFrame, spec: HistorySpec, target: str | None = None,
                     exclude: Sequence[str] = ()) -> HistoryTraining:
    """Check the histories, build the label (or use ``target``) and the window features.

    ``spec.inputs`` empty: every numeric column but the entity, order, source file, target and
    ``exclude`` is windowed. The returned ``not_inputs`` lists the entity, order and source-file
    columns; give them to the recipe as excluded unless the user wants them on purpose.
    """
    if spec.label != "none" and target is not None and target != spec.label_column:
        raise MfgError(tr("Both a target ({target!r}) and a built label ({label}) were asked for; give one.",
                          target=target, label=spec.label))
    df = resample_history(df, spec)
    target = target or spec.label_column
    if target is None:
        raise MfgError(tr("No target: name a target column, or build one (remaining life or fails within N)."))
    if spec.label == "none" and target not in df.columns:
        raise DataError(tr("The target column is not in the data."), column=target,
                        hint=tr("Pick one of the data's columns, or build a remaining-life label."))
    check = check_history(df, spec)
    check.raise_first()
    if not spec.inputs:
        spec.inputs = default_inputs(df, spec, exclude=[*exclude, target])
    if spec.windows != "none" and not spec.inputs:
        raise MfgError(tr("No numeric input columns to build window features from."),
                       hint=tr("Load sensor columns, or switch the windows off."))
    features = prepare_history(df, spec)
    not_inputs = [c for c in spec.context_columns if c in features.frame.columns]
    warnings = list(check.warnings)
    return HistoryTraining(frame=features.frame, target=target, spec=spec, not_inputs=not_inputs,
                           split_text=default_split_text(spec), warnings=warnings)


def history_frame(spec_dict: Mapping[str, Any], df: pd.DataFrame,
                  data_files: Sequence[str | Path] = ()) -> pd.DataFrame:
    """A loaded table as a history model sees it: the stored spec's label (when it builds one) and
    window features added, as in training (``source_file`` added for a single file when the
    entity is the file). For evaluating a history model on labelled history files."""
    spec = HistorySpec.from_dict(spec_dict)
    if spec.entity == SOURCE_FILE and SOURCE_FILE not in df.columns and len(data_files) == 1:
        df = df.copy()
        df.insert(0, SOURCE_FILE, Path(data_files[0]).name)
    df = resample_history(df, spec)
    features = build_features(df, spec, scoring=True)
    label = build_label(df, spec)
    if label is not None:
        features.frame[label.name] = label.to_numpy()
    return features.frame
