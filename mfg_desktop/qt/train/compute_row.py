"""The Train step's "Runs on" row: This PC or the Ray cluster of Settings › Compute, and its workers.

It follows the saved setting (``AppContext.compute_changed``) and changing it here saves it too, so
the Train step and Settings › Compute always agree. The cluster entry is greyed out, with the
reason in its tooltip, when Ray is not installed or no address is set.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QSpinBox, QWidget

from mfg_desktop.qt.compute import (
    CLUSTER,
    MAX_WORKERS,
    THIS_PC,
    ComputeChoice,
    cluster_available,
    load_compute,
    not_installed_text,
    save_compute,
    workers_tooltip,
)
from mfg_desktop.qt.context import AppContext


def tr(text: str) -> str:
    return QCoreApplication.translate("ComputeRow", text)


def where_text(choice: ComputeChoice) -> str:
    """Where a training runs, in words, for the status line."""
    if not choice.on_cluster:
        return tr("this PC")
    if choice.workers > 1:
        return tr("the Ray cluster at {address} ({n} workers, data-parallel)").format(
            address=choice.address, n=choice.workers)
    return tr("the Ray cluster at {address}").format(address=choice.address)


class ComputeRow(QWidget):
    """``changed(choice)`` goes out when the user picks another place or number of workers."""

    changed = Signal(object)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self._filling = False
        self._choice = ComputeChoice()
        self.dialog = None
        self.where_combo = QComboBox()
        self.where_combo.addItem(tr("This PC"), THIS_PC)
        self.where_combo.addItem(tr("Ray cluster"), CLUSTER)
        self.where_combo.activated.connect(self._edited)
        self.workers_label = QLabel(tr("Workers"))
        self.workers_spin = QSpinBox()
        self.workers_spin.setRange(1, MAX_WORKERS)
        self.workers_spin.setToolTip(workers_tooltip())
        self.workers_spin.valueChanged.connect(self._edited)
        self.settings_button = QPushButton(tr("Compute…"))
        self.settings_button.setToolTip(tr("Settings › Compute: the cluster's address and token file"))
        self.settings_button.clicked.connect(self.open_settings)
        self.where_combo.setMinimumContentsLength(24)  # room for "Ray cluster ray://10.0.0.5:10001"
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel(tr("Runs on")))
        layout.addWidget(self.where_combo)
        layout.addWidget(self.workers_label)
        layout.addWidget(self.workers_spin)
        layout.addWidget(self.settings_button)
        ctx.compute_changed.connect(self.show_choice)
        self.show_choice(load_compute())

    def choice(self) -> ComputeChoice:
        return self._choice

    def show_choice(self, choice: ComputeChoice) -> None:
        """Show ``choice`` (the saved one, or one just saved in Settings › Compute)."""
        available = cluster_available()
        usable = available and bool(choice.address.strip())
        if not usable:
            choice = choice.with_values(where=THIS_PC)
        self._choice = choice
        self._filling = True
        try:
            item = self.where_combo.model().item(1)
            item.setEnabled(usable)
            item.setText(tr("Ray cluster {address}").format(address=choice.address) if usable else tr("Ray cluster"))
            if not available:
                item.setToolTip(not_installed_text())
            elif not usable:
                item.setToolTip(tr("Set the cluster's address in Settings › Compute… first"))
            else:
                item.setToolTip("")
            self.where_combo.setCurrentIndex(self.where_combo.findData(choice.where))
            self.workers_spin.setValue(choice.workers)
            self.where_combo.setToolTip(item.toolTip() if not usable else where_text(choice))
        finally:
            self._filling = False
        self.workers_label.setVisible(choice.on_cluster)
        self.workers_spin.setVisible(choice.on_cluster)

    def _edited(self, *_args: object) -> None:
        if self._filling:
            return
        choice = self._choice.with_values(where=self.where_combo.currentData(), workers=self.workers_spin.value())
        save_compute(choice)
        self.show_choice(choice)
        self.changed.emit(choice)

    def set_enabled_while_training(self, training: bool) -> None:
        self.where_combo.setEnabled(not training)
        self.workers_spin.setEnabled(not training)
        self.settings_button.setEnabled(not training)

    def open_settings(self) -> None:
        from mfg_desktop.qt.compute_dialog import ComputeDialog

        if self.dialog is None:  # one dialog, kept: a connection check may still be running in it
            self.dialog = ComputeDialog(self.ctx, self)
            self.dialog.saved.connect(self.ctx.compute_changed.emit)
        else:
            self.dialog.show_choice(load_compute())
        self.dialog.open()
