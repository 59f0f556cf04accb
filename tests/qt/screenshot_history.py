"""Render the history screenshots: a C-MAPSS remaining-life model in the Evaluate and Predict steps at 1366 x 768,
and its report's per-entity page.

Run: ``python tests/qt/screenshot_history.py [--data train_FD001.txt] [--out-dir DIR]``. Trains the window-feature
network (preset fast, RUL capped at 125, engines split 70/15/15) on the full FD001 file, evaluates it in the
window (Per entity tab), scores the held-out engines cut at random lengths plus an engine seen for 8 cycles
only, and writes ``history_evaluate.png``, ``history_predict.png`` and ``history_report.pdf`` (its pages as
PNG with ``pdftoppm -png -r 60`` when poppler is installed) into DIR (default /tmp/mfg_history_shots);
``--keep`` copies history_predict.png to resources/screenshots/. Not a test: a script to refresh the pictures.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("MFG_DESKTOP_CONFIG_DIR", tempfile.mkdtemp(prefix="mfg-shot-"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

DEFAULT_DATA = next((p for p in (up / "shared" / "datasets" / "cmapss-fd001-train" / "train_FD001.txt"
                                 for up in ROOT.parents) if p.is_file()), ROOT / "train_FD001.txt")


def train(data: Path):
    from mfg_desktop.core.history import HistorySpec, prepare_training
    from mfg_desktop.core.ingest import load_files
    from mfg_desktop.core.network import preset
    from mfg_desktop.core.recipe import propose_recipe
    from mfg_desktop.core.split import SplitSpec
    from mfg_desktop.core.train import train_run

    raw = load_files([data]).frame
    spec = HistorySpec(entity="col_1", order="col_2", label="rul", rul_cap=125.0, sizes=(5, 10, 20, 30))
    training = prepare_training(raw, spec)
    recipe = propose_recipe(training.frame, training.target, exclude=training.not_inputs)
    run = train_run(training.frame, recipe, SplitSpec(method="group", column="col_1", seed=0), preset("fast"),
                    seed=0, model_choice="network", data_files=[data], history_spec=spec.to_dict())
    return training.frame, run


def new_file(data: Path, engines: list[int], folder: Path) -> Path:
    """The held-out engines seen for a random part of their life (at least 31 cycles), one for 8 cycles."""
    import numpy as np

    rng = np.random.default_rng(7)
    rows = data.read_text().splitlines()
    lines = []
    for i, e in enumerate(engines):
        own = [r for r in rows if int(r.split()[0]) == e]
        n = 8 if i == len(engines) - 1 else int(rng.integers(31, len(own) + 1))
        lines += own[:n]
    path = folder / "engines_today.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out-dir", type=Path, default=Path(tempfile.gettempdir()) / "mfg_history_shots")
    parser.add_argument("--keep", action="store_true", help="copy history_predict.png to resources/screenshots")
    args = parser.parse_args()
    out = args.out_dir
    out.mkdir(parents=True, exist_ok=True)

    from mfg_desktop.qt import workers
    from mfg_desktop.qt.app import create_application
    from mfg_desktop.qt.evaluate.panel import ENTITY_TAB
    from mfg_desktop.qt.main_window import MainWindow

    app = create_application()

    def wait(done, limit_s: float = 300) -> None:
        deadline = time.monotonic() + limit_s
        while not done() and time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.01)

    def settle() -> None:
        for _ in range(40):
            app.processEvents()
            time.sleep(0.01)

    t0 = time.perf_counter()
    frame, run = train(args.data)
    print(f"trained in {time.perf_counter() - t0:.0f} s, {run.epochs_run} epochs")
    window = MainWindow()
    window.resize(1366, 768)
    window.show()
    window.show_step("evaluate")
    evaluate = window.page("evaluate")
    window.session.add_run(run, frame)
    wait(lambda: evaluate.evaluation is not None and evaluate.evaluation.run is run and not workers.running_jobs())
    evaluate.tabs.setCurrentIndex(ENTITY_TAB)
    view = evaluate.history_view
    worst = view.history.entities.sort_values("rows").iloc[-1]["entity"]  # the longest held-out history
    view.entity_combo.setCurrentText(str(worst))
    settle()
    window.grab().save(str(out / "history_evaluate.png"))
    print(view.history.headline())

    window.show_step("predict")
    predict = window.page("predict")
    engines = sorted({int(e) for e in frame["col_1"].iloc[run.split_test]})
    predict.add_paths([new_file(args.data, engines, out)])
    job = predict.score()
    wait(lambda: not job.is_running() and not workers.running_jobs())
    settle()  # the result is shown from queued signals
    history = predict.result_view.history_view
    history.entity_combo.setCurrentIndex(0)
    settle()
    window.grab().save(str(out / "history_predict.png"))
    if args.keep:
        shutil.copyfile(out / "history_predict.png", ROOT / "resources" / "screenshots" / "history_predict.png")

    from mfg_desktop.core import report as rp
    from mfg_desktop.report_pdf import render_pdf

    doc = rp.build_model_report(run, evaluate.evaluation, settings=rp.ReportSettings(paper="A4"))
    pdf = out / "history_report.pdf"
    render_pdf(doc, pdf)
    if shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-png", "-r", "60", str(pdf), str(out / "history_report")], check=True)
    from PySide6.QtWidgets import QMessageBox

    from mfg_desktop.qt.work_menu import WorkController

    # the run was never saved: closing would ask Save work / Discard / Cancel, a dialog nobody answers here
    WorkController.ask_before_closing = lambda self, lines: QMessageBox.StandardButton.Discard
    window.close()
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
