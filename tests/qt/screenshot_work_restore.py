"""Render the crash-restore prompt and the window it restores, to look at them.

Run: ``python tests/qt/screenshot_work_restore.py [OUT_FOLDER]`` (default: the current folder).
Not a test: a first window loads ai4i2020, picks the target and prepares it (the autosave
follows); a second window then finds that autosave without a clean-exit marker, as after a
crash, shows its prompt (restore_prompt.png), restores and is pictured at Prepare (restored_window.png).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("MFG_DESKTOP_CONFIG_DIR", tempfile.mkdtemp(prefix="mfg-shot-"))
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def main() -> None:
    from PySide6.QtWidgets import QMessageBox

    from mfg_desktop.qt import work_menu, workers
    from mfg_desktop.qt.app import create_application
    from mfg_desktop.qt.main_window import MainWindow

    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd()
    app = create_application()

    def wait(done, limit_s: float = 120) -> None:
        deadline = time.monotonic() + limit_s
        while not done() and time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.01)

    first = MainWindow()
    first.resize(1400, 900)
    first.show()
    first.load_files([str(ROOT / "tests" / "data" / "ai4i2020.csv")])
    wait(lambda: first.session.profile is not None)
    first.data_panel.pick_target("Machine_failure")
    first.show_step("prepare")
    wait(lambda: first.session.recipe is not None)
    first.page("prepare").set_split("random", train=0.6, valid=0.2, test=0.2)
    first.work.autosave()
    first.hide()  # no closeEvent: as if the process had died here, and its lock with it
    first.work._lock.unlock()
    first.work.owns_autosave = False

    second = MainWindow()
    second.resize(1400, 900)
    second.show()
    assert second.work.crashed_before
    shots = {}

    def grab_and_answer(box: QMessageBox) -> int:
        box.show()
        wait(lambda: False, 0.3)
        shots["prompt"] = box.grab()
        return QMessageBox.StandardButton.Yes.value

    QMessageBox.exec = grab_and_answer
    second.work.offer_restore_after_crash()
    wait(lambda: second.work.restore is None)
    wait(lambda: not workers.running_jobs())
    wait(lambda: False, 0.5)
    shots["prompt"].save(str(out / "restore_prompt.png"))
    second.grab().save(str(out / "restored_window.png"))
    print(f"restored: target {second.session.target}, split {second.session.split_spec.text} "
          f"{second.session.split_spec.train}/{second.session.split_spec.valid}/{second.session.split_spec.test}; "
          f"banner: {second.banner.text()}; autosave {work_menu.autosave_path()}")
    for window in (second, first):
        window.close()


if __name__ == "__main__":
    main()
