"""The Prepare step's column table: which columns are inputs and how each one is prepared."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, Qt, Signal, Slot
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QGroupBox,
    QHeaderView,
    QLabel,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionComboBox,
    QStyleOptionViewItem,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from mfg_desktop.qt.prepare.state import PrepareState, field_options
from mfg_desktop.qt.prepare.text import HINT_STYLE, LEAK_COLOR, reason_html, reason_text, value_label

COL_NAME, COL_ROLE, COL_IMPUTE, COL_SCALE, COL_ENCODE, COL_REASON = range(6)
FIELD_OF_COLUMN = {COL_ROLE: "role", COL_IMPUTE: "impute", COL_SCALE: "scale", COL_ENCODE: "encode"}
VALUE = Qt.ItemDataRole.UserRole
LEAK_BACKGROUND = QColor("#fff1dc")
DROPPED_FOREGROUND = QColor("#8a8f98")


class ChoiceDelegate(QStyledItemDelegate):
    """A combo box in the role/impute/scale/encode cells; it offers only values that fit the role."""

    def __init__(self, table: InputsTable) -> None:
        super().__init__(table)
        self.inputs = table

    def createEditor(
        self, parent: QWidget, option: QStyleOptionViewItem, index: QModelIndex
    ) -> QWidget | None:
        options = self.inputs.options_at(index.row(), index.column())
        if not options:
            return None
        combo = QComboBox(parent)
        for value in options:
            combo.addItem(value_label(value), value)
        combo.activated.connect(lambda _i, c=combo: self._commit(c))
        return combo

    def _commit(self, combo: QComboBox) -> None:
        self.commitData.emit(combo)
        self.closeEditor.emit(combo)

    def setEditorData(self, editor: QWidget, index: QModelIndex) -> None:
        editor.setCurrentIndex(max(editor.findData(index.data(VALUE)), 0))

    def setModelData(self, editor: QWidget, model: Any, index: QModelIndex) -> None:
        model.setData(index, editor.currentData(), VALUE)

    def paint(self, painter: Any, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        if not index.flags() & Qt.ItemFlag.ItemIsEditable:
            super().paint(painter, option, index)
            return
        # Draw an editable cell as a combo box, so it is plain that it can be changed.
        widget = option.widget
        style = widget.style() if widget is not None else None
        item_option = QStyleOptionViewItem(option)
        self.initStyleOption(item_option, index)
        item_option.text = ""
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, item_option, painter, widget)
        combo = QStyleOptionComboBox()
        combo.rect = option.rect.adjusted(2, 2, -2, -2)
        combo.currentText = str(index.data() or "")
        combo.state = QStyle.StateFlag.State_Enabled
        combo.frame = True
        combo.palette = option.palette
        style.drawComplexControl(QStyle.ComplexControl.CC_ComboBox, combo, painter, widget)
        style.drawControl(QStyle.ControlElement.CE_ComboBoxLabel, combo, painter, widget)


class InputsTable(QGroupBox):
    """One row per column of the state's plans: ticked = input, then role, gaps, scale, encoding, why.

    Edits go into the :class:`PrepareState` at once; ``changed`` then asks for the recipe to be
    published.
    """

    changed = Signal()

    def __init__(self, state: PrepareState, parent: QWidget | None = None) -> None:
        super().__init__(self.tr("Inputs and how each column is prepared"), parent)
        self.state = state
        self._filling = False
        self.table = QTableWidget(0, 6)
        self.table.setHorizontalHeaderLabels(
            [
                self.tr("Column (ticked = input)"),
                self.tr("Use as"),
                self.tr("Fill gaps with"),
                self.tr("Scale"),
                self.tr("Encode"),
                self.tr("Why"),
            ]
        )
        for column, tip in (
            (
                COL_IMPUTE,
                self.tr(
                    "How missing cells are filled (learned from the training rows only); a "
                    "missing-value indicator column is added where gaps were seen"
                ),
            ),
            (
                COL_SCALE,
                self.tr(
                    "standard: (x - mean) / std · min-max: to 0..1 · robust: (x - median) / IQR, "
                    "for columns with outliers"
                ),
            ),
            (
                COL_ENCODE,
                self.tr("one-hot: one 0/1 input per category; categories unseen in training are ignored"),
            ),
        ):
            self.table.horizontalHeaderItem(column).setToolTip(tip)
        self.table.setItemDelegate(ChoiceDelegate(self))
        self.table.setEditTriggers(
            QAbstractItemView.EditTrigger.CurrentChanged
            | QAbstractItemView.EditTrigger.SelectedClicked
            | QAbstractItemView.EditTrigger.DoubleClicked
        )
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() + 14)
        header = self.table.horizontalHeader()
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for column, width in (
            (COL_NAME, 170),
            (COL_ROLE, 98),
            (COL_IMPUTE, 122),
            (COL_SCALE, 108),
            (COL_ENCODE, 84),
        ):
            self.table.setColumnWidth(column, width)
        self.table.itemChanged.connect(self._item_changed)
        self.table.currentCellChanged.connect(lambda row, _c, _r, _pc: self.show_reason(row))
        self.reason_label = QLabel()
        self.reason_label.setWordWrap(True)
        self.reason_label.setTextFormat(Qt.TextFormat.RichText)
        self.reason_label.setMinimumHeight(self.reason_label.fontMetrics().height() * 2 + 6)
        self.table_hint = QLabel(
            self.tr(
                "Tick the columns the model may read; click a setting to change it. Rows marked ⚠ are "
                "suspected leaks (known only with or after the outcome) and start unticked."
            )
        )
        self.table_hint.setWordWrap(True)
        self.table_hint.setStyleSheet(HINT_STYLE)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table_hint)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.reason_label)

    def fill(self) -> None:
        """Rebuild the rows from the state's plans."""
        self._filling = True
        try:
            self.table.clearContents()
            self.table.setRowCount(len(self.state.plans))
            for row, plan in enumerate(self.state.plans):
                name = QTableWidgetItem(plan.name)
                name.setFlags(
                    Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsUserCheckable
                )
                name.setToolTip(plan.name)
                self.table.setItem(row, COL_NAME, name)
                for column in (*FIELD_OF_COLUMN, COL_REASON):
                    self.table.setItem(row, column, QTableWidgetItem())
                self.refresh_row(row)
        finally:
            self._filling = False

    def refresh_row(self, row: int) -> None:
        """Show the plan at ``row`` as it is in the state."""
        plan = self.state.plans[row]
        was_filling, self._filling = self._filling, True
        try:
            used = plan.role != "drop"
            leak = self.state.leaks.get(plan.name)
            name = self.table.item(row, COL_NAME)
            name.setCheckState(Qt.CheckState.Checked if used else Qt.CheckState.Unchecked)
            font = QFont(self.table.font())
            font.setItalic(self.state.is_derived(plan.name))
            name.setFont(font)
            for column, field in FIELD_OF_COLUMN.items():
                item = self.table.item(row, column)
                value = getattr(plan, field)
                applies = bool(field_options(field, plan.role))
                item.setData(VALUE, value if applies else None)
                item.setText(value_label(value) if applies else "—")
                flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                if applies and (field == "role" or used):
                    flags |= Qt.ItemFlag.ItemIsEditable
                item.setFlags(flags)
            reason = self.table.item(row, COL_REASON)
            why = reason_text(plan.reason or "", leak, self.state.is_derived(plan.name))
            reason.setText(why)
            reason.setToolTip(why)
            reason.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
            for column in range(self.table.columnCount()):
                item = self.table.item(row, column)
                item.setBackground(QBrush(LEAK_BACKGROUND) if leak is not None else QBrush())
                if column != COL_REASON or leak is None:
                    item.setForeground(QBrush(DROPPED_FOREGROUND) if not used else QBrush())
            if leak is not None:
                reason.setForeground(QBrush(QColor(LEAK_COLOR)))
        finally:
            self._filling = was_filling

    def show_reason(self, row: int) -> None:
        """The full 'why' of the current row (the table cell is often too narrow for it)."""
        if not 0 <= row < len(self.state.plans):
            self.reason_label.clear()
            return
        name = self.state.plans[row].name
        why = self.table.item(row, COL_REASON).text()
        self.reason_label.setText(reason_html(name, why, name in self.state.leaks))

    def options_at(self, row: int, column: int) -> tuple[str, ...]:
        """Values the cell at (row, column) may take; empty where nothing can be chosen."""
        return self.state.options(row, FIELD_OF_COLUMN.get(column))

    def set_used(self, name: str, used: bool) -> None:
        """Tick (use as input) or untick (leave out) a column."""
        row, changed = self.state.set_used(name, used)
        self.refresh_row(row)
        if changed:
            self.changed.emit()

    def set_plan(self, name: str, **changes: str) -> None:
        """Change a column's settings (role, impute, scale, encode), as the table's editors do."""
        self.refresh_row(self.state.set_plan(name, **changes))
        self.changed.emit()

    @Slot(QTableWidgetItem)
    def _item_changed(self, item: QTableWidgetItem) -> None:
        if self._filling:
            return
        row, column = item.row(), item.column()
        name = self.state.plans[row].name
        if column == COL_NAME:
            self.set_used(name, item.checkState() == Qt.CheckState.Checked)
        elif column in FIELD_OF_COLUMN and item.data(VALUE) is not None:
            self.set_plan(name, **{FIELD_OF_COLUMN[column]: str(item.data(VALUE))})
