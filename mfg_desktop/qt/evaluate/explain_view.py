"""The evaluated rows, and for the row picked, which inputs pushed its prediction up or down."""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from mfg_desktop.core.explain import format_change
from mfg_desktop.qt.evaluate.bars import HorizontalBars
from mfg_desktop.qt.evaluate.state import RowExplanation, RowsListing
from mfg_desktop.qt.evaluate.text import number_text, value_text

UP_COLOR = "#c0504d"  # pushed the prediction up
DOWN_COLOR = "#4a86c5"
TEXT_COLUMNS = (1, 2)  # actual and predicted: class names stay left-aligned


class RowsModel(QAbstractTableModel):
    """The evaluated rows (row in the file, actual, predicted, score) for picking one to explain."""

    def __init__(self, headers: list[str], columns: list[np.ndarray], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._headers = headers
        self._columns = columns
        self._n = len(columns[0]) if columns else 0

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._n

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._headers)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return value_text(self._columns[index.column()][index.row()])
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() not in TEXT_COLUMNS:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self._headers[section]
        return None


class RowExplainView(QSplitter):
    """Rows on the left; the picked row's contributions on the right. Emits ``row_picked(position)``."""

    row_picked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.rows_view = QTableView()
        self.rows_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.rows_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.rows_view.verticalHeader().hide()
        self.rows_view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.rows_label = QLabel(self.tr("Pick a row to see which inputs pushed its prediction up or down."))
        self.rows_label.setWordWrap(True)
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(self.rows_label)
        ll.addWidget(self.rows_view, 1)
        self.chart = HorizontalBars(self.tr("What moved this prediction"),
                                    self.tr("change against a typical value (training median / most frequent)"))
        self.chart.label_limit = 44
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.PlainText)
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(self.chart, 1)
        rl.addWidget(self.text)
        self.addWidget(left)
        self.addWidget(right)
        self.setStretchFactor(0, 2)
        self.setStretchFactor(1, 3)
        self.setSizes([440, 760])

    def show_rows(self, listing: RowsListing) -> None:
        """List the rows and pick the first (which explains it)."""
        last = {"regression": self.tr("error"), "binary": self.tr("p({c})").format(c=listing.positive)}
        headers = [self.tr("data row"), self.tr("actual"), self.tr("predicted"),
                   last.get(listing.kind, self.tr("p(predicted)"))]
        self.rows_view.setModel(RowsModel(headers, listing.columns, self.rows_view))
        self.rows_view.selectionModel().currentRowChanged.connect(lambda cur, _prev: self.row_picked.emit(cur.row()))
        shown = self.tr(" (the first {n:,} shown)").format(n=listing.shown) if listing.shown < listing.total else ""
        self.rows_label.setText(self.tr("The {n:,} evaluated rows{shown}. Pick one to see which inputs pushed its "
                                        "prediction up or down.").format(n=listing.total, shown=shown))
        if listing.shown:
            self.rows_view.selectRow(0)

    def show_explanation(self, c: RowExplanation) -> None:
        names = [f"{col} = {value_text(value)}" for col, value, _ref, _d in c.ranked]
        deltas = np.array([d for *_rest, d in c.ranked])
        self.chart.show_bars(names, deltas, colors=[UP_COLOR if d > 0 else DOWN_COLOR for d in deltas], numbers=True)
        self.chart.plot.getPlotItem().setTitle(
            self.tr("Data row {row}: {out} = {p}").format(row=c.file_row, out=c.output, p=number_text(c.prediction, 3)),
            size="10pt")
        lines = [self.tr("{col}: {v} instead of the typical {ref} moved {out} by {d}").format(
            col=col, v=value_text(v), ref=value_text(ref), out=c.output, d=format_change(d)) for col, v, ref, d in c.top]
        self.text.setText(self.tr("Red bars pushed the prediction up, blue bars down.") + "\n" + "\n".join(lines))

    def show_problem(self, text: str) -> None:
        self.text.setText(text)

    def clear(self) -> None:
        self.chart.clear()
        self.text.clear()
        self.rows_view.setModel(None)
