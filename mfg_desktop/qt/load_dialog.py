"""Preview dialog: the detected reading settings, each changeable, and the first rows as read.

Every setting starts at "Automatic (detected: …)"; only what the user changes is passed on as an
override, so with several files each one still gets its own detection for the rest. The preview
(first 100 rows) is read on a worker thread, so even a slow network drive never freezes the window.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, Qt, QTimer, Slot
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from mfg_desktop.core.errors import MfgError
from mfg_desktop.qt.workers import Job, run_in_thread

PREVIEW_ROWS = 100
RAW_LINES_SHOWN = 30


def _preview_job(path: str, options: Any, state) -> Any:
    from mfg_desktop.core.ingest import preview

    state.check_cancelled()
    return preview(path, options, nrows=PREVIEW_ROWS)


def _delimiter_name(value: str | None) -> str:
    from mfg_desktop.core.ingest import WHITESPACE

    translate = QCoreApplication.translate
    names = {
        ",": translate("LoadDialog", ", (comma)"),
        ";": translate("LoadDialog", "; (semicolon)"),
        "\t": translate("LoadDialog", "Tab"),
        "|": translate("LoadDialog", "| (pipe)"),
        WHITESPACE: translate("LoadDialog", "spaces (runs of whitespace)"),
    }
    if value is None:
        return "?"
    return names.get(value, repr(value))


class LoadDialog(QDialog):
    """Shows how ``paths`` will be read; ``options()`` gives the user's overrides as ReadOptions."""

    ENCODINGS = ("utf-8", "utf-8-sig", "gb18030", "gbk", "big5", "shift_jis", "utf-16", "cp1252", "latin-1")

    def __init__(self, paths: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from mfg_desktop.core.ingest import WHITESPACE

        self.paths = [str(p) for p in paths]
        self.preview_result = None
        self.preview_job: Job | None = None
        self.error_text = ""
        self.setWindowTitle(self.tr("Open data — check how the file is read"))
        self.resize(980, 680)

        first = Path(self.paths[0]).name
        if len(self.paths) == 1:
            heading = self.tr("Preview of {name}").format(name=first)
        else:
            heading = self.tr("Preview of {name} — the settings you change apply to all {n} files").format(
                name=first, n=len(self.paths)
            )
        self.heading = QLabel(heading)
        font = self.heading.font()
        font.setBold(True)
        self.heading.setFont(font)

        self.encoding_combo = self._combo([(e, e) for e in self.ENCODINGS])
        self.delimiter_combo = self._combo(
            [
                (self.tr(", (comma)"), ","),
                (self.tr("; (semicolon)"), ";"),
                (self.tr("Tab"), "\t"),
                (self.tr("| (pipe)"), "|"),
                (self.tr("spaces (runs of whitespace)"), WHITESPACE),
            ]
        )
        self.decimal_combo = self._combo([(self.tr(". (point)"), "."), (self.tr(", (comma)"), ",")])
        self.thousands_combo = self._combo(
            [
                (self.tr("none"), ""),
                (self.tr(", (comma)"), ","),
                (self.tr(". (point)"), "."),
                (self.tr("space"), " "),
                (self.tr("' (apostrophe)"), "'"),
            ]
        )
        self.header_combo = self._combo(
            [(self.tr("yes: column names"), True), (self.tr("no: data from row 1"), False)]
        )
        self.sheet_combo = self._combo([])
        form = QFormLayout()
        form.addRow(self.tr("Encoding"), self.encoding_combo)
        form.addRow(self.tr("Delimiter"), self.delimiter_combo)
        form.addRow(self.tr("Decimal mark"), self.decimal_combo)
        form.addRow(self.tr("Thousands separator"), self.thousands_combo)
        form.addRow(self.tr("First row is a header"), self.header_combo)
        form.addRow(self.tr("Excel sheet"), self.sheet_combo)
        self.form = form
        self._set_excel_mode(Path(self.paths[0]).suffix.lower() in (".xlsx", ".xlsm", ".xls"))

        self.status_label = QLabel(self.tr("Reading the first rows…"))
        self.status_label.setWordWrap(True)
        self.status_label.setTextFormat(Qt.TextFormat.PlainText)
        self.raw_view = QPlainTextEdit()
        self.raw_view.setReadOnly(True)
        self.raw_view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.TypeWriter)
        self.raw_view.setFont(mono)
        self.raw_view.setPlaceholderText(self.tr("The file's first lines as text"))
        self.table_view = QTableView()
        self.table_view.setWordWrap(False)
        self.table_view.verticalHeader().setDefaultSectionSize(self.table_view.fontMetrics().height() + 6)
        self.table_model = None

        raw_box = QWidget()
        raw_layout = QVBoxLayout(raw_box)
        raw_layout.setContentsMargins(0, 0, 0, 0)
        raw_layout.addWidget(QLabel(self.tr("As text in the file:")))
        raw_layout.addWidget(self.raw_view)
        table_box = QWidget()
        table_layout = QVBoxLayout(table_box)
        table_layout.setContentsMargins(0, 0, 0, 0)
        table_layout.addWidget(QLabel(self.tr("As it will be read (first {n} rows):").format(n=PREVIEW_ROWS)))
        table_layout.addWidget(self.table_view)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(raw_box)
        splitter.addWidget(table_box)
        splitter.setSizes([170, 400])

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText(self.tr("Load"))
        self.ok_button.setEnabled(False)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        top = QHBoxLayout()
        top.addLayout(form)
        top.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addLayout(top)
        layout.addWidget(self.status_label)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.buttons)

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(150)
        self._debounce.timeout.connect(self.refresh_preview)
        for combo in self._combos():
            combo.currentIndexChanged.connect(self._debounce.start)
        self.refresh_preview()

    # -- building -------------------------------------------------------------------------------
    def _combo(self, choices: list[tuple[str, Any]]) -> QComboBox:
        combo = QComboBox()
        combo.addItem(self.tr("Automatic"), None)
        for label, value in choices:
            combo.addItem(label, value)
        combo.setMinimumContentsLength(34)  # room for "Automatic (detected: ; (semicolon))"
        return combo

    def _combos(self) -> list[QComboBox]:
        return [
            self.encoding_combo,
            self.delimiter_combo,
            self.decimal_combo,
            self.thousands_combo,
            self.header_combo,
            self.sheet_combo,
        ]

    def _set_excel_mode(self, excel: bool) -> None:
        for combo in (self.encoding_combo, self.delimiter_combo, self.decimal_combo, self.thousands_combo):
            combo.setEnabled(not excel)
        self.form.setRowVisible(self.sheet_combo, excel)

    # -- options --------------------------------------------------------------------------------
    def options(self):
        """The user's overrides as core ReadOptions (None fields keep the automatic detection)."""
        from mfg_desktop.core.ingest import ReadOptions

        return ReadOptions(
            encoding=self.encoding_combo.currentData(),
            delimiter=self.delimiter_combo.currentData(),
            decimal=self.decimal_combo.currentData(),
            thousands=self.thousands_combo.currentData(),
            header=self.header_combo.currentData(),
            sheet=self.sheet_combo.currentData(),
        )

    def set_choice(self, combo: QComboBox, value: Any) -> None:
        """Select ``value`` in ``combo`` (used by tests and by 'open with these settings')."""
        index = combo.findData(value)
        if index < 0:
            raise ValueError(f"{value!r} is not offered")
        combo.setCurrentIndex(index)

    # -- preview --------------------------------------------------------------------------------
    @Slot()
    def refresh_preview(self) -> None:
        if self.preview_job is not None:
            self.preview_job.cancel()
        self.ok_button.setEnabled(False)
        self.status_label.setStyleSheet("")
        self.status_label.setText(self.tr("Reading the first rows…"))
        job = run_in_thread(_preview_job, self.paths[0], self.options(), name="preview")
        self.preview_job = job
        job.finished.connect(lambda result, j=job: self._previewed(j, result))
        job.errored.connect(lambda exc, j=job: self._preview_failed(j, exc))

    def _previewed(self, job: Job, result: Any) -> None:
        if job is not self.preview_job:
            return
        from mfg_desktop.qt.table_model import DataFrameModel

        self.preview_result = result
        self.error_text = ""
        settings = result.settings
        self._show_detected(settings)
        old = self.table_model
        self.table_model = DataFrameModel(result.frame, parent=self)
        self.table_view.setModel(self.table_model)
        if old is not None:
            old.deleteLater()
        header = self.table_view.horizontalHeader()
        for column, width in enumerate(self.table_model.column_widths(header.fontMetrics())):
            header.resizeSection(column, width)
        self.raw_view.setPlainText("\n".join(list(result.raw_lines)[:RAW_LINES_SHOWN]))
        frame = result.frame
        self.status_label.setText(
            self.tr(
                "{cols} columns found. Check that numbers sit in their own columns and are right-aligned "
                "(read as numbers); change a setting above if not."
            ).format(cols=frame.shape[1])
        )
        self.ok_button.setEnabled(True)

    def _preview_failed(self, job: Job, exc: BaseException) -> None:
        if job is not self.preview_job:
            return
        self.preview_result = None
        if isinstance(exc, MfgError):
            self.error_text = str(exc)
        else:
            from mfg_desktop.qt.error_dialog import log, traceback_text

            log.error("preview failed: %s", traceback_text(exc))
            self.error_text = self.tr("The file could not be read: {error}").format(error=exc)
        self.status_label.setStyleSheet("color: #b3261e; font-weight: 600;")
        self.status_label.setText(self.error_text)
        self.raw_view.clear()
        self.table_view.setModel(None)

    def _show_detected(self, settings: Any) -> None:
        """Write the detected value into each 'Automatic' entry."""
        auto = self.tr("Automatic (detected: {value})")
        kind = str(getattr(settings, "kind", "csv"))
        excel = kind.lower().startswith(("xls", "excel"))
        self._set_excel_mode(excel)
        thousands = settings.thousands
        values = {
            self.encoding_combo: settings.encoding or "?",
            self.delimiter_combo: _delimiter_name(settings.delimiter),
            self.decimal_combo: settings.decimal or ".",
            self.thousands_combo: thousands if thousands else self.tr("none"),
            self.header_combo: self.tr("yes") if settings.header else self.tr("no"),
            self.sheet_combo: str(settings.sheet) if settings.sheet is not None else "",
        }
        for combo, value in values.items():
            combo.blockSignals(True)
            combo.setItemText(0, auto.format(value=value))
            combo.blockSignals(False)
        sheets = list(getattr(settings, "sheets", None) or [])
        if excel and self.sheet_combo.count() != len(sheets) + 1:
            self.sheet_combo.blockSignals(True)
            current = self.sheet_combo.currentData()
            while self.sheet_combo.count() > 1:
                self.sheet_combo.removeItem(1)
            for sheet in sheets:
                self.sheet_combo.addItem(str(sheet), sheet)
            index = self.sheet_combo.findData(current) if current is not None else 0
            self.sheet_combo.setCurrentIndex(max(index, 0))
            self.sheet_combo.blockSignals(False)

    def done(self, result: int) -> None:
        self._debounce.stop()
        if self.preview_job is not None:
            self.preview_job.cancel()
        super().done(result)
