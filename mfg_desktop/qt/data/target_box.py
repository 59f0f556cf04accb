"""The target box: what should the model predict, what task that makes, its class balance and leaks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from mfg_desktop.qt.data.state import TargetOption, balance_rows
from mfg_desktop.qt.data.text import choose_target_hint, option_label, report_html, suggested_hint, task_html

if TYPE_CHECKING:
    from mfg_desktop.core.profile import TargetReport

RARE_BRUSH = QColor(255, 236, 204)
BALANCE_ROWS_VISIBLE = 6


class TargetBox(QGroupBox):
    """The target picker and the target's report. The user's pick goes out as ``target_chosen``."""

    target_chosen = Signal(object)  # str | list[str] | None
    positive_chosen = Signal(object)  # binary targets: the value to detect

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(self.tr("Target: what should the model predict?"), parent)
        self.target_combo = QComboBox()
        self.target_combo.setMinimumContentsLength(24)
        self.target_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.target_combo.activated.connect(self._activated)
        self.suggestion_label = QLabel(suggested_hint())
        self.suggestion_label.setWordWrap(True)
        self.suggestion_label.setStyleSheet("color: #666;")
        self.suggestion_label.hide()
        self.task_label = QLabel()
        self.task_label.setWordWrap(True)
        # binary targets: which outcome the model detects (recall, the threshold and p(...) are about it)
        self.positive_label = QLabel(self.tr("Outcome to detect:"))
        self.positive_combo = QComboBox()
        self.positive_combo.setToolTip(self.tr(
            "The class the model looks for: recall, the decision threshold and the probability column are "
            "about it. Suggested: the value that reads as bad (fail, NG, worn, 不合格), else the rarer one."))
        self.positive_combo.activated.connect(
            lambda index: self.positive_chosen.emit(self.positive_combo.itemData(index)))
        positive_row = QHBoxLayout()
        positive_row.addWidget(self.positive_label)
        positive_row.addWidget(self.positive_combo, 1)
        self.balance_table = QTableWidget(0, 3)
        self.balance_table.setHorizontalHeaderLabels([self.tr("Class"), self.tr("Rows"), self.tr("Share")])
        self.balance_table.verticalHeader().hide()
        self.balance_table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.balance_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.leak_view = QTextBrowser()
        self.leak_view.setOpenLinks(False)
        layout = QVBoxLayout(self)
        layout.addWidget(self.target_combo)
        layout.addWidget(self.suggestion_label)
        layout.addWidget(self.task_label)
        layout.addLayout(positive_row)
        layout.addWidget(self.balance_table)
        layout.addWidget(self.leak_view, 1)
        self.balance_table.hide()
        self.leak_view.hide()
        self._show_positive([], None)

    # -- the picker -----------------------------------------------------------------------------
    def set_profiling(self) -> None:
        self.target_combo.clear()
        self.target_combo.addItem(self.tr("profiling the data…"))
        self.target_combo.setEnabled(False)
        self.suggestion_label.hide()

    def set_options(self, options: list[TargetOption], current: Any) -> None:
        combo = self.target_combo
        combo.clear()
        combo.addItem(self.tr("— choose the column to predict —"), None)
        groups = [o for o in options if o.is_group]
        for option in groups:
            combo.addItem(option_label(option), option.target)
            combo.setItemData(combo.count() - 1, ", ".join(option.columns), Qt.ItemDataRole.ToolTipRole)
        if groups:
            combo.insertSeparator(combo.count())
        for option in options:
            if not option.is_group:
                combo.addItem(option_label(option), option.target)
        combo.setEnabled(True)
        if current is not None:
            self.select(current)

    def options(self) -> list[tuple[str, Any]]:
        """(label, target) pairs offered; target is a name or a list of names."""
        combo = self.target_combo
        return [(combo.itemText(i), combo.itemData(i)) for i in range(combo.count()) if combo.itemData(i) is not None]

    def select(self, target: Any) -> None:
        """Show ``target`` as chosen (the placeholder for None, or when it is not offered)."""
        index = self.target_combo.findData(target) if target is not None else 0
        self.target_combo.setCurrentIndex(max(index, 0))

    def set_suggested(self, suggested: bool) -> None:
        self.suggestion_label.setVisible(suggested)

    @Slot(int)
    def _activated(self, index: int) -> None:
        self.target_chosen.emit(self.target_combo.itemData(index))

    # -- the report -----------------------------------------------------------------------------
    def set_analysing(self) -> None:
        self.task_label.setText(self.tr("Analysing the target and looking for leaks…"))

    def set_failed(self) -> None:
        self.task_label.setText(self.tr("This target cannot be used: see the message above."))

    def _show_positive(self, classes: list[Any], chosen: Any) -> None:
        """Binary: offer both values, the chosen one (else the app's pick, ``classes[1]``) first."""
        combo = self.positive_combo
        combo.clear()
        if len(classes) == 2:
            suggested = classes[1]
            for value in (suggested, classes[0]):
                text = str(value) if value != suggested else self.tr("{value} (suggested)").format(value=value)
                combo.addItem(text, value)
            combo.setCurrentIndex(max(combo.findData(chosen), 0) if chosen is not None else 0)
        self.positive_label.setVisible(len(classes) == 2)
        combo.setVisible(len(classes) == 2)

    def select_positive(self, value: Any) -> None:
        """Show ``value`` as the outcome to detect (None: the suggested one)."""
        index = self.positive_combo.findData(value) if value is not None else 0
        self.positive_combo.setCurrentIndex(max(index, 0))

    def show_report(self, report: TargetReport | None, target: Any, positive: Any = None) -> None:
        self._show_positive(report.binary_classes if report is not None else [], positive)
        if report is None:
            if target is None:
                self.task_label.setText(choose_target_hint())
            self.balance_table.hide()
            self.leak_view.hide()
            self.leak_view.clear()
            return
        self.task_label.setText(task_html(report))
        self._fill_balance(report)
        self.leak_view.setHtml(report_html(report))
        self.leak_view.show()

    def _fill_balance(self, report: TargetReport) -> None:
        rows = balance_rows(report)
        table = self.balance_table
        table.setRowCount(len(rows))
        for row, balance in enumerate(rows):
            items = [QTableWidgetItem(balance.label), QTableWidgetItem(f"{balance.count:,}"),
                     QTableWidgetItem(f"{balance.share:.1%}")]
            for column, item in enumerate(items):
                if column:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if balance.rare:  # a rare class: the reason accuracy is misleading
                    item.setBackground(RARE_BRUSH)
                table.setItem(row, column, item)
        table.resizeColumnsToContents()
        table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        shown_rows = min(len(rows), BALANCE_ROWS_VISIBLE)
        table.setFixedHeight(
            table.horizontalHeader().height() + shown_rows * table.verticalHeader().defaultSectionSize() + 4)
        table.setVisible(bool(rows))
