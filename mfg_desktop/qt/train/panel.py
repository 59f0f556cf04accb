"""The Train step's page: the settings form, the live curves and tiles, the runs, bound to :class:`TrainState`.

Core's :func:`train_run` does the work on a QThread and reports per-epoch and throttled per-batch
updates through its job state; this panel only shows them. Keras/TensorFlow load on worker
threads only (the device name in the status bar is asked for in a worker too).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QProgressBar, QSplitter, QVBoxLayout, QWidget

from mfg_desktop.core.errors import TrainingError
from mfg_desktop.core.network import DEFAULT_PRESET, NetworkSpec, metric_name
from mfg_desktop.qt.context import AppContext, TaskSlot
from mfg_desktop.qt.live_plots import TrainingCurves
from mfg_desktop.qt.settings import MODEL_DIR, dialog_folder, remember_folder
from mfg_desktop.qt.train.compute_row import ComputeRow, where_text
from mfg_desktop.qt.train.jobs import StageUpdate, describe_device, save_model, train_model
from mfg_desktop.qt.train.runs_table import RunsView
from mfg_desktop.qt.train.settings_form import SettingsForm
from mfg_desktop.qt.train.state import TrainState, preparation_summary, with_model_suffix
from mfg_desktop.qt.train.text import (
    best_caption,
    epoch_text,
    missing_text,
    outcome_text,
    stage_progress_text,
    stage_text,
    summary_html,
)
from mfg_desktop.qt.train.tiles import TrainingTiles
from mfg_desktop.qt.workers import Job

if TYPE_CHECKING:
    from mfg_desktop.core.train import TrainingRun


class TrainPanel(QWidget):
    """Page of the Train step. Reads the preparation from the session; adds runs to it."""

    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.session = ctx.session
        self.state = TrainState()
        self.training = TaskSlot(ctx, "train", self)
        self.training.ended.connect(self._train_ended)
        self.saving = TaskSlot(ctx, "save model", self)
        self.saving.ended.connect(self._update_buttons)
        self.device_slot = TaskSlot(ctx, "device", self)

        self.summary_label = QLabel()
        self.summary_label.setTextFormat(Qt.TextFormat.RichText)
        self.summary_label.setWordWrap(True)
        self.form = SettingsForm()
        self.form.preset_chosen.connect(self.apply_preset)
        self.form.edited.connect(self._settings_edited)
        self.form.train_button.clicked.connect(self.train)
        self.form.stop_button.clicked.connect(self.cancel)
        self.compute_row = ComputeRow(ctx)  # This PC or the Ray cluster, at the right of the summary line
        self.runs = RunsView()
        self.runs.row_picked.connect(self._run_picked)
        self.runs.save_button.clicked.connect(self.save_current_run)

        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(self.form)
        top.addWidget(self._build_live())
        top.setStretchFactor(0, 0)
        top.setStretchFactor(1, 1)
        top.setSizes([340, 880])
        main = QSplitter(Qt.Orientation.Vertical)
        main.addWidget(top)
        main.addWidget(self.runs)
        main.setStretchFactor(0, 3)
        main.setStretchFactor(1, 1)
        main.setSizes([600, 200])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        heading = QHBoxLayout()
        heading.addWidget(self.summary_label, 1)
        heading.addWidget(self.compute_row)
        layout.addLayout(heading)
        layout.addWidget(main, 1)

        self.apply_preset(DEFAULT_PRESET)
        for signal in (
            self.session.recipe_changed,
            self.session.split_spec_changed,
            self.session.class_weight_changed,
        ):
            signal.connect(self._preparation_changed)
        self.session.runs_changed.connect(self._fill_runs)
        self.session.current_run_changed.connect(self._current_run_changed)
        self._preparation_changed()
        self._fill_runs(self.session.runs)
        self._ask_device()

    def _build_live(self) -> QWidget:
        box = QWidget()
        self.tiles = TrainingTiles()
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(8)
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        self.status_label.setTextFormat(Qt.TextFormat.PlainText)
        self.curves = TrainingCurves()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(4, 0, 0, 0)
        layout.addWidget(self.tiles)
        layout.addWidget(self.progress)
        layout.addWidget(self.status_label)
        layout.addWidget(self.curves, 1)
        return box

    # -- settings -------------------------------------------------------------------------------
    def _task(self) -> str | None:
        return self.session.recipe.task if self.session.recipe is not None else None

    @Slot(str)
    def apply_preset(self, name: str) -> None:
        """Fill the settings from preset ``name`` (fast, balanced, thorough)."""
        self.form.show_settings(self.state.choose_preset(name), self._task())
        self._settings_edited()

    def set_settings(self, **values: Any) -> None:
        """Set settings as the user would (hidden='128, 64', epochs=3, ...; for scripts and tests)."""
        current = self.form.settings()
        if "hidden" in values:
            values["hidden"] = str(values["hidden"])
        self.form.show_settings(current.with_values(**values), self._task())
        self._settings_edited()

    def _settings_edited(self) -> None:
        # read back what the form shows: its ranges and lists have the last word on each value
        self.state.settings = self.form.settings()
        self.form.show_edited(self.state.settings.edited())

    def preset_name(self) -> str:
        return self.state.settings.preset

    def network_spec(self) -> NetworkSpec:
        """The settings as a core :class:`NetworkSpec` (raises :class:`TrainingError` if unusable)."""
        return self.state.settings.spec()

    # -- preparation ----------------------------------------------------------------------------
    @Slot()
    def _preparation_changed(self, *_args: Any) -> None:
        session = self.session
        self.form.fit_task(self._task())
        self._settings_edited()
        summary = preparation_summary(session.recipe, session.split_spec, session.class_weight)
        if summary is None:
            missing = self.state.missing_step(session.target, session.recipe, session.split_spec)
            self.summary_label.setText(missing_text(missing or "prepare"))
        else:
            self.summary_label.setText(summary_html(summary))
        self._update_buttons()

    def _update_buttons(self) -> None:
        training = self.is_training()
        session = self.session
        self.form.set_buttons(
            self.state.can_train(session.recipe, session.split_spec, training), self.state.can_stop(training)
        )
        self.compute_row.set_enabled_while_training(training)
        self.runs.save_button.setEnabled(self.state.can_save(session.current_run, self.saving.is_running()))

    def is_training(self) -> bool:
        return self.training.is_running()

    # -- training -------------------------------------------------------------------------------
    @Slot()
    def train(self) -> Job | None:
        """Start training with the session's data, recipe and split; None (with a message) if it cannot."""
        if self.is_training():
            return None
        session = self.session
        if session.training_frame is None or session.recipe is None or session.split_spec is None:
            self.ctx.notify(self.tr("Prepare the data first: pick a target, the inputs and a valid split."))
            return None
        try:
            spec = self.network_spec()
        except TrainingError as exc:
            self.ctx.report_error(exc)
            return None
        self.ctx.clear_notice()
        files = [str(f.path) for f in getattr(session.data, "files", []) or []]
        task = session.recipe.task
        compute = self.compute_row.choice()
        stop = self.state.begin(session.training_frame, spec, task)
        self.state.where = where_text(compute) if compute.on_cluster else None
        self.tiles.start(spec.epochs, best_caption(self.state.monitor))
        self.curves.start(spec.epochs, metric_name(task or ""))
        self.progress.setValue(0)
        if compute.on_cluster:
            self.ctx.device_described.emit(self.state.where)
            self.status_label.setText(self.tr("Connecting to {where}…").format(where=self.state.where))
        else:
            self.status_label.setText(
                self.tr("Starting… (the first run of a session loads TensorFlow, a few seconds)")
            )
        job = self.training.start(
            train_model,
            session.training_frame,
            session.recipe,
            session.split_spec,
            spec,
            self.state.settings.seed,
            bool(session.class_weight),
            files,
            stop,
            self.state.settings.model_choice,
            compute,
            title=self.tr("Training"),
            cancellable=False,
            on_done=self._trained,
            on_partial=self._partial,
            on_error=self._train_failed,
            on_cancelled=self._train_cancelled,
            history_spec=session.history.spec.to_dict() if session.history is not None else None,
        )
        if job is not None:
            job.progress.connect(lambda fraction, message, j=job: self._progress(j, message))
        else:  # the window is closing
            self.state.ended()
        self._update_buttons()
        return job

    @Slot()
    def cancel(self) -> None:
        """Stop training within a batch; the run keeps the best weights so far."""
        if self.state.request_stop(self.is_training()):
            self.status_label.setText(self.tr("Stopping… the best weights so far are kept."))
            self._update_buttons()

    def _progress(self, job: Job, message: str) -> None:
        showing = job is self.training.job and self.state.shows_progress_messages()
        if showing and message and not self.state.stopping():
            self.status_label.setText(stage_progress_text(self.state.stage, message))

    def _partial(self, update: Any) -> None:
        if isinstance(update, StageUpdate):
            self.state.stage_started(update.stage)
            if not self.state.stopping():
                self.status_label.setText(stage_text(update.stage))
        elif hasattr(update, "val_loss"):  # an EpochUpdate
            self.state.epoch_done(update)
            self.curves.add_epoch(
                update.epoch,
                update.loss,
                update.val_loss,
                update.metric,
                update.val_metric,
                update.best_epoch,
            )
            self.tiles.show_epoch(update)
            self.progress.setValue(int(1000 * update.epoch / max(update.epochs, 1)))
            if not self.state.stopping():
                self.status_label.setText(epoch_text(update, self.state.where or self.state.device))
        else:  # a BatchUpdate: only the smooth loss trace
            self.curves.add_batch(update.position, update.loss)

    def _trained(self, run: TrainingRun) -> None:
        self.curves.stop()
        frame = self.state.finished(run)
        if self.state.where is None:  # a cluster run's device is not this PC's (the runs table names it)
            self._set_device(run.device)
        self.status_label.setText(outcome_text(run, self.state.monitor))
        self.progress.setValue(1000)
        self.tiles.finish()
        self.session.add_run(run, frame)

    def _train_failed(self, exc: BaseException) -> None:
        self.curves.stop()
        self.status_label.setText(self.tr("Training did not run: see the message above."))
        self.ctx.report_error(exc, self.tr("training"))

    def _train_cancelled(self) -> None:
        self.curves.stop()
        self.status_label.setText(self.tr("Stopped before the first epoch finished; no run was kept."))

    def _train_ended(self) -> None:
        if self.state.where is not None and self.state.device:  # back from the cluster's name
            self.ctx.device_described.emit(self.state.device)
        self.state.ended()
        self._update_buttons()

    # -- device ---------------------------------------------------------------------------------
    def _ask_device(self) -> None:
        self.device_slot.start(
            describe_device,
            title=self.tr("Training device"),
            track=False,
            on_done=self._set_device,
            on_error=lambda exc: self._set_device(self.tr("CPU")),
        )

    def _set_device(self, device: str) -> None:
        self.state.device = device
        self.ctx.device_described.emit(self.state.where or device)  # the cluster while training there

    # -- runs -----------------------------------------------------------------------------------
    @Slot(object)
    def _fill_runs(self, runs: list[TrainingRun]) -> None:
        self.runs.show_rows(self.state.rows(runs), self._row_of(self.session.current_run))
        self._update_buttons()

    def _row_of(self, run: TrainingRun | None) -> int | None:
        runs = self.session.runs
        return runs.index(run) if run is not None and run in runs else None

    @Slot(int)
    def _run_picked(self, row: int) -> None:
        runs = self.session.runs
        if 0 <= row < len(runs):
            self.session.set_current_run(runs[row])

    @Slot(object)
    def _current_run_changed(self, run: TrainingRun | None) -> None:
        self.runs.select(self._row_of(run))
        if self.state.shows_history_of(run, self.is_training()):
            self.curves.show_history(run.history, metric_name(run.task), run.best_epoch)
        self._update_buttons()

    # -- saving ---------------------------------------------------------------------------------
    @Slot()
    def save_current_run(self) -> Job | None:
        run = self.session.current_run
        if run is None:
            return None
        path, _ = QFileDialog.getSaveFileName(
            self,
            self.tr("Save model"),
            str(self.state.model_path(dialog_folder(MODEL_DIR), run)),
            self.tr("mfg-desktop model (*.mfgmodel)"),
        )
        if not path:
            return None
        path = with_model_suffix(path)
        remember_folder(path, MODEL_DIR)
        return self.save_run(run, path)

    def save_run(self, run: TrainingRun, path: str | Path) -> Job | None:
        """Write ``run`` to ``path`` on a worker thread; problems go to the banner."""
        job = self.saving.start(
            save_model,
            run,
            str(path),
            title=self.tr("Saving the model"),
            context=self.tr("saving the model"),
            cancellable=False,
            on_done=lambda saved, run=run: self._saved(run, saved),
        )
        self._update_buttons()
        return job

    def _saved(self, run: TrainingRun, path: Path) -> None:
        self.session.note_model_saved(run, str(path))
        self.ctx.status(self.tr("Model saved to {path}").format(path=path), 15000)
        self.status_label.setText(self.tr("Saved {name}.").format(name=Path(path).name))
