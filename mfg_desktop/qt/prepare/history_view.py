"""The Prepare step's "Sensor histories" section: whose row it is, in what order, which label is
built, which causal window features are added; building it all runs on a worker.

The entity and order boxes are pre-filled from :func:`~mfg_desktop.core.history.suggest_history`
(said as a suggestion, with its reason); nothing changes until *Build* succeeds: the rows stay
independent rows until then. ``built`` carries the :class:`HistoryBuild`, ``cleared`` says the
user went back to independent rows; the panel takes it from there.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QCoreApplication, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from mfg_desktop.core.errors import MfgError
from mfg_desktop.core.history import DEFAULT_MAX_GAP, SOURCE_FILE
from mfg_desktop.core.i18n import trn
from mfg_desktop.qt.context import AppContext, TaskSlot
from mfg_desktop.qt.prepare.history_label_view import LabelRuleView, _compact
from mfg_desktop.qt.prepare.history_state import (
    LABEL_JOIN,
    ONE_HISTORY,
    ROLE_ENTITY,
    ROLE_ORDER,
    HistoryBuild,
    HistoryChoices,
    entity_options,
    entity_values,
    order_is_time,
    order_options,
    ticked_context,
)
from mfg_desktop.qt.prepare.jobs import (
    build_history,
    check_history_job,
    suggest_history_job,
    table_columns_job,
)
from mfg_desktop.qt.prepare.text import ERROR_STYLE, HINT_STYLE, LEAK_COLOR, OK_STYLE

if TYPE_CHECKING:
    from mfg_desktop.core.history import HistoryCheck, HistorySuggestion

CHECK_DEBOUNCE_MS = 300
WARNING_STYLE = f"color: {LEAK_COLOR};"


def _wrapping(label: QLabel) -> QLabel:
    label.setWordWrap(True)
    return label


class ResampleRow(QWidget):
    """Irregular timestamps on a fixed step first: the step ("" keeps the rows) and the gap rule."""

    edited = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.step = QLineEdit()
        self.step.setPlaceholderText(self.tr("off (e.g. 10s, 1min, 1h)"))
        self.step.setToolTip(self.tr("Put each entity's timestamps on this fixed step before the labels and "
                                     "windows: a row per step holds the readings of the step ending there, and "
                                     "window sizes then count steps."))
        self.max_gap = QSpinBox()
        self.max_gap.setRange(0, 1000)
        self.max_gap.setValue(DEFAULT_MAX_GAP)
        self.max_gap.setToolTip(self.tr("A gap of up to this many empty steps is filled with the last reading; a "
                                        "longer gap stays missing and is flagged in the column resampled_gap."))
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.step, 1)
        row.addWidget(QLabel(self.tr("fill gaps up to")))
        row.addWidget(self.max_gap)
        row.addWidget(QLabel(self.tr("steps")))
        self.step.textChanged.connect(lambda _t: self.edited.emit())
        self.max_gap.valueChanged.connect(lambda _v: self.edited.emit())

    def values(self) -> dict[str, Any]:
        """The HistoryChoices fields: resample (None: off) and max_gap."""
        return {"resample": self.step.text().strip() or None, "max_gap": int(self.max_gap.value())}

    def set_values(self, resample: str | None, max_gap: int) -> None:
        self.step.setText(resample or "")
        self.max_gap.setValue(int(max_gap))


class HistoryView(QGroupBox):
    """The history form; owns its worker jobs (suggest, check, read the label table, build)."""

    built = Signal(object)  # HistoryBuild
    cleared = Signal()
    time_columns_found = Signal(list)  # columns that say the rows are in time order
    failed = Signal(str)  # the build did not happen: why

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(self.tr("Sensor histories (machines, engines, tools, batches)"), parent)
        self.ctx = ctx
        self.session = ctx.session
        self.suggestion: HistorySuggestion | None = None
        self.time_columns: list[str] = []
        self.last_build: HistoryBuild | None = None
        self._built_choices: HistoryChoices | None = None
        self._pending: HistoryChoices | None = None  # saved choices waiting for the label table's columns
        self.suggest_task = TaskSlot(ctx, "suggest history", self)
        self.check_task = TaskSlot(ctx, "check history", self)
        self.table_task = TaskSlot(ctx, "read label table", self)
        self.build_task = TaskSlot(ctx, "build history", self)
        self.build_task.ended.connect(self._update_button)

        self.entity = _compact(QComboBox())
        self.order = _compact(QComboBox())
        self.suggestion_label = _wrapping(QLabel())
        self.suggestion_label.setStyleSheet(HINT_STYLE)
        self.check_label = _wrapping(QLabel())
        self.label_view = LabelRuleView()
        self.windows = _compact(QComboBox())
        for label, value, tip in (
            (self.tr("minimal"), "minimal", self.tr("Rolling mean, std and slope per size, and the change since "
                                                   "the entity's start")),
            (self.tr("extended"), "extended", self.tr("Also the rolling min and max, and lags 1 to 3")),
            (self.tr("none"), "none", self.tr("No window features: each row as it is")),
        ):
            self.windows.addItem(label, value)
            self.windows.setItemData(self.windows.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        self.sizes = QLineEdit("5, 10, 20")
        self.sizes.setToolTip(self.tr("The last W rows of each entity (W seconds for a timestamp order), "
                                      "from each row and the rows before it only."))
        self.sizes.setMaximumWidth(90)
        windows_row = QHBoxLayout()
        windows_row.addWidget(self.windows, 1)
        windows_row.addWidget(QLabel(self.tr("sizes")))
        windows_row.addWidget(self.sizes)
        self.resample = ResampleRow()
        self.build_button = QPushButton(self.tr("Build label and window features"))
        self.build_button.clicked.connect(self.build)
        self.status_label = _wrapping(QLabel())
        self.status_label.setTextFormat(Qt.TextFormat.RichText)
        self.ticked_label = _wrapping(QLabel())
        self.ticked_label.setStyleSheet(WARNING_STYLE)

        form = QFormLayout(self)
        form.addRow(self.tr("Rows of"), self.entity)
        form.addRow(self.tr("Order"), self.order)
        form.addRow(self.suggestion_label)
        form.addRow(self.check_label)
        form.addRow(self.label_view)
        form.addRow(self.tr("Resample"), self.resample)
        form.addRow(self.tr("Windows"), windows_row)
        form.addRow(self.build_button)
        form.addRow(self.status_label)
        form.addRow(self.ticked_label)
        self._form, self._windows_row = form, windows_row

        self._check_timer = QTimer(self)
        self._check_timer.setSingleShot(True)
        self._check_timer.setInterval(CHECK_DEBOUNCE_MS)
        self._check_timer.timeout.connect(self._start_check)
        self.entity.currentIndexChanged.connect(self._entity_changed)
        self.order.currentIndexChanged.connect(lambda _i: self._edited())
        self.windows.currentIndexChanged.connect(lambda _i: self._edited())
        self.sizes.textChanged.connect(lambda _t: self._edited())
        self.resample.edited.connect(self._edited)
        self.label_view.edited.connect(self._edited)
        self.label_view.table_chosen.connect(self._read_table)
        self._show_active(False)
        self._form.setRowVisible(self.ticked_label, False)

    # -- data -----------------------------------------------------------------------------------
    def set_data(self, frame: Any) -> None:
        """New data: no history set-up yet; the suggestion is computed on a worker."""
        for task in (self.suggest_task, self.check_task, self.table_task, self.build_task):
            task.drop()
        self.suggestion, self.time_columns, self.last_build, self._built_choices = None, [], None, None
        self._fill_entities([])
        self.suggestion_label.setText("")
        self.check_label.setText("")
        self.status_label.setText("")
        if frame is None:
            return
        self._fill_entities([str(c) for c in frame.columns])
        self.label_view.set_history_columns([str(c) for c in frame.columns])
        self.suggest_task.start(suggest_history_job, frame, title=self.tr("Looking for histories"),
                                on_done=self._suggested, track=False)

    def _columns(self) -> list[str]:
        frame = self.session.frame
        return [str(c) for c in frame.columns] if frame is not None else []

    def _fill_entities(self, columns: list[str], keep: bool = False) -> None:
        """Offer ``columns``; pre-select the suggestion, or with ``keep`` what is chosen now."""
        kept_entity, kept_order = self.entity.currentData(), self.order.currentData()
        self.entity.blockSignals(True)
        self.entity.clear()
        for option in entity_options(columns, self.suggestion):
            if option.column is None:
                text = self.tr("(none: independent rows)")
            elif option.column == ONE_HISTORY:
                text = self.tr("(one history: all rows are one machine's)")
            elif option.column == SOURCE_FILE:
                text = (self.tr("{column} — one history per loaded file (suggested)") if option.suggested
                        else self.tr("{column} — one history per loaded file")).format(column=option.column)
            elif option.suggested:
                text = self.tr("{column} (suggested)").format(column=option.column)
            else:
                text = option.column
            self.entity.addItem(text, option.column)
        if keep:
            self.entity.setCurrentIndex(max(self.entity.findData(kept_entity), 0))
        elif self.suggestion is not None and self.suggestion.entity:
            self.entity.setCurrentIndex(self.entity.findData(self.suggestion.entity))
        self.entity.blockSignals(False)
        self._fill_orders()
        if keep:
            self.order.setCurrentIndex(max(self.order.findData(kept_order), 0))

    def _fill_orders(self) -> None:
        entity = self.choices_entity()
        self.order.blockSignals(True)
        self.order.clear()
        for option in order_options(self._columns(), self.suggestion, entity):
            if option.column is None:
                text = self.tr("(row order in the file)")
            elif option.suggested:
                text = self.tr("{column} (suggested)").format(column=option.column)
            else:
                text = option.column
            self.order.addItem(text, option.column)
        if self.suggestion is not None and self.suggestion.order and self.suggestion.entity == entity:
            self.order.setCurrentIndex(max(self.order.findData(self.suggestion.order), 0))
        self.order.blockSignals(False)

    def _suggested(self, result: tuple[HistorySuggestion, list[str]]) -> None:
        self.suggestion, self.time_columns = result
        self.time_columns_found.emit(list(self.time_columns))
        s = self.suggestion
        # a set-up already built or being built (saved work restored) is the user's: keep it
        chosen = self.last_build is not None or self.build_task.is_running() or self._pending is not None
        self._fill_entities(self._columns(), keep=chosen)
        if s.entity:
            entity_why = dict(s.entity_candidates).get(s.entity, "")
            order_why = dict(s.order_candidates).get(s.order, "") if s.order else ""
            if s.order:
                text = self.tr("Suggested: rows of {entity} ({why}), in the order of {order} ({order_why}). "
                               "Nothing changes until you build.")
            else:
                text = self.tr("Suggested: rows of {entity} ({why}), in the row order of each file. "
                               "Nothing changes until you build.")
            text = text.format(entity=s.entity, why=entity_why, order=s.order, order_why=order_why)
        else:
            text = self.tr("No column looks like a machine or batch id: the rows are taken as independent.")
        self.suggestion_label.setText(text)
        self._entity_changed()

    # -- the form -------------------------------------------------------------------------------
    def choices(self) -> HistoryChoices:
        """What the form says now."""
        single = self.entity.currentData() == ONE_HISTORY
        choices = HistoryChoices(entity=self.choices_entity(), order=self.order.currentData(), single=single,
                                 windows=self.windows.currentData(), sizes_text=self.sizes.text(),
                                 **self.resample.values())
        self.label_view.fill(choices)
        return choices

    def choices_entity(self) -> str | None:
        """The entity column chosen (None for independent rows and for one history)."""
        data = self.entity.currentData()
        return None if data == ONE_HISTORY else data

    def set_entity(self, entity: str | None, order: str | None = None, single: bool = False) -> None:
        """Choose the entity and order columns as the user would (for scripts and tests);
        ``single``: all rows are one history."""
        self.entity.setCurrentIndex(self.entity.findData(ONE_HISTORY if single else entity))
        self.order.setCurrentIndex(max(self.order.findData(order), 0))

    def set_windows(self, windows: str, sizes: str | None = None) -> None:
        self.windows.setCurrentIndex(self.windows.findData(windows))
        if sizes is not None:
            self.sizes.setText(sizes)

    def _show_active(self, active: bool) -> None:
        for row in (self.order, self.label_view, self.resample, self._windows_row, self.build_button,
                    self.check_label):
            self._form.setRowVisible(row, active)

    @Slot()
    def _entity_changed(self, *_args: Any) -> None:
        self._fill_orders()
        selected, entity = self.entity.currentData(), self.choices_entity()
        self._show_active(selected is not None)
        frame = self.session.frame
        self.label_view.set_entities(frame, entity, entity_values(frame, entity) if frame is not None else [])
        if selected is None and self.session.history is not None:
            self.last_build, self._built_choices = None, None
            self.cleared.emit()
        self._edited()

    def _edited(self) -> None:
        choices = self.choices()
        self.label_view.show_choices(choices)
        self._check_timer.start()
        self._show_status()

    # -- checking -------------------------------------------------------------------------------
    def _start_check(self) -> None:
        self._check_timer.stop()
        frame = self.session.frame
        choices = self.choices()
        if frame is None or not choices.active:
            self.check_label.setText("")
            return
        try:
            spec = choices.spec()
        except MfgError as exc:
            self._show_problem(str(exc))
            return
        self.check_task.start(check_history_job, frame, spec, title=self.tr("Checking the histories"),
                              on_done=self._checked, on_error=self._check_failed, track=False)

    def _show_problem(self, text: str) -> None:
        self.check_label.setStyleSheet(ERROR_STYLE)
        self.check_label.setText(text)
        self._update_button()

    def _checked(self, check: HistoryCheck) -> None:
        if not check.ok:
            self._show_problem("\n".join(str(e) for e in check.errors))
            return
        numbers = {"shortest": check.shortest, "longest": check.longest}
        if order_is_time(self.session.frame, self.choices().order):
            text = trn("{n} entity of {longest:g} seconds.", "{n} entities, {shortest:g} to {longest:g} seconds each.",
                       check.n_entities, **numbers)
        else:
            text = trn("{n} entity of {longest:g} rows.", "{n} entities, {shortest:g} to {longest:g} rows each.",
                       check.n_entities, **numbers)
        style = OK_STYLE
        if check.warnings:
            text += "\n" + "\n".join(check.warnings)
            style = WARNING_STYLE
        self.check_label.setStyleSheet(style)
        self.check_label.setText(text)
        self._update_button()

    def _check_failed(self, exc: BaseException) -> None:
        if isinstance(exc, MfgError):
            self._show_problem(str(exc))
        else:
            self.ctx.report_error(exc, self.tr("checking the histories"))

    # -- the label table ------------------------------------------------------------------------
    def _read_table(self, path: str) -> None:
        self.table_task.start(table_columns_job, path, title=self.tr("Reading the label table"),
                              on_done=self._table_read, on_error=self._table_failed)

    def _table_read(self, columns: list[str]) -> None:
        self.label_view.set_table_columns(columns)
        pending, self._pending = self._pending, None
        if pending is not None:  # restoring saved work: its keys, then the build
            self.label_view.set_join(pending.join_key, pending.history_key, pending.join_target)
            self.build()

    def _table_failed(self, exc: BaseException) -> None:
        if self._pending is not None:
            self._pending = None
            self.failed.emit(str(exc))
        self._check_failed(exc)

    # -- saved work -----------------------------------------------------------------------------
    def saved_choices(self) -> dict[str, Any] | None:
        """The set-up in use (built), as saved work keeps it; None for independent rows."""
        if self.session.history is None or self._built_choices is None:
            return None
        return self._built_choices.to_dict()

    def restore(self, saved: dict[str, Any]) -> None:
        """Fill the form with saved choices and build them (``built`` or ``failed`` follows)."""
        try:
            choices = HistoryChoices.from_dict(saved)
        except MfgError as exc:
            self.failed.emit(str(exc))
            return
        self.set_entity(choices.entity, choices.order, choices.single)
        self.label_view.set_rule(choices.label)
        self.label_view.set_label_numbers(choices.rul_cap, choices.fails_within)
        self.set_windows(choices.windows, choices.sizes_text)
        self.resample.set_values(choices.resample, choices.max_gap)
        if choices.label == LABEL_JOIN and choices.join_path:
            self._pending = choices
            self.label_view.set_table(choices.join_path)  # its columns are read, then it builds
        elif self.build() is None:
            self.failed.emit(self.check_label.text() or self.status_label.text())

    # -- building -------------------------------------------------------------------------------
    def can_build(self) -> bool:
        return (self.session.frame is not None and self.choices().active
                and not self.build_task.is_running() and self.check_label.styleSheet() != ERROR_STYLE)

    def _update_button(self) -> None:
        self.build_button.setEnabled(self.can_build())

    def build(self) -> Any:
        """Build the label and window features on a worker (progress and Cancel in the status bar)."""
        frame = self.session.frame
        choices = self.choices()
        if frame is None or not choices.active:
            return None
        try:
            choices.spec()
            choices.target(self.session.target)
        except MfgError as exc:
            self._show_problem(str(exc))
            return None
        files = [str(f.path) for f in getattr(self.session.data, "files", []) or []]
        self.status_label.setStyleSheet(HINT_STYLE)
        self.status_label.setText(html.escape(self.tr("Building the label and the window features…")))
        job = self.build_task.start(build_history, frame, choices, self.session.target, files,
                                    title=self.tr("Building history features"),
                                    context=self.tr("building the history features"),
                                    on_done=lambda built: self._built(built, choices),
                                    on_error=self._build_failed, on_cancelled=self._build_cancelled)
        self._update_button()
        return job

    def forget_build(self) -> None:
        """The build no longer applies (the Data step's target it kept changed)."""
        self.last_build, self._built_choices = None, None
        self._show_status()

    def built_label(self) -> str | None:
        """The label rule of the build in use, or None."""
        return self._built_choices.label if self._built_choices is not None else None

    def _built(self, built: HistoryBuild, choices: HistoryChoices) -> None:
        self.last_build, self._built_choices = built, choices
        self.built.emit(built)
        self._show_status(finished=True)

    def _build_failed(self, exc: BaseException) -> None:
        self.failed.emit(str(exc))
        if isinstance(exc, MfgError):
            self.status_label.setStyleSheet(ERROR_STYLE)
            self.status_label.setText(html.escape(str(exc)))
        else:
            self.status_label.setText("")
            self.ctx.report_error(exc, self.tr("building the history features"))

    def _build_cancelled(self) -> None:
        self.failed.emit(self.tr("Building was cancelled; nothing changed."))
        self.status_label.setStyleSheet(HINT_STYLE)
        self.status_label.setText(html.escape(self.tr("Building was cancelled; nothing changed.")))

    def _show_status(self, finished: bool = False) -> None:
        """What is applied now: independent rows, the build (with its join report), or a stale build.

        ``finished``: the build just delivered (its thread may still be winding down)."""
        if self.build_task.is_running() and not finished:
            return  # "Building…" stays until the build ends
        built = self.last_build
        if built is None:
            active = self.entity.currentData() is not None
            text = self.tr("Not built yet: the Train step trains on the rows as loaded.") if active else ""
            self.status_label.setStyleSheet(HINT_STYLE)
            self.status_label.setText(html.escape(text))
            return
        lines = [self.tr("✓ Built: {rows:,} rows, {features} window features; the target is {target}.").format(
            rows=len(built.frame), features=built.n_features, target=built.target)]
        lines += built.join_lines
        lines += built.warnings
        color = "#1e7b34"
        if self._built_choices is not None and self._built_choices != self.choices():
            lines.append(self.tr("The settings changed since: build again to use them."))
            color = LEAK_COLOR
        self.status_label.setStyleSheet("")
        self.status_label.setText(f"<span style='color:{color}'>" + "<br>".join(map(html.escape, lines))
                                  + "</span>")

    def show_context_warnings(self, used: list[str]) -> list[str]:
        """Warn for each entity / order / source-file column ticked as an input on purpose."""
        built = self.last_build
        out = [context_warning(role).format(column=column)
               for column, role in ticked_context(built.roles if built is not None else {}, used)]
        self.ticked_label.setText("\n".join(out))
        self._form.setRowVisible(self.ticked_label, bool(out))
        return out


def context_warning(role: str) -> str:
    """What ticking a context column of ``role`` as an input costs ({column} to be filled)."""
    translate = QCoreApplication.translate
    if role == ROLE_ENTITY:
        return translate("HistoryView", "⚠ '{column}' is the entity id and an input: the model learns which machine "
                                        "a row is from, which tells nothing about a new machine.")
    if role == ROLE_ORDER:
        return translate("HistoryView", "⚠ '{column}' is the order column and an input: the model learns the time "
                                        "or cycle itself, and test rows then have values training never saw.")
    return translate("HistoryView", "⚠ '{column}' is the source file and an input: every file the model scores "
                                    "must have one of the training files' names.")
