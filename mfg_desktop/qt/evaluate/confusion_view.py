"""The confusion matrix: rows and share of the actual class per cell, shaded by that share."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QGroupBox, QHeaderView, QLabel, QTableWidgetItem, QVBoxLayout, QWidget

from mfg_desktop.qt.evaluate.metrics_view import read_only_table
from mfg_desktop.qt.evaluate.state import confusion_cell
from mfg_desktop.qt.evaluate.text import short

if TYPE_CHECKING:
    from mfg_desktop.core.evaluate import Confusion

NUMBERED_ABOVE = 3  # more classes than this: number the columns so their headers stay readable


class ConfusionBox(QGroupBox):
    """Actual classes down, predicted classes across."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTitle(self.tr("Confusion matrix"))
        self.table = read_only_table(0, 0)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.caption = QLabel(self.tr("Rows: actual class. Columns: predicted class. "
                                      "Each cell: rows, and share of the actual class."))
        self.caption.setWordWrap(True)
        self.caption.setStyleSheet("color: #555;")
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.caption)

    def show_confusion(self, confusion: Confusion) -> None:
        table = self.table
        labels = confusion.labels
        k = len(labels)
        table.setRowCount(k)
        table.setColumnCount(k)
        if k > NUMBERED_ABOVE:
            table.setHorizontalHeaderLabels([self.tr("→ {i}").format(i=i + 1) for i in range(k)])
            table.setVerticalHeaderLabels([f"{i + 1}. {short(x, 22)}" for i, x in enumerate(labels)])
            for i, x in enumerate(labels):
                table.horizontalHeaderItem(i).setToolTip(self.tr("predicted {c}").format(c=x))
        else:
            table.setHorizontalHeaderLabels([self.tr("→ {c}").format(c=short(x, 18)) for x in labels])
            table.setVerticalHeaderLabels([short(x, 18) for x in labels])
        shares = confusion.shares
        for i in range(k):
            for j in range(k):
                style = confusion_cell(int(confusion.counts[i, j]), float(shares[i, j]), i == j)
                item = QTableWidgetItem(style.text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                item.setBackground(QColor(*style.rgba))
                if style.light_text:
                    item.setForeground(QColor("white"))
                table.setItem(i, j, item)

    def clear(self) -> None:
        self.table.setRowCount(0)
        self.table.setColumnCount(0)
