"""The Prepare step's background work: plain ``fn(..., state)`` functions run on a worker thread."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from mfg_desktop.core.formula import DerivedColumn
    from mfg_desktop.core.history import HistoryCheck, HistorySpec, HistorySuggestion
    from mfg_desktop.core.jobs import JobState
    from mfg_desktop.core.recipe import ColumnPlan, Recipe
    from mfg_desktop.core.split import SplitSpec
    from mfg_desktop.qt.prepare.history_state import HistoryBuild, HistoryChoices


def propose(
    frame: pd.DataFrame,
    target: str | list[str],
    derived: list[DerivedColumn],
    leaks: dict[str, str],
    state: JobState,
    not_inputs: dict[str, str] | None = None,
) -> tuple[Recipe, dict[str, ColumnPlan]]:
    """The proposed recipe, and for each leak suspect the plan it would get if it were not one.

    ``not_inputs``: column -> why it starts unticked (a history's entity, order and source file)."""
    from dataclasses import replace

    from mfg_desktop.core.recipe import propose_recipe
    from mfg_desktop.core.task import target_columns

    not_inputs = {c: why for c, why in (not_inputs or {}).items() if c in frame.columns}
    recipe = propose_recipe(frame, target, exclude=list(not_inputs), derived=derived, leak_suspects=leaks)
    recipe.columns = [replace(p, reason=not_inputs[p.name]) if p.name in not_inputs else p for p in recipe.columns]
    state.check_cancelled()
    natural: dict[str, ColumnPlan] = {}
    suspects = [c for c in dict.fromkeys([*leaks, *not_inputs]) if c in frame.columns]
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


def suggest_history_job(frame: pd.DataFrame, state: JobState) -> tuple[HistorySuggestion, list[str]]:
    """The entity and order columns that look right, and the columns that say the rows are in time order."""
    from mfg_desktop.core.history import suggest_history
    from mfg_desktop.qt.prepare.history_state import time_ordered_columns

    suggestion = suggest_history(frame)
    state.check_cancelled()
    return suggestion, time_ordered_columns(frame, suggestion)


def check_history_job(frame: pd.DataFrame, spec: HistorySpec, state: JobState) -> HistoryCheck:
    """What is wrong with the entity and order columns (each problem an MfgError in ``errors``)."""
    from dataclasses import replace

    from mfg_desktop.core.history import check_history

    spec = replace(spec, inputs=list(spec.inputs))  # check_history sets order_kind: not on the form's copy
    return check_history(frame, spec)


def table_columns_job(path: str, state: JobState) -> list[str]:
    """The columns of the label table the user picked (its key and target are chosen from them)."""
    from mfg_desktop.core.ingest import load_files

    return [str(c) for c in load_files([path]).frame.columns]


class _Share:
    """A job state for one part of a job: its progress fills ``start``..``end`` of the whole, and
    it is cancelled when the whole job is."""

    def __init__(self, whole: JobState, start: float, end: float) -> None:
        self.whole, self.start, self.end = whole, start, end

    def set_progress(self, fraction: float, message: str = "") -> None:
        self.whole.set_progress(self.start + (self.end - self.start) * min(max(fraction, 0.0), 1.0), message)

    def is_interruption_requested(self) -> bool:
        return self.whole.is_interruption_requested()

    def check_cancelled(self) -> None:
        self.whole.check_cancelled()


def build_history(
    frame: pd.DataFrame,
    choices: HistoryChoices,
    data_target: str | list[str] | None,
    data_files: list[str],
    state: JobState,
) -> HistoryBuild:
    """Join the label table, build the label and the causal window features, analyse the target.

    What ``mfg-desktop train --entity ... --order ... --rul ...`` does before it fits (the CLI's
    ``_history_training``), so the Train step then trains exactly as the CLI does."""
    from pathlib import Path

    from mfg_desktop.core.history import SOURCE_FILE, join_table, prepare_training
    from mfg_desktop.core.ingest import load_files
    from mfg_desktop.core.profile import analyze_target, profile_frame
    from mfg_desktop.qt.prepare.history_state import LABEL_JOIN, HistoryBuild, context_roles

    spec = choices.spec()
    target = choices.target(data_target)
    uses_file = SOURCE_FILE in (spec.entity, choices.history_key if choices.label == LABEL_JOIN else None)
    if uses_file and SOURCE_FILE not in frame.columns and len(data_files) == 1:
        frame = frame.copy()  # one file loaded: one history, named like the column several files get
        frame.insert(0, SOURCE_FILE, Path(data_files[0]).name)
    state.set_progress(0.05, "checking the histories")
    join_lines: list[str] = []
    unmatched: dict[str, int] = {}
    if choices.label == LABEL_JOIN:
        state.set_progress(0.1, "joining the label table")
        table = load_files([choices.join_path]).frame
        frame, joined = join_table(frame, table, choices.history_key, choices.join_key,
                                   Path(choices.join_path).name)
        join_lines, unmatched = joined.lines(), dict(joined.unmatched)
        state.check_cancelled()
    state.set_progress(0.25, "building the label and the window features")
    training = prepare_training(frame, spec, target=None if spec.label_column else target)
    state.check_cancelled()
    state.set_progress(0.4, "analysing the target")
    # the longest part on many rows, profiling every feature column: with progress and Cancel
    profile = profile_frame(training.frame, state=_Share(state, 0.4, 0.85))
    report = analyze_target(training.frame, training.target, profile=profile, entity=spec.entity,
                            state=_Share(state, 0.85, 1.0))
    state.check_cancelled()
    state.set_progress(1.0, "")
    return HistoryBuild(frame=training.frame, target=training.target, spec=training.spec, report=report,
                        roles=context_roles(training.spec, [str(c) for c in training.frame.columns]),
                        warnings=list(training.warnings), join_lines=join_lines, unmatched=unmatched)
