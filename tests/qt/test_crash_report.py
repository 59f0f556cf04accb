"""An unexpected exception: one dialog saying what happened, that the work was saved and what to do,
and a zip for IT in the config dir (traceback, versions, OS, log tail, step history; no data values)."""

from __future__ import annotations

import json
import logging
import zipfile

import pandas as pd
import pytest
from PySide6.QtWidgets import QMessageBox

from mfg_desktop.core.crash import LOG_LINES, REPORT_PREFIX
from mfg_desktop.qt.error_dialog import setup_logging, show_error_dialog
from mfg_desktop.qt.settings import config_dir, log_path

SECRET_NUMBER = "48213.77125"
SECRET_TEXT = "ZQX-Lot-9917-secret"


def _fail_on(frame: pd.DataFrame) -> None:
    first = frame.iloc[0]  # a local holding data values: they must not reach the report
    raise RuntimeError(f"provoked while handling {len(frame)} rows of {first.size} values")


@pytest.fixture
def app_log():
    """The app's log file in this test's config folder (setup_logging sets it up once per process)."""
    logger = logging.getLogger("mfg_desktop")
    ours = [h for h in logger.handlers if getattr(h, "_mfg_desktop", False)]
    for handler in ours:
        logger.removeHandler(handler)
    setup_logging()
    yield log_path()
    for handler in [h for h in logger.handlers if getattr(h, "_mfg_desktop", False)]:
        logger.removeHandler(handler)
        handler.close()
    for handler in ours:
        logger.addHandler(handler)


def test_an_unexpected_error_writes_a_report_without_data_values(main_window, qtbot, wait, tmp_path, app_log):
    data = tmp_path / "secret.csv"
    pd.DataFrame({"reading": [float(SECRET_NUMBER)] * 30, "lot": [SECRET_TEXT] * 30,
                  "defect": [0, 1] * 15}).to_csv(data, index=False)
    main_window.load_files([str(data)])
    wait.loaded(main_window)
    main_window.show_step("prepare")
    logging.getLogger("mfg_desktop").warning("a line before the crash")
    for i in range(LOG_LINES + 50):
        logging.getLogger("mfg_desktop").info("filler %d", i)
    try:
        _fail_on(main_window.session.frame)
    except RuntimeError as exc:
        box = show_error_dialog(exc, main_window, "testing")

    reports = sorted(config_dir().glob(f"{REPORT_PREFIX}*.zip"))
    assert len(reports) == 1
    with zipfile.ZipFile(reports[0]) as zf:
        members = {name: zf.read(name).decode("utf-8") for name in zf.namelist()}
    assert set(members) == {"README.txt", "traceback.txt", "versions.json", "system.txt", "log_tail.txt",
                            "history.json"}
    assert "RuntimeError: provoked while handling 30 rows of 3 values" in members["traceback.txt"]
    assert "_fail_on" in members["traceback.txt"]
    versions = json.loads(members["versions.json"])
    assert versions["mfg-desktop"] and versions["pandas"] == pd.__version__ and "PySide6" in versions
    assert "platform:" in members["system.txt"]
    tail = members["log_tail.txt"].splitlines()
    assert len(tail) == LOG_LINES and "filler" in tail[0]  # the last 200 lines: fillers, then the error
    assert "a line before the crash" not in members["log_tail.txt"] and "provoked" in members["log_tail.txt"]
    history = json.loads(members["history.json"])
    assert [e["name"] for e in history if e["kind"] == "step"][:2] == ["data", "prepare"]
    assert any(e["kind"] == "job" and e["name"].startswith("load") for e in history)
    for name, text in members.items():
        assert SECRET_NUMBER not in text and "48213.8" not in text, name
        assert SECRET_TEXT not in text, name
    assert app_log.is_file()

    # one dialog: what happened, that the work was saved, where the report is and what to do
    assert box.isVisible() and box.icon() == QMessageBox.Icon.Critical
    assert "unexpected error" in box.text() and "provoked" in box.text()
    info = box.informativeText()
    assert "Your work was saved" in info and "autosave.mfgwork" in info
    assert str(reports[0]) in info and "not sent anywhere" in info and "IT" in info
    box.close()
    wait.idle()


def test_an_expected_problem_writes_no_crash_report(main_window):
    from mfg_desktop.core.errors import DataError

    box = show_error_dialog(DataError("column 'x' is empty", file="a.csv"), main_window)
    assert not list(config_dir().glob(f"{REPORT_PREFIX}*.zip"))
    box.close()
