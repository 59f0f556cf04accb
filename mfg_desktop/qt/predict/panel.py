"""The Predict step: open a model, score files or a folder in the background, read per-file results
(counts, reasons, class counts, a histogram of scores, the scored rows with flagged rows marked,
schema and drift warnings), export them, or watch a folder the line exports into.

The panel binds :class:`~mfg_desktop.qt.predict.state.PredictState` to its widgets
(:class:`FilesBox`, :class:`ResultView`, :class:`WatchBox`) and starts the jobs of
:mod:`mfg_desktop.qt.predict.jobs` through one :class:`TaskSlot` each.
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from mfg_desktop.core.errors import MfgError
from mfg_desktop.qt.context import AppContext, TaskSlot
from mfg_desktop.qt.predict.files_box import FilesBox
from mfg_desktop.qt.predict.jobs import export_job, load_model_job, score_job, watch_job
from mfg_desktop.qt.predict.result_view import ResultView
from mfg_desktop.qt.predict.state import Activity, PredictState
from mfg_desktop.qt.predict.text import (
    exported_text,
    failed_text,
    model_card_html,
    no_model_html,
    run_source,
    scored_text,
)
from mfg_desktop.qt.predict.watch_box import WatchBox
from mfg_desktop.qt.settings import MODEL_DIR, dialog_folder, remember_folder
from mfg_desktop.qt.workers import Job

if TYPE_CHECKING:
    from mfg_desktop.core.score import FileScore


class PredictPanel(QWidget):
    """Score new files with an opened model file or the run just trained."""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.session = ctx.session
        self.state = PredictState()
        self.model_slot = TaskSlot(ctx, "open model", self)
        self.score_slot = TaskSlot(ctx, "score", self)
        self.export_slot = TaskSlot(ctx, "export", self)
        self.watch_slot = TaskSlot(ctx, "watch", self)
        self.work_dir = tempfile.mkdtemp(prefix="mfg_scored_")
        weakref.finalize(self, shutil.rmtree, self.work_dir, True)

        self.files = FilesBox()
        self.result_view = ResultView()
        self.watch_box = WatchBox()
        # the widgets the window's tests and benchmarks read directly
        self.progress_label = self.files.progress_label
        self.batch_report_button = self.result_view.batch_report_button

        self.tabs = QTabWidget()
        self.tabs.addTab(self._build_score_tab(), self.tr("Score files"))
        self.tabs.addTab(self.watch_box, self.tr("Watch a folder"))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._build_model_box())
        layout.addWidget(self.tabs, 1)
        self._connect()

        self._show_model()
        if self.session.current_run is not None:
            self.use_current_run()
        self._update_buttons()

    # -- building -------------------------------------------------------------------------------
    def _build_model_box(self) -> QGroupBox:
        self.card = QLabel()
        self.card.setTextFormat(Qt.TextFormat.RichText)
        self.card.setWordWrap(True)
        self.card.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.open_button = QPushButton(self.tr("Open model…"))
        self.open_button.clicked.connect(self.open_model_dialog)
        self.use_run_button = QPushButton(self.tr("Use the model just trained"))
        self.use_run_button.clicked.connect(self.use_current_run)
        box = QGroupBox(self.tr("Model"))
        layout = QHBoxLayout(box)
        layout.addWidget(self.card, 1)
        buttons = QVBoxLayout()
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.use_run_button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        return box

    def _build_score_tab(self) -> QWidget:
        tab = QWidget()
        layout = QHBoxLayout(tab)
        layout.addWidget(self.files)
        line = QFrame()
        line.setFrameShape(QFrame.Shape.VLine)
        line.setFrameShadow(QFrame.Shadow.Sunken)
        layout.addWidget(line)
        layout.addWidget(self.result_view, 1)
        return tab

    def _connect(self) -> None:
        self.session.current_run_changed.connect(self._current_run_changed)
        self.files.paths_chosen.connect(self.add_paths)
        self.files.remove_requested.connect(self._remove_paths)
        self.files.score_requested.connect(self.score)
        self.files.cancel_requested.connect(self.score_slot.cancel)
        self.files.result_selected.connect(self._show_result)
        self.result_view.export_requested.connect(lambda folder, fmt, all_files: self.export_to(folder, fmt, all_files))
        self.result_view.batch_report_chosen.connect(self.batch_report)
        self.watch_box.start_requested.connect(lambda: self.start_watch())
        self.watch_box.stop_requested.connect(self.stop_watch)
        for slot in (self.score_slot, self.export_slot):
            slot.ended.connect(self._update_buttons)
        self.watch_slot.ended.connect(self._watch_ended)

    # -- state ----------------------------------------------------------------------------------
    @property
    def model(self) -> Any:
        return self.state.model

    @property
    def results(self) -> list[FileScore]:
        return self.state.results

    @property
    def last_export(self) -> list[Path]:
        return self.state.last_export

    def paths(self) -> list[str]:
        return list(self.state.paths)

    def current_result(self) -> FileScore | None:
        return self.state.current_result

    def _activity(self) -> Activity:
        return Activity(scoring=self.score_slot.is_running(), exporting=self.export_slot.is_running(),
                        watching=self.watch_slot.is_running())

    def _update_buttons(self) -> None:
        can = self.state.actions(self._activity(), has_run=self.session.current_run is not None)
        self.files.score_button.setEnabled(can.score)
        self.files.cancel_button.setEnabled(can.cancel_score)
        self.result_view.export_button.setEnabled(can.export_current)
        self.result_view.export_all_button.setEnabled(can.export_all)
        self.batch_report_button.setEnabled(can.batch_report)
        self.use_run_button.setEnabled(can.use_run)
        self.watch_box.start_watch_button.setEnabled(can.start_watch)
        self.watch_box.stop_watch_button.setEnabled(can.stop_watch)

    # -- the model ------------------------------------------------------------------------------
    @Slot()
    def open_model_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, self.tr("Open a model file"), dialog_folder(MODEL_DIR),
                                              self.tr("Model files (*.mfgmodel);;All files (*)"))
        if path:
            remember_folder(path, MODEL_DIR)
            self.open_model(path)

    def open_model(self, path: str | Path) -> Job | None:
        """Open a model file on a worker thread (TensorFlow loads there, not on the GUI thread)."""
        return self.model_slot.start(
            load_model_job, str(path), title=self.tr("Opening {name}").format(name=Path(path).name),
            context=self.tr("opening the model"), cancellable=False,
            on_done=lambda model, p=str(path): self.set_model(model, p))

    @Slot()
    def use_current_run(self) -> None:
        run = self.session.current_run
        if run is None or getattr(run, "model", None) is None:
            return
        from mfg_desktop.core.score import as_loaded_model

        self.set_model(as_loaded_model(run), run_source(run.id))

    def _current_run_changed(self, run) -> None:
        self._update_buttons()
        if self.state.wants_current_run(run):
            self.use_current_run()

    def set_model(self, model, source: str = "") -> None:
        self.state.set_model(model, source)
        self._show_model()
        self._update_buttons()

    def _show_model(self) -> None:
        if self.state.model is None:
            self.card.setText(no_model_html())
            return
        from mfg_desktop.core.score import model_card

        self.card.setText(model_card_html(model_card(self.state.model), self.state.model_source))

    # -- files ----------------------------------------------------------------------------------
    def add_paths(self, paths: list[str | Path]) -> None:
        if self.state.add_paths(paths):
            self.files.set_paths(self.state.paths)
        self._update_buttons()

    def _remove_paths(self, paths: list[str]) -> None:
        self.state.remove_paths(paths)
        self.files.set_paths(self.state.paths)
        self._update_buttons()

    # -- scoring --------------------------------------------------------------------------------
    @Slot()
    def score(self) -> Job | None:
        """Score the listed files in a worker; results appear one file at a time."""
        if not self.state.can_score(self._activity()):
            return None
        self.state.start_scoring()
        self.files.clear_results()
        self.result_view.clear()
        fmt = "csv"  # the work copy; Export writes CSV or Excel where the user wants it
        job = self.score_slot.start(
            score_job, self.state.model, self.paths(), self.work_dir, fmt, title=self.tr("Scoring"),
            on_done=self._scored, on_partial=self._add_result,
            on_error=lambda exc: self._job_failed(exc, self.tr("scoring")),
            on_cancelled=lambda: self.progress_label.setText(self.tr("Scoring cancelled.")))
        if job is None:
            return None
        job.progress.connect(lambda fraction, message: job is self.score_slot.job
                             and self.files.set_progress(fraction, message))
        self.files.set_progress(0.0, self.tr("Scoring…"))
        self._update_buttons()
        return job

    def _job_failed(self, exc: BaseException, what: str) -> None:
        self.progress_label.setText(failed_text(exc))
        self.ctx.report_error(exc, what)

    def _scored(self, results: list[FileScore]) -> None:
        self.files.set_progress(1.0, scored_text(results, self.state.rejected_count(results)))
        if self.state.current < 0 and self.state.results:
            self.files.select_result(0)

    def _add_result(self, result) -> None:
        if not self.state.add_result(result):
            return
        self.files.add_result(result)
        self.files.select_result(self.state.current)
        self._update_buttons()

    @Slot(int)
    def _show_result(self, row: int) -> None:
        model = self.state.model
        self.result_view.show_result(self.state.select(row),
                                     history_spec=getattr(getattr(model, "run", None), "history_spec", None))
        self._update_buttons()

    # -- export ---------------------------------------------------------------------------------
    def batch_report(self, path: str | Path) -> bool:
        """Ask for a batch report of the files scored here (the Report step writes it and shows the outcome)."""
        if self.state.model is None or not self.state.results:
            return False
        self.ctx.batch_report_requested.emit(self.state.model, list(self.state.results), str(path))
        return True

    def export_to(self, folder: str | Path, fmt: str = "csv", all_files: bool = False) -> Job | None:
        chosen = self.state.to_export(all_files)
        if not chosen or self._activity().busy:
            return None
        job = self.export_slot.start(
            export_job, chosen, str(folder), fmt, self.state.protected_paths(), title=self.tr("Exporting"),
            on_done=self._exported, on_error=lambda exc: self._job_failed(exc, self.tr("exporting")))
        self._update_buttons()
        return job

    def _exported(self, paths: list[Path]) -> None:
        self.state.last_export = list(paths)
        self.ctx.status(exported_text(paths), 10000)

    # -- watching -------------------------------------------------------------------------------
    def start_watch(self, folder: str | None = None, out_dir: str | None = None) -> Job | None:
        from mfg_desktop.core.watch import FolderWatcher

        if not self.state.actions(self._activity(), has_run=False).start_watch:
            return None
        typed = self.watch_box.folders()
        folders = self.state.watch_folders(folder or typed[0], out_dir or typed[1])
        if folders is None:
            self.ctx.notify(self.tr("Choose the folder to watch and the folder for scored files."), "warning")
            return None
        folder, out_dir = folders
        self.watch_box.set_folders(folder, out_dir)
        try:
            watcher = FolderWatcher(folder, out_dir, self.state.model, poll_s=self.watch_box.poll_spin.value(),
                                    stable_s=self.watch_box.stable_spin.value())
        except MfgError as exc:
            self.ctx.notify(str(exc))
            return None
        job = self.watch_slot.start(watch_job, watcher, title=self.tr("Watching"), track=False,
                                    on_partial=self._watch_event,
                                    on_error=lambda exc: self._job_failed(exc, self.tr("watching")))
        if job is not None:
            self.watch_box.set_watching(folder)
        self._update_buttons()
        return job

    @Slot()
    def stop_watch(self) -> None:
        if self.watch_slot.is_running():
            self.watch_slot.cancel()
            self.watch_box.set_stopping()

    def _watch_event(self, event) -> None:
        self.watch_box.watch_log.appendPlainText(event.text())
        if event.score is not None:
            self._add_result(event.score)

    def _watch_ended(self) -> None:
        self.watch_box.set_watching(None)
        self._update_buttons()
