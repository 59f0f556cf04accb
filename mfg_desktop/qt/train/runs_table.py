"""The runs of this sitting side by side: a table model of the state's rows and the group around it."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from mfg_desktop.qt.train.state import RunRow
from mfg_desktop.qt.train.text import (
    DATA_COLUMN,
    MORE_COLUMN,
    NUMERIC_COLUMNS,
    data_tooltip,
    run_cells,
    run_column_titles,
)

Index = QModelIndex | QPersistentModelIndex
RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
MAX_COLUMN_PX = 260


class RunsTableModel(QAbstractTableModel):
    """One row per run: which data and target, the preset, epochs, validation numbers, outcome."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._titles = run_column_titles()
        self._rows: list[RunRow] = []
        self._cells: list[list[str]] = []

    def set_rows(self, rows: list[RunRow]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self._cells = [run_cells(row) for row in rows]
        self.endResetModel()

    def run_id(self, row: int) -> str:
        return self._rows[row].run_id

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 (Qt's signature)
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._titles)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row, column = index.row(), index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._cells[row][column]
        if role == Qt.ItemDataRole.TextAlignmentRole and column in NUMERIC_COLUMNS:
            return int(RIGHT.value)
        if role == Qt.ItemDataRole.ToolTipRole and column == DATA_COLUMN:
            return data_tooltip(self._rows[row])
        if role == Qt.ItemDataRole.ToolTipRole and column == MORE_COLUMN:
            return self._cells[row][column]  # in full, where the column is too narrow
        if role == Qt.ItemDataRole.UserRole:
            return self._rows[row].run_id
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self._titles[section]
        return None


class RunsView(QGroupBox):
    """The runs table and Save model…; the user's pick of a row goes out as ``row_picked``."""

    row_picked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(self.tr("Runs of this session (select one to evaluate, compare or save it)"), parent)
        self.model = RunsTableModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        # Each column as wide as its text, but no wider than MAX_COLUMN_PX (long file names elide;
        # the tooltip has them all); the validation numbers take what is left, so that the table
        # fits the window without a horizontal scroll bar.
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(MORE_COLUMN, QHeaderView.ResizeMode.Stretch)
        header.setMaximumSectionSize(MAX_COLUMN_PX)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self._selecting = False
        self.save_button = QPushButton(self.tr("Save model…"))
        self.save_button.setEnabled(False)
        buttons = QVBoxLayout()
        buttons.addWidget(self.save_button)
        buttons.addStretch(1)
        layout = QHBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)

    def show_rows(self, rows: list[RunRow], selected: int | None) -> None:
        """Show ``rows`` with row ``selected`` (or none) selected, without announcing a pick."""
        self.model.set_rows(rows)
        self.select(selected)

    def select(self, row: int | None) -> None:
        self._selecting = True
        try:
            self.table.clearSelection()
            if row is not None and 0 <= row < self.model.rowCount():
                self.table.selectRow(row)
        finally:
            self._selecting = False

    def cell(self, row: int, column: int, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """What the table shows at (``row``, ``column``): for scripts and tests."""
        return self.model.index(row, column).data(role)

    def _selection_changed(self, *_args: Any) -> None:
        if self._selecting:
            return
        rows = {index.row() for index in self.table.selectionModel().selectedRows()}
        if len(rows) == 1:
            self.row_picked.emit(rows.pop())
