"""The main window: the step navigator (Data > Prepare > Train > Evaluate > Predict > Report),
the File menu, drag & drop of files, the message banner and the job progress in the status bar.

Panels are registered per step with :func:`register_panel`; a step without a panel shows what it
needs before it can be used. Panels are created when their step is first shown, which keeps
the window's cold start free of pandas and pyqtgraph.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QCoreApplication, Qt, QTimer, Slot
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QFont, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from mfg_desktop.core.errors import MfgError
from mfg_desktop.qt import preload
from mfg_desktop.qt.banner import MessageBanner
from mfg_desktop.qt.compute_dialog import build_settings_menu
from mfg_desktop.qt.context import AppContext, data_file_filters
from mfg_desktop.qt.error_dialog import show_error_dialog
from mfg_desktop.qt.help_menu import build_help_menu
from mfg_desktop.qt.language_menu import build_view_menu
from mfg_desktop.qt.session import SessionModel
from mfg_desktop.qt.settings import app_settings, dialog_folder, remember_folder
from mfg_desktop.qt.work_menu import WorkController
from mfg_desktop.qt.workers import Job, cancel_and_wait_all, run_in_thread

if TYPE_CHECKING:
    from mfg_desktop.core.ingest import LoadedData, ReadOptions

# The suffixes offered in File > Open; core.ingest.SUPPORTED_SUFFIXES decides what loads.
OPEN_SUFFIXES = (".csv", ".txt", ".tsv", ".dat", ".xlsx", ".xlsm", ".xls")
SHUTDOWN_WAIT_S = 30.0


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    purpose: str
    needs: str


def steps() -> list[Step]:
    """The steps a user walks, in order (translated at call time)."""
    translate = QCoreApplication.translate
    return [
        Step(
            "data", translate("Steps", "Data"), translate("Steps", "Load files, check data quality, pick the target."), ""
        ),
        Step(
            "prepare",
            translate("Steps", "Prepare"),
            translate("Steps", "Choose input columns, handle missing values, split train/test."),
            translate("Steps", "Load data and pick a target first."),
        ),
        Step(
            "train",
            translate("Steps", "Train"),
            translate("Steps", "Train a neural network and watch its learning curves."),
            translate("Steps", "Prepare the data first."),
        ),
        Step(
            "evaluate",
            translate("Steps", "Evaluate"),
            translate("Steps", "Judge the trained model on held-out data."),
            translate("Steps", "Train a model first."),
        ),
        Step(
            "predict",
            translate("Steps", "Predict"),
            translate("Steps", "Score new files with a trained model."),
            translate("Steps", "Train or open a model first."),
        ),
        Step(
            "report",
            translate("Steps", "Report"),
            translate("Steps", "Write a PDF report of data, model and results."),
            translate("Steps", "Evaluate a model first."),
        ),
    ]


# Each step's panel class, imported when the step is first shown (keeps the cold start free of
# pandas and pyqtgraph). A panel receives the AppContext, never the window.
_PANEL_FACTORIES: dict[str, str] = {
    "data": "mfg_desktop.qt.data.panel:DataPanel",
    "prepare": "mfg_desktop.qt.prepare.panel:PreparePanel",
    "train": "mfg_desktop.qt.train.panel:TrainPanel",
    "evaluate": "mfg_desktop.qt.evaluate.panel:EvaluatePanel",
    "predict": "mfg_desktop.qt.predict.panel:PredictPanel",
    "report": "mfg_desktop.qt.report.panel:ReportPanel",
}


def _build_panel(spec: str | Callable[[AppContext], QWidget], ctx: AppContext) -> QWidget:
    if callable(spec):
        return spec(ctx)
    module_name, _, class_name = spec.partition(":")
    return getattr(importlib.import_module(module_name), class_name)(ctx)


def _load_job(paths: list[str], options: ReadOptions | None, state) -> LoadedData:
    from mfg_desktop.core.ingest import load_files  # pandas/pyarrow load on the worker thread
    from mfg_desktop.core.work import file_ref

    data = load_files(paths, options, state=state)
    state.set_progress(1.0, QCoreApplication.translate("MainWindow", "fingerprinting the files"))
    for loaded in data.files:  # for saved work: hashed here, never on the GUI thread (file_ref caches)
        try:
            file_ref(loaded.path)
        except OSError:
            pass  # gone since it was read: the saved work will say so
    return data


class StepWaitingPage(QWidget):
    """What a step is for and what it needs, until a panel for it is registered and usable."""

    def __init__(self, step: Step, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        title = QLabel(step.title)
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        title.setFont(font)
        purpose = QLabel(step.purpose)
        purpose.setWordWrap(True)
        self.needs_label = QLabel(step.needs)
        self.needs_label.setWordWrap(True)
        self.needs_label.setStyleSheet(
            "color: #8a5a00; padding: 8px; background: #fff4e5; border-radius: 4px;"
        )
        layout = QVBoxLayout(self)
        layout.setContentsMargins(32, 32, 32, 32)
        layout.addWidget(title)
        layout.addWidget(purpose)
        layout.addSpacing(12)
        layout.addWidget(self.needs_label)
        layout.addStretch(1)


class JobStatus(QWidget):
    """Status-bar widget: what is running, a progress bar and a Cancel button."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel()
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setFixedWidth(220)
        self.bar.setTextVisible(False)
        self.cancel_button = QPushButton(self.tr("Cancel"))
        self.cancel_button.clicked.connect(self._cancel)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        layout.addWidget(self.cancel_button)
        self.job: Job | None = None
        self.hide()

    def track(self, job: Job, title: str, cancellable: bool = True) -> None:
        self.job = job
        self._title = title
        self.label.setText(title)
        self.bar.setValue(0)
        self.cancel_button.setVisible(cancellable)
        self.cancel_button.setEnabled(True)
        job.progress.connect(lambda fraction, message, j=job: self._progress(j, fraction, message))
        job.ended.connect(lambda j=job: self._ended(j))
        self.show()

    def _progress(self, job: Job, fraction: float, message: str) -> None:
        if job is self.job:
            self.bar.setValue(int(fraction * 1000))
            self.label.setText(f"{self._title} — {message}" if message else self._title)

    def _ended(self, job: Job) -> None:
        if job is self.job:
            self.job = None
            self.hide()

    def _cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self.cancel_button.setEnabled(False)
            self.label.setText(self.tr("{title} — stopping…").format(title=self._title))


class MainWindow(QMainWindow):
    """The application window. ``session`` holds the working state panels observe."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("mfg-desktop — machine learning for factory data"))
        self.setAcceptDrops(True)
        self.session = SessionModel(self)
        self.ctx = AppContext(self.session, self)
        self.load_job: Job | None = None
        self.load_dialog = None
        self._load_started = 0.0
        self._steps = steps()
        self._pages: dict[str, QWidget] = {}
        self._preload_started = False

        self.banner = MessageBanner()
        self.step_list = QListWidget()
        self.step_list.setObjectName("stepList")
        self.step_list.setFixedWidth(170)
        self.step_list.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.step_list.setStyleSheet(
            "#stepList { background: #2b3440; color: #e6e9ee; border: none; padding-top: 8px; outline: 0; }"
            "#stepList::item { padding: 12px 14px; border-left: 4px solid transparent; }"
            "#stepList::item:selected { background: #3d4a5b; color: white; border-left: 4px solid #4aa3ff; }"
            "#stepList::item:hover:!selected { background: #333e4b; }"
        )
        item_font = QFont(self.font())
        item_font.setPointSizeF(item_font.pointSizeF() * 1.15)
        for number, step in enumerate(self._steps, start=1):
            item = QListWidgetItem(f"{number}   {step.title}")
            item.setFont(item_font)
            item.setToolTip(step.purpose)
            item.setData(Qt.ItemDataRole.UserRole, step.key)
            self.step_list.addItem(item)
        self.stack = QStackedWidget()
        for step in self._steps:
            placeholder = QWidget()  # replaced by the real page when the step is first shown
            self.stack.addWidget(placeholder)
        self.step_list.currentRowChanged.connect(self._show_step)

        content = QWidget()
        content_layout = QVBoxLayout(content)
        content_layout.setContentsMargins(8, 8, 8, 0)
        content_layout.addWidget(self.banner)
        content_layout.addWidget(self.stack, 1)
        central = QWidget()
        layout = QHBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.step_list)
        layout.addWidget(content, 1)
        self.setCentralWidget(central)

        self.job_status = JobStatus()
        self.statusBar().addPermanentWidget(self.job_status)
        # Where training runs ("GPU: …" or "CPU (N cores)"); the Train step fills it from a worker
        # so that TensorFlow never loads on the GUI thread.
        self.device_label = QLabel()
        self.device_label.setObjectName("deviceLabel")
        self.device_label.hide()
        self.statusBar().addPermanentWidget(self.device_label)
        self._connect_context()
        self._build_menus()
        self.step_list.setCurrentRow(0)
        self.statusBar().showMessage(
            self.tr("Open a CSV or Excel file (Ctrl+O) or drop files on this window.")
        )
        self._restore_geometry()

    def _connect_context(self) -> None:
        """The window serves the panels' requests (they never see the window itself)."""
        ctx = self.ctx
        ctx.message_requested.connect(self.show_message)
        ctx.notice_cleared.connect(self.banner.clear)
        ctx.error_reported.connect(self.report_error)
        ctx.job_started.connect(self.track_job)
        ctx.status_requested.connect(lambda text, ms: self.statusBar().showMessage(text, ms))
        ctx.step_requested.connect(self.show_step)
        ctx.open_files_requested.connect(self.choose_files)
        ctx.sample_data_requested.connect(self.open_sample_data)
        ctx.device_described.connect(self._show_device)
        ctx.batch_report_requested.connect(self._batch_report)

    @property
    def closing(self) -> bool:
        return self.ctx.closing

    def _show_device(self, device: str) -> None:
        self.device_label.setText(self.tr("Training device: {device}").format(device=device))
        self.device_label.setToolTip(
            self.tr("Where the network trains: a GPU when Keras sees one, else all CPU cores")
        )
        self.device_label.show()

    def _batch_report(self, model: Any, results: Any, path: str) -> None:
        self.show_step("report")
        self.page("report").export_batch_report(model, results, path)

    # -- steps ----------------------------------------------------------------------------------
    def step_keys(self) -> list[str]:
        return [step.key for step in self._steps]

    def page(self, key: str) -> QWidget:
        """The page of step ``key``, building it on first use."""
        if key not in self._pages:
            index = self.step_keys().index(key)
            step = self._steps[index]
            factory = _PANEL_FACTORIES.get(key)
            widget = _build_panel(factory, self.ctx) if factory is not None else StepWaitingPage(step)
            old = self.stack.widget(index)
            self.stack.insertWidget(index, widget)
            self.stack.removeWidget(old)
            old.deleteLater()
            self._pages[key] = widget
        return self._pages[key]

    def existing_page(self, key: str) -> QWidget | None:
        """The page of step ``key`` if it was built (None: the step was never shown)."""
        return self._pages.get(key)

    def show_step(self, key: str) -> None:
        self.step_list.setCurrentRow(self.step_keys().index(key))

    @Slot(int)
    def _show_step(self, row: int) -> None:
        if row < 0:
            return
        key = self._steps[row].key
        self.stack.setCurrentWidget(self.page(key))

    @property
    def data_panel(self):
        return self.page("data")

    # -- menus ----------------------------------------------------------------------------------
    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu(self.tr("&File"))
        self.open_action = QAction(self.tr("&Open…"), self)
        self.open_action.setShortcut(QKeySequence.StandardKey.Open)
        self.open_action.setStatusTip(self.tr("Open one or more CSV, text or Excel files"))
        self.open_action.triggered.connect(self.choose_files)
        file_menu.addAction(self.open_action)
        self.sample_action = QAction(self.tr("Open &sample data"), self)
        self.sample_action.setStatusTip(self.tr("Load the bundled milling-line sensor data"))
        self.sample_action.triggered.connect(self.open_sample_data)
        file_menu.addAction(self.sample_action)
        self.open_model_action = QAction(self.tr("Open &model…"), self)
        self.open_model_action.setStatusTip(self.tr("Open a saved model file to score new data with it"))
        self.open_model_action.triggered.connect(self.open_model)
        file_menu.addAction(self.open_model_action)
        self.export_report_action = QAction(self.tr("&Export report…"), self)
        self.export_report_action.setShortcut(QKeySequence("Ctrl+E"))
        self.export_report_action.setStatusTip(self.tr("Write a PDF report of the model, its data and its evaluation"))
        self.export_report_action.triggered.connect(self.export_report)
        file_menu.addAction(self.export_report_action)
        file_menu.addSeparator()
        self.work = WorkController(self, file_menu)  # Save work…, Open work…, autosave, close question
        file_menu.addSeparator()
        quit_action = QAction(self.tr("&Quit"), self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)
        self.language_actions = build_view_menu(self)
        self.compute_action = build_settings_menu(self, self.ctx)  # Settings › Compute…
        self.help_actions = build_help_menu(self)

    @Slot()
    def open_model(self) -> None:
        """File > Open model…: the Predict step opens it and shows its model card."""
        self.show_step("predict")
        self.page("predict").open_model_dialog()

    @Slot()
    def export_report(self) -> None:
        """File > Export report…: the Report step, where sections and the file are chosen."""
        self.show_step("report")
        self.page("report").export_button.setFocus()

    def file_filters(self) -> str:
        return data_file_filters()

    @Slot()
    def choose_files(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, self.tr("Open data files"), dialog_folder(),
                                                self.file_filters())
        if paths:
            remember_folder(paths[0])
            self.open_files(paths)

    @Slot()
    def open_sample_data(self) -> Job | None:
        from mfg_desktop.resources import sample_data_path

        path = sample_data_path()
        if not path.is_file():
            self.show_message(
                self.tr("The bundled sample data is missing ({path}); reinstall the application.").format(
                    path=path
                )
            )
            return None
        return self.load_files([str(path)])

    # -- loading --------------------------------------------------------------------------------
    def open_files(self, paths: Sequence[str]) -> None:
        """Show the preview dialog for ``paths``; OK starts the full load in the background."""
        from mfg_desktop.qt.load_dialog import LoadDialog

        paths = [str(p) for p in paths]
        if self.load_dialog is not None:
            self.load_dialog.reject()
        dialog = LoadDialog(paths, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self.load_files(paths, dialog.options()))
        dialog.finished.connect(lambda _result: setattr(self, "load_dialog", None))
        self.load_dialog = dialog
        dialog.open()

    def load_files(self, paths: Sequence[str], options: ReadOptions | None = None) -> Job:
        """Load ``paths`` on a worker thread; the current data stays until this load succeeds."""
        if self.load_job is not None and self.load_job.is_running():
            self.load_job.cancel()
        paths = [str(p) for p in paths]
        names = ", ".join(Path(p).name for p in paths[:3]) + (" …" if len(paths) > 3 else "")
        self._load_started = time.perf_counter()
        job = run_in_thread(_load_job, paths, options, name="load")
        self.load_job = job
        job.finished.connect(lambda data, j=job: self._loaded(j, data))
        job.errored.connect(
            lambda exc: self.report_error(exc, self.tr("loading {names}").format(names=names))
        )
        job.cancelled.connect(
            lambda: self.statusBar().showMessage(
                self.tr("Loading cancelled; the previous data is kept."), 8000
            )
        )
        self.ctx.track(job, self.tr("Loading {names}").format(names=names))
        return job

    def _loaded(self, job: Job, data: LoadedData) -> None:
        if job is not self.load_job:
            return  # a newer load replaced this one
        self.banner.clear()
        seconds = time.perf_counter() - self._load_started
        frame = data.frame
        self.session.set_data(data)
        self.show_step("data")
        self.statusBar().showMessage(
            self.tr("Loaded {rows:,} rows × {cols} columns in {seconds:.1f} s.").format(
                rows=len(frame), cols=frame.shape[1], seconds=seconds
            ),
            15000,
        )
        if data.notes:  # what the reading noticed but did not refuse (e.g. formulas without saved results)
            self.show_message(" ".join(data.notes), "warning")

    # -- feedback -------------------------------------------------------------------------------
    def track_job(self, job: Job, title: str, cancellable: bool = True) -> None:
        """Show ``job``'s progress and a Cancel button in the status bar."""
        self.job_status.track(job, title, cancellable)

    def show_message(self, text: str, level: str = "error") -> None:
        self.banner.show_message(text, level)

    def report_error(self, exc: BaseException, context: str = "") -> None:
        """Expected problems go to the banner; anything else to the error dialog and the log."""
        if isinstance(exc, MfgError):
            self.show_message(str(exc))
        else:
            show_error_dialog(exc, self, context)

    # -- drag and drop --------------------------------------------------------------------------
    @staticmethod
    def _local_paths(event: Any) -> list[str]:
        mime = event.mimeData()
        if mime is None or not mime.hasUrls():
            return []
        return [url.toLocalFile() for url in mime.urls() if url.isLocalFile()]

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self._local_paths(event):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:
        if self._local_paths(event):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = self._local_paths(event)
        if not paths:
            event.ignore()
            return
        event.acceptProposedAction()
        # Leave the drag-and-drop event before opening a dialog.
        QTimer.singleShot(0, lambda: self.open_files(paths))

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self._preload_started:
            self._preload_started = True
            # after the first paint: warm the heavy imports on a background thread, then build
            # the widgets that need them while the user is still looking around
            QTimer.singleShot(200, preload.start)
            self._warm_timer = QTimer(self)
            self._warm_timer.setInterval(100)
            self._warm_timer.timeout.connect(self._warm_up)
            self._warm_timer.start()

    @Slot()
    def _warm_up(self) -> None:
        if not preload.done():
            return
        self._warm_timer.stop()
        warm = getattr(self.page("data"), "warm_up", None)
        if warm is not None:
            warm()

    # -- shutdown -------------------------------------------------------------------------------
    def _restore_geometry(self) -> None:
        geometry = app_settings().value("main_window/geometry")
        self.restored_geometry = geometry is not None and self.restoreGeometry(geometry)

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.ctx.closing and not self.work.may_close():
            event.ignore()  # the user chose Cancel, or saving the work failed
            return
        self.ctx.closing = True
        app_settings().setValue("main_window/geometry", self.saveGeometry())
        # Cancel and wait, so no worker thread outlives the window (and no half-done job writes).
        self.statusBar().showMessage(self.tr("Stopping running jobs…"))
        cancel_and_wait_all(SHUTDOWN_WAIT_S)
        self.work.closed_cleanly()
        super().closeEvent(event)
