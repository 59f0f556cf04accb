"""The Table tab: every row of the loaded data, with type words in the header and row numbers."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, QSize, Qt, Signal, Slot
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

MAX_COLUMN_WIDTH = 320


class RowNumberHeader(QHeaderView):
    """Vertical header sized for the row numbers of the whole frame, not measured section by section.

    QHeaderView's own size hint asks the model for the header data of a few hundred rows again
    after every fetchMore; the numbers' width is known from the frame's row count.
    """

    def __init__(self, parent=None) -> None:
        super().__init__(Qt.Orientation.Vertical, parent)
        self.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.setDefaultAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self._digits = 1

    def set_total_rows(self, rows: int) -> None:
        self._digits = len(str(max(rows, 1)))
        self.updateGeometry()

    def sizeHint(self) -> QSize:
        return QSize(self.fontMetrics().horizontalAdvance("0" * self._digits) + 14, self.defaultSectionSize())


class DataTableView(QTableView):
    """Shows a frame through a :class:`~mfg_desktop.qt.table_model.DataFrameModel`; tells which column is current."""

    column_selected = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.table_model: Any = None
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        header = self.horizontalHeader()
        header.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)  # no sort of a million rows at load
        header.setMaximumSectionSize(MAX_COLUMN_WIDTH)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        vertical = RowNumberHeader(self)
        self.setVerticalHeader(vertical)
        vertical.setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.setSortingEnabled(True)

    def set_frame(self, frame: Any) -> None:
        from mfg_desktop.qt.table_model import DataFrameModel

        old = self.table_model
        self.table_model = DataFrameModel(frame, parent=self)
        self.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.setModel(self.table_model)
        self.verticalHeader().set_total_rows(len(frame))
        if old is not None:
            old.deleteLater()
        self.fit_columns()
        self.selectionModel().currentColumnChanged.connect(self._current_column_changed)

    def set_column_kinds(self, kinds: dict[str, str]) -> None:
        if self.table_model is not None:
            self.table_model.set_column_kinds(kinds)
            self.fit_columns()  # the header's type words changed

    def fit_columns(self) -> None:
        header = self.horizontalHeader()
        for column, width in enumerate(self.table_model.column_widths(header.fontMetrics())):
            header.resizeSection(column, width)

    @Slot(QModelIndex, QModelIndex)
    def _current_column_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid() and self.table_model is not None:
            self.column_selected.emit(self.table_model.column_name(current.column()))
