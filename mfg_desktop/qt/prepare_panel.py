"""The Prepare step: which columns the model reads and how each is prepared, derived columns,
optional PCA, the split into training/validation/test rows and the class weights.

The proposal and the PCA preview are computed by core on worker threads; every change the user
makes is written into the session at once as a core :class:`Recipe`, :class:`SplitSpec` and
class-weight choice, which the Train step reads.
"""

from __future__ import annotations

import html
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QCoreApplication, QModelIndex, Qt, QTimer, Slot
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QStackedLayout,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionComboBox,
    QStyleOptionViewItem,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from mfg_desktop.core.errors import MfgError
from mfg_desktop.core.formula import DerivedColumn, parse_derived
from mfg_desktop.core.recipe import (
    CATEGORICAL_IMPUTE,
    CLASS_WEIGHT_MINORITY_SHARE,
    ENCODINGS,
    NUMERIC_IMPUTE,
    ROLES,
    SCALES,
    ColumnPlan,
    PcaSettings,
    Recipe,
)
from mfg_desktop.core.split import SplitSpec
from mfg_desktop.core.task import REGRESSION
from mfg_desktop.qt.context import AppContext
from mfg_desktop.qt.live_plots import VarianceChart
from mfg_desktop.qt.workers import Job, run_in_thread

if TYPE_CHECKING:
    from mfg_desktop.core.profile import TargetReport

COL_NAME, COL_ROLE, COL_IMPUTE, COL_SCALE, COL_ENCODE, COL_REASON = range(6)
FIELD_OF_COLUMN = {COL_ROLE: "role", COL_IMPUTE: "impute", COL_SCALE: "scale", COL_ENCODE: "encode"}
COLUMN_OF_FIELD = {v: k for k, v in FIELD_OF_COLUMN.items()}
VALUE = Qt.ItemDataRole.UserRole
LEAK_BACKGROUND = QColor("#fff1dc")
DROPPED_FOREGROUND = QColor("#8a8f98")
OK_STYLE = "color: #1e7b34;"
ERROR_STYLE = "color: #b3261e;"
HINT_STYLE = "color: #666;"
SPLIT_METHODS = ("random", "time", "group")
PCA_DEBOUNCE_MS = 300


def value_label(value: str) -> str:
    """How a recipe value reads in the table ('most_frequent' -> 'most frequent')."""
    tr = QCoreApplication.translate
    return {
        "numeric": tr("PreparePanel", "number"),
        "categorical": tr("PreparePanel", "category"),
        "datetime": tr("PreparePanel", "date/time"),
        "drop": tr("PreparePanel", "not used"),
        "median": tr("PreparePanel", "median"),
        "mean": tr("PreparePanel", "mean"),
        "most_frequent": tr("PreparePanel", "most frequent"),
        "constant": tr("PreparePanel", "constant"),
        "none": tr("PreparePanel", "none"),
        "standard": tr("PreparePanel", "standard"),
        "minmax": tr("PreparePanel", "min-max"),
        "robust": tr("PreparePanel", "robust"),
        "onehot": tr("PreparePanel", "one-hot"),
    }.get(value, value)


def field_options(field: str, role: str) -> tuple[str, ...]:
    """The values a cell may take for a column of ``role`` (empty: the setting does not apply)."""
    if field == "role":
        return ROLES
    if role == "drop":
        return ()
    if field == "impute":
        return CATEGORICAL_IMPUTE if role == "categorical" else NUMERIC_IMPUTE
    if field == "scale":
        return () if role == "categorical" else SCALES
    if field == "encode":
        return ENCODINGS if role == "categorical" else ()
    return ()


def _fit_to_role(plan: ColumnPlan) -> ColumnPlan:
    """Make the other settings valid for the plan's role after the role changed."""
    if plan.role == "categorical" and plan.impute not in CATEGORICAL_IMPUTE:
        plan = replace(plan, impute="most_frequent")
    if plan.role in ("numeric", "datetime") and plan.impute not in NUMERIC_IMPUTE:
        plan = replace(plan, impute="median")
    if plan.role in ("numeric", "datetime") and plan.scale not in SCALES:
        plan = replace(plan, scale="standard")
    if plan.role == "categorical" and plan.encode not in ENCODINGS:
        plan = replace(plan, encode=ENCODINGS[0])
    return plan


# -- jobs (worker threads) ------------------------------------------------------------------------
def _propose_job(
    frame, target, derived, leaks: dict[str, str], state
) -> tuple[Recipe, dict[str, ColumnPlan]]:
    """The proposed recipe, and for each leak suspect the plan it would get if it were not one."""
    from mfg_desktop.core.recipe import propose_recipe
    from mfg_desktop.core.task import target_columns

    recipe = propose_recipe(frame, target, derived=derived, leak_suspects=leaks)
    state.check_cancelled()
    natural: dict[str, ColumnPlan] = {}
    suspects = [c for c in leaks if c in frame.columns]
    if suspects:
        targets = target_columns(target, [str(c) for c in frame.columns])
        natural = {p.name: p for p in propose_recipe(frame[targets + suspects], target).columns}
    return recipe, natural


def _pca_job(frame, recipe: Recipe, split_spec: SplitSpec, state) -> np.ndarray:
    """Explained-variance shares of the recipe's features, fitted on the training rows only."""
    from mfg_desktop.core.recipe import pca_variance_curve
    from mfg_desktop.core.split import make_split
    from mfg_desktop.core.task import detect_task, target_series

    y_all = target_series(frame, recipe.target)
    labelled = np.flatnonzero(y_all.notna().to_numpy())
    rows, y = frame.iloc[labelled], y_all.iloc[labelled]
    split = make_split(rows, y, split_spec, recipe.task or detect_task(y))
    state.check_cancelled()
    return pca_variance_curve(recipe, rows.iloc[split.train])


# -- the column table's editors ---------------------------------------------------------------------
class ChoiceDelegate(QStyledItemDelegate):
    """A combo box in the role/impute/scale/encode cells; it offers only values that fit the role."""

    def __init__(self, panel: PreparePanel) -> None:
        super().__init__(panel)
        self.panel = panel

    def createEditor(
        self, parent: QWidget, option: QStyleOptionViewItem, index: QModelIndex
    ) -> QWidget | None:
        options = self.panel.options_at(index.row(), index.column())
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


# -- the panel ------------------------------------------------------------------------------------
class PreparePanel(QWidget):
    """Page of the Prepare step. Observes ``window.session`` and writes the preparation into it."""

    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.session = ctx.session
        self.plans: list[ColumnPlan] = []
        self.leaks: dict[str, str] = {}
        self.natural: dict[str, ColumnPlan] = {}
        self.derived: list[DerivedColumn] = []
        self.task: str | None = None
        self.target: str | list[str] | None = None
        self.propose_job: Job | None = None
        self.pca_job: Job | None = None
        self.pca_ratios: np.ndarray | None = None
        self._last_used_role: dict[str, str] = {}
        self._filling = False

        self._stack = QStackedLayout(self)
        self.waiting_label = QLabel()
        self.waiting_label.setWordWrap(True)
        self.waiting_label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.waiting_label.setStyleSheet(
            "color: #8a5a00; padding: 10px; background: #fff4e5; border-radius: 4px; margin: 24px;"
        )
        waiting = QWidget()
        waiting_layout = QVBoxLayout(waiting)
        waiting_layout.addWidget(self.waiting_label)
        waiting_layout.addStretch(1)
        self._stack.addWidget(waiting)
        self._stack.addWidget(self._build_content())

        self._pca_timer = QTimer(self)
        self._pca_timer.setSingleShot(True)
        self._pca_timer.setInterval(PCA_DEBOUNCE_MS)
        self._pca_timer.timeout.connect(self.compute_pca)

        self.session.data_changed.connect(self._on_data)
        self.session.target_changed.connect(self._on_target)
        self.session.target_report_changed.connect(self._on_target_report)
        if self.session.target_report is not None:
            self._on_target_report(self.session.target_report)
        else:
            self._show_waiting()

    # -- layout ---------------------------------------------------------------------------------
    def _build_content(self) -> QWidget:
        page = QWidget()
        self.header_label = QLabel()
        self.header_label.setTextFormat(Qt.TextFormat.RichText)
        self.header_label.setWordWrap(True)
        self.continue_button = QPushButton(self.tr("Continue to Train ▸"))
        self.continue_button.clicked.connect(lambda: self.ctx.go_to("train"))
        header = QHBoxLayout()
        header.addWidget(self.header_label, 1)
        header.addWidget(self.continue_button, 0, Qt.AlignmentFlag.AlignTop)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self._build_columns_side())
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 4, 0)
        right_layout.addWidget(self._build_split_group())
        right_layout.addWidget(self._build_weights_group())
        right_layout.addWidget(self._build_pca_group())
        right_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(right)
        scroll.setMinimumWidth(380)
        splitter.addWidget(scroll)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([820, 400])

        layout = QVBoxLayout(page)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(header)
        layout.addWidget(splitter, 1)
        return page

    def _build_columns_side(self) -> QWidget:
        side = QWidget()
        inputs = QGroupBox(self.tr("Inputs and how each column is prepared"))
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
        self.table.currentCellChanged.connect(lambda row, _c, _r, _pc: self._show_reason(row))
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
        inputs_layout = QVBoxLayout(inputs)
        inputs_layout.addWidget(self.table_hint)
        inputs_layout.addWidget(self.table, 1)
        inputs_layout.addWidget(self.reason_label)

        derived = QGroupBox(self.tr("Derived columns"))
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
        derived_layout = QVBoxLayout(derived)
        derived_layout.addLayout(edit_row)
        derived_layout.addWidget(self.formula_status)
        derived_layout.addLayout(list_row)
        self._formula_edited("")

        layout = QVBoxLayout(side)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(inputs, 1)
        layout.addWidget(derived)
        return side

    def _build_split_group(self) -> QGroupBox:
        group = QGroupBox(self.tr("Split into training, validation and test rows"))
        self.split_method = QComboBox()
        self.split_method.addItem(self.tr("Random, stratified by class"), "random")
        self.split_method.addItem(self.tr("Ordered by a time column (no future rows in training)"), "time")
        self.split_method.addItem(self.tr("Grouped by a column (e.g. machine or batch id)"), "group")
        self.split_column = QComboBox()
        for combo in (self.split_method, self.split_column):
            # Long entries must not make the side panel wider than the window.
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(16)
        self.train_share = self._share_box(0.70)
        self.valid_share = self._share_box(0.15)
        self.test_share = self._share_box(0.15)
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
        form = QFormLayout(group)
        form.addRow(self.tr("Method"), self.split_method)
        form.addRow(self.tr("Column"), self.split_column)
        form.addRow(self.tr("Shares"), shares)
        form.addRow(self.split_status)
        self._split_form = form
        form.setRowVisible(self.split_column, False)
        self.split_method.currentIndexChanged.connect(self._split_method_changed)
        self.split_column.currentIndexChanged.connect(lambda _i: self._split_edited())
        for box in (self.train_share, self.valid_share, self.test_share):
            box.valueChanged.connect(lambda _v: self._split_edited())
        return group

    @staticmethod
    def _share_box(value: float) -> QDoubleSpinBox:
        box = QDoubleSpinBox()
        box.setRange(0.0, 1.0)
        box.setSingleStep(0.05)
        box.setDecimals(2)
        box.setValue(value)
        return box

    def _build_weights_group(self) -> QGroupBox:
        group = QGroupBox(self.tr("Class imbalance"))
        self.weights_check = QCheckBox(self.tr("Weight the classes (rare classes count more in training)"))
        self.weights_check.toggled.connect(self._weights_toggled)
        self.weights_label = QLabel()
        self.weights_label.setWordWrap(True)
        self.weights_label.setStyleSheet(HINT_STYLE)
        layout = QVBoxLayout(group)
        layout.addWidget(self.weights_check)
        layout.addWidget(self.weights_label)
        return group

    def _build_pca_group(self) -> QGroupBox:
        group = QGroupBox(self.tr("PCA (optional)"))
        self.pca_check = QCheckBox(self.tr("Reduce the prepared inputs to principal components"))
        self.pca_by_share = QRadioButton(self.tr("Keep this share of the variance"))
        self.pca_by_count = QRadioButton(self.tr("Keep this many components"))
        self.pca_by_share.setChecked(True)
        self._pca_mode = QButtonGroup(self)
        self._pca_mode.addButton(self.pca_by_share)
        self._pca_mode.addButton(self.pca_by_count)
        self.pca_share = QDoubleSpinBox()
        self.pca_share.setRange(0.50, 1.00)
        self.pca_share.setSingleStep(0.01)
        self.pca_share.setDecimals(2)
        self.pca_share.setValue(0.95)
        self.pca_count = QSpinBox()
        self.pca_count.setRange(1, 10_000)
        self.pca_count.setValue(5)
        self.pca_count.setEnabled(False)
        self.variance_chart = VarianceChart()
        self.variance_chart.setMinimumHeight(190)
        self.variance_chart.setMaximumHeight(240)
        self.pca_status = QLabel()
        self.pca_status.setWordWrap(True)
        self.pca_status.setTextFormat(Qt.TextFormat.PlainText)
        self.pca_options = QWidget()
        grid = QFormLayout(self.pca_options)
        grid.setContentsMargins(18, 0, 0, 0)
        grid.addRow(self.pca_by_share, self.pca_share)
        grid.addRow(self.pca_by_count, self.pca_count)
        grid.addRow(self.pca_status)
        grid.addRow(self.variance_chart)
        self.pca_options.setVisible(False)
        layout = QVBoxLayout(group)
        layout.addWidget(self.pca_check)
        layout.addWidget(self.pca_options)
        self.pca_check.toggled.connect(self._pca_toggled)
        self.pca_by_share.toggled.connect(self._pca_edited)
        self.pca_share.valueChanged.connect(self._pca_edited)
        self.pca_count.valueChanged.connect(self._pca_edited)
        return group

    # -- session --------------------------------------------------------------------------------
    def _show_waiting(self) -> None:
        if self.session.data is None:
            text = self.tr("Load data on the Data step first.")
        elif self.session.target is None:
            text = self.tr("Pick the column to predict on the Data step.")
        else:
            text = self.tr("Analysing the target and looking for leaks…")
        self.waiting_label.setText(text)
        self._stack.setCurrentIndex(0)

    @Slot(object)
    def _on_data(self, _data: Any) -> None:
        self.derived = []
        self.derived_list.clear()
        self.formula_edit.clear()
        self._reset()

    @Slot(object)
    def _on_target(self, _target: Any) -> None:
        self._reset()

    def _reset(self) -> None:
        for job in (self.propose_job, self.pca_job):
            if job is not None:
                job.cancel()
        self.propose_job = self.pca_job = None
        self.plans = []
        self.pca_ratios = None
        self.variance_chart.clear()
        self._show_waiting()

    @Slot(object)
    def _on_target_report(self, report: TargetReport | None) -> None:
        if report is None or self.session.frame is None or self.session.target is None:
            self._show_waiting()
            return
        self.target = self.session.target
        self.leaks = {s.column: s.reason for s in report.leak_suspects}
        self.task = report.task
        self.plans = []
        self._fill_split_columns()
        self._update_weights(report)
        self._propose()

    def _propose(self) -> None:
        if self.propose_job is not None:
            self.propose_job.cancel()
        job = run_in_thread(
            _propose_job,
            self.session.frame,
            self.target,
            list(self.derived),
            dict(self.leaks),
            name="propose",
        )
        self.propose_job = job
        job.finished.connect(lambda result, j=job: self._proposed(j, result))
        job.errored.connect(lambda exc, j=job: self._failed(j, exc, self.tr("proposing a recipe")))

    def _failed(self, job: Job, exc: BaseException, context: str) -> None:
        if job is self.propose_job:
            self.ctx.report_error(exc, context)

    def _proposed(self, job: Job, result: tuple[Recipe, dict[str, ColumnPlan]]) -> None:
        if job is not self.propose_job:
            return
        recipe, natural = result
        self.task = recipe.task or self.task
        self.natural.update(natural)
        kept = {p.name: p for p in self.plans}
        # Columns the user has already set up keep their settings; new (derived) columns come in.
        self.plans = [kept.get(p.name, p) for p in recipe.columns]
        self.target = recipe.target
        self._fill_table()
        leak_rows = [row for row, p in enumerate(self.plans) if p.name in self.leaks]
        self._show_reason(leak_rows[0] if leak_rows else self.table.currentRow())
        self._stack.setCurrentIndex(1)
        self._publish()

    # -- the column table -----------------------------------------------------------------------
    def _fill_table(self) -> None:
        self._filling = True
        try:
            self.table.clearContents()
            self.table.setRowCount(len(self.plans))
            for row, plan in enumerate(self.plans):
                name = QTableWidgetItem(plan.name)
                name.setFlags(
                    Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsUserCheckable
                )
                name.setToolTip(plan.name)
                self.table.setItem(row, COL_NAME, name)
                for column in (*FIELD_OF_COLUMN, COL_REASON):
                    self.table.setItem(row, column, QTableWidgetItem())
                self._refresh_row(row)
        finally:
            self._filling = False

    def _refresh_row(self, row: int) -> None:
        plan = self.plans[row]
        was_filling, self._filling = self._filling, True
        try:
            used = plan.role != "drop"
            leak = plan.name in self.leaks
            derived = any(d.name == plan.name for d in self.derived)
            name = self.table.item(row, COL_NAME)
            name.setCheckState(Qt.CheckState.Checked if used else Qt.CheckState.Unchecked)
            font = QFont(self.table.font())
            font.setItalic(derived)
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
            why = plan.reason or ""
            if leak:
                why = self.tr("⚠ leak: {reason}").format(reason=self.leaks[plan.name])
            elif derived:
                why = (
                    self.tr("derived column; {reason}").format(reason=why)
                    if why
                    else self.tr("derived column")
                )
            reason.setText(why)
            reason.setToolTip(why)
            reason.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
            for column in range(self.table.columnCount()):
                item = self.table.item(row, column)
                item.setBackground(QBrush(LEAK_BACKGROUND) if leak else QBrush())
                if column != COL_REASON or not leak:
                    item.setForeground(QBrush(DROPPED_FOREGROUND) if not used else QBrush())
            if leak:
                reason.setForeground(QBrush(QColor("#8a4b00")))
        finally:
            self._filling = was_filling

    def _show_reason(self, row: int) -> None:
        """The full 'why' of the current row (the table cell is often too narrow for it)."""
        if not 0 <= row < len(self.plans):
            self.reason_label.clear()
            return
        name = self.plans[row].name
        why = self.table.item(row, COL_REASON).text() or self.tr("no remark")
        color = "#8a4b00" if name in self.leaks else "#444"
        self.reason_label.setText(
            f"<b>{html.escape(name)}</b>: <span style='color:{color}'>{html.escape(why)}</span>"
        )

    def options_at(self, row: int, column: int) -> tuple[str, ...]:
        """Values the cell at (row, column) may take; empty where nothing can be chosen."""
        field = FIELD_OF_COLUMN.get(column)
        if field is None or not 0 <= row < len(self.plans):
            return ()
        plan = self.plans[row]
        if field != "role" and plan.role == "drop":
            return ()
        return field_options(field, plan.role)

    @Slot(QTableWidgetItem)
    def _item_changed(self, item: QTableWidgetItem) -> None:
        if self._filling:
            return
        row, column = item.row(), item.column()
        if column == COL_NAME:
            self.set_used(self.plans[row].name, item.checkState() == Qt.CheckState.Checked)
        elif column in FIELD_OF_COLUMN and item.data(VALUE) is not None:
            self.set_plan(self.plans[row].name, **{FIELD_OF_COLUMN[column]: str(item.data(VALUE))})

    def _row_of(self, name: str) -> int:
        for row, plan in enumerate(self.plans):
            if plan.name == name:
                return row
        raise KeyError(name)

    def _role_when_used(self, name: str) -> str:
        """The role a column gets when ticked: the last one used, else what it would be proposed as."""
        if name in self._last_used_role:
            return self._last_used_role[name]
        natural = self.natural.get(name)
        if natural is not None and natural.role != "drop":
            return natural.role
        frame = self.session.frame
        if frame is not None and name in frame.columns:
            import pandas as pd

            dtype = frame[name].dtype
            if pd.api.types.is_datetime64_any_dtype(dtype):
                return "datetime"
            if pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
                return "numeric"
            return "categorical"
        return "numeric"

    def set_used(self, name: str, used: bool) -> None:
        """Tick (use as input) or untick (leave out) a column."""
        row = self._row_of(name)
        plan = self.plans[row]
        if used == (plan.role != "drop"):
            self._refresh_row(row)
            return
        if used:
            role = self._role_when_used(name)
            natural = self.natural.get(name)
            if natural is not None and natural.role == role:
                plan = replace(natural, reason=plan.reason)
            else:
                plan = _fit_to_role(replace(plan, role=role))
        else:
            self._last_used_role[name] = plan.role
            plan = replace(plan, role="drop")
        self.plans[row] = plan
        self._refresh_row(row)
        self._publish()

    def set_plan(self, name: str, **changes: str) -> None:
        """Change a column's settings (role, impute, scale, encode), as the table's editors do."""
        row = self._row_of(name)
        plan = self.plans[row]
        if "role" in changes and changes["role"] != "drop" and plan.role != "drop":
            self._last_used_role[name] = changes["role"]
        if changes.get("role") == "drop" and plan.role != "drop":
            self._last_used_role[name] = plan.role
        self.plans[row] = _fit_to_role(replace(plan, **changes))
        self._refresh_row(row)
        self._publish()

    def used_columns(self) -> list[str]:
        return [p.name for p in self.plans if p.role != "drop"]

    # -- derived columns ------------------------------------------------------------------------
    def _available_columns(self) -> list[str]:
        frame = self.session.frame
        columns = [str(c) for c in frame.columns] if frame is not None else []
        return columns + [d.name for d in self.derived]

    @Slot(str)
    def _formula_edited(self, text: str) -> None:
        self.add_formula_button.setEnabled(False)
        if not text.strip():
            self.formula_status.setStyleSheet(HINT_STYLE)
            self.formula_status.setText(
                self.tr(
                    "Columns in double quotes; + - * / ** ( ), numbers, pi, and functions such as "
                    "sqrt, log, exp, abs, min, max."
                )
            )
            return
        try:
            derived = parse_derived(text, self._available_columns())
        except MfgError as exc:
            self.formula_status.setStyleSheet(ERROR_STYLE)
            self.formula_status.setText(str(exc))
            return
        self.formula_status.setStyleSheet(OK_STYLE)
        self.formula_status.setText(
            self.tr("✓ new column '{name}' from {columns}").format(
                name=derived.name, columns=", ".join(derived.columns)
            )
        )
        self.add_formula_button.setEnabled(True)

    def formula_is_valid(self) -> bool:
        return self.add_formula_button.isEnabled()

    @Slot()
    def _add_clicked(self) -> None:
        self.add_derived(self.formula_edit.text())

    def add_derived(self, text: str) -> bool:
        """Add ``NAME = FORMULA`` as a derived column (False, with the reason shown, if it is unusable)."""
        try:
            derived = parse_derived(text, self._available_columns())
        except MfgError as exc:
            self.formula_status.setStyleSheet(ERROR_STYLE)
            self.formula_status.setText(str(exc))
            return False
        self.derived.append(derived)
        self.derived_list.addItem(derived.text)
        self.formula_edit.clear()
        self._propose()
        return True

    @Slot()
    def _remove_clicked(self) -> None:
        row = self.derived_list.currentRow()
        if row >= 0:
            self.remove_derived(self.derived[row].name)

    def remove_derived(self, name: str) -> bool:
        users = [d.name for d in self.derived if name in d.columns]
        if users:
            self.formula_status.setStyleSheet(ERROR_STYLE)
            self.formula_status.setText(
                self.tr("'{name}' is used by {users}; remove that first.").format(
                    name=name, users=", ".join(users)
                )
            )
            return False
        index = next(i for i, d in enumerate(self.derived) if d.name == name)
        del self.derived[index]
        self.derived_list.takeItem(index)
        self._propose()
        return True

    # -- split ----------------------------------------------------------------------------------
    def _fill_split_columns(self) -> None:
        frame = self.session.frame
        targets = set(self.target if isinstance(self.target, list) else [self.target])
        self.split_column.blockSignals(True)
        self.split_column.clear()
        if frame is not None:
            for column in frame.columns:
                if str(column) not in targets:
                    self.split_column.addItem(str(column), str(column))
        self.split_column.blockSignals(False)
        self._choose_split_column()
        self._split_edited()

    def _choose_split_column(self) -> None:
        """Offer a likely column: a date/time one for a time split, a machine/batch id for a group split."""
        frame = self.session.frame
        method = self.split_method.currentData()
        if frame is None or method == "random":
            return
        import pandas as pd

        names = [self.split_column.itemData(i) for i in range(self.split_column.count())]
        if method == "time":
            preferred = [n for n in names if pd.api.types.is_datetime64_any_dtype(frame[n].dtype)]
            preferred += [n for n in names if any(k in n.lower() for k in ("time", "date", "stamp"))]
        else:
            preferred = [
                n
                for n in names
                if any(k in n.lower() for k in ("machine", "batch", "lot", "line", "tool", "station"))
            ]
        if preferred:
            self.split_column.setCurrentIndex(self.split_column.findData(preferred[0]))

    @Slot(int)
    def _split_method_changed(self, _index: int) -> None:
        method = self.split_method.currentData()
        self._split_form.setRowVisible(self.split_column, method != "random")
        self._choose_split_column()
        self._split_edited()

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
        method = self.split_method.currentData()
        column = self.split_column.currentData() if method != "random" else None
        spec = SplitSpec(
            method=method,
            column=column,
            train=round(self.train_share.value(), 4),
            valid=round(self.valid_share.value(), 4),
            test=round(self.test_share.value(), 4),
        )
        try:
            spec.check()
        except MfgError as exc:
            self.split_status.setStyleSheet(ERROR_STYLE)
            self.split_status.setText(str(exc))
            return None
        self.split_status.setStyleSheet(OK_STYLE)
        self.split_status.setText(self._split_text(spec))
        return spec

    def _split_text(self, spec: SplitSpec) -> str:
        shares = self.tr("{train:.0%} training, {valid:.0%} validation, {test:.0%} test").format(
            train=spec.train, valid=spec.valid, test=spec.test
        )
        if spec.method == "time":
            return self.tr(
                "✓ Earliest rows by '{column}' train, later ones validate and test: {shares}."
            ).format(column=spec.column, shares=shares)
        if spec.method == "group":
            return self.tr("✓ Each '{column}' value stays in one part: {shares}.").format(
                column=spec.column, shares=shares
            )
        if self.task == REGRESSION:
            return self.tr("✓ Rows drawn at random: {shares}.").format(shares=shares)
        return self.tr("✓ Rows drawn at random, each class in the same proportion: {shares}.").format(
            shares=shares
        )

    def _split_edited(self) -> None:
        spec = self.current_split()
        self.session.set_split_spec(spec)
        self._update_header()
        self._schedule_pca()

    # -- class weights --------------------------------------------------------------------------
    def _update_weights(self, report: TargetReport) -> None:
        regression = report.task == REGRESSION
        self.weights_check.blockSignals(True)
        if regression or report.minority_share is None:
            self.weights_check.setChecked(False)
            self.weights_check.setEnabled(False)
            self.weights_label.setText(self.tr("Regression target: class weights do not apply."))
        else:
            smallest = (
                min(report.class_counts, key=lambda k: report.class_counts[k]) if report.class_counts else ""
            )
            share = report.minority_share
            suggest = share < CLASS_WEIGHT_MINORITY_SHARE
            self.weights_check.setEnabled(True)
            self.weights_check.setChecked(suggest)
            if suggest:
                text = self.tr(
                    "The rarest class '{cls}' is {share:.1%} of the rows (under {limit:.0%}): "
                    "weights are on, so the model cannot ignore it."
                )
            else:
                text = self.tr(
                    "The rarest class '{cls}' is {share:.1%} of the rows (not under {limit:.0%}): "
                    "weights are off by default."
                )
            self.weights_label.setText(
                text.format(cls=smallest, share=share, limit=CLASS_WEIGHT_MINORITY_SHARE)
            )
        self.weights_check.blockSignals(False)
        self.session.set_class_weight(None if regression else self.weights_check.isChecked())

    @Slot(bool)
    def _weights_toggled(self, on: bool) -> None:
        self.session.set_class_weight(on)
        self._update_header()

    # -- PCA ------------------------------------------------------------------------------------
    def pca_settings(self) -> PcaSettings:
        if not self.pca_check.isChecked():
            return PcaSettings()
        if self.pca_by_count.isChecked():
            return PcaSettings(enabled=True, n_components=self.pca_count.value(), variance=None)
        return PcaSettings(enabled=True, n_components=None, variance=round(self.pca_share.value(), 4))

    @Slot(bool)
    def _pca_toggled(self, on: bool) -> None:
        self.pca_options.setVisible(on)
        self._publish()

    def _pca_edited(self, *_args: Any) -> None:
        self.pca_share.setEnabled(self.pca_by_share.isChecked())
        self.pca_count.setEnabled(self.pca_by_count.isChecked())
        self._mark_pca()
        self._publish(recompute_pca=False)

    def _schedule_pca(self) -> None:
        if self.pca_check.isChecked() and self.plans:
            self.pca_status.setStyleSheet(HINT_STYLE)
            self.pca_status.setText(self.tr("Computing the explained variance on the training rows…"))
            self._pca_timer.start()

    @Slot()
    def compute_pca(self) -> Job | None:
        """Fit the recipe (without PCA) on the training rows in a worker and plot the variance shares."""
        self._pca_timer.stop()
        recipe = self.current_recipe()
        spec = self.session.split_spec
        if recipe is None or spec is None or self.session.frame is None:
            self.pca_status.setStyleSheet(ERROR_STYLE)
            self.pca_status.setText(self.tr("Fix the inputs and the split first."))
            return None
        if self.pca_job is not None:
            self.pca_job.cancel()
        job = run_in_thread(
            _pca_job, self.session.frame, replace(recipe, pca=PcaSettings()), spec, name="pca"
        )
        self.pca_job = job
        job.finished.connect(lambda ratios, j=job: self._pca_ready(j, ratios))
        job.errored.connect(lambda exc, j=job: self._pca_failed(j, exc))
        return job

    def _pca_ready(self, job: Job, ratios: np.ndarray) -> None:
        if job is not self.pca_job:
            return
        self.pca_ratios = np.asarray(ratios, dtype=np.float64)
        self.pca_count.setMaximum(max(len(self.pca_ratios), 1))
        self.variance_chart.show_ratios(self.pca_ratios)
        self._mark_pca()

    def _pca_failed(self, job: Job, exc: BaseException) -> None:
        if job is not self.pca_job:
            return
        if isinstance(exc, MfgError):
            self.pca_status.setStyleSheet(ERROR_STYLE)
            self.pca_status.setText(str(exc))
        else:
            self.ctx.report_error(exc, self.tr("computing the PCA preview"))

    def _mark_pca(self) -> None:
        ratios = self.pca_ratios
        if ratios is None or len(ratios) == 0:
            return
        cumulative = np.cumsum(ratios)
        if self.pca_by_count.isChecked():
            count = min(self.pca_count.value(), len(ratios))
            share = float(cumulative[count - 1])
            self.variance_chart.mark(count, None)
        else:
            share_goal = self.pca_share.value()
            count = int(min(np.searchsorted(cumulative, share_goal - 1e-9) + 1, len(ratios)))
            share = float(cumulative[count - 1])
            self.variance_chart.mark(count, share_goal)
        self.pca_status.setStyleSheet(HINT_STYLE)
        self.pca_status.setText(
            self.tr(
                "{n} prepared features; {k} components keep {share:.1%} of their variance "
                "(fitted on the training rows)."
            ).format(n=len(ratios), k=count, share=share)
        )

    # -- the result -----------------------------------------------------------------------------
    def current_recipe(self) -> Recipe | None:
        if not self.plans or self.target is None:
            return None
        return Recipe(
            target=self.target,
            columns=[replace(p) for p in self.plans],
            derived=list(self.derived),
            pca=self.pca_settings(),
            task=self.task,
        )

    def _publish(self, recompute_pca: bool = True) -> None:
        """Write the recipe into the session (the Train step reads it from there)."""
        self.session.set_recipe(self.current_recipe())
        self._update_header()
        if recompute_pca:
            self._schedule_pca()

    def _update_header(self) -> None:
        if not self.plans:
            return
        from mfg_desktop.qt.data.text import task_text

        target = self.target if isinstance(self.target, str) else " + ".join(self.target or [])
        used = len(self.used_columns())
        parts = [
            self.tr("<b>Target:</b> {target} — {task}").format(
                target=html.escape(str(target)), task=html.escape(task_text(self.task or ""))
            ),
            self.tr("{used} of {total} columns used as inputs").format(used=used, total=len(self.plans)),
        ]
        if self.derived:
            parts.append(self.tr("{n} derived").format(n=len(self.derived)))
        problems = []
        if used == 0:
            problems.append(self.tr("tick at least one input"))
        if self.session.split_spec is None:
            problems.append(self.tr("fix the split"))
        todo = self.tr("Before training: ") + "; ".join(problems)
        status = (
            f"<span style='color:#b3261e'>{html.escape(todo)}</span>"
            if problems
            else f"<span style='color:#1e7b34'>{html.escape(self.tr('Ready to train.'))}</span>"
        )
        self.header_label.setText(
            f"<span style='font-size:12pt'>{' &nbsp;·&nbsp; '.join(parts)}</span><br>{status}"
        )
        self.continue_button.setEnabled(not problems)
