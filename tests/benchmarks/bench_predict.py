"""Benchmark: scoring a 1,000,000-row CSV end to end, side by side in one run.

1. the app: ``core.score.score_file`` (read in chunks, schema check, drift, transform, predict, write);
2. a bare script with the same model in Keras: ``pd.read_csv`` the whole file, ``fitted.transform``,
   ``model.predict``, ``DataFrame.to_csv``;
3. a lean bare script: pyarrow read, ``fitted.transform``, the Keras model called directly on
   chunks, pyarrow write;
4. the window scoring the same file in its worker, with a 10 ms GUI-thread timer measuring the
   longest gap (what a user feels as a frozen window).

Prints rows per second, the throughput ratios (issue target: app >= 0.8 of bare), the peak resident
memory each one adds relative to the file's size as a DataFrame, and the longest timer gap (target
<= 100 ms). Run: ``python tests/benchmarks/bench_predict.py [ROWS]``.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Self

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import numpy as np
import pandas as pd

from mfg_desktop.core.bundle import load_model_file, save_model_file
from mfg_desktop.core.network import preset
from mfg_desktop.core.recipe import propose_recipe
from mfg_desktop.core.score import score_file
from mfg_desktop.core.split import SplitSpec
from mfg_desktop.core.train import predict_outputs, train_run

LEAKS = ["UDI", "Product ID", "TWF", "HDF", "PWF", "OSF", "RNF"]
PAGE = os.sysconf("SC_PAGE_SIZE")


def rss() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * PAGE


class PeakRss:
    """Samples the resident set every 5 ms in a thread; ``added`` is the peak above the start."""

    def __enter__(self) -> Self:
        self.start = rss()
        self.peak = self.start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss())
            time.sleep(0.005)

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss())

    @property
    def added(self) -> int:
        return self.peak - self.start


def make_data(rows: int, folder: Path) -> tuple[pd.DataFrame, Path]:
    ai4i = pd.read_csv(ROOT / "tests" / "data" / "ai4i2020.csv", encoding="utf-8-sig")
    rng = np.random.default_rng(0)
    frame = ai4i.sample(n=rows, replace=True, random_state=0).reset_index(drop=True)
    frame["UDI"] = np.arange(1, rows + 1)
    for column in ("Air temperature [K]", "Process temperature [K]", "Torque [Nm]"):
        frame[column] = (frame[column] + rng.normal(0, 0.2, rows)).round(2)
    path = folder / "line_1m.csv"
    frame.to_csv(path, index=False)
    return ai4i.sample(frac=1.0, random_state=1).iloc[:3000].reset_index(drop=True), path


def bare_keras(model):
    """The Keras model of a model file (the app scores with its NumPy forward pass; the bare scripts with Keras)."""
    network = model.model
    return network.keras_model() if hasattr(network, "keras_model") else network


def bare_pandas(model, path: Path, out: Path) -> None:
    df = pd.read_csv(path)
    x = model.fitted.transform(df)
    p = bare_keras(model).predict(x, batch_size=8192, verbose=0).reshape(-1)
    df["prediction"] = (p >= 0.5).astype(int)
    df["probability"] = p
    df.to_csv(out, index=False)


def bare_arrow(model, path: Path, out: Path) -> None:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    table = pacsv.read_csv(path)
    df = table.to_pandas()
    x = model.fitted.transform(df)
    p = predict_outputs(bare_keras(model), x, model.task)[:, 1]
    table = table.append_column("prediction", pa.array((p >= 0.5).astype(np.int8)))
    table = table.append_column("probability", pa.array(p))
    pacsv.write_csv(table, out)


def gui_gap(model, path: Path, out_dir: Path) -> tuple[float, float]:
    """(seconds to score in the window's worker, longest GUI-thread timer gap in seconds)."""
    from PySide6.QtCore import QElapsedTimer, QTimer
    from PySide6.QtWidgets import QApplication

    from mfg_desktop.qt.main_window import MainWindow
    from mfg_desktop.qt.settings import CONFIG_ENV

    os.environ[CONFIG_ENV] = str(out_dir / "config")
    app = QApplication.instance() or QApplication([])
    window = MainWindow()
    window.resize(1400, 900)
    window.show()
    window.show_step("predict")
    panel = window.page("predict")
    panel.set_model(model, str(model.path))
    panel.add_paths([str(path)])
    clock = QElapsedTimer()
    gaps = [0.0]
    last = [0.0]

    def tick() -> None:
        now = clock.elapsed() / 1000.0
        if now - last[0] > gaps[0]:
            gaps[0] = now - last[0]
            where[0] = "after the worker ended" if not job_running[0]() else f"at {now:.1f} s, while scoring"
        last[0] = now

    where = [""]
    job_running = [lambda: True]

    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(tick)
    for _ in range(20):
        app.processEvents()
    clock.start()
    timer.start()
    started = time.perf_counter()
    job = panel.score()
    job_running[0] = job.is_running
    while job.is_running():
        app.processEvents()
        time.sleep(0.001)
    seconds = time.perf_counter() - started
    timer.stop()
    for _ in range(20):
        app.processEvents()
    assert panel.results and panel.results[0].rows_scored > 0, panel.progress_label.text()
    window.close()
    print(f"longest gap {where[0]}")
    return seconds, gaps[0]


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    with tempfile.TemporaryDirectory(prefix="bench_predict_") as tmp:
        folder = Path(tmp)
        t = time.perf_counter()
        train, path = make_data(rows, folder)
        print(f"generated {rows:,} rows ({path.stat().st_size / 1e6:.0f} MB CSV) in {time.perf_counter() - t:.1f} s")
        recipe = propose_recipe(train, "Machine_failure", exclude=LEAKS)
        run = train_run(train, recipe, SplitSpec(), preset("fast").with_changes(epochs=2), seed=0)
        model = load_model_file(save_model_file(run, folder / "m.mfgmodel"))
        # warm up every path once on a small file (graph tracing, imports), outside the timings
        small = folder / "small.csv"
        pd.read_csv(path, nrows=20_000).to_csv(small, index=False)
        score_file(model, small, folder / "warm")
        bare_pandas(model, small, folder / "warm_a.csv")
        bare_arrow(model, small, folder / "warm_b.csv")

        with PeakRss() as mem_app:
            t = time.perf_counter()
            result = score_file(model, path, folder / "app")
            app_s = time.perf_counter() - t
        assert result.rows_scored == rows, result.summary()
        with PeakRss() as mem_pandas:
            t = time.perf_counter()
            bare_pandas(model, path, folder / "bare_pandas.csv")
            pandas_s = time.perf_counter() - t
        with PeakRss() as mem_arrow:
            t = time.perf_counter()
            bare_arrow(model, path, folder / "bare_arrow.csv")
            arrow_s = time.perf_counter() - t
        frame_bytes = int(pd.read_csv(path).memory_usage(deep=True).sum())
        gui_s, gap = gui_gap(model, path, folder)

        print(f"\nthe file as a DataFrame: {frame_bytes / 1e6:.0f} MB")
        print(f"{'':28}{'seconds':>9}{'rows/s':>12}{'peak RSS added':>16}{'x frame':>9}")
        for name, seconds, mem in (("app (score_file)", app_s, mem_app), ("bare pandas script", pandas_s, mem_pandas),
                                   ("bare pyarrow script", arrow_s, mem_arrow)):
            print(f"{name:28}{seconds:9.1f}{rows / seconds:12,.0f}{mem.added / 1e6:13.0f} MB"
                  f"{mem.added / frame_bytes:9.2f}")
        print(f"{'window (worker thread)':28}{gui_s:9.1f}{rows / gui_s:12,.0f}")
        print(f"\nthroughput app / bare pandas:  {pandas_s / app_s:.2f}  (target >= 0.8)")
        print(f"throughput app / bare pyarrow: {arrow_s / app_s:.2f}")
        print(f"longest GUI-thread timer gap while the window scores: {gap * 1000:.0f} ms  (target <= 100 ms)")
        print(f"app output {Path(result.output).stat().st_size / 1e6:.0f} MB; drift flagged: "
              f"{[c.column for c in result.drift.flagged]}")


if __name__ == "__main__":
    main()
