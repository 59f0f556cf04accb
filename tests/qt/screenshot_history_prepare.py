"""Render the history set-up on C-MAPSS at 1366 x 768: the Prepare step after building RUL (cap 125)
and window features, and the Train step after a few epochs on them.

Run: ``python tests/qt/screenshot_history_prepare.py [OUT_DIR]`` (default resources/screenshots/: writes
history_prepare.png and history_train.png). Not a test: a script to refresh the pictures.
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
    from mfg_desktop.qt.prepare.history_state import LABEL_RUL

    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "resources" / "screenshots"
    app = create_application()
    window = MainWindow()
    window.resize(1366, 768)
    window.show()

    def wait(done, limit_s: float = 180) -> None:
        deadline = time.monotonic() + limit_s
        while not done() and time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.01)

    def settle() -> None:
        wait(lambda: not workers.running_jobs())
        for _ in range(30):
            app.processEvents()
            time.sleep(0.01)

    def save(name: str) -> None:
        out.mkdir(parents=True, exist_ok=True)
        tmp = out / f".{name}.tmp.png"
        window.grab().save(str(tmp))
        os.replace(tmp, out / name)
        print(f"wrote {out / name}")

    window.load_files([str(ROOT / "tests" / "data" / "cmapss_fd001_6engines.txt")])
    wait(lambda: window.session.target_report is not None)
    window.show_step("prepare")
    page = window.page("prepare")
    wait(lambda: page.history_view.suggestion is not None and window.session.recipe is not None)
    view = page.history_view
    view.label_view.set_rule(LABEL_RUL)
    view.set_windows("minimal", "5, 10, 20")
    view.label_view.curve_entity.setCurrentIndex(1)
    settle()
    view.build()
    wait(lambda: window.session.history is not None and window.session.recipe is not None
         and window.session.recipe.target == "RUL")
    settle()
    save("history_prepare.png")

    window.show_step("train")
    train = window.page("train")
    train.apply_preset("fast")
    train.set_settings(epochs=int(os.environ.get("SHOT_EPOCHS", "8")), model_choice="network")
    job = train.train()
    wait(lambda: not job.is_running(), limit_s=600)
    settle()
    save("history_train.png")
    window.close()


if __name__ == "__main__":
    main()
