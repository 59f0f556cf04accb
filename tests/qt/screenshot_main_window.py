"""Render the README screenshot: the window at 1400 x 900 with ai4i2020 loaded and its target picked.

Run: ``python tests/qt/screenshot_main_window.py [OUT.png]`` (default resources/screenshots/main_window.png).
Not a test (pytest collects only test_*.py): a script to refresh the picture when the window changes.
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
    from mfg_desktop.qt import workers
    from mfg_desktop.qt.app import create_application
    from mfg_desktop.qt.main_window import MainWindow

    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "resources" / "screenshots" / "main_window.png"
    app = create_application()
    window = MainWindow()
    window.resize(1400, 900)
    window.show()

    def wait(done, limit_s: float = 120) -> None:
        deadline = time.monotonic() + limit_s
        while not done() and time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.01)

    window.load_files([str(ROOT / "tests" / "data" / "ai4i2020.csv")])
    wait(lambda: window.session.profile is not None)
    panel = window.data_panel
    panel.pick_target("Machine_failure")
    wait(lambda: window.session.target_report is not None)
    panel.select_column("Torque [Nm]")
    wait(lambda: not workers.running_jobs() and window.data_panel.plot_column == "Torque [Nm]")
    for _ in range(30):
        app.processEvents()
        time.sleep(0.01)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp.png")
    window.grab().save(str(tmp))
    os.replace(tmp, out)
    window.close()
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
