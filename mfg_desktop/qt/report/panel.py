"""The Report step: pick the sections, the names on the cover and the file, and export a PDF.

The document is assembled by :mod:`mfg_desktop.core.report` and drawn by
:mod:`mfg_desktop.report_pdf`, both on a worker thread with progress; this panel only
collects the choices (plant, line and author are kept in the settings) and shows the outcome, with
a button that opens the PDF in the system viewer. The Predict step hands its scored files here for
a batch report (:meth:`ReportPanel.export_batch_report`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QUrl, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from mfg_desktop.core.errors import MfgError
from mfg_desktop.qt.context import AppContext
from mfg_desktop.qt.report.state import NO_RUN, READY, SETTING_KEYS, ReportState, pdf_path
from mfg_desktop.qt.settings import app_settings
from mfg_desktop.qt.workers import Job, run_in_thread


def _model_report_job(run: Any, evaluation: Any, profile: Any, target_report: Any, settings: Any, path: str,
                      state) -> Any:
    from mfg_desktop.core.report import build_model_report
    from mfg_desktop.report_pdf import render_pdf

    state.set_progress(0.02, QCoreApplication.translate("ReportPanel", "Assembling the report"))
    doc = build_model_report(run, evaluation, profile, target_report, settings)
    return render_pdf(doc, path, state=state)


def _batch_report_job(model: Any, results: list, settings: Any, path: str, state) -> Any:
    from mfg_desktop.core.report import build_batch_report
    from mfg_desktop.report_pdf import render_pdf

    state.set_progress(0.02, QCoreApplication.translate("ReportPanel", "Assembling the batch report"))
    doc = build_batch_report(model, results, settings)
    return render_pdf(doc, path, state=state)


class ReportPanel(QWidget):
    """Export the current model's report (or a batch report handed over by the Predict step)."""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.session = ctx.session
        self.job: Job | None = None
        self.last_result: Any = None
        self.state = ReportState()

        from mfg_desktop.core.report import SECTION_TITLES, SECTIONS

        self.section_boxes: dict[str, QCheckBox] = {}
        sections = QGroupBox(self.tr("Sections"))
        sl = QVBoxLayout(sections)
        titles = {
            "data": self.tr("Data: files, fingerprints, data quality, leak suspects"),
            "preparation": self.tr("Preparation: recipe per column, split, PCA"),
            "model": self.tr("Model: architecture, settings, device, duration"),
            "training": self.tr("Training curves"),
            "evaluation": self.tr("Evaluation: metrics, baselines, confusion matrix, curves, threshold"),
            "importance": self.tr("Feature importance"),
        }
        for key in SECTIONS:
            box = QCheckBox(titles.get(key, SECTION_TITLES[key]))
            box.setChecked(True)
            box.toggled.connect(self._sections_toggled)
            self.section_boxes[key] = box
            sl.addWidget(box)
        sl.addStretch(1)
        self.state.sections = list(SECTIONS)

        saved = app_settings()
        self.fields: dict[str, QLineEdit] = {}
        names = QGroupBox(self.tr("Cover and page headers"))
        form = QFormLayout(names)
        labels = {"plant": self.tr("Plant:"), "line": self.tr("Line:"), "author": self.tr("Author:")}
        for key in SETTING_KEYS:
            edit = QLineEdit(str(saved.value(f"report/{key}", "") or ""))
            edit.textChanged.connect(lambda text, key=key: self.state.names.__setitem__(key, text))
            self.state.names[key] = edit.text()
            edit.editingFinished.connect(self.save_settings)
            self.fields[key] = edit
            form.addRow(labels[key], edit)
        self.paper = QComboBox()
        self.paper.addItem(self.tr("By locale (Letter in the US and Canada, else A4)"), "auto")
        self.paper.addItem("A4", "A4")
        self.paper.addItem("Letter", "Letter")
        self.paper.currentIndexChanged.connect(lambda _i: setattr(self.state, "paper", str(self.paper.currentData())))
        form.addRow(self.tr("Paper:"), self.paper)

        self.path_edit = QLineEdit()
        self.path_edit.setPlaceholderText(self.tr("report.pdf"))
        self.path_edit.textChanged.connect(self._path_edited)
        browse = QPushButton(self.tr("Browse…"))
        browse.clicked.connect(self.choose_path)
        file_row = QHBoxLayout()
        file_row.addWidget(QLabel(self.tr("File:")))
        file_row.addWidget(self.path_edit, 1)
        file_row.addWidget(browse)

        self.status = QLabel()
        self.status.setWordWrap(True)
        self.export_button = QPushButton(self.tr("Export PDF"))
        self.export_button.setDefault(True)
        self.export_button.clicked.connect(self.export)
        self.cancel_button = QPushButton(self.tr("Cancel"))
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.hide()
        self.result_label = QLabel()
        self.result_label.setWordWrap(True)
        self.open_button = QPushButton(self.tr("Open the PDF"))
        self.open_button.clicked.connect(self.open_pdf)
        self.open_button.hide()
        actions = QHBoxLayout()
        actions.addWidget(self.export_button)
        actions.addWidget(self.cancel_button)
        actions.addWidget(self.progress, 1)
        result_row = QHBoxLayout()
        result_row.addWidget(self.result_label, 1)
        result_row.addWidget(self.open_button)

        top = QHBoxLayout()
        top.addWidget(sections, 1)
        top.addWidget(names, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addLayout(top)
        layout.addLayout(file_row)
        layout.addLayout(actions)
        layout.addLayout(result_row)
        layout.addStretch(1)

        self.session.current_run_changed.connect(self._offer_path)
        self._offer_path()
        self.session.evaluation_changed.connect(self._update)
        self._update()

    # -- state ---------------------------------------------------------------------------------
    def sections(self) -> tuple[str, ...]:
        return tuple(self.state.sections)

    def report_settings(self) -> Any:
        return self.state.settings(self.session.costs)  # the costs set on the Evaluate step

    def _path_edited(self, text: str) -> None:
        self.state.path = text
        self._update()

    def _sections_toggled(self, *_: Any) -> None:
        self.state.sections = [k for k, box in self.section_boxes.items() if box.isChecked()]
        self._update()

    @Slot()
    def save_settings(self) -> None:
        settings = app_settings()
        for key, edit in self.fields.items():
            settings.setValue(f"report/{key}", edit.text())
        settings.setValue("report/path", self.path_edit.text())
        settings.sync()

    def _offer_path(self, *_: Any) -> None:
        """Offer a file name for the current run unless the user typed or chose one."""
        run = self.session.current_run
        data = self.session.data
        data_paths = [str(f.path) for f in getattr(data, "files", []) or []] if data is not None else []
        last_report = str(app_settings().value("report/path", "") or "")
        if run is not None and self.state.offer_path(run.id, last_report, data_paths, Path.home()):
            self.path_edit.setText(self.state.path)
        self._update()

    def _busy(self) -> bool:
        return self.job is not None and self.job.is_running()

    def _update(self, *_: Any) -> None:
        run = self.session.current_run
        readiness = self.state.readiness(run, self.session.evaluation)
        if readiness == NO_RUN:
            self.status.setText(self.tr("Train a model (or open one on the Predict step for a batch report) first."))
        elif readiness == READY:
            self.status.setText(self.tr("Ready: the report covers the current model and its evaluation."))
        else:
            self.status.setText(self.tr("The report of the current model will say it has not been evaluated yet: "
                                        "evaluate it on the Evaluate step to include metrics, curves and importance."))
        busy = self._busy()
        self.export_button.setEnabled(self.state.can_export(run, busy))
        self.cancel_button.setEnabled(busy)

    # -- export --------------------------------------------------------------------------------
    @Slot()
    def choose_path(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, self.tr("Export report"), self.path_edit.text() or "report.pdf",
                                              self.tr("PDF (*.pdf)"))
        if path:
            self.path_edit.setText(pdf_path(path))

    @Slot()
    def export(self) -> Job | None:
        """Export the current model's report to the chosen file, off the GUI thread."""
        run = self.session.current_run
        path = self.path_edit.text().strip()
        if run is None or not path or self._busy() or self.ctx.closing:
            return None
        path = pdf_path(path)
        self.path_edit.setText(path)
        self.save_settings()
        evaluation = self.session.evaluation
        if evaluation is not None and evaluation.run is not run:
            evaluation = None  # it judged another run
        # The profile describes the loaded data: only when that is what this run was trained on.
        same_data = self.session.frame is not None and self.session.frame_of(run) is self.session.frame
        profile = self.session.profile if same_data else None
        target_report = self.session.target_report if same_data else None
        return self._start(run_in_thread(_model_report_job, run, evaluation, profile, target_report,
                                         self.report_settings(), path, name="report"),
                           self.tr("Writing the report"))

    def export_batch_report(self, model: Any, results: list, path: str) -> Job | None:
        """A batch report of the files the Predict step scored (called from there)."""
        if self._busy() or self.ctx.closing:
            self.ctx.notify(self.tr("A report is being written; wait for it to finish."), "info")
            return None
        path = pdf_path(path)
        self.path_edit.setText(path)
        self.save_settings()
        return self._start(run_in_thread(_batch_report_job, model, list(results), self.report_settings(), path,
                                         name="batch report"), self.tr("Writing the batch report"))

    def _start(self, job: Job, title: str) -> Job:
        self.job = job
        self.result_label.clear()
        self.open_button.hide()
        self.progress.setValue(0)
        self.progress.show()
        job.progress.connect(self._progress)
        job.finished.connect(self._written)
        job.errored.connect(self._failed)
        job.cancelled.connect(lambda: self.result_label.setText(self.tr("Cancelled; no file was written.")))
        job.ended.connect(self._ended)
        self.ctx.track(job, title)
        self._update()
        return job

    @Slot()
    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()

    def _progress(self, fraction: float, message: str) -> None:
        self.progress.setValue(int(fraction * 1000))
        self.progress.setFormat(message)

    def _written(self, result: Any) -> None:
        self.last_result = result
        text = self.tr("Written: {path} ({pages} pages, {paper}).").format(path=result.path, pages=result.pages,
                                                                          paper=result.paper)
        self.result_label.setText(text)
        self.open_button.show()
        for warning in result.warnings:
            self.ctx.notify(warning, "warning")

    def _failed(self, exc: BaseException) -> None:
        self.result_label.setText(self.tr("The report was not written."))
        if isinstance(exc, MfgError):
            self.ctx.notify(str(exc))
        else:
            self.ctx.report_error(exc, self.tr("writing the report"))

    def _ended(self) -> None:
        self.progress.hide()
        self._update()

    @Slot()
    def open_pdf(self) -> None:
        """Open the last PDF in the system's viewer."""
        if self.last_result is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(Path(self.last_result.path).resolve())))
