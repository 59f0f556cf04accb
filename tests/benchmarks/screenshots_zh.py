"""Screenshots of every step in Chinese, at 1366 x 768 and at 150 % scaling, for looking at the layout.

    python tests/benchmarks/screenshots_zh.py            # resources/screenshots/zh_<step>.png + zh_150_train.png
    python tests/benchmarks/screenshots_zh.py --out DIR --all-scaled   # also every step at 150 % into DIR

The walk is the one ``tests/qt/test_chinese_window.py`` checks (``tests/qt/chinese_walk.py``): the first
600 rows of ai4i2020 loaded through the preview dialog, Machine_failure as the target, two epochs of
the fast preset, evaluated, a 200-row file scored, the report exported.

150 %: each scaled run is a child process with ``QT_SCALE_FACTOR=1.5`` and the window at 1366 x 768
*logical* pixels (2049 x 1152 on the screen). That is what a user at 150 % gets on a screen large
enough for the app (1920 x 1080 at 125 %, 2560 x 1440 at 150 %); a 1366 x 768 panel at 150 % would
leave 910 x 512 logical pixels, below the window's minimum, and is not a setting such laptops ship
with (Windows recommends 100 % for them). Qt scales fonts and widgets together, so what this run
checks is text that only fits by a pixel at 100 % (rounding of the scaled fonts).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SIZE = (1366, 768)
SCALED_STEP = "train"  # the busiest step: settings form, two plots, the runs table


def _shoot(out: Path, prefix: str, steps: set[str] | None) -> list[Path]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["MFG_LANG"] = "zh_CN"
    os.environ.setdefault("MFG_DESKTOP_CONFIG_DIR", tempfile.mkdtemp(prefix="mfg-shot-zh-"))
    sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "qt")]
    from chinese_walk import small_ai4i, walk

    from mfg_desktop.qt.app import create_application, install_translators
    from mfg_desktop.qt.main_window import MainWindow

    app = create_application()
    translators = install_translators(app)
    window = MainWindow()
    window.resize(*SIZE)
    window.show()

    def settle(seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.01)

    def wait_until(condition, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError(f"the walk waited over {timeout_s:g} s")
            app.processEvents()
            time.sleep(0.01)

    written: list[Path] = []

    def at_step(step: str, top) -> None:
        key = step.replace(" ", "_")
        if steps is not None and key not in steps:
            return
        settle(0.5)  # plots and wrapped labels repaint after the last change
        path = out / f"{prefix}{key}.png"
        top.grab().toImage().save(str(path), "PNG", 0)  # quality 0: the strongest PNG compression
        written.append(path)

    with tempfile.TemporaryDirectory(prefix="mfg-shot-data-") as folder:
        data = small_ai4i(ROOT / "tests" / "data" / "ai4i2020.csv", Path(folder))
        walk(window, wait_until, data, Path(folder), at_step)
        window.ctx.closing = True  # close without the "save the trained model?" question
        window.close()
    del translators
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "resources" / "screenshots")
    parser.add_argument("--all-scaled", action="store_true", help="every step at 150 %% too, not only the Train step")
    parser.add_argument("--scaled-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.scaled_child:  # the child the parent started with QT_SCALE_FACTOR=1.5
        for path in _shoot(args.out, "zh_150_", None if args.all_scaled else {SCALED_STEP}):
            print(f"wrote {path}", flush=True)
        return
    env = dict(os.environ, QT_SCALE_FACTOR="1.5")
    child = [sys.executable, __file__, "--scaled-child", "--out", str(args.out)] + (["--all-scaled"] if args.all_scaled else [])
    scaled = subprocess.Popen(child, env=env)
    try:
        for path in _shoot(args.out, "zh_", None):
            print(f"wrote {path}", flush=True)
    finally:
        if scaled.wait() != 0:
            sys.exit(f"the 150 % run failed (exit status {scaled.returncode})")


if __name__ == "__main__":
    main()
