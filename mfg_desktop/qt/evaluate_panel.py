"""The Evaluate step: how the model does on held-out rows, beside two baselines, and why.

Everything is computed by :mod:`mfg_desktop.core.evaluate` on a worker thread; this panel renders
an :class:`Evaluation` and forwards the user's choices (threshold, costs, selected row) to it.
The session's current run is evaluated as soon as it appears; a saved model file can be opened
and judged on a labelled file instead (the same call the ``mfg-desktop evaluate`` command makes,
so both show the same numbers).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, Slot
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDoubleSpinBox,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSlider,
    QSplitter,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from mfg_desktop.qt import plots
from mfg_desktop.qt.context import AppContext, data_file_filters
from mfg_desktop.qt.live_plots import TrainingCurves
from mfg_desktop.qt.workers import Job, run_in_thread

if TYPE_CHECKING:
    from mfg_desktop.core.bundle import LoadedModel
    from mfg_desktop.core.evaluate import Evaluation
    from mfg_desktop.core.train import TrainingRun

SLIDER_STEPS = 1000
UP_COLOR = "#c0504d"  # pushed the prediction up
DOWN_COLOR = "#4a86c5"
BASELINE_COLORS = ("#7f7f7f", "#3a9a4a")
MAX_ROWS_LISTED = 5000


# ------------------------------------------------------------------------------------------ jobs


def _evaluate_run_job(run, frame, state) -> Evaluation:
    from mfg_desktop.core.evaluate import evaluate_run

    return evaluate_run(run, frame, state=state)


def _open_model_job(path: str, state) -> LoadedModel:
    from mfg_desktop.core.bundle import load_model_file

    return load_model_file(path)


def _evaluate_files_job(loaded, paths: list[str], state) -> Evaluation:
    """Exactly what ``mfg-desktop evaluate MODEL DATA...`` does, so the numbers are the same."""
    from mfg_desktop.core.evaluate import evaluate_model_file
    from mfg_desktop.core.ingest import load_files

    data = load_files(paths, state=state)
    return evaluate_model_file(loaded, data.frame, data_files=paths, state=state)


def _save_job(run, path: str, state) -> Path:
    from mfg_desktop.core.bundle import save_model_file

    return save_model_file(run, path)


# ------------------------------------------------------------------------------------------ helpers


def _fmt(value: float | None, digits: int = 4) -> str:
    return "—" if value is None or not np.isfinite(value) else f"{value:.{digits}f}"


class RowsModel(QAbstractTableModel):
    """The evaluated rows (row in the file, actual, predicted, score) for picking one to explain."""

    def __init__(self, headers: list[str], columns: list[np.ndarray], parent=None) -> None:
        super().__init__(parent)
        self._headers = headers
        self._columns = columns
        self._n = len(columns[0]) if columns else 0

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._n

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._headers)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        value = self._columns[index.column()][index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            if isinstance(value, float | np.floating):
                return f"{value:.4g}"
            return str(value)
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() != 1 and index.column() != 2:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self._headers[section]
        return None


class HorizontalBars(QWidget):
    """Horizontal bars with optional error bars and the category names on the left axis."""

    def __init__(self, title: str, bottom: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = plots.plot_widget(title, "", bottom)
        item = self.plot.getPlotItem()
        item.showGrid(x=True, y=False, alpha=0.2)
        item.setMouseEnabled(x=False, y=False)
        # "(x0.001)" under the axis is easy to miss; show the plain numbers
        item.getAxis("bottom").enableAutoSIPrefix(False)
        self.label_limit = 28
        self.bars: pg.BarGraphItem | None = None
        self.errors: pg.ErrorBarItem | None = None
        self.names: list[str] = []
        self.values = np.zeros(0)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)

    def show_bars(self, names: list[str], values: np.ndarray, errors: np.ndarray | None = None,
                  colors: list[str] | None = None) -> None:
        """First name on top."""
        item = self.plot.getPlotItem()
        item.clear()
        self.names = list(names)
        self.values = np.nan_to_num(np.asarray(values, dtype=np.float64))
        n = len(names)
        y = np.arange(n)[::-1].astype(np.float64)
        brushes = [pg.mkBrush(c) for c in colors] if colors else [plots.BAR_BRUSH] * n
        self.bars = pg.BarGraphItem(x0=np.zeros(n), y=y, height=0.6, width=self.values, brushes=brushes,
                                    pen=pg.mkPen("#555", width=0.5))
        item.addItem(self.bars)
        self.errors = None
        if errors is not None and n:
            err = np.nan_to_num(np.asarray(errors, dtype=np.float64))
            self.errors = pg.ErrorBarItem(x=self.values, y=y, left=err, right=err, beam=0.25,
                                          pen=pg.mkPen("#222", width=1.2))
            item.addItem(self.errors)
        zero = pg.InfiniteLine(pos=0, angle=90, pen=pg.mkPen("#333", width=1))
        item.addItem(zero, ignoreBounds=True)
        item.getAxis("left").setTicks([[(float(yy), _short(nm, self.label_limit))
                                        for yy, nm in zip(y, names, strict=True)]])
        if n:
            spread = np.abs(self.values) + (np.nan_to_num(np.asarray(errors)) if errors is not None else 0)
            limit = float(max(spread.max(), 1e-6)) * 1.15
            low = -limit if (self.values < 0).any() else -0.02 * limit
            item.setXRange(low, limit, padding=0)
            item.setYRange(-0.7, n - 0.3, padding=0)

    def clear(self) -> None:
        self.plot.getPlotItem().clear()
        self.names = []
        self.values = np.zeros(0)


def _short(text: str, limit: int = 28) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ------------------------------------------------------------------------------------------ the panel


class EvaluatePanel(QWidget):
    """Page of the Evaluate step."""

    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.session = ctx.session
        self.evaluation: Evaluation | None = None
        self.run: TrainingRun | None = None  # the run being judged (session run or opened file's)
        self.loaded: LoadedModel | None = None  # an opened model file, when that is what is judged
        self.job: Job | None = None
        self.save_job: Job | None = None
        self._explained_row = -1

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

        self.tabs = QTabWidget()
        self.tabs.addTab(self._build_results(), self.tr("Results"))
        self.tabs.addTab(self._build_curves(), self.tr("Curves"))
        self.tabs.addTab(self._build_importance(), self.tr("Importance"))
        self.tabs.addTab(self._build_rows(), self.tr("One row"))
        self.training_curves = TrainingCurves()
        self.tabs.addTab(self.training_curves, self.tr("Training curves"))

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.note_label)
        layout.addWidget(self.tabs, 1)

        self.session.current_run_changed.connect(self._current_run_changed)
        self._update_buttons()
        if self.session.current_run is not None:
            self.evaluate_current_run()

    # -- building --------------------------------------------------------------------------------
    def _metric_labels(self) -> dict[str, str]:
        return {
            "accuracy": self.tr("Accuracy"),
            "balanced_accuracy": self.tr("Balanced accuracy"),
            "precision": self.tr("Precision"),
            "recall": self.tr("Recall"),
            "f1": self.tr("F1"),
            "precision_macro": self.tr("Precision (macro)"),
            "recall_macro": self.tr("Recall (macro)"),
            "f1_macro": self.tr("F1 (macro)"),
            "roc_auc": self.tr("ROC-AUC"),
            "pr_auc": self.tr("PR-AUC"),
            "mae": self.tr("Mean absolute error"),
            "rmse": self.tr("Root mean squared error"),
            "r2": self.tr("R² (explained variance)"),
        }

    def _model_labels(self) -> dict[str, str]:
        return {"network": self.tr("Network"), "HistGradientBoosting": self.tr("Gradient boosting"),
                "trivial": self.tr("Trivial baseline")}

    def _build_results(self) -> QWidget:
        self.metrics_table = QTableWidget(0, 1)
        self.metrics_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.metrics_table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.metrics_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.metrics_table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.metrics_table.setMinimumWidth(460)
        self.baseline_label = QLabel()
        self.baseline_label.setWordWrap(True)
        self.baseline_label.setStyleSheet("color: #555;")
        self.per_class_table = QTableWidget(0, 4)
        self.per_class_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.per_class_table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.per_class_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.per_class_table.setHorizontalHeaderLabels(
            [self.tr("Precision"), self.tr("Recall"), self.tr("F1"), self.tr("Rows")])
        self.per_class_caption = QLabel(self.tr("Network, per class:"))
        metrics_box = QGroupBox(self.tr("Metrics on the evaluated rows (best in bold)"))
        mb = QVBoxLayout(metrics_box)
        mb.addWidget(self.metrics_table, 3)
        mb.addWidget(self.baseline_label)
        mb.addWidget(self.per_class_caption)
        mb.addWidget(self.per_class_table, 2)

        self.confusion_table = QTableWidget(0, 0)
        self.confusion_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.confusion_table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.confusion_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.confusion_table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.confusion_caption = QLabel(self.tr("Rows: actual class. Columns: predicted class. "
                                                "Each cell: rows, and share of the actual class."))
        self.confusion_caption.setWordWrap(True)
        self.confusion_caption.setStyleSheet("color: #555;")
        self.confusion_box = QGroupBox(self.tr("Confusion matrix"))
        cb = QVBoxLayout(self.confusion_box)
        cb.addWidget(self.confusion_table, 1)
        cb.addWidget(self.confusion_caption)

        self.scatter_box = QGroupBox(self.tr("Predicted against actual"))
        sb = QHBoxLayout(self.scatter_box)
        self.scatter_plot = plots.plot_widget(self.tr("Predicted against actual"), self.tr("predicted"), self.tr("actual"))
        self.residual_plot = plots.plot_widget(self.tr("Residuals"), self.tr("actual − predicted"), self.tr("predicted"))
        sb.addWidget(self.scatter_plot)
        sb.addWidget(self.residual_plot)
        self.scatter_box.hide()

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(metrics_box)
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(self.confusion_box)
        rl.addWidget(self.scatter_box)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([600, 600])
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter, 1)
        layout.addWidget(self._build_threshold())
        return page

    def _build_threshold(self) -> QWidget:
        self.threshold_box = QGroupBox(self.tr("Decision threshold (yes/no models)"))
        grid = QGridLayout(self.threshold_box)
        self.threshold_slider = QSlider(Qt.Orientation.Horizontal)
        self.threshold_slider.setRange(1, SLIDER_STEPS - 1)
        self.threshold_slider.setValue(SLIDER_STEPS // 2)
        self.threshold_slider.valueChanged.connect(self._slider_moved)
        self.threshold_label = QLabel()
        self.threshold_label.setMinimumWidth(230)
        self.live_label = QLabel()
        self.live_label.setStyleSheet("color: #333;")
        self.cost_fn = QDoubleSpinBox()
        self.cost_fn.setRange(0.0, 1e9)
        self.cost_fn.setDecimals(2)
        self.cost_fn.setValue(10.0)
        self.cost_fp = QDoubleSpinBox()
        self.cost_fp.setRange(0.0, 1e9)
        self.cost_fp.setDecimals(2)
        self.cost_fp.setValue(1.0)
        self.cost_fn_label = QLabel(self.tr("Cost of a missed positive:"))
        for box in (self.cost_fn, self.cost_fp):  # the Report step reads them from the session
            box.valueChanged.connect(lambda _v: self.session.set_costs(self.cost_fn.value(), self.cost_fp.value()))
        self.session.set_costs(self.cost_fn.value(), self.cost_fp.value())
        self.propose_button = QPushButton(self.tr("Propose threshold"))
        self.propose_button.setToolTip(self.tr("The threshold with the lowest total cost on the validation rows "
                                               "(never on the rows evaluated here)"))
        self.propose_button.clicked.connect(self.propose_threshold)
        self.use_button = QPushButton(self.tr("Use this threshold"))
        self.use_button.setToolTip(self.tr("Store it in the model: prediction decides with it"))
        self.use_button.clicked.connect(lambda: self.use_threshold(self.slider_threshold()))
        self.save_button = QPushButton(self.tr("Save model file…"))
        self.save_button.clicked.connect(lambda: self.save_model())
        self.threshold_status = QLabel()
        self.threshold_status.setWordWrap(True)
        self.threshold_status.setStyleSheet("color: #555;")
        grid.addWidget(QLabel(self.tr("Decision threshold:")), 0, 0)
        grid.addWidget(self.threshold_slider, 0, 1, 1, 3)
        grid.addWidget(self.threshold_label, 0, 4)
        grid.addWidget(self.live_label, 1, 0, 1, 5)
        grid.addWidget(self.cost_fn_label, 2, 0)
        grid.addWidget(self.cost_fn, 2, 1)
        grid.addWidget(QLabel(self.tr("Cost of a false alarm:")), 2, 2)
        grid.addWidget(self.cost_fp, 2, 3)
        grid.addWidget(self.propose_button, 2, 4)
        buttons = QHBoxLayout()
        buttons.addWidget(self.use_button)
        buttons.addWidget(self.save_button)
        buttons.addStretch(1)
        grid.addLayout(buttons, 3, 0, 1, 5)
        grid.addWidget(self.threshold_status, 4, 0, 1, 5)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        return self.threshold_box

    def _build_curves(self) -> QWidget:
        page = QWidget()
        layout = QHBoxLayout(page)
        self.roc_plot = plots.plot_widget(self.tr("ROC curve"), self.tr("true positive rate"), self.tr("false positive rate"))
        self.pr_plot = plots.plot_widget(self.tr("Precision-recall curve"), self.tr("precision"), self.tr("recall"))
        self.roc_plot.getPlotItem().addLegend(offset=(-10, -10), labelTextSize="9pt")
        self.pr_plot.getPlotItem().addLegend(offset=(10, -10), labelTextSize="9pt")  # bottom left: empty in a PR plot
        for p in (self.roc_plot, self.pr_plot):
            p.getPlotItem().setXRange(0, 1, padding=0.02)
            p.getPlotItem().setYRange(0, 1.02, padding=0.02)
        layout.addWidget(self.roc_plot)
        layout.addWidget(self.pr_plot)
        return page

    def _build_importance(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        self.importance_chart = HorizontalBars(self.tr("Permutation importance"),
                                               self.tr("drop of the main metric when the column is shuffled"))
        self.importance_note = QLabel()
        self.importance_note.setWordWrap(True)
        self.importance_note.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(self.importance_chart, 1)
        layout.addWidget(self.importance_note)
        return page

    def _build_rows(self) -> QWidget:
        self.rows_view = QTableView()
        self.rows_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.rows_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.rows_view.verticalHeader().hide()
        self.rows_view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.rows_label = QLabel(self.tr("Pick a row to see which inputs pushed its prediction up or down."))
        self.rows_label.setWordWrap(True)
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(self.rows_label)
        ll.addWidget(self.rows_view, 1)
        self.contrib_chart = HorizontalBars(self.tr("What moved this prediction"),
                                            self.tr("change against a typical value (training median / most "
                                                    "frequent)"))
        self.contrib_chart.label_limit = 44
        self.contrib_text = QLabel()
        self.contrib_text.setWordWrap(True)
        self.contrib_text.setTextFormat(Qt.TextFormat.PlainText)
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(self.contrib_chart, 1)
        rl.addWidget(self.contrib_text)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 3)
        splitter.setSizes([440, 760])
        return splitter

    # -- starting work ---------------------------------------------------------------------------
    def is_busy(self) -> bool:
        return self.job is not None and self.job.is_running()

    def _update_buttons(self) -> None:
        busy = self.is_busy()
        run = self.session.current_run
        self.evaluate_button.setEnabled(not busy and run is not None and self.session.frame_of(run) is not None)
        self.open_button.setEnabled(not busy)
        self.files_button.setEnabled(not busy and (self.loaded is not None or self.run is not None))
        ev = self.evaluation
        binary = ev is not None and ev.task == "binary"
        self.propose_button.setEnabled(binary and ev.valid_y is not None and len(ev.valid_y) > 0)
        self.use_button.setEnabled(binary and not busy)
        saving = self.save_job is not None and self.save_job.is_running()
        self.save_button.setEnabled(self.run is not None and not saving)

    def _start(self, fn, *args, title: str, name: str) -> Job:
        if self.is_busy():
            self.job.cancel()
        job = run_in_thread(fn, *args, name=name)
        self.job = job
        job.finished.connect(lambda result, j=job: self._finished(j, result))
        job.errored.connect(lambda exc, j=job: self._failed(j, exc))
        job.ended.connect(self._update_buttons)
        self.ctx.track(job, title)
        self._update_buttons()
        return job

    @Slot()
    def evaluate_current_run(self) -> Job | None:
        run = self.session.current_run
        frame = self.session.frame_of(run) if run is not None else None
        if run is None or frame is None:
            return None
        self.loaded = None
        self.run = run
        self.source_label.setText(self.tr("Run {id} trained in this session").format(id=run.id))
        return self._start(_evaluate_run_job, run, frame, title=self.tr("Evaluating"), name="evaluate")

    def _current_run_changed(self, run) -> None:
        if run is not None and self.session.frame_of(run) is not None:
            self.evaluate_current_run()
        else:
            self._update_buttons()

    def _choose_model(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, self.tr("Open model file"), "",
                                              self.tr("mfg-desktop models (*.mfgmodel);;All files (*)"))
        if path:
            self.open_model(path)

    def open_model(self, path: str | Path) -> Job:
        """Open a model file in the background; then pick a labelled file to evaluate it on."""
        return self._start(_open_model_job, str(path), title=self.tr("Opening model"), name="open-model")

    def _choose_files(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, self.tr("Labelled data files"), "",
                                                data_file_filters())
        if paths:
            self.evaluate_files(paths)

    def evaluate_files(self, paths: list[str | Path]) -> Job | None:
        """Judge the opened model file (or else the run on screen) on labelled files, stacked when several."""
        model = self.loaded if self.loaded is not None else self.run
        if model is None:
            return None
        paths = [str(p) for p in paths]
        names = ", ".join(Path(p).name for p in paths[:3]) + (" …" if len(paths) > 3 else "")
        what = (self.tr("Model file {model}").format(model=self.loaded.path.name) if self.loaded is not None
                else self.tr("Run {id}").format(id=self.run.id))
        self.source_label.setText(self.tr("{model} on {files}").format(model=what, files=names))
        return self._start(_evaluate_files_job, model, paths, title=self.tr("Evaluating"), name="evaluate")

    def _finished(self, job: Job, result: Any) -> None:
        if job is not self.job:
            return
        from mfg_desktop.core.evaluate import Evaluation

        if isinstance(result, Evaluation):
            self.ctx.clear_notice()
            self.show_evaluation(result)
            self.session.set_evaluation(result)
        else:  # an opened model file
            self.loaded = result
            self.run = result.run
            self.evaluation = None
            self._clear()
            self.source_label.setText(self.tr("Model file {model}: pick a labelled file to evaluate it on.")
                                      .format(model=result.path.name))
            self._show_history(result.run)
        self._update_buttons()

    def _failed(self, job: Job, exc: BaseException) -> None:
        if job is self.job:
            self.ctx.report_error(exc, self.tr("evaluating"))

    # -- rendering -------------------------------------------------------------------------------
    def _clear(self) -> None:
        self.metrics_table.setRowCount(0)
        self.confusion_table.setRowCount(0)
        self.confusion_table.setColumnCount(0)
        self.roc_plot.getPlotItem().clear()
        self.pr_plot.getPlotItem().clear()
        self.importance_chart.clear()
        self.contrib_chart.clear()
        self.importance_note.clear()
        self.contrib_text.clear()
        self.note_label.hide()
        self.rows_view.setModel(None)

    def show_evaluation(self, evaluation: Evaluation) -> None:
        self.evaluation = evaluation
        self.run = evaluation.run
        self._clear()
        notes = [self.tr("Evaluated on {n:,} rows: {note}.").format(n=evaluation.n_rows, note=evaluation.note)]
        notes += evaluation.notes
        self.note_label.setText("\n".join(notes))
        self.note_label.show()
        self._fill_metrics()
        classification = evaluation.task != "regression"
        self.confusion_box.setVisible(classification)
        self.scatter_box.setVisible(not classification)
        self.threshold_box.setVisible(evaluation.task == "binary")
        self.per_class_table.setVisible(classification)
        self.per_class_caption.setVisible(classification)
        if classification:
            self._fill_confusion(evaluation.confusion)
            self._fill_per_class()
            self._draw_curves()
        else:
            self._draw_regression()
        self.tabs.setTabEnabled(1, classification)
        if evaluation.task == "binary":
            self.cost_fn_label.setText(self.tr("Cost of a missed {target} = {c}:").format(
                target=_short(evaluation.target, 24), c=evaluation.classes[1]))
            self.threshold_slider.blockSignals(True)
            self.threshold_slider.setValue(round(evaluation.threshold * SLIDER_STEPS))
            self.threshold_slider.blockSignals(False)
            self._slider_moved(self.threshold_slider.value())
            self.threshold_status.setText(self.tr("Prediction decides with threshold {t:.3f}.").format(
                t=evaluation.threshold))
        self._draw_importance()
        self._fill_rows()
        self._show_history(evaluation.run)
        self._update_buttons()

    def _fill_metrics(self) -> None:
        from mfg_desktop.core.evaluate import LOWER_IS_BETTER, metrics_table, model_columns

        ev = self.evaluation
        names = model_columns(ev)
        labels = self._model_labels()
        rows = metrics_table(ev)
        table = self.metrics_table
        table.clear()
        table.setColumnCount(len(names))
        table.setRowCount(len(rows))
        table.setHorizontalHeaderLabels([labels.get(n, n) for n in names])
        metric_labels = self._metric_labels()
        table.setVerticalHeaderLabels([metric_labels.get(k, k) for k, _ in rows])
        for r, (key, values) in enumerate(rows):
            finite = [v for v in values if v is not None]
            best = (min(finite) if key in LOWER_IS_BETTER else max(finite)) if finite else None
            for c, value in enumerate(values):
                item = QTableWidgetItem(_fmt(value))
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if value is not None and best is not None and value == best and len(finite) > 1:
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                if key == ev.main_metric:
                    item.setBackground(QColor("#eef5ec"))
                table.setItem(r, c, item)
        self.baseline_label.setText(ev.baseline_note + (
            "  " + self.tr("Main metric (shaded): {m}.").format(m=metric_labels.get(ev.main_metric, ev.main_metric))))

    def _fill_per_class(self) -> None:
        per_class = self.evaluation.per_class
        table = self.per_class_table
        table.setRowCount(len(per_class))
        table.setVerticalHeaderLabels([_short(c, 22) for c in per_class])
        for r, values in enumerate(per_class.values()):
            cells = [_fmt(values["precision"], 3), _fmt(values["recall"], 3), _fmt(values["f1"], 3),
                     f"{values['support']:,}"]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                table.setItem(r, c, item)

    def _fill_confusion(self, confusion) -> None:
        table = self.confusion_table
        labels = confusion.labels
        k = len(labels)
        table.setRowCount(k)
        table.setColumnCount(k)
        if k > 3:  # many classes: number them so the column headers stay readable
            table.setHorizontalHeaderLabels([self.tr("→ {i}").format(i=i + 1) for i in range(k)])
            table.setVerticalHeaderLabels([f"{i + 1}. {_short(x, 22)}" for i, x in enumerate(labels)])
            for i, x in enumerate(labels):
                table.horizontalHeaderItem(i).setToolTip(self.tr("predicted {c}").format(c=x))
        else:
            table.setHorizontalHeaderLabels([self.tr("→ {c}").format(c=_short(x, 18)) for x in labels])
            table.setVerticalHeaderLabels([_short(x, 18) for x in labels])
        shares = confusion.shares
        for i in range(k):
            for j in range(k):
                share = float(shares[i, j])
                item = QTableWidgetItem(f"{int(confusion.counts[i, j]):,}\n{share * 100:.1f} %")
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                # correct cells shade green, mistakes red, stronger with a larger share
                base = (58, 154, 74) if i == j else (192, 80, 77)
                alpha = int(25 + 200 * share) if confusion.counts[i, j] else 0
                item.setBackground(QColor(*base, alpha))
                if share > 0.6:
                    item.setForeground(QColor("white"))
                table.setItem(i, j, item)

    def slider_threshold(self) -> float:
        return self.threshold_slider.value() / SLIDER_STEPS

    def set_slider_threshold(self, threshold: float) -> None:
        self.threshold_slider.setValue(round(threshold * SLIDER_STEPS))

    @Slot(int)
    def _slider_moved(self, value: int) -> None:
        ev = self.evaluation
        if ev is None or ev.task != "binary":
            return
        t = value / SLIDER_STEPS
        conf = ev.confusion_at(t)
        self._fill_confusion(conf)
        (_tn, fp), (fn, tp) = conf.counts.tolist()
        precision = tp / (tp + fp) if tp + fp else float("nan")
        recall = tp / (tp + fn) if tp + fn else float("nan")
        positive = str(ev.classes[1])
        self.threshold_label.setText(self.tr("{t:.3f} on p({c})").format(t=t, c=positive))
        self.live_label.setText(self.tr(
            "At this threshold: {tp} of {pos} rows with {target} = {c} caught (recall {r}), {fp} false alarms "
            "(precision {p}).").format(tp=tp, pos=tp + fn, target=ev.target, c=positive, r=_fmt(recall, 3),
                                       fp=fp, p=_fmt(precision, 3)))
        if ev.valid_y is not None and len(ev.valid_y):
            from mfg_desktop.core.evaluate import expected_cost

            cost = expected_cost(ev.valid_y, ev.valid_p, t, self.cost_fn.value(), self.cost_fp.value())
            self.live_label.setText(self.live_label.text() + "  " + self.tr(
                "Cost on the validation rows: {cost:,.1f}.").format(cost=cost))

    @Slot()
    def propose_threshold(self) -> float | None:
        ev = self.evaluation
        if ev is None or ev.task != "binary":
            return None
        from mfg_desktop.core.errors import MfgError

        try:
            t = ev.propose_threshold(self.cost_fn.value(), self.cost_fp.value())
        except MfgError as exc:
            self.ctx.report_error(exc)
            return None
        self.set_slider_threshold(t)
        self.threshold_status.setText(self.tr(
            "Proposed {t:.3f}: the lowest total cost on the {n:,} validation rows. Press “Use this threshold” "
            "to keep it.").format(t=t, n=len(ev.valid_y)))
        return t

    def use_threshold(self, threshold: float) -> None:
        """Store ``threshold`` in the run (prediction decides with it) and show the metrics at it."""
        from mfg_desktop.core.errors import MfgError
        from mfg_desktop.core.evaluate import set_run_threshold

        ev = self.evaluation
        if ev is None or ev.task != "binary" or self.run is None:
            return
        try:
            set_run_threshold(self.run, threshold)
            ev.set_threshold(threshold)
        except MfgError as exc:
            self.ctx.report_error(exc)
            return
        self._fill_metrics()
        self._slider_moved(self.threshold_slider.value())
        if self.session.evaluation is ev:
            self.session.set_evaluation(ev)  # its numbers changed: let observers redraw
        where = self.loaded.path.name if self.loaded is not None else None
        self.threshold_status.setText(
            self.tr("Threshold {t:.3f} is stored in the model. Save the model file ({f}) so that prediction from "
                    "the file uses it too.").format(t=threshold, f=where) if where else
            self.tr("Threshold {t:.3f} is stored in this run: the Predict step uses it. Save the model file to "
                    "keep it.").format(t=threshold))
        self.save_button.setText(self.tr("Save to {f}").format(f=where) if where else self.tr("Save model file…"))
        self._update_buttons()

    def save_model(self, path: str | Path | None = None) -> Job | None:
        """Write the run (with its threshold) as a model file; an opened file is saved in place."""
        if self.run is None:
            return None
        if path is None:
            if self.loaded is not None:
                path = self.loaded.path
            else:
                chosen, _ = QFileDialog.getSaveFileName(self, self.tr("Save model file"), "model.mfgmodel",
                                                        self.tr("mfg-desktop models (*.mfgmodel)"))
                if not chosen:
                    return None
                path = chosen
        job = run_in_thread(_save_job, self.run, str(path), name="save-model")
        self.save_job = job
        job.finished.connect(lambda saved: self.threshold_status.setText(
            self.tr("Saved {path}.").format(path=saved)))
        job.errored.connect(lambda exc: self.ctx.report_error(exc, self.tr("saving the model")))
        job.ended.connect(self._update_buttons)
        self.ctx.track(job, self.tr("Saving model"), cancellable=False)
        self._update_buttons()
        return job

    def _draw_curves(self) -> None:
        ev = self.evaluation
        colors = ["#2f6fb0", "#d9731a", "#3a9a4a", "#c0504d", "#8064a2", "#4bacc6", "#7f7f7f", "#9b7d3a"]
        roc, pr = self.roc_plot.getPlotItem(), self.pr_plot.getPlotItem()
        diagonal = pg.PlotDataItem([0, 1], [0, 1], pen=pg.mkPen("#999", width=1, style=Qt.PenStyle.DashLine))
        roc.addItem(diagonal)
        binary = ev.task == "binary"
        for i, (name, (fpr, tpr)) in enumerate(ev.curves.roc.items()):
            label = self.tr("network (AUC {a})").format(a=_fmt(ev.metrics.get("roc_auc"), 3)) if binary else name
            roc.plot(fpr, tpr, pen=pg.mkPen(colors[i % len(colors)], width=2), name=label)
        for i, (name, (recall, precision)) in enumerate(ev.curves.pr.items()):
            label = self.tr("network (AP {a})").format(a=_fmt(ev.metrics.get("pr_auc"), 3)) if binary else name
            pr.plot(recall, precision, pen=pg.mkPen(colors[i % len(colors)], width=2), name=label)
        if binary:
            from mfg_desktop.core.evaluate import HGB, make_curves

            out = ev.baseline_outputs.get(HGB)
            if out is not None:
                curves = make_curves(ev.y, out, ev.task, ev.classes)
                for (fpr, tpr) in curves.roc.values():
                    roc.plot(fpr, tpr, pen=pg.mkPen(BASELINE_COLORS[1], width=1.5, style=Qt.PenStyle.DashLine),
                             name=self.tr("gradient boosting (AUC {a})").format(
                                 a=_fmt(ev.baselines[HGB].get("roc_auc"), 3)))
                for (recall, precision) in curves.pr.values():
                    pr.plot(recall, precision,
                            pen=pg.mkPen(BASELINE_COLORS[1], width=1.5, style=Qt.PenStyle.DashLine),
                            name=self.tr("gradient boosting (AP {a})").format(
                                a=_fmt(ev.baselines[HGB].get("pr_auc"), 3)))
            share = float(np.mean(ev.y == 1)) if len(ev.y) else 0.0
            pr.addItem(pg.InfiniteLine(pos=share, angle=0, pen=pg.mkPen("#999", width=1, style=Qt.PenStyle.DashLine)))
        for item in (roc, pr):
            item.setXRange(0, 1, padding=0.02)
            item.setYRange(0, 1.02, padding=0.02)

    def _draw_regression(self) -> None:
        ev = self.evaluation
        y = np.asarray(ev.y, dtype=np.float64)
        pred = np.asarray(ev.outputs, dtype=np.float64)
        scatter = self.scatter_plot.getPlotItem()
        scatter.clear()
        scatter.plot(pred, y, pen=None, symbol="o", symbolSize=4, symbolBrush=(47, 111, 176, 120), symbolPen=None)
        if len(y):
            lo, hi = float(min(y.min(), pred.min())), float(max(y.max(), pred.max()))
            scatter.plot([lo, hi], [lo, hi], pen=pg.mkPen("#999", width=1, style=Qt.PenStyle.DashLine))
        residual = self.residual_plot.getPlotItem()
        residual.clear()
        residual.plot(pred, y - pred, pen=None, symbol="o", symbolSize=4, symbolBrush=(217, 115, 26, 120),
                      symbolPen=None)
        residual.addItem(pg.InfiniteLine(pos=0, angle=0, pen=pg.mkPen("#999", width=1)))

    def _draw_importance(self) -> None:
        imp = self.evaluation.importance
        if imp is None:
            self.importance_note.setText(self.tr("Importance was not computed."))
            return
        self.importance_chart.show_bars(imp.columns, imp.mean, imp.std)
        metric = self._metric_labels().get(imp.metric, imp.metric)
        self.importance_chart.plot.getPlotItem().setLabel(
            "bottom", self.tr("drop in {m} when the column is shuffled").format(m=metric))
        text = self.tr("Drop in {m} when one column's values are shuffled among {n:,} evaluated rows ({r} shuffles "
                       "each); the whiskers show ± one standard deviation. Near zero or below: the model does not "
                       "rely on the column.").format(m=metric, n=imp.n_rows, r=imp.n_repeats)
        if imp.pca:
            text += "\n" + self.tr("PCA is on: the network sees principal components, not your columns. Each "
                                   "column's importance is measured through the PCA, by shuffling the column "
                                   "before it.")
        self.importance_note.setText(text)

    def _fill_rows(self) -> None:
        ev = self.evaluation
        n = min(ev.n_rows, MAX_ROWS_LISTED)
        file_rows = ev.rows[:n] + 1  # as in a spreadsheet without its header
        if ev.task == "regression":
            actual = np.asarray(ev.y[:n], dtype=np.float64)
            predicted = np.asarray(ev.outputs[:n], dtype=np.float64)
            headers = [self.tr("data row"), self.tr("actual"), self.tr("predicted"), self.tr("error")]
            columns = [file_rows, actual, predicted, actual - predicted]
        else:
            names = np.asarray([str(c) for c in ev.classes], dtype=object)
            predicted = ev.predicted[:n]
            headers = [self.tr("data row"), self.tr("actual"), self.tr("predicted"), self.tr("p(predicted)")]
            columns = [file_rows, names[ev.y[:n]], names[predicted], ev.outputs[np.arange(n), predicted]]
            if ev.task == "binary":
                headers[3] = self.tr("p({c})").format(c=ev.classes[1])
                columns[3] = ev.outputs[:n, 1]
        model = RowsModel(headers, columns, self.rows_view)
        self.rows_view.setModel(model)
        self.rows_view.selectionModel().currentRowChanged.connect(lambda cur, _prev: self.explain_row(cur.row()))
        shown = self.tr(" (the first {n:,} shown)").format(n=n) if n < ev.n_rows else ""
        self.rows_label.setText(self.tr("The {n:,} evaluated rows{shown}. Pick one to see which inputs pushed its "
                                        "prediction up or down.").format(n=ev.n_rows, shown=shown))
        if n:
            self.rows_view.selectRow(0)

    def explain_row(self, position: int) -> None:
        ev = self.evaluation
        if ev is None or position < 0 or position >= ev.n_rows:
            return
        self._explained_row = position
        from mfg_desktop.core.errors import MfgError

        try:
            # one model call over (inputs + 1) rows: fast enough to run on the GUI thread
            c = ev.explain_row(position)
        except MfgError as exc:
            self.contrib_text.setText(str(exc))
            return
        ranked = c.ranked()
        names = [f"{col} = {_value_text(value)}" for col, value, _ref, _d in ranked]
        deltas = np.array([d for *_rest, d in ranked])
        colors = [UP_COLOR if d > 0 else DOWN_COLOR for d in deltas]
        self.contrib_chart.show_bars(names, deltas, colors=colors)
        self.contrib_chart.plot.getPlotItem().setTitle(
            self.tr("Data row {row}: {out} = {p}").format(row=int(ev.rows[position]) + 1, out=c.output,
                                                           p=_fmt(c.prediction, 3)), size="10pt")
        top = ranked[:3]
        lines = [self.tr("{col}: {v} instead of the typical {ref} moved {out} by {d:+.3f}").format(
            col=col, v=_value_text(v), ref=_value_text(ref), out=c.output, d=d) for col, v, ref, d in top]
        self.contrib_text.setText(self.tr("Red bars pushed the prediction up, blue bars down.") + "\n"
                                  + "\n".join(lines))

    def _show_history(self, run) -> None:
        if run is None:
            self.training_curves.clear()
            return
        from mfg_desktop.core.network import metric_name

        self.training_curves.show_history(run.history, metric_name(run.task), run.best_epoch)


def _value_text(value: Any) -> str:
    if isinstance(value, float | np.floating):
        return f"{value:.4g}"
    return str(value)
