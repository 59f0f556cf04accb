"""The Evaluate step: how the model does on held-out rows, beside two baselines, and why.

Everything is computed by :mod:`mfg_desktop.core.evaluate` on a worker thread; this panel lays out
the step's views, binds them to its :class:`~mfg_desktop.qt.evaluate.state.EvaluateState` and starts
the jobs. The session's current run is evaluated as soon as it appears; a saved model file can be
opened and judged on a labelled file instead (the same call the ``mfg-desktop evaluate`` command
makes, so both show the same numbers).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from mfg_desktop.core.errors import MfgError
from mfg_desktop.qt.context import AppContext, TaskSlot, data_file_filters
from mfg_desktop.qt.evaluate.confusion_view import ConfusionBox
from mfg_desktop.qt.evaluate.curves_view import CurvesView, RegressionBox
from mfg_desktop.qt.evaluate.explain_view import RowExplainView
from mfg_desktop.qt.evaluate.history_view import HistoryEvalView
from mfg_desktop.qt.evaluate.importance_view import ImportanceView
from mfg_desktop.qt.evaluate.jobs import evaluate_files_job, evaluate_run_job, open_model_job, save_job
from mfg_desktop.qt.evaluate.metrics_view import MetricsView
from mfg_desktop.qt.evaluate.state import EvaluateState
from mfg_desktop.qt.evaluate.text import file_names
from mfg_desktop.qt.evaluate.threshold_box import ThresholdBox
from mfg_desktop.qt.live_plots import TrainingCurves
from mfg_desktop.qt.settings import MODEL_DIR, dialog_folder, remember_folder
from mfg_desktop.qt.workers import Job

if TYPE_CHECKING:
    from mfg_desktop.core.bundle import LoadedModel
    from mfg_desktop.core.evaluate import Evaluation
    from mfg_desktop.core.train import TrainingRun

CURVES_TAB = 1
ROW_TAB = 3
ENTITY_TAB = 5


class EvaluatePanel(QWidget):
    """Page of the Evaluate step."""

    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.session = ctx.session
        self.state = EvaluateState(self.session)
        self.work = TaskSlot(ctx, "evaluate", self)  # evaluating, or opening a model file: one at a time
        self.saving = TaskSlot(ctx, "save-model", self)
        self.work.ended.connect(self._update_buttons)
        self.saving.ended.connect(self._update_buttons)

        self.source_label = QLabel(self.tr("Train a model, or open a saved model file and a labelled file."))
        self.source_label.setWordWrap(True)
        bold = QFont(self.source_label.font())
        bold.setBold(True)
        self.source_label.setFont(bold)
        self.evaluate_button = QPushButton(self.tr("Evaluate current run"))
        self.evaluate_button.setToolTip(self.tr("Judge the run selected on the Train step on its test rows"))
        self.evaluate_button.clicked.connect(self.evaluate_current_run)
        self.open_button = QPushButton(self.tr("Open model file…"))
        self.open_button.clicked.connect(self._choose_model)
        self.files_button = QPushButton(self.tr("Evaluate on labelled file…"))
        self.files_button.setToolTip(self.tr("Judge the opened model on a file that holds the true values"))
        self.files_button.clicked.connect(self._choose_files)
        self.note_label = QLabel()
        self.note_label.setWordWrap(True)
        self.note_label.setTextFormat(Qt.TextFormat.PlainText)
        self.note_label.setStyleSheet("color: #0d3c61; background: #e8f1fb; padding: 6px; border-radius: 4px;")
        self.note_label.hide()

        top = QHBoxLayout()
        top.addWidget(self.source_label, 1)
        top.addWidget(self.evaluate_button)
        top.addWidget(self.open_button)
        top.addWidget(self.files_button)

        self.curves = CurvesView()
        self.importance = ImportanceView()
        self.explain = RowExplainView()
        self.explain.row_picked.connect(self.explain_row)
        self.training_curves = TrainingCurves()
        self.history_view = HistoryEvalView()
        self.tabs = QTabWidget()
        self.tabs.addTab(self._build_results(), self.tr("Results"))
        self.tabs.addTab(self.curves, self.tr("Curves"))
        self.tabs.addTab(self.importance, self.tr("Importance"))
        self.tabs.addTab(self.explain, self.tr("One row"))
        self.tabs.addTab(self.training_curves, self.tr("Training curves"))
        self.tabs.addTab(self.history_view, self.tr("Per entity"))  # history models only
        self.tabs.setTabEnabled(ENTITY_TAB, False)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.note_label)
        layout.addWidget(self.tabs, 1)

        self.session.current_run_changed.connect(self._current_run_changed)
        self._update_buttons()
        if self.session.current_run is not None:
            self.evaluate_current_run()

    def _build_results(self) -> QWidget:
        self.metrics = MetricsView()
        self.confusion_box = ConfusionBox()
        self.regression_box = RegressionBox()
        self.regression_box.hide()
        self.threshold_box = ThresholdBox(self.state.costs)
        self.threshold_box.threshold_moved.connect(self._threshold_moved)
        self.threshold_box.costs_changed.connect(self._costs_changed)
        self.threshold_box.propose_requested.connect(self.propose_threshold)
        self.threshold_box.use_requested.connect(self.use_threshold)
        self.threshold_box.save_requested.connect(lambda: self.save_model())

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.metrics)
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(self.confusion_box)
        rl.addWidget(self.regression_box)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([600, 600])
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.threshold_box)
        return page

    # -- what the state holds ----------------------------------------------------------------------
    @property
    def evaluation(self) -> Evaluation | None:
        return self.state.evaluation

    @property
    def run(self) -> TrainingRun | None:
        return self.state.run

    @property
    def loaded(self) -> LoadedModel | None:
        return self.state.loaded

    def is_busy(self) -> bool:
        return self.work.is_running()

    def _update_buttons(self) -> None:
        actions = self.state.actions(busy=self.is_busy(), saving=self.saving.is_running())
        self.evaluate_button.setEnabled(actions.evaluate_current)
        self.open_button.setEnabled(actions.open_model)
        self.files_button.setEnabled(actions.evaluate_files)
        self.threshold_box.set_actions(actions)

    # -- starting work -----------------------------------------------------------------------------
    def _start(self, fn: Any, *args: Any, title: str) -> Job | None:
        job = self.work.start(fn, *args, title=title, context=self.tr("evaluating"), on_done=self._finished)
        self._update_buttons()
        return job

    @Slot()
    def evaluate_current_run(self) -> Job | None:
        judged = self.state.judge_current_run()
        if judged is None:
            return None
        run, frame = judged
        self.source_label.setText(self.tr("Run {id} trained in this session").format(id=run.id))
        return self._start(evaluate_run_job, run, frame, title=self.tr("Evaluating"))

    def _current_run_changed(self, _run: Any) -> None:
        if self.state.current_run_ready():
            self.evaluate_current_run()
        else:
            self._update_buttons()

    def _choose_model(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, self.tr("Open model file"), dialog_folder(MODEL_DIR),
                                              self.tr("mfg-desktop models (*.mfgmodel);;All files (*)"))
        if path:
            remember_folder(path, MODEL_DIR)
            self.open_model(path)

    def open_model(self, path: str | Path) -> Job | None:
        """Open a model file in the background; then pick a labelled file to evaluate it on."""
        return self._start(open_model_job, str(path), title=self.tr("Opening model"))

    def _choose_files(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, self.tr("Labelled data files"), dialog_folder(),
                                                data_file_filters())
        if paths:
            remember_folder(paths[0])
            self.evaluate_files(paths)

    def evaluate_files(self, paths: list[str | Path]) -> Job | None:
        """Judge the opened model file (or else the run on screen) on labelled files, stacked when several."""
        model = self.state.model_for_files()
        if model is None:
            return None
        paths = [str(p) for p in paths]
        what = (self.tr("Model file {model}").format(model=self.loaded.path.name) if self.loaded is not None
                else self.tr("Run {id}").format(id=self.run.id))
        self.source_label.setText(self.tr("{model} on {files}").format(model=what, files=file_names(paths)))
        return self._start(evaluate_files_job, model, paths, title=self.tr("Evaluating"))

    def _finished(self, result: Any) -> None:
        from mfg_desktop.core.evaluate import Evaluation

        if isinstance(result, Evaluation):
            self.ctx.clear_notice()
            self.state.evaluated(result)
            self._show()
        else:  # an opened model file
            self.state.model_opened(result)
            self._clear()
            self.source_label.setText(self.tr("Model file {model}: pick a labelled file to evaluate it on.")
                                      .format(model=result.path.name))
            self._show_history(result.run)
        self._update_buttons()

    def save_model(self, path: str | Path | None = None) -> Job | None:
        """Write the run (with its threshold) as a model file; an opened file is saved in place."""
        if self.run is None:
            return None
        path = path if path is not None else self.state.save_path()
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, self.tr("Save model file"),
                                                  str(Path(dialog_folder(MODEL_DIR)) / "model.mfgmodel"),
                                                  self.tr("mfg-desktop models (*.mfgmodel)"))
            if not path:
                return None
            remember_folder(path, MODEL_DIR)
        job = self.saving.start(
            save_job, self.run, str(path), title=self.tr("Saving model"), context=self.tr("saving the model"),
            cancellable=False,
            on_done=lambda saved: self.threshold_box.set_status(self.tr("Saved {path}.").format(path=saved)))
        self._update_buttons()
        return job

    # -- the threshold -----------------------------------------------------------------------------
    def slider_threshold(self) -> float:
        return self.threshold_box.threshold()

    def set_slider_threshold(self, threshold: float) -> None:
        self.threshold_box.set_threshold(threshold)

    def _threshold_moved(self, threshold: float) -> None:
        readout = self.state.readout(threshold)
        if readout is not None:
            self.confusion_box.show_confusion(readout.confusion)
            self.threshold_box.show_readout(readout)

    def _costs_changed(self, missed: float, false_alarm: float) -> None:
        self.state.set_costs(missed, false_alarm)  # the session gets them too: the Report step reads them
        self._threshold_moved(self.slider_threshold())  # the cost at the threshold changed

    @Slot()
    def propose_threshold(self) -> float | None:
        try:
            t = self.state.propose()
        except MfgError as exc:
            self.ctx.report_error(exc)
            return None
        if t is None:
            return None
        self.set_slider_threshold(t)
        self.threshold_box.set_status(self.tr(
            "Proposed {t:.3f}: the lowest total cost on the {n:,} validation rows. Press “Use this threshold” "
            "to keep it.").format(t=t, n=self.state.validation_rows()))
        return t

    def use_threshold(self, threshold: float) -> None:
        """Store ``threshold`` in the run (prediction decides with it) and show the metrics at it."""
        try:
            if not self.state.use_threshold(threshold):
                return
        except MfgError as exc:
            self.ctx.report_error(exc)
            return
        self._show_metrics()
        self._threshold_moved(self.slider_threshold())
        where = self.state.stored_in()
        self.threshold_box.set_status(
            self.tr("Threshold {t:.3f} is stored in the model. Save the model file ({f}) so that prediction from "
                    "the file uses it too.").format(t=threshold, f=where) if where else
            self.tr("Threshold {t:.3f} is stored in this run: the Predict step uses it. Save the model file to "
                    "keep it.").format(t=threshold))
        self.threshold_box.save_button.setText(
            self.tr("Save to {f}").format(f=where) if where else self.tr("Save model file…"))
        self._update_buttons()

    # -- rendering ---------------------------------------------------------------------------------
    def _clear(self) -> None:
        self.metrics.clear()
        self.confusion_box.clear()
        self.curves.clear()
        self.importance.clear()
        self.explain.clear()
        self.history_view.clear()
        self.tabs.setTabEnabled(ENTITY_TAB, False)
        self.note_label.hide()

    def _show(self) -> None:
        ev = self.state.evaluation
        self._clear()
        notes = [self.tr("Evaluated on {n:,} rows: {note}.").format(n=ev.n_rows, note=ev.note), *ev.notes]
        if ev.history is not None:  # a history model: the per-entity headline, the details on their own tab
            notes.append(ev.history.headline())
        self.note_label.setText("\n".join(notes))
        self.note_label.show()
        self._show_metrics()
        classification = self.state.classification
        self.confusion_box.setVisible(classification)
        self.regression_box.setVisible(not classification)
        self.threshold_box.setVisible(self.state.binary)
        self.metrics.set_classification(classification)
        if classification:
            self.confusion_box.show_confusion(ev.confusion)
            self.metrics.show_per_class(ev.per_class)
            self.curves.show_curves(ev, self.state.baseline_curves(), self.state.positive_share())
        else:
            self.regression_box.show_points(ev.y, ev.outputs)
        self.tabs.setTabEnabled(CURVES_TAB, classification)
        if self.state.binary:
            self.threshold_box.set_target(ev.target, str(ev.classes[1]))
            self.threshold_box.set_threshold(ev.threshold, quiet=True)
            self._threshold_moved(self.slider_threshold())
            self.threshold_box.set_status(self.tr("Prediction decides with threshold {t:.3f}.").format(
                t=ev.threshold))
        self.importance.show_importance(ev.importance)
        self.explain.show_rows(self.state.rows_listing())
        self.history_view.show_history(ev.history, ev.threshold)
        self.tabs.setTabEnabled(ENTITY_TAB, ev.history is not None)
        self._show_history(ev.run)
        self._update_buttons()

    def _show_metrics(self) -> None:
        ev = self.state.evaluation
        self.metrics.show_metrics(self.state.model_columns(), self.state.metric_rows(), ev.main_metric,
                                  ev.baseline_note, chosen_marked=self.state.compares_models())

    def explain_row(self, position: int) -> None:
        try:
            explanation = self.state.explain(position)
        except MfgError as exc:
            self.explain.show_problem(str(exc))
            return
        if explanation is not None:
            self.explain.show_explanation(explanation)

    def _show_history(self, run: TrainingRun | None) -> None:
        if run is None:
            self.training_curves.clear()
            return
        from mfg_desktop.core.network import metric_name

        self.training_curves.show_history(run.history, metric_name(run.task), run.best_epoch)
