"""The core's model-side messages in Chinese (issue 17): real failures and texts of training, the
model file, scoring and the folder watcher come out of the catalog in Simplified Chinese, with the
user's column and file names exactly as they are, and in English again once the language is English."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pandas as pd
import pytest

from mfg_desktop.core import i18n
from mfg_desktop.core.bundle import load_model_file, save_model_file
from mfg_desktop.core.decisions import choose_model, models_summary
from mfg_desktop.core.errors import DataError, ModelFileError, TrainingError
from mfg_desktop.core.evaluate import evaluate_model_file
from mfg_desktop.core.network import NetworkSpec, build_model, preset
from mfg_desktop.core.recipe import propose_recipe
from mfg_desktop.core.score import check_schema, score_file
from mfg_desktop.core.split import SplitSpec
from mfg_desktop.core.train import train_run
from mfg_desktop.core.trees import tree_preset
from mfg_desktop.core.watch import FolderWatcher

LEAKS = ["UDI", "Product ID", "TWF", "HDF", "PWF", "OSF", "RNF"]
# a user's own Chinese column name: it must reach every message exactly as it is
TORQUE = "扭矩 [Nm]"


def _use_chinese(mp: pytest.MonkeyPatch) -> None:
    mp.delenv("MFG_LANG", raising=False)  # tests/conftest.py forces English through MFG_LANG
    assert i18n.set_language("zh_CN") == "zh_CN"


@pytest.fixture
def chinese(monkeypatch):
    _use_chinese(monkeypatch)
    yield
    i18n.set_language("en")


@pytest.fixture(scope="module")
def frame(ai4i_path) -> pd.DataFrame:
    data = pd.read_csv(ai4i_path, encoding="utf-8-sig").sample(frac=1.0, random_state=0).reset_index(drop=True)
    return data.iloc[:900].rename(columns={"Torque [Nm]": TORQUE}).reset_index(drop=True)


@pytest.fixture(scope="module")
def auto_run(frame):
    """A tiny Auto run (2 network epochs, then LightGBM) trained while the app speaks Chinese."""
    recipe = propose_recipe(frame, "Machine_failure", exclude=LEAKS)
    with pytest.MonkeyPatch.context() as mp:
        _use_chinese(mp)
        try:
            run = train_run(frame, recipe, SplitSpec(), preset("fast").with_changes(hidden=[32], epochs=2), seed=1,
                            model_choice="auto", tree_spec=tree_preset("fast"))
        finally:
            i18n.set_language("en")
    return run


def test_the_auto_reason_and_the_decisions_are_chinese(auto_run, chinese):
    run = auto_run
    assert set(run.candidates) == {"network", "trees", "blend"}
    reason = run.choice_reason
    assert "验证集" in reason and "PR-AUC" in reason and "对比" in reason, reason
    chosen = "神经网络" if run.chosen == "network" else "梯度提升树 (LightGBM)"
    assert reason.startswith(chosen), reason
    # the threshold's rule, decided on the validation rows with no costs given
    assert run.candidates[run.chosen].threshold_rule in ("验证集上 F1 最高（未给出代价）",
                                                         "0.5（验证集中没有正类行，无法选择阈值）")
    lines = models_summary(run)
    assert lines[0].startswith("模型：") and "由“自动”在验证集上选出" in lines[0], lines
    assert any("（已选）" in line for line in lines), lines


def test_the_same_choice_reads_in_english_when_the_language_is_english(auto_run):
    scores = {name: c.validation for name, c in auto_run.candidates.items()}
    chosen, reason = choose_model(scores, auto_run.task)
    assert chosen == auto_run.chosen or auto_run.chosen == "blend"  # the average's rule may keep the average
    label = {"network": "network", "trees": "LightGBM trees", "blend": "network + LightGBM (averaged)"}[chosen]
    assert reason.startswith(f"{label} has the higher validation PR-AUC: "), reason


def test_a_file_missing_a_required_column_is_rejected_in_chinese_naming_the_column(auto_run, frame, tmp_path,
                                                                                 chinese):
    report = check_schema(auto_run, [c for c in frame.columns if c != TORQUE], file="产线A.csv")
    assert not report.usable
    assert f"缺少必需的列：{TORQUE!r}；无法为该文件评分" in report.lines(), report.lines()
    assert report.summary().startswith("产线A.csv: 已拒绝")

    new = tmp_path / "产线A.csv"
    frame.drop(columns=[TORQUE]).iloc[:50].to_csv(new, index=False)
    result = score_file(auto_run, new, tmp_path / "out")
    assert result.rejected and result.output is None
    summary = result.summary()
    assert summary.startswith("产线A.csv：已拒绝，未评分任何行"), summary
    assert f"缺少必需的列：{TORQUE!r}" in summary, summary


def test_scoring_texts_and_drift_are_chinese(auto_run, frame, tmp_path, chinese):
    new = tmp_path / "批次 7.csv"
    batch = frame.iloc[:200].copy()
    batch[TORQUE] = batch[TORQUE] + 400.0  # far outside what the model saw
    batch["Tool wear [min]"] = batch["Tool wear [min]"].astype(object)
    batch.loc[0, "Tool wear [min]"] = "坏值"
    batch.to_csv(new, index=False)
    result = score_file(auto_run, new, tmp_path / "out")
    summary = result.summary()
    assert summary.startswith("批次 7.csv：已评分 199 / 200 行（拒绝 1 行）"), summary
    assert f"{TORQUE!r} 出现数据漂移：" in summary and "的值超出训练范围" in summary, summary
    assert "'Tool wear [min]' 应为数值，但有 1 行含其他值（例如 '坏值'；首次出现在数据第 1 行），这些行未评分" \
        in summary, summary
    # the scored file keeps its machine-readable column names
    header = (tmp_path / "out" / "批次 7_scored.csv").read_text(encoding="utf-8-sig").splitlines()[0]
    assert "prediction" in header and "rejected" in header and TORQUE in header


def test_evaluating_a_file_with_unknown_classes_or_no_target_is_chinese(auto_run, frame, chinese):
    odd = frame.iloc[:60].copy()
    odd["Machine_failure"] = odd["Machine_failure"].astype(object)
    odd.loc[[3, 4], "Machine_failure"] = "卡料"
    with pytest.raises(DataError) as info:
        evaluate_model_file(auto_run, odd)
    assert info.value.message.startswith("文件的目标列中有模型从未见过的类别：'卡料'"), info.value.message
    assert info.value.hint.endswith("模型只能在它学过的类别上评估。"), info.value.hint
    with pytest.raises(DataError) as info:
        evaluate_model_file(auto_run, frame.drop(columns=["Machine_failure"]).iloc[:50], data_files=["批次 9.csv"])
    assert info.value.message == "文件 批次 9.csv 中没有目标列 'Machine_failure'：评估需要真实值来对比。"


def test_a_file_that_is_not_a_model_is_refused_in_chinese(tmp_path, chinese):
    fake = tmp_path / "不是模型.mfgmodel"
    fake.write_text("UDI,Torque\n1,2\n", encoding="utf-8")
    with pytest.raises(ModelFileError) as info:
        load_model_file(fake)
    assert info.value.message == "这不是 mfg_desktop 模型文件。"
    assert info.value.hint == "请打开由 mfg_desktop 保存的文件（.mfgmodel）。"
    assert str(info.value).startswith("文件 不是模型.mfgmodel：这不是")

    stray = tmp_path / "别人的.mfgmodel"
    with zipfile.ZipFile(stray, "w") as zf:
        zf.writestr("manifest.json", '{"format": "someone else"}')
    with pytest.raises(ModelFileError, match="这不是 mfg_desktop 模型文件（格式不同）。"):
        load_model_file(stray)


def test_an_altered_model_file_says_what_was_altered_in_chinese(auto_run, tmp_path, chinese):
    path = save_model_file(auto_run, tmp_path / "模型.mfgmodel")
    altered = tmp_path / "改过的.mfgmodel"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(altered, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            dst.writestr(info, data + b" " if info.filename == "metrics.json" else data)
    with pytest.raises(ModelFileError) as info:
        load_model_file(altered)
    assert info.value.message == "模型文件已被改动（metrics.json 与校验和不符）。"
    assert str(info.value).startswith("文件 改过的.mfgmodel：")


def test_training_failures_are_chinese(frame, chinese):
    with pytest.raises(TrainingError) as info:
        build_model(NetworkSpec(), 4, "binary", 1)  # a classifier of one class
    assert info.value.message == "训练分类模型时，目标列至少需要两个类别。"

    few = frame.iloc[:8].copy()
    few.loc[:3, "Machine_failure"] = 1
    with pytest.raises(TrainingError) as info:
        train_run(few, propose_recipe(few, "Machine_failure", exclude=LEAKS), SplitSpec(), preset("fast"))
    assert info.value.message == "只有 8 行有目标值；训练和验证至少需要 10 行。"
    assert info.value.hint == "请加载更多数据。"

    with pytest.raises(TrainingError) as info:
        preset("huge")
    assert info.value.message == "未知的预设“huge”。" and info.value.hint == "请使用以下之一：fast, balanced, thorough。"

    with pytest.raises(TrainingError, match="神经网络设置有误：dropout 必须在 \\[0, 1\\) 之内。"):
        NetworkSpec(dropout=1.5)


def test_the_watch_folder_speaks_chinese_and_keeps_file_names(auto_run, frame, tmp_path, chinese):
    with pytest.raises(DataError) as info:
        FolderWatcher(tmp_path / "没有这个文件夹", tmp_path / "out", auto_run)
    assert info.value.message == "要监视的文件夹不存在。" and info.value.hint == "请选择一个已存在的文件夹。"

    line = tmp_path / "产线"
    line.mkdir()
    with pytest.raises(DataError, match="输出文件夹不能是被监视的文件夹。"):
        FolderWatcher(line, line, auto_run)

    events = []
    now = [0.0]
    watcher = FolderWatcher(line, tmp_path / "已评分", auto_run, stable_s=1.0, on_event=events.append,
                            clock=lambda: now[0])
    frame.iloc[:40].to_csv(line / "班次 3.csv", index=False)
    watcher.poll_once()
    assert [e.message for e in events] == ["班次 3.csv：等待文件完全写入"]
    now[0] = 5.0
    scored = watcher.poll_once()
    assert len(scored) == 1 and events[-1].kind == "scored"
    assert events[-1].message.startswith("班次 3.csv：已评分 40 / 40 行"), events[-1].message


def test_english_comes_back_with_the_language(tmp_path):
    fake = tmp_path / "not_a_model.mfgmodel"
    fake.write_bytes(b"hello")
    with pytest.raises(ModelFileError) as info:
        load_model_file(fake)
    assert info.value.message == "This is not an mfg_desktop model file."
    assert Path(i18n.catalog_dir()).is_dir() and i18n.language() == "en"
