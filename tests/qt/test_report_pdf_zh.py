"""The PDF report in Chinese (issue 17): headings, captions and page frame in Chinese, Chinese column
names intact, a CJK font embedded, no missing glyphs, A4, and Chinese text wrapped inside its table."""

from __future__ import annotations

import re
import subprocess
from datetime import datetime
from pathlib import Path

import pytest
from pypdf import PdfReader
from PySide6.QtCore import QLocale

from mfg_desktop.core import i18n
from mfg_desktop.core import report as rp
from mfg_desktop.report_pdf import render_pdf
from mfg_desktop.report_pdf.style import MM

GB18030_FILE = Path(__file__).resolve().parent.parent / "data" / "gb18030_decimal_comma_zh.csv"
CHINESE_COLUMNS = ["批次号", "温度_℃", "压力_kPa", "转速", "振动", "结果"]
# what a missing glyph or a failed decode turns into in extracted text
REPLACEMENTS = ("\ufffd", "\u25a1", "?")
SETTINGS = {"plant": "苏州工厂", "line": "三号线", "author": "王工", "date": datetime(2026, 3, 2, 8, 30)}


@pytest.fixture(autouse=True)
def _qapp(qapp):
    return qapp


@pytest.fixture
def chinese(monkeypatch):
    """The app in Simplified Chinese (as ``MFG_LANG=zh_CN`` gives it), on a US system locale so that
    A4 has to come from the language; English and the system's locale again afterwards."""
    monkeypatch.setenv("MFG_LANG", "zh_CN")
    assert i18n.set_language() == i18n.CHINESE
    before = QLocale()
    QLocale.setDefault(QLocale(QLocale.Language.English, QLocale.Country.UnitedStates))
    yield
    QLocale.setDefault(before)
    monkeypatch.setenv("MFG_LANG", "en")
    i18n.set_language("en")


def pdftotext(path: Path) -> list[str]:
    """Each page's text as poppler reads it (what a reader copies or searches), whitespace collapsed."""
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True).stdout
    return [" ".join(page.split()) for page in out.decode("utf-8").split("\f") if page.strip()]


def embedded_fonts(path: Path) -> dict[str, str]:
    """Font name -> its ``emb`` column in ``pdffonts``."""
    lines = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout.splitlines()
    fonts = {}
    for line in lines[2:]:  # after the header and the dashes
        parts = line.split()
        # name, type words..., encoding, emb, sub, uni, object, generation
        fonts[parts[0]] = parts[-5]
    return fonts


def assert_clean_chinese_pdf(path: Path, pages_expected: int) -> str:
    pages = pdftotext(path)
    assert len(pages) == pages_expected
    for number, page in enumerate(pages, start=1):
        assert f"第 {number} 页，共 {len(pages)} 页" in page  # the page frame in Chinese on every page
        assert "苏州工厂 · 三号线" in page
    text = " ".join(pages)
    for bad in REPLACEMENTS:
        assert bad not in text, f"{bad!r} in the extracted text: a glyph is missing"
    assert not re.search("[\u2e80-\u2fdf]", text)  # 工, 月 read back as themselves, not as radicals
    fonts = embedded_fonts(path)
    assert any("CJK" in name and emb == "yes" for name, emb in fonts.items()), fonts
    box = PdfReader(str(path)).pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)  # A4, though the locale is the US
    return text


def test_ai4i_report_in_chinese(chinese, ai4i_small_run, tmp_path):
    run, evaluation = ai4i_small_run.run, ai4i_small_run.evaluation
    doc = rp.build_model_report(run, evaluation, *ai4i_small_run.analysed, settings=rp.ReportSettings(**SETTINGS))
    assert doc.title == "模型报告"
    assert doc.section_titles() == ["数据", "预处理", "模型", "训练曲线", "评估", "特征重要性"]
    result = render_pdf(doc, tmp_path / "模型报告.pdf")
    assert result.paper == "A4" and result.warnings == []
    text = assert_clean_chinese_pdf(result.path, result.pages)
    for heading in ("模型报告", "训练数据", "数据质量", "疑似泄漏", "各列的预处理方案", "划分", "网络结构", "训练设置",
                    "阈值与代价", "混淆矩阵", "ROC 曲线", "置换重要性", *doc.section_titles()):
        assert heading in text
    assert "2026年3月2日 08:30" in text  # the cover's date as a Chinese reader writes it
    # numbers and data stay as they are, and read back digit for digit next to Chinese words
    assert f"{evaluation.metrics['pr_auc']:.4f}" in text and f"{evaluation.metrics['roc_auc']:.4f}" in text
    assert f"参数：共 {run.model.count_params():,} 个。" in text
    _tn, fp, fn, tp = evaluation.confusion.counts.ravel()
    assert f"检出 {tp:,}，漏检 {fn:,}，误报 {fp:,}" in text
    assert "Machine_failure" in text and "Air temperature [K]" in text and run.id in text
    assert "Model report" not in text and "page 1 of" not in text


def test_gb18030_decimal_comma_report_in_chinese(chinese, tmp_path):
    from mfg_desktop.core.evaluate import evaluate_run
    from mfg_desktop.core.ingest import load_files
    from mfg_desktop.core.network import preset
    from mfg_desktop.core.profile import analyze_target, profile_frame
    from mfg_desktop.core.recipe import propose_recipe
    from mfg_desktop.core.split import SplitSpec
    from mfg_desktop.core.train import train_run

    loaded = load_files([GB18030_FILE])
    frame = loaded.frame
    # read as written: GB18030, ';' and the decimal comma understood, Chinese names kept
    assert list(frame.columns) == CHINESE_COLUMNS and len(frame) == 400
    assert frame["温度_℃"].dtype.kind == "f" and 160 < frame["温度_℃"].mean() < 200
    assert set(frame["结果"]) == {"合格", "不合格"}
    profile = profile_frame(frame)
    target = analyze_target(frame, "结果", profile)
    recipe = propose_recipe(frame, "结果", leak_suspects={s.column: s.reason for s in target.leak_suspects})
    run = train_run(frame, recipe, SplitSpec(), preset("fast").with_changes(epochs=2), seed=1)
    evaluation = evaluate_run(run, frame, n_repeats=2, max_rows=400)
    doc = rp.build_model_report(run, evaluation, profile, target, settings=rp.ReportSettings(**SETTINGS))
    result = render_pdf(doc, tmp_path / "gb18030.pdf")
    text = assert_clean_chinese_pdf(result.path, result.pages)
    for name in [*CHINESE_COLUMNS, "合格", "不合格", "PC2026-0001"]:
        assert name in text
    assert re.search(rf"p\( ?{run.fitted.label_mapping.positive_class} ?\) ≥ {run.threshold:.3f}", text)
    assert "目标列 结果" in text and "数据质量" in text and "特征重要性" in text


def test_chinese_text_wraps_inside_its_table_cell(chinese, tmp_path):
    """A Chinese sentence has no spaces: it must break between characters inside its column, with
    every character kept, and not run over the next column or the page edge."""
    sentence = "该列在训练数据中几乎每一行都不同，看起来像是批次编号而不是测量值，因此没有作为输入列使用" * 2
    rows = [[f"温度_{i}", sentence if i % 3 == 0 else "数值", f"{i * 1.25:,.2f}"] for i in range(12)]
    table = rp.Table(["列", "原因", "值"], rows, align=["l", "l", "r"])
    doc = rp.ReportDocument("换行", "model", "页眉", "右侧", cover=[], blocks=[rp.Heading("换行", 1), table],
                            created="2026-03-02T08:30:00")
    result = render_pdf(doc, tmp_path / "wrap.pdf")
    text = "".join(" ".join(pdftotext(result.path)).split())
    assert text.count(sentence) == 4  # rows 0, 3, 6, 9, each whole and in order
    bbox = subprocess.run(["pdftotext", "-bbox", str(result.path), "-"], capture_output=True, text=True,
                          check=True).stdout
    right_edge = 595.28 - 18 * MM / (300 / 72)  # the page's right margin, in PDF points
    found = re.findall(r'xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="[\d.]+">([^<]*)<', bbox)
    # the table's words: below the page header (10 mm) and above the footer (12 mm from the foot)
    words = [(x0, x1, w) for x0, y0, x1, w in found if 20 * 72 / 25.4 < float(y0) < 842 - 20 * 72 / 25.4]
    assert len(words) > 20
    value_column = min(float(x0) for x0, _x1, w in words if re.fullmatch(r"[\d,.]+", w) and float(x0) > 300)
    for x0, x1, word in words:
        assert float(x1) <= right_edge + 0.5, word
        if any("\u4e00" <= ch <= "\u9fff" for ch in word) and float(x0) > 60 and word != "值":  # not its header
            assert float(x1) < value_column, f"{word!r} runs into the value column"


def test_cli_report_follows_mfg_lang(chinese, ai4i_small_run, tmp_path, capsys):
    """`MFG_LANG=zh_CN mfg-desktop report MODEL --out FILE` writes the Chinese report, on A4 by default."""
    from mfg_desktop import cli
    from mfg_desktop.core.bundle import save_model_file

    model = save_model_file(ai4i_small_run.run, tmp_path / "failure.mfgmodel")
    out = tmp_path / "报告.pdf"
    assert cli.main(["report", str(model), "--out", str(out), "--plant", "苏州工厂", "--line", "三号线",
                     "--sections", "model,training"]) == 0
    assert capsys.readouterr().out.strip().endswith("，A4）")
    pages = pdftotext(out)
    assert pages[0].startswith("模型报告 — 苏州工厂 · 三号线") and "目录：模型、训练曲线。" in pages[0]
    text = " ".join(pages)
    assert "网络结构" in text and "训练曲线" in text and f"第 {len(pages)} 页，共 {len(pages)} 页" in text
