"""The Evaluate step's "Per entity" tab: a history model judged machine by machine.

The numbers (RMSE/MAE at each entity's last row and over all rows, or the alarms of a "fails within N"
model), the per-entity table from :mod:`mfg_desktop.core.history_eval`, and for the entity chosen in the
combo (or clicked in the table) the prediction against the truth along the order axis.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from mfg_desktop.qt import plots

if TYPE_CHECKING:
    from mfg_desktop.core.history_eval import HistoryEvaluation

PREDICTED_COLOR = "#2f6fb0"
TRUE_COLOR = "#555555"
THRESHOLD_COLOR = "#c0392b"
RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


def cell_text(value: Any) -> str:
    """Numbers in the table: counts without decimals, errors with two, probabilities with three."""
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    f = float(value)
    if not math.isfinite(f):
        return "—"
    if f.is_integer() and abs(f) < 1e12:
        return f"{int(f):,}"
    return f"{f:.3f}" if abs(f) < 1 else f"{f:.2f}"


def fit_columns(table: QTableWidget, widest: int = 80) -> None:
    """Columns as wide as their numbers, at most ``widest``; long headings wrap onto two lines instead of
    pushing the last columns out of sight."""
    header = table.horizontalHeader()
    header.setDefaultAlignment(Qt.AlignmentFlag.AlignCenter | Qt.AlignmentFlag.AlignVCenter
                               | Qt.TextFlag.TextWordWrap)
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    table.resizeColumnsToContents()
    for column in range(table.columnCount()):
        table.setColumnWidth(column, min(table.columnWidth(column), widest))
    header.setMinimumHeight(2 * table.fontMetrics().height() + 8)


class NumberItem(QTableWidgetItem):
    """A table cell that sorts by its number, not its text (10 after 9)."""

    def __init__(self, value: Any) -> None:
        super().__init__(cell_text(value))
        self.value = float(value) if isinstance(value, int | float | np.number) and not isinstance(value, bool) \
            else math.nan
        if not isinstance(value, str):
            self.setTextAlignment(RIGHT)

    def __lt__(self, other: QTableWidgetItem) -> bool:
        if isinstance(other, NumberItem) and not (math.isnan(self.value) or math.isnan(other.value)):
            return self.value < other.value
        return super().__lt__(other)


class HistoryEvalView(QWidget):
    """Per-entity numbers, table and plot of a history model's evaluation."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.history: HistoryEvaluation | None = None
        self.threshold: float | None = None  # a yes/no model's decision threshold, drawn on its plot
        self.headline = QLabel()
        self.headline.setWordWrap(True)
        bold = self.headline.font()
        bold.setBold(True)
        self.headline.setFont(bold)
        self.setup_label = QLabel()
        self.setup_label.setWordWrap(True)
        self.setup_label.setStyleSheet("color: #555;")
        self.table = QTableWidget(0, 0)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.setSortingEnabled(True)
        self.table.itemSelectionChanged.connect(self._table_row_picked)
        self.entity_combo = QComboBox()
        self.entity_combo.setMinimumContentsLength(10)
        self.entity_combo.currentTextChanged.connect(self.show_entity)
        self.plot = plots.plot_widget(self.tr("Predicted and true along the history"), "", "")
        self.plot.getPlotItem().addLegend(offset=(-10, 10), labelTextSize="9pt")

        picker = QHBoxLayout()
        picker.addWidget(QLabel(self.tr("Entity")))
        picker.addWidget(self.entity_combo, 1)
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addLayout(picker)
        rl.addWidget(self.plot, 1)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.table)
        splitter.addWidget(right)
        splitter.setSizes([700, 500])
        layout = QVBoxLayout(self)
        layout.addWidget(self.headline)
        layout.addWidget(self.setup_label)
        layout.addWidget(splitter, 1)

    def clear(self) -> None:
        self.history = None
        self.headline.setText("")
        self.setup_label.setText("")
        self.table.setRowCount(0)
        self.table.setColumnCount(0)
        self.entity_combo.blockSignals(True)
        self.entity_combo.clear()
        self.entity_combo.blockSignals(False)
        self.plot.getPlotItem().clear()

    def show_history(self, history: HistoryEvaluation | None, threshold: float | None = None) -> None:
        self.clear()
        if history is None:
            return
        from mfg_desktop.core.history_eval import column_text

        self.history = history
        self.threshold = threshold
        self.headline.setText(history.headline())
        self.setup_label.setText(self.tr("Histories: {setup}. Each entity's last row is its latest evaluated row; "
                                         "pick an entity to see its prediction along its history.")
                                 .format(setup=history.setup))
        table = history.entities
        self.table.setSortingEnabled(False)
        self.table.setColumnCount(len(table.columns))
        self.table.setHorizontalHeaderLabels([
            history.entity_column if c == "entity" and history.entity_column else column_text(c, history.order_column)
            for c in table.columns])
        self.table.setRowCount(len(table))
        for r, row in enumerate(table.itertuples(index=False, name=None)):
            for c, value in enumerate(row):
                self.table.setItem(r, c, NumberItem(value))
        self.table.setSortingEnabled(True)
        fit_columns(self.table)
        ids = history.entity_ids()
        self.entity_combo.blockSignals(True)
        self.entity_combo.addItems([e for e in ids if e in history.curves])
        self.entity_combo.blockSignals(False)
        self.entity_combo.setEnabled(bool(history.curves))
        if history.curves:
            self.show_entity(self.entity_combo.currentText())

    def _table_row_picked(self) -> None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if not rows:
            return
        name = self.table.item(rows[0].row(), 0).text()
        index = self.entity_combo.findText(name)
        if index >= 0:
            self.entity_combo.setCurrentIndex(index)

    def show_entity(self, name: str) -> None:
        """Draw one entity's prediction and truth against its order axis."""
        item = self.plot.getPlotItem()
        item.clear()
        if self.history is None or name not in self.history.curves:
            return
        curve = self.history.curves[name]
        history = self.history
        item.setLabel("bottom", history.order_column or self.tr("row in the history"))
        if history.regression:
            item.setTitle(self.tr("{entity} {name}: predicted and true").format(
                entity=history.entity_column or self.tr("entity"), name=name), size="10pt")
            item.setLabel("left", self.tr("remaining life") if history.label == "rul" else self.tr("value"))
            item.plot(curve.order, curve.true, pen=pg.mkPen(TRUE_COLOR, width=2, style=Qt.PenStyle.DashLine),
                      name=self.tr("true"))
            item.plot(curve.order, curve.predicted, pen=pg.mkPen(PREDICTED_COLOR, width=2), name=self.tr("predicted"))
        else:
            item.setTitle(self.tr("{entity} {name}: p({positive}) and the true class").format(
                entity=history.entity_column or self.tr("entity"), name=name, positive=history.positive_class),
                size="10pt")
            item.setLabel("left", self.tr("p({positive})").format(positive=history.positive_class))
            item.plot(curve.order, curve.true, pen=pg.mkPen(TRUE_COLOR, width=2, style=Qt.PenStyle.DashLine),
                      name=self.tr("true (1 = {positive})").format(positive=history.positive_class))
            item.plot(curve.order, curve.predicted, pen=pg.mkPen(PREDICTED_COLOR, width=2),
                      name=self.tr("p({positive})").format(positive=history.positive_class))
            if self.threshold is not None:
                item.addItem(pg.InfiniteLine(pos=self.threshold, angle=0, pen=pg.mkPen(
                    THRESHOLD_COLOR, width=1, style=Qt.PenStyle.DashLine)))
            item.setYRange(-0.02, 1.02, padding=0)
        item.enableAutoRange(axis="x")
