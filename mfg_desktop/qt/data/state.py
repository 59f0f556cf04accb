"""What the Data step decides, without Qt: which targets are offered, which one is suggested, which
column is plotted and how, the class balance rows and the notes shown for a column.

The loaded data, its profile, the target and the target's report live in the session
(:class:`~mfg_desktop.qt.session.SessionModel`); this state adds what the step itself chose and
the rules that used to hide in the panel's widget handlers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mfg_desktop.core.profile import DataProfile, TargetReport

Target = str | list[str]

# Beyond this many classes the balance table shows the largest ones only.
MAX_CLASS_ROWS = 25
# A class below this share of the rows is rare: accuracy says little about it.
RARE_CLASS_SHARE = 0.05
# A column of categories is drawn as its most frequent values, the rest as one "other" bar: more
# bars than this do not fit the plot beside the quality table (the demo's batch_id has 224).
PLOT_CATEGORIES = 10
HISTOGRAM_BINS = 30
_HISTOGRAM_KINDS = ("numeric", "integer", "datetime")


def plotted_as_histogram(kind: str) -> bool:
    """Numbers and dates are binned; categories, flags and text are counted value by value."""
    return kind in _HISTOGRAM_KINDS


def kind_from_dtype(dtype: Any) -> str:
    """A profile kind for a column the profile does not know yet (profiling still runs)."""
    import pandas as pd

    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_numeric_dtype(dtype):
        return "numeric"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    return "categorical"


@dataclass(frozen=True)
class TargetOption:
    """One entry of the target picker: a column, or a group of one-hot columns taken as one target."""

    target: Target
    columns: list[str] = field(default_factory=list)

    @property
    def is_group(self) -> bool:
        return isinstance(self.target, list)


def target_options(profile: DataProfile) -> list[TargetOption]:
    """The one-hot groups first (the usual multiclass target of such tables), then every column."""
    groups = [TargetOption(list(group), list(group)) for group in profile.onehot_groups]
    return groups + [TargetOption(col.name, [col.name]) for col in profile.columns]


@dataclass(frozen=True)
class BalanceRow:
    label: str
    count: int
    share: float

    @property
    def rare(self) -> bool:
        return self.share < RARE_CLASS_SHARE


def balance_rows(report: TargetReport, limit: int = MAX_CLASS_ROWS) -> list[BalanceRow]:
    """The classes, largest first, at most ``limit``; shares are of all rows, shown or not."""
    total = sum(report.class_counts.values()) or 1
    counts = sorted(report.class_counts.items(), key=lambda kv: -kv[1])[:limit]
    return [BalanceRow(str(label), count, count / total) for label, count in counts]


def other_target_warnings(report: TargetReport) -> list[str]:
    """The report's warnings except the leak summary, which the leak list already tells."""
    return report.other_warnings()


@dataclass(frozen=True)
class ColumnNotes:
    """What to say about one column below the quality table."""

    name: str
    is_target: bool
    leak_reasons: list[str]
    warnings: list[str]


def column_notes(profile: DataProfile, report: TargetReport | None, name: str) -> ColumnNotes:
    leaks = [s.reason for s in report.leak_suspects if s.column == name] if report is not None else []
    is_target = report is not None and name in report.columns
    return ColumnNotes(name, is_target, leaks, list(profile.column(name).warnings))


def first_column_to_show(profile: DataProfile) -> str | None:
    """The first column with a warning (what to look at first), else the first column."""
    flagged = [c.name for c in profile.columns if c.warnings]
    if flagged:
        return flagged[0]
    return profile.columns[0].name if profile.columns else None


class DataState:
    """The column plotted and the target suggested for the data now loaded."""

    def __init__(self) -> None:
        self.plot_column: str | None = None
        self.suggested: Target | None = None

    def new_data(self) -> None:
        self.plot_column = None
        self.suggested = None

    def suggest(self, profile: DataProfile, current: Target | None) -> Target | None:
        """The target to preselect once the profile is in: a guess from the profile, unless one is chosen."""
        from mfg_desktop.core.profile import suggest_target

        self.suggested = suggest_target(profile) if current is None else None
        return self.suggested

    def is_suggested(self, target: Target | None) -> bool:
        """Whether ``target`` is still the one the step suggested (not one the user picked)."""
        return target is not None and _same_target(target, self.suggested)

    def plot_kind(self, name: str, frame: Any, profile: DataProfile | None) -> str | None:
        """Start plotting ``name``: its kind, or None when it is plotted already or not in ``frame``."""
        if name == self.plot_column or name not in frame.columns:
            return None
        self.plot_column = name
        return profile.column(name).kind if profile is not None else kind_from_dtype(frame[name].dtype)


def _same_target(a: Target, b: Target | None) -> bool:
    """The session stores a one-column group as the column's name."""
    def norm(t: Target | None) -> Any:
        return t[0] if isinstance(t, list) and len(t) == 1 else t

    return norm(a) == norm(b)
