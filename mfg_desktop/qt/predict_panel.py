"""The Predict step: open a model, score files or a folder in the background, read per-file
results (counts, reasons, class counts, a histogram of scores, the scored rows with flagged rows
marked, schema and drift warnings), export them, or watch a folder the line exports into.

All scoring, checking and exporting is done by :mod:`mfg_desktop.core.score` and
:mod:`mfg_desktop.core.watch` on worker threads; this panel only renders their results.
"""

from __future__ import annotations

import html
import shutil
import tempfile
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QModelIndex, Qt, Slot
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableView,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from mfg_desktop.core.errors import MfgError
from mfg_desktop.qt.context import AppContext, data_file_filters
from mfg_desktop.qt.settings import app_settings
from mfg_desktop.qt.table_model import DataFrameModel
from mfg_desktop.qt.workers import Job, run_in_thread

if TYPE_CHECKING:
    from mfg_desktop.core.bundle import LoadedModel
    from mfg_desktop.core.score import FileScore

FLAG_BRUSH = QBrush(QColor(253, 221, 214))
REJECTED_BRUSH = QBrush(QColor(255, 244, 214))
STATUS_COLOURS = {"scored": "#1e7b34", "partial": "#9a6200", "rejected": "#b3261e"}


# ------------------------------------------------------------------------------ worker jobs


def _load_model_job(path: str, state) -> LoadedModel:
    from mfg_desktop.core.bundle import load_model_file  # TensorFlow loads on the worker thread

    state.set_progress(0.1, "Opening the model file")
    return load_model_file(path)


# Smaller chunks than headless scoring: each step on a chunk briefly holds the GIL, and shorter
# steps keep the window's own thread responsive (measured in tests/benchmarks/bench_predict.py).
GUI_CHUNK_ROWS = 32_768


def _score_job(model, paths: list[str], out_dir: str, fmt: str, state) -> list[FileScore]:
    from mfg_desktop.core.score import ScoreOptions, score_files

    return score_files(model, paths, out_dir, state=state, options=ScoreOptions(format=fmt),
                       chunk_rows=GUI_CHUNK_ROWS)


def _export_job(results: list[FileScore], folder: str, fmt: str, protected: list[str], state) -> list[Path]:
    from mfg_desktop.core.score import export_scored

    written = []
    for i, result in enumerate(results):
        state.check_cancelled()
        state.set_progress(i / max(len(results), 1), f"Exporting {result.path.name}")
        written.append(export_scored(result, folder, fmt, protected=protected))
    return written


def _watch_job(watcher, state) -> list[FileScore]:
    watcher.on_event = state.set_partial_result  # events reach the GUI thread as queued signals
    return watcher.run(state)


# ------------------------------------------------------------------------------ the scored-rows table


class ScoredRowsModel(DataFrameModel):
    """The scored rows; flagged rows (binary: at or above the threshold) and rejected rows stand out."""

    def __init__(self, frame, flag_column: str | None, rejected_column: str | None, parent=None) -> None:
        super().__init__(frame, parent=parent)
        self._flags = frame[flag_column].fillna(0).to_numpy() if flag_column in frame.columns else None
        self._rejected = frame[rejected_column].notna().to_numpy() if rejected_column in frame.columns else None

    def is_flagged(self, row: int) -> bool:
        return self._flags is not None and bool(self._flags[self.source_row(row)] == 1)

    def is_rejected(self, row: int) -> bool:
        return self._rejected is not None and bool(self._rejected[self.source_row(row)])

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.BackgroundRole and index.isValid():
            if self.is_flagged(index.row()):
                return FLAG_BRUSH
            if self.is_rejected(index.row()):
                return REJECTED_BRUSH
        if role == Qt.ItemDataRole.FontRole and index.isValid() and self.is_flagged(index.row()):
            font = self._bold_font()
            return font
        return super().data(index, role)

    def _bold_font(self):
        from PySide6.QtGui import QFont

        font = QFont()
        font.setBold(True)
        return font


# ------------------------------------------------------------------------------ the panel


class PredictPanel(QWidget):
    """Score new files with an opened model file or the run just trained."""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.session = ctx.session
        self.model: Any = None  # LoadedModel (a file, or a run of this session wrapped)
        self.model_source = ""
        self.results: list[FileScore] = []
        self.score_job: Job | None = None
        self.model_job: Job | None = None
        self.export_job: Job | None = None
        self.watch_job: Job | None = None
        self.last_export: list[Path] = []
        self.work_dir = tempfile.mkdtemp(prefix="mfg_scored_")
        weakref.finalize(self, shutil.rmtree, self.work_dir, True)

        self.card = QLabel()
        self.card.setTextFormat(Qt.TextFormat.RichText)
        self.card.setWordWrap(True)
        self.card.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.open_button = QPushButton(self.tr("Open model…"))
        self.open_button.clicked.connect(self.open_model_dialog)
        self.use_run_button = QPushButton(self.tr("Use the model just trained"))
        self.use_run_button.clicked.connect(self.use_current_run)
        model_box = QGroupBox(self.tr("Model"))
        model_layout = QHBoxLayout(model_box)
        model_layout.addWidget(self.card, 1)
        buttons = QVBoxLayout()
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.use_run_button)
        buttons.addStretch(1)
        model_layout.addLayout(buttons)

        self.tabs = QTabWidget()
        self.tabs.addTab(self._build_score_tab(), self.tr("Score files"))
        self.tabs.addTab(self._build_watch_tab(), self.tr("Watch a folder"))

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(model_box)
        layout.addWidget(self.tabs, 1)

        self.session.current_run_changed.connect(self._current_run_changed)
        self._show_model()
        if self.session.current_run is not None:
            self.use_current_run()
        self._update_buttons()

    # -- building -------------------------------------------------------------------------------
    def _build_score_tab(self) -> QWidget:
        self.file_list = QListWidget()
        self.file_list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.add_files_button = QPushButton(self.tr("Add files…"))
        self.add_files_button.clicked.connect(self._choose_files)
        self.add_folder_button = QPushButton(self.tr("Add folder…"))
        self.add_folder_button.clicked.connect(self._choose_folder)
        self.remove_button = QPushButton(self.tr("Remove"))
        self.remove_button.clicked.connect(self._remove_selected)
        self.score_button = QPushButton(self.tr("Score"))
        self.score_button.setDefault(True)
        self.score_button.clicked.connect(self.score)
        self.cancel_button = QPushButton(self.tr("Cancel"))
        self.cancel_button.clicked.connect(self._cancel_score)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress_label = QLabel()
        self.progress_label.setWordWrap(True)
        self.result_list = QListWidget()
        self.result_list.currentRowChanged.connect(self._show_result)

        row1 = QHBoxLayout()
        row1.addWidget(self.add_files_button)
        row1.addWidget(self.add_folder_button)
        row1.addWidget(self.remove_button)
        row2 = QHBoxLayout()
        row2.addWidget(self.score_button, 1)
        row2.addWidget(self.cancel_button)
        left = QWidget()
        left.setFixedWidth(340)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(QLabel(self.tr("Files to score")))
        left_layout.addWidget(self.file_list, 2)
        left_layout.addLayout(row1)
        left_layout.addLayout(row2)
        left_layout.addWidget(self.progress)
        left_layout.addWidget(self.progress_label)
        left_layout.addWidget(QLabel(self.tr("Results")))
        left_layout.addWidget(self.result_list, 3)

        from mfg_desktop.qt.plots import HistogramPlot

        self.result_title = QLabel(self.tr("Add files and press Score."))
        font = self.result_title.font()
        font.setPointSizeF(font.pointSizeF() * 1.2)
        font.setBold(True)
        self.result_title.setFont(font)
        self.warnings = QLabel()
        self.warnings.setWordWrap(True)
        self.warnings.setTextFormat(Qt.TextFormat.RichText)
        self.warnings.setStyleSheet("background: #fff4e5; border: 1px solid #e8a33d; border-left: 5px solid #e8a33d;"
                                    " border-radius: 4px; padding: 6px; color: #663c00;")
        self.warnings.hide()
        self.summary = QTextBrowser()
        self.summary.setOpenLinks(False)
        self.histogram = HistogramPlot()
        self.histogram.setMinimumHeight(170)
        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(self.summary)
        top.addWidget(self.histogram)
        top.setSizes([430, 570])
        self.only_flagged = QCheckBox(self.tr("Show only flagged rows"))
        self.only_flagged.toggled.connect(lambda _checked: self._show_table())
        self.table_note = QLabel()
        self.table = QTableView()
        self.table.setSortingEnabled(True)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        # Fit columns to the first rows only: measuring thousands of cells would freeze the window.
        self.table.horizontalHeader().setResizeContentsPrecision(60)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.verticalHeader().hide()  # the "row" column holds the row number in the file
        table_bar = QHBoxLayout()
        table_bar.addWidget(self.only_flagged)
        table_bar.addWidget(self.table_note, 1)
        table_box = QWidget()
        table_layout = QVBoxLayout(table_box)
        table_layout.setContentsMargins(0, 0, 0, 0)
        table_layout.addLayout(table_bar)
        table_layout.addWidget(self.table)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(top)
        split.addWidget(table_box)
        split.setSizes([290, 370])

        self.format_combo = QComboBox()
        self.format_combo.addItem(self.tr("CSV"), "csv")
        self.format_combo.addItem(self.tr("Excel (.xlsx)"), "xlsx")
        self.export_button = QPushButton(self.tr("Export this file…"))
        self.export_button.clicked.connect(lambda: self._choose_export(all_files=False))
        self.export_all_button = QPushButton(self.tr("Export all…"))
        self.export_all_button.clicked.connect(lambda: self._choose_export(all_files=True))
        export_bar = QHBoxLayout()
        export_bar.addStretch(1)
        export_bar.addWidget(QLabel(self.tr("Export as")))
        export_bar.addWidget(self.format_combo)
        export_bar.addWidget(self.export_button)
        export_bar.addWidget(self.export_all_button)
        self.batch_report_button = QPushButton(self.tr("Batch report…"))
        self.batch_report_button.setToolTip(self.tr("A PDF of the files scored: counts, schema and drift warnings, "
                                                    "first flagged rows"))
        self.batch_report_button.clicked.connect(self._choose_batch_report)
        export_bar.addWidget(self.batch_report_button)

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.result_title)
        right_layout.addWidget(self.warnings)
        right_layout.addWidget(split, 1)
        right_layout.addLayout(export_bar)

        tab = QWidget()
        layout = QHBoxLayout(tab)
        layout.addWidget(left)
        line = QFrame()
        line.setFrameShape(QFrame.Shape.VLine)
        line.setFrameShadow(QFrame.Shadow.Sunken)
        layout.addWidget(line)
        layout.addWidget(right, 1)
        return tab

    def _build_watch_tab(self) -> QWidget:
        self.watch_folder = QLineEdit()
        self.watch_folder.setPlaceholderText(self.tr("the folder the line exports into"))
        self.watch_out = QLineEdit()
        self.watch_out.setPlaceholderText(self.tr("a separate folder for the scored files"))
        browse_in = QPushButton(self.tr("Browse…"))
        browse_in.clicked.connect(lambda: self._browse_into(self.watch_folder))
        browse_out = QPushButton(self.tr("Browse…"))
        browse_out.clicked.connect(lambda: self._browse_into(self.watch_out))
        self.poll_spin = QDoubleSpinBox()
        self.poll_spin.setRange(0.2, 3600)
        self.poll_spin.setValue(2.0)
        self.poll_spin.setSuffix(self.tr(" s"))
        self.stable_spin = QDoubleSpinBox()
        self.stable_spin.setRange(0.0, 3600)
        self.stable_spin.setValue(2.0)
        self.stable_spin.setSuffix(self.tr(" s"))
        self.stable_spin.setToolTip(self.tr("A file is scored once its size has not changed for this long, "
                                            "so a file the line is still writing is never read half-way."))
        for spin in (self.poll_spin, self.stable_spin):
            spin.setMaximumWidth(120)
        self.start_watch_button = QPushButton(self.tr("Start watching"))
        self.start_watch_button.clicked.connect(lambda: self.start_watch())
        self.stop_watch_button = QPushButton(self.tr("Stop"))
        self.stop_watch_button.clicked.connect(self.stop_watch)
        self.watch_state = QLabel(self.tr("Not watching."))
        self.watch_log = QPlainTextEdit()
        self.watch_log.setReadOnly(True)
        self.watch_log.setMaximumBlockCount(5000)

        form = QFormLayout()
        row_in = QHBoxLayout()
        row_in.addWidget(self.watch_folder, 1)
        row_in.addWidget(browse_in)
        row_out = QHBoxLayout()
        row_out.addWidget(self.watch_out, 1)
        row_out.addWidget(browse_out)
        form.addRow(self.tr("Watch folder"), row_in)
        form.addRow(self.tr("Write scored files to"), row_out)
        form.addRow(self.tr("Look every"), self.poll_spin)
        form.addRow(self.tr("Unchanged for"), self.stable_spin)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_watch_button)
        buttons.addWidget(self.stop_watch_button)
        buttons.addWidget(self.watch_state, 1)
        tab = QWidget()
        layout = QVBoxLayout(tab)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(QLabel(self.tr("Log")))
        layout.addWidget(self.watch_log, 1)
        return tab

    # -- the model ------------------------------------------------------------------------------
    @Slot()
    def open_model_dialog(self) -> None:
        settings = app_settings()
        start = str(settings.value("last_model_dir", str(Path.home())))
        path, _ = QFileDialog.getOpenFileName(self, self.tr("Open a model file"), start,
                                              self.tr("Model files (*.mfgmodel);;All files (*)"))
        if path:
            settings.setValue("last_model_dir", str(Path(path).parent))
            self.open_model(path)

    def open_model(self, path: str | Path) -> Job:
        """Open a model file on a worker thread (TensorFlow loads there, not on the GUI thread)."""
        job = run_in_thread(_load_model_job, str(path), name="open model")
        self.model_job = job
        job.finished.connect(lambda model, p=str(path): self.set_model(model, p))
        job.errored.connect(lambda exc: self.ctx.report_error(exc, self.tr("opening the model")))
        self.ctx.track(job, self.tr("Opening {name}").format(name=Path(path).name), cancellable=False)
        return job

    @Slot()
    def use_current_run(self) -> None:
        run = self.session.current_run
        if run is None or getattr(run, "model", None) is None:
            return
        from mfg_desktop.core.score import as_loaded_model

        self.set_model(as_loaded_model(run), self.tr("the model trained in this session (run {id})").format(id=run.id))

    def _current_run_changed(self, run) -> None:
        self._update_buttons()
        if self.model is None and run is not None:
            self.use_current_run()

    def set_model(self, model, source: str = "") -> None:
        self.model = model
        self.model_source = source or (str(model.path) if getattr(model, "path", None) else "")
        self._show_model()
        self._update_buttons()

    def _show_model(self) -> None:
        if self.model is None:
            self.card.setText(self.tr("<b>No model yet.</b> Open a model file (File &gt; Open model…) "
                                      "or train one on the Train step."))
            return
        from mfg_desktop.core.score import model_card

        card = model_card(self.model)
        tasks = {"binary": self.tr("binary classification"), "multiclass": self.tr("multiclass classification"),
                 "regression": self.tr("regression")}
        metrics = ", ".join(f"{k} {v:.3f}" for k, v in card["metrics"].items())
        files = ", ".join(n for n in card["training_files"] if n)
        rows = [
            (self.tr("Source"), self.model_source),
            (self.tr("Task"), f"{tasks.get(card['task'], card['task'])}, "
                              + self.tr("target {target}").format(target=card["target"])),
            (self.tr("Inputs"), f"{len(card['inputs'])}: {', '.join(card['inputs'])}"),
            (self.tr("Training data"), self.tr("{rows} rows{files}, fingerprint {fp}").format(
                rows=card["training_rows"], files=f" ({files})" if files else "", fp=str(card["fingerprint"])[:12])),
            (self.tr("Metrics"), metrics),
        ]
        if card["threshold"] is not None:
            rows.append((self.tr("Threshold"), self.tr("flag when p({cls}) ≥ {t:.2f}").format(
                cls=card["positive_class"], t=card["threshold"])))
        if card["derived"]:
            rows.append((self.tr("Derived"), "; ".join(card["derived"])))
        rows.append((self.tr("Created"), self.tr("{created} with mfg-desktop {version}").format(
            created=str(card["created"]).replace("T", " ")[:19], version=card["app_version"])))
        cells = "".join(
            f"<tr><td style='color:#555; padding-right:12px'>{html.escape(k)}</td><td>{html.escape(str(v))}</td></tr>"
            for k, v in rows)
        self.card.setText(f"<table cellspacing='0' cellpadding='1'>{cells}</table>")

    # -- files ----------------------------------------------------------------------------------
    def paths(self) -> list[str]:
        return [self.file_list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.file_list.count())]

    def add_paths(self, paths: list[str | Path]) -> None:
        present = set(self.paths())
        for p in paths:
            p = str(p)
            if p in present:
                continue
            present.add(p)
            item = QListWidgetItem(("📁 " if Path(p).is_dir() else "") + Path(p).name)
            item.setToolTip(p)
            item.setData(Qt.ItemDataRole.UserRole, p)
            self.file_list.addItem(item)
        self._update_buttons()

    def _choose_files(self) -> None:
        settings = app_settings()
        start = str(settings.value("last_dir", str(Path.home())))
        paths, _ = QFileDialog.getOpenFileNames(self, self.tr("Files to score"), start,
                                                data_file_filters())
        if paths:
            settings.setValue("last_dir", str(Path(paths[0]).parent))
            self.add_paths(paths)

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("A folder of files to score"))
        if folder:
            self.add_paths([folder])

    def _remove_selected(self) -> None:
        for item in self.file_list.selectedItems():
            self.file_list.takeItem(self.file_list.row(item))
        self._update_buttons()

    def _browse_into(self, edit: QLineEdit) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("Choose a folder"), edit.text())
        if folder:
            edit.setText(folder)

    # -- scoring --------------------------------------------------------------------------------
    def _busy(self) -> bool:
        return any(j is not None and j.is_running() for j in (self.score_job, self.export_job))

    def _update_buttons(self) -> None:
        has_model = self.model is not None
        busy = self._busy()
        watching = self.watch_job is not None and self.watch_job.is_running()
        self.score_button.setEnabled(has_model and self.file_list.count() > 0 and not busy)
        self.cancel_button.setEnabled(self.score_job is not None and self.score_job.is_running())
        current = self.current_result()
        self.export_button.setEnabled(not busy and current is not None and current.output is not None)
        self.export_all_button.setEnabled(not busy and any(r.output is not None for r in self.results))
        self.batch_report_button.setEnabled(not busy and self.model is not None and bool(self.results))
        self.use_run_button.setEnabled(self.session.current_run is not None)
        self.start_watch_button.setEnabled(has_model and not watching)
        self.stop_watch_button.setEnabled(watching)

    @Slot()
    def score(self) -> Job | None:
        """Score the listed files in a worker; results appear one file at a time."""
        if self.model is None or not self.paths() or self._busy():
            return None
        self.results = []
        self.result_list.clear()
        self._clear_result()
        fmt = "csv"  # the work copy; Export writes CSV or Excel where the user wants it
        job = run_in_thread(_score_job, self.model, self.paths(), self.work_dir, fmt, name="score")
        self.score_job = job
        job.progress.connect(self._progress)
        job.partial.connect(self._add_result)
        job.finished.connect(self._scored)
        job.errored.connect(lambda exc: self._job_failed(exc, self.tr("scoring")))
        job.cancelled.connect(lambda: self.progress_label.setText(self.tr("Scoring cancelled.")))
        job.ended.connect(self._update_buttons)
        self.ctx.track(job, self.tr("Scoring"))
        self.progress.setValue(0)
        self.progress_label.setText(self.tr("Scoring…"))
        self._update_buttons()
        return job

    def _cancel_score(self) -> None:
        if self.score_job is not None:
            self.score_job.cancel()

    def _progress(self, fraction: float, message: str) -> None:
        self.progress.setValue(int(fraction * 1000))
        self.progress_label.setText(message)

    def _job_failed(self, exc: BaseException, what: str) -> None:
        self.progress_label.setText(self.tr("Failed: {error}").format(error=exc) if isinstance(exc, MfgError)
                                    else self.tr("Failed."))
        self.ctx.report_error(exc, what)

    def _scored(self, results: list[FileScore]) -> None:
        self.progress.setValue(1000)
        rejected = sum(r.rejected for r in results)
        self.progress_label.setText(self.tr("Scored {n} file(s), {bad} rejected.").format(n=len(results), bad=rejected))
        if self.result_list.currentRow() < 0 and self.result_list.count():
            self.result_list.setCurrentRow(0)

    def _add_result(self, result) -> None:
        if not hasattr(result, "summary"):
            return
        self.results.append(result)
        status = {"scored": self.tr("scored"), "partial": self.tr("some rows rejected"),
                  "rejected": self.tr("rejected")}[result.status]
        item = QListWidgetItem(f"{result.path.name} — {status}")
        item.setForeground(QBrush(QColor(STATUS_COLOURS[result.status])))
        item.setToolTip(str(result.path))
        self.result_list.addItem(item)
        if self.result_list.currentRow() < 0:
            self.result_list.setCurrentRow(self.result_list.count() - 1)
        self._update_buttons()

    def current_result(self) -> FileScore | None:
        row = self.result_list.currentRow() if hasattr(self, "result_list") else -1
        return self.results[row] if 0 <= row < len(self.results) else None

    # -- showing a result -----------------------------------------------------------------------
    def _clear_result(self) -> None:
        self.result_title.setText("")
        self.warnings.hide()
        self.summary.clear()
        self.histogram.clear()
        self.table.setModel(None)
        self.table_note.setText("")

    @Slot(int)
    def _show_result(self, row: int) -> None:
        self._update_buttons()
        result = self.current_result()
        if result is None:
            self._clear_result()
            return
        name = result.path.name
        if result.rejected:
            self.result_title.setText(self.tr("{name}: rejected, nothing scored").format(name=name))
        else:
            self.result_title.setText(self.tr("{name}: {scored:,} of {read:,} rows scored").format(
                name=name, scored=result.rows_scored, read=result.rows_read))
        warnings = []
        if result.error:
            warnings.append(result.error)
        if result.schema is not None:
            warnings += result.schema.lines()
        if result.drift is not None:
            warnings += result.drift.lines()
        if warnings:
            self.warnings.setText("<b>" + html.escape(self.tr("Schema and drift")) + "</b><ul style='margin:0'>"
                                  + "".join(f"<li>{html.escape(w)}</li>" for w in warnings) + "</ul>")
            self.warnings.show()
        else:
            self.warnings.hide()
        self.summary.setHtml(self._summary_html(result))
        self._show_histogram(result)
        self._show_table()

    def _summary_html(self, result: FileScore) -> str:
        e = html.escape
        counts = ((self.tr("Rows read"), result.rows_read), (self.tr("Rows scored"), result.rows_scored),
                  (self.tr("Rows rejected"), result.rows_rejected))
        parts = ["<table cellpadding='2'>" + "".join(
            f"<tr><td>{e(label)}</td><td align='right'><b>{n:,}</b></td></tr>" for label, n in counts) + "</table>"]
        if result.rejects:
            parts.append("<p><b>" + e(self.tr("Why rows were rejected")) + "</b><ul style='margin-top:0'>")
            for reason in result.rejects:
                parts.append("<li>" + e(self.tr("{why}: {rows:,} row(s), the first at data row {row}").format(
                    rows=reason.rows, why=reason.text, row=reason.first_row)) + "</li>")
            parts.append("</ul></p>")
        if result.rows_scored and result.task != "regression":
            total = max(result.rows_scored, 1)
            parts.append("<p><b>" + e(self.tr("Predicted classes")) + "</b><br>" + "<br>".join(
                f"{e(str(c))}: {n:,} ({n / total:.1%})" for c, n in result.class_counts.items()) + "</p>")
            if result.task == "binary":
                parts.append("<p>" + e(self.tr("Flagged (p({cls}) ≥ {t:.2f}): {n:,} rows").format(
                    cls=result.positive_class, t=result.threshold, n=result.flagged_count)) + "</p>")
        elif result.rows_scored:
            names = {"min": self.tr("min"), "p5": self.tr("5th percentile"), "median": self.tr("median"),
                     "mean": self.tr("mean"), "p95": self.tr("95th percentile"), "max": self.tr("max")}
            parts.append("<p><b>" + e(self.tr("Predicted values")) + "</b><br>" + "<br>".join(
                f"{e(names.get(k, k))}: {v:.4g}" for k, v in result.value_summary.items()) + "</p>")
        if result.output is not None:
            parts.append("<p style='color:#555'>" + e(self.tr("{seconds:.1f} s; export to keep the scored file.")
                                                       .format(seconds=result.seconds)) + "</p>")
        for note in result.notes:
            parts.append(f"<p>{e(note)}</p>")
        return "".join(parts)

    def _show_histogram(self, result: FileScore) -> None:
        if result.histogram is None:
            self.histogram.clear()
            return
        import pyqtgraph as pg

        counts, edges = result.histogram
        self.histogram.show_histogram(counts, edges, result.score_label)
        plot = self.histogram.plot
        plot.setLabel("bottom", result.score_label)
        plot.setTitle(self.tr("Histogram of scores"))
        if result.threshold is not None:
            line = pg.InfiniteLine(pos=result.threshold, angle=90, pen=pg.mkPen("#c0392b", width=2,
                                                                              style=Qt.PenStyle.DashLine))
            plot.addItem(line)

    def _show_table(self) -> None:
        result = self.current_result()
        if result is None:
            return
        names = result.output_columns
        flag = "flag" if "flag" in names else next((n for n in names if n.startswith("flag")), None)
        rejected = next((n for n in names if n.startswith("rejected")), None)
        flagged_only = self.only_flagged.isChecked() and result.task == "binary"
        self.only_flagged.setEnabled(result.task == "binary")
        frame = result.flagged if flagged_only else result.preview
        if frame is None or frame.empty:
            self.table.setModel(None)
            self.table_note.setText(self.tr("No flagged rows.") if flagged_only else "")
            return
        model = ScoredRowsModel(frame, flag, rejected, self.table)
        self.table.setModel(model)
        self.table.horizontalHeader().resizeSections(QHeaderView.ResizeMode.ResizeToContents)
        for column in range(model.columnCount()):
            if self.table.columnWidth(column) > 220:
                self.table.setColumnWidth(column, 220)
        total = result.flagged_count if flagged_only else result.rows_read
        self.table_note.setText(self.tr("showing the first {shown:,} of {total:,} rows; flagged rows are red, "
                                        "rejected rows yellow").format(shown=len(frame), total=total))

    # -- export ---------------------------------------------------------------------------------
    def _choose_batch_report(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, self.tr("Batch report"), "batch_report.pdf", self.tr("PDF (*.pdf)"))
        if path:
            self.batch_report(path)

    def batch_report(self, path: str | Path) -> bool:
        """Ask for a batch report of the files scored here (the Report step writes it and shows the outcome)."""
        if self.model is None or not self.results:
            return False
        self.ctx.batch_report_requested.emit(self.model, list(self.results), str(path))
        return True

    def _choose_export(self, all_files: bool) -> None:
        settings = app_settings()
        start = str(settings.value("last_export_dir", str(Path.home())))
        folder = QFileDialog.getExistingDirectory(self, self.tr("Export the scored data into"), start)
        if folder:
            settings.setValue("last_export_dir", folder)
            self.export_to(folder, self.format_combo.currentData(), all_files=all_files)

    def export_to(self, folder: str | Path, fmt: str = "csv", all_files: bool = False) -> Job | None:
        chosen = [r for r in self.results if r.output is not None] if all_files else [self.current_result()]
        chosen = [r for r in chosen if r is not None and r.output is not None]
        if not chosen or self._busy():
            return None
        protected = [str(r.path) for r in self.results]
        job = run_in_thread(_export_job, chosen, str(folder), fmt, protected, name="export")
        self.export_job = job
        job.finished.connect(self._exported)
        job.errored.connect(lambda exc: self._job_failed(exc, self.tr("exporting")))
        job.ended.connect(self._update_buttons)
        self.ctx.track(job, self.tr("Exporting"))
        self._update_buttons()
        return job

    def _exported(self, paths: list[Path]) -> None:
        self.last_export = list(paths)
        self.ctx.status(
            self.tr("Exported {n} file(s) to {folder}.").format(n=len(paths), folder=paths[0].parent if paths else ""),
            10000)

    # -- watching -------------------------------------------------------------------------------
    def start_watch(self, folder: str | None = None, out_dir: str | None = None) -> Job | None:
        from mfg_desktop.core.watch import FolderWatcher

        if self.model is None or (self.watch_job is not None and self.watch_job.is_running()):
            return None
        folder = folder or self.watch_folder.text().strip()
        out_dir = out_dir or self.watch_out.text().strip()
        if not folder or not out_dir:
            self.ctx.notify(self.tr("Choose the folder to watch and the folder for scored files."),
                                          "warning")
            return None
        self.watch_folder.setText(folder)
        self.watch_out.setText(out_dir)
        try:
            watcher = FolderWatcher(folder, out_dir, self.model, poll_s=self.poll_spin.value(),
                                    stable_s=self.stable_spin.value())
        except MfgError as exc:
            self.ctx.notify(str(exc))
            return None
        job = run_in_thread(_watch_job, watcher, name="watch")
        self.watch_job = job
        job.partial.connect(self._watch_event)
        job.errored.connect(lambda exc: self._job_failed(exc, self.tr("watching")))
        job.ended.connect(self._watch_ended)
        self.watch_state.setText(self.tr("Watching {folder}").format(folder=folder))
        self._update_buttons()
        return job

    @Slot()
    def stop_watch(self) -> None:
        if self.watch_job is not None and self.watch_job.is_running():
            self.watch_job.cancel()
            self.watch_state.setText(self.tr("Stopping…"))

    def _watch_event(self, event) -> None:
        self.watch_log.appendPlainText(event.text())
        if event.score is not None:
            self._add_result(event.score)

    def _watch_ended(self) -> None:
        self.watch_state.setText(self.tr("Not watching."))
        self._update_buttons()
