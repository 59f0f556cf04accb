"""What a target column asks for: binary, multiclass or regression, and one-hot target groups.

A factory export often stores a fault type as several 0/1 columns with exactly one 1 per row
(the steel plates file: ``Pastry_Fault`` ... ``Other_Faults``). Such a group is one multiclass
target; on the command line it is written as the column names joined with ``+``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from mfg_desktop.core.errors import DataError, TrainingError
from mfg_desktop.core.i18n import tr, trn

BINARY, MULTICLASS, REGRESSION = "binary", "multiclass", "regression"
ONEHOT_JOIN = "+"

# An integer target with at most this many distinct values, each seen on average at least
# MIN_ROWS_PER_CLASS times, is read as class labels (e.g. fault codes 0..6); beyond that it is a
# quantity (a count, a remaining life in cycles) and the task is regression.
MAX_INTEGER_CLASSES = 20
MIN_ROWS_PER_CLASS = 5

# Searching one-hot groups among many rare flags is combinatorial; past this many search steps the
# groups found so far are returned (real exports have a handful of 0/1 columns).
_GROUP_SEARCH_BUDGET = 20_000


def _flag_matrix(df: pd.DataFrame) -> tuple[list[str], np.ndarray]:
    """The columns that hold only 0 and 1 (or False/True) without missing values, as a 0/1 matrix."""
    names: list[str] = []
    arrays: list[np.ndarray] = []
    for name in df.columns:
        s = df[name]
        if pd.api.types.is_bool_dtype(s.dtype):
            if s.isna().any():
                continue
            values = s.to_numpy(dtype=np.int8)
        elif pd.api.types.is_numeric_dtype(s.dtype):
            values = s.to_numpy(dtype=float, na_value=np.nan)
            if np.isnan(values).any():
                continue
            if not np.all((values == 0) | (values == 1)):
                continue
            values = values.astype(np.int8)
        else:
            continue
        names.append(str(name))
        arrays.append(values)
    if not arrays:
        return [], np.zeros((len(df), 0), dtype=np.int8)
    return names, np.column_stack(arrays)


def find_onehot_groups(df: pd.DataFrame, min_columns: int = 3) -> list[list[str]]:
    """Groups of 0/1 columns with exactly one 1 in every row, in the frame's column order.

    The default ``min_columns=3`` leaves out two-column pairs such as ``TypeOfSteel_A300`` /
    ``TypeOfSteel_A400``: a pair is just one binary column and its complement, so offering it as a
    multiclass target adds nothing (either column already is that binary target).

    A set of columns is one-hot exactly when no two of them are ever 1 in the same row and their
    counts of 1s add up to the number of rows; both are read off the co-occurrence matrix
    ``X.T @ X`` without looking at rows again. Groups are disjoint; the search prefers columns in
    file order, so adjacent groups come out as they were exported.
    """
    n = len(df)
    if n == 0:
        return []
    names, x = _flag_matrix(df)
    counts = x.sum(axis=0, dtype=np.int64)
    # An all-0 column fits into any group and an all-1 column is a group of one: neither is a choice.
    keep = [i for i in range(len(names)) if 0 < counts[i] < n]
    if len(keep) < max(min_columns, 2):
        return []
    names = [names[i] for i in keep]
    counts = counts[keep]
    x = x[:, keep]
    xf = x.astype(np.float32)
    co = xf.T @ xf  # float32 counts are exact up to 2**24 rows; beyond, 0 stays 0, which is all we test
    exclusive = co == 0
    np.fill_diagonal(exclusive, False)

    groups: list[list[str]] = []
    used: set[int] = set()
    budget = [_GROUP_SEARCH_BUDGET]

    def search(chosen: list[int], total: int, start: int) -> list[int] | None:
        if total == n:
            return list(chosen) if len(chosen) >= min_columns else None
        for j in range(start, len(names)):
            budget[0] -= 1
            if budget[0] <= 0:
                return None
            if j in used or total + counts[j] > n:
                continue
            if all(exclusive[i, j] for i in chosen):
                chosen.append(j)
                found = search(chosen, total + int(counts[j]), j + 1)
                chosen.pop()
                if found is not None:
                    return found
        return None

    for first in range(len(names)):
        if first in used or budget[0] <= 0:
            continue
        found = search([first], int(counts[first]), first + 1)
        if found is not None:
            used.update(found)
            groups.append([names[i] for i in found])
    return groups


def target_columns(target: str | Sequence[str], df_columns: Sequence[str] | None = None) -> list[str]:
    """The column(s) a target names: ``"Machine_failure"`` -> one, ``"A+B+C"`` or a list -> a group.

    A column whose own name contains ``+`` stays one column when ``df_columns`` is given and
    holds that name.
    """
    if isinstance(target, str):
        if df_columns is not None and target in set(map(str, df_columns)):
            return [target]
        parts = [part.strip() for part in target.split(ONEHOT_JOIN)]
        if len(parts) > 1 and all(parts):
            return parts
        return [target.strip()]
    columns = [str(c) for c in target]
    if not columns:
        raise DataError(tr("No target column given."), hint=tr("Pick the column to predict."))
    return columns


def _group_name(columns: Sequence[str]) -> str:
    """A readable name for a one-hot group: the longest part all names share ("_Fault" -> "fault")."""
    shortest = min(columns, key=len)
    for size in range(len(shortest), 2, -1):
        for start in range(len(shortest) - size + 1):
            piece = shortest[start : start + size]
            if all(piece in c for c in columns):
                cleaned = piece.strip("_- .").lower()
                if len(cleaned) >= 3:
                    return cleaned
    return "class"


def target_series(df: pd.DataFrame, target: str | Sequence[str]) -> pd.Series:
    """The target as one Series: a plain column as it is, a one-hot group as the name of its 1-column.

    A group's classes are the column names as written (``Pastry_Fault``, ..., ``Other_Faults``).
    Rows where the group has no 1, several 1s or a missing value raise :class:`DataError` naming the
    first such row (counted from 1, as in a spreadsheet without its header).
    """
    columns = target_columns(target, list(map(str, df.columns)))
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise DataError(
            tr("Target column(s) {columns} not found.", columns=", ".join(repr(c) for c in missing)),
            column=missing[0],
            hint=tr("Pick a column that exists in the data."),
        )
    if len(columns) == 1:
        return df[columns[0]]
    block = df[columns]
    values = block.to_numpy(dtype=float, na_value=np.nan)
    bad_value = ~(np.isnan(values) | (values == 0) | (values == 1))
    if bad_value.any():
        row, col = np.argwhere(bad_value)[0]
        raise DataError(
            tr("A one-hot target group may only hold 0 and 1."),
            row=int(row) + 1,
            column=columns[col],
            hint=tr("Pick a group of 0/1 columns, or a single target column."),
        )
    ones = np.nansum(values, axis=1)
    broken = np.isnan(values).any(axis=1) | (ones != 1)
    if broken.any():
        row = int(np.argmax(broken))
        raise DataError(
            trn("The one-hot target group {group} needs exactly one 1 per row; "
                "{n} row breaks this, the first is data row {row}.",
                "The one-hot target group {group} needs exactly one 1 per row; "
                "{n} rows break this, the first is data row {row}.",
                int(broken.sum()), group=ONEHOT_JOIN.join(columns), row=row + 1),
            hint=tr("Pick columns that together mark exactly one class per row."),
        )
    labels = np.asarray(columns, dtype=object)[np.argmax(values, axis=1)]
    return pd.Series(labels, index=df.index, name=_group_name(columns), dtype="str")


def detect_task(y: pd.Series) -> str:
    """Binary, multiclass or regression, from the target's values alone.

    Rule, applied to the non-missing values:
    - exactly two distinct values -> binary, whatever they are (0/1, -1/1, OK/NG, 是/否, True/False);
    - text or categories with three or more values -> multiclass;
    - whole numbers (also stored as floats) with at most 20 distinct values and at least 5 rows per
      value on average -> multiclass (fault codes, grades); more -> regression;
    - numbers with fractions -> regression.
    A target with no values, a single value or timestamps raises :class:`TrainingError`.
    """
    name = str(y.name) if y.name is not None else "target"
    values = y.dropna()
    if len(values) == 0:
        raise TrainingError(tr("The target has no values: every row is missing."), column=name,
                            hint=tr("Pick another target column."))
    if pd.api.types.is_datetime64_any_dtype(values.dtype) or pd.api.types.is_timedelta64_dtype(values.dtype):
        raise TrainingError(tr("A timestamp column cannot be the target."), column=name,
                            hint=tr("Use it for an ordered split or as an input instead."))
    distinct = int(values.nunique())
    if distinct < 2:
        raise TrainingError(
            tr("The target has only one value ({value!r}): there is nothing to learn.", value=values.iloc[0]),
            column=name,
            hint=tr("Pick a target that takes at least two values."),
        )
    if distinct == 2:
        return BINARY
    if pd.api.types.is_bool_dtype(values.dtype) or not pd.api.types.is_numeric_dtype(values.dtype):
        return MULTICLASS
    numbers = values.to_numpy(dtype=float, na_value=np.nan)
    numbers = numbers[np.isfinite(numbers)]
    integral = bool(np.all(numbers == np.round(numbers)))
    if integral and distinct <= MAX_INTEGER_CLASSES and len(numbers) >= MIN_ROWS_PER_CLASS * distinct:
        return MULTICLASS
    return REGRESSION
