"""The Prepare step's optional PCA: how many components to keep, and the explained-variance chart."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from mfg_desktop.core.recipe import PcaSettings
from mfg_desktop.qt.live_plots import VarianceChart
from mfg_desktop.qt.prepare.state import PrepareState, pca_selection, pca_settings
from mfg_desktop.qt.prepare.text import ERROR_STYLE, HINT_STYLE, pca_text


class PcaView(QGroupBox):
    """The PCA form and the variance shares of the state's preview (``state.pca_ratios``).

    ``settings_changed(recompute)`` fires on every change; ``recompute`` is True when the preview
    has to be computed again (PCA was switched on), False when only the choice of components moved.
    """

    settings_changed = Signal(bool)

    def __init__(self, state: PrepareState, parent: QWidget | None = None) -> None:
        super().__init__(self.tr("PCA (optional)"), parent)
        self.state = state
        self.pca_check = QCheckBox(self.tr("Reduce the prepared inputs to principal components"))
        self.pca_by_share = QRadioButton(self.tr("Keep this share of the variance"))
        self.pca_by_count = QRadioButton(self.tr("Keep this many components"))
        self.pca_by_share.setChecked(True)
        self._mode = QButtonGroup(self)
        self._mode.addButton(self.pca_by_share)
        self._mode.addButton(self.pca_by_count)
        self.pca_share = QDoubleSpinBox()
        self.pca_share.setRange(0.50, 1.00)
        self.pca_share.setSingleStep(0.01)
        self.pca_share.setDecimals(2)
        self.pca_share.setValue(0.95)
        self.pca_count = QSpinBox()
        self.pca_count.setRange(1, 10_000)
        self.pca_count.setValue(5)
        self.pca_count.setEnabled(False)
        self.variance_chart = VarianceChart()
        self.variance_chart.setMinimumHeight(190)
        self.variance_chart.setMaximumHeight(240)
        self.pca_status = QLabel()
        self.pca_status.setWordWrap(True)
        self.pca_status.setTextFormat(Qt.TextFormat.PlainText)
        self.pca_options = QWidget()
        grid = QFormLayout(self.pca_options)
        grid.setContentsMargins(18, 0, 0, 0)
        grid.addRow(self.pca_by_share, self.pca_share)
        grid.addRow(self.pca_by_count, self.pca_count)
        grid.addRow(self.pca_status)
        grid.addRow(self.variance_chart)
        self.pca_options.setVisible(False)
        layout = QVBoxLayout(self)
        layout.addWidget(self.pca_check)
        layout.addWidget(self.pca_options)
        self.pca_check.toggled.connect(self._toggled)
        self.pca_by_share.toggled.connect(self._edited)
        self.pca_share.valueChanged.connect(self._edited)
        self.pca_count.valueChanged.connect(self._edited)

    def is_enabled(self) -> bool:
        return self.pca_check.isChecked()

    def settings(self) -> PcaSettings:
        return pca_settings(
            self.pca_check.isChecked(),
            self.pca_by_count.isChecked(),
            self.pca_count.value(),
            self.pca_share.value(),
        )

    @Slot(bool)
    def _toggled(self, on: bool) -> None:
        self.pca_options.setVisible(on)
        self.settings_changed.emit(True)

    def _edited(self, *_args: Any) -> None:
        self.pca_share.setEnabled(self.pca_by_share.isChecked())
        self.pca_count.setEnabled(self.pca_by_count.isChecked())
        self.mark()
        self.settings_changed.emit(False)

    def show_status(self, text: str, error: bool = False) -> None:
        self.pca_status.setStyleSheet(ERROR_STYLE if error else HINT_STYLE)
        self.pca_status.setText(text)

    def show_computing(self) -> None:
        self.show_status(self.tr("Computing the explained variance on the training rows…"))

    def show_ratios(self) -> None:
        """Plot the state's new preview and mark what the choice keeps."""
        ratios = self.state.pca_ratios
        self.pca_count.setMaximum(max(len(ratios), 1))
        self.variance_chart.show_ratios(ratios)
        self.mark()

    def clear(self) -> None:
        self.variance_chart.clear()

    def mark(self) -> None:
        """Mark on the chart, and say, how many components the choice keeps and what they hold."""
        ratios = self.state.pca_ratios
        if ratios is None or len(ratios) == 0:
            return
        by_count = self.pca_by_count.isChecked()
        share_goal = self.pca_share.value()
        kept, share = pca_selection(ratios, by_count, self.pca_count.value(), share_goal)
        self.variance_chart.mark(kept, None if by_count else share_goal)
        self.show_status(pca_text(len(ratios), kept, share))

