"""The core's data-side messages in Chinese: real failures read in Chinese, the user's names intact.

Each test makes the failure happen for real (a missing file, a ragged CSV, a formula naming a
column that does not exist, a split that cannot work, ai4i2020's leak suspects) and reads what the
user would read: ``str(error)``, which is :meth:`MfgError.describe`.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mfg_desktop.core import i18n
from mfg_desktop.core.errors import DataError, MfgError, TrainingError
from mfg_desktop.core.formula import FormulaError, parse_derived
from mfg_desktop.core.ingest import load_files
from mfg_desktop.core.profile import analyze_target, profile_frame
from mfg_desktop.core.split import SplitSpec, make_split
from mfg_desktop.core.task import BINARY

ROOT = Path(__file__).resolve().parents[2]
DATA_SIDE = ("errors", "ingest", "profile", "task", "formula", "recipe", "split")


@pytest.fixture
def chinese(monkeypatch):
    monkeypatch.delenv("MFG_LANG", raising=False)  # MFG_LANG would win over the choice below
    assert i18n.set_language("zh_CN") == "zh_CN"
    yield
    i18n.set_language("en")


def _has_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def test_a_missing_file_is_reported_in_chinese_and_in_english_again(chinese, tmp_path):
    missing = tmp_path / "产线_3号.csv"
    with pytest.raises(DataError) as err:
        load_files(missing)
    text = str(err.value)
    assert text.startswith("文件 产线_3号.csv：找不到文件")
    assert str(tmp_path) in text and "文件 > 打开" in text  # the folder looked in, and what to do
    assert "not found" not in text
    i18n.set_language("en")
    with pytest.raises(DataError) as err:
        load_files(missing)
    assert str(err.value).startswith("产线_3号.csv: file not found (looked in ")


def test_a_ragged_csv_names_its_line_in_chinese(chinese, tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("a,b,c\n1,2,3\n4,5,6,7\n8,9,10\n", encoding="utf-8")
    with pytest.raises(DataError) as err:
        load_files(path)
    assert err.value.row == 3
    text = str(err.value)
    assert text.startswith("文件 ragged.csv，第 3 行：第 3 行有 4 个字段，但第一行有 3 个。")
    assert "逗号" in text and "comma" not in text  # the hint names the delimiter in Chinese


def test_a_formula_naming_an_unknown_column_keeps_the_users_names(chinese):
    columns = ["扭矩 [Nm]", "转速 [rpm]"]
    with pytest.raises(FormulaError) as err:
        parse_derived('功率 = "扭矩" * "转速 [rpm]"', columns)
    assert err.value.column == "扭矩"
    text = str(err.value)
    # the position counts in the formula after '='; the close match is spelt as in the data
    assert text == "列 '扭矩'：未知的列 '扭矩'（公式第 1 个字符处）。是否指 \"扭矩 [Nm]\"？"
    with pytest.raises(FormulaError) as err:
        parse_derived("x = a // 2", ["a"])
    assert str(err.value).startswith("不允许使用运算符 //（公式第 1 个字符处）。允许使用：")
    i18n.set_language("en")  # the parse is cached; its message must not stay in Chinese
    with pytest.raises(FormulaError) as err:
        parse_derived('功率 = "扭矩" * "转速 [rpm]"', columns)
    assert str(err.value).startswith("column '扭矩': Unknown column '扭矩' at character 1 of the formula.")


def test_a_split_that_cannot_work_says_why_in_chinese(chinese):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"机台": ["M1"] * 30 + ["M2"] * 30, "温度": rng.normal(size=60)})
    y = pd.Series([0, 1] * 30, name="不良")
    with pytest.raises(TrainingError) as err:
        make_split(frame, y, SplitSpec(method="group", column="机台"), BINARY)
    assert str(err.value) == (
        "列 '机台'：列 '机台' 只有 2 个不同值；按分组划分为 3 部分至少需要 3 个。"
        "请选择分组更多的列（例如用批次代替设备），或改用其他划分方式。"
    )
    with pytest.raises(TrainingError) as err:
        make_split(frame.iloc[:8], y.iloc[:8], SplitSpec(), BINARY)
    assert str(err.value).startswith("行数太少，无法这样划分：8 行可用数据只能分出")


def test_ai4i_leak_reasons_are_chinese_and_name_the_columns(chinese, ai4i_path):
    frame = pd.read_csv(ai4i_path, encoding="utf-8-sig")
    report = analyze_target(frame, "Machine_failure", profile_frame(frame))
    reasons = {s.column: s.reason for s in report.leak_suspects}
    assert reasons["TWF"] == ("仅凭这一列几乎就能确定目标值：TWF = 1 时，46 行中有 46 行的目标值为 1"
                              "（基础比例 3.4 %）。")
    assert reasons["UDI"].startswith("疑似标识列：")  # found by its translated start
    assert reasons["RNF"].startswith("一个少见的 0/1 标志，与 TWF, HDF, PWF, OSF 位于同一组")
    # the summary naming every suspect is left out where the suspects are listed anyway
    assert any(w.startswith("疑似泄漏") for w in report.warnings)
    assert report.other_warnings() and not any(w.startswith("疑似泄漏") for w in report.other_warnings())
    assert all(_has_chinese(w) for w in report.warnings)


def test_describe_reads_naturally_in_chinese(chinese):
    error = MfgError(i18n.tr("Correct or remove that row."), file="/data/a.csv", row=12, column="x",
                     hint=i18n.tr("Check the workbook."))
    assert error.describe() == "文件 a.csv，第 12 行，列 'x'：请修正或删除该行。请检查工作簿。"
    i18n.set_language("en")
    english = MfgError("Bad.", file="/data/a.csv", row=12, column="x", hint="Fix it.")
    assert english.describe() == "a.csv, row 12, column 'x': Bad. Fix it."


def test_every_data_side_string_has_its_chinese_translation():
    """The strings of the core's data side (this part of issue 17) are all in the catalog,
    translated, with the compiled catalog current; other parts are checked by test_translations."""
    spec = importlib.util.spec_from_file_location("translations_tool", ROOT / "installer" / "translations.py")
    tool = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = tool
    spec.loader.exec_module(tool)
    template = tool.extract()
    ours = [m for m in template if m.id and any(
        loc == f"mfg_desktop/core/{name}.py" for loc, _ in m.locations for name in DATA_SIDE)]
    assert len(ours) > 300  # the extractor finds them (a broken keyword list finds none)
    problems = [p for p in tool.problems("zh_CN", template)
                if any(f"core/{name}.py" in p for name in DATA_SIDE) or ".mo " in p]
    assert not problems, "\n".join(problems[:20])
