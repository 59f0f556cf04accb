"""The label rule of a sensor-history set-up: the data's target, remaining useful life (capped),
"fails within N", or a column of a label table joined onto the entities; with the curve of the
built label for one entity of the user's choice."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QWidget,
)

from mfg_desktop.core.errors import MfgError
from mfg_desktop.core.history import SOURCE_FILE
from mfg_desktop.qt.context import data_file_filters
from mfg_desktop.qt.plots import plot_widget
from mfg_desktop.qt.prepare.history_state import (
    DEFAULT_FAILS_WITHIN,
    DEFAULT_RUL_CAP,
    LABEL_FAILS,
    LABEL_JOIN,
    LABEL_RUL,
    LABEL_TARGET,
    HistoryChoices,
    history_key_options,
    label_curve,
)
from mfg_desktop.qt.prepare.text import HINT_STYLE
from mfg_desktop.qt.settings import dialog_folder, remember_folder

CURVE_HEIGHT = 130


def _compact(combo: QComboBox) -> QComboBox:
    # long column names must not make the side panel wider than the window
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(8)
    return combo


class LabelRuleView(QWidget):
    """Rows of the history form for the label; ``edited`` fires on every change.

    ``table_chosen(path)`` asks the owner to read the label table's columns (on a worker);
    :meth:`set_table_columns` fills the key and target boxes with them."""

    edited = Signal()
    table_chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rule = _compact(QComboBox())
        for label, value in (
            (self.tr("The data's target"), LABEL_TARGET),
            (self.tr("Remaining useful life (RUL)"), LABEL_RUL),
            (self.tr("Fails within N (yes/no)"), LABEL_FAILS),
            (self.tr("A column of a label table (join)"), LABEL_JOIN),
        ):
            self.rule.addItem(label, value)
        self.cap_check = QCheckBox(self.tr("Cap at"))
        self.cap_check.setChecked(True)
        self.cap_check.setToolTip(self.tr("Piecewise-linear: a young machine's remaining life is not known "
                                          "beyond the cap, so it is learned as the cap."))
        self.cap = QDoubleSpinBox()
        self.cap.setRange(1, 1_000_000)
        self.cap.setDecimals(0)
        self.cap.setValue(DEFAULT_RUL_CAP)
        cap_row = QHBoxLayout()
        cap_row.addWidget(self.cap_check)
        cap_row.addWidget(self.cap)
        cap_row.addStretch(1)
        self.fails = QDoubleSpinBox()
        self.fails.setRange(0.001, 1_000_000)
        self.fails.setDecimals(0)
        self.fails.setValue(DEFAULT_FAILS_WITHIN)
        self.fails.setToolTip(self.tr("1 where the entity's last row is at most N cycles (rows, or hours "
                                      "for a timestamp order) away, else 0."))

        self.table_label = QLabel(self.tr("no table chosen"))
        self.table_label.setStyleSheet(HINT_STYLE)
        self.table_button = QPushButton(self.tr("Browse…"))
        self.table_button.clicked.connect(self._choose_table)
        table_row = QHBoxLayout()
        table_row.addWidget(self.table_label, 1)
        table_row.addWidget(self.table_button)
        self.table_key = _compact(QComboBox())
        self.history_key = _compact(QComboBox())
        self.join_target = _compact(QComboBox())
        self.table_path: str | None = None

        self.curve_entity = _compact(QComboBox())
        self.curve = plot_widget("", self.tr("label"), self.tr("order"))
        self.curve.setFixedHeight(CURVE_HEIGHT)
        self.curve_line = self.curve.getPlotItem().plot([], [], pen={"color": "#2f5f91", "width": 2})
        self.curve_status = QLabel()
        self.curve_status.setWordWrap(True)
        self.curve_status.setStyleSheet(HINT_STYLE)

        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow(self.tr("Label"), self.rule)
        form.addRow(self.tr("RUL"), cap_row)
        form.addRow(self.tr("N"), self.fails)
        form.addRow(self.tr("Table"), table_row)
        form.addRow(self.tr("Table key"), self.table_key)
        form.addRow(self.tr("History key"), self.history_key)
        form.addRow(self.tr("Target column"), self.join_target)
        form.addRow(self.tr("Curve of"), self.curve_entity)
        form.addRow(self.curve)
        form.addRow(self.curve_status)
        self._form = form
        self._cap_row = cap_row
        self._table_row = table_row
        self._frame: Any = None
        self._entity: str | None = None
        self._choices: HistoryChoices | None = None

        self.rule.currentIndexChanged.connect(self._rule_changed)
        self.cap_check.toggled.connect(self.cap.setEnabled)
        for signal in (self.cap_check.toggled, self.cap.valueChanged, self.fails.valueChanged,
                       self.table_key.currentIndexChanged, self.history_key.currentIndexChanged,
                       self.join_target.currentIndexChanged):
            signal.connect(lambda *_a: self.edited.emit())
        self.curve_entity.currentIndexChanged.connect(lambda _i: self.draw_curve())
        self._rule_changed()

    # -- what the form says -----------------------------------------------------------------------
    def fill(self, choices: HistoryChoices) -> None:
        """Write the rule's part of ``choices`` (the form is the source of truth)."""
        choices.label = self.rule.currentData()
        choices.rul_cap = self.cap.value() if self.cap_check.isChecked() else None
        choices.fails_within = self.fails.value()
        choices.join_path = self.table_path
        choices.join_key = self.table_key.currentData()
        choices.history_key = self.history_key.currentData()
        choices.join_target = self.join_target.currentData()

    def set_rule(self, rule: str) -> None:
        self.rule.setCurrentIndex(self.rule.findData(rule))

    def set_label_numbers(self, rul_cap: float | None, fails_within: float) -> None:
        """The cap (None: no cap) and the N of "fails within N", as the user would set them."""
        self.cap_check.setChecked(rul_cap is not None)
        if rul_cap is not None:
            self.cap.setValue(rul_cap)
        self.fails.setValue(fails_within)

    def set_join(self, table_key: str | None, history_key: str | None, target: str | None) -> None:
        """The join's keys and target column (those the table and the data have)."""
        for combo, value in ((self.table_key, table_key), (self.history_key, history_key),
                             (self.join_target, target)):
            if combo.findData(value) >= 0:
                combo.setCurrentIndex(combo.findData(value))

    def set_history_columns(self, columns: list[str]) -> None:
        """The loaded columns a join's history key may be (the file name's number first)."""
        self.history_key.blockSignals(True)
        self.history_key.clear()
        for column in history_key_options(columns):
            label = self.tr("number in the file name") if column == SOURCE_FILE else column
            self.history_key.addItem(label, column)
        self.history_key.blockSignals(False)

    def set_table(self, path: str) -> None:
        """Use ``path`` as the label table (for scripts and tests; the dialog ends here too)."""
        from pathlib import Path

        self.table_path = str(path)
        self.table_label.setText(Path(path).name)
        self.table_label.setToolTip(str(path))
        self.table_chosen.emit(str(path))

    def set_table_columns(self, columns: list[str]) -> None:
        """The label table was read: its key is likely its first column, its target the last."""
        for combo, pick in ((self.table_key, 0), (self.join_target, len(columns) - 1)):
            combo.blockSignals(True)
            combo.clear()
            for column in columns:
                combo.addItem(column, column)
            combo.setCurrentIndex(pick)
            combo.blockSignals(False)
        self.edited.emit()

    def set_entities(self, frame: Any, entity: str | None, values: list[Any]) -> None:
        """The entities whose label curve can be shown."""
        self._frame, self._entity = frame, entity
        self.curve_entity.blockSignals(True)
        self.curve_entity.clear()
        for value in values:
            self.curve_entity.addItem(self.tr("{column} = {value}").format(column=self._entity, value=value), value)
        self.curve_entity.blockSignals(False)

    def show_choices(self, choices: HistoryChoices) -> None:
        """Redraw the label curve for the form's current choices."""
        self._choices = choices
        self.draw_curve()

    # -- the curve ------------------------------------------------------------------------------
    def draw_curve(self) -> None:
        choices = self._choices
        builds = choices is not None and choices.label in (LABEL_RUL, LABEL_FAILS)
        self._form.setRowVisible(self.curve_entity, builds)
        self._form.setRowVisible(self.curve, builds)
        if not builds or self._frame is None or self.curve_entity.count() == 0:
            self.curve_line.setData([], [])
            self.curve_status.setText("")
            return
        try:
            x, y = label_curve(self._frame, choices, self.curve_entity.currentData())
        except MfgError as exc:
            self.curve_line.setData([], [])
            self.curve_status.setText(str(exc))
            return
        self.curve_line.setData(x, y)
        item = self.curve.getPlotItem()
        item.setLabel("bottom", choices.order or self.tr("row in the history"))
        item.setLabel("left", choices.spec().label_column)
        self.curve_status.setText(self.tr("{n} rows of {entity}; the label of its first row is {first:g}.").format(
            n=len(x), entity=self.curve_entity.currentText(), first=float(y[0]) if len(y) else 0.0))

    # -- slots ----------------------------------------------------------------------------------
    @Slot()
    def _rule_changed(self, *_args: Any) -> None:
        rule = self.rule.currentData()
        self._form.setRowVisible(self._cap_row, rule == LABEL_RUL)
        self._form.setRowVisible(self.fails, rule == LABEL_FAILS)
        for row in (self._table_row, self.table_key, self.history_key, self.join_target):
            self._form.setRowVisible(row, rule == LABEL_JOIN)
        self.edited.emit()

    def _choose_table(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, self.tr("Label table"), dialog_folder(), data_file_filters())
        if path:
            remember_folder(path)
            self.set_table(path)
