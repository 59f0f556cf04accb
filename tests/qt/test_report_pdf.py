"""PDF rendering of reports: text and numbers read back, Chinese as text, page frame, paper,
rows never split, atomic writes, clear errors; the Report step and the Predict step's batch report."""

from __future__ import annotations

import errno
import os
import re
from datetime import datetime

import numpy as np
import pandas as pd
import pytest
from pypdf import PdfReader
from PySide6.QtCore import QLocale

from mfg_desktop.core import report as rp
from mfg_desktop.core.errors import MfgError
from mfg_desktop.core.evaluate import evaluate_run
from mfg_desktop.core.explain import format_change
from mfg_desktop.core.network import preset
from mfg_desktop.core.recipe import propose_recipe
from mfg_desktop.core.split import SplitSpec
from mfg_desktop.core.train import train_run
from mfg_desktop.report_pdf import Fonts, paper_for_locale, pick_fonts, render_pdf
from mfg_desktop.report_pdf import render as report_render


def pdf_pages(path) -> list[str]:
    """Each page's text with whitespace collapsed (Qt places words one by one)."""
    return [" ".join(page.extract_text().split()) for page in PdfReader(str(path)).pages]


@pytest.fixture(autouse=True)
def _qapp(qapp):
    """A QApplication (not only the QGuiApplication the renderer would make) before any rendering."""
    return qapp


@pytest.fixture(scope="module")
def ai4i(ai4i_small_run) -> pd.DataFrame:
    return ai4i_small_run.frame


@pytest.fixture(scope="module")
def analysed(ai4i_small_run):
    return ai4i_small_run.analysed


@pytest.fixture(scope="module")
def run(ai4i_small_run):
    return ai4i_small_run.run


@pytest.fixture(scope="module")
def evaluation(ai4i_small_run):
    return ai4i_small_run.evaluation


@pytest.fixture(scope="module")
def model_pdf(run, evaluation, analysed, tmp_path_factory, qapp):
    settings = rp.ReportSettings(plant="Werk Süd", line="Line 3", author="Q. Manager", paper="A4",
                                 date=datetime(2026, 3, 2, 8, 30))
    doc = rp.build_model_report(run, evaluation, *analysed, settings=settings)
    path = tmp_path_factory.mktemp("report") / "model report.pdf"
    return render_pdf(doc, path), doc


@pytest.fixture(scope="module")
def chinese_run():
    rng = np.random.default_rng(3)
    n = 600
    df = pd.DataFrame({"温度": rng.normal(60, 5, n), "压力": rng.normal(2.0, 0.3, n),
                       "班组": rng.choice(["甲班", "乙班"], n)})
    df["不良"] = np.where(df["温度"] + 10 * df["压力"] + rng.normal(0, 3, n) > 82, "是", "否")
    run = train_run(df, propose_recipe(df, "不良"), SplitSpec(), preset("fast").with_changes(epochs=2))
    return run, evaluate_run(run, df, n_repeats=2)


def test_pdf_holds_the_sections_and_the_runs_numbers(model_pdf, run, evaluation):
    result, doc = model_pdf
    pages = pdf_pages(result.path)
    text = " ".join(pages)
    for title in doc.section_titles():
        assert title in text
    assert f"PR-AUC {evaluation.metrics['pr_auc']:.4f}" in text  # the metrics table row
    assert f"{evaluation.metrics['roc_auc']:.4f}" in text
    assert f"Parameters: {run.model.count_params():,} in total." in text
    assert run.id in text and "Werk Süd" in text and "Q. Manager" in text
    _tn, fp, fn, tp = evaluation.confusion.counts.ravel()
    assert f"{tp:,} caught, {fn:,} missed, {fp:,} false alarms" in text
    assert "yes/no (binary classification)" in text  # no "fi" ligature in the text layer
    top = evaluation.importance.columns[0]
    assert f"1 {top} {format_change(evaluation.importance.mean[0])}" in text


def test_every_page_has_the_header_and_page_n_of_m(model_pdf, run):
    result, _ = model_pdf
    pages = pdf_pages(result.path)
    assert result.pages == len(pages)
    assert 5 <= len(pages) <= 20  # cover + one or more pages per section, not a runaway
    for number, page in enumerate(pages, start=1):
        assert f"page {number} of {len(pages)}" in page
        assert "Model report — Werk Süd · Line 3" in page and f"model {run.id}" in page


def test_paper_size_by_locale_and_by_choice(model_pdf, run, tmp_path):
    assert paper_for_locale(QLocale(QLocale.Language.English, QLocale.Country.UnitedStates)) == "Letter"
    assert paper_for_locale(QLocale(QLocale.Language.French, QLocale.Country.Canada)) == "Letter"
    assert paper_for_locale(QLocale(QLocale.Language.German, QLocale.Country.Germany)) == "A4"
    assert paper_for_locale(QLocale(QLocale.Language.Chinese, QLocale.Country.China)) == "A4"
    box = PdfReader(str(model_pdf[0].path)).pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)
    doc = rp.build_model_report(run, settings=rp.ReportSettings(sections=("model",), paper="Letter"))
    result = render_pdf(doc, tmp_path / "letter.pdf")
    box = PdfReader(str(result.path)).pages[0].mediabox
    assert result.paper == "Letter" and (round(float(box.width)), round(float(box.height))) == (612, 792)


def test_chinese_column_names_are_extractable_text(chinese_run, tmp_path):
    run, ev = chinese_run
    assert pick_fonts().cjk is not None  # fonts-noto-cjk is installed where the tests run
    settings = rp.ReportSettings(plant="苏州工厂", line="三号线", author="王工")
    result = render_pdf(rp.build_model_report(run, ev, settings=settings), tmp_path / "中文报告.pdf")
    assert result.warnings == []
    text = " ".join(pdf_pages(result.path))
    for name in ("温度", "压力", "班组", "不良", "苏州工厂", "三号线", "王工"):
        assert name in text  # 工 and 厂 read back as themselves, not as look-alike radicals ⼯ ⼚
    assert not re.search("[\u2e80-\u2fdf]", text)
    # the positive class at the validated threshold (a font switch may add a space)
    assert re.search(rf"p\( ?是 ?\) ≥ {run.threshold:.3f}", text)
    from pypdf import PdfReader as Reader

    fonts = {str(f["/BaseFont"]) for page in Reader(str(result.path)).pages
             for f in page["/Resources"]["/Font"].values()}
    assert any("CJK" in f for f in fonts)  # embedded, not left to the viewer


def test_no_cjk_font_is_told(chinese_run, tmp_path, monkeypatch):
    latin = pick_fonts().latin
    monkeypatch.setattr(report_render, "pick_fonts", lambda: Fonts(latin, latin, None))
    run, _ = chinese_run
    result = render_pdf(rp.build_model_report(run, settings=rp.ReportSettings(sections=("preparation",))),
                        tmp_path / "boxes.pdf")
    assert result.warnings == [report_render.NO_CJK_WARNING]
    english = rp.build_model_report(run, settings=rp.ReportSettings(sections=("model",)))
    english.header_left = english.header_right = "x"
    english.cover = []
    assert render_pdf(english, tmp_path / "plain.pdf").warnings == []  # nothing to tell without CJK text


def test_table_rows_never_split_and_header_repeats(tmp_path):
    long_text = "a reason that wraps over several lines " * 6
    rows = [[f"row-{i:03d}", long_text if i % 7 == 0 else "short", f"{i * 1.5:.1f}"] for i in range(160)]
    doc = rp.ReportDocument(title="T", kind="model", header_left="H", header_right="R", cover=[],
                            blocks=[rp.Heading("Big table", 1), rp.Table(["name", "why", "value"], rows,
                                                                          align=["l", "l", "r"])],
                            created="2026-03-02T08:30:00")
    result = render_pdf(doc, tmp_path / "table.pdf", paper="A4")
    pages = pdf_pages(result.path)
    assert len(pages) >= 3
    seen = []
    for page in pages:
        assert page.count("name why value") == 1  # the header row on every page
        seen += re.findall(r"row-\d{3}", page)
    assert seen == [f"row-{i:03d}" for i in range(160)]  # every row exactly once, in order
    for page in pages:  # a wrapped row's whole text sits on the page of its name
        long_rows = [m for m in re.findall(r"row-(\d{3})", page) if int(m) % 7 == 0]
        assert page.count("wraps over several lines") == 6 * len(long_rows)


def test_failed_write_leaves_the_previous_file(model_pdf, tmp_path, monkeypatch):
    _, doc = model_pdf
    target = tmp_path / "report.pdf"
    target.write_bytes(b"%PDF-1.4 the previous report")

    def half_then_full(fh, data):
        fh.write(data[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(report_render, "_write_bytes", half_then_full)
    with pytest.raises(MfgError, match="the disk is full"):
        render_pdf(doc, target)
    assert target.read_bytes() == b"%PDF-1.4 the previous report"
    assert sorted(os.listdir(tmp_path)) == ["report.pdf"]  # no temporary file left behind


def test_failure_while_drawing_leaves_the_previous_file(model_pdf, tmp_path, monkeypatch):
    _, doc = model_pdf
    target = tmp_path / "report.pdf"
    target.write_bytes(b"old")
    calls = []

    def broken(self, p, page, pages):
        calls.append(page)
        if page == 3:
            raise RuntimeError("boom on page 3")

    monkeypatch.setattr(report_render.PageLayout, "paint_frame", broken)
    with pytest.raises(RuntimeError, match="boom"):
        render_pdf(doc, target)
    assert calls == [1, 2, 3]
    assert target.read_bytes() == b"old" and sorted(os.listdir(tmp_path)) == ["report.pdf"]


def test_unwritable_paths_give_clear_messages(model_pdf, tmp_path, monkeypatch):
    _, doc = model_pdf
    with pytest.raises(MfgError, match="folder to write the report into does not exist"):
        render_pdf(doc, tmp_path / "missing" / "r.pdf")
    with pytest.raises(MfgError, match="is a folder, not a file name"):
        render_pdf(doc, tmp_path)

    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    from mfg_desktop.core import atomic

    monkeypatch.setattr(atomic.AtomicFile, "__init__", denied)
    with pytest.raises(MfgError, match="no permission to write in") as info:
        render_pdf(doc, tmp_path / "r.pdf")
    assert "Choose a folder you can write to" in str(info.value)


def test_cancel_stops_rendering_without_writing(model_pdf, tmp_path):
    from mfg_desktop.core.errors import Cancelled
    from mfg_desktop.core.jobs import JobState

    _, doc = model_pdf
    state = JobState()
    state.request_cancel()
    with pytest.raises(Cancelled):
        render_pdf(doc, tmp_path / "r.pdf", state=state)
    assert not (tmp_path / "r.pdf").exists()


# ------------------------------------------------------------------------------ panels


def test_report_step_exports_off_the_gui_thread_and_keeps_names(main_window, qtbot, wait, run, evaluation, ai4i,
                                                                tmp_path):
    session = main_window.session
    session.add_run(run, ai4i)
    session.set_evaluation(evaluation)
    main_window.export_report_action.trigger()  # File > Export report… (Ctrl+E) shows the Report step
    assert main_window.export_report_action.shortcut().toString() == "Ctrl+E"
    panel = main_window.page("report")
    assert main_window.stack.currentWidget() is panel
    # a file name is offered, so Export works without typing one
    assert panel.path_edit.text().endswith(f"report_{run.id}.pdf") and panel.export_button.isEnabled()
    panel.fields["plant"].setText("苏州工厂")
    panel.fields["line"].setText("Line 7")
    panel.fields["author"].setText("Q. Manager")
    panel.section_boxes["importance"].setChecked(False)
    panel.path_edit.setText(str(tmp_path / "from the panel"))
    job = panel.export()
    assert job is not None
    with qtbot.waitSignal(job.ended, timeout=60_000):
        pass
    wait.idle()
    pdf = tmp_path / "from the panel.pdf"
    assert pdf.is_file() and panel.open_button.isVisible()
    assert "Written:" in panel.result_label.text()
    text = " ".join(pdf_pages(pdf))
    assert "苏州工厂" in text and "Line 7" in text and "Evaluation" in text
    assert "Feature importance" not in text  # the unticked section is left out
    # the names are kept for the next time (settings in the test's temporary config folder)
    from mfg_desktop.qt.report.panel import ReportPanel

    again = ReportPanel(main_window)
    qtbot.addWidget(again)
    assert again.fields["plant"].text() == "苏州工厂" and again.fields["author"].text() == "Q. Manager"


def test_report_step_shows_a_clear_message_for_a_bad_path(main_window, qtbot, wait, run, ai4i, tmp_path):
    main_window.session.add_run(run, ai4i)
    panel = main_window.page("report")
    panel.path_edit.setText(str(tmp_path / "no such folder" / "r.pdf"))
    job = panel.export()
    with qtbot.waitSignal(job.ended, timeout=60_000):
        pass
    wait.idle()
    assert main_window.banner.isVisible() and "does not exist" in main_window.banner._label.text()
    assert "not written" in panel.result_label.text()


def test_predict_step_batch_report(main_window, qtbot, wait, run, ai4i, tmp_path):
    data = tmp_path / "batch_07.csv"
    ai4i.iloc[:300].to_csv(data, index=False)
    main_window.session.add_run(run, ai4i)
    predict = main_window.page("predict")
    predict.use_current_run()
    predict.add_paths([data])
    job = predict.score()
    with qtbot.waitSignal(job.ended, timeout=60_000):
        pass
    wait.idle()
    assert predict.batch_report_button.isEnabled()
    assert predict.batch_report(tmp_path / "batch.pdf")
    assert main_window.stack.currentWidget() is main_window.page("report")
    job = main_window.page("report").job
    with qtbot.waitSignal(job.ended, timeout=60_000):
        pass
    wait.idle()
    text = " ".join(pdf_pages(tmp_path / "batch.pdf"))
    assert "Batch scoring report" in text and "batch_07.csv" in text and "300" in text


def _two_sections(rows: int, second: bool = True) -> rp.ReportDocument:
    table = rp.Table(["n", "value"], [[str(i), f"row {i}"] for i in range(rows)])
    blocks = [rp.Heading("First", 1), table] + ([rp.Heading("Second", 1), rp.Paragraph("after")] if second else [])
    return rp.ReportDocument("Spill", "model", "left", "right", cover=[], blocks=blocks)


def test_a_section_takes_the_page_a_short_overflow_left_nearly_blank(tmp_path):
    # Enough rows to fill page 1 and spill a few onto page 2: "Second" goes under them on page 2.
    per_page = next(n for n in range(20, 200, 2)
                    if render_pdf(_two_sections(n, second=False), tmp_path / "a.pdf").pages == 2) - 2
    spilled = render_pdf(_two_sections(per_page + 3), tmp_path / "b.pdf")
    pages = pdf_pages(tmp_path / "b.pdf")
    assert spilled.pages == 2 and "Second" in pages[1] and f"row {per_page + 2}" in pages[1]
    # A long overflow (more than 40 % of a page) still ends there: the next section starts a new page.
    long_spill = render_pdf(_two_sections(int(per_page * 1.6)), tmp_path / "c.pdf")
    assert long_spill.pages == 3 and "Second" in pdf_pages(tmp_path / "c.pdf")[2]
