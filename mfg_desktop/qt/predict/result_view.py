"""The right side of "Score files": one file's result (title, warnings, summary, histogram, scored rows)
and the export bar."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableView,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from mfg_desktop.qt.predict.history_view import HistoryScoreView
from mfg_desktop.qt.predict.rows_model import ScoredRowsModel
from mfg_desktop.qt.predict.state import rows_shown, warning_lines
from mfg_desktop.qt.predict.text import result_title, summary_html, table_note, warnings_html
from mfg_desktop.qt.settings import EXPORT_DIR, dialog_folder, remember_folder

if TYPE_CHECKING:
    from mfg_desktop.core.score import FileScore

MAX_COLUMN_WIDTH = 220
ENTITY_TAB = 1
WARNINGS_STYLE = ("background: #fff4e5; border: 1px solid #e8a33d; border-left: 5px solid #e8a33d;"
                  " border-radius: 4px; padding: 6px; color: #663c00;")


class ResultView(QWidget):
    """Shows a :class:`~mfg_desktop.core.score.FileScore`; asks where to export and where to write a batch report."""

    export_requested = Signal(str, str, bool)  # folder, format ("csv" | "xlsx"), all files
    batch_report_chosen = Signal(str)  # the PDF's path

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from mfg_desktop.qt.plots import HistogramPlot

        self.result: FileScore | None = None
        self.result_title = QLabel(self.tr("Add files and press Score."))
        font = self.result_title.font()
        font.setPointSizeF(font.pointSizeF() * 1.2)
        font.setBold(True)
        self.result_title.setFont(font)
        self.warnings = QLabel()
        self.warnings.setWordWrap(True)
        self.warnings.setTextFormat(Qt.TextFormat.RichText)
        self.warnings.setStyleSheet(WARNINGS_STYLE)
        self.warnings.hide()
        self.summary = QTextBrowser()
        self.summary.setOpenLinks(False)
        self.histogram = HistogramPlot()
        self.histogram.setMinimumHeight(170)
        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(self.summary)
        top.addWidget(self.histogram)
        top.setSizes([430, 570])
        self.only_flagged = QCheckBox(self.tr("Show only flagged rows"))
        self.only_flagged.toggled.connect(lambda _checked: self._show_table())
        self.table_note = QLabel()
        self.table = QTableView()
        self.table.setSortingEnabled(True)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        # Fit columns to the first rows only: measuring thousands of cells would freeze the window.
        self.table.horizontalHeader().setResizeContentsPrecision(60)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.verticalHeader().hide()  # the "row" column holds the row number in the file
        table_bar = QHBoxLayout()
        table_bar.addWidget(self.only_flagged)
        table_bar.addWidget(self.table_note, 1)
        table_box = QWidget()
        table_layout = QVBoxLayout(table_box)
        table_layout.setContentsMargins(0, 0, 0, 0)
        table_layout.addLayout(table_bar)
        table_layout.addWidget(self.table)
        self.history_view = HistoryScoreView()  # history models: entities ranked by risk, per-entity plots
        self.bottom_tabs = QTabWidget()
        self.bottom_tabs.addTab(table_box, self.tr("Scored rows"))
        self.bottom_tabs.addTab(self.history_view, self.tr("Per entity"))
        self.bottom_tabs.setTabEnabled(ENTITY_TAB, False)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(top)
        split.addWidget(self.bottom_tabs)
        split.setSizes([290, 370])
        self.split = split

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.result_title)
        layout.addWidget(self.warnings)
        layout.addWidget(split, 1)
        layout.addLayout(self._build_export_bar())

    def _build_export_bar(self) -> QHBoxLayout:
        self.format_combo = QComboBox()
        self.format_combo.addItem(self.tr("CSV"), "csv")
        self.format_combo.addItem(self.tr("Excel (.xlsx)"), "xlsx")
        self.export_button = QPushButton(self.tr("Export this file…"))
        self.export_button.clicked.connect(lambda: self.choose_export(all_files=False))
        self.export_all_button = QPushButton(self.tr("Export all…"))
        self.export_all_button.clicked.connect(lambda: self.choose_export(all_files=True))
        self.batch_report_button = QPushButton(self.tr("Batch report…"))
        self.batch_report_button.setToolTip(self.tr("A PDF of the files scored: counts, schema and drift warnings, "
                                                    "first flagged rows"))
        self.batch_report_button.clicked.connect(self.choose_batch_report)
        bar = QHBoxLayout()
        bar.addStretch(1)
        bar.addWidget(QLabel(self.tr("Export as")))
        bar.addWidget(self.format_combo)
        bar.addWidget(self.export_button)
        bar.addWidget(self.export_all_button)
        bar.addWidget(self.batch_report_button)
        return bar

    # -- dialogs --------------------------------------------------------------------------------
    def choose_export(self, all_files: bool) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("Export the scored data into"),
                                                  dialog_folder(EXPORT_DIR))
        if folder:
            remember_folder(folder, EXPORT_DIR)
            self.export_requested.emit(folder, self.format_combo.currentData(), all_files)

    def choose_batch_report(self) -> None:
        start = str(Path(dialog_folder(EXPORT_DIR)) / "batch_report.pdf")
        path, _ = QFileDialog.getSaveFileName(self, self.tr("Batch report"), start, self.tr("PDF (*.pdf)"))
        if path:
            remember_folder(path, EXPORT_DIR)
            self.batch_report_chosen.emit(path)

    # -- showing a result -----------------------------------------------------------------------
    def clear(self) -> None:
        self.result = None
        self.result_title.setText("")
        self.warnings.hide()
        self.summary.clear()
        self.histogram.clear()
        self.table.setModel(None)
        self.table_note.setText("")
        self.history_view.clear()
        self.bottom_tabs.setTabEnabled(ENTITY_TAB, False)

    def show_result(self, result: FileScore | None, history_spec: dict | None = None) -> None:
        """``history_spec``: the model's history set-up, when it was trained on histories."""
        if result is None:
            self.clear()
            return
        histories = self.history_view.show_result(result, history_spec)
        self.bottom_tabs.setTabEnabled(ENTITY_TAB, histories)
        self.histogram.setMinimumHeight(125 if histories else 170)
        if histories:  # what a maintenance planner looks at first; the plots need the height
            self.bottom_tabs.setCurrentIndex(ENTITY_TAB)
            self.split.setSizes([175, 10_000])  # the summary shrinks to a strip; the plots get the rest
        elif self.bottom_tabs.currentIndex() == ENTITY_TAB:
            self.bottom_tabs.setCurrentIndex(0)
        self.result = result
        self.result_title.setText(result_title(result))
        lines = warning_lines(result)
        if lines:
            self.warnings.setText(warnings_html(lines))
        self.warnings.setVisible(bool(lines))
        self.summary.setHtml(summary_html(result))
        self._show_histogram(result)
        self._show_table()

    def _show_histogram(self, result: FileScore) -> None:
        if result.histogram is None:
            self.histogram.clear()
            return
        import pyqtgraph as pg

        counts, edges = result.histogram
        self.histogram.show_histogram(counts, edges, result.score_label)
        plot = self.histogram.plot
        plot.setLabel("bottom", result.score_label)
        plot.setTitle(self.tr("Histogram of scores"))
        if result.threshold is not None:
            pen = pg.mkPen("#c0392b", width=2, style=Qt.PenStyle.DashLine)
            plot.addItem(pg.InfiniteLine(pos=result.threshold, angle=90, pen=pen))

    def _show_table(self) -> None:
        if self.result is None:
            return
        self.only_flagged.setEnabled(self.result.task == "binary")
        shown = rows_shown(self.result, self.only_flagged.isChecked())
        if shown.empty:
            self.table.setModel(None)
            self.table_note.setText(self.tr("No flagged rows.") if shown.flagged_only else "")
            return
        model = ScoredRowsModel(shown.frame, shown.flag_column, shown.rejected_column, self.table)
        self.table.setModel(model)
        self.table.horizontalHeader().resizeSections(QHeaderView.ResizeMode.ResizeToContents)
        for column in range(model.columnCount()):
            if self.table.columnWidth(column) > MAX_COLUMN_WIDTH:
                self.table.setColumnWidth(column, MAX_COLUMN_WIDTH)
        self.table_note.setText(table_note(len(shown.frame), shown.total))
