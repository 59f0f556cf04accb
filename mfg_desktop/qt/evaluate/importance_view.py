"""Permutation importance: how much the main metric drops when one column is shuffled."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from mfg_desktop.core.explain import derived_note
from mfg_desktop.qt.evaluate.bars import HorizontalBars
from mfg_desktop.qt.evaluate.labels import metric_label

if TYPE_CHECKING:
    from mfg_desktop.core.explain import Importance


class ImportanceView(QWidget):
    """The bars (± one standard deviation over the shuffles) and what they mean."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.chart = HorizontalBars(self.tr("Permutation importance"),
                                    self.tr("drop of the main metric when the column is shuffled"))
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setTextFormat(Qt.TextFormat.PlainText)
        layout = QVBoxLayout(self)
        layout.addWidget(self.chart, 1)
        layout.addWidget(self.note)

    def show_importance(self, imp: Importance | None) -> None:
        if imp is None:
            self.note.setText(self.tr("Importance was not computed."))
            return
        self.chart.show_bars(imp.columns, imp.mean, imp.std, numbers=True)
        metric = metric_label(imp.metric)
        self.chart.plot.getPlotItem().setLabel(
            "bottom", self.tr("drop in {m} when the column is shuffled").format(m=metric))
        text = self.tr("Drop in {m} when one column's values are shuffled among {n:,} evaluated rows ({r} shuffles "
                       "each); the whiskers show ± one standard deviation. Near zero or below: the model does not "
                       "rely on the column.").format(m=metric, n=imp.n_rows, r=imp.n_repeats)
        if imp.derived:
            text += "\n" + derived_note(imp.derived)
        if imp.pca:
            text += "\n" + self.tr("PCA is on: the network sees principal components, not your columns. Each "
                                   "column's importance is measured through the PCA, by shuffling the column "
                                   "before it.")
        self.note.setText(text)

    def clear(self) -> None:
        self.chart.clear()
        self.note.clear()
