"""What the Prepare step holds and the rules it follows, without Qt.

:class:`PrepareState` keeps the column plans being edited, the leak suspects and their "natural"
plans, the derived columns and the PCA preview, and answers the questions the views ask: which
values a cell may take, what a column becomes when it is ticked again, which split column to
offer, whether class weights are advised, how many PCA components a choice keeps, what is still
missing before training. The views bind their widgets to it; the panel writes its results into
the session.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mfg_desktop.core.formula import DerivedColumn, parse_derived
from mfg_desktop.core.recipe import (
    CATEGORICAL_IMPUTE,
    CLASS_WEIGHT_MINORITY_SHARE,
    ENCODINGS,
    NUMERIC_IMPUTE,
    ROLES,
    SCALES,
    ColumnPlan,
    PcaSettings,
    Recipe,
)
from mfg_desktop.core.split import SplitSpec
from mfg_desktop.core.task import REGRESSION

if TYPE_CHECKING:
    from mfg_desktop.core.profile import TargetReport

FIELDS = ("role", "impute", "scale", "encode")
# Words in a column name that make it a likely time column or machine/batch id for the split.
TIME_WORDS = ("time", "date", "stamp")
GROUP_WORDS = ("machine", "batch", "lot", "line", "tool", "station")
# What still has to be fixed before training (the header turns them into sentences).
NEEDS_INPUTS = "inputs"
NEEDS_SPLIT = "split"


def field_options(field: str, role: str) -> tuple[str, ...]:
    """The values a setting may take for a column of ``role`` (empty: the setting does not apply)."""
    if field == "role":
        return ROLES
    if role == "drop":
        return ()
    if field == "impute":
        return CATEGORICAL_IMPUTE if role == "categorical" else NUMERIC_IMPUTE
    if field == "scale":
        return () if role == "categorical" else SCALES
    if field == "encode":
        return ENCODINGS if role == "categorical" else ()
    return ()


def fit_to_role(plan: ColumnPlan) -> ColumnPlan:
    """Make the other settings valid for the plan's role after the role changed."""
    if plan.role == "categorical" and plan.impute not in CATEGORICAL_IMPUTE:
        plan = replace(plan, impute="most_frequent")
    if plan.role in ("numeric", "datetime") and plan.impute not in NUMERIC_IMPUTE:
        plan = replace(plan, impute="median")
    if plan.role in ("numeric", "datetime") and plan.scale not in SCALES:
        plan = replace(plan, scale="standard")
    if plan.role == "categorical" and plan.encode not in ENCODINGS:
        plan = replace(plan, encode=ENCODINGS[0])
    return plan


def role_of_dtype(dtype: Any) -> str:
    """The role a column of this dtype gets when nothing better is known."""
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
        return "numeric"
    return "categorical"


def target_list(target: str | list[str] | None) -> list[str]:
    if target is None:
        return []
    return list(target) if isinstance(target, list) else [target]


@dataclass(frozen=True)
class WeightAdvice:
    """Whether class weights apply to the target, and whether they are advised (and why)."""

    regression: bool
    applies: bool
    suggested: bool = False
    rarest: str = ""
    share: float = 0.0
    limit: float = CLASS_WEIGHT_MINORITY_SHARE

    @classmethod
    def of(cls, report: TargetReport) -> WeightAdvice:
        regression = report.task == REGRESSION
        if regression or report.minority_share is None:
            return cls(regression=regression, applies=False)
        counts = report.class_counts
        rarest = min(counts, key=lambda k: counts[k]) if counts else ""
        share = float(report.minority_share)
        return cls(regression=False, applies=True, suggested=share < cls.limit, rarest=rarest, share=share)

    def class_weight(self, checked: bool) -> bool | None:
        """The session's class-weight choice for the check box's state (None: not a classification)."""
        return None if self.regression else checked


def pca_settings(enabled: bool, by_count: bool, count: int, share: float) -> PcaSettings:
    """The PCA choice of the form: off, a fixed number of components, or a share of variance."""
    if not enabled:
        return PcaSettings()
    if by_count:
        return PcaSettings(enabled=True, n_components=count, variance=None)
    return PcaSettings(enabled=True, n_components=None, variance=round(share, 4))


def pca_selection(ratios: np.ndarray, by_count: bool, count: int, share_goal: float) -> tuple[int, float]:
    """How many components the choice keeps and the share of variance they hold."""
    cumulative = np.cumsum(ratios)
    if by_count:
        kept = min(count, len(ratios))
    else:
        kept = int(min(np.searchsorted(cumulative, share_goal - 1e-9) + 1, len(ratios)))
    return kept, float(cumulative[kept - 1])


def split_spec(method: str, column: str | None, train: float, valid: float, test: float) -> SplitSpec:
    """The split the form describes; raises the core's error (with the reason) when it is not valid."""
    spec = SplitSpec(
        method=method,
        column=column if method != "random" else None,
        train=round(train, 4),
        valid=round(valid, 4),
        test=round(test, 4),
    )
    spec.check()
    return spec


class PrepareState:
    """The Prepare step's working state: the plans per column, leaks, derived columns, PCA preview."""

    def __init__(self) -> None:
        self.plans: list[ColumnPlan] = []
        self.leaks: dict[str, str] = {}  # leak suspect -> why
        self.natural: dict[str, ColumnPlan] = {}  # leak suspect -> the plan it would get otherwise
        self.derived: list[DerivedColumn] = []
        self.task: str | None = None
        self.target: str | list[str] | None = None
        self.pca_ratios: np.ndarray | None = None
        self.columns: list[str] = []  # of the loaded frame
        self._dtype_roles: dict[str, str] = {}
        self._last_used_role: dict[str, str] = {}

    # -- the data and the target ------------------------------------------------------------------
    def set_data(self, frame: Any) -> None:
        """New data: its columns, and nothing of the old data's preparation."""
        self.columns = [str(c) for c in frame.columns] if frame is not None else []
        self._dtype_roles = (
            {str(name): role_of_dtype(dtype) for name, dtype in frame.dtypes.items()}
            if frame is not None
            else {}
        )
        self.derived = []
        self.reset()

    def reset(self) -> None:
        """Nothing is proposed yet (a new target is being analysed)."""
        self.plans = []
        self.pca_ratios = None

    def begin(self, target: str | list[str], report: TargetReport) -> None:
        """A target was analysed: its task and leak suspects; the proposal follows."""
        self.target = target
        self.leaks = {s.column: s.reason for s in report.leak_suspects}
        self.task = report.task
        self.plans = []

    def apply_proposal(self, recipe: Recipe, natural: dict[str, ColumnPlan]) -> int | None:
        """Take a proposed recipe; columns already set up keep their settings, new ones come in.

        Returns the row of the first leak suspect (the one whose reason to show), or None.
        """
        self.task = recipe.task or self.task
        self.natural.update(natural)
        kept = {p.name: p for p in self.plans}
        self.plans = [kept.get(p.name, p) for p in recipe.columns]
        self.target = recipe.target
        return next((row for row, p in enumerate(self.plans) if p.name in self.leaks), None)

    # -- the column plans -------------------------------------------------------------------------
    def row_of(self, name: str) -> int:
        for row, plan in enumerate(self.plans):
            if plan.name == name:
                return row
        raise KeyError(name)

    def is_used(self, row: int) -> bool:
        return self.plans[row].role != "drop"

    def is_derived(self, name: str) -> bool:
        return any(d.name == name for d in self.derived)

    def used_columns(self) -> list[str]:
        return [p.name for p in self.plans if p.role != "drop"]

    def options(self, row: int, field: str | None) -> tuple[str, ...]:
        """Values the setting ``field`` of the plan at ``row`` may take; empty where none applies."""
        if field is None or not 0 <= row < len(self.plans):
            return ()
        return field_options(field, self.plans[row].role)

    def role_when_used(self, name: str) -> str:
        """The role a column gets when ticked: the last one used, else what it would be proposed as."""
        if name in self._last_used_role:
            return self._last_used_role[name]
        natural = self.natural.get(name)
        if natural is not None and natural.role != "drop":
            return natural.role
        return self._dtype_roles.get(name, "numeric")

    def set_used(self, name: str, used: bool) -> tuple[int, bool]:
        """Tick (use as input) or untick (leave out) a column: its row, and whether it changed."""
        row = self.row_of(name)
        plan = self.plans[row]
        if used == (plan.role != "drop"):
            return row, False
        if used:
            role = self.role_when_used(name)
            natural = self.natural.get(name)
            if natural is not None and natural.role == role:
                plan = replace(natural, reason=plan.reason)
            else:
                plan = fit_to_role(replace(plan, role=role))
        else:
            self._last_used_role[name] = plan.role
            plan = replace(plan, role="drop")
        self.plans[row] = plan
        return row, True

    def set_plan(self, name: str, **changes: str) -> int:
        """Change a column's settings (role, impute, scale, encode); returns its row."""
        row = self.row_of(name)
        plan = self.plans[row]
        role = changes.get("role")
        if role is not None and plan.role != "drop":
            # a used column changing role (or being dropped) remembers the role it is used with
            self._last_used_role[name] = role if role != "drop" else plan.role
        self.plans[row] = fit_to_role(replace(plan, **changes))
        return row

    # -- derived columns --------------------------------------------------------------------------
    def available_columns(self) -> list[str]:
        """What a formula may refer to: the loaded columns and the derived ones so far."""
        return self.columns + [d.name for d in self.derived]

    def check_formula(self, text: str) -> DerivedColumn:
        """The derived column ``NAME = FORMULA`` describes; raises MfgError saying what is wrong."""
        return parse_derived(text, self.available_columns())

    def add_derived(self, text: str) -> DerivedColumn:
        derived = self.check_formula(text)
        self.derived.append(derived)
        return derived

    def users_of(self, name: str) -> list[str]:
        """The derived columns computed from ``name`` (it cannot be removed while there are any)."""
        return [d.name for d in self.derived if name in d.columns]

    def remove_derived(self, name: str) -> int:
        """Remove a derived column nothing else uses; returns where it was in the list."""
        if self.users_of(name):
            raise ValueError(f"{name!r} is used by {', '.join(self.users_of(name))}")
        index = next(i for i, d in enumerate(self.derived) if d.name == name)
        del self.derived[index]
        return index

    # -- the split --------------------------------------------------------------------------------
    def split_candidates(self) -> list[str]:
        """The columns a time or group split may use (every loaded column but the target's)."""
        targets = set(target_list(self.target))
        return [c for c in self.columns if c not in targets]

    def suggest_split_column(self, method: str, names: list[str]) -> str | None:
        """A likely column: a date/time one for a time split, a machine/batch id for a group split."""
        if method == "time":
            preferred = [n for n in names if self._dtype_roles.get(n) == "datetime"]
            preferred += [n for n in names if any(k in n.lower() for k in TIME_WORDS)]
        elif method == "group":
            preferred = [n for n in names if any(k in n.lower() for k in GROUP_WORDS)]
        else:
            return None
        return preferred[0] if preferred else None

    def set_pca_ratios(self, ratios: Any) -> None:
        """The PCA preview: explained-variance share per component, largest first."""
        self.pca_ratios = np.asarray(ratios, dtype=np.float64)

    # -- the result -------------------------------------------------------------------------------
    def recipe(self, pca: PcaSettings) -> Recipe | None:
        """The recipe the Train step reads (None until a proposal arrived)."""
        if not self.plans or self.target is None:
            return None
        return Recipe(
            target=self.target,
            columns=[replace(p) for p in self.plans],
            derived=list(self.derived),
            pca=pca,
            task=self.task,
        )

    def needs(self, split: SplitSpec | None) -> list[str]:
        """What must be fixed before training (NEEDS_INPUTS, NEEDS_SPLIT); empty: ready."""
        problems = []
        if not self.used_columns():
            problems.append(NEEDS_INPUTS)
        if split is None:
            problems.append(NEEDS_SPLIT)
        return problems
