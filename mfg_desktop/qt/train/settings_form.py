"""The network settings form with the Train and Cancel buttons: shows and reads :class:`NetworkSettings`."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from mfg_desktop.core.network import ACTIVATIONS, PRESETS
from mfg_desktop.qt.train.state import NetworkSettings, loss_choices, monitor_choices

OPTIMIZER_LABELS = {"adamw": "AdamW", "adam": "Adam", "sgd": "SGD"}


def _choose(combo: QComboBox, value: Any) -> None:
    combo.setCurrentIndex(combo.findData(value))


class SettingsForm(QGroupBox):
    """The "Network" group: a preset, the values it sets (editable), and the buttons that train.

    ``preset_chosen(name)`` and ``edited()`` go out when the user changes something, never while
    the form is being filled; :meth:`settings` reads what the form shows.
    """

    preset_chosen = Signal(str)
    edited = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(self.tr("Network"), parent)
        self._filling = False
        self._build_fields()
        self.train_button = QPushButton(self.tr("Train"))
        self.train_button.setDefault(True)
        self.train_button.setMinimumHeight(32)
        self.train_button.setStyleSheet(
            "QPushButton { background: #2f6fb0; color: white; font-weight: bold; border-radius: 4px;"
            " padding: 4px 18px; }"
            "QPushButton:disabled { background: #b8c4d2; }"
        )
        self.stop_button = QPushButton(self.tr("Cancel"))
        self.stop_button.setToolTip(self.tr("Stop now and keep the best weights so far"))
        self.stop_button.setMinimumHeight(32)
        self.stop_button.setEnabled(False)
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
        layout = QVBoxLayout(self)
        layout.addLayout(self.form)
        layout.addStretch(1)
        layout.addWidget(hint)
        layout.addLayout(buttons)
        self.setMinimumWidth(300)

    def _build_fields(self) -> None:
        self.model_combo = QComboBox()
        self.model_combo.addItem(self.tr("Auto (the better of both)"), "auto")
        self.model_combo.addItem(self.tr("Network only"), "network")
        self.model_combo.addItem(self.tr("LightGBM trees only"), "trees")
        self.model_combo.addItem(self.tr("Sequence network (histories)"), "sequence")
        self.model_combo.setToolTip(
            self.tr(
                "Auto trains the network, then LightGBM trees on the same rows, and keeps the one with "
                "the better score on the validation rows."
            )
        )
        self.preset_combo = QComboBox()
        descriptions = {
            "fast": self.tr("fast — up to {e} epochs"),
            "balanced": self.tr("balanced — up to {e} epochs"),
            "thorough": self.tr("thorough — up to {e} epochs"),
        }
        for name, spec in PRESETS.items():
            self.preset_combo.addItem(descriptions.get(name, name).format(e=spec.epochs), name)
        self.preset_combo.activated.connect(lambda i: self.preset_chosen.emit(self.preset_combo.itemData(i)))
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
        self.form = form
        form.addRow(self.tr("Model"), self.model_combo)
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
        self.hidden_edit.textEdited.connect(self._edited)
        for combo in (self.model_combo, self.activation_combo, self.optimizer_combo, self.loss_combo, self.monitor_combo):
            combo.activated.connect(self._edited)
        for spin in (
            self.dropout_spin,
            self.lr_spin,
            self.epochs_spin,
            self.batch_spin,
            self.patience_spin,
            self.seed_spin,
        ):
            spin.valueChanged.connect(self._edited)
        self.batch_norm_check.toggled.connect(self._edited)

    def _edited(self, *_args: Any) -> None:
        if not self._filling:
            self.edited.emit()

    def show_settings(self, settings: NetworkSettings, task: str | None) -> None:
        """Fill every field from ``settings``; the loss and monitor lists fit ``task``."""
        self._filling = True
        try:
            _choose(self.model_combo, settings.model_choice)
            _choose(self.preset_combo, settings.preset)
            self.hidden_edit.setText(settings.hidden)
            _choose(self.activation_combo, settings.activation)
            self.dropout_spin.setValue(settings.dropout)
            self.batch_norm_check.setChecked(settings.batch_norm)
            _choose(self.optimizer_combo, settings.optimizer)
            self.lr_spin.setValue(settings.learning_rate)
            self._fill_choices(task, settings.loss, settings.monitor)
            self.epochs_spin.setValue(settings.epochs)
            self.batch_spin.setValue(settings.batch_size)
            self.patience_spin.setValue(settings.patience)
            self.seed_spin.setValue(settings.seed)
        finally:
            self._filling = False

    def fit_task(self, task: str | None) -> None:
        """Offer the losses and monitors ``task`` allows, keeping the current ones where allowed."""
        self._filling = True
        try:
            self._fill_choices(
                task, self.loss_combo.currentData() or "auto", self.monitor_combo.currentData() or "auto"
            )
        finally:
            self._filling = False

    def _loss_labels(self) -> dict[str, str]:
        return {"auto": self.tr("automatic (fits the task)"), "binary_crossentropy": self.tr("binary cross-entropy"),
                "categorical_crossentropy": self.tr("categorical cross-entropy"),
                "mse": self.tr("mean squared error (MSE)"), "mae": self.tr("mean absolute error (MAE)"),
                "huber": self.tr("Huber loss")}

    def _fill_choices(self, task: str | None, loss: str, monitor: str) -> None:
        self.loss_combo.clear()
        for name in loss_choices(task):
            self.loss_combo.addItem(self._loss_labels().get(name, name.replace("_", " ")), name)
        self.loss_combo.setCurrentIndex(max(self.loss_combo.findData(loss), 0))
        labels = {
            "auto": self.tr("automatic"),
            "val_loss": self.tr("validation loss"),
            "val_pr_auc": self.tr("validation PR-AUC"),
            "val_accuracy": self.tr("validation accuracy"),
        }
        self.monitor_combo.clear()
        for name in monitor_choices(task):
            self.monitor_combo.addItem(labels[name], name)
        self.monitor_combo.setCurrentIndex(max(self.monitor_combo.findData(monitor), 0))

    def settings(self) -> NetworkSettings:
        """What the form shows."""
        return NetworkSettings(
            preset=str(self.preset_combo.currentData()),
            hidden=self.hidden_edit.text(),
            activation=self.activation_combo.currentData(),
            dropout=self.dropout_spin.value(),
            batch_norm=self.batch_norm_check.isChecked(),
            optimizer=self.optimizer_combo.currentData(),
            learning_rate=self.lr_spin.value(),
            loss=self.loss_combo.currentData() or "auto",
            monitor=self.monitor_combo.currentData() or "auto",
            epochs=self.epochs_spin.value(),
            batch_size=self.batch_spin.value(),
            patience=self.patience_spin.value(),
            seed=self.seed_spin.value(),
            model_choice=self.model_combo.currentData() or "auto",
        )

    def show_edited(self, edited: bool) -> None:
        self.preset_note.setText(self.tr("edited: differs from the preset") if edited else "")
        self.form.setRowVisible(self.preset_note, edited)

    def set_buttons(self, can_train: bool, can_stop: bool) -> None:
        self.train_button.setEnabled(can_train)
        self.stop_button.setEnabled(can_stop)
