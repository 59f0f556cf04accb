"""The Prepare step's derived columns: a formula checked as it is typed, and the list of those added."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from mfg_desktop.core.errors import MfgError
from mfg_desktop.qt.prepare.state import PrepareState
from mfg_desktop.qt.prepare.text import (
    ERROR_STYLE,
    HINT_STYLE,
    OK_STYLE,
    formula_hint,
    formula_in_use,
    formula_ok,
)


class FormulaEditor(QGroupBox):
    """``NAME = FORMULA`` lines, parsed by core (never run as Python) into the state's derived columns.

    ``derived_changed`` fires after a column was added or removed (the recipe is proposed again).
    """

    derived_changed = Signal()

    def __init__(self, state: PrepareState, parent: QWidget | None = None) -> None:
        super().__init__(self.tr("Derived columns"), parent)
        self.state = state
        self.formula_edit = QLineEdit()
        self.formula_edit.setPlaceholderText(
            self.tr('NAME = FORMULA, e.g. dT = "Process temperature [K]" - "Air temperature [K]"')
        )
        self.formula_edit.textChanged.connect(self._formula_edited)
        self.formula_edit.returnPressed.connect(self._add_clicked)
        self.add_formula_button = QPushButton(self.tr("Add"))
        self.add_formula_button.setEnabled(False)
        self.add_formula_button.clicked.connect(self._add_clicked)
        self.formula_status = QLabel()
        self.formula_status.setWordWrap(True)
        self.formula_status.setTextFormat(Qt.TextFormat.PlainText)
        self.derived_list = QListWidget()
        self.derived_list.setMaximumHeight(84)
        self.remove_formula_button = QPushButton(self.tr("Remove"))
        self.remove_formula_button.setEnabled(False)
        self.remove_formula_button.clicked.connect(self._remove_clicked)
        self.derived_list.currentRowChanged.connect(
            lambda row: self.remove_formula_button.setEnabled(row >= 0)
        )
        edit_row = QHBoxLayout()
        edit_row.addWidget(self.formula_edit, 1)
        edit_row.addWidget(self.add_formula_button)
        list_row = QHBoxLayout()
        list_row.addWidget(self.derived_list, 1)
        list_row.addWidget(self.remove_formula_button, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.addLayout(edit_row)
        layout.addWidget(self.formula_status)
        layout.addLayout(list_row)
        self._formula_edited("")

    def clear(self) -> None:
        """New data: no derived columns and nothing typed (the state has dropped its columns)."""
        self.derived_list.clear()
        self.formula_edit.clear()

    def is_valid(self) -> bool:
        """Whether the formula typed so far can be added."""
        return self.add_formula_button.isEnabled()

    def _show(self, style: str, text: str) -> None:
        self.formula_status.setStyleSheet(style)
        self.formula_status.setText(text)

    @Slot(str)
    def _formula_edited(self, text: str) -> None:
        self.add_formula_button.setEnabled(False)
        if not text.strip():
            self._show(HINT_STYLE, formula_hint())
            return
        try:
            derived = self.state.check_formula(text)
        except MfgError as exc:
            self._show(ERROR_STYLE, str(exc))
            return
        self._show(OK_STYLE, formula_ok(derived))
        self.add_formula_button.setEnabled(True)

    @Slot()
    def _add_clicked(self) -> None:
        self.add_derived(self.formula_edit.text())

    def add_derived(self, text: str) -> bool:
        """Add ``NAME = FORMULA`` as a derived column (False, with the reason shown, if it is unusable)."""
        try:
            derived = self.state.add_derived(text)
        except MfgError as exc:
            self._show(ERROR_STYLE, str(exc))
            return False
        self.derived_list.addItem(derived.text)
        self.formula_edit.clear()
        self.derived_changed.emit()
        return True

    @Slot()
    def _remove_clicked(self) -> None:
        row = self.derived_list.currentRow()
        if row >= 0:
            self.remove_derived(self.state.derived[row].name)

    def remove_derived(self, name: str) -> bool:
        """Remove a derived column (False, with the reason shown, while another one uses it)."""
        users = self.state.users_of(name)
        if users:
            self._show(ERROR_STYLE, formula_in_use(name, users))
            return False
        self.derived_list.takeItem(self.state.remove_derived(name))
        self.derived_changed.emit()
        return True
