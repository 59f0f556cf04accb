"""`mfg-desktop profile FILE... [--target COL] [--json]`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mfg_desktop.cli import main

DATA = Path(__file__).resolve().parents[1] / "data"
AI4I = DATA / "ai4i2020.csv"
STEEL = DATA / "SteelPlatesFaults_Clean.csv"
FAULTS = [
    "Pastry_Fault", "Z_Scratch_Fault", "K_Scatch_Fault", "Stains_Fault",
    "Dirtiness_Fault", "Bumps_Fault", "Other_Faults",
]


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    assert main(["profile", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_ai4i_json_with_target(capsys: pytest.CaptureFixture[str]) -> None:
    out = run_json(capsys, str(AI4I), "--target", "Machine_failure")
    assert out["rows"] == 10000 and out["n_columns"] == 14
    assert out["encoding"].replace("_", "-").lower().startswith("utf-8")
    assert out["delimiter"] == ","
    assert len(out["files"]) == 1 and out["files"][0]["path"].endswith("ai4i2020.csv")
    assert out["duplicate_rows"] == 0 and out["memory_bytes"] > 0 and out["onehot_groups"] == []
    first = out["columns"][0]
    assert (first["name"], first["dtype"], first["missing"]) == ("UDI", "int64", 0)
    assert first["identifier_like"] is True and first["kind"] == "integer"
    assert out["task"] == "binary"
    assert out["class_counts"] == {"0": 9661, "1": 339}
    leaks = set(out["leak_suspects"])
    assert {"TWF", "HDF", "PWF", "OSF", "RNF", "UDI", "Product ID"} <= leaks
    assert leaks.isdisjoint({"Air temperature [K]", "Torque [Nm]", "Tool wear [min]", "Type"})
    assert "46 of 46" in out["leak_reasons"]["TWF"]


def test_json_without_target_has_no_task(capsys: pytest.CaptureFixture[str]) -> None:
    out = run_json(capsys, str(STEEL))
    assert out["rows"] == 1941 and len(out["columns"]) == 34
    assert out["onehot_groups"] == [FAULTS]
    assert "task" not in out and "leak_suspects" not in out


def test_steel_group_target(capsys: pytest.CaptureFixture[str]) -> None:
    out = run_json(capsys, str(STEEL), "--target", "+".join(FAULTS))
    assert out["task"] == "multiclass"
    assert out["class_counts"] == {
        "Pastry_Fault": 158, "Z_Scratch_Fault": 190, "K_Scatch_Fault": 391, "Stains_Fault": 72,
        "Dirtiness_Fault": 55, "Bumps_Fault": 402, "Other_Faults": 673,
    }
    assert not set(out["leak_suspects"]) & set(FAULTS)


def test_readable_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profile", str(AI4I), "--target", "Machine_failure"]) == 0
    text = capsys.readouterr().out
    assert "rows: 10000" in text and "columns: 14" in text
    table_line = next(line for line in text.splitlines() if line.startswith("Torque [Nm]"))
    assert "numeric" in table_line and "76.6" in table_line
    assert "task: binary" in text
    assert "RNF: A rare 0/1 flag" in text
    assert "UDI: Identifier-like" in text


def test_several_files_are_concatenated(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = AI4I.read_text(encoding="utf-8-sig").splitlines()
    first, second = tmp_path / "day1.csv", tmp_path / "day2.csv"
    first.write_text("\n".join(lines[:101]) + "\n", encoding="utf-8")
    second.write_text("\n".join([lines[0], *lines[101:301]]) + "\n", encoding="utf-8")
    out = run_json(capsys, str(first), str(second))
    assert out["rows"] == 300
    assert [Path(f["path"]).name for f in out["files"]] == ["day1.csv", "day2.csv"]


def test_unknown_target_exits_2_with_close_match(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profile", str(AI4I), "--target", "Machine failure"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error:")
    assert "'Machine failure'" in captured.err and "'Machine_failure'" in captured.err


def test_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nowhere.csv"
    assert main(["profile", str(missing)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "nowhere.csv" in err


def test_module_entry_point_runs() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mfg_desktop", "profile", str(STEEL), "--json", "--target", "Pastry_Fault"],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["task"] == "binary" and "Z_Scratch_Fault" in out["leak_suspects"]
