"""The Prepare step's background work: plain ``fn(..., state)`` functions run on a worker thread."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from mfg_desktop.core.formula import DerivedColumn
    from mfg_desktop.core.jobs import JobState
    from mfg_desktop.core.recipe import ColumnPlan, Recipe
    from mfg_desktop.core.split import SplitSpec


def propose(
    frame: pd.DataFrame,
    target: str | list[str],
    derived: list[DerivedColumn],
    leaks: dict[str, str],
    state: JobState,
) -> tuple[Recipe, dict[str, ColumnPlan]]:
    """The proposed recipe, and for each leak suspect the plan it would get if it were not one."""
    from mfg_desktop.core.recipe import propose_recipe
    from mfg_desktop.core.task import target_columns

    recipe = propose_recipe(frame, target, derived=derived, leak_suspects=leaks)
    state.check_cancelled()
    natural: dict[str, ColumnPlan] = {}
    suspects = [c for c in leaks if c in frame.columns]
    if suspects:
        targets = target_columns(target, [str(c) for c in frame.columns])
        natural = {p.name: p for p in propose_recipe(frame[targets + suspects], target).columns}
    return recipe, natural


def pca_variance(frame: pd.DataFrame, recipe: Recipe, split_spec: SplitSpec, state: JobState) -> np.ndarray:
    """Explained-variance shares of the recipe's features, fitted on the training rows only."""
    import numpy as np

    from mfg_desktop.core.recipe import pca_variance_curve
    from mfg_desktop.core.split import make_split
    from mfg_desktop.core.task import detect_task, target_series

    y_all = target_series(frame, recipe.target)
    labelled = np.flatnonzero(y_all.notna().to_numpy())
    rows, y = frame.iloc[labelled], y_all.iloc[labelled]
    split = make_split(rows, y, split_spec, recipe.task or detect_task(y))
    state.check_cancelled()
    return pca_variance_curve(recipe, rows.iloc[split.train])
