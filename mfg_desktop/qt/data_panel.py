"""The Data step: the table, the data-quality view, the target picker and what the target implies.

Profiling, target analysis and plot data are computed by core on worker threads; this panel
only renders what the session holds. pandas and pyqtgraph are imported when data first arrives.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QCoreApplication, QModelIndex, QSize, Qt, QTimer, Slot
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QStackedLayout,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from mfg_desktop.qt.context import AppContext
from mfg_desktop.qt.workers import Job, run_in_thread

if TYPE_CHECKING:
    from mfg_desktop.core.ingest import LoadedData
    from mfg_desktop.core.profile import DataProfile, TargetReport

# Beyond this many classes the balance table shows the largest ones only.
MAX_CLASS_ROWS = 25
PROFILE_DELAY_MS = 50


def _profile_job(frame, state) -> DataProfile:
    from mfg_desktop.core.profile import profile_frame

    return profile_frame(frame, state=state)


def _target_job(frame, target, profile, state) -> TargetReport:
    from mfg_desktop.core.profile import analyze_target

    return analyze_target(frame, target, profile=profile, state=state)


def _column_plot_job(series, kind: str, state) -> tuple:
    """Plot data for one column: ('histogram', counts, edges, is_dates) or ('counts', pairs)."""
    # Import pyqtgraph here, off the GUI thread, which would otherwise freeze for about a second
    # when it creates the first plot.
    import mfg_desktop.qt.plots  # noqa: F401
    from mfg_desktop.core.profile import histogram, value_counts

    if kind in ("numeric", "integer", "datetime"):
        counts, edges = histogram(series, bins=30)
        return ("histogram", counts, edges, kind == "datetime")
    return ("counts", value_counts(series, top=20))


def task_text(task: str) -> str:
    tr = QCoreApplication.translate
    return {
        "binary": tr("DataPanel", "binary classification (two classes)"),
        "multiclass": tr("DataPanel", "multiclass classification"),
        "regression": tr("DataPanel", "regression (predict a number)"),
    }.get(task, task)


def _bytes_text(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


def _settings_text(settings: Any) -> str:
    """'UTF-8 with BOM · delimiter ; · decimal ,' for a core FileSettings (CSV) or the sheet (Excel)."""
    tr = QCoreApplication.translate
    parts = []
    if getattr(settings, "sheet", None) not in (None, ""):
        parts.append(tr("DataPanel", "sheet {sheet}").format(sheet=settings.sheet))
    encoding = getattr(settings, "encoding", None)
    if encoding:
        parts.append(tr("DataPanel", "encoding {e}").format(e=encoding))
    delimiter = getattr(settings, "delimiter", None)
    if delimiter:
        shown = {"\t": tr("DataPanel", "Tab"), " ": tr("DataPanel", "space")}.get(delimiter, delimiter)
        if delimiter not in ("\t", " ", ",", ";", "|"):
            shown = tr("DataPanel", "whitespace")
        parts.append(tr("DataPanel", "delimiter {d}").format(d=shown if len(shown) > 1 else f"'{shown}'"))
    decimal = getattr(settings, "decimal", None)
    if decimal and decimal != ".":
        parts.append(tr("DataPanel", "decimal {d}").format(d=decimal))
    return " · ".join(parts)


class RowNumberHeader(QHeaderView):
    """Vertical header sized for the row numbers of the whole frame, not measured section by section.

    QHeaderView's own size hint asks the model for the header data of a few hundred rows again
    after every fetchMore; the numbers' width is known from the frame's row count.
    """

    def __init__(self, parent=None) -> None:
        super().__init__(Qt.Orientation.Vertical, parent)
        self.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.setDefaultAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self._digits = 1

    def set_total_rows(self, rows: int) -> None:
        self._digits = len(str(max(rows, 1)))
        self.updateGeometry()

    def sizeHint(self) -> QSize:
        return QSize(self.fontMetrics().horizontalAdvance("0" * self._digits) + 14, self.defaultSectionSize())


class DataPanel(QWidget):
    """Page of the Data step. Observes ``window.session``; starts core jobs on worker threads."""

    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.session = ctx.session
        self.table_model = None
        self.profile_model = None
        self.profile_job: Job | None = None
        self.target_job: Job | None = None
        self.plot_job: Job | None = None
        self.plot_column: str | None = None
        self.histogram = None

        self._stack = QStackedLayout(self)
        self._stack.addWidget(self._build_empty_page())
        self._stack.addWidget(self._build_content_page())

        self.session.data_changed.connect(self._on_data)
        self.session.profile_changed.connect(self._on_profile)
        self.session.target_changed.connect(self._on_target)
        self.session.target_report_changed.connect(self._on_target_report)
        if self.session.data is not None:
            self._on_data(self.session.data)

    # -- layout ---------------------------------------------------------------------------------
    def _build_empty_page(self) -> QWidget:
        page = QWidget()
        title = QLabel(self.tr("Start with your data"))
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 1.8)
        font.setBold(True)
        title.setFont(font)
        text = QLabel(
            self.tr(
                "Open CSV, text or Excel exports from your MES, SCADA or inspection station. "
                "Several files with the same columns (one per day, per line) are joined into one table."
            )
        )
        text.setWordWrap(True)
        text.setMaximumWidth(560)
        open_button = QPushButton(self.tr("Open files…"))
        open_button.clicked.connect(self.ctx.open_files_requested.emit)
        sample_button = QPushButton(self.tr("Open sample data"))
        sample_button.clicked.connect(self.ctx.sample_data_requested.emit)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(open_button)
        buttons.addWidget(sample_button)
        buttons.addStretch(1)
        hint = QLabel(self.tr("…or drop files on this window."))
        hint.setStyleSheet("color: #666;")
        layout = QVBoxLayout(page)
        layout.addStretch(1)
        for widget in (title, text):
            layout.addWidget(widget, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addSpacing(12)
        layout.addLayout(buttons)
        layout.addWidget(hint, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(2)
        return page

    def _build_content_page(self) -> QWidget:
        page = QWidget()
        self.summary_label = QLabel()
        self.summary_label.setTextFormat(Qt.TextFormat.RichText)
        self.summary_label.setWordWrap(True)

        # left: the table and the per-column quality view
        self.table_view = QTableView()
        self.table_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.table_view.setAlternatingRowColors(True)
        self.table_view.setWordWrap(False)
        header = self.table_view.horizontalHeader()
        header.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)  # no sort of a million rows at load
        header.setMaximumSectionSize(320)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        vertical = RowNumberHeader(self.table_view)
        self.table_view.setVerticalHeader(vertical)
        vertical.setDefaultSectionSize(self.table_view.fontMetrics().height() + 8)
        self.table_view.setSortingEnabled(True)

        self.profile_view = QTableView()
        self.profile_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.profile_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.profile_view.setWordWrap(False)
        self.profile_view.verticalHeader().setDefaultSectionSize(self.profile_view.fontMetrics().height() + 8)
        self.profile_view.verticalHeader().hide()
        self.profile_view.horizontalHeader().setStretchLastSection(True)
        self.profile_status = QLabel()
        self.quality_notes = QTextBrowser()
        self.quality_notes.setMaximumHeight(130)
        quality = QWidget()
        quality_layout = QVBoxLayout(quality)
        quality_layout.setContentsMargins(0, 4, 0, 0)
        quality_layout.addWidget(self.profile_status)
        quality_layout.addWidget(self.profile_view, 1)
        quality_layout.addWidget(self.quality_notes)

        self.tabs = QTabWidget()
        self.tabs.addTab(quality, self.tr("Data quality"))
        self.tabs.addTab(self.table_view, self.tr("Table"))

        # right: target and distribution
        self.target_combo = QComboBox()
        self.target_combo.setMinimumContentsLength(24)
        self.target_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.target_combo.activated.connect(self._target_chosen)
        self.task_label = QLabel()
        self.task_label.setWordWrap(True)
        self.balance_table = QTableWidget(0, 3)
        self.balance_table.setHorizontalHeaderLabels([self.tr("Class"), self.tr("Rows"), self.tr("Share")])
        self.balance_table.verticalHeader().hide()
        self.balance_table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.balance_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.leak_view = QTextBrowser()
        self.leak_view.setOpenLinks(False)
        target_box = QGroupBox(self.tr("Target: what should the model predict?"))
        target_layout = QVBoxLayout(target_box)
        target_layout.addWidget(self.target_combo)
        target_layout.addWidget(self.task_label)
        target_layout.addWidget(self.balance_table)
        target_layout.addWidget(self.leak_view, 1)
        self.balance_table.hide()
        self.leak_view.hide()

        self.plot_box = QGroupBox(self.tr("Distribution"))
        self.plot_layout = QVBoxLayout(self.plot_box)
        self.plot_hint = QLabel(self.tr("Select a column to see its distribution."))
        self.plot_hint.setStyleSheet("color: #666;")
        self.plot_layout.addWidget(self.plot_hint)

        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(target_box, 3)
        side_layout.addWidget(self.plot_box, 2)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.tabs)
        splitter.addWidget(side)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([760, 440])
        self.splitter = splitter

        layout = QVBoxLayout(page)
        layout.setContentsMargins(4, 0, 4, 4)
        layout.addWidget(self.summary_label)
        line = QFrame()
        line.setFrameShape(QFrame.Shape.HLine)
        line.setFrameShadow(QFrame.Shadow.Sunken)
        layout.addWidget(line)
        layout.addWidget(splitter, 1)
        return page

    # -- data -----------------------------------------------------------------------------------
    @Slot(object)
    def _on_data(self, data: LoadedData | None) -> None:
        for job in (self.profile_job, self.target_job, self.plot_job):
            if job is not None:
                job.cancel()
        self.profile_job = self.target_job = self.plot_job = None
        if data is None:
            self._stack.setCurrentIndex(0)
            return
        from mfg_desktop.qt.table_model import DataFrameModel

        frame = data.frame
        old = self.table_model
        self.table_model = DataFrameModel(frame, parent=self)
        self.table_view.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.table_view.setModel(self.table_model)
        self.table_view.verticalHeader().set_total_rows(len(frame))
        if old is not None:
            old.deleteLater()
        self._fit_table_columns()
        self.table_view.selectionModel().currentColumnChanged.connect(self._table_column_selected)
        self.profile_view.setModel(None)
        if self.profile_model is not None:
            self.profile_model.deleteLater()
            self.profile_model = None
        self.quality_notes.clear()
        self.plot_column = None
        if self.histogram is not None:
            self.histogram.clear()
        self._update_summary(data, None)
        self.target_combo.clear()
        self.target_combo.addItem(self.tr("profiling the data…"))
        self.target_combo.setEnabled(False)
        self._show_target_report(None)
        self.profile_status.setText(self.tr("Profiling {n} columns…").format(n=frame.shape[1]))
        self._stack.setCurrentIndex(1)
        # Start profiling once the table has been painted: a worker running Python slows every
        # call the view makes into the model, and the first paint is the one the user waits for.
        QTimer.singleShot(PROFILE_DELAY_MS, lambda: self._start_profile(data))

    def _start_profile(self, data: LoadedData) -> None:
        if data is not self.session.data or self.ctx.closing or self.profile_job is not None:
            return
        job = run_in_thread(_profile_job, data.frame, name="profile")
        self.profile_job = job
        job.finished.connect(lambda profile, j=job: self._profiled(j, profile))
        job.errored.connect(lambda exc, j=job: self._job_failed(j, exc, self.tr("profiling the data")))
        self.ctx.track(job, self.tr("Profiling"))

    def _fit_table_columns(self) -> None:
        header = self.table_view.horizontalHeader()
        for column, width in enumerate(self.table_model.column_widths(header.fontMetrics())):
            header.resizeSection(column, width)

    def _update_summary(self, data: LoadedData, profile: DataProfile | None) -> None:
        frame = data.frame
        files = list(getattr(data, "files", []) or [])
        if len(files) == 1:
            source = html.escape(Path(str(files[0].path)).name)
            details = html.escape(_settings_text(files[0]))
        else:
            source = html.escape(self.tr("{n} files").format(n=len(files)))
            details = html.escape(
                ", ".join(Path(str(f.path)).name for f in files[:4]) + (" …" if len(files) > 4 else "")
            )
        parts = [
            self.tr("{rows:,} rows").format(rows=len(frame)),
            self.tr("{cols} columns").format(cols=frame.shape[1]),
        ]
        if profile is not None:
            parts.append(self.tr("{n:,} duplicate rows").format(n=profile.duplicate_rows))
            parts.append(self.tr("{size} in memory").format(size=_bytes_text(profile.memory_bytes)))
        stats = " · ".join(html.escape(p) for p in parts)
        self.summary_label.setText(
            f"<span style='font-size:13pt; font-weight:600'>{source}</span>&nbsp;&nbsp; {stats}"
            f"<br><span style='color:#666'>{details}</span>"
        )

    def _job_failed(self, job: Job, exc: BaseException, context: str) -> None:
        if job in (self.profile_job, self.target_job, self.plot_job):
            self.ctx.report_error(exc, context)
            if job is self.profile_job:
                self.profile_status.setText(self.tr("The data could not be profiled."))

    # -- profile --------------------------------------------------------------------------------
    def _profiled(self, job: Job, profile: DataProfile) -> None:
        if job is self.profile_job:
            self.session.set_profile(profile)

    @Slot(object)
    def _on_profile(self, profile: DataProfile | None) -> None:
        if profile is None or self.session.data is None:
            return
        from mfg_desktop.qt.profile_model import ProfileModel, kind_text

        self._update_summary(self.session.data, profile)
        self.profile_model = ProfileModel(profile, parent=self)
        self.profile_view.setModel(self.profile_model)
        header = self.profile_view.horizontalHeader()
        # the last column (notes) takes the remaining width (stretchLastSection); long notes are
        # elided, the tooltip and the details below the table show them whole
        for column, width in enumerate(self.profile_model.column_widths(header.fontMetrics())[:-1]):
            header.resizeSection(column, width)
        self.profile_view.selectionModel().currentRowChanged.connect(self._profile_row_selected)
        flagged = sum(1 for c in profile.columns if c.warnings)
        self.profile_status.setText(
            self.tr("{n} columns, {flagged} with warnings. Select a row for details.").format(
                n=len(profile.columns), flagged=flagged
            )
        )
        self._show_quality_notes(None)
        if self.table_model is not None:
            self.table_model.set_column_kinds({c.name: kind_text(c.kind) for c in profile.columns})
            self._fit_table_columns()  # the header's type words changed
        self._fill_target_combo(profile)
        flagged_columns = [c.name for c in profile.columns if c.warnings]
        if profile.columns:
            self.select_column(flagged_columns[0] if flagged_columns else profile.columns[0].name)

    def _show_quality_notes(self, column: str | None) -> None:
        profile = self.session.profile
        if profile is None:
            return
        blocks = []
        if column is not None:
            col = profile.column(column)
            lines = list(col.warnings)
            report = self.session.target_report
            if report is not None:
                if column in report.columns:
                    lines.insert(0, self.tr("This is the target."))
                lines[:0] = [
                    self.tr("Likely leak: {reason}").format(reason=s.reason)
                    for s in report.leak_suspects
                    if s.column == column
                ]
            items = "".join(f"<li>{html.escape(w)}</li>" for w in lines) or (
                f"<li>{html.escape(self.tr('No problems found.'))}</li>"
            )
            blocks.append(f"<b>{html.escape(column)}</b><ul style='margin:2px'>{items}</ul>")
        if profile.warnings:
            items = "".join(f"<li>{html.escape(w)}</li>" for w in profile.warnings)
            blocks.append(f"<b>{html.escape(self.tr('Whole table'))}</b><ul style='margin:2px'>{items}</ul>")
        elif column is None:
            blocks.append(html.escape(self.tr("No table-wide problems found.")))
        self.quality_notes.setHtml("".join(blocks))

    def _fill_target_combo(self, profile: DataProfile) -> None:
        from mfg_desktop.core.task import _group_name

        combo = self.target_combo
        combo.clear()
        combo.addItem(self.tr("— choose the column to predict —"), None)
        for group in profile.onehot_groups:
            shown = ", ".join(group[:3]) + (", …" if len(group) > 3 else "")
            label = self.tr("{name} ({n} columns: {columns})").format(
                name=_group_name(group), n=len(group), columns=shown
            )
            combo.addItem(label, list(group))
            combo.setItemData(combo.count() - 1, ", ".join(group), Qt.ItemDataRole.ToolTipRole)
        if profile.onehot_groups:
            combo.insertSeparator(combo.count())
        for col in profile.columns:
            combo.addItem(col.name, col.name)
        combo.setEnabled(True)
        target = self.session.target
        if target is not None:
            index = combo.findData(target)
            combo.setCurrentIndex(max(index, 0))

    def target_options(self) -> list[tuple[str, Any]]:
        """(label, target) pairs offered by the target picker; target is a name or a list of names."""
        combo = self.target_combo
        return [
            (combo.itemText(i), combo.itemData(i))
            for i in range(combo.count())
            if combo.itemData(i) is not None
        ]

    @Slot(int)
    def _target_chosen(self, index: int) -> None:
        self.pick_target(self.target_combo.itemData(index))

    def pick_target(self, target: str | list[str] | None) -> None:
        """Choose the target (a column name, or a one-hot group as a list) and analyse it."""
        combo_index = self.target_combo.findData(target) if target is not None else 0
        if combo_index >= 0 and combo_index != self.target_combo.currentIndex():
            self.target_combo.setCurrentIndex(combo_index)
        self.session.set_target(target)

    # -- target ---------------------------------------------------------------------------------
    @Slot(object)
    def _on_target(self, target: str | list[str] | None) -> None:
        if self.target_job is not None:
            self.target_job.cancel()
            self.target_job = None
        if target is None or self.session.frame is None:
            return
        self.task_label.setText(self.tr("Analysing the target and looking for leaks…"))
        if self.ctx.closing:
            return
        job = run_in_thread(_target_job, self.session.frame, target, self.session.profile, name="target")
        self.target_job = job
        job.finished.connect(lambda report, j=job: self._target_analysed(j, report))
        job.errored.connect(lambda exc, j=job: self._target_failed(j, exc))
        self.ctx.track(job, self.tr("Analysing the target"))
        if isinstance(target, str):
            self.select_column(target)

    def _target_analysed(self, job: Job, report: TargetReport) -> None:
        if job is self.target_job:
            self.session.set_target_report(report)

    def _target_failed(self, job: Job, exc: BaseException) -> None:
        if job is self.target_job:
            self.task_label.setText(self.tr("This target cannot be used: see the message above."))
            self._job_failed(job, exc, self.tr("analysing the target"))

    @Slot(object)
    def _on_target_report(self, report: TargetReport | None) -> None:
        self._show_target_report(report)
        if self.profile_model is not None:
            self.profile_model.set_target_report(report)
            current = self.profile_view.currentIndex()
            if current.isValid():
                self._show_quality_notes(self.profile_model.column_profile(current.row()).name)

    def _show_target_report(self, report: TargetReport | None) -> None:
        if report is None:
            if self.session.target is None:
                self.task_label.setText(
                    self.tr(
                        "Pick the column the model should predict, e.g. pass/fail, failure or fault type."
                    )
                )
            self.balance_table.hide()
            self.leak_view.hide()
            self.leak_view.clear()
            return
        task = task_text(report.task)
        if report.task == "multiclass" and report.class_counts:
            task = self.tr("{task}, {n} classes").format(task=task, n=len(report.class_counts))
        self.task_label.setText(self.tr("<b>Task:</b> {task}").format(task=html.escape(task)))
        self._fill_balance(report)
        self.leak_view.setHtml(self._report_html(report))
        self.leak_view.show()

    def _fill_balance(self, report: TargetReport) -> None:
        counts = sorted(report.class_counts.items(), key=lambda kv: -kv[1])[:MAX_CLASS_ROWS]
        table = self.balance_table
        table.setRowCount(len(counts))
        total = sum(report.class_counts.values()) or 1
        for row, (label, count) in enumerate(counts):
            share = count / total
            items = [
                QTableWidgetItem(label),
                QTableWidgetItem(f"{count:,}"),
                QTableWidgetItem(f"{share:.1%}"),
            ]
            for column, item in enumerate(items):
                if column:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if share < 0.05:  # a rare class: the reason accuracy is misleading
                    item.setBackground(QColor(255, 236, 204))
                table.setItem(row, column, item)
        table.resizeColumnsToContents()
        table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        shown_rows = min(len(counts), 6)
        table.setFixedHeight(
            table.horizontalHeader().height() + shown_rows * table.verticalHeader().defaultSectionSize() + 4
        )
        table.setVisible(bool(counts))

    def _report_html(self, report: TargetReport) -> str:
        parts = []
        if report.leak_suspects:
            title = self.tr("Likely leaks — leave these out of the inputs ({n})").format(
                n=len(report.leak_suspects)
            )
            items = "".join(
                f"<li><b>{html.escape(s.column)}</b>: {html.escape(s.reason)}</li>"
                for s in report.leak_suspects
            )
            parts.append(
                f"<p style='color:#b3261e; font-weight:600; margin:0'>⚠ {html.escape(title)}</p>"
                f"<ul style='margin-top:2px'>{items}</ul>"
            )
        else:
            parts.append(f"<p style='color:#2e7d32'>{html.escape(self.tr('No likely leaks found.'))}</p>")
        others = [w for w in report.warnings if not w.startswith("Likely leaks")]
        if others:
            items = "".join(f"<li>{html.escape(w)}</li>" for w in others)
            parts.append(
                f"<p style='font-weight:600; margin:0'>{html.escape(self.tr('Notes'))}</p><ul>{items}</ul>"
            )
        return "".join(parts)

    # -- distribution plot ----------------------------------------------------------------------
    @Slot(QModelIndex, QModelIndex)
    def _table_column_selected(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid() and self.table_model is not None:
            self.show_column(self.table_model.column_name(current.column()))

    @Slot(QModelIndex, QModelIndex)
    def _profile_row_selected(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid() and self.profile_model is not None:
            name = self.profile_model.column_profile(current.row()).name
            self._show_quality_notes(name)
            self.show_column(name)

    def select_column(self, name: str) -> None:
        """Select column ``name`` in the quality view: its details below, its distribution on the right."""
        if self.profile_model is None:
            self.show_column(name)
            return
        for row in range(self.profile_model.rowCount()):
            if self.profile_model.column_profile(row).name == name:
                self.profile_view.setCurrentIndex(self.profile_model.index(row, 0))
                self.profile_view.scrollTo(self.profile_model.index(row, 0))
                return

    def show_column(self, name: str) -> None:
        """Plot the distribution of column ``name`` (computed on a worker thread)."""
        frame = self.session.frame
        if frame is None or name == self.plot_column or name not in frame.columns or self.ctx.closing:
            return
        self.plot_column = name
        profile = self.session.profile
        kind = profile.column(name).kind if profile is not None else self._kind_from_dtype(frame[name].dtype)
        if self.plot_job is not None:
            self.plot_job.cancel()
        job = run_in_thread(_column_plot_job, frame[name], kind, name="plot")
        self.plot_job = job
        job.finished.connect(lambda result, j=job, n=name: self._plot_ready(j, n, result))
        job.errored.connect(
            lambda exc, j=job: self._job_failed(j, exc, self.tr("plotting {name}").format(name=name))
        )

    @staticmethod
    def _kind_from_dtype(dtype: Any) -> str:
        import pandas as pd

        if pd.api.types.is_bool_dtype(dtype):
            return "boolean"
        if pd.api.types.is_numeric_dtype(dtype):
            return "numeric"
        if pd.api.types.is_datetime64_any_dtype(dtype):
            return "datetime"
        return "categorical"

    def warm_up(self) -> None:
        """Build the plot widget ahead of need (pyqtgraph's PlotItem takes ~0.1 s to set up)."""
        if self.histogram is None:
            from mfg_desktop.qt.plots import HistogramPlot

            self.histogram = HistogramPlot()
            self.histogram.hide()
            self.plot_layout.addWidget(self.histogram)

    def _plot_ready(self, job: Job, name: str, result: tuple) -> None:
        if job is not self.plot_job:
            return
        self.warm_up()
        self.plot_hint.hide()
        self.histogram.show()
        if result[0] == "histogram":
            _, counts, edges, dates = result
            self.histogram.show_histogram(counts, edges, name, dates=dates)
        else:
            self.histogram.show_counts(result[1], name)
        self.plot_box.setTitle(self.tr("Distribution of {name}").format(name=name))
