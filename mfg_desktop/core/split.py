"""Which rows train, which validate (early stopping) and which test the model.

Three ways, because a random split silently leaks in the two most common factory setups:

* ``random``: shuffled; stratified by class for classification so a rare defect class is in
  every part.
* ``time``: ordered by a time column; the earliest rows train, then validation, then test, so no
  future row is ever in training. Rows sharing the boundary time all go to the later part.
* ``group``: by a column such as machine or batch id; each id lands in exactly one part, so the
  test measures how the model does on a machine/batch it has never seen.

Rows without a target value (and, for a time split, without a time) take part in no part; the
:class:`Split` lists them in ``excluded`` with a note for the user.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mfg_desktop.core.errors import TrainingError
from mfg_desktop.core.i18n import N_, tr, trn
from mfg_desktop.core.task import REGRESSION

METHODS = ("random", "time", "group")
PART_NAMES = (N_("training"), N_("validation"), N_("test"))  # shown in messages: tr(name)
MIN_TRAIN_ROWS = 10


@dataclass
class SplitSpec:
    """How to split: method, its column, the three shares (summing to 1) and the random seed."""

    method: str = "random"
    column: str | None = None
    train: float = 0.7
    valid: float = 0.15
    test: float = 0.15
    seed: int = 0
    stratify: bool = True  # random split of a classification target only

    def check(self) -> None:
        if self.method not in METHODS:
            raise TrainingError(tr("Unknown split {split!r}; use random, time:COLUMN or group:COLUMN.",
                                   split=self.method))
        if self.method in ("time", "group") and not self.column:
            # TRANSLATORS: {method} is the command-line word time or group
            raise TrainingError(tr("A {method} split needs a column, e.g. {method}:machine_id.", method=self.method))
        shares = (self.train, self.valid, self.test)
        if any(not np.isfinite(s) or s < 0 for s in shares) or self.train <= 0:
            raise TrainingError(
                tr("Split shares must be positive numbers (train {train}, validation {valid}, test {test}).",
                   train=self.train, valid=self.valid, test=self.test),
                hint=tr("E.g. 0.7 / 0.15 / 0.15."),
            )
        if abs(sum(shares) - 1.0) > 1e-6:
            raise TrainingError(
                tr("Split shares add up to {total:.3g}, not 1 (train {train}, validation {valid}, test {test}).",
                   total=sum(shares), train=self.train, valid=self.valid, test=self.test),
                hint=tr("E.g. 0.7 / 0.15 / 0.15."),
            )

    @property
    def text(self) -> str:
        """The command-line form: ``random``, ``time:COL`` or ``group:COL``."""
        if self.method == "random":
            return "random" if self.stratify else "random:unstratified"
        return f"{self.method}:{self.column}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SplitSpec:
        try:
            spec = cls(
                method=str(d.get("method", "random")),
                column=None if d.get("column") is None else str(d["column"]),
                train=float(d.get("train", 0.7)),
                valid=float(d.get("valid", 0.15)),
                test=float(d.get("test", 0.15)),
                seed=int(d.get("seed", 0)),
                stratify=bool(d.get("stratify", True)),
            )
        except (TypeError, ValueError) as exc:
            raise TrainingError(tr("The stored split settings are malformed ({error}).", error=exc)) from exc
        spec.check()
        return spec

    @classmethod
    def parse(cls, text: str, **kwargs: Any) -> SplitSpec:
        """``random`` | ``random:unstratified`` | ``time:COL`` | ``group:COL`` (COL may contain ':')."""
        method, _, column = text.strip().partition(":")
        method = method.strip().lower()
        column = column.strip()
        if method == "random":
            if column and column.lower() not in ("unstratified", "plain"):
                raise TrainingError(
                    tr("Unknown random split option {option!r}; use random or random:unstratified.", option=column)
                )
            spec = cls(method="random", stratify=not column, **kwargs)
        elif method in ("time", "group"):
            if not column:
                # TRANSLATORS: {method} is the command-line word time or group; COLUMN stays as it is
                raise TrainingError(tr("A {method} split needs a column: {method}:COLUMN.", method=method))
            spec = cls(method=method, column=column, **kwargs)
        else:
            raise TrainingError(tr("Unknown split {split!r}; use random, time:COLUMN or group:COLUMN.", split=text))
        spec.check()
        return spec


@dataclass
class Split:
    """Row positions (into the frame given to :func:`make_split`) of each part, in ascending order."""

    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray
    excluded: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    notes: list[str] = field(default_factory=list)

    @property
    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "valid": len(self.valid), "test": len(self.test)}


def _part_sizes(n: int, spec: SplitSpec) -> tuple[int, int, int]:
    """Rows per part; every part with a share gets at least one row, training the rest."""
    n_test = max(1, round(n * spec.test)) if spec.test > 0 else 0
    n_valid = max(1, round(n * spec.valid)) if spec.valid > 0 else 0
    n_train = n - n_valid - n_test
    if n_train < MIN_TRAIN_ROWS:
        need = MIN_TRAIN_ROWS + (1 if spec.valid > 0 else 0) + (1 if spec.test > 0 else 0)
        need = max(need, int(np.ceil(MIN_TRAIN_ROWS / spec.train)))
        raise TrainingError(
            tr("Too few rows for this split: {n} usable rows give {n_train} training rows; at least "
               "{minimum} are needed (about {need} rows in all with these shares).",
               n=n, n_train=max(n_train, 0), minimum=MIN_TRAIN_ROWS, need=need),
            hint=tr("Load more data, or give training a larger share."),
        )
    return n_train, n_valid, n_test


def _labels(y: pd.Series) -> np.ndarray:
    return y.astype(str).to_numpy() if not pd.api.types.is_numeric_dtype(y.dtype) else y.to_numpy()


def make_split(df: pd.DataFrame, y: pd.Series, spec: SplitSpec, task: str) -> Split:
    """Split the rows of ``df`` (with target ``y``, aligned by position) as ``spec`` says.

    Raises :class:`TrainingError` when the split cannot work: too few rows, a class too small to
    stratify, fewer groups than parts, a missing or unreadable split column.
    """
    spec.check()
    if len(y) != len(df):
        raise ValueError("y must have one value per row of df")
    notes: list[str] = []
    has_target = ~pd.isna(np.asarray(y, dtype=object)) if len(y) else np.zeros(0, dtype=bool)
    usable = has_target.copy()
    if (~has_target).any():
        notes.append(trn("{n} row without a target value is left out.",
                         "{n} rows without a target value are left out.", int((~has_target).sum())))
    if spec.method == "random":
        train, valid, test = _random(np.flatnonzero(usable), y, spec, task)
    elif spec.method == "time":
        times, time_ok = _time_values(df, spec.column)
        if (usable & ~time_ok).any():
            notes.append(trn("{n} row without a time in {column!r} is left out.",
                             "{n} rows without a time in {column!r} are left out.",
                             int((usable & ~time_ok).sum()), column=spec.column))
        usable &= time_ok
        train, valid, test = _by_time(np.flatnonzero(usable), times, spec)
    else:
        train, valid, test = _by_group(np.flatnonzero(usable), df, spec, y if task != REGRESSION else None, notes)
    split = Split(
        train=np.sort(train).astype(np.int64),
        valid=np.sort(valid).astype(np.int64),
        test=np.sort(test).astype(np.int64),
        excluded=np.flatnonzero(~usable).astype(np.int64),
        notes=notes,
    )
    if task != REGRESSION:
        _check_train_classes(split, y, spec)
    return split


def _random(rows: np.ndarray, y: pd.Series, spec: SplitSpec, task: str) -> tuple[np.ndarray, ...]:
    from sklearn.model_selection import train_test_split

    n_train, n_valid, n_test = _part_sizes(len(rows), spec)
    stratify = spec.stratify and task != REGRESSION
    labels = _labels(y.iloc[rows]) if stratify else None
    if stratify:
        _check_stratifiable(labels, (n_train, n_valid, n_test), y)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rest, test = (
                (rows, rows[:0])
                if n_test == 0
                else train_test_split(
                    rows, test_size=n_test, random_state=spec.seed, shuffle=True, stratify=labels
                )
            )
            rest_labels = _labels(y.iloc[rest]) if stratify else None
            train, valid = (
                (rest, rest[:0])
                if n_valid == 0
                else train_test_split(
                    rest, test_size=n_valid, random_state=spec.seed + 1, shuffle=True, stratify=rest_labels
                )
            )
    except ValueError as exc:  # sklearn's own limits, should the checks above have missed one
        raise TrainingError(
            tr("The stratified split failed: {error}", error=exc),
            hint=tr("Use an unstratified random split, or merge rare classes."),
        ) from exc
    return train, valid, test


def _check_stratifiable(labels: np.ndarray, sizes: tuple[int, int, int], y: pd.Series) -> None:
    values, counts = np.unique(labels, return_counts=True)
    n_parts = sum(1 for s in sizes if s > 0)
    name = str(y.name) if y.name is not None else "target"
    small = [(v, c) for v, c in zip(values, counts, strict=True) if c < n_parts]
    if small:
        shown = tr(", ").join(trn("{value!r} has {n} row", "{value!r} has {n} rows", int(c), value=v)
                              for v, c in small[:5])
        raise TrainingError(
            tr("A class is too small for a stratified split into {parts} parts: {classes}; each class needs "
               "at least {parts} rows.", parts=n_parts, classes=shown),
            column=name,
            hint=tr("Merge the rare class with a similar one, drop its rows, or use an unstratified random split."),
        )
    for part, size in zip(PART_NAMES, sizes, strict=True):
        if 0 < size < len(values):
            raise TrainingError(
                tr("The {part} part would have {size} rows, fewer than the {classes} classes, "
                   "so a stratified split cannot give every class a row there.",
                   part=tr(part), size=size, classes=len(values)),
                column=name,
                hint=tr("Give the {part} part a larger share, load more rows, or use an unstratified random split.",
                        part=tr(part)),
            )


def _time_values(df: pd.DataFrame, column: str | None) -> tuple[np.ndarray, np.ndarray]:
    """Sortable numbers for the time column, and which rows have one."""
    if column not in df.columns:
        raise TrainingError(
            tr("The time column {column!r} is not in the data.", column=column),
            column=column,
            hint=tr("Pick one of the data's columns for the ordered split."),
        )
    s = df[column]
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        t = s
    elif pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        values = s.to_numpy(dtype=np.float64, na_value=np.nan)
        return values, np.isfinite(values)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            t = pd.to_datetime(s, errors="coerce")
            if t.isna().sum() > s.isna().sum():
                t = pd.to_datetime(s, errors="coerce", format="mixed")
        unreadable = int(t.isna().sum() - s.isna().sum())
        if s.notna().any() and unreadable > 0.5 * s.notna().sum():
            example = s[t.isna() & s.notna()].iloc[0]
            raise TrainingError(
                tr("The column {column!r} does not hold times or numbers (e.g. {example!r}), so rows cannot be "
                   "ordered by it.", column=column, example=example),
                column=column,
                hint=tr("Pick a date/time or counter column for the ordered split."),
            )
    if getattr(t.dt, "tz", None) is not None:
        t = t.dt.tz_convert("UTC").dt.tz_localize(None)
    ok = t.notna().to_numpy()
    values = np.full(len(t), np.nan)
    if ok.any():
        values[ok] = ((t[ok] - t[ok].min()) / pd.Timedelta(microseconds=1)).to_numpy(dtype=np.float64)
    return values, ok


def _by_time(rows: np.ndarray, times: np.ndarray, spec: SplitSpec) -> tuple[np.ndarray, ...]:
    n_train, n_valid, n_test = _part_sizes(len(rows), spec)
    order = rows[np.argsort(times[rows], kind="stable")]
    t = times[order]
    # A boundary falls before the first row of the later part; rows sharing its time move later.
    valid_start = n_train
    test_start = n_train + n_valid
    if n_test:
        test_start = int(np.searchsorted(t, t[test_start], side="left"))
    if n_valid:
        valid_start = int(np.searchsorted(t, t[min(valid_start, len(t) - 1)], side="left"))
    else:
        valid_start = test_start
    valid_start = min(valid_start, test_start)
    if valid_start < MIN_TRAIN_ROWS:
        raise TrainingError(
            tr("The ordered split leaves only {n} training rows: too many rows share the same time "
               "in {column!r} near the boundary.", n=valid_start, column=spec.column),
            column=spec.column,
            hint=tr("Give training a larger share, or pick a finer time column."),
        )
    if n_valid and valid_start == test_start:
        raise TrainingError(
            tr("The ordered split leaves no validation rows: the rows around the boundary share one time in "
               "{column!r}.", column=spec.column),
            column=spec.column,
            hint=tr("Pick a finer time column, or change the shares."),
        )
    return order[:valid_start], order[valid_start:test_start], order[test_start:]


def _by_group(rows: np.ndarray, df: pd.DataFrame, spec: SplitSpec, y: pd.Series | None = None,
              notes: list[str] | None = None) -> tuple[np.ndarray, ...]:
    column = spec.column
    if column not in df.columns:
        raise TrainingError(
            tr("The group column {column!r} is not in the data.", column=column),
            column=column,
            hint=tr("Pick a column such as machine or batch id for the grouped split."),
        )
    n_train, n_valid, n_test = _part_sizes(len(rows), spec)
    # Missing ids form one group of their own: those rows are kept together, not spread.
    keys = df[column].iloc[rows].astype(object).where(df[column].iloc[rows].notna(), "\0missing")
    codes, uniques = pd.factorize(keys.map(str), sort=True)
    n_groups = len(uniques)
    n_parts = sum(1 for s in (n_train, n_valid, n_test) if s > 0)
    if n_groups < n_parts:
        raise TrainingError(
            trn("The column {column!r} has {n} distinct value; a grouped split into {parts} parts needs at least "
                "{parts}.",
                "The column {column!r} has {n} distinct values; a grouped split into {parts} parts needs at least "
                "{parts}.", n_groups, column=column, parts=n_parts),
            column=column,
            hint=tr("Pick a column with more groups (e.g. batch instead of machine), or use another split."),
        )
    group_sizes = np.bincount(codes, minlength=n_groups)
    goals = np.array([n_train, n_valid, n_test])
    group_class = _class_per_group(codes, n_groups, y.iloc[rows]) if y is not None else None
    if group_class is None:
        part_of_group = _assign_groups(group_sizes, goals, spec.seed)
    else:
        # one class per group (a verdict per experiment): deal each class's groups to the parts on
        # their own, so that validation and test see every class a few groups allow
        part_of_group = np.empty(n_groups, dtype=np.int8)
        for cls in np.unique(group_class):
            members = np.flatnonzero(group_class == cls)
            share = group_sizes[members].sum() / group_sizes.sum()
            part_of_group[members] = _assign_groups(group_sizes[members], goals * share, spec.seed)
        if notes is not None:
            notes.append(tr("Grouped split stratified by class: each {column!r} has one class.", column=column))
    where = part_of_group[codes]
    train, valid, test = rows[where == 0], rows[where == 1], rows[where == 2]
    if len(train) < MIN_TRAIN_ROWS:
        raise TrainingError(
            tr("The grouped split by {column!r} leaves only {n} training rows (the groups are uneven).",
               column=column, n=len(train)),
            column=column,
            hint=tr("Pick a column with more, smaller groups, or change the shares."),
        )
    return train, valid, test


GROUP_TRIALS = 50


def _class_per_group(codes: np.ndarray, n_groups: int, y: pd.Series) -> np.ndarray | None:
    """The class code of each group when every group holds one class only, else None."""
    labels, _ = pd.factorize(pd.Series(_labels(y)), sort=True)
    if (labels < 0).any():
        return None
    frame = pd.DataFrame({"g": codes, "c": labels})
    per_group = frame.groupby("g")["c"].agg(["min", "max"])
    if len(per_group) != n_groups or (per_group["min"] != per_group["max"]).any():
        return None
    if per_group["min"].nunique() < 2:
        return None
    return per_group["min"].to_numpy()


def _assign_groups(group_sizes: np.ndarray, goals: np.ndarray, seed: int) -> np.ndarray:
    """Part (0 train, 1 valid, 2 test) of each group, with part sizes as close to ``goals`` as can be.

    Groups are dealt in a random order, each to the part furthest below its goal, and the last
    groups go to parts still empty; of several such random deals the closest to the goals wins.
    """
    rng = np.random.default_rng(seed)
    active = [int(p) for p in np.flatnonzero(goals > 0)]
    n_groups = len(group_sizes)
    sizes = group_sizes.tolist()
    goal = goals.tolist()
    best: np.ndarray | None = None
    best_score = np.inf
    # Many small groups meet the goals on the first deal; few uneven ones need the retries.
    for _ in range(GROUP_TRIALS if n_groups <= 2000 else 3):
        order = rng.permutation(n_groups).tolist()
        filled = [0, 0, 0]
        empty = list(active)
        part = np.empty(n_groups, dtype=np.int8)
        for k, g in enumerate(order):
            candidates = empty if n_groups - k <= len(empty) else active
            target = max(candidates, key=lambda p: goal[p] - filled[p])
            part[g] = target
            filled[target] += sizes[g]
            if target in empty:
                empty.remove(target)
        score = float(sum((f - t) ** 2 for f, t in zip(filled, goal, strict=True)))
        if score < best_score:
            best, best_score = part, score
    assert best is not None
    return best


def _check_train_classes(split: Split, y: pd.Series, spec: SplitSpec) -> None:
    train_labels = pd.Series(np.asarray(y, dtype=object)[split.train]).dropna()
    if train_labels.nunique() < 2:
        only = train_labels.iloc[0] if len(train_labels) else None
        raise TrainingError(
            # TRANSLATORS: {method} is the command-line word random, time or group
            tr("The training rows of this {method} split hold only one class ({value!r}).",
               method=spec.method, value=only),
            column=str(y.name) if y.name is not None else None,
            hint=tr("Use a random stratified split, or give training a larger share."),
        )
