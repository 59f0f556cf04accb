"""The Prepare step's split form: random, ordered by a time column or grouped, and the three shares."""

from __future__ import annotations

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QWidget

from mfg_desktop.core.errors import MfgError
from mfg_desktop.core.split import SplitSpec
from mfg_desktop.qt.prepare.state import PrepareState, split_spec
from mfg_desktop.qt.prepare.text import ERROR_STYLE, LEAK_COLOR, OK_STYLE, split_text


def _share_box(value: float) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(0.0, 1.0)
    box.setSingleStep(0.05)
    box.setDecimals(2)
    box.setValue(value)
    return box


class SplitView(QGroupBox):
    """How rows are split into training, validation and test rows; ``edited`` carries the valid
    :class:`SplitSpec` after every change, or None (with the reason shown) while it is not valid."""

    edited = Signal(object)  # SplitSpec | None

    def __init__(self, state: PrepareState, parent: QWidget | None = None) -> None:
        super().__init__(self.tr("Split into training, validation and test rows"), parent)
        self.state = state
        self.split_method = QComboBox()
        self.split_method.addItem(self.tr("Random, stratified by class"), "random")
        self.split_method.addItem(self.tr("Ordered by a time column (no future rows in training)"), "time")
        self.split_method.addItem(self.tr("Grouped by a column (e.g. machine or batch id)"), "group")
        self.split_column = QComboBox()
        for combo in (self.split_method, self.split_column):
            # Long entries must not make the side panel wider than the window.
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(16)
        self.train_share = _share_box(0.70)
        self.valid_share = _share_box(0.15)
        self.test_share = _share_box(0.15)
        shares = QHBoxLayout()
        for label, box in (
            (self.tr("training"), self.train_share),
            (self.tr("validation"), self.valid_share),
            (self.tr("test"), self.test_share),
        ):
            shares.addWidget(QLabel(label))
            shares.addWidget(box)
        shares.addStretch(1)
        self.split_status = QLabel()
        self.split_status.setWordWrap(True)
        self.time_warning = QLabel()
        self.time_warning.setWordWrap(True)
        self.time_warning.setStyleSheet(f"color: {LEAK_COLOR};")
        self.time_columns: list[str] = []
        form = QFormLayout(self)
        form.addRow(self.tr("Method"), self.split_method)
        form.addRow(self.tr("Column"), self.split_column)
        form.addRow(self.tr("Shares"), shares)
        form.addRow(self.split_status)
        form.addRow(self.time_warning)
        self._form = form
        form.setRowVisible(self.split_column, False)
        form.setRowVisible(self.time_warning, False)
        self.split_method.currentIndexChanged.connect(self._method_changed)
        self.split_column.currentIndexChanged.connect(lambda _i: self._edited())
        for box in (self.train_share, self.valid_share, self.test_share):
            box.valueChanged.connect(lambda _v: self._edited())

    def fill_columns(self) -> None:
        """Offer the columns a time or group split may use (a new target was analysed)."""
        self.split_column.blockSignals(True)
        self.split_column.clear()
        for column in self.state.split_candidates():
            self.split_column.addItem(column, column)
        self.split_column.blockSignals(False)
        self._choose_column()
        self._edited()

    def _choose_column(self) -> None:
        names = [self.split_column.itemData(i) for i in range(self.split_column.count())]
        preferred = self.state.suggest_split_column(self.split_method.currentData(), names)
        if preferred is not None:
            self.split_column.setCurrentIndex(self.split_column.findData(preferred))

    @Slot(int)
    def _method_changed(self, _index: int) -> None:
        self._form.setRowVisible(self.split_column, self.split_method.currentData() != "random")
        self._choose_column()
        self._edited()

    def set_split(
        self,
        method: str,
        column: str | None = None,
        train: float | None = None,
        valid: float | None = None,
        test: float | None = None,
    ) -> None:
        """Set the split as the user would on the form (for scripts and tests)."""
        self.split_method.setCurrentIndex(self.split_method.findData(method))
        if column is not None:
            self.split_column.setCurrentIndex(self.split_column.findData(column))
        for box, value in ((self.train_share, train), (self.valid_share, valid), (self.test_share, test)):
            if value is not None:
                box.setValue(value)

    def current_split(self) -> SplitSpec | None:
        """The split the form describes, or None (with the reason shown) when it is not valid."""
        try:
            spec = split_spec(
                self.split_method.currentData(),
                self.split_column.currentData(),
                self.train_share.value(),
                self.valid_share.value(),
                self.test_share.value(),
            )
        except MfgError as exc:
            self.split_status.setStyleSheet(ERROR_STYLE)
            self.split_status.setText(str(exc))
            return None
        self.split_status.setStyleSheet(OK_STYLE)
        self.split_status.setText(split_text(spec, self.state.task))
        return spec

    def set_time_columns(self, columns: list[str]) -> None:
        """Columns that say the rows are in time order (timestamps, a cycle counter within each
        machine): a random split of such rows is warned about."""
        self.time_columns = list(columns)
        self._show_time_warning()

    def _show_time_warning(self) -> None:
        random = self.split_method.currentData() == "random"
        shown = random and bool(self.time_columns)
        if shown:
            self.time_warning.setText(self.tr(
                "⚠ The rows look ordered in time ({columns}): a random split puts the neighbours of each test "
                "row into training, so the test score is too good. Split by time or by machine instead."
            ).format(columns=", ".join(self.time_columns[:3])))
        self._form.setRowVisible(self.time_warning, shown)

    def _edited(self) -> None:
        self._show_time_warning()
        self.edited.emit(self.current_split())
