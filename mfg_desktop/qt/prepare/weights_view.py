"""The Prepare step's class-imbalance choice: weight rare classes more in training, or not."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QGroupBox, QLabel, QVBoxLayout, QWidget

from mfg_desktop.qt.prepare.state import WeightAdvice
from mfg_desktop.qt.prepare.text import HINT_STYLE, weights_text


class ClassWeightsView(QGroupBox):
    """The check box starts as advised for the target; ``toggled`` carries the user's change."""

    toggled = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(self.tr("Class imbalance"), parent)
        self.weights_check = QCheckBox(self.tr("Weight the classes (rare classes count more in training)"))
        self.weights_check.toggled.connect(self.toggled)
        self.weights_label = QLabel()
        self.weights_label.setWordWrap(True)
        self.weights_label.setStyleSheet(HINT_STYLE)
        layout = QVBoxLayout(self)
        layout.addWidget(self.weights_check)
        layout.addWidget(self.weights_label)

    def show_advice(self, advice: WeightAdvice) -> bool | None:
        """Set the box as advised for a new target; returns the session's class-weight choice."""
        self.weights_check.blockSignals(True)
        self.weights_check.setEnabled(advice.applies)
        self.weights_check.setChecked(advice.suggested)
        self.weights_label.setText(weights_text(advice))
        self.weights_check.blockSignals(False)
        return advice.class_weight(self.weights_check.isChecked())
