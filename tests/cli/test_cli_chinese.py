"""The command line speaks Chinese under MFG_LANG=zh_CN (headings, errors, help), English without it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mfg_desktop.cli import main
from mfg_desktop.core import i18n

DATA = Path(__file__).resolve().parents[1] / "data"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def chinese(monkeypatch):
    monkeypatch.setenv("MFG_LANG", "zh_CN")
    yield
    monkeypatch.delenv("MFG_LANG")
    i18n.set_language("en")


def _run(*args: str, lang: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "MFG_LANG"}
    if lang:
        env["MFG_LANG"] = lang
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-m", "mfg_desktop", *args], capture_output=True, text=True, env=env,
                          timeout=120, check=False)


def test_profile_prints_chinese_headings_and_a_chinese_error_and_english_without(tmp_path):
    zh = _run("profile", str(DATA / "ai4i2020.csv"), "--target", "Machine_failure", lang="zh_CN")
    assert zh.returncode == 0, zh.stderr
    assert "行数：10000" in zh.stdout and "目标列：Machine_failure" in zh.stdout and "任务：二分类" in zh.stdout
    assert "Air temperature [K]" in zh.stdout  # the user's column names stay as they are
    missing = tmp_path / "没有这个文件.csv"
    bad = _run("profile", str(missing), lang="zh_CN")
    assert bad.returncode == 2 and bad.stderr.startswith("错误：") and "没有这个文件.csv" in bad.stderr
    assert bad.stderr.count("\n") == 1  # one line
    en = _run("profile", str(missing), lang=None)
    assert en.returncode == 2 and en.stderr.startswith("error: ") and "错误" not in en.stderr


def test_help_is_chinese(capsys, chinese):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = capsys.readouterr().out
    assert "要写入的模型文件" in out and "传感器历史" in out and "--rul-cap" in out
    assert out.startswith("用法：") and "显示此帮助信息并退出" in out  # argparse's own words too


def test_a_history_problem_is_reported_in_chinese(tmp_path, capsys, chinese):
    path = tmp_path / "runs.csv"
    path.write_text("unit,cycle,s1\n1,1,0.5\n1,3,0.6\n1,2,0.7\n2,1,0.4\n2,2,0.5\n2,3,0.6\n", encoding="utf-8")
    rc = main(["train", str(path), "--entity", "unit", "--order", "cycle", "--rul", "--epochs", "1",
               "--out", str(tmp_path / "m.mfgmodel")])
    err = capsys.readouterr().err
    assert rc == 2
    assert "实体 1 内的顺序出现倒退" in err and "请按实体和顺序对文件排序" in err
    assert not (tmp_path / "m.mfgmodel").exists()


def test_a_dead_cluster_address_is_explained_in_chinese(capsys, chinese):
    pytest.importorskip("ray", reason="the [cluster] extra is not installed")
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    rc = main(["cluster", "check", f"127.0.0.1:{port}"])
    err = capsys.readouterr().err
    assert rc == 2 and "没有服务在监听" in err and "连接被拒绝" in err
