"""The Prepare step: which columns the model reads and how each is prepared, derived columns,
optional PCA, the split into training/validation/test rows and the class weights.

The page composes its views (:class:`InputsTable`, :class:`FormulaEditor`, :class:`SplitView`,
:class:`ClassWeightsView`, :class:`PcaView`), all bound to one :class:`PrepareState`. The proposal
and the PCA preview are computed by core on worker threads; every change the user makes is written
into the session at once as a core :class:`Recipe`, :class:`SplitSpec` and class-weight choice,
which the Train step reads.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer, Slot
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSplitter,
    QStackedLayout,
    QVBoxLayout,
    QWidget,
)

from mfg_desktop.core.errors import MfgError
from mfg_desktop.core.recipe import ColumnPlan, PcaSettings, Recipe
from mfg_desktop.qt.context import AppContext, TaskSlot
from mfg_desktop.qt.prepare.formula_editor import FormulaEditor
from mfg_desktop.qt.prepare.history_state import LABEL_TARGET, ROLE_ENTITY, ROLE_ORDER, default_split
from mfg_desktop.qt.prepare.history_view import HistoryView
from mfg_desktop.qt.prepare.inputs_table import InputsTable
from mfg_desktop.qt.prepare.jobs import pca_variance, propose
from mfg_desktop.qt.prepare.pca_view import PcaView
from mfg_desktop.qt.prepare.split_view import SplitView
from mfg_desktop.qt.prepare.state import PrepareState, WeightAdvice
from mfg_desktop.qt.prepare.text import header_html
from mfg_desktop.qt.prepare.weights_view import ClassWeightsView
from mfg_desktop.qt.workers import Job

if TYPE_CHECKING:
    import numpy as np

    from mfg_desktop.core.profile import TargetReport
    from mfg_desktop.core.split import SplitSpec

PCA_DEBOUNCE_MS = 300


class PreparePanel(QWidget):
    """Page of the Prepare step. Observes ``ctx.session`` and writes the preparation into it."""

    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.session = ctx.session
        self.state = PrepareState()
        self.state.set_data(self.session.frame)
        self.proposal = TaskSlot(ctx, "propose", self)
        self.pca_task = TaskSlot(ctx, "pca", self)

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

        self.inputs.changed.connect(self._publish)
        self.formulas.derived_changed.connect(self._propose)
        self.split_view.edited.connect(self._split_edited)
        self.weights_view.toggled.connect(self._weights_toggled)
        self.pca_view.settings_changed.connect(self._publish)
        self.session.data_changed.connect(self._on_data)
        self.session.target_changed.connect(self._on_target)
        self.session.target_report_changed.connect(self._on_target_report)
        self.session.positive_class_changed.connect(lambda _value: self._publish(recompute_pca=False))
        self.history_view.built.connect(self._history_built)
        self.history_view.cleared.connect(self._history_cleared)
        self.history_view.time_columns_found.connect(lambda _c: self._update_time_columns())
        self.history_view.set_data(self.session.frame)
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

        self.inputs = InputsTable(self.state)
        self.formulas = FormulaEditor(self.state)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.inputs, 1)
        left_layout.addWidget(self.formulas)

        self.history_view = HistoryView(self.ctx)
        self.split_view = SplitView(self.state)
        self.weights_view = ClassWeightsView()
        self.pca_view = PcaView(self.state)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 4, 0)
        right_layout.addWidget(self.history_view)
        right_layout.addWidget(self.split_view)
        right_layout.addWidget(self.weights_view)
        right_layout.addWidget(self.pca_view)
        right_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(right)
        # never narrower than its forms: without a horizontal scroll bar they would be cut off
        scroll.setMinimumWidth(max(380, right.minimumSizeHint().width() + scroll.verticalScrollBar().sizeHint().width()))

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(scroll)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([820, 400])

        layout = QVBoxLayout(page)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(header)
        layout.addWidget(splitter, 1)
        return page

    # -- what scripts and tests drive -----------------------------------------------------------
    @property
    def plans(self) -> list[ColumnPlan]:
        return self.state.plans

    @property
    def pca_ratios(self) -> np.ndarray | None:
        return self.state.pca_ratios

    def set_used(self, name: str, used: bool) -> None:
        """Tick (use as input) or untick (leave out) a column."""
        self.inputs.set_used(name, used)

    def set_plan(self, name: str, **changes: str) -> None:
        """Change a column's settings (role, impute, scale, encode), as the table's editors do."""
        self.inputs.set_plan(name, **changes)

    def used_columns(self) -> list[str]:
        return self.state.used_columns()

    def add_derived(self, text: str) -> bool:
        """Add ``NAME = FORMULA`` as a derived column (False, with the reason shown, if it is unusable)."""
        return self.formulas.add_derived(text)

    def remove_derived(self, name: str) -> bool:
        return self.formulas.remove_derived(name)

    def formula_is_valid(self) -> bool:
        return self.formulas.is_valid()

    def set_split(
        self,
        method: str,
        column: str | None = None,
        train: float | None = None,
        valid: float | None = None,
        test: float | None = None,
    ) -> None:
        """Set the split as the user would on the form."""
        self.split_view.set_split(method, column, train, valid, test)

    def current_recipe(self) -> Recipe | None:
        recipe = self.state.recipe(self.pca_view.settings())
        if recipe is not None:  # the outcome to detect, as picked on the Data step
            recipe.positive_class = self.session.positive_class
        return recipe

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
        self.state.set_data(self.session.frame)
        self.formulas.clear()
        self.history_view.set_data(self.session.frame)
        self.split_view.set_time_columns([])
        self._reset()

    @Slot(object)
    def _on_target(self, _target: Any) -> None:
        history = self.session.history
        if history is not None and self.history_view.built_label() != LABEL_TARGET:
            # the history builds its own target: the Data step's choice does not apply, but the
            # session drops the recipe after this signal; put it back once that happened
            QTimer.singleShot(0, self._publish)
            return
        if history is not None:  # it kept the old target: build again for the new one
            self.history_view.forget_build()
            self._history_cleared()
        self.state.reset()
        self._reset()

    def _reset(self) -> None:
        """What was computed for the old data or target no longer applies."""
        self.proposal.drop()
        self.pca_task.drop()
        self.pca_view.clear()
        self._show_waiting()

    @Slot(object)
    def _on_target_report(self, report: TargetReport | None) -> None:
        if self.session.history is not None:
            return  # the built history's own target report is in use
        if report is None or self.session.frame is None or self.session.target is None:
            self._show_waiting()
            return
        self.state.begin(self.session.target, report)
        self.split_view.fill_columns()
        self.session.set_class_weight(self.weights_view.show_advice(WeightAdvice.of(report)))
        self._propose()

    @Slot()
    def _propose(self) -> None:
        self.proposal.start(
            propose,
            self.session.training_frame,
            self.state.target,
            list(self.state.derived),
            dict(self.state.leaks),
            title=self.tr("Proposing a recipe"),
            context=self.tr("proposing a recipe"),
            on_done=self._proposed,
            track=False,
            not_inputs=self._history_not_inputs(),
        )

    # -- sensor histories -----------------------------------------------------------------------
    def _history_not_inputs(self) -> dict[str, str]:
        """The built history's entity, order and source-file columns, each with why it is no input."""
        built = self.session.history
        if built is None:
            return {}
        why = {
            ROLE_ENTITY: self.tr("the entity id: not an input unless ticked (test entities are unseen)"),
            ROLE_ORDER: self.tr("the order column: not an input unless ticked"),
        }
        other = self.tr("the source file: not an input unless ticked")
        return {column: why.get(role, other) for column, role in built.roles.items()}

    @Slot(object)
    def _history_built(self, built: Any) -> None:
        """Train on the built frame: its target and report, its split by entity, a new proposal."""
        self.proposal.drop()
        self.pca_task.drop()
        self.pca_view.clear()
        self.session.set_history(built)
        self.state.set_data(built.frame)
        self.formulas.clear()
        self.state.begin(built.target, built.report)
        self.split_view.fill_columns()
        method, column = default_split(built.spec)
        self.split_view.set_split(method, column)
        self._update_time_columns()
        self.session.set_class_weight(self.weights_view.show_advice(WeightAdvice.of(built.report)))
        self._propose()

    @Slot()
    def _history_cleared(self) -> None:
        """Back to independent rows: the loaded frame and the Data step's target."""
        self.session.set_history(None)
        self.state.set_data(self.session.frame)
        self.formulas.clear()
        self._update_time_columns()
        self._reset()
        if self.session.target_report is not None:
            self._on_target_report(self.session.target_report)

    def _update_time_columns(self) -> None:
        built = self.session.history
        columns = list(self.history_view.time_columns)
        if built is not None and built.spec.order and built.spec.order not in columns:
            columns.insert(0, built.spec.order)
        self.split_view.set_time_columns(columns)

    def _proposed(self, result: tuple[Recipe, dict[str, ColumnPlan]]) -> None:
        recipe, natural = result
        leak_row = self.state.apply_proposal(recipe, natural)
        self.inputs.fill()
        self.inputs.show_reason(leak_row if leak_row is not None else self.inputs.table.currentRow())
        self._stack.setCurrentIndex(1)
        self._publish()

    # -- the parts' changes ---------------------------------------------------------------------
    @Slot(object)
    def _split_edited(self, spec: SplitSpec | None) -> None:
        self.session.set_split_spec(spec)
        self._update_header()
        self._schedule_pca()

    @Slot(bool)
    def _weights_toggled(self, on: bool) -> None:
        self.session.set_class_weight(on)
        self._update_header()

    def _publish(self, recompute_pca: bool = True) -> None:
        """Write the recipe into the session (the Train step reads it from there)."""
        self.session.set_recipe(self.current_recipe())
        self.history_view.show_context_warnings(self.state.used_columns())
        self._update_header()
        if recompute_pca:
            self._schedule_pca()

    def _update_header(self) -> None:
        if not self.state.plans:
            return
        from mfg_desktop.qt.data.text import task_text

        needs = self.state.needs(self.session.split_spec)
        self.header_label.setText(
            header_html(
                self.state.target,
                task_text(self.state.task or ""),
                used=len(self.state.used_columns()),
                total=len(self.state.plans),
                derived=len(self.state.derived),
                needs=needs,
            )
        )
        self.continue_button.setEnabled(not needs)

    # -- PCA preview ----------------------------------------------------------------------------
    def _schedule_pca(self) -> None:
        if self.pca_view.is_enabled() and self.state.plans:
            self.pca_view.show_computing()
            self._pca_timer.start()

    @Slot()
    def compute_pca(self) -> Job | None:
        """Fit the recipe (without PCA) on the training rows in a worker and plot the variance shares."""
        self._pca_timer.stop()
        recipe = self.current_recipe()
        spec = self.session.split_spec
        if recipe is None or spec is None or self.session.training_frame is None:
            self.pca_view.show_status(self.tr("Fix the inputs and the split first."), error=True)
            return None
        return self.pca_task.start(
            pca_variance,
            self.session.training_frame,
            replace(recipe, pca=PcaSettings()),
            spec,
            title=self.tr("Computing the PCA preview"),
            on_done=self._pca_ready,
            on_error=self._pca_failed,
            track=False,
        )

    def _pca_ready(self, ratios: Any) -> None:
        self.state.set_pca_ratios(ratios)
        self.pca_view.show_ratios()

    def _pca_failed(self, exc: BaseException) -> None:
        if isinstance(exc, MfgError):
            self.pca_view.show_status(str(exc), error=True)
        else:
            self.ctx.report_error(exc, self.tr("computing the PCA preview"))
