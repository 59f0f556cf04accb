"""The scored rows as a table model: flagged rows (binary: at or above the threshold) and rejected rows stand out."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QFont

from mfg_desktop.qt.table_model import DataFrameModel

FLAG_BRUSH = QBrush(QColor(253, 221, 214))
REJECTED_BRUSH = QBrush(QColor(255, 244, 214))


class ScoredRowsModel(DataFrameModel):
    """A scored-rows frame; ``flag_column`` == 1 marks a flagged row, a value in ``rejected_column`` a rejected one."""

    def __init__(self, frame, flag_column: str | None, rejected_column: str | None, parent=None) -> None:
        super().__init__(frame, parent=parent)
        self._flags = frame[flag_column].fillna(0).to_numpy() if flag_column in frame.columns else None
        self._rejected = frame[rejected_column].notna().to_numpy() if rejected_column in frame.columns else None
        self._bold = QFont()
        self._bold.setBold(True)

    def is_flagged(self, row: int) -> bool:
        return self._flags is not None and bool(self._flags[self.source_row(row)] == 1)

    def is_rejected(self, row: int) -> bool:
        return self._rejected is not None and bool(self._rejected[self.source_row(row)])

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.BackgroundRole and index.isValid():
            if self.is_flagged(index.row()):
                return FLAG_BRUSH
            if self.is_rejected(index.row()):
                return REJECTED_BRUSH
        if role == Qt.ItemDataRole.FontRole and index.isValid() and self.is_flagged(index.row()):
            return self._bold
        return super().data(index, role)
