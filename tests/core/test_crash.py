"""The crash report zip, without a window: its parts, the log tail and the step history."""

from __future__ import annotations

import json
import zipfile

from mfg_desktop.core.crash import StepHistory, log_tail, write_crash_report


def test_report_holds_its_parts_and_only_the_last_log_lines(tmp_path):
    log = tmp_path / "app.log"
    log.write_text("".join(f"line {i}\n" for i in range(500)), encoding="utf-8")
    history = StepHistory()
    for kind, name in [("step", "data"), ("job", "load: Loading a.csv"), ("step", "prepare"), ("step", "data")]:
        history.record(kind, name)
    assert history.steps_visited() == ["data", "prepare"]
    path = write_crash_report(tmp_path / "reports", "Traceback ...\nValueError: boom\n", log_file=log,
                              history=history, work_saved_to="/cfg/autosave.mfgwork")
    assert path.parent == tmp_path / "reports" and path.suffix == ".zip"
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary left
    with zipfile.ZipFile(path) as zf:
        assert zf.read("traceback.txt").decode().endswith("ValueError: boom\n")
        tail = zf.read("log_tail.txt").decode().splitlines()
        assert tail[0] == "line 300" and tail[-1] == "line 499"
        assert [e["name"] for e in json.loads(zf.read("history.json"))][:2] == ["data", "load: Loading a.csv"]
        readme = json.loads(zf.read("README.txt"))
        assert readme["work_saved_to"] == "/cfg/autosave.mfgwork" and "nothing was sent" in readme["note"]
        versions = json.loads(zf.read("versions.json"))
        assert versions["numpy"] != "not installed" and versions["python"]


def test_no_log_yet_is_an_empty_tail(tmp_path):
    assert log_tail(tmp_path / "missing.log") == "" and log_tail(None) == ""
