"""The Train step: the network settings (a preset, or edited), training on a worker thread with live
curves, the runs of this sitting side by side, and saving a run as one model file.

Core's :func:`train_run` does the work on a QThread and reports per-epoch and throttled per-batch
updates through its job state; this panel only plots them. Keras/TensorFlow load on worker
threads only (the device name in the status bar is asked for in a worker too).
"""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Slot
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
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from mfg_desktop.core.errors import Cancelled, TrainingError
from mfg_desktop.core.jobs import JobState
from mfg_desktop.core.network import (
    ACTIVATIONS,
    DEFAULT_PRESET,
    LOSSES,
    PRESETS,
    NetworkSpec,
    metric_name,
    preset,
    resolve_monitor,
)
from mfg_desktop.core.task import BINARY, REGRESSION
from mfg_desktop.qt.context import AppContext
from mfg_desktop.qt.live_plots import TrainingCurves
from mfg_desktop.qt.settings import app_settings
from mfg_desktop.qt.workers import Job, run_in_thread

if TYPE_CHECKING:
    from mfg_desktop.core.train import TrainingRun

MODEL_SUFFIX = ".mfgmodel"
OPTIMIZER_LABELS = {"adamw": "AdamW", "adam": "Adam", "sgd": "SGD"}
CLASSIFICATION_LOSSES = ("binary_crossentropy", "categorical_crossentropy")
REGRESSION_LOSSES = ("mse", "mae", "huber")
RUN_COLUMNS = 10


class StopOrCancelState(JobState):
    """The job state ``train_run`` sees: the user's Stop, or the job's own cancel.

    Stop ends training within a batch and ``train_run`` returns the run with the best weights so
    far, which the worker delivers as a result. Cancelling the job itself (the window closing)
    makes the worker drop any result, as for every other job.
    """

    def __init__(self, outer: JobState, stop: threading.Event) -> None:
        super().__init__(on_progress=outer.set_progress, on_partial_result=outer.set_partial_result)
        self._outer = outer
        self._stop = stop

    def request_cancel(self) -> None:
        self._stop.set()

    def is_interruption_requested(self) -> bool:
        return self._stop.is_set() or self._outer.is_interruption_requested()

    def check_cancelled(self) -> None:
        if self.is_interruption_requested():
            raise Cancelled()


def _train_job(frame, recipe, split_spec, spec, seed, class_weight, data_files, stop, state) -> TrainingRun:
    from mfg_desktop.core.train import train_run

    return train_run(
        frame,
        recipe,
        split_spec,
        spec,
        seed=seed,
        class_weight=class_weight,
        state=StopOrCancelState(state, stop),
        data_files=data_files,
    )


def _device_job(state) -> str:
    from mfg_desktop.core.train import describe_device

    return describe_device()


def _save_job(run, path: str, state) -> Path:
    from mfg_desktop.core.bundle import save_model_file

    return save_model_file(run, path)


def parse_hidden(text: str) -> list[int]:
    """'256, 256' -> [256, 256]; a clear :class:`TrainingError` for anything else."""
    parts = [p for p in re.split(r"[,;\s]+", text) if p]
    try:
        units = [int(p) for p in parts]
    except ValueError:
        units = []
    if not units or any(u < 1 for u in units):
        raise TrainingError(
            f"Hidden layers: '{text}' is not a list of layer sizes.",
            hint="Write the units of each layer separated by commas, e.g. 256, 256.",
        )
    return units


def _clock(seconds: float) -> str:
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class StatTile(QFrame):
    """A caption over a large value (epoch, samples/s, elapsed, remaining, best epoch)."""

    def __init__(self, caption: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("statTile")
        self.setStyleSheet("#statTile { background: #f3f5f8; border-radius: 4px; }")
        self.caption = QLabel(caption)
        self.caption.setStyleSheet("color: #666;")
        self.value = QLabel("—")
        font = self.value.font()
        font.setPointSizeF(font.pointSizeF() * 1.35)
        font.setBold(True)
        self.value.setFont(font)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 4, 10, 4)
        layout.setSpacing(0)
        layout.addWidget(self.caption)
        layout.addWidget(self.value)

    def set(self, text: str) -> None:
        self.value.setText(text)


class TrainPanel(QWidget):
    """Page of the Train step. Reads the preparation from ``window.session``; adds runs to it."""

    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.session = ctx.session
        self.train_job: Job | None = None
        self.save_job: Job | None = None
        self.device_job: Job | None = None
        self.device: str | None = None
        self.run_labels: dict[str, str] = {}
        self.last_update: Any = None
        self.stop_requested_at: float | None = None
        self._stop = threading.Event()
        self._filling = False
        self._training_preset = ""
        self._training_frame: Any = None
        self._live_run: TrainingRun | None = None
        self._monitor_text = ""

        self.summary_label = QLabel()
        self.summary_label.setTextFormat(Qt.TextFormat.RichText)
        self.summary_label.setWordWrap(True)

        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(self._build_settings())
        top.addWidget(self._build_live())
        top.setStretchFactor(0, 0)
        top.setStretchFactor(1, 1)
        top.setSizes([340, 880])
        main = QSplitter(Qt.Orientation.Vertical)
        main.addWidget(top)
        main.addWidget(self._build_runs())
        main.setStretchFactor(0, 3)
        main.setStretchFactor(1, 1)
        main.setSizes([600, 200])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.summary_label)
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

    # -- layout ---------------------------------------------------------------------------------
    def _build_settings(self) -> QWidget:
        group = QGroupBox(self.tr("Network"))
        self.preset_combo = QComboBox()
        descriptions = {
            "fast": self.tr("fast — up to {e} epochs"),
            "balanced": self.tr("balanced — up to {e} epochs"),
            "thorough": self.tr("thorough — up to {e} epochs"),
        }
        for name, spec in PRESETS.items():
            self.preset_combo.addItem(descriptions.get(name, name).format(e=spec.epochs), name)
        self.preset_combo.activated.connect(lambda i: self.apply_preset(self.preset_combo.itemData(i)))
        self.preset_note = QLabel()
        self.preset_note.setStyleSheet("color: #8a5a00;")
        self.hidden_edit = QLineEdit()
        self.hidden_edit.setToolTip(self.tr("Units per hidden layer, separated by commas"))
        self.activation_combo = QComboBox()
        for name in ACTIVATIONS:
            self.activation_combo.addItem(name, name)
        self.dropout_spin = QDoubleSpinBox()
        self.dropout_spin.setRange(0.0, 0.9)
        self.dropout_spin.setSingleStep(0.05)
        self.batch_norm_check = QCheckBox(self.tr("batch normalisation"))
        self.optimizer_combo = QComboBox()
        for name, label in OPTIMIZER_LABELS.items():
            self.optimizer_combo.addItem(label, name)
        self.lr_spin = QDoubleSpinBox()
        self.lr_spin.setDecimals(5)
        self.lr_spin.setRange(0.00001, 1.0)
        self.lr_spin.setSingleStep(0.0001)
        self.loss_combo = QComboBox()
        self.monitor_combo = QComboBox()
        self.monitor_combo.setToolTip(
            self.tr(
                "The validation number that picks the best epoch (whose weights are kept) and stops "
                "training early when it no longer improves. Automatic: PR-AUC for a two-class target "
                "(it judges rare failures better than loss or accuracy), else the validation loss."
            )
        )
        self.epochs_spin = QSpinBox()
        self.epochs_spin.setRange(1, 100_000)
        self.batch_spin = QSpinBox()
        self.batch_spin.setRange(1, 1_000_000)
        self.patience_spin = QSpinBox()
        self.patience_spin.setRange(1, 100_000)
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, 2_147_483_647)

        form = QFormLayout()
        self._settings_form = form
        form.addRow(self.tr("Preset"), self.preset_combo)
        form.addRow("", self.preset_note)
        form.addRow(self.tr("Hidden layers"), self.hidden_edit)
        form.addRow(self.tr("Activation"), self.activation_combo)
        form.addRow(self.tr("Dropout"), self.dropout_spin)
        form.addRow("", self.batch_norm_check)
        form.addRow(self.tr("Optimizer"), self.optimizer_combo)
        form.addRow(self.tr("Learning rate"), self.lr_spin)
        form.addRow(self.tr("Loss"), self.loss_combo)
        form.addRow(self.tr("Max epochs"), self.epochs_spin)
        form.addRow(self.tr("Batch size"), self.batch_spin)
        form.addRow(self.tr("Best epoch by"), self.monitor_combo)
        form.addRow(self.tr("Early-stop patience"), self.patience_spin)
        form.addRow(self.tr("Seed"), self.seed_spin)
        for widget in (self.hidden_edit,):
            widget.textEdited.connect(self._setting_edited)
        for combo in (self.activation_combo, self.optimizer_combo, self.loss_combo, self.monitor_combo):
            combo.activated.connect(self._setting_edited)
        for spin in (self.dropout_spin, self.lr_spin, self.epochs_spin, self.batch_spin, self.patience_spin):
            spin.valueChanged.connect(self._setting_edited)
        self.batch_norm_check.toggled.connect(self._setting_edited)

        self.train_button = QPushButton(self.tr("Train"))
        self.train_button.setDefault(True)
        self.train_button.setMinimumHeight(32)
        self.train_button.setStyleSheet(
            "QPushButton { background: #2f6fb0; color: white; font-weight: bold; border-radius: 4px;"
            " padding: 4px 18px; }"
            "QPushButton:disabled { background: #b8c4d2; }"
        )
        self.train_button.clicked.connect(self.train)
        self.stop_button = QPushButton(self.tr("Cancel"))
        self.stop_button.setToolTip(self.tr("Stop now and keep the best weights so far"))
        self.stop_button.setMinimumHeight(32)
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.cancel)
        buttons = QHBoxLayout()
        buttons.addWidget(self.train_button, 1)
        buttons.addWidget(self.stop_button)

        hint = QLabel(
            self.tr(
                "The network learns from the training rows; the validation rows pick the best epoch and stop "
                "training when it no longer improves; the test rows are kept for the Evaluate step. Cancel "
                "stops within a second and keeps the best weights so far."
            )
        )
        hint.setWordWrap(True)
        hint.setStyleSheet("color: #666;")
        layout = QVBoxLayout(group)
        layout.addLayout(form)
        layout.addStretch(1)
        layout.addWidget(hint)
        layout.addLayout(buttons)
        group.setMinimumWidth(300)
        return group

    def _build_live(self) -> QWidget:
        box = QWidget()
        self.epoch_tile = StatTile(self.tr("Epoch"))
        self.speed_tile = StatTile(self.tr("Samples / s"))
        self.elapsed_tile = StatTile(self.tr("Elapsed"))
        self.remaining_tile = StatTile(self.tr("Remaining (at most)"))
        self.best_tile = StatTile(self.tr("Best epoch"))
        tiles = QHBoxLayout()
        for tile in (
            self.epoch_tile,
            self.speed_tile,
            self.elapsed_tile,
            self.remaining_tile,
            self.best_tile,
        ):
            tiles.addWidget(tile)
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
        layout.addLayout(tiles)
        layout.addWidget(self.progress)
        layout.addWidget(self.status_label)
        layout.addWidget(self.curves, 1)
        return box

    def _build_runs(self) -> QWidget:
        group = QGroupBox(self.tr("Runs of this session (select one to evaluate, compare or save it)"))
        self.runs_table = QTableWidget(0, RUN_COLUMNS)
        self.runs_table.setHorizontalHeaderLabels(
            [
                self.tr("Run"),
                self.tr("Preset"),
                self.tr("Epochs"),
                self.tr("Best epoch"),
                self.tr("Val loss"),
                self.tr("Val metric"),
                self.tr("More (validation)"),
                self.tr("Duration"),
                self.tr("Device"),
                self.tr("Status"),
            ]
        )
        self.runs_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.runs_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.runs_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.runs_table.verticalHeader().hide()
        self.runs_table.setWordWrap(False)
        header = self.runs_table.horizontalHeader()
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.runs_table.itemSelectionChanged.connect(self._run_selected)
        self.save_button = QPushButton(self.tr("Save model…"))
        self.save_button.setEnabled(False)
        self.save_button.clicked.connect(self.save_current_run)
        buttons = QVBoxLayout()
        buttons.addWidget(self.save_button)
        buttons.addStretch(1)
        layout = QHBoxLayout(group)
        layout.addWidget(self.runs_table, 1)
        layout.addLayout(buttons)
        return group

    # -- settings -------------------------------------------------------------------------------
    def apply_preset(self, name: str) -> None:
        """Fill the settings from preset ``name`` (fast, balanced, thorough)."""
        spec = preset(name)
        self._filling = True
        try:
            self.preset_combo.setCurrentIndex(self.preset_combo.findData(name))
            self.hidden_edit.setText(", ".join(str(u) for u in spec.hidden))
            self.activation_combo.setCurrentIndex(self.activation_combo.findData(spec.activation))
            self.dropout_spin.setValue(spec.dropout)
            self.batch_norm_check.setChecked(spec.batch_norm)
            self.optimizer_combo.setCurrentIndex(self.optimizer_combo.findData(spec.optimizer))
            self.lr_spin.setValue(spec.learning_rate)
            self._fill_losses(spec.loss)
            self._fill_monitors(spec.monitor)
            self.epochs_spin.setValue(spec.epochs)
            self.batch_spin.setValue(spec.batch_size)
            self.patience_spin.setValue(spec.patience)
        finally:
            self._filling = False
        self._setting_edited()

    def _fill_losses(self, current: str) -> None:
        task = self.session.recipe.task if self.session.recipe is not None else None
        allowed = REGRESSION_LOSSES if task == REGRESSION else CLASSIFICATION_LOSSES if task else LOSSES[1:]
        self.loss_combo.clear()
        self.loss_combo.addItem(self.tr("automatic (fits the task)"), "auto")
        for name in allowed:
            self.loss_combo.addItem(name.replace("_", " "), name)
        index = self.loss_combo.findData(current)
        self.loss_combo.setCurrentIndex(max(index, 0))

    def _fill_monitors(self, current: str) -> None:
        task = self.session.recipe.task if self.session.recipe is not None else None
        labels = {
            "auto": self.tr("automatic"),
            "val_loss": self.tr("validation loss"),
            "val_pr_auc": self.tr("validation PR-AUC"),
            "val_accuracy": self.tr("validation accuracy"),
        }
        allowed = ["auto", "val_loss"]
        if task in (None, BINARY):
            allowed.append("val_pr_auc")
        if task != REGRESSION:
            allowed.append("val_accuracy")
        self.monitor_combo.clear()
        for name in allowed:
            self.monitor_combo.addItem(labels[name], name)
        self.monitor_combo.setCurrentIndex(max(self.monitor_combo.findData(current), 0))

    def preset_name(self) -> str:
        return str(self.preset_combo.currentData())

    def network_spec(self) -> NetworkSpec:
        """The settings as a core :class:`NetworkSpec` (raises :class:`TrainingError` if unusable)."""
        return preset(self.preset_name()).with_changes(
            hidden=parse_hidden(self.hidden_edit.text()),
            activation=self.activation_combo.currentData(),
            dropout=round(self.dropout_spin.value(), 4),
            batch_norm=self.batch_norm_check.isChecked(),
            optimizer=self.optimizer_combo.currentData(),
            learning_rate=self.lr_spin.value(),
            loss=self.loss_combo.currentData() or "auto",
            monitor=self.monitor_combo.currentData() or "auto",
            epochs=self.epochs_spin.value(),
            batch_size=self.batch_spin.value(),
            patience=self.patience_spin.value(),
        )

    def set_settings(self, **values: Any) -> None:
        """Set settings as the user would (hidden='128, 64', epochs=3, ...; for scripts and tests)."""
        widgets = {
            "hidden": lambda v: self.hidden_edit.setText(str(v)),
            "activation": lambda v: self.activation_combo.setCurrentIndex(self.activation_combo.findData(v)),
            "dropout": self.dropout_spin.setValue,
            "batch_norm": self.batch_norm_check.setChecked,
            "optimizer": lambda v: self.optimizer_combo.setCurrentIndex(self.optimizer_combo.findData(v)),
            "learning_rate": self.lr_spin.setValue,
            "epochs": self.epochs_spin.setValue,
            "batch_size": self.batch_spin.setValue,
            "patience": self.patience_spin.setValue,
            "monitor": lambda v: self.monitor_combo.setCurrentIndex(self.monitor_combo.findData(v)),
            "seed": self.seed_spin.setValue,
        }
        for key, value in values.items():
            widgets[key](value)
        self._setting_edited()

    def _setting_edited(self, *_args: Any) -> None:
        if self._filling:
            return
        try:
            edited = self.network_spec() != preset(self.preset_name())
        except TrainingError:
            edited = True
        self.preset_note.setText(self.tr("edited: differs from the preset") if edited else "")
        self._settings_form.setRowVisible(self.preset_note, edited)

    def _run_label(self) -> str:
        try:
            edited = self.network_spec() != preset(self.preset_name())
        except TrainingError:
            edited = True
        return self.tr("{name} (edited)").format(name=self.preset_name()) if edited else self.preset_name()

    # -- preparation ----------------------------------------------------------------------------
    @Slot()
    def _preparation_changed(self, *_args: Any) -> None:
        recipe, spec = self.session.recipe, self.session.split_spec
        loss = self.loss_combo.currentData() or "auto"
        monitor = self.monitor_combo.currentData() or "auto"
        self._filling = True
        self._fill_losses(loss)
        self._fill_monitors(monitor)
        self._filling = False
        if recipe is None or spec is None:
            missing = (
                self.tr("Load data and pick a target first.")
                if self.session.target is None
                else (self.tr("Finish the Prepare step: choose the inputs and a valid split."))
            )
            self.summary_label.setText(f"<span style='color:#8a5a00'>{missing}</span>")
        else:
            target = recipe.target if isinstance(recipe.target, str) else " + ".join(recipe.target)
            weights = self.session.class_weight
            parts = [
                self.tr("<b>Target:</b> {t}").format(t=_esc(target)),
                self.tr("{n} inputs").format(n=len(recipe.inputs)),
                self.tr("{m} split {a:.0%} / {b:.0%} / {c:.0%}").format(
                    m=_esc(spec.text), a=spec.train, b=spec.valid, c=spec.test
                ),
            ]
            if recipe.derived:
                parts.append(self.tr("{n} derived").format(n=len(recipe.derived)))
            if recipe.pca.enabled:
                parts.append(self.tr("PCA"))
            if recipe.task != REGRESSION:
                parts.append(self.tr("class weights on") if weights else self.tr("class weights off"))
            self.summary_label.setText(" &nbsp;·&nbsp; ".join(parts))
        self._update_buttons()

    def _update_buttons(self) -> None:
        training = self.is_training()
        ready = self.session.recipe is not None and self.session.split_spec is not None
        self.train_button.setEnabled(ready and not training)
        self.stop_button.setEnabled(training and not self._stop.is_set())
        self.save_button.setEnabled(self.session.current_run is not None and not self._saving())

    def is_training(self) -> bool:
        return self.train_job is not None and self.train_job.is_running()

    def _saving(self) -> bool:
        return self.save_job is not None and self.save_job.is_running()

    # -- training -------------------------------------------------------------------------------
    @Slot()
    def train(self) -> Job | None:
        """Start training with the session's data, recipe and split; None (with a message) if it cannot."""
        if self.is_training():
            return None
        session = self.session
        if session.frame is None or session.recipe is None or session.split_spec is None:
            self.ctx.notify(
                self.tr("Prepare the data first: pick a target, the inputs and a valid split.")
            )
            return None
        try:
            spec = self.network_spec()
        except TrainingError as exc:
            self.ctx.report_error(exc)
            return None
        self.ctx.clear_notice()
        files = [str(f.path) for f in getattr(session.data, "files", []) or []]
        self._stop = threading.Event()
        self.stop_requested_at = None
        self.last_update = None
        self._training_preset = self._run_label()
        self._training_frame = session.frame
        metric = metric_name(session.recipe.task or "")
        self.best_tile.caption.setText(self._best_caption(spec, session.recipe.task))
        self.curves.start(spec.epochs, metric)
        for tile in (
            self.epoch_tile,
            self.speed_tile,
            self.elapsed_tile,
            self.remaining_tile,
            self.best_tile,
        ):
            tile.set("—")
        self.epoch_tile.set(f"0 / {spec.epochs}")
        self.progress.setValue(0)
        self.status_label.setText(
            self.tr("Starting… (the first run of a session loads TensorFlow, a few seconds)")
        )
        job = run_in_thread(
            _train_job,
            session.frame,
            session.recipe,
            session.split_spec,
            spec,
            self.seed_spin.value(),
            bool(session.class_weight),
            files,
            self._stop,
            name="train",
        )
        self.train_job = job
        job.partial.connect(lambda update, j=job: self._partial(j, update))
        job.progress.connect(lambda fraction, message, j=job: self._progress(j, fraction, message))
        job.finished.connect(lambda run, j=job: self._trained(j, run))
        job.errored.connect(lambda exc, j=job: self._train_failed(j, exc))
        job.cancelled.connect(lambda j=job: self._train_cancelled(j))
        job.ended.connect(lambda j=job: self._train_ended(j))
        self.ctx.track(job, self.tr("Training"), cancellable=False)
        self._update_buttons()
        return job

    def _best_caption(self, spec: NetworkSpec, task: str | None) -> str:
        names = {
            "val_loss": self.tr("val loss"),
            "val_pr_auc": self.tr("val PR-AUC"),
            "val_accuracy": self.tr("val accuracy"),
        }
        try:
            monitor, _mode = resolve_monitor(spec, task or REGRESSION)
        except TrainingError:
            self._monitor_text = self.tr("the validation score")
            return self.tr("Best epoch")
        self._monitor_text = names.get(monitor, monitor)
        return self.tr("Best epoch (by {what})").format(what=self._monitor_text)

    @Slot()
    def cancel(self) -> None:
        """Stop training within a batch; the run keeps the best weights so far."""
        if not self.is_training() or self._stop.is_set():
            return
        self._stop.set()
        self.stop_requested_at = time.perf_counter()
        self.status_label.setText(self.tr("Stopping… the best weights so far are kept."))
        self._update_buttons()

    def _progress(self, job: Job, fraction: float, message: str) -> None:
        if job is self.train_job and self.last_update is None and message:
            self.status_label.setText(message[:1].upper() + message[1:] + "…")

    def _partial(self, job: Job, update: Any) -> None:
        if job is not self.train_job:
            return
        if hasattr(update, "val_loss"):  # an EpochUpdate
            self.last_update = update
            self.curves.add_epoch(
                update.epoch,
                update.loss,
                update.val_loss,
                update.metric,
                update.val_metric,
                update.best_epoch,
            )
            self.epoch_tile.set(f"{update.epoch} / {update.epochs}")
            self.speed_tile.set(f"{update.samples_per_s:,.0f}")
            self.elapsed_tile.set(_clock(update.elapsed_s))
            self.remaining_tile.set(_clock(update.remaining_s))
            self.best_tile.set(str(update.best_epoch))
            self.progress.setValue(int(1000 * update.epoch / max(update.epochs, 1)))
            if not self._stop.is_set():
                self.status_label.setText(self._epoch_text(update))
        else:  # a BatchUpdate: only the smooth loss trace
            self.curves.add_batch(update.position, update.loss)

    def _epoch_text(self, update: Any) -> str:
        metric = self.tr("MAE") if update.metric_name == "mae" else self.tr("accuracy")
        text = self.tr("Training on {device}: loss {loss:.4f}").format(
            device=self.device or "…", loss=update.loss
        )
        if update.val_loss is not None:
            text += self.tr(", validation loss {v:.4f}").format(v=update.val_loss)
        if update.val_metric is not None:
            text += self.tr(", validation {m} {v:.4f}").format(m=metric, v=update.val_metric)
        return text

    def _trained(self, job: Job, run: TrainingRun) -> None:
        if job is not self.train_job:
            return
        self.curves.stop()
        self.run_labels[run.id] = self._training_preset
        self._set_device(run.device)
        if run.cancelled:
            text = self.tr(
                "Cancelled after {n} epochs; the best weights (epoch {best}) are kept and can be "
                "evaluated and saved."
            )
        elif run.stopped_early:
            text = self.tr("Stopped early after {n} epochs: {what} no longer improved; best epoch {best}.")
        else:
            text = self.tr("Finished {n} epochs; best epoch {best}.")
        self.status_label.setText(
            text.format(n=run.epochs_run, best=run.best_epoch, what=self._monitor_text)
            + " "
            + self.tr("Took {t}.").format(t=_clock(run.duration_s))
        )
        self.progress.setValue(1000)
        self.remaining_tile.set(_clock(0))
        self._live_run = run
        self.session.add_run(run, self._training_frame)

    def _train_failed(self, job: Job, exc: BaseException) -> None:
        if job is not self.train_job:
            return
        self.curves.stop()
        self.status_label.setText(self.tr("Training did not run: see the message above."))
        self.ctx.report_error(exc, self.tr("training"))

    def _train_cancelled(self, job: Job) -> None:
        if job is self.train_job:
            self.curves.stop()
            self.status_label.setText(self.tr("Stopped before the first epoch finished; no run was kept."))

    def _train_ended(self, job: Job) -> None:
        if job is self.train_job:
            self._training_frame = None
            self.train_job = None
        self._update_buttons()

    # -- device ---------------------------------------------------------------------------------
    def _ask_device(self) -> None:
        job = run_in_thread(_device_job, name="device")
        self.device_job = job
        job.finished.connect(self._set_device)
        job.errored.connect(lambda exc: self._set_device(self.tr("CPU")))

    def _set_device(self, device: str) -> None:
        self.device = device
        self.ctx.device_described.emit(device)

    # -- runs -----------------------------------------------------------------------------------
    @Slot(object)
    def _fill_runs(self, runs: list[TrainingRun]) -> None:
        table = self.runs_table
        table.blockSignals(True)
        table.setRowCount(len(runs))
        for row, run in enumerate(runs):
            for column, text in enumerate(self._run_cells(row, run)):
                item = QTableWidgetItem(text)
                if column in (2, 3, 4, 5, 7):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                item.setData(Qt.ItemDataRole.UserRole, run.id)
                table.setItem(row, column, item)
        table.blockSignals(False)
        self._select_run_row(self.session.current_run)
        self._update_buttons()

    def _run_cells(self, row: int, run: TrainingRun) -> list[str]:
        metric = metric_name(run.task)
        history = run.history
        val_loss = history.get("val_loss", [])
        best_loss = val_loss[run.best_epoch - 1] if 0 < run.best_epoch <= len(val_loss) else None
        main_key = f"val_{metric}"
        main = run.metrics.get(main_key)
        metric_label = self.tr("MAE") if metric == "mae" else self.tr("accuracy")
        main_text = f"{metric_label} {main:.4f}" if main is not None else "—"
        names = {
            "val_roc_auc": "ROC-AUC",
            "val_pr_auc": "PR-AUC",
            "val_rmse": "RMSE",
            "val_r2": "R²",
            "val_balanced_accuracy": self.tr("balanced acc."),
        }
        more = " · ".join(f"{names.get(k, k)} {v:.3f}" for k, v in run.metrics.items() if k != main_key)
        if run.cancelled:
            status = self.tr("cancelled (best weights kept)")
        elif run.stopped_early:
            status = self.tr("stopped early")
        else:
            status = self.tr("finished")
        return [
            f"#{row + 1}  {run.id[:6]}",
            self.run_labels.get(run.id, self.tr("—")),
            f"{run.epochs_run} / {run.network.epochs}",
            str(run.best_epoch),
            f"{best_loss:.4f}" if best_loss is not None else "—",
            main_text,
            more,
            _clock(run.duration_s),
            run.device,
            status,
        ]

    def _select_run_row(self, run: TrainingRun | None) -> None:
        runs = self.session.runs
        self.runs_table.blockSignals(True)
        self.runs_table.clearSelection()
        if run is not None and run in runs:
            self.runs_table.selectRow(runs.index(run))
        self.runs_table.blockSignals(False)

    @Slot()
    def _run_selected(self) -> None:
        rows = {index.row() for index in self.runs_table.selectedIndexes()}
        runs = self.session.runs
        if len(rows) == 1 and 0 <= (row := rows.pop()) < len(runs):
            self.session.set_current_run(runs[row])

    @Slot(object)
    def _current_run_changed(self, run: TrainingRun | None) -> None:
        self._select_run_row(run)
        # The curves on show belong to the run being trained or just trained (with its per-batch
        # trace); another run's history replaces them only when the user picks that run.
        if run is not None and run is not self._live_run and not self.is_training():
            self._live_run = None
            self.curves.show_history(run.history, metric_name(run.task), run.best_epoch)
        self._update_buttons()

    # -- saving ---------------------------------------------------------------------------------
    @Slot()
    def save_current_run(self) -> Job | None:
        run = self.session.current_run
        if run is None:
            return None
        settings = app_settings()
        folder = Path(str(settings.value("model_dir", str(Path.home()))))
        target = run.recipe.target if isinstance(run.recipe.target, str) else "target"
        safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in target)
        suggested = folder / f"{safe}_{run.id[:6]}{MODEL_SUFFIX}"
        path, _ = QFileDialog.getSaveFileName(
            self, self.tr("Save model"), str(suggested), self.tr("mfg-desktop model (*.mfgmodel)")
        )
        if not path:
            return None
        if not path.lower().endswith(MODEL_SUFFIX):
            path += MODEL_SUFFIX
        settings.setValue("model_dir", str(Path(path).parent))
        return self.save_run(run, path)

    def save_run(self, run: TrainingRun, path: str | Path) -> Job:
        """Write ``run`` to ``path`` on a worker thread; problems go to the banner."""
        job = run_in_thread(_save_job, run, str(path), name="save model")
        self.save_job = job
        job.finished.connect(lambda saved: self._saved(saved))
        job.errored.connect(lambda exc: self.ctx.report_error(exc, self.tr("saving the model")))
        job.ended.connect(self._update_buttons)
        self.ctx.track(job, self.tr("Saving the model"), cancellable=False)
        self._update_buttons()
        return job

    def _saved(self, path: Path) -> None:
        self.ctx.status(self.tr("Model saved to {path}").format(path=path), 15000)
        self.status_label.setText(self.tr("Saved {name}.").format(name=Path(path).name))


def _esc(text: str) -> str:
    import html

    return html.escape(str(text))
