"""What the Evaluate step judges and shows, without Qt.

:class:`EvaluateState` holds the model being judged (the session's run or an opened model file),
its :class:`~mfg_desktop.core.evaluate.Evaluation`, the costs of a miss and of a false alarm, and
the rules the panel used to keep in its widget handlers: which buttons can act, the numbers at a
threshold, which metric is best, what the rows list holds, how one row is explained. The panel
turns these into widgets and text; a test drives the state with a session and no window.

``core.evaluate`` is imported inside the methods that need it, so that building the panel does not
load scikit-learn on the GUI thread before there is anything to evaluate.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:
    from mfg_desktop.core.bundle import LoadedModel
    from mfg_desktop.core.evaluate import Confusion, Curves, Evaluation
    from mfg_desktop.core.train import TrainingRun

SLIDER_STEPS = 1000  # the threshold slider moves in steps of 0.001
MAX_ROWS_LISTED = 5000  # more rows than this make the "One row" list slow to build and useless to scroll
DEFAULT_COSTS = (10.0, 1.0)  # a missed positive, a false alarm
CORRECT_RGB = (58, 154, 74)
MISTAKE_RGB = (192, 80, 77)


class Session(Protocol):
    """What the state uses of :class:`~mfg_desktop.qt.session.SessionModel`."""

    @property
    def current_run(self) -> TrainingRun | None: ...
    @property
    def evaluation(self) -> Any: ...
    def frame_of(self, run: TrainingRun) -> Any: ...
    def set_evaluation(self, evaluation: Any) -> None: ...
    def set_costs(self, missed: float, false_alarm: float) -> None: ...


def slider_value(threshold: float) -> int:
    return round(threshold * SLIDER_STEPS)


def slider_threshold(value: int) -> float:
    return value / SLIDER_STEPS


@dataclass(frozen=True)
class Actions:
    """Which of the step's buttons can act now."""

    evaluate_current: bool
    open_model: bool
    evaluate_files: bool
    propose: bool
    use_threshold: bool
    save: bool


@dataclass(frozen=True)
class ThresholdReadout:
    """A binary model's decisions at one threshold, for the live slider."""

    threshold: float
    target: str
    positive: str  # the positive class, as text
    confusion: Confusion
    caught: int  # true positives
    positives: int  # rows of the positive class
    false_alarms: int
    recall: float  # NaN without positives
    precision: float  # NaN without predicted positives
    cost: float | None  # total cost on the validation rows; None without validation rows


@dataclass(frozen=True)
class MetricRow:
    """One metric across the network and the baselines: which values to bold, whether it is the main one."""

    key: str
    values: list[float | None]
    best: list[bool]
    main: bool


@dataclass(frozen=True)
class RowsListing:
    """The evaluated rows for the "One row" list: row in the file, actual, predicted, score or error."""

    kind: str  # "regression" | "binary" | "multiclass"
    columns: list[np.ndarray]
    shown: int
    total: int
    positive: str | None  # binary: the class whose probability the last column holds


@dataclass(frozen=True)
class RowExplanation:
    """How the inputs moved one row's prediction, largest effect first."""

    file_row: int  # 1-based, as in a spreadsheet without its header
    output: str
    prediction: float
    ranked: list[tuple[str, Any, Any, float]]  # (column, value, typical value, change)

    @property
    def top(self) -> list[tuple[str, Any, Any, float]]:
        return self.ranked[:3]


@dataclass(frozen=True)
class CellStyle:
    """How a confusion-matrix cell looks: correct cells green, mistakes red, stronger with a larger share."""

    text: str
    rgba: tuple[int, int, int, int]
    light_text: bool


def confusion_cell(count: int, share: float, correct: bool) -> CellStyle:
    alpha = int(25 + 200 * share) if count else 0
    rgb = CORRECT_RGB if correct else MISTAKE_RGB
    return CellStyle(f"{int(count):,}\n{share * 100:.1f} %", (*rgb, alpha), share > 0.6)


def best_flags(key: str, values: list[float | None]) -> list[bool]:
    """Which values are best for metric ``key`` (lowest for errors, highest otherwise); none when alone."""
    from mfg_desktop.core.evaluate import LOWER_IS_BETTER

    finite = [v for v in values if v is not None]
    if len(finite) < 2:
        return [False] * len(values)
    best = min(finite) if key in LOWER_IS_BETTER else max(finite)
    return [v is not None and v == best for v in values]


class EvaluateState:
    """The Evaluate step's state: the model judged, its evaluation, the costs, the explained row."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.evaluation: Evaluation | None = None
        self.run: TrainingRun | None = None  # the run being judged (the session's or an opened file's)
        self.loaded: LoadedModel | None = None  # an opened model file, when that is what is judged
        self.costs: tuple[float, float] = DEFAULT_COSTS
        self.explained_row = -1
        session.set_costs(*self.costs)  # the Report step reads them from the session

    # -- what is judged ---------------------------------------------------------------------------
    @property
    def task(self) -> str | None:
        return self.evaluation.task if self.evaluation is not None else None

    @property
    def binary(self) -> bool:
        return self.task == "binary"

    @property
    def classification(self) -> bool:
        return self.task is not None and self.task != "regression"

    def current_run_ready(self) -> bool:
        """The session has a current run and the table it was trained on."""
        run = self.session.current_run
        return run is not None and self.session.frame_of(run) is not None

    def judge_current_run(self) -> tuple[TrainingRun, Any] | None:
        """Switch to the session's current run: (run, its frame), or None when there is nothing to judge."""
        if not self.current_run_ready():
            return None
        run = self.session.current_run
        self.loaded = None
        self.run = run
        return run, self.session.frame_of(run)

    def model_for_files(self) -> LoadedModel | TrainingRun | None:
        """What a labelled file is judged with: the opened model file, else the run on screen."""
        return self.loaded if self.loaded is not None else self.run

    def model_opened(self, loaded: LoadedModel) -> None:
        self.loaded = loaded
        self.run = loaded.run
        self.evaluation = None
        self.explained_row = -1

    def evaluated(self, evaluation: Evaluation) -> None:
        """Show ``evaluation`` from now on and publish it to the session (the Report step uses it)."""
        self.evaluation = evaluation
        self.run = evaluation.run
        self.explained_row = -1
        self.session.set_evaluation(evaluation)

    def actions(self, busy: bool, saving: bool) -> Actions:
        """``busy``: an evaluation or a model file is being opened; ``saving``: the model file is being written."""
        ev = self.evaluation
        return Actions(
            evaluate_current=not busy and self.current_run_ready(),
            open_model=not busy,
            evaluate_files=not busy and self.model_for_files() is not None,
            propose=self.binary and ev.valid_y is not None and len(ev.valid_y) > 0,
            use_threshold=self.binary and not busy,
            save=self.run is not None and not saving,
        )

    # -- threshold and costs ----------------------------------------------------------------------
    def set_costs(self, missed: float, false_alarm: float) -> None:
        self.costs = (float(missed), float(false_alarm))
        self.session.set_costs(*self.costs)

    def validation_rows(self) -> int:
        ev = self.evaluation
        return 0 if ev is None or ev.valid_y is None else len(ev.valid_y)

    def readout(self, threshold: float) -> ThresholdReadout | None:
        """The decisions at ``threshold`` on the evaluated rows (binary models only)."""
        ev = self.evaluation
        if not self.binary:
            return None
        conf = ev.confusion_at(threshold)
        (_tn, fp), (fn, tp) = conf.counts.tolist()
        cost = None
        if self.validation_rows():
            from mfg_desktop.core.evaluate import expected_cost

            cost = expected_cost(ev.valid_y, ev.valid_p, threshold, *self.costs)
        return ThresholdReadout(
            threshold=threshold,
            target=ev.target,
            positive=str(ev.classes[1]),
            confusion=conf,
            caught=tp,
            positives=tp + fn,
            false_alarms=fp,
            recall=tp / (tp + fn) if tp + fn else float("nan"),
            precision=tp / (tp + fp) if tp + fp else float("nan"),
            cost=cost,
        )

    def propose(self) -> float | None:
        """The lowest-cost threshold on the validation rows; None unless binary. Raises MfgError."""
        if not self.binary:
            return None
        return self.evaluation.propose_threshold(*self.costs)

    def use_threshold(self, threshold: float) -> bool:
        """Store ``threshold`` in the run (prediction decides with it) and recompute the metrics at it.

        False when there is no binary model to store it in; raises MfgError for a threshold outside (0, 1).
        """
        from mfg_desktop.core.evaluate import set_run_threshold

        ev = self.evaluation
        if not self.binary or self.run is None:
            return False
        set_run_threshold(self.run, threshold)
        ev.set_threshold(threshold)
        if self.session.evaluation is ev:
            self.session.set_evaluation(ev)  # its numbers changed: let observers redraw
        return True

    def stored_in(self) -> str | None:
        """The opened model file's name, when the threshold is stored in a file's model."""
        return self.loaded.path.name if self.loaded is not None else None

    def save_path(self) -> Path | None:
        """Where Save writes without asking: the opened model file, saved in place."""
        return self.loaded.path if self.loaded is not None else None

    # -- what is shown ----------------------------------------------------------------------------
    def model_columns(self) -> list[str]:
        """The metrics table's columns as keys: the chosen model, the other trained one, the baselines."""
        ev = self.evaluation
        others = [name for name in getattr(ev, "models", {}) if name != ev.model_name]
        return [ev.model_name, *others, *ev.baselines]

    def compares_models(self) -> bool:
        """Auto trained two models: the chosen one is marked as such."""
        return len(getattr(self.evaluation, "models", {})) > 1

    def metric_rows(self) -> list[MetricRow]:
        from mfg_desktop.core.evaluate import metrics_table

        main = self.evaluation.main_metric
        return [MetricRow(key, values, best_flags(key, values), key == main)
                for key, values in metrics_table(self.evaluation)]

    def baseline_curves(self) -> Curves | None:
        """Binary: gradient boosting's ROC and PR curves on the same rows, to draw beside the network's."""
        from mfg_desktop.core.evaluate import HGB, make_curves

        ev = self.evaluation
        out = ev.baseline_outputs.get(HGB) if self.binary else None
        return None if out is None else make_curves(ev.y, out, ev.task, ev.classes)

    def positive_share(self) -> float:
        """Binary: the share of positive rows (a random ranking's precision)."""
        y = self.evaluation.y
        return float(np.mean(y == 1)) if len(y) else 0.0

    def rows_listing(self, limit: int = MAX_ROWS_LISTED) -> RowsListing:
        ev = self.evaluation
        n = min(ev.n_rows, limit)
        file_rows = ev.rows[:n] + 1  # as in a spreadsheet without its header
        if ev.task == "regression":
            actual = np.asarray(ev.y[:n], dtype=np.float64)
            predicted = np.asarray(ev.outputs[:n], dtype=np.float64)
            return RowsListing("regression", [file_rows, actual, predicted, actual - predicted], n, ev.n_rows, None)
        names = np.asarray([str(c) for c in ev.classes], dtype=object)
        predicted = ev.predicted[:n]
        if ev.task == "binary":
            score, positive = ev.outputs[:n, 1], str(ev.classes[1])
        else:
            score, positive = ev.outputs[np.arange(n), predicted], None
        return RowsListing(ev.task, [file_rows, names[ev.y[:n]], names[predicted], score], n, ev.n_rows, positive)

    def explain(self, position: int) -> RowExplanation | None:
        """Explain the ``position``-th evaluated row; None when there is no such row. Raises MfgError.

        One model call over (inputs + 1) rows: fast enough for the GUI thread.
        """
        ev = self.evaluation
        if ev is None or position < 0 or position >= ev.n_rows:
            return None
        self.explained_row = position
        c = ev.explain_row(position)
        return RowExplanation(int(ev.rows[position]) + 1, c.output, float(c.prediction), c.ranked())

