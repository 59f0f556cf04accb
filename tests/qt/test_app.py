"""App bootstrap: light imports, translations, the error hooks, the log in the config dir."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

from PySide6.QtCore import QCoreApplication, QTranslator
from PySide6.QtWidgets import QApplication, QMessageBox

from mfg_desktop.core.errors import DataError
from mfg_desktop.qt import app as qt_app
from mfg_desktop.qt import error_dialog
from mfg_desktop.qt.settings import config_dir, log_path


def test_showing_the_window_loads_neither_tensorflow_nor_pandas(tmp_path):
    code = (
        "import json, sys\n"
        "import mfg_desktop.qt.app, mfg_desktop.qt.main_window\n"
        "app = mfg_desktop.qt.app.create_application()\n"
        "window = mfg_desktop.qt.main_window.MainWindow()\n"
        "window.show()\n"
        "app.processEvents()\n"
        "print(json.dumps({m: m in sys.modules for m in ('tensorflow', 'keras', 'pandas', 'pyqtgraph')}))\n"
    )
    env = dict(os.environ, MFG_DESKTOP_CONFIG_DIR=str(tmp_path), QT_QPA_PLATFORM="offscreen")
    result = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=120, env=env
    )
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded["tensorflow"] is False and loaded["keras"] is False
    # building and showing the window also stays free of the heavy data libraries (cold start)
    assert loaded["pandas"] is False and loaded["pyqtgraph"] is False


def test_config_dir_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("MFG_DESKTOP_CONFIG_DIR", str(tmp_path / "cfg"))
    assert config_dir() == tmp_path / "cfg" and config_dir().is_dir()
    assert log_path().parent == tmp_path / "cfg"


class _Upper(QTranslator):
    """A translator that upper-cases everything: proves strings go through Qt's tr()."""

    def translate(self, context, source, disambiguation=None, n=-1):
        return source.upper()


def test_window_strings_go_through_qt_translation(qtbot):
    from mfg_desktop.qt.main_window import MainWindow

    translator = _Upper()
    QCoreApplication.installTranslator(translator)
    try:
        window = MainWindow()
        qtbot.addWidget(window)
        titles = [window.step_list.item(i).text() for i in range(window.step_list.count())]
        menus = [action.text() for action in window.menuBar().actions()]
        window.close()
    finally:
        QCoreApplication.removeTranslator(translator)
    assert titles[0].endswith("DATA") and titles[-1].endswith("REPORT")
    assert "&FILE" in menus


def test_excepthook_shows_dialog_and_logs(qtbot, monkeypatch):
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    error_dialog.setup_logging()
    relay = error_dialog.install_excepthook()
    try:
        raise RuntimeError("boom in a slot")
    except RuntimeError:
        sys.excepthook(*sys.exc_info())
    qtbot.waitUntil(lambda: relay.last_dialog is not None and relay.last_dialog.isVisible())
    box = relay.last_dialog
    assert "boom in a slot" in box.text()
    assert "Traceback" in box.detailedText() and "test_excepthook_shows_dialog_and_logs" in box.detailedText()
    for handler in error_dialog.log.handlers:
        handler.flush()
    assert "boom in a slot" in log_path().read_text(encoding="utf-8")
    box.close()

    # from a Python thread: relayed to the GUI thread
    def fail():
        raise ValueError("boom in a thread")

    thread = threading.Thread(target=fail, name="worker-x")
    thread.start()
    thread.join()
    qtbot.waitUntil(lambda: relay.last_dialog is not box and relay.last_dialog.isVisible())
    assert "boom in a thread" in relay.last_dialog.text() and "worker-x" in relay.last_dialog.text()
    relay.last_dialog.close()


def test_expected_errors_read_plainly_in_the_dialog(qtbot):
    box = error_dialog.show_error_dialog(DataError("file is empty", file="/x/day1.csv", hint="Export again."))
    qtbot.addWidget(box)
    assert box.text().startswith("day1.csv: file is empty")
    assert box.icon() == QMessageBox.Icon.Critical
    box.close()


def test_create_application_reuses_the_instance_and_sets_the_icon(qapp):
    app = qt_app.create_application()
    assert app is QApplication.instance()
    assert not app.windowIcon().isNull()
    assert app.applicationName() == "mfg-desktop"


GUI_CHILD = r"""
import json, sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from mfg_desktop.qt.app import create_application

app = create_application()  # run_app reuses it; the checks below run inside its event loop


def check():
    for widget in QApplication.topLevelWidgets():
        if type(widget).__name__ != "MainWindow" or not widget.isVisible():
            continue
        session = widget.session
        if session.profile is not None or widget.banner.isVisible():
            print(json.dumps({
                "rows": None if session.frame is None else len(session.frame),
                "columns": None if session.frame is None else list(map(str, session.frame.columns)),
                "banner": widget.banner.text() if widget.banner.isVisible() else "",
                "tensorflow": "tensorflow" in sys.modules,
            }), flush=True)
            widget.close()  # the last window closed ends app.exec()
            return
    QTimer.singleShot(100, check)


QTimer.singleShot(100, check)
QTimer.singleShot(90_000, app.quit)
from mfg_desktop.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _run_gui(args: list[str], tmp_path) -> dict:
    env = dict(os.environ, MFG_DESKTOP_CONFIG_DIR=str(tmp_path / "cfg"), QT_QPA_PLATFORM="offscreen")
    result = subprocess.run(
        [sys.executable, "-c", GUI_CHILD, *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    assert lines, result.stdout + result.stderr[-3000:]
    return json.loads(lines[-1])


def test_command_line_files_open_the_window_and_load(ai4i_path, tmp_path):
    state = _run_gui([str(ai4i_path)], tmp_path)
    assert state["rows"] == 10_000 and state["columns"][0] == "UDI"
    assert state["tensorflow"] is False
    assert (tmp_path / "cfg" / "settings.ini").is_file()  # settings went to the configured folder


def test_demo_opens_the_sample_data(tmp_path):
    state = _run_gui(["--demo"], tmp_path)
    assert state["rows"] > 1000 and "defect" in state["columns"] and state["banner"] == ""


def test_a_bad_file_on_the_command_line_shows_the_banner(tmp_path):
    state = _run_gui([str(tmp_path / "no_such_export.csv")], tmp_path)
    assert state["rows"] is None
    assert "no_such_export.csv" in state["banner"] and "not found" in state["banner"]
