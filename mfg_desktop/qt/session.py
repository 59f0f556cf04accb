"""The working session's state, and the thin QObject adapter that tells panels when it changes.

The state itself (:class:`WorkingSession`) is plain Python holding core objects; panels never
keep their own copies, they observe :class:`SessionModel` signals and read the current state.
Later steps (recipe, runs, evaluations) add their fields and signals here the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

if TYPE_CHECKING:  # core modules import pandas; keep them out of the window's cold start
    from mfg_desktop.core.ingest import LoadedData
    from mfg_desktop.core.profile import DataProfile, TargetReport
    from mfg_desktop.core.recipe import Recipe
    from mfg_desktop.core.split import SplitSpec
    from mfg_desktop.core.train import TrainingRun

Target = str | list[str]


@dataclass
class WorkingSession:
    """What the user is working on: the loaded data, its profile, the chosen target."""

    data: LoadedData | None = None
    profile: DataProfile | None = None
    target: Target | None = None
    target_report: TargetReport | None = None
    # Prepare step: the recipe, the split and the class-weight choice (None: not prepared yet).
    recipe: Recipe | None = None
    split_spec: SplitSpec | None = None
    class_weight: bool | None = None
    # Prepare step, sensor histories: what was built (qt.prepare.history_state.HistoryBuild: the
    # frame with label and window features the Train step trains on, and its HistorySpec), or None.
    history: Any = None
    # Train step: every run of this sitting, the one the later steps use, and the frame each
    # run was trained on (its split positions index that frame, even after other data is loaded).
    runs: list[TrainingRun] = field(default_factory=list)
    current_run: TrainingRun | None = None
    run_frames: dict[str, Any] = field(default_factory=dict)
    # Evaluate step: the latest evaluation shown (core.evaluate.Evaluation; it holds its run).
    evaluation: Any = None
    # Binary targets: the outcome to detect, as the user picked it on the Data step (None: the
    # app's pick, TargetReport.binary_classes[1]); the Prepare step writes it into the recipe.
    positive_class: Any = None
    # The costs of a missed positive and of a false alarm the user set (Evaluate; Report uses them).
    costs: tuple[float, float] | None = None
    # The model file each run was saved to (run id -> path): a run without one is unsaved work.
    model_files: dict[str, str] = field(default_factory=dict)


class SessionModel(QObject):
    """Emits a signal whenever a part of the :class:`WorkingSession` is replaced.

    Setting new data clears everything derived from the old data (profile, target, report)
    and announces each cleared part, so a panel only has to follow the signals.
    """

    data_changed = Signal(object)  # LoadedData | None
    profile_changed = Signal(object)  # DataProfile | None
    target_changed = Signal(object)  # str | list[str] | None
    target_report_changed = Signal(object)  # TargetReport | None
    positive_class_changed = Signal(object)  # a value of the target, or None
    recipe_changed = Signal(object)  # Recipe | None
    split_spec_changed = Signal(object)  # SplitSpec | None
    class_weight_changed = Signal(object)  # bool | None
    history_changed = Signal(object)  # HistoryBuild | None
    runs_changed = Signal(object)  # list[TrainingRun]
    current_run_changed = Signal(object)  # TrainingRun | None
    evaluation_changed = Signal(object)  # Evaluation | None
    costs_changed = Signal(object)  # (cost of a miss, cost of a false alarm) | None
    model_saved = Signal(object, str)  # TrainingRun, path of its model file

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state = WorkingSession()

    @property
    def data(self) -> LoadedData | None:
        return self.state.data

    @property
    def profile(self) -> DataProfile | None:
        return self.state.profile

    @property
    def target(self) -> Target | None:
        return self.state.target

    @property
    def target_report(self) -> TargetReport | None:
        return self.state.target_report

    @property
    def frame(self) -> Any:
        """The loaded DataFrame, or None."""
        return self.state.data.frame if self.state.data is not None else None

    @property
    def training_frame(self) -> Any:
        """The frame the Prepare and Train steps work on: with the history's label and window
        features when they were built, else the loaded DataFrame (or None)."""
        return self.state.history.frame if self.state.history is not None else self.frame

    @property
    def history(self) -> Any:
        return self.state.history

    def set_history(self, built: Any) -> None:
        """The history set-up was built (or dropped: None); the recipe for the old frame is gone."""
        self.state.history = built
        self.history_changed.emit(built)

    @property
    def recipe(self) -> Recipe | None:
        return self.state.recipe

    @property
    def split_spec(self) -> SplitSpec | None:
        return self.state.split_spec

    @property
    def class_weight(self) -> bool | None:
        return self.state.class_weight

    @property
    def runs(self) -> list[TrainingRun]:
        return list(self.state.runs)

    @property
    def current_run(self) -> TrainingRun | None:
        return self.state.current_run

    def set_data(self, data: LoadedData | None) -> None:
        self.set_target(None)
        self.set_profile(None)
        self.set_split_spec(None)
        if self.state.history is not None:
            self.set_history(None)
        self.state.data = data
        self.data_changed.emit(data)

    def set_profile(self, profile: DataProfile | None) -> None:
        self.state.profile = profile
        self.profile_changed.emit(profile)

    def set_target(self, target: Target | None) -> None:
        """Choose the target; the report for the old target no longer applies."""
        if isinstance(target, list) and len(target) == 1:
            target = target[0]
        if target == self.state.target:
            return
        self.state.target = target
        self.state.target_report = None
        self.state.positive_class = None
        self.target_changed.emit(target)
        self.target_report_changed.emit(None)
        self.set_recipe(None)

    def set_target_report(self, report: TargetReport | None) -> None:
        self.state.target_report = report
        self.target_report_changed.emit(report)

    @property
    def positive_class(self) -> Any:
        return self.state.positive_class

    def set_positive_class(self, value: Any) -> None:
        """Binary targets: the outcome to detect (None: the app's pick)."""
        if value == self.state.positive_class:
            return
        self.state.positive_class = value
        self.positive_class_changed.emit(value)

    def set_recipe(self, recipe: Recipe | None) -> None:
        self.state.recipe = recipe
        self.recipe_changed.emit(recipe)

    def set_split_spec(self, spec: SplitSpec | None) -> None:
        """The split to train with; None while the Prepare step's split settings are invalid."""
        self.state.split_spec = spec
        self.split_spec_changed.emit(spec)

    def set_class_weight(self, on: bool | None) -> None:
        self.state.class_weight = on
        self.class_weight_changed.emit(on)

    def add_run(self, run: TrainingRun, frame: Any) -> None:
        """Keep a finished (or cancelled) run with the frame it was trained on; it becomes current."""
        self.state.runs.append(run)
        self.state.run_frames[run.id] = frame
        self.runs_changed.emit(self.runs)
        self.set_current_run(run)

    def frame_of(self, run: TrainingRun) -> Any:
        """The DataFrame ``run`` was trained on (its split row positions index this frame)."""
        return self.state.run_frames.get(run.id)

    def set_current_run(self, run: TrainingRun | None) -> None:
        if run is self.state.current_run:
            return
        self.state.current_run = run
        self.current_run_changed.emit(run)

    @property
    def evaluation(self) -> Any:
        return self.state.evaluation

    def set_evaluation(self, evaluation: Any) -> None:
        """The evaluation on screen (for the report); ``evaluation.run`` is the run it judged."""
        self.state.evaluation = evaluation
        self.evaluation_changed.emit(evaluation)

    @property
    def costs(self) -> tuple[float, float] | None:
        return self.state.costs

    def set_costs(self, missed: float, false_alarm: float) -> None:
        costs = (float(missed), float(false_alarm))
        if costs != self.state.costs:
            self.state.costs = costs
            self.costs_changed.emit(costs)

    @property
    def model_files(self) -> dict[str, str]:
        """Run id -> the model file it was saved to, for the runs saved in this session."""
        return dict(self.state.model_files)

    def note_model_saved(self, run: TrainingRun, path: str) -> None:
        self.state.model_files[run.id] = str(path)
        self.model_saved.emit(run, str(path))

    def unsaved_runs(self) -> list[TrainingRun]:
        """The runs of this session not saved to a model file (lost if the window closes)."""
        return [run for run in self.state.runs if run.id not in self.state.model_files]
