"""File › Save work… / Open work…, the autosave, the restore offer after a crash, and the question
asked before work is thrown away (File › Quit, closing the window).

The file format is :mod:`mfg_desktop.core.work`; this module turns the window's session into a
:class:`~mfg_desktop.core.work.Work` and back (the restoring itself is
:mod:`mfg_desktop.qt.work_restore`). The autosave goes to the config dir after every change of a
step; a marker file written when the window closes normally tells the next start whether the
last session ended in a crash, and if it did the start-up offers to restore the autosave.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QLockFile, QObject, QTimer, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMenu, QMessageBox

from mfg_desktop.core.crash import StepHistory
from mfg_desktop.core.errors import MfgError
from mfg_desktop.core.i18n import N_
from mfg_desktop.qt.error_dialog import set_crash_sources
from mfg_desktop.qt.settings import app_settings, config_dir
from mfg_desktop.qt.workers import running_jobs

if TYPE_CHECKING:
    from mfg_desktop.core.work import ModelFileRef, Work

log = logging.getLogger(__name__)

AUTOSAVE_NAME = "autosave.mfgwork"
CLEAN_EXIT_NAME = "clean-exit"
SESSION_LOCK_NAME = "session.lock"
AUTOSAVE_DELAY_MS = 1500  # after the last change: a burst of changes (a restore, a proposal) saves once
WORK_FILTER = N_("mfg-desktop work (*.mfgwork)")
# The jobs whose result would be lost by closing (by job name), in words. Others (profiling, a
# recipe proposal, a preview) are recomputed in seconds and are stopped without asking.
WORK_JOBS = {
    "train": N_("training a model"),
    "save model": N_("saving a model"),
    "save-model": N_("saving a model"),
    "score": N_("scoring"),
    "export": N_("exporting scored files"),
    "watch": N_("watching a folder"),
    "report": N_("writing a report"),
    "batch report": N_("writing a batch report"),
}


def autosave_path() -> Path:
    return config_dir() / AUTOSAVE_NAME


def clean_exit_marker() -> Path:
    return config_dir() / CLEAN_EXIT_NAME


class WorkController(QObject):
    """Saved work for one window: the menu actions, the autosave and the close question."""

    def __init__(self, window: QMainWindow, file_menu: QMenu) -> None:
        super().__init__(window)
        self.window = window
        self.session = window.session
        self.history = StepHistory()
        self.restore = None  # the WorkRestore under way, if any
        self.work_models: list[ModelFileRef] = []  # model files named by the work opened
        self.training_settings: dict[str, Any] | None = None  # from the work opened, until Train is built
        # One running app owns the autosave: a second one started meanwhile neither offers the first
        # one's work as crashed nor writes over it. QLockFile frees the lock of a dead process.
        self._lock = QLockFile(str(config_dir() / SESSION_LOCK_NAME))
        self.owns_autosave = self._lock.tryLock(0)
        # The last session crashed when it left an autosave but did not mark a clean exit.
        self.crashed_before = (self.owns_autosave and autosave_path().is_file()
                               and not clean_exit_marker().is_file())
        if self.owns_autosave:
            clean_exit_marker().unlink(missing_ok=True)  # this session runs: not cleanly ended yet
            for stale in config_dir().glob(f".{AUTOSAVE_NAME}.*.tmp"):  # an autosave cut short by a kill
                stale.unlink(missing_ok=True)

        self.save_action = QAction(self.tr("Save &work…"), window)
        self.save_action.setStatusTip(
            self.tr("Save the data files, target, recipe, split, training settings and models of this session")
        )
        self.save_action.triggered.connect(self.save_work_dialog)
        self.open_action = QAction(self.tr("Open w&ork…"), window)
        self.open_action.setStatusTip(self.tr("Bring back a session saved with Save work"))
        self.open_action.triggered.connect(self.open_work_dialog)
        file_menu.addAction(self.save_action)
        file_menu.addAction(self.open_action)

        self._autosave_timer = QTimer(self)
        self._autosave_timer.setSingleShot(True)
        self._autosave_timer.setInterval(AUTOSAVE_DELAY_MS)
        self._autosave_timer.timeout.connect(self.autosave)
        session = self.session
        for signal in (session.data_changed, session.target_changed, session.recipe_changed,
                       session.split_spec_changed, session.class_weight_changed, session.runs_changed,
                       session.model_saved):
            signal.connect(self._schedule_autosave)
        window.ctx.job_started.connect(lambda job, title, _c: self.history.record("job", f"{job.name}: {title}"))
        window.step_list.currentRowChanged.connect(self._step_shown)
        set_crash_sources(self.autosave, self.history)  # an unexpected error saves the work first

    def _step_shown(self, row: int) -> None:
        if row >= 0:
            self.history.record("step", self.window.step_keys()[row])

    def _schedule_autosave(self, *_args: Any) -> None:
        self._autosave_timer.start()

    # -- the snapshot ---------------------------------------------------------------------------
    def snapshot(self) -> Work:
        """The session as a :class:`Work` (what Save work writes)."""
        from mfg_desktop.core.work import ModelFileRef, Work, file_ref, read_options_dict

        session = self.session
        work = Work(steps_visited=self.history.steps_visited())
        if session.data is not None:
            files = session.data.files
            # hashed by the load job on its worker thread (file_ref caches), not here on the GUI thread
            work.data_files = [file_ref(Path(f.path)) for f in files if Path(f.path).is_file()]
            work.read_options = read_options_dict(files[0].to_options()) if files else None
        work.target = session.target
        work.recipe = session.recipe.to_dict() if session.recipe is not None else None
        work.split = session.split_spec.to_dict() if session.split_spec is not None else None
        work.class_weight = session.class_weight
        prepare = self.window.existing_page("prepare")
        work.history = prepare.history_view.saved_choices() if prepare is not None else None
        train = self.window.existing_page("train")
        work.training = asdict(train.state.settings) if train is not None else self.training_settings
        models = {m.path: m for m in self.work_models}
        for run_id, path in session.model_files.items():
            models[str(Path(path).resolve())] = ModelFileRef(str(Path(path).resolve()), run_id)
        predict = self.window.existing_page("predict")
        scoring = getattr(predict.state, "model", None) if predict is not None else None
        if getattr(scoring, "path", None) is not None:  # a model file opened on the Predict step
            path = str(Path(scoring.path).resolve())
            models[path] = ModelFileRef(path, scoring.run.id, in_predict=True)
        work.models = list(models.values())
        return work

    # -- saving ---------------------------------------------------------------------------------
    @Slot()
    def save_work_dialog(self) -> Path | None:
        """File › Save work…: ask for the file, then save (None when the user cancelled or it failed)."""
        settings = app_settings()
        folder = str(settings.value("work_dir", str(Path.home())))
        path, _ = QFileDialog.getSaveFileName(
            self.window, self.tr("Save work"), str(Path(folder) / "work.mfgwork"), self.tr(WORK_FILTER)
        )
        if not path:
            return None
        settings.setValue("work_dir", str(Path(path).parent))
        try:
            return self.save_work(path)
        except MfgError as exc:
            self.window.ctx.report_error(exc)
            return None

    def save_work(self, path: str | Path) -> Path:
        """Save the session to ``path``; runs not saved yet are written as model files beside it."""
        from mfg_desktop.core.bundle import save_model_file
        from mfg_desktop.core.work import SUFFIX, write_work
        from mfg_desktop.qt.train.state import suggested_model_name

        path = Path(path)
        if path.suffix.lower() != SUFFIX:
            path = path.with_name(path.name + SUFFIX)
        for run in self.session.unsaved_runs():
            # The run's weights exist only in memory; the work file can only name a file.
            model_path = save_model_file(run, path.parent / suggested_model_name(run))
            self.session.note_model_saved(run, str(model_path))
        written = write_work(self.snapshot(), path)
        self.window.ctx.status(self.tr("Work saved to {path}").format(path=written), 15000)
        return written

    @Slot()
    def autosave(self) -> Path | None:
        """Save the session to the config dir (nothing to save before data is loaded)."""
        from mfg_desktop.core.work import write_work

        self._autosave_timer.stop()
        if not self.owns_autosave or self.session.data is None or self.restore is not None:
            return None  # a restore under way would save a half-restored session over the good one
        try:
            return write_work(self.snapshot(), autosave_path())
        except (MfgError, OSError) as exc:  # the autosave must never interrupt the user
            log.warning("autosave failed: %s", exc)
            return None

    # -- opening --------------------------------------------------------------------------------
    @Slot()
    def open_work_dialog(self) -> None:
        settings = app_settings()
        folder = str(settings.value("work_dir", str(Path.home())))
        path, _ = QFileDialog.getOpenFileName(self.window, self.tr("Open work"), folder, self.tr(WORK_FILTER))
        if path:
            settings.setValue("work_dir", str(Path(path).parent))
            self.open_work(path)

    def open_work(self, path: str | Path) -> bool:
        """Read ``path`` and restore every step from it (data re-read in the background)."""
        from mfg_desktop.core.work import read_work
        from mfg_desktop.qt.work_restore import WorkRestore

        try:
            work = read_work(path)
        except MfgError as exc:
            self.window.ctx.report_error(exc)
            return False
        if self.restore is not None:
            self.restore.abandon()
        self.work_models = list(work.models)
        self.training_settings = work.training
        self.restore = WorkRestore(self.window, work, Path(path).name)
        self.restore.done.connect(self._restored)
        self.restore.start()
        return True

    def _restored(self) -> None:
        self.restore = None
        self._schedule_autosave()

    def offer_restore_after_crash(self) -> bool:
        """At start-up after a crash: offer to bring back the autosaved work (True if restoring)."""
        if not self.crashed_before:
            return False
        self.crashed_before = False
        box = QMessageBox(self.window)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle(self.tr("Restore the last work?"))
        box.setText(self.tr("mfg-desktop did not close normally last time."))
        box.setInformativeText(self.tr(
            "Its work was saved automatically: data files, target, recipe, split, training settings "
            "and model files. Restore it now? The data files are read again from where they were."
        ))
        box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
        box.button(QMessageBox.StandardButton.Yes).setText(self.tr("Restore"))
        box.button(QMessageBox.StandardButton.No).setText(self.tr("Start afresh"))
        box.setDefaultButton(QMessageBox.StandardButton.Yes)
        if QMessageBox.StandardButton(box.exec()) != QMessageBox.StandardButton.Yes:
            return False
        return self.open_work(autosave_path())

    # -- closing --------------------------------------------------------------------------------
    def may_close(self) -> bool:
        """Ask before unsaved runs or running jobs are thrown away: Save work / Discard / Cancel."""
        unsaved = self.session.unsaved_runs()
        jobs = [job for job in running_jobs() if job.name in WORK_JOBS]
        if not unsaved and not jobs:
            return True
        lines = []
        if unsaved:
            lines.append(self.tr("{n} trained model(s) not saved to a model file.").format(n=len(unsaved)))
        if jobs:
            names = ", ".join(sorted({self.tr(WORK_JOBS[job.name]) for job in jobs}))
            lines.append(self.tr("Still running: {names} (it will be stopped).").format(names=names))
        answer = self.ask_before_closing(lines)
        if answer == QMessageBox.StandardButton.Discard:
            return True
        if answer == QMessageBox.StandardButton.Save:
            return self.save_work_dialog() is not None
        return False

    def ask_before_closing(self, lines: list[str]) -> QMessageBox.StandardButton:
        """The question itself: Save (work), Discard or Cancel."""
        box = QMessageBox(self.window)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle(self.tr("Quit mfg-desktop?"))
        box.setText(self.tr("Closing now throws away work:") + "\n" + "\n".join(lines))
        box.setInformativeText(self.tr("Save work keeps the session and its models in a work file."))
        box.setStandardButtons(
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel
        )
        box.button(QMessageBox.StandardButton.Save).setText(self.tr("Save work…"))
        box.setDefaultButton(QMessageBox.StandardButton.Save)
        return QMessageBox.StandardButton(box.exec())

    def closed_cleanly(self) -> None:
        """The window closes normally: save the work one last time and mark a clean exit."""
        if not self.owns_autosave:
            return
        self.autosave()
        try:
            clean_exit_marker().write_text("closed normally\n", encoding="utf-8")
        except OSError as exc:
            log.warning("could not mark a clean exit: %s", exc)
        self._lock.unlock()
        self.owns_autosave = False
