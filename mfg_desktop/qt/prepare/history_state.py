"""The Prepare step's sensor-history set-up, without Qt: what the choices are and what they mean.

The rows may be histories (machines, engines, tools, batches, each a sequence of rows). The user
says whose row it is (the entity column) and in what order (the order column, or the row order of
each file), which label is built (the data's own target, remaining useful life, "fails within N",
or a column of a label table joined onto the entities), and which causal window features are
added. :class:`HistoryChoices` holds that and turns it into the core :class:`HistorySpec` the CLI
builds from ``train --entity --order --rul ...``; :func:`mfg_desktop.qt.prepare.jobs.build_history`
then does what ``cli._history_training`` does, on a worker thread.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mfg_desktop.core.errors import MfgError
from mfg_desktop.core.history import DEFAULT_MAX_GAP, DEFAULT_SIZES, SOURCE_FILE, HistorySpec, build_label
from mfg_desktop.core.i18n import tr

if TYPE_CHECKING:
    from mfg_desktop.core.history import HistorySuggestion

# The label rules the form offers: the data's target, built from the end of each history, or joined.
LABEL_TARGET, LABEL_RUL, LABEL_FAILS, LABEL_JOIN = "target", "rul", "fails_within", "join"
LABEL_RULES = (LABEL_TARGET, LABEL_RUL, LABEL_FAILS, LABEL_JOIN)
# Roles of the columns that say where a row is; they are no inputs unless ticked on purpose.
ROLE_ENTITY, ROLE_ORDER, ROLE_SOURCE = "entity", "order", "source"
DEFAULT_RUL_CAP = 125.0  # the usual cap of the C-MAPSS literature; the user changes it
DEFAULT_FAILS_WITHIN = 30.0
# The entity box's "one history" entry (all rows are one machine's): no column can have this name.
ONE_HISTORY = "\x00one history"
CURVE_MAX_ROWS = 5_000  # the label curve of one entity: enough points to see its shape


def parse_sizes(text: str) -> tuple[int, ...]:
    """Window sizes typed as ``5, 10, 20``; raises :class:`MfgError` naming what is not a size."""
    parts = [p.strip() for p in str(text).replace(";", ",").split(",") if p.strip()]
    sizes = []
    for part in parts:
        try:
            value = int(part)
        except ValueError:
            raise MfgError(f"The window size {part!r} is not a whole number.",
                           hint="Type whole numbers separated by commas, e.g. 5, 10, 20.") from None
        if value < 1:
            raise MfgError(f"The window size {value} must be at least 1.", hint="E.g. 5, 10, 20.")
        sizes.append(value)
    if not sizes:
        raise MfgError("No window size given.", hint="Type whole numbers separated by commas, e.g. 5, 10, 20.")
    return tuple(dict.fromkeys(sizes))


@dataclass
class HistoryChoices:
    """What the history form says. ``entity`` None: independent rows (no history set-up at all)."""

    entity: str | None = None
    order: str | None = None  # None: the row order within each entity (each file)
    label: str = LABEL_TARGET
    rul_cap: float | None = DEFAULT_RUL_CAP
    fails_within: float = DEFAULT_FAILS_WITHIN
    windows: str = "minimal"
    sizes_text: str = ", ".join(map(str, DEFAULT_SIZES))
    join_path: str | None = None
    join_key: str | None = None  # the table's key column
    history_key: str | None = None  # the history side: a column, or source_file (the file name's number)
    join_target: str | None = None  # the table column that becomes the target
    single: bool = False  # all rows are one history (one machine): no entity column
    resample: str | None = None  # a fixed step for irregular timestamps ("10s", "1min"); None keeps the rows
    max_gap: int = DEFAULT_MAX_GAP  # empty steps filled with the last reading; a longer gap stays missing

    @property
    def active(self) -> bool:
        return self.entity is not None or self.order is not None or self.single

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values, as saved work keeps them."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> HistoryChoices:
        """Rebuild saved choices; raises :class:`MfgError` when they are not the app's own."""
        known = {f.name for f in fields(cls)}
        try:
            choices = cls(**{k: v for k, v in d.items() if k in known})
        except TypeError as exc:
            raise MfgError(tr("The saved history set-up is malformed ({reason}).", reason=exc)) from exc
        if choices.label not in LABEL_RULES:
            raise MfgError(tr("The saved history set-up has an unknown label rule {rule!r}.", rule=choices.label))
        choices.spec()
        return choices

    def spec(self) -> HistorySpec:
        """The core spec (checked); raises :class:`MfgError` saying what to change on the form."""
        label = self.label if self.label in (LABEL_RUL, LABEL_FAILS) else "none"
        spec = HistorySpec(
            entity=self.entity, order=self.order, label=label,
            rul_cap=self.rul_cap if label == LABEL_RUL else None,
            fails_within=self.fails_within if label == LABEL_FAILS else None,
            windows=self.windows,
            sizes=parse_sizes(self.sizes_text) if self.windows != "none" else DEFAULT_SIZES,
            resample=self.resample, max_gap=int(self.max_gap),
        )
        spec.check()
        if self.label == LABEL_JOIN:
            if not self.join_path:
                raise MfgError(tr("Choose the label table to join (Browse…)."))
            if not (self.join_key and self.history_key):
                raise MfgError(tr("Choose the key column on each side of the join."))
            if not self.join_target:
                raise MfgError(tr("Choose the column of the label table that is the target."))
        return spec

    def target(self, data_target: Any) -> str | None:
        """The column the model learns: the built label, the joined column, or the data's target."""
        if self.label in (LABEL_RUL, LABEL_FAILS):
            return self.spec().label_column
        if self.label == LABEL_JOIN:
            return self.join_target
        if isinstance(data_target, list):
            raise MfgError("A target made of one-hot columns cannot be used with histories.",
                           hint="Pick a single target column on the Data step, or build a label here.")
        return data_target


@dataclass
class EntityOption:
    """One entry of the entity or order box: the column (None: none) and why it is offered first."""

    column: str | None
    reason: str = ""  # the suggestion's reason, empty for the other columns
    suggested: bool = False


def entity_options(columns: list[str], suggestion: HistorySuggestion | None) -> list[EntityOption]:
    """None (independent rows) first, then one history (all rows one machine's), the suggested
    entity columns with their reasons, ``source_file`` when several files were loaded, the rest."""
    options = [EntityOption(None), EntityOption(ONE_HISTORY)]
    seen: set[str] = set()
    for name, why in (suggestion.entity_candidates if suggestion else []):
        options.append(EntityOption(name, why, suggested=name == suggestion.entity))
        seen.add(name)
    if SOURCE_FILE in columns and SOURCE_FILE not in seen:
        options.append(EntityOption(SOURCE_FILE))  # the view says: one history per loaded file
        seen.add(SOURCE_FILE)
    options += [EntityOption(c) for c in columns if c not in seen]
    return options


def order_options(columns: list[str], suggestion: HistorySuggestion | None, entity: str | None) -> list[EntityOption]:
    """The row order in the file first (None), then the suggested order columns, then the rest."""
    options = [EntityOption(None)]
    seen = {entity} if entity else set()
    for name, why in (suggestion.order_candidates if suggestion else []):
        if name not in seen:
            options.append(EntityOption(name, why, suggested=name == suggestion.order))
            seen.add(name)
    options += [EntityOption(c) for c in columns if c not in seen and c != SOURCE_FILE]
    return options


def history_key_options(columns: list[str]) -> list[str]:
    """The history side of a join: ``source_file`` (its name's stem or number) first when there."""
    return ([SOURCE_FILE] if SOURCE_FILE in columns else []) + [c for c in columns if c != SOURCE_FILE]


def context_roles(spec: HistorySpec, columns: list[str]) -> dict[str, str]:
    """Column -> role (entity / order / source) of the columns that are no inputs by default."""
    roles = {}
    if SOURCE_FILE in columns:
        roles[SOURCE_FILE] = ROLE_SOURCE
    if spec.order in columns:
        roles[spec.order] = ROLE_ORDER
    if spec.entity in columns:
        roles[spec.entity] = ROLE_ENTITY
    return roles


def ticked_context(roles: dict[str, str], used: list[str]) -> list[tuple[str, str]]:
    """(column, role) of the context columns the user ticked as inputs on purpose (each gets a warning)."""
    return [(c, roles[c]) for c in used if c in roles]


def default_split(spec: HistorySpec) -> tuple[str, str | None]:
    """By entity when there are entities (test entities unseen in training), by order for a single
    history with an order column, else random: the same rule as the CLI's ``default_split_text``."""
    if spec.entity:
        return "group", spec.entity
    if spec.order:
        return "time", spec.order
    return "random", None


def time_ordered_columns(frame: pd.DataFrame, suggestion: HistorySuggestion | None) -> list[str]:
    """Columns that say the rows are ordered in time: timestamps, and the suggested order column
    when an entity was suggested (a cycle counter rising within each machine). A random split of
    such rows puts neighbours of the test rows into training."""
    found = [str(c) for c, dtype in frame.dtypes.items() if pd.api.types.is_datetime64_any_dtype(dtype)]
    if suggestion is not None and suggestion.entity and suggestion.order and suggestion.order not in found:
        found.append(suggestion.order)
    return found


def order_is_time(frame: pd.DataFrame | None, order: str | None) -> bool:
    """Whether the order column holds timestamps (windows and lengths are then in seconds)."""
    return frame is not None and order in frame.columns and not pd.api.types.is_numeric_dtype(frame[order])


def entity_values(frame: pd.DataFrame, entity: str | None, limit: int = 500) -> list[Any]:
    """The entities in order of first appearance (for the box that picks whose label curve to show)."""
    if not entity or entity not in frame.columns:
        return []
    return list(pd.unique(frame[entity].dropna()))[:limit]


def label_curve(frame: pd.DataFrame, choices: HistoryChoices, value: Any) -> tuple[np.ndarray, np.ndarray]:
    """The built label of one entity along its order (x: order value, or row number from 1).

    Only that entity's rows are labelled, with the windows off: the curve shows the label rule
    (the cap's knee, the fails-within step), and costs milliseconds also on a million rows."""
    spec = replace(choices.spec(), windows="none", inputs=[])
    if spec.label == "none" or not spec.entity:
        return np.zeros(0), np.zeros(0)
    rows = frame.loc[frame[spec.entity] == value]
    label = build_label(rows, spec)
    if spec.order:
        x = rows[spec.order]
        x = x.to_numpy() if not pd.api.types.is_datetime64_any_dtype(x.dtype) else \
            ((x - x.min()) / pd.Timedelta(hours=1)).to_numpy()
    else:
        x = np.arange(1, len(rows) + 1)
    order = np.argsort(np.asarray(x, dtype=np.float64), kind="stable")[:CURVE_MAX_ROWS]
    return np.asarray(x, dtype=np.float64)[order], label.to_numpy(dtype=np.float64)[order]


@dataclass
class HistoryBuild:
    """What the worker built: the frame with label and window features, its target and target
    report, the columns that are no inputs by default (with their roles), the join's report."""

    frame: pd.DataFrame
    target: str
    spec: HistorySpec
    report: Any  # core.profile.TargetReport on the built frame, leak detection knowing the entity
    roles: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    join_lines: list[str] = field(default_factory=list)
    unmatched: dict[str, int] = field(default_factory=dict)  # history key -> rows without a table row

    @property
    def n_features(self) -> int:
        from mfg_desktop.core.history import feature_names

        return len(feature_names(self.spec))
