"""The Data step: the table, the data-quality view, the target picker and what the target implies.

Profiling, target analysis and plot data are computed by core on worker threads
(:mod:`mfg_desktop.qt.data.jobs`, one :class:`TaskSlot` each); the panel binds the session and
:class:`~mfg_desktop.qt.data.state.DataState` to its widgets. pandas and pyqtgraph are imported
when data first arrives.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer, Slot
from PySide6.QtWidgets import QFrame, QLabel, QSplitter, QStackedLayout, QTabWidget, QVBoxLayout, QWidget

from mfg_desktop.qt.context import AppContext, TaskSlot
from mfg_desktop.qt.data.column_plot import ColumnPlotBox
from mfg_desktop.qt.data.jobs import column_plot_job, profile_job, target_job
from mfg_desktop.qt.data.quality_view import QualityView
from mfg_desktop.qt.data.start_page import StartPage
from mfg_desktop.qt.data.state import (
    PLOT_CATEGORIES,
    DataState,
    column_notes,
    first_column_to_show,
    target_options,
)
from mfg_desktop.qt.data.table_view import DataTableView
from mfg_desktop.qt.data.target_box import TargetBox
from mfg_desktop.qt.data.text import profile_status, quality_notes_html, summary_html

if TYPE_CHECKING:
    from mfg_desktop.core.ingest import LoadedData
    from mfg_desktop.core.profile import DataProfile, TargetReport

# Profiling starts this long after the table is shown (see _on_data).
PROFILE_DELAY_MS = 50
# The suggested target is analysed this long after the profile is shown: the analysis of a big
# table on a worker would otherwise compete with the first paint of the quality table and plot.
SUGGEST_DELAY_MS = 300


class DataPanel(QWidget):
    """Page of the Data step. Observes the session; starts core jobs on worker threads."""

    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.session = ctx.session
        self.state = DataState()
        self.profile_slot = TaskSlot(ctx, "profile", self)
        self.target_slot = TaskSlot(ctx, "target", self)
        self.plot_slot = TaskSlot(ctx, "plot", self)
        self._profiling: LoadedData | None = None  # the data whose profile job was started

        start = StartPage()
        start.open_files_requested.connect(ctx.open_files_requested)
        start.sample_data_requested.connect(ctx.sample_data_requested)
        self._stack = QStackedLayout(self)
        self._stack.addWidget(start)
        self._stack.addWidget(self._build_content_page())
        # the widgets the window's tests and benchmarks read directly
        self.target_combo = self.target_box.target_combo
        self.task_label = self.target_box.task_label
        self.balance_table = self.target_box.balance_table
        self.leak_view = self.target_box.leak_view

        self.session.data_changed.connect(self._on_data)
        self.session.profile_changed.connect(self._on_profile)
        self.session.target_changed.connect(self._on_target)
        self.session.target_report_changed.connect(self._on_target_report)
        if self.session.data is not None:
            self._on_data(self.session.data)

    def _build_content_page(self) -> QWidget:
        self.summary_label = QLabel()
        self.summary_label.setTextFormat(Qt.TextFormat.RichText)
        self.summary_label.setWordWrap(True)
        self.table_view = DataTableView()
        self.table_view.column_selected.connect(self.show_column)
        self.quality = QualityView()
        self.quality.column_selected.connect(self._quality_column_selected)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.quality, self.tr("Data quality"))
        self.tabs.addTab(self.table_view, self.tr("Table"))

        self.target_box = TargetBox()
        self.target_box.target_chosen.connect(self.pick_target)
        self.target_box.positive_chosen.connect(self.session.set_positive_class)
        self.session.positive_class_changed.connect(self.target_box.select_positive)
        self.plot_box = ColumnPlotBox()
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(self.target_box, 3)
        side_layout.addWidget(self.plot_box, 2)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.tabs)
        self.splitter.addWidget(side)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setSizes([760, 440])

        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(4, 0, 4, 4)
        layout.addWidget(self.summary_label)
        line = QFrame()
        line.setFrameShape(QFrame.Shape.HLine)
        line.setFrameShadow(QFrame.Shadow.Sunken)
        layout.addWidget(line)
        layout.addWidget(self.splitter, 1)
        return page

    # -- what tests and the window read ---------------------------------------------------------
    @property
    def table_model(self) -> Any:
        return self.table_view.table_model

    @property
    def profile_model(self) -> Any:
        return self.quality.profile_model

    @property
    def histogram(self) -> Any:
        return self.plot_box.histogram

    @property
    def plot_column(self) -> str | None:
        return self.state.plot_column

    def warm_up(self) -> None:
        self.plot_box.warm_up()

    def _while_current(self, data: Any, callback: Callable[..., None]) -> Callable[..., None]:
        """``callback``, run only while ``data`` is still the data loaded (a late job's result is dropped)."""
        def slot(*values: Any) -> None:
            if data is self.session.data:
                callback(*values)

        return slot

    # -- data -----------------------------------------------------------------------------------
    @Slot(object)
    def _on_data(self, data: LoadedData | None) -> None:
        for slot in (self.profile_slot, self.target_slot, self.plot_slot):
            slot.cancel()
        self._profiling = None
        if data is None:
            self._stack.setCurrentIndex(0)
            return
        frame = data.frame
        self.table_view.set_frame(frame)
        self.quality.clear(self.tr("Profiling {n} columns…").format(n=frame.shape[1]))
        self.state.new_data()
        self.plot_box.clear()
        self.summary_label.setText(summary_html(data, None))
        self.target_box.set_profiling()
        self.target_box.show_report(None, self.session.target)
        self._stack.setCurrentIndex(1)
        # Start profiling once the table has been painted: a worker running Python slows every
        # call the view makes into the model, and the first paint is the one the user waits for.
        QTimer.singleShot(PROFILE_DELAY_MS, lambda: self._start_profile(data))

    def _start_profile(self, data: LoadedData) -> None:
        if data is not self.session.data or self.ctx.closing or self._profiling is data:
            return
        self._profiling = data

        def failed(exc: BaseException) -> None:
            self.ctx.report_error(exc, self.tr("profiling the data"))
            self.quality.profile_status.setText(self.tr("The data could not be profiled."))

        self.profile_slot.start(profile_job, data.frame, title=self.tr("Profiling"),
                                on_done=self._while_current(data, self.session.set_profile),
                                on_error=self._while_current(data, failed))

    @Slot(object)
    def _on_profile(self, profile: DataProfile | None) -> None:
        if profile is None or self.session.data is None:
            return
        from mfg_desktop.qt.profile_model import kind_text

        self.summary_label.setText(summary_html(self.session.data, profile))
        self.quality.set_profile(profile, profile_status(profile))
        self._show_quality_notes(None)
        self.table_view.set_column_kinds({c.name: kind_text(c.kind) for c in profile.columns})
        self.target_box.set_options(target_options(profile), self.session.target)
        first = first_column_to_show(profile)
        if first is not None:
            self.select_column(first)
        suggestion = self.state.suggest(profile, self.session.target)
        if suggestion is not None:
            data = self.session.data
            QTimer.singleShot(SUGGEST_DELAY_MS, lambda: self._take_suggestion(data, suggestion))

    def _take_suggestion(self, data: LoadedData, suggestion: str | list[str]) -> None:
        """Preselect the suggested target unless the data changed or the user picked one meanwhile."""
        if data is self.session.data and self.session.target is None and not self.ctx.closing:
            self.pick_target(suggestion)

    def _show_quality_notes(self, column: str | None) -> None:
        profile = self.session.profile
        if profile is None:
            return
        notes = column_notes(profile, self.session.target_report, column) if column is not None else None
        self.quality.set_notes(quality_notes_html(profile, notes))

    # -- target ---------------------------------------------------------------------------------
    def target_options(self) -> list[tuple[str, Any]]:
        """(label, target) pairs offered by the target picker; target is a name or a list of names."""
        return self.target_box.options()

    def pick_target(self, target: str | list[str] | None) -> None:
        """Choose the target (a column name, or a one-hot group as a list) and analyse it."""
        self.target_box.select(target)
        self.session.set_target(target)

    @Slot(object)
    def _on_target(self, target: str | list[str] | None) -> None:
        self.target_slot.cancel()
        self.target_box.set_suggested(self.state.is_suggested(target))
        if target is None or self.session.frame is None:
            return
        self.target_box.set_analysing()
        data = self.session.data

        def current(callback: Callable[..., None]) -> Callable[..., None]:
            return self._while_current(data, lambda *v: target == self.session.target and callback(*v))

        def failed(exc: BaseException) -> None:
            self.target_box.set_failed()
            self.ctx.report_error(exc, self.tr("analysing the target"))

        self.target_slot.start(target_job, self.session.frame, target, self.session.profile,
                               title=self.tr("Analysing the target"),
                               on_done=current(self.session.set_target_report), on_error=current(failed))
        if isinstance(target, str):
            self.select_column(target)

    @Slot(object)
    def _on_target_report(self, report: TargetReport | None) -> None:
        self.target_box.show_report(report, self.session.target, self.session.positive_class)
        self.quality.set_target_report(report)
        current = self.quality.current_column()
        if current is not None:
            self._show_quality_notes(current)

    # -- distribution plot ----------------------------------------------------------------------
    @Slot(str)
    def _quality_column_selected(self, name: str) -> None:
        self._show_quality_notes(name)
        self.show_column(name)

    def select_column(self, name: str) -> None:
        """Select column ``name`` in the quality view: its details below, its distribution on the right."""
        if self.quality.profile_model is None:
            self.show_column(name)
        else:
            self.quality.select(name)

    @Slot(str)
    def show_column(self, name: str) -> None:
        """Plot the distribution of column ``name`` (computed on a worker thread)."""
        frame = self.session.frame
        if frame is None or self.ctx.closing:
            return
        kind = self.state.plot_kind(name, frame, self.session.profile)
        if kind is None:
            return

        def drawn(result: tuple) -> None:
            if name == self.state.plot_column:
                self.plot_box.show_plot(name, result)

        self.plot_slot.start(column_plot_job, frame[name], kind, PLOT_CATEGORIES, title="", track=False,
                             on_done=self._while_current(self.session.data, drawn),
                             on_error=self._while_current(self.session.data, lambda exc: self.ctx.report_error(
                                 exc, self.tr("plotting {name}").format(name=name))))
