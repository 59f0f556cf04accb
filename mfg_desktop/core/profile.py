"""Data quality of a table and what a chosen target implies, computed once in core for GUI and CLI.

:func:`profile_frame` describes every column (type, missing, distinct, range, constant, outliers,
identifier-like) and the table (rows, duplicates, memory, one-hot groups). :func:`analyze_target`
says which task a target implies, how its classes are balanced, and which columns are likely
leaks. Everything is vectorised over whole columns; the only model fitted (a one-feature tree per
numeric column, for leak detection) runs on a subsample so that a million rows stay quick.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mfg_desktop.core.errors import DataError
from mfg_desktop.core.i18n import N_, tr, trn
from mfg_desktop.core.jobs import JobState, ensure_state
from mfg_desktop.core.task import (
    BINARY,
    MULTICLASS,
    ONEHOT_JOIN,
    REGRESSION,
    detect_task,
    find_onehot_groups,
    target_columns,
    target_series,
)

NUMERIC, INTEGER, BOOLEAN, CATEGORICAL, TEXT, DATETIME = (
    "numeric", "integer", "boolean", "categorical", "text", "datetime",
)

NEAR_CONSTANT_SHARE = 0.99
IQR_FACTOR = 1.5
# A text column with more distinct values than this, making up more than half of its rows, is free
# text or a code, not a category a model can one-hot encode.
TEXT_MIN_DISTINCT = 50
TEXT_MIN_DISTINCT_SHARE = 0.5
# Product codes such as 'L47181' or 'SN-2024-00017': a few letters, then at least four digits.
_CODE_PATTERN = r"^[A-Za-z]{0,6}[-_/ ]?\d{4,}[-_/A-Za-z0-9]*$"
# "12,5", "1.234,5", "-3.2 mm", "85 %": numbers with a decimal mark, separators or a unit.
_NUMBER_AS_TEXT = r"[-+]?\d+(?:[.,' ]\d+)*\s*(?:[a-zA-Z%°µ/]{1,5})?"
_ID_MIN_ROWS = 20  # below this, "unique per row" says nothing about a column

# Leak rules (see analyze_target).
RULE_MIN_PRECISION = 0.95
RULE_MAX_ERROR_VS_BASE = 0.10  # a rule's error rate must be at most 10 % of the class's base error
RULE_MIN_SUPPORT = 5
RULE_MIN_SUPPORT_SHARE = 0.01  # ... and at least 1 % of that class's rows
DISCRETE_MAX_NUMERIC_VALUES = 10
DISCRETE_MAX_CATEGORIES = 5000
SINGLE_FEATURE_MIN_BALANCED_ACCURACY = 0.95
REGRESSION_MIN_ABS_CORRELATION = 0.98
REGRESSION_MIN_GROUP_R2 = 0.95
CORRELATION_SAMPLE_ROWS = 200_000
SCORE_SAMPLE_ROWS = 100_000


@dataclass
class ColumnProfile:
    name: str
    kind: str  # numeric | integer | boolean | categorical | text | datetime
    dtype: str
    missing: int
    missing_share: float
    distinct: int
    min: float | str | None
    mean: float | None
    max: float | str | None
    constant: bool
    near_constant: bool
    outliers: int
    identifier_like: bool
    warnings: list[str] = field(default_factory=list)
    top: str | None = None  # most frequent value, as text
    top_share: float | None = None  # its share of the non-missing values

    def to_dict(self) -> dict[str, Any]:
        return _json_safe(asdict(self))


@dataclass
class DataProfile:
    rows: int
    n_columns: int
    duplicate_rows: int
    memory_bytes: int
    columns: list[ColumnProfile]
    onehot_groups: list[list[str]]
    warnings: list[str] = field(default_factory=list)  # table-level: duplicates, complementary pairs

    def column(self, name: str) -> ColumnProfile:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return _json_safe(asdict(self))


@dataclass
class LeakSuspect:
    column: str
    reason: str


@dataclass
class TargetReport:
    target: str
    columns: list[str]
    task: str
    class_counts: dict[str, int]
    minority_share: float | None
    leak_suspects: list[LeakSuspect]
    warnings: list[str]
    # binary: [negative, positive] as the target's own values, the positive being the app's pick (the
    # value that reads as bad: fail, NG, worn, 不合格; else the rarer; core.recipe.binary_classes), for
    # the Data step to offer both; empty until filled there
    binary_classes: list[Any] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return _json_safe(asdict(self))

    def other_warnings(self) -> list[str]:
        """The warnings except the one naming the leak suspects, which a leak list already shows."""
        leak_list = tr(_LEAK_LIST, columns=", ".join(s.column for s in self.leak_suspects))
        # the English start also catches a report made before the language was switched
        return [w for w in self.warnings if w != leak_list and not w.startswith("Likely leaks")]


_LEAK_LIST = N_("Likely leaks (left out of the inputs by default): {columns}.")
# TRANSLATORS: the word every "Identifier-like: ..." profile note starts with; the translations of
# those notes must start with the translation of this word (leak reasons are found by it)
_IDENTIFIER_LIKE = N_("Identifier-like")


# --------------------------------------------------------------------------------------------
# helpers


def _json_safe(value: Any) -> Any:
    """Plain JSON types: numpy scalars to Python, NaN/inf to None."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _pct(share: float) -> str:
    """A share as a percentage with the digits that matter: 0.3 %, 3.4 %, 42 %, 99.5 %."""
    if share == 0 or share == 1:
        return f"{share * 100:.0f} %"
    if share < 0.001:
        return "<0.1 %"
    if share < 0.1 or share > 0.99:
        return f"{min(share * 100, 99.9):.1f} %"
    return f"{share * 100:.0f} %"


def _fmt(value: Any) -> str:
    if isinstance(value, float | np.floating):
        return f"{float(value):.6g}"
    return str(value)


def _is_text_dtype(dtype: Any) -> bool:
    return (
        pd.api.types.is_string_dtype(dtype)
        or pd.api.types.is_object_dtype(dtype)
        or isinstance(dtype, pd.CategoricalDtype)
    )


def _as_float(s: pd.Series) -> np.ndarray:
    return s.to_numpy(dtype=float, na_value=np.nan)


def _datetime_ns(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """int64 nanoseconds and a validity mask; time zones are dropped to UTC wall time."""
    dt = pd.to_datetime(s)
    if getattr(dt.dt, "tz", None) is not None:
        dt = dt.dt.tz_convert(None)
    valid = dt.notna().to_numpy()
    values = dt.to_numpy(dtype="datetime64[ns]").astype(np.int64)
    return values, valid


def _top_of(counts: pd.Series) -> tuple[str | None, float | None, int]:
    if counts.empty:
        return None, None, 0
    total = int(counts.sum())
    return str(counts.index[0]), float(counts.iloc[0]) / total, int(counts.iloc[0])


# --------------------------------------------------------------------------------------------
# per-column profile


def _profile_numeric(name: str, s: pd.Series, n: int, missing: int) -> ColumnProfile:
    values = _as_float(s)
    finite = values[np.isfinite(values)]
    infinite = int(np.isinf(values).sum())
    valid = values[~np.isnan(values)]
    distinct = len(pd.unique(valid))
    is_bool = pd.api.types.is_bool_dtype(s.dtype) or (
        distinct <= 2 and bool(np.all((valid == 0) | (valid == 1)))
    )
    is_int = pd.api.types.is_integer_dtype(s.dtype) or (
        len(finite) > 0 and bool(np.all(finite == np.round(finite)))
    )
    kind = BOOLEAN if is_bool and distinct > 0 else INTEGER if is_int and distinct > 0 else NUMERIC
    prof = ColumnProfile(
        name=name, kind=kind, dtype=str(s.dtype), missing=missing,
        missing_share=missing / n if n else 0.0, distinct=distinct,
        min=None, mean=None, max=None, constant=distinct <= 1, near_constant=False,
        outliers=0, identifier_like=False,
    )
    if len(finite) == 0:
        return prof
    prof.min, prof.max, prof.mean = float(finite.min()), float(finite.max()), float(finite.mean())
    # A value held by >= 99 % of rows sits at both the 0.5 % and the 99.5 % quantile, so the
    # quantiles needed for the IQR fences also tell, without counting values, whether to look.
    q_lo, q1, q_mid, q3, q_hi = np.quantile(finite, [0.005, 0.25, 0.5, 0.75, 0.995])
    if q_lo == q_hi:
        top_count = int((valid == q_mid).sum())
        prof.top, prof.top_share = _fmt(q_mid), top_count / len(valid)
    std = float(finite.std())
    prof.near_constant = not prof.constant and (
        (prof.top_share or 0.0) >= NEAR_CONSTANT_SHARE or std <= 1e-9 * max(1.0, abs(prof.mean))
    )
    if kind != BOOLEAN and not prof.constant:
        iqr = q3 - q1
        lo, hi = q1 - IQR_FACTOR * iqr, q3 + IQR_FACTOR * iqr
        prof.outliers = int(((finite < lo) | (finite > hi)).sum()) + infinite
        if prof.outliers:
            prof.warnings.append(trn(
                "{n} value ({share}) lies outside the IQR fences [{low}, {high}].",
                "{n} values ({share}) lie outside the IQR fences [{low}, {high}].",
                prof.outliers, share=_pct(prof.outliers / len(valid)), low=_fmt(lo), high=_fmt(hi),
            ))
    if infinite:
        prof.warnings.append(trn("{n} value is infinite.", "{n} values are infinite.", infinite))
    if kind == INTEGER and distinct == len(valid) >= _ID_MIN_ROWS and pd.api.types.is_integer_dtype(s.dtype):
        steps = np.diff(valid)
        if len(steps) and (np.all(steps > 0) or np.all(steps < 0)):
            prof.identifier_like = True
            if np.all(np.abs(steps) == 1):
                prof.warnings.append(tr(
                    "Identifier-like: a row counter ({first}, {second}, ... changes by 1 every row), "
                    "not a measurement.", first=_fmt(valid[0]), second=_fmt(valid[1]),
                ))
            else:
                prof.warnings.append(tr(
                    "Identifier-like: a different, steadily increasing whole number in every row "
                    "(a counter or running id), not a measurement."
                ))
        elif prof.max - prof.min + 1 == distinct:
            prof.identifier_like = True
            prof.warnings.append(tr(
                "Identifier-like: every row has its own number, together exactly {low}..{high} "
                "(a shuffled row number or id).", low=_fmt(prof.min), high=_fmt(prof.max),
            ))
    return prof


def _profile_datetime(name: str, s: pd.Series, n: int, missing: int) -> ColumnProfile:
    values, valid = _datetime_ns(s)
    present = values[valid]
    distinct = len(pd.unique(present))
    prof = ColumnProfile(
        name=name, kind=DATETIME, dtype=str(s.dtype), missing=missing,
        missing_share=missing / n if n else 0.0, distinct=distinct, min=None, mean=None, max=None,
        constant=distinct <= 1, near_constant=False, outliers=0, identifier_like=False,
    )
    if len(present):  # from the Series itself, so a time zone stays in the text
        prof.min, prof.max = pd.Timestamp(s.min()).isoformat(), pd.Timestamp(s.max()).isoformat()
    return prof


def _profile_text(name: str, s: pd.Series, n: int, missing: int) -> ColumnProfile:
    counts = s.value_counts(dropna=True, sort=True)
    distinct = len(counts)
    non_missing = n - missing
    top, top_share, _ = _top_of(counts)
    share = distinct / non_missing if non_missing else 0.0
    kind = TEXT if distinct > TEXT_MIN_DISTINCT and share > TEXT_MIN_DISTINCT_SHARE else CATEGORICAL
    prof = ColumnProfile(
        name=name, kind=kind, dtype=str(s.dtype), missing=missing,
        missing_share=missing / n if n else 0.0, distinct=distinct, min=None, mean=None, max=None,
        constant=distinct <= 1, near_constant=distinct > 1 and (top_share or 0) >= NEAR_CONSTANT_SHARE,
        outliers=0, identifier_like=False, top=top, top_share=top_share,
    )
    if non_missing == 0:
        return prof
    # Looking at a sample of the distinct values keeps this cheap on a million rows.
    sample = pd.Series(counts.index[: min(distinct, 2000)].astype(str))
    spaces = float(sample.str.contains(r"\s", regex=True).mean())
    code_like = float(sample.str.match(_CODE_PATTERN).mean())
    if non_missing >= _ID_MIN_ROWS and distinct == non_missing and spaces < 0.1:
        prof.identifier_like = True
        prof.warnings.append(tr(
            "Identifier-like: a different value in every row ({n} distinct, e.g. '{example}'), "
            "not a measurement.", n=distinct, example=counts.index[0],
        ))
    elif non_missing >= _ID_MIN_ROWS and share >= 0.5 and code_like >= 0.9:
        prof.identifier_like = True
        prof.warnings.append(tr(
            "Identifier-like: codes such as '{example}' with {n} distinct values in {rows} rows.",
            example=counts.index[0], n=distinct, rows=non_missing,
        ))
    elif kind == TEXT:
        prof.warnings.append(tr(
            "Free text or codes with {n} distinct values: not usable as a category as it is.", n=distinct
        ))
    elif distinct > 100:
        prof.warnings.append(tr("Many categories ({n}): one-hot encoding will be wide.", n=distinct))
    # Plain digit strings are left alone: ingest keeps those as text on purpose (ids like '00017').
    head_values = sample.head(200).str.strip()
    numeric_share = float(
        (
            head_values.str.fullmatch(_NUMBER_AS_TEXT)
            & ~head_values.str.fullmatch(r"\d+")
            & ~head_values.str.fullmatch(r"\d{1,2}[./]\d{1,2}[./]\d{2,4}")  # dates like 12.03.2024
        ).mean()
    )
    if numeric_share >= 0.5 and distinct > 2:
        prof.warnings.append(tr(
            "Looks like numbers stored as text: check the decimal mark and thousands separator, "
            "or units written into the values."
        ))
    return prof


def _profile_column(name: str, s: pd.Series) -> ColumnProfile:
    n = len(s)
    missing = int(s.isna().sum())
    dtype = s.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype):
        prof = _profile_datetime(name, s, n, missing)
    elif pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
        prof = _profile_numeric(name, s, n, missing)
    elif pd.api.types.is_timedelta64_dtype(dtype):  # durations: profiled as seconds
        prof = _profile_numeric(name, s.dt.total_seconds(), n, missing)
        prof.dtype = str(dtype)
    elif _is_text_dtype(dtype):
        prof = _profile_text(name, s.astype("str") if pd.api.types.is_object_dtype(dtype) else s, n, missing)
    else:  # timedelta, period, interval...: count them like categories
        prof = _profile_text(name, s.astype("str").where(s.notna()), n, missing)
        prof.dtype = str(dtype)
    # Sentences a user reads first go first.
    head: list[str] = []
    if n and missing == n:
        head.append(tr("All values are missing."))
    elif missing:
        if prof.missing_share > 0.5:
            head.append(trn("{share} of the values are missing ({n} row). Consider dropping the column.",
                            "{share} of the values are missing ({n} rows). Consider dropping the column.",
                            missing, share=_pct(prof.missing_share)))
        else:
            head.append(trn("{share} of the values are missing ({n} row).",
                            "{share} of the values are missing ({n} rows).", missing, share=_pct(prof.missing_share)))
    if prof.constant and missing < n:
        value = prof.top if prof.top is not None else _fmt(prof.min)
        head.append(tr("Constant: every value is {value}; it carries no information.", value=value))
    elif prof.near_constant:
        if prof.top is not None:
            head.append(tr("Near-constant: {share} of the values are {value}.",
                           share=_pct(prof.top_share or 0), value=prof.top))
        else:
            head.append(tr("Near-constant: the values hardly vary."))
    prof.warnings = head + prof.warnings
    return prof


def _complement_pairs(df: pd.DataFrame) -> list[tuple[str, str]]:
    """0/1 column pairs where one is always 1 minus the other (TypeOfSteel_A300 / _A400)."""
    groups = find_onehot_groups(df, min_columns=2)
    return [(g[0], g[1]) for g in groups if len(g) == 2]


def profile_frame(df: pd.DataFrame, state: JobState | None = None) -> DataProfile:
    """Profile every column and the table as a whole; reports progress per column and can be cancelled."""
    state = ensure_state(state)
    n = len(df)
    names = [str(c) for c in df.columns]
    if len(set(names)) != len(names):
        dupes = sorted({c for c in names if names.count(c) > 1})
        raise DataError(
            tr("Duplicate column names: {names}.", names=", ".join(dupes)),
            column=dupes[0],
            hint=tr("Rename the columns so that each name appears once."),
        )
    columns: list[ColumnProfile] = []
    total = len(names) + 2
    for i, name in enumerate(names):
        state.check_cancelled()
        state.set_progress(i / total, tr("profiling {column}", column=name))
        columns.append(_profile_column(name, df.iloc[:, i]))
    state.check_cancelled()
    state.set_progress(len(names) / total, tr("looking for duplicate rows"))
    duplicates = int(pd.util.hash_pandas_object(df, index=False).duplicated().sum()) if n and names else 0
    memory = int(df.memory_usage(deep=True, index=True).sum())
    state.set_progress((len(names) + 1) / total, tr("looking for one-hot groups"))
    groups = find_onehot_groups(df)
    warnings: list[str] = []
    if duplicates:
        warnings.append(trn(
            "{n} row ({share}) repeats an earlier row exactly; check for double exports before splitting.",
            "{n} rows ({share}) repeat an earlier row exactly; check for double exports before splitting.",
            duplicates, share=_pct(duplicates / n),
        ))
    for a, b in _complement_pairs(df):
        warnings.append(tr("'{second}' is always 1 - '{first}': the two say the same thing, keep one as input.",
                           first=a, second=b))
    for group in groups:
        warnings.append(tr("{columns} have exactly one 1 per row: together they can be one multiclass target.",
                           columns=", ".join(group)))
    state.set_progress(1.0, tr("profile done"))
    return DataProfile(
        rows=n, n_columns=len(names), duplicate_rows=duplicates, memory_bytes=memory,
        columns=columns, onehot_groups=groups, warnings=warnings,
    )


# --------------------------------------------------------------------------------------------
# target and leaks


def _check_target_exists(df: pd.DataFrame, columns: Sequence[str]) -> None:
    names = [str(c) for c in df.columns]
    for col in columns:
        if col not in names:
            close = difflib.get_close_matches(col, names, n=3, cutoff=0.5)
            lowered = [c for c in names if c.lower() == col.lower() and c not in close]
            close = lowered + close
            hint = tr("Did you mean {names}?", names=", ".join(repr(c) for c in close)) if close else tr(
                "The columns are: {names}.", names=", ".join(names[:30]) + (" ..." if len(names) > 30 else "")
            )
            raise DataError(tr("Target column '{column}' is not in the data.", column=col), column=col, hint=hint)


def _codes(s: pd.Series) -> tuple[np.ndarray, pd.Index]:
    codes, uniques = pd.factorize(s, sort=True, use_na_sentinel=True)
    return codes.astype(np.int64), pd.Index(uniques)


def _value_rules(
    x: pd.Series, y_codes: np.ndarray, classes: list[str], class_counts: np.ndarray
) -> list[tuple[str, str, int, int]]:
    """Rules "x = v  =>  target = c" that hold with high precision on enough rows.

    A rule counts when its precision is >= 95 %, its error rate is at most a tenth of class c's
    base error (so "target is the usual class" never counts), and it covers at least 5 rows and
    1 % of class c. Returns (value, class, hits, rows) per rule, strongest first.
    """
    x_codes, values = _codes(x)
    ok = x_codes >= 0
    k = len(classes)
    table = np.bincount(x_codes[ok] * k + y_codes[ok], minlength=len(values) * k).reshape(len(values), k)
    rows = table.sum(axis=1, keepdims=True)
    precision = table / np.maximum(rows, 1)
    base_error = 1.0 - class_counts / class_counts.sum()
    min_support = np.maximum(RULE_MIN_SUPPORT, np.ceil(RULE_MIN_SUPPORT_SHARE * class_counts))
    good = (
        (precision >= RULE_MIN_PRECISION)
        & (1.0 - precision <= RULE_MAX_ERROR_VS_BASE * base_error)
        & (table >= min_support)
    )
    rules = [
        (_fmt(values[v]), classes[c], int(table[v, c]), int(rows[v, 0])) for v, c in np.argwhere(good)
    ]
    rules.sort(key=lambda r: -r[2])
    return rules


def _single_feature_score(x: np.ndarray, y_codes: np.ndarray, n_classes: int, seed: int = 0) -> float | None:
    """Two-fold cross-validated balanced accuracy of predicting the target from this column alone.

    The column is cut into (up to) 32 quantile bins and each bin predicts the class it is richest in
    relative to that class's size (class-balanced), learnt on one half of the rows and scored on the
    other. This is a one-feature histogram classifier: as flexible as a small tree, but a few
    bincounts instead of a model fit, so it stays instant on a million rows. None if not measurable.
    """
    ok = np.isfinite(x) & (y_codes >= 0)
    x, y = x[ok], y_codes[ok]
    rng = np.random.default_rng(seed)
    if len(x) > SCORE_SAMPLE_ROWS:
        # with replacement: drawing is O(sample), and a score estimate does not mind repeats
        pick = rng.integers(0, len(x), SCORE_SAMPLE_ROWS)
        x, y = x[pick], y[pick]
    counts = np.bincount(y, minlength=n_classes)
    if np.count_nonzero(counts) < 2 or counts[counts > 0].min() < 4:
        return None
    edges = np.unique(np.quantile(x, np.linspace(0, 1, 33)[1:-1]))
    bins = np.searchsorted(edges, x, side="left")  # a value equal to an edge closes its bin
    n_bins = len(edges) + 1
    half = rng.permutation(len(x)) < len(x) // 2
    scores = []
    for train in (half, ~half):
        test = ~train
        table = np.bincount(bins[train] * n_classes + y[train], minlength=n_bins * n_classes)
        table = table.reshape(n_bins, n_classes).astype(float)
        train_counts = np.bincount(y[train], minlength=n_classes)
        table /= np.maximum(train_counts, 1)
        predicted = table.argmax(axis=1)[bins[test]]
        y_test = y[test]
        test_counts = np.bincount(y_test, minlength=n_classes)
        correct = np.bincount(y_test[predicted == y_test], minlength=n_classes)
        present = test_counts > 0
        scores.append(float((correct[present] / test_counts[present]).mean()))
    return float(np.mean(scores))


def _flag_like(prof: ColumnProfile) -> bool:
    return prof.kind == BOOLEAN and prof.missing == 0 and not prof.constant


def analyze_target(
    df: pd.DataFrame,
    target: str | Sequence[str],
    profile: DataProfile | None = None,
    state: JobState | None = None,
    entity: str | None = None,
) -> TargetReport:
    """Task, class balance and likely leaks for a target column or one-hot group.

    Leak suspects come from four rules, each stated in the reason a user reads:

    1. identifier-like columns (from the profile): unique per row, row counters, codes;
    2. other members of a one-hot group the target belongs to (together they determine it);
    3. columns that on their own nearly determine the target. Classification: a value rule
       "whenever x = v, the target is c" with precision >= 95 % on at least 5 rows and 1 % of class
       c, for flags, categories and numbers with at most 10 values (TWF = 1 -> failure, 46 of 46
       rows); for other numbers a one-column classifier (see _single_feature_score) reaching
       95 % cross-validated balanced accuracy. Regression: |correlation| >= 0.98, or a category explaining >= 95 % of
       the variance;
    With ``entity`` (the machine/experiment column of sensor histories) and a target that is one
    value per entity, a column that is also constant within each entity (a setting held for an
    experiment) is not a rule-3 suspect: any such column "determines" a per-entity label on few
    entities, which says nothing about a leak.

    4. siblings: a 0/1 flag, rare, sitting in the same run of adjacent 0/1 flags as at least two
       columns found by rule 3 (and those being at least half of that run). Failure-mode flags are
       exported together; one of them can be recorded inconsistently with the outcome, as RNF is in
       ai4i2020 (RNF = 1 in 19 rows, only 1 of them a failure), so no per-column statistic sees it,
       but it is the same kind of after-the-fact label as its neighbours.
    """
    state = ensure_state(state)
    names = [str(c) for c in df.columns]
    columns = target_columns(target, names)
    _check_target_exists(df, columns)
    y = target_series(df, columns)
    task = detect_task(y.rename(ONEHOT_JOIN.join(columns)) if len(columns) > 1 else y)
    if profile is None:
        profile = profile_frame(df)
    target_name = ONEHOT_JOIN.join(columns)
    warnings: list[str] = []

    present = y.notna().to_numpy()
    n_missing = int((~present).sum())
    if n_missing:
        warnings.append(trn("{n} row has no target value; it is left out of training.",
                            "{n} rows have no target value; they are left out of training.", n_missing))
    class_counts: dict[str, int] = {}
    minority_share: float | None = None
    y_codes = np.zeros(0, dtype=np.int64)
    classes: list[str] = []
    counts_arr = np.zeros(0, dtype=np.int64)
    if task in (BINARY, MULTICLASS):
        codes, uniques = _codes(y)
        if len(columns) > 1:  # a group's classes keep the file's column order
            order = [list(map(str, uniques)).index(c) for c in columns if c in set(map(str, uniques))]
            remap = np.empty(len(uniques), dtype=np.int64)
            remap[order] = np.arange(len(order))
            codes = np.where(codes >= 0, remap[np.maximum(codes, 0)], -1)
            uniques = pd.Index([uniques[i] for i in order])
        classes = [_fmt(u) for u in uniques]
        counts_arr = np.bincount(codes[codes >= 0], minlength=len(classes))
        class_counts = {c: int(k) for c, k in zip(classes, counts_arr, strict=True)}
        total = int(counts_arr.sum())
        minority = int(np.argmin(counts_arr))
        minority_share = float(counts_arr[minority]) / total
        y_codes = codes
        if minority_share < 0.2:
            warnings.append(tr(
                "Imbalanced: the smallest class '{cls}' is {share} of the rows; accuracy is misleading here, "
                "judge by recall, precision and ROC-AUC, and weight the classes.",
                cls=classes[minority], share=_pct(minority_share),
            ))
        tiny = [c for c, k in class_counts.items() if k < 10]
        if tiny:
            warnings.append(tr(
                "Classes with fewer than 10 rows ({classes}): too few to learn from and to split stratified.",
                classes=", ".join(tiny[:10]),
            ))
        if len(classes) > 50:
            warnings.append(tr("{n} classes: is this really a category and not a number or an id?", n=len(classes)))

    group_of_target = next((g for g in profile.onehot_groups if set(columns) <= set(g)), None)
    candidates = [c for c in names if c not in set(columns)]
    reasons: dict[str, list[str]] = {c: [] for c in candidates}
    determines: set[str] = set()
    by_name = {prof.name: prof for prof in profile.columns}
    per_entity: set[str] = set()
    if entity is not None and entity in df.columns and entity not in columns:
        groups = df.groupby(df[entity].to_numpy(), sort=False, dropna=False)
        if (groups[list(columns)].nunique(dropna=True) <= 1).all(axis=None):
            held = groups[[c for c in candidates if c != entity]].nunique(dropna=True).max() <= 1
            per_entity = {str(c) for c, constant in held.items() if constant}

    for i, name in enumerate(candidates):
        state.check_cancelled()
        state.set_progress(i / max(len(candidates), 1), tr("checking {column} for leaks", column=name))
        prof = by_name.get(name)
        if prof is None:
            raise DataError(tr("The profile does not match the data: it has no column '{column}'.", column=name),
                            hint=tr("Profile the data again."))
        if prof.identifier_like:
            reasons[name].append(_identifier_note(prof))
            # an id is flagged as such; a value rule on it would only restate that
            continue
        if group_of_target is not None and len(columns) == 1 and name in group_of_target:
            reasons[name].append(tr(
                "Part of the one-hot group {group} with the target: knowing the other members tells the target.",
                group=ONEHOT_JOIN.join(group_of_target),
            ))
            determines.add(name)
            continue
        if prof.constant or prof.kind in (TEXT, DATETIME) or prof.missing == len(df) or name in per_entity:
            continue
        s = df[name]
        if task in (BINARY, MULTICLASS):
            rule_reason = _classification_leak(s, prof, y_codes, classes, counts_arr, present)
        else:
            rule_reason = _regression_leak(s, prof, y, present)
        if rule_reason:
            reasons[name].append(rule_reason)
            determines.add(name)

    if task in (BINARY, MULTICLASS):
        for name, reason in _sibling_flags(df, profile, columns, determines, y_codes, classes, counts_arr):
            reasons[name].append(reason)

    suspects = [LeakSuspect(c, " ".join(r)) for c, r in reasons.items() if r]
    if suspects:
        warnings.append(tr(_LEAK_LIST, columns=", ".join(s.column for s in suspects)))
    state.set_progress(1.0, tr("target analysed"))
    return TargetReport(
        target=target_name, columns=list(columns), task=task, class_counts=class_counts,
        minority_share=minority_share, leak_suspects=suspects, warnings=warnings,
    )


def _identifier_note(prof: ColumnProfile) -> str:
    """The profile's "Identifier-like: ..." note of an identifier-like column."""
    starts = ("Identifier-like", tr(_IDENTIFIER_LIKE))
    return next((w for w in prof.warnings if w.startswith(starts)), tr(
        "Identifier-like: a different value in every row, not a measurement."))


def _rule_values(name: str, value: str, cls: str, hits: int, rows: int, base: float) -> dict[str, Any]:
    """The placeholders of a "when COLUMN = VALUE the target is CLASS in HITS of ROWS rows" sentence."""
    return {"column": name, "value": value, "cls": cls, "hits": hits, "rows": rows, "base": _pct(base)}


def _classification_leak(
    s: pd.Series,
    prof: ColumnProfile,
    y_codes: np.ndarray,
    classes: list[str],
    counts: np.ndarray,
    present: np.ndarray,
) -> str | None:
    total = counts.sum()
    discrete = prof.kind in (BOOLEAN, CATEGORICAL) or prof.distinct <= DISCRETE_MAX_NUMERIC_VALUES
    if discrete and prof.distinct <= DISCRETE_MAX_CATEGORIES:
        rules = _value_rules(s[present], y_codes[present], classes, counts)
        if rules:
            value, cls, hits, rows = rules[0]
            base = counts[classes.index(cls)] / total
            values = _rule_values(prof.name, value, cls, hits, rows, base)
            if len(rules) > 1:
                return trn(
                    "On its own it nearly determines the target: when {column} = {value} the target is {cls} "
                    "in {hits} of {rows} rows (base rate {base}). ({n} more such value.)",
                    "On its own it nearly determines the target: when {column} = {value} the target is {cls} "
                    "in {hits} of {rows} rows (base rate {base}). ({n} more such values.)",
                    len(rules) - 1, **values,
                )
            return tr(
                "On its own it nearly determines the target: when {column} = {value} the target is {cls} "
                "in {hits} of {rows} rows (base rate {base}).", **values,
            )
        return None
    if prof.kind in (NUMERIC, INTEGER):
        score = _single_feature_score(_as_float(s[present]), y_codes[present], len(classes))
        if score is not None and score >= SINGLE_FEATURE_MIN_BALANCED_ACCURACY:
            return tr(
                "On its own it predicts the target with {score} balanced accuracy "
                "(cross-validated on this column alone; guessing gives {guess}).",
                score=_pct(score), guess=_pct(1 / len(classes)),
            )
    return None


def _regression_leak(s: pd.Series, prof: ColumnProfile, y: pd.Series, present: np.ndarray) -> str | None:
    target = _as_float(y)
    if prof.kind in (NUMERIC, INTEGER, BOOLEAN):
        x = _as_float(s)
        ok = np.isfinite(x) & np.isfinite(target)
        idx = np.flatnonzero(ok)
        if len(idx) > CORRELATION_SAMPLE_ROWS:
            idx = idx[np.random.default_rng(0).integers(0, len(idx), CORRELATION_SAMPLE_ROWS)]
        if len(idx) < 10:
            return None
        xs, ts = x[idx], target[idx]
        if xs.std() == 0 or ts.std() == 0:
            return None
        pearson = float(np.corrcoef(xs, ts)[0, 1])
        spearman = float(np.corrcoef(pd.Series(xs).rank().to_numpy(), pd.Series(ts).rank().to_numpy())[0, 1])
        r = pearson if abs(pearson) >= abs(spearman) else spearman
        if abs(r) >= REGRESSION_MIN_ABS_CORRELATION:
            if r == pearson:
                return tr("On its own it nearly determines the target: correlation r = {r:.3f}.", r=r)
            return tr("On its own it nearly determines the target: correlation (rank) r = {r:.3f}.", r=r)
        return None
    if prof.kind == CATEGORICAL and prof.distinct <= DISCRETE_MAX_CATEGORIES:
        ok = present & s.notna().to_numpy() & np.isfinite(target)
        if ok.sum() < 2 * max(prof.distinct, 5):
            return None
        codes, _ = _codes(s[ok])
        t = target[ok]
        sums = np.bincount(codes, weights=t)
        sizes = np.bincount(codes)
        means = sums / np.maximum(sizes, 1)
        residual = float(((t - means[codes]) ** 2).sum())
        spread = float(((t - t.mean()) ** 2).sum())
        if spread > 0 and 1 - residual / spread >= REGRESSION_MIN_GROUP_R2:
            return tr(
                "On its own it nearly determines the target: its categories explain {share} of the target's variance.",
                share=_pct(1 - residual / spread),
            )
    return None


def _sibling_flags(
    df: pd.DataFrame,
    profile: DataProfile,
    target_cols: Sequence[str],
    determines: set[str],
    y_codes: np.ndarray,
    classes: list[str],
    counts: np.ndarray,
) -> list[tuple[str, str]]:
    """Rule 4 of analyze_target: undetected flags among adjacent flags that determine the target."""
    runs: list[list[str]] = []
    run: list[str] = []
    for prof in profile.columns:
        if prof.name in target_cols:
            continue  # the target may sit inside its sub-labels' block
        if _flag_like(prof):
            run.append(prof.name)
        else:
            if run:
                runs.append(run)
            run = []
    if run:
        runs.append(run)
    total = counts.sum()
    minority = counts.min() / total
    found = []
    for run in runs:
        confirmed = [c for c in run if c in determines]
        if len(confirmed) < 2 or 2 * len(confirmed) < len(run):
            continue
        for name in run:
            if name in confirmed:
                continue
            x = _as_float(df[name])
            on = x == 1
            ones = int(on.sum())
            # a flag set as often as the rarest class or more is a condition, not a sub-label
            if ones == 0 or ones / len(x) > minority:
                continue
            sub = y_codes[on & (y_codes >= 0)]
            hits = np.bincount(sub, minlength=len(classes))
            cls = int(np.argmin(counts)) if len(classes) == 2 else int(np.argmax(hits))
            found.append((
                name,
                tr("A rare 0/1 flag in the same block as {flags}, which each determine the target: most likely "
                   "another sub-label recorded with the outcome; when {column} = {value} the target is {cls} "
                   "in {hits} of {rows} rows (base rate {base}).", flags=", ".join(confirmed),
                   **_rule_values(name, "1", classes[cls], int(hits[cls]), ones, counts[cls] / total)),
            ))
    return found


# --------------------------------------------------------------------------------------------
# a first guess at the target

# Words that name a yes/no outcome column in MES and inspection exports (Machine_failure,
# defect, PassFail, Result, NG). Matched as whole words (or, for "fail" and "defect", word
# beginnings: failure, failed, defective), so "rating" does not match "ng" nor "passage" "pass".
_OUTCOME_PREFIXES = ("fail", "defect")
_OUTCOME_WORDS = frozenset({"result", "results", "ng", "pass", "passed", "passfail"})
_UNSUITABLE_TARGET_KINDS = (TEXT, DATETIME)


def _name_words(name: str) -> list[str]:
    """'Machine_failure' → ['machine', 'failure']; 'PassFail' → ['pass', 'fail']; 'is_NG' → ['is', 'ng']."""
    return [w.lower() for w in re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+", name)]


def _names_an_outcome(name: str) -> bool:
    return any(w.startswith(_OUTCOME_PREFIXES) or w in _OUTCOME_WORDS for w in _name_words(name))


def _usable_target(prof: ColumnProfile) -> bool:
    return not prof.constant and not prof.identifier_like and prof.kind not in _UNSUITABLE_TARGET_KINDS


def suggest_target(profile: DataProfile) -> str | list[str] | None:
    """The column the model most likely should predict, as a first choice the user can change.

    A two-valued column named like an outcome (failure, defect, fail, result, NG, pass; the last
    such column when there are several, as targets tend to be written last), else the table's
    last column when it can be a target at all (not constant, not an identifier, not free text
    or a date). A column that belongs to a group of one-hot columns is suggested as the group.
    None when nothing fits.
    """
    binary_outcomes = [c for c in profile.columns
                       if c.distinct == 2 and _usable_target(c) and _names_an_outcome(c.name)]
    if binary_outcomes:
        choice = binary_outcomes[-1]
    elif profile.columns and _usable_target(profile.columns[-1]):
        choice = profile.columns[-1]
    else:
        return None
    group = next((g for g in profile.onehot_groups if choice.name in g), None)
    return list(group) if group else choice.name


# --------------------------------------------------------------------------------------------
# plot data for the GUI


def histogram(series: pd.Series, bins: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """Counts and bin edges of a numeric (or boolean, or datetime) column, missing values dropped.

    Datetime edges are seconds since 1970-01-01, as pyqtgraph's DateAxisItem expects.
    """
    dtype = series.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype):
        values, valid = _datetime_ns(series)
        data = values[valid].astype(float) / 1e9
    elif pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
        data = _as_float(series)
        data = data[np.isfinite(data)]
    else:
        raise DataError(
            tr("A histogram needs numbers; this column holds text."),
            column=str(series.name),
            hint=tr("Show its value counts instead."),
        )
    if len(data) == 0:
        return np.zeros(bins, dtype=np.int64), np.linspace(0.0, 1.0, bins + 1)
    counts, edges = np.histogram(data, bins=bins)
    return counts, edges


def value_counts(series: pd.Series, top: int = 20) -> list[tuple[str, int]]:
    """The ``top`` most frequent values with their counts, then "(other)" and "(missing)" if any."""
    counts = series.value_counts(dropna=True, sort=True)
    result = [(_fmt(v), int(c)) for v, c in zip(counts.index[:top], counts.iloc[:top], strict=True)]
    rest = int(counts.iloc[top:].sum())
    if rest:
        # TRANSLATORS: keep the ASCII brackets: the plot greys bars whose label is in ( )
        result.append((tr("(other {n})", n=len(counts) - top), rest))
    missing = int(series.isna().sum())
    if missing:
        # TRANSLATORS: keep the ASCII brackets: the plot greys bars whose label is in ( )
        result.append((tr("(missing)"), missing))
    return result


__all__ = [
    "BINARY", "MULTICLASS", "REGRESSION", "ColumnProfile", "DataProfile", "LeakSuspect", "TargetReport",
    "analyze_target", "histogram", "profile_frame", "suggest_target", "value_counts",
]
