"""The preparation recipe: what happens to each column before the network sees it.

A :class:`Recipe` is the user's plan (per column: drop, impute how, scale how, encode how; derived
columns; optional PCA). :func:`propose_recipe` suggests one and says why for each column.
:func:`fit_recipe` fits it as a scikit-learn ``Pipeline([ColumnTransformer, PCA])`` on the
training rows only, then reads every fitted number (imputer statistics, scaler centres and scales,
one-hot categories, PCA components, datetime origin) into a :class:`FittedRecipe`.

The fitted recipe applies those numbers with numpy, both right after fitting and after reopening a
model file. So a saved model needs no pickled scikit-learn object, and predictions before and after
saving are identical by construction. A test checks the numpy path against the scikit-learn
pipeline's own ``transform``.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from mfg_desktop.core.errors import DataError, ModelFileError, TrainingError
from mfg_desktop.core.formula import DerivedColumn, FormulaError, apply_derived
from mfg_desktop.core.i18n import N_, tr, trn
from mfg_desktop.core.task import BINARY, MULTICLASS, REGRESSION, detect_task, target_columns, target_series

ROLES = ("numeric", "categorical", "datetime", "drop")
NUMERIC_IMPUTE = ("median", "mean", "most_frequent", "constant", "none")
CATEGORICAL_IMPUTE = ("most_frequent", "constant")
SCALES = ("standard", "minmax", "robust", "none")
ENCODINGS = ("onehot",)
TASKS = (BINARY, MULTICLASS, REGRESSION)

STATE_KIND = "mfg_desktop.fitted_recipe"
STATE_VERSION = 1

MAX_ONEHOT_CATEGORIES = 30
MAX_MISSING_SHARE = 0.9  # a column missing in more rows than this is proposed for dropping
OUTLIER_IQR_FACTOR = 3.0
OUTLIER_SHARE_FOR_ROBUST = 0.01
CLASS_WEIGHT_MINORITY_SHARE = 0.20
MISSING_CATEGORY = "(missing)"
DATETIME_PARTS = ("elapsed days", "hour", "day of week", "month")  # feature names: stay English
# what a proposed date/time column becomes, as the reason shown to the user says it
_DATETIME_PARTS_SHOWN = N_("elapsed days, hour, day of week, month")

_ID_NAME = re.compile(
    r"(^|[\s_\-.])(id|ids|udi|uid|uuid|guid|no|nr|index|idx|serial|sn|key)($|[\s_\-.])"
    r"|编号|序号|条码",
    re.IGNORECASE,
)
# Columns that say where or when a row was recorded, not what was measured: the stacked files'
# ``source_file`` (ingest.SOURCE_COLUMN), row numbers written by exports, load timestamps.
_PROVENANCE_NAME = re.compile(
    r"^(source[\s_\-]?file|file[\s_\-]?name|source[\s_\-]?path|unnamed:\s*\d+|index|"
    r"row|row[\s_\-]?(no|nr|num|number|index|id)|line[\s_\-]?(no|nr|number)|"
    r"(load|loaded|import|imported|ingest|ingested|read)[\s_\-]?(at|on|time|timestamp|date))$",
    re.IGNORECASE,
)
_DATE_TEXT = re.compile(
    r"^\s*(\d{4}[-/.年]\d{1,2}[-/.月]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}|\d{1,2}:\d{2})"
)

# Values read as the "bad" (positive) class of a binary target, compared in lower case.
POSITIVE_TOKENS = frozenset(
    {
        "1",
        "1.0",
        "true",
        "yes",
        "y",
        "ng",
        "nok",
        "n.g.",
        "fail",
        "failed",
        "failure",
        "defect",
        "defective",
        "bad",
        "reject",
        "rejected",
        "scrap",
        "faulty",
        "fault",
        "error",
        "alarm",
        "worn",
        "abnormal",
        "anomaly",
        "positive",
        "pos",
        "是",
        "有",
        "不良",
        "不合格",
        "缺陷",
        "故障",
        "异常",
        "报废",
        "坏",
        "失败",
        "报警",
        "次品",
        "废品",
    }
)
# Values read as the "good" (negative) class.
NEGATIVE_TOKENS = frozenset(
    {
        "0",
        "0.0",
        "false",
        "no",
        "n",
        "ok",
        "pass",
        "unworn",
        "passed",
        "good",
        "accept",
        "accepted",
        "normal",
        "negative",
        "neg",
        "none",
        "healthy",
        "否",
        "无",
        "良",
        "良品",
        "合格",
        "正常",
        "通过",
        "成功",
        "好",
        "正品",
    }
)


# --------------------------------------------------------------------------------------------
# plan


@dataclass
class ColumnPlan:
    """What happens to one column; ``reason`` says why it was proposed so (shown to the user)."""

    name: str
    role: str  # "numeric" | "categorical" | "datetime" | "drop"
    impute: str = (
        "median"  # numeric: median|mean|most_frequent|constant|none; categorical: most_frequent|constant
    )
    scale: str = "standard"  # numeric and datetime parts: standard|minmax|robust|none
    encode: str = "onehot"  # categorical only
    reason: str = ""
    # Set for provenance and identifier-like columns: kept when the user includes the column on
    # purpose, so that the warning about it (:meth:`Recipe.input_warnings`) survives a role change.
    caution: str = field(default="", compare=False)  # advice, not part of what is fitted

    def check(self) -> None:
        """Raise :class:`TrainingError` for a combination that cannot be fitted."""
        if self.role not in ROLES:
            raise TrainingError(
                tr("Unknown role {role!r}; use one of {roles}.", role=self.role, roles=", ".join(ROLES)),
                column=self.name,
            )
        if self.role == "drop":
            return
        if self.role == "categorical":
            if self.impute not in CATEGORICAL_IMPUTE:
                raise TrainingError(
                    tr("A categorical column cannot be imputed with {impute!r}.", impute=self.impute),
                    column=self.name,
                    hint=tr("Use 'most_frequent', or 'constant' to make missing its own category."),
                )
            if self.encode not in ENCODINGS:
                raise TrainingError(tr("Unknown encoding {encode!r}; use one-hot.", encode=self.encode),
                                    column=self.name)
            return
        if self.impute not in NUMERIC_IMPUTE:
            raise TrainingError(
                tr("Unknown imputation {impute!r}; use one of {choices}.", impute=self.impute,
                   choices=", ".join(NUMERIC_IMPUTE)),
                column=self.name,
            )
        if self.scale not in SCALES:
            raise TrainingError(
                tr("Unknown scaling {scale!r}; use one of {choices}.", scale=self.scale, choices=", ".join(SCALES)),
                column=self.name,
            )


@dataclass
class PcaSettings:
    """Optional PCA after the column steps: a fixed number of components or a share of variance."""

    enabled: bool = False
    n_components: int | None = None
    variance: float | None = 0.95

    def check(self) -> None:
        if not self.enabled:
            return
        if self.n_components is not None:
            if int(self.n_components) < 1:
                raise TrainingError(tr("PCA needs at least one component."))
        elif self.variance is None or not 0.0 < float(self.variance) <= 1.0:
            raise TrainingError(tr("PCA's share of variance kept must be between 0 and 1 (e.g. 0.95)."))


@dataclass
class Recipe:
    """The whole preparation plan. ``task`` None means detect it from the target at fit time."""

    target: str | list[str]
    columns: list[ColumnPlan]
    derived: list[DerivedColumn] = field(default_factory=list)
    pca: PcaSettings = field(default_factory=PcaSettings)
    add_missing_indicators: bool = True
    task: str | None = None
    positive_class: Any = None  # binary only; None = the rule in LabelMapping.fit

    @property
    def target_columns(self) -> list[str]:
        return target_columns(self.target)

    @property
    def inputs(self) -> list[str]:
        """The columns the model reads (not dropped, never a target column), in plan order."""
        targets = set(self.target_columns)
        return [p.name for p in self.columns if p.role != "drop" and p.name not in targets]

    def input_warnings(self) -> list[str]:
        """One sentence per provenance or identifier-like column that is an input on purpose."""
        targets = set(self.target_columns)
        return [
            tr("{column!r} is an input although it is {caution}: the model will require a {column!r} "
               "column in every file it scores, and will learn from where or when the rows were recorded.",
               column=p.name, caution=p.caution)
            for p in self.columns
            if p.caution and p.role != "drop" and p.name not in targets
        ]

    def plan(self, name: str) -> ColumnPlan:
        for p in self.columns:
            if p.name == name:
                return p
        raise KeyError(name)

    def check(self) -> None:
        for p in self.columns:
            p.check()
        self.pca.check()
        if self.task is not None and self.task not in TASKS:
            raise TrainingError(tr("Unknown task {task!r}; use one of {tasks}.", task=self.task, tasks=", ".join(TASKS)))
        if not self.inputs:
            raise TrainingError(
                tr("No usable inputs: every column is dropped."),
                hint=tr("Tick at least one input column on the Prepare page."),
            )

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target if isinstance(self.target, str) else list(self.target),
            "columns": [_plan_dict(p) for p in self.columns],
            "derived": [d.to_dict() for d in self.derived],
            "pca": asdict(self.pca),
            "add_missing_indicators": bool(self.add_missing_indicators),
            "task": self.task,
            "positive_class": _plain(self.positive_class),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Recipe:
        try:
            target = d["target"]
            recipe = cls(
                target=target if isinstance(target, str) else [str(t) for t in target],
                columns=[ColumnPlan(**{k: str(v) for k, v in p.items()}) for p in d["columns"]],
                derived=[DerivedColumn.from_dict(x) for x in d.get("derived", [])],
                pca=PcaSettings(
                    enabled=bool(d.get("pca", {}).get("enabled", False)),
                    n_components=_opt_int(d.get("pca", {}).get("n_components")),
                    variance=_opt_float(d.get("pca", {}).get("variance", 0.95)),
                ),
                add_missing_indicators=bool(d.get("add_missing_indicators", True)),
                task=d.get("task"),
                positive_class=d.get("positive_class"),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise TrainingError(tr("The stored recipe is incomplete or malformed ({error!r}).", error=exc)) from exc
        for p in recipe.columns:
            p.check()
        recipe.pca.check()
        return recipe


def _plan_dict(plan: ColumnPlan) -> dict[str, Any]:
    # ``caution`` only where it matters (an input on purpose), so that model files of ordinary
    # recipes stay readable by earlier versions, which know no such key.
    d = asdict(plan)
    if not plan.caution or plan.role == "drop":
        d.pop("caution")
    return d


def _opt_int(v: Any) -> int | None:
    return None if v is None else int(v)


def _opt_float(v: Any) -> float | None:
    return None if v is None else float(v)


def _plain(v: Any) -> Any:
    """A JSON-able Python value for a label or statistic (numpy scalars -> int/float/str/bool)."""
    if v is None:
        return None
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and v.is_integer() and abs(v) < 2**53:
        return int(v)
    if isinstance(v, bool | int | float | str):
        return v
    return str(v)


# --------------------------------------------------------------------------------------------
# proposing a recipe


def _looks_like_dates(values: pd.Series) -> bool:
    sample = values.dropna().astype(str).head(200)
    if sample.empty or sample.map(lambda s: bool(_DATE_TEXT.match(s))).mean() < 0.9:
        return False
    return _to_datetime(sample).notna().mean() >= 0.9


def _propose_one(name: str, s: pd.Series) -> ColumnPlan:
    n = len(s)
    present = s.dropna()
    missing_share = 1.0 - len(present) / n if n else 1.0
    if present.empty:
        return ColumnPlan(name, "drop", reason=tr("empty: no values"))
    if missing_share > MAX_MISSING_SHARE:
        return ColumnPlan(name, "drop", reason=tr("mostly empty ({share:.0%} missing)", share=missing_share))
    distinct = int(present.nunique())
    if distinct <= 1:
        return ColumnPlan(name, "drop", reason=tr("constant (always {value!r})", value=present.iloc[0]))
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return ColumnPlan(name, "datetime", reason=tr("date/time: {parts}", parts=tr(_DATETIME_PARTS_SHOWN)))
    if pd.api.types.is_bool_dtype(s.dtype):
        return ColumnPlan(name, "numeric", impute="most_frequent", scale="none", reason=tr("yes/no flag"))
    if not pd.api.types.is_numeric_dtype(s.dtype):
        if _looks_like_dates(present):
            return ColumnPlan(name, "datetime",
                              reason=tr("dates written as text: {parts}", parts=tr(_DATETIME_PARTS_SHOWN)))
        # A sample rules out ordinary text cheaply before converting the whole column.
        sample_ok = pd.to_numeric(present.head(1000), errors="coerce").notna().mean() >= 0.9
        numbers = pd.to_numeric(present, errors="coerce") if sample_ok else None
        if numbers is not None and numbers.notna().mean() >= 0.95:
            bad = int(numbers.isna().sum())
            reason = tr("numbers stored as text")
            if bad:
                reason = _also(reason, trn("{n} cell is not a number and counts as missing",
                                           "{n} cells are not numbers and count as missing", bad))
            return _propose_numeric(name, numbers.astype(float), reason=reason)
        unique_share = distinct / len(present)
        nearly_unique = unique_share >= 0.9 and len(present) >= 20
        if distinct <= MAX_ONEHOT_CATEGORIES and not nearly_unique:
            return ColumnPlan(
                name,
                "categorical",
                impute="most_frequent",
                scale="none",
                reason=tr("text with {n} categories: one-hot", n=distinct),
            )
        if nearly_unique:
            return ColumnPlan(name, "drop", reason=tr("identifier-like ({n} distinct values)", n=distinct))
        if _ID_NAME.search(name):
            reason = tr("identifier-like, {n} distinct values: too many to one-hot (may serve for a grouped split)",
                        n=distinct)
        else:
            reason = tr("{n} distinct values: too many to one-hot (may serve for a grouped split)", n=distinct)
        return ColumnPlan(name, "drop", reason=reason)
    values = present.to_numpy(dtype=float)
    if _is_identifier(name, values):
        return ColumnPlan(name, "drop", reason=tr("identifier-like (a unique whole number per row)"))
    return _propose_numeric(name, pd.Series(values), reason="")


def _included_plan(proposed: ColumnPlan, s: pd.Series) -> ColumnPlan:
    """The plan for a column the user includes on purpose, even where the proposal dropped it."""
    if proposed.role != "drop":
        return proposed
    present = s.dropna()
    if present.nunique() <= 1:
        raise DataError(tr("This column cannot be an input: it is {reason}.", reason=proposed.reason),
                        column=proposed.name,
                        hint=tr("Leave it out; a constant or empty column carries no information."))
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        return _propose_numeric(proposed.name, s.astype(float), reason=tr("included on purpose"))
    return ColumnPlan(proposed.name, "categorical", impute="most_frequent", scale="none",
                      reason=tr("included on purpose: one-hot of its values"))


def identifier_name(name: str) -> bool:
    """Whether a column's name says it identifies a part, row or record (UDI, Product ID, Serial No)."""
    return bool(_ID_NAME.search(str(name)))


def non_input_reason(name: str, s: pd.Series) -> str:
    """Why a column should never be an input by default ("" when it is an ordinary column).

    Provenance (the stacked files' ``source_file``, row numbers, load timestamps) is recognised
    by name; identifier-like columns (serial numbers, part codes, row counters) by the data
    profile's rules. A model that learned from them needs the same column in every scored file
    and learns from where a row came from instead of what was measured.
    """
    from mfg_desktop.core.profile import _profile_column  # the same rules as the data-quality view

    if _PROVENANCE_NAME.match(name.strip()):
        return tr("provenance (where or when the row was recorded)")
    if s.dropna().nunique() <= 1:
        return ""
    if _profile_column(name, s).identifier_like:
        return tr("identifier-like (a different code or number per row)")
    return ""


def _is_identifier(name: str, values: np.ndarray) -> bool:
    if len(values) < 20 or not np.all(np.isfinite(values)) or not np.all(values == np.round(values)):
        return False
    if len(np.unique(values)) < 0.95 * len(values):
        return False
    increasing = bool(np.all(np.diff(values) > 0))
    return increasing or bool(_ID_NAME.search(name))


def _also(reason: str, note: str) -> str:
    """A proposal's reason with one more note after it (either may be empty)."""
    if not reason or not note:
        return reason or note
    # TRANSLATORS: joins two notes of one column's proposal, e.g. "numbers stored as text; 0/1 flag"
    return tr("{reason}; {note}", reason=reason, note=note)


def _propose_numeric(name: str, values: pd.Series, reason: str) -> ColumnPlan:
    x = values.dropna().to_numpy(dtype=float)
    x = x[np.isfinite(x)]
    if len(np.unique(x)) == 2 and set(np.unique(x)) <= {0.0, 1.0}:
        return ColumnPlan(
            name,
            "numeric",
            impute="most_frequent",
            scale="none",
            reason=_also(reason, tr("0/1 flag")),
        )
    q1, q3 = np.percentile(x, [25, 75])
    iqr = q3 - q1
    if iqr > 0:
        far = float(np.mean((x < q1 - OUTLIER_IQR_FACTOR * iqr) | (x > q3 + OUTLIER_IQR_FACTOR * iqr)))
        if far > OUTLIER_SHARE_FOR_ROBUST:
            note = tr("heavy outliers ({share:.1%} beyond 3 IQR): robust scaling", share=far)
            return ColumnPlan(name, "numeric", scale="robust", reason=_also(reason, note))
    return ColumnPlan(name, "numeric", reason=reason or tr("numeric"))


def propose_recipe(
    df: pd.DataFrame,
    target: str | Sequence[str],
    exclude: Sequence[str] = (),
    derived: Sequence[DerivedColumn] = (),
    leak_suspects: Mapping[str, str] | None = None,
    include: Sequence[str] = (),
) -> Recipe:
    """Suggest a plan for every column but the target, each with the reason shown to the user.

    Provenance and identifier-like columns (:func:`non_input_reason`) start dropped; those named
    in ``include`` are inputs on purpose, and :meth:`Recipe.input_warnings` then says what that costs.

    Numbers: median imputation and standard scaling (robust scaling with heavy outliers); 0/1 and
    yes/no flags unscaled; text with few categories: one-hot; text with many distinct values or
    whole-number row ids: dropped as identifier-like; dates: expanded into numbers; empty or
    constant columns, columns in ``exclude`` and leak suspects (with their reason): dropped.
    """
    frame = apply_derived(df, list(derived)) if derived else df
    columns = [str(c) for c in frame.columns]
    targets = target_columns(target if isinstance(target, str) else list(target), columns)
    missing = [t for t in targets if t not in columns]
    if missing:
        raise DataError(
            tr("Target column {column!r} not found.", column=missing[0]),
            column=missing[0],
            hint=tr("Pick a column that exists in the data."),
        )
    excluded = set(map(str, exclude))
    included = set(map(str, include))
    unknown = sorted(included - set(columns))
    if unknown:
        raise DataError(tr("The column to include is not in the data."), column=unknown[0],
                        hint=tr("Check the spelling; names are case-sensitive."))
    clash = sorted(included & (excluded | set(targets)))
    if clash:
        raise DataError(tr("A column cannot be both included and excluded (or be the target)."), column=clash[0],
                        hint=tr("Name it in one of --include and --exclude only."))
    leaks = {str(k): v for k, v in (leak_suspects or {}).items()}
    plans: list[ColumnPlan] = []
    for name in columns:
        if name in targets:
            continue
        if name in excluded:
            plans.append(ColumnPlan(name, "drop", reason=tr("excluded")))
        elif name in leaks:
            plans.append(ColumnPlan(name, "drop", reason=leaks[name] or tr("leak suspect")))
        else:
            plans.append(_propose_one(name, frame[name]))
        caution = non_input_reason(name, frame[name])
        if name in included:
            plans[-1] = _included_plan(plans[-1], frame[name])
        if caution:
            plans[-1].caution = caution
            if plans[-1].role != "drop" and name not in included:
                plans[-1] = replace(plans[-1], role="drop",
                                    reason=tr("{caution}: not an input unless included", caution=caution))
    try:
        task: str | None = detect_task(target_series(frame, targets if len(targets) > 1 else targets[0]))
    except (TrainingError, DataError):
        task = None  # shown as "unknown"; fitting reports the problem with the target
    return Recipe(
        # A single name containing "+" stays a one-element list so it is not read as a group.
        target=targets[0] if len(targets) == 1 and "+" not in targets[0] else targets,
        columns=plans,
        derived=list(derived),
        task=task,
    )


# --------------------------------------------------------------------------------------------
# target


def check_target(y: pd.Series, task: str) -> None:
    """Raise :class:`TrainingError` if ``y`` cannot be learned as ``task`` (empty, one class, ...)."""
    name = str(y.name) if y.name is not None else "target"
    values = y.dropna()
    if values.empty:
        raise TrainingError(
            tr("The target has no values: every row is missing."), column=name, hint=tr("Pick another target column.")
        )
    distinct = int(values.nunique())
    if distinct < 2:
        raise TrainingError(
            tr("The target has only one value ({value!r}) in the rows used: there is nothing to learn.",
               value=_plain(values.iloc[0])),
            column=name,
            hint=tr("Pick a target that takes at least two values, or load more data."),
        )
    if task == BINARY and distinct > 2:
        raise TrainingError(
            tr("A yes/no (binary) target must take two values; this one takes {n}.", n=distinct),
            column=name,
            hint=tr("Choose the multiclass task, or pick another target."),
        )
    if task == REGRESSION:
        numbers = pd.to_numeric(values, errors="coerce")
        if numbers.isna().any() or pd.api.types.is_bool_dtype(values.dtype):
            bad = values[numbers.isna()].iloc[0] if numbers.isna().any() else values.iloc[0]
            raise TrainingError(
                tr("Regression needs a numeric target; found {value!r}.", value=_plain(bad)),
                column=name,
                hint=tr("Choose a classification task, or pick a numeric target."),
            )
        if not np.all(np.isfinite(numbers.to_numpy(dtype=float))):
            raise TrainingError(
                tr("The target holds infinite values."), column=name, hint=tr("Remove or correct those rows.")
            )
    elif task not in TASKS:
        raise TrainingError(tr("Unknown task {task!r}; use one of {tasks}.", task=task, tasks=", ".join(TASKS)))


def _label_key(v: Any) -> Any:
    """One key for a label however it was read (1, 1.0, "1 ", numpy int) so lookups agree."""
    v = _plain(v)
    if isinstance(v, str):
        v = v.strip()
    return v


def _token(v: Any) -> str:
    return str(_label_key(v)).strip().lower()


class UnseenTargetValues(DataError):
    """Target values the model was not trained on; ``shown`` names them (for a caller's own wording)."""

    def __init__(self, message: str, *, shown: str, **where: object) -> None:
        self.shown = shown
        super().__init__(message, **where)


@dataclass
class LabelMapping:
    """Target values <-> model outputs, kept with the model.

    Classification: ``classes[i]`` is the label of output ``i``. For a binary target
    ``classes == [negative, positive]``; the positive class (output 1, the one ROC and recall are
    about) is chosen by this rule:

    1. the value the user picked (``Recipe.positive_class``);
    2. numbers: 1 for 0/1 and -1/1 codes;
    3. text and yes/no: the one value that reads as "bad" (True, NG, fail, defect, scrap, 是, 不良,
       不合格, ...; see ``POSITIVE_TOKENS``), else the other of the one value that reads as "good"
       (False, OK, pass, 否, 合格, ...; ``NEGATIVE_TOKENS``);
    4. otherwise the minority class (on a tie, the later value in sorted order).

    Multiclass classes are sorted. Regression: no classes, values pass through as float32.
    """

    task: str
    classes: list[Any] = field(default_factory=list)
    name: str = "target"

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    def positive_class(self) -> Any:
        return self.classes[1] if self.task == BINARY else None

    @classmethod
    def fit(cls, y: pd.Series, task: str, positive_class: Any = None) -> LabelMapping:
        check_target(y, task)
        name = str(y.name) if y.name is not None else "target"
        if task == REGRESSION:
            return cls(REGRESSION, [], name)
        counts: dict[Any, int] = {}
        for value, count in y.dropna().value_counts(sort=False).items():
            key = _label_key(value)
            counts[key] = counts.get(key, 0) + int(count)
        labels = _sorted_labels(list(counts))
        if task == MULTICLASS:
            return cls(MULTICLASS, labels, name)
        if positive_class is not None:
            key = _label_key(positive_class)
            if key not in counts:
                raise TrainingError(
                    tr("The chosen positive class {value!r} is not a value of the target.", value=positive_class),
                    column=name,
                    hint=tr("Pick one of {first!r} or {second!r}.", first=labels[0], second=labels[1]),
                )
            positive = key
        else:
            positive = _pick_positive(labels, counts)
        negative = labels[0] if labels[1] == positive else labels[1]
        return cls(BINARY, [negative, positive], name)

    def _lookup(self) -> dict[Any, int]:
        return {_label_key(c): i for i, c in enumerate(self.classes)}

    def encode(self, y: pd.Series | Sequence[Any] | np.ndarray) -> np.ndarray:
        """Class indices (int64), or float32 values for regression; unseen or missing labels raise."""
        series = y if isinstance(y, pd.Series) else pd.Series(list(y) if not isinstance(y, np.ndarray) else y)
        missing = series.isna().to_numpy()
        if missing.any():
            row = int(np.argmax(missing))
            raise DataError(
                trn("{n} row has no target value (first: data row {row}).",
                    "{n} rows have no target value (first: data row {row}).", int(missing.sum()), row=row + 1),
                column=self.name,
                hint=tr("Remove those rows or fill in the target."),
            )
        if self.task == REGRESSION:
            numbers = pd.to_numeric(series, errors="coerce")
            if numbers.isna().any():
                row = int(np.argmax(numbers.isna().to_numpy()))
                raise DataError(
                    tr("The target value {value!r} is not a number (data row {row}).",
                       value=series.iloc[row], row=row + 1),
                    column=self.name,
                    hint=tr("Correct or remove that row."),
                )
            return numbers.to_numpy(dtype=np.float32)
        lookup = self._lookup()
        # Map each distinct value once: a million rows hold a handful of labels.
        positions, uniques = pd.factorize(series, use_na_sentinel=True)
        keys = np.array([_label_key(u) for u in uniques] + [None], dtype=object)
        codes_of_unique = np.array(
            [lookup.get(k, lookup.get(_label_key(_maybe_number(k)), -1)) for k in keys[:-1]] + [-1],
            dtype=np.int64,
        )
        codes = codes_of_unique[positions]
        unseen = codes < 0
        if unseen.any():
            names = pd.Series(keys[positions[unseen]], dtype=object).value_counts()
            shown = tr(", ").join(trn("{value!r} ({n} row)", "{value!r} ({n} rows)", int(v), value=k)
                                  for k, v in names.head(5).items())
            raise UnseenTargetValues(
                tr("The target holds values the model was not trained on: {values}.", values=shown),
                column=self.name,
                hint=tr("Known values: {values}.", values=", ".join(repr(c) for c in self.classes)),
                shown=shown,
            )
        return codes

    def decode(self, codes: Sequence[int] | np.ndarray) -> np.ndarray:
        """Original labels for class indices (regression: the values themselves)."""
        arr = np.asarray(codes)
        if self.task == REGRESSION:
            return arr.astype(np.float64)
        if arr.size and (arr.min() < 0 or arr.max() >= self.n_classes):
            raise DataError(tr("Class index out of range 0..{last}.", last=self.n_classes - 1))
        return np.asarray(self.classes, dtype=object)[arr.astype(np.int64)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "classes": [_plain(c) for c in self.classes],
            "name": self.name,
            "positive_class": _plain(self.positive_class),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> LabelMapping:
        task = d.get("task")
        if task not in TASKS:
            raise TrainingError(tr("The stored label mapping has an unknown task {task!r}.", task=task))
        classes = list(d.get("classes", []))
        if task != REGRESSION and len(classes) < 2:
            raise TrainingError(tr("The stored label mapping has fewer than two classes."))
        return cls(task=task, classes=classes, name=str(d.get("name", "target")))


def _maybe_number(v: Any) -> Any:
    if isinstance(v, str):
        try:
            return float(v)
        except ValueError:
            return v
    return v


def binary_classes(y: pd.Series) -> list[Any]:
    """A binary target's [negative, positive] values as :meth:`LabelMapping.fit` picks them (plain Python)."""
    return [_plain(v) for v in LabelMapping.fit(y, BINARY).classes]


def _sorted_labels(labels: list[Any]) -> list[Any]:
    try:
        return sorted(labels)
    except TypeError:  # mixed numbers and text: sort by text, stable and reproducible
        return sorted(labels, key=lambda v: (type(v).__name__, str(v)))


def _pick_positive(labels: list[Any], counts: Mapping[Any, int]) -> Any:
    first, second = labels
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in labels):
        # 0/1 and -1/1 codes mark the event with 1; other number pairs (1/2, 3/7) say nothing.
        if set(labels) in ({0, 1}, {-1, 1}):
            return 1
    else:
        bad = [v for v in labels if _token(v) in POSITIVE_TOKENS]
        good = [v for v in labels if _token(v) in NEGATIVE_TOKENS]
        if len(bad) == 1:
            return bad[0]
        if len(good) == 1:
            return first if second == good[0] else second
    return first if counts[first] < counts[second] else second


def class_weights(y_encoded: np.ndarray, n_classes: int) -> dict[int, float]:
    """Balanced weights ``n / (n_classes * count)``; a class absent from ``y`` gets 1.0."""
    y = np.asarray(y_encoded, dtype=np.int64)
    counts = np.bincount(y, minlength=n_classes)
    n = len(y)
    return {int(c): (float(n / (n_classes * counts[c])) if counts[c] else 1.0) for c in range(n_classes)}


def suggest_class_weights(y: pd.Series | np.ndarray | Sequence[Any], task: str | None = None) -> bool:
    """On by default for classification when the rarest class is under 20 % of the rows."""
    series = y if isinstance(y, pd.Series) else pd.Series(np.asarray(y))
    series = series.dropna()
    if series.empty:
        return False
    if task is None:
        try:
            task = detect_task(series)
        except TrainingError:
            return False
    if task == REGRESSION:
        return False
    shares = series.map(_label_key).value_counts(normalize=True)
    return len(shares) >= 2 and float(shares.min()) < CLASS_WEIGHT_MINORITY_SHARE


# --------------------------------------------------------------------------------------------
# converting raw columns


def _to_datetime(s: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        out = s
    else:
        # pandas warns when it cannot infer one format; "mixed" below is the answer to that.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            out = pd.to_datetime(s, errors="coerce")
            if out.isna().sum() > s.isna().sum():
                out = pd.to_datetime(s, errors="coerce", format="mixed")
    tz = getattr(out.dt, "tz", None)
    if tz is not None:
        out = out.dt.tz_convert("UTC").dt.tz_localize(None)
    return out


def _datetime_parts(s: pd.Series, origin: pd.Timestamp) -> dict[str, np.ndarray]:
    t = _to_datetime(s)
    valid = t.notna().to_numpy()

    def part(values: pd.Series) -> np.ndarray:
        arr = np.array(values.to_numpy(dtype=np.float64, na_value=np.nan), copy=True)
        arr[~valid] = np.nan
        return arr

    elapsed = (t - origin) / pd.Timedelta(days=1)
    hour = t.dt.hour + t.dt.minute / 60.0 + t.dt.second / 3600.0
    return {
        "elapsed days": part(elapsed),
        "hour": part(hour),
        "day of week": part(t.dt.day_of_week),
        "month": part(t.dt.month),
    }


def _numbers(s: pd.Series) -> np.ndarray:
    """A numeric column as float64, with text that is not a number and +-inf as NaN."""
    if pd.api.types.is_bool_dtype(s.dtype) or pd.api.types.is_numeric_dtype(s.dtype):
        arr = s.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        arr = pd.to_numeric(s, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    arr = arr.copy()
    arr[~np.isfinite(arr)] = np.nan
    return arr


def _category_text(v: Any) -> str:
    v = _plain(v)
    return v.strip() if isinstance(v, str) else str(v)


def _categories(s: pd.Series) -> np.ndarray:
    """A categorical column as an object array of canonical strings (1.0 and 1 -> "1"), NaN missing."""
    positions, uniques = pd.factorize(s, use_na_sentinel=True)
    texts = [_category_text(u) for u in uniques]
    canonical = np.array([t if t != "" else np.nan for t in texts] + [np.nan], dtype=object)
    return canonical[positions]  # position -1 (missing) picks the NaN at the end


# --------------------------------------------------------------------------------------------
# fitting


def fit_recipe(recipe: Recipe, train_df: pd.DataFrame) -> FittedRecipe:
    """Fit ``recipe`` on the training rows (and only those) and return the applyable result.

    Rows without a target value are left out of every statistic.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.decomposition import PCA
    from sklearn.impute import MissingIndicator, SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, RobustScaler, StandardScaler

    recipe.check()
    # The fitted recipe keeps its own copy: later edits of the plan on screen must not change it.
    recipe = Recipe.from_dict(recipe.to_dict())
    frame = apply_derived(train_df, recipe.derived)
    _require_columns(frame, recipe, what=N_("training data"))
    y = target_series(frame, recipe.target)
    labelled = y.notna().to_numpy()
    frame = frame.loc[labelled]
    y = y.loc[labelled]
    task = recipe.task or detect_task(y)
    mapping = LabelMapping.fit(y, task, recipe.positive_class)
    if len(frame) < 2:
        raise TrainingError(trn("Only {n} training row has a target value; at least 2 are needed.",
                                "Only {n} training rows have a target value; at least 2 are needed.", len(frame)))

    origins: dict[str, str] = {}
    for name in recipe.inputs:
        if recipe.plan(name).role == "datetime":
            t = _to_datetime(frame[name])
            if t.notna().sum() == 0:
                raise TrainingError(
                    tr("The date/time column has no readable date in the training rows."),
                    column=name,
                    hint=tr("Drop it or fix its format."),
                )
            origins[name] = t.min().isoformat()
    prepared, sources = _prepare(frame, recipe, origins)

    empty = [c for c in recipe.inputs if all(np.all(_isnan(prepared[f])) for f in sources[c])]
    if empty:
        raise TrainingError(
            tr("These input columns have no value in any training row: {columns}.",
               columns=", ".join(repr(c) for c in empty)),
            column=empty[0],
            hint=tr("Drop them in the recipe, or choose a split that gives them training rows."),
        )
    unimputed = [
        c
        for c in recipe.inputs
        if recipe.plan(c).role != "categorical"
        and recipe.plan(c).impute == "none"
        and any(np.any(_isnan(prepared[f])) for f in sources[c])
    ]
    if unimputed:
        raise TrainingError(
            tr("These columns have missing values in the training rows but no imputation: {columns}.",
               columns=", ".join(repr(c) for c in unimputed)),
            column=unimputed[0],
            hint=tr("Choose an imputation (e.g. median) for them."),
        )

    scalers = {"standard": StandardScaler, "minmax": MinMaxScaler, "robust": RobustScaler}
    transformers: list[tuple[str, Any, list[str]]] = []
    indicator_features: list[str] = []
    for name in recipe.inputs:
        plan = recipe.plan(name)
        features = sources[name]
        if plan.role == "categorical":
            fill = MISSING_CATEGORY if plan.impute == "constant" else None
            imputer = SimpleImputer(strategy=plan.impute, fill_value=fill, missing_values=np.nan)
            encoder = OneHotEncoder(handle_unknown="ignore", sparse_output=False, dtype=np.float64)
            transformers.append(
                (f"cat{len(transformers)}", Pipeline([("impute", imputer), ("onehot", encoder)]), features)
            )
            continue
        steps: list[tuple[str, Any]] = []
        if plan.impute != "none":
            steps.append(("impute", SimpleImputer(strategy=plan.impute, fill_value=0.0)))
            if recipe.add_missing_indicators:
                indicator_features += [f for f in features if np.any(_isnan(prepared[f]))]
        if plan.scale != "none":
            steps.append(("scale", scalers[plan.scale]()))
        transformers.append(
            (f"num{len(transformers)}", Pipeline(steps) if steps else "passthrough", features)
        )
    if indicator_features:
        transformers.append(("missing", MissingIndicator(features="all"), indicator_features))

    columns = ColumnTransformer(
        transformers, remainder="drop", sparse_threshold=0.0, verbose_feature_names_out=False
    )
    steps_all: list[tuple[str, Any]] = [("columns", columns)]
    pca_step = None
    if recipe.pca.enabled:
        n_comp: int | float | None
        if recipe.pca.n_components is not None:
            n_comp = int(recipe.pca.n_components)
        else:
            variance = float(recipe.pca.variance or 0.95)
            n_comp = None if variance >= 1.0 else variance
        pca_step = PCA(n_components=n_comp, svd_solver="full", random_state=0)
        steps_all.append(("pca", pca_step))
    pipeline = Pipeline(steps_all)
    n_before_pca = _count_features(prepared, recipe, sources, indicator_features)
    if pca_step is not None and isinstance(pca_step.n_components, int):
        limit = min(n_before_pca, len(frame))
        if pca_step.n_components > limit:
            raise TrainingError(
                tr("PCA asks for {asked} components, but the recipe gives only {limit} "
                   "({features} features, {rows} training rows).",
                   asked=pca_step.n_components, limit=limit, features=n_before_pca, rows=len(frame)),
                hint=tr("Ask for at most {limit} components, or a share of variance.", limit=limit),
            )
    pipeline.fit(prepared)

    blocks, arrays = _export(columns, recipe, sources)
    names = _feature_names(blocks)
    if pca_step is not None:
        arrays["pca_components"] = np.asarray(pca_step.components_, dtype=np.float64)
        arrays["pca_mean"] = np.asarray(pca_step.mean_, dtype=np.float64)
        arrays["pca_explained_variance"] = np.asarray(pca_step.explained_variance_, dtype=np.float64)
        arrays["pca_explained_variance_ratio"] = np.asarray(
            pca_step.explained_variance_ratio_, dtype=np.float64
        )
        names = [f"PC{i + 1}" for i in range(pca_step.n_components_)]
    if not names:
        raise TrainingError(
            tr("No usable inputs after the recipe: it produces no features."),
            hint=tr("Keep at least one input column."),
        )
    fitted = FittedRecipe(
        recipe=recipe,
        label_mapping=mapping,
        blocks=blocks,
        arrays=arrays,
        feature_names=names,
        datetime_origins=origins,
        schema=_schema(frame, recipe, origins),
        n_train_rows=len(frame),
    )
    fitted.pipeline = pipeline
    return fitted


def _isnan(a: np.ndarray | pd.Series) -> np.ndarray:
    return np.asarray(pd.isna(a), dtype=bool)


def _count_features(
    prepared: pd.DataFrame, recipe: Recipe, sources: dict[str, list[str]], indicators: list[str]
) -> int:
    n = len(indicators)
    for name in recipe.inputs:
        if recipe.plan(name).role == "categorical":
            n += int(pd.Series(prepared[sources[name][0]]).nunique()) + (
                1
                if recipe.plan(name).impute == "constant" and pd.isna(prepared[sources[name][0]]).any()
                else 0
            )
        else:
            n += len(sources[name])
    return n


def _require_columns(df: pd.DataFrame, recipe: Recipe, what: str) -> None:
    """``what``: the data checked, marked with N_ (translated here)."""
    present = set(map(str, df.columns))
    missing = [c for c in recipe.inputs if c not in present]
    if missing:
        shown = ", ".join(repr(c) for c in missing[:10]) + (" ..." if len(missing) > 10 else "")
        raise DataError(
            tr("The {what} lacks {n} column(s) the model needs: {columns}.", what=tr(what), n=len(missing),
               columns=shown),
            column=missing[0],
            hint=tr("Load a file with the same columns as the training data (names must match exactly)."),
        )


def _prepare(
    df: pd.DataFrame, recipe: Recipe, origins: Mapping[str, str]
) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """The input columns as numbers (datetimes expanded) or canonical category text.

    Returns the prepared frame (columns named by feature) and, per input column, its feature names.
    """
    data: dict[str, np.ndarray] = {}
    sources: dict[str, list[str]] = {}
    for name in recipe.inputs:
        plan = recipe.plan(name)
        if plan.role == "numeric":
            data[name] = _numbers(df[name])
            sources[name] = [name]
        elif plan.role == "categorical":
            data[name] = _categories(df[name])
            sources[name] = [name]
        else:
            parts = _datetime_parts(df[name], pd.Timestamp(origins[name]))
            sources[name] = []
            for part, values in parts.items():
                feature = f"{name}: {part}"
                data[feature] = values
                sources[name].append(feature)
    # Categories stay object arrays: pandas would otherwise turn them into its string dtype, which the
    # scikit-learn imputer does not treat as text with NaN holes.
    frame = pd.DataFrame(
        {k: pd.Series(v, index=df.index, dtype=v.dtype, copy=False) for k, v in data.items()}, index=df.index
    )
    return frame, sources


def _export(
    columns: Any, recipe: Recipe, sources: dict[str, list[str]]
) -> tuple[list[dict[str, Any]], dict[str, np.ndarray]]:
    """Read every fitted number out of the ColumnTransformer, in its output order."""
    blocks: list[dict[str, Any]] = []
    arrays: dict[str, np.ndarray] = {}
    for label, transformer, features in columns.transformers_:
        if label == "remainder":
            continue
        features = list(features)
        key = f"b{len(blocks)}"
        if label == "missing":
            blocks.append(
                {
                    "kind": "indicator",
                    "features": features,
                    "columns": [_source_of(f, sources) for f in features],
                }
            )
            continue
        if label.startswith("cat"):
            imputer = transformer.named_steps["impute"]
            encoder = transformer.named_steps["onehot"]
            blocks.append(
                {
                    "kind": "onehot",
                    "column": features[0],
                    "fill": str(imputer.statistics_[0]),
                    "categories": [str(c) for c in encoder.categories_[0]],
                }
            )
            continue
        n = len(features)
        fill = np.full(n, np.nan)
        scale_kind = "none"
        a = np.zeros(n)
        b = np.ones(n)
        steps = getattr(transformer, "named_steps", None)  # "passthrough" comes back as a FunctionTransformer
        if steps is not None:
            if "impute" in steps:
                fill = np.asarray(steps["impute"].statistics_, dtype=np.float64)
            if "scale" in steps:
                scaler = steps["scale"]
                scale_kind = recipe.plan(_source_of(features[0], sources)).scale
                if scale_kind == "standard":
                    a, b = scaler.mean_, scaler.scale_
                elif scale_kind == "robust":
                    a, b = scaler.center_, scaler.scale_
                else:  # minmax: x * scale_ + min_
                    a, b = scaler.scale_, scaler.min_
        arrays[f"{key}_fill"] = np.asarray(fill, dtype=np.float64)
        arrays[f"{key}_a"] = np.asarray(a, dtype=np.float64)
        arrays[f"{key}_b"] = np.asarray(b, dtype=np.float64)
        blocks.append(
            {
                "kind": "numeric",
                "features": features,
                "scale": scale_kind,
                "key": key,
                "column": _source_of(features[0], sources),
            }
        )
    return blocks, arrays


def _source_of(feature: str, sources: Mapping[str, list[str]]) -> str:
    for column, features in sources.items():
        if feature in features:
            return column
    raise KeyError(feature)


def _feature_names(blocks: Sequence[Mapping[str, Any]]) -> list[str]:
    names: list[str] = []
    for block in blocks:
        if block["kind"] == "numeric":
            names += list(block["features"])
        elif block["kind"] == "onehot":
            names += [f"{block['column']}={c}" for c in block["categories"]]
        else:
            names += [f"{f} (missing)" for f in block["features"]]
    return names


def _feature_sources(blocks: Sequence[Mapping[str, Any]]) -> list[str]:
    """The input column behind each feature (before PCA), parallel to :func:`_feature_names`."""
    sources: list[str] = []
    for block in blocks:
        if block["kind"] == "numeric":
            sources += [block["column"]] * len(block["features"])
        elif block["kind"] == "onehot":
            sources += [block["column"]] * len(block["categories"])
        else:
            sources += list(block["columns"])
    return sources


def _schema(frame: pd.DataFrame, recipe: Recipe, origins: Mapping[str, str]) -> list[dict[str, Any]]:
    """What a prediction file must hold: raw input columns and the columns formulas read."""
    derived = {d.name: d for d in recipe.derived}
    needed: list[str] = []

    def need(column: str) -> None:
        if column in needed:
            return
        if column in derived:
            for c in derived[column].columns:
                need(c)
        needed.append(column)

    for name in recipe.inputs:
        need(name)
    schema: list[dict[str, Any]] = []
    n = max(len(frame), 1)
    inputs = set(recipe.inputs)
    for column in needed:
        s = frame[column]
        entry: dict[str, Any] = {
            "name": column,
            "role": recipe.plan(column).role if column in inputs else "formula input",
            "derived": derived[column].expression if column in derived else None,
            "missing_share": float(s.isna().sum() / n),
        }
        role = entry["role"]
        # "median"/"mode": a typical training value, the reference that per-row explanations
        # (core.explain) swap in for an input; kept in the schema so a model file carries it.
        if role == "categorical":
            texts = _categories(s)
            cats = sorted({c for c in texts if isinstance(c, str)})
            counts = pd.Series(texts, dtype=object).dropna().value_counts()
            entry.update(dtype="text", categories=cats, mode=str(counts.index[0]) if len(counts) else None)
        elif role == "datetime":
            t = _to_datetime(s)
            entry.update(
                dtype="datetime", min=t.min().isoformat(), max=t.max().isoformat(), origin=origins[column],
                median=t.dropna().median().isoformat() if t.notna().any() else None,
            )
        else:
            x = _numbers(s)
            finite = x[np.isfinite(x)]
            entry.update(
                dtype="number",
                min=float(finite.min()) if finite.size else None,
                max=float(finite.max()) if finite.size else None,
                median=float(np.median(finite)) if finite.size else None,
            )
        entry["distribution"] = _distribution(s, role)
        schema.append(entry)
    return schema


DISTRIBUTION_BINS = 10


def _distribution(s: pd.Series, role: str) -> dict[str, Any] | None:
    """The training distribution of one input, kept so that prediction can measure drift (PSI).

    Numbers: interior bin edges at the training deciles (repeated edges merged) and the training
    share of values per bin, a value ``x`` falling in bin ``searchsorted(edges, x, side="right")``;
    text: the share of each category. Shares count present values only (missing is its own
    statistic, ``missing_share``). Dates have none: new data lies after the training period by nature.
    """
    if role == "categorical":
        counts = pd.Series(_categories(s), dtype=object).dropna().value_counts()
        total = int(counts.sum())
        return {"categories": {str(k): int(v) / total for k, v in counts.items()}} if total else None
    if role == "datetime":
        return None
    x = _numbers(s)
    x = x[np.isfinite(x)]
    if not x.size:
        return None
    edges = np.unique(np.quantile(x, np.arange(1, DISTRIBUTION_BINS) / DISTRIBUTION_BINS))
    counts = np.bincount(np.searchsorted(edges, x, side="right"), minlength=len(edges) + 1)
    return {"edges": [float(e) for e in edges], "shares": [float(c) / x.size for c in counts]}


# --------------------------------------------------------------------------------------------
# the fitted recipe


class FittedRecipe:
    """A fitted recipe: turns raw rows into the float32 matrix the network reads, and labels into codes."""

    def __init__(
        self,
        recipe: Recipe,
        label_mapping: LabelMapping,
        blocks: list[dict[str, Any]],
        arrays: dict[str, np.ndarray],
        feature_names: list[str],
        datetime_origins: dict[str, str],
        schema: list[dict[str, Any]],
        n_train_rows: int,
    ) -> None:
        self.recipe = recipe
        self.label_mapping = label_mapping
        self.blocks = blocks
        self.arrays = arrays
        self.feature_names = feature_names
        self.datetime_origins = datetime_origins
        self.schema = schema
        self.n_train_rows = n_train_rows
        # The fitted scikit-learn Pipeline, for inspection; None after from_state (not needed to apply).
        self.pipeline: Any = None

    @property
    def n_features(self) -> int:
        return len(self.feature_names)

    @property
    def task(self) -> str:
        return self.label_mapping.task

    @property
    def explained_variance_ratio(self) -> np.ndarray | None:
        """PCA's share of variance per kept component (None without PCA)."""
        return self.arrays.get("pca_explained_variance_ratio")

    def input_schema(self) -> list[dict[str, Any]]:
        """Per needed raw column: name, role, dtype, categories, training min/max, missing share."""
        return [dict(entry) for entry in self.schema]

    def required_columns(self) -> list[str]:
        """The raw columns a prediction file must hold (derived columns are computed)."""
        return [e["name"] for e in self.schema if e["derived"] is None]

    def transform(self, df: pd.DataFrame, *, derived_given: bool = False) -> np.ndarray:
        """The model's input matrix (float32, C-contiguous) for ``df``'s rows.

        ``derived_given``: derived columns already in ``df`` are read as they are, not computed again.
        Raises :class:`DataError` naming columns that are missing, or whose values would leave NaN/inf.
        """
        frame = apply_derived(df, self.recipe.derived, given=derived_given)
        _require_columns(frame, self.recipe, what=N_("data"))
        prepared, _ = _prepare(frame, self.recipe, self.datetime_origins)
        n = len(prepared)
        parts: list[np.ndarray] = []
        for block in self.blocks:
            kind = block["kind"]
            if kind == "numeric":
                x = (
                    np.column_stack([prepared[f].to_numpy(dtype=np.float64) for f in block["features"]])
                    if n
                    else np.zeros((0, len(block["features"])))
                )
                key = block["key"]
                fill = self.arrays[f"{key}_fill"]
                holes = np.isnan(x)
                if holes.any():
                    x = np.where(holes, fill[np.newaxis, :], x)
                a, b = self.arrays[f"{key}_a"], self.arrays[f"{key}_b"]
                if block["scale"] in ("standard", "robust"):
                    x = (x - a) / b
                elif block["scale"] == "minmax":
                    x = x * a + b
                parts.append(x)
            elif kind == "onehot":
                values = prepared[block["column"]].to_numpy(dtype=object)
                missing = pd.isna(values)
                if missing.any():
                    values = values.copy()
                    values[missing] = block["fill"]
                codes = pd.Index(block["categories"], dtype=object).get_indexer(values)
                out = np.zeros((n, len(block["categories"])), dtype=np.float64)
                known = codes >= 0
                out[np.flatnonzero(known), codes[known]] = 1.0
                parts.append(out)
            else:
                parts.append(
                    np.column_stack([_isnan(prepared[f].to_numpy()) for f in block["features"]]).astype(
                        np.float64
                    )
                    if n
                    else np.zeros((0, len(block["features"])))
                )
        x = np.hstack(parts) if parts else np.zeros((n, 0))
        self._check_finite(x, frame)
        if "pca_components" in self.arrays:
            x = (x - self.arrays["pca_mean"]) @ self.arrays["pca_components"].T
        with np.errstate(over="ignore"):  # overflow is reported just below, by column
            out = np.ascontiguousarray(x, dtype=np.float32)
        if not np.all(np.isfinite(out)):
            bad = np.flatnonzero(~np.isfinite(out).all(axis=0))
            if "pca_components" in self.arrays:
                where = tr("the principal components")
                column = None
            else:
                sources = _feature_sources(self.blocks)
                names = list(dict.fromkeys(sources[j] for j in bad))
                where = ", ".join(repr(c) for c in names)
                column = names[0]
            raise DataError(
                tr("Values too large for the model (beyond float32 range) in {where}.", where=where),
                column=column,
                hint=tr("Check the units of these inputs."),
            )
        return out

    def _check_finite(self, x: np.ndarray, frame: pd.DataFrame) -> None:
        bad = ~np.isfinite(x)
        if not bad.any():
            return
        sources = _feature_sources(self.blocks)
        columns: dict[str, int] = {}
        first_row = None
        for j in np.flatnonzero(bad.any(axis=0)):
            column = sources[j]
            columns[column] = max(columns.get(column, 0), int(bad[:, j].sum()))
            row = int(np.argmax(bad[:, j]))
            first_row = row if first_row is None else min(first_row, row)
        shown = tr(", ").join(trn("{value!r} ({n} row)", "{value!r} ({n} rows)", k, value=c) for c, k in columns.items())
        raise DataError(
            tr("Missing or infinite values would reach the model in {columns}; first at data row {row}.",
               columns=shown, row=first_row + 1),
            column=next(iter(columns)),
            hint=tr("Choose an imputation for these columns, or fill in the values."),
        )

    # target

    def encode_target(self, df_or_series: pd.DataFrame | pd.Series) -> np.ndarray:
        """Class indices (int64) or regression values (float32) for the rows' target."""
        y = (
            target_series(df_or_series, self.recipe.target)
            if isinstance(df_or_series, pd.DataFrame)
            else df_or_series
        )
        return self.label_mapping.encode(y)

    def decode_target(self, codes: Sequence[int] | np.ndarray) -> np.ndarray:
        return self.label_mapping.decode(codes)

    # safe serialisation

    def to_state(self) -> dict[str, Any]:
        """Everything needed to apply this recipe: JSON-able values, numbers under ``"arrays"``.

        ``state["arrays"]`` maps names to float64 numpy arrays; the rest is plain JSON (no NaN).
        """
        return {
            "kind": STATE_KIND,
            "version": STATE_VERSION,
            "recipe": self.recipe.to_dict(),
            "label_mapping": self.label_mapping.to_dict(),
            "blocks": [dict(b) for b in self.blocks],
            "feature_names": list(self.feature_names),
            "datetime_origins": dict(self.datetime_origins),
            "schema": [dict(e) for e in self.schema],
            "n_train_rows": int(self.n_train_rows),
            "arrays": {k: np.array(v, dtype=np.float64, copy=True) for k, v in self.arrays.items()},
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> FittedRecipe:
        """Rebuild from :meth:`to_state`; a state that is not one raises :class:`ModelFileError`."""
        if not isinstance(state, Mapping) or state.get("kind") != STATE_KIND:
            raise ModelFileError(tr("The model file holds no preparation recipe of this app."))
        version = state.get("version")
        if not isinstance(version, int) or version > STATE_VERSION:
            raise ModelFileError(
                tr("The stored recipe has version {version!r}; this app reads up to {supported}.",
                   version=version, supported=STATE_VERSION),
                hint=tr("Update the app to open this model."),
            )
        try:
            recipe = Recipe.from_dict(state["recipe"])
            mapping = LabelMapping.from_dict(state["label_mapping"])
            arrays = {str(k): np.asarray(v, dtype=np.float64) for k, v in state["arrays"].items()}
            blocks = [dict(b) for b in state["blocks"]]
            fitted = cls(
                recipe=recipe,
                label_mapping=mapping,
                blocks=blocks,
                arrays=arrays,
                feature_names=[str(f) for f in state["feature_names"]],
                datetime_origins={str(k): str(v) for k, v in state["datetime_origins"].items()},
                schema=[dict(e) for e in state["schema"]],
                n_train_rows=int(state["n_train_rows"]),
            )
            fitted._validate()
        except (
            TrainingError,
            FormulaError,
            KeyError,
            TypeError,
            ValueError,
            AttributeError,
            IndexError,
        ) as exc:
            raise ModelFileError(tr("The stored preparation recipe is damaged ({error}).", error=exc)) from exc
        return fitted

    def _validate(self) -> None:
        """Shapes agree, so a tampered state fails here instead of somewhere in transform."""
        width = 0
        for block in self.blocks:
            kind = block["kind"]
            if kind == "numeric":
                n = len(block["features"])
                for suffix in ("fill", "a", "b"):
                    if self.arrays[f"{block['key']}_{suffix}"].shape != (n,):
                        raise ValueError(f"block {block['key']} has the wrong size")
                if block["scale"] not in SCALES:
                    raise ValueError(f"unknown scaling {block['scale']!r}")
                width += n
            elif kind == "onehot":
                width += len(block["categories"])
            elif kind == "indicator":
                width += len(block["features"])
            else:
                raise ValueError(f"unknown block kind {kind!r}")
        if "pca_components" in self.arrays:
            comps = self.arrays["pca_components"]
            if comps.ndim != 2 or comps.shape[1] != width or self.arrays["pca_mean"].shape != (width,):
                raise ValueError("PCA shapes do not match the features")
            width = comps.shape[0]
        if width != len(self.feature_names):
            raise ValueError("feature count does not match the blocks")
        for name in self.recipe.inputs:
            if self.recipe.plan(name).role == "datetime" and name not in self.datetime_origins:
                raise ValueError(f"no datetime origin for {name!r}")


def pca_variance_curve(recipe: Recipe, train_df: pd.DataFrame) -> np.ndarray:
    """Explained-variance share of every principal component of the recipe's features (for a plot)."""
    from sklearn.decomposition import PCA

    fitted = fit_recipe(replace(recipe, pca=PcaSettings()), train_df)
    labelled = target_series(apply_derived(train_df, recipe.derived), recipe.target).notna().to_numpy()
    x = fitted.transform(train_df.loc[labelled])
    pca = PCA(svd_solver="full").fit(x.astype(np.float64))
    return np.asarray(pca.explained_variance_ratio_, dtype=np.float64)
