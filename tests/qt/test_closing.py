"""Closing the window while it loads, trains or scores stops the work within 5 s and leaves no
thread (QThread or Python thread) and no child process behind."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import threading
import time

import numpy as np
import pandas as pd
import pytest

from mfg_desktop.qt import preload, workers
from mfg_desktop.qt.main_window import MainWindow

STOP_BOUND_S = 5.0


@pytest.fixture
def window(qtbot):
    window = MainWindow()
    qtbot.addWidget(window)
    window.resize(1400, 900)
    window.show()
    qtbot.waitExposed(window)
    # The heavy imports warm up on a thread of their own once the window is painted; it ends by
    # itself, and must be over before the threads of the work itself are counted.
    qtbot.waitUntil(lambda: preload._started, timeout=5_000)
    qtbot.waitUntil(preload.done, timeout=120_000)
    return window


def _alive(thread: threading.Thread) -> bool:
    """A thread started outside Python (a QThread that ran Python code) stays in
    ``threading.enumerate()`` as a "dummy" forever; whether it still runs is in /proc/self/task."""
    if isinstance(thread, threading._DummyThread):
        return os.path.exists(f"/proc/self/task/{thread.native_id}")
    return thread.is_alive()


def _python_threads() -> set[int]:
    return {t.ident for t in threading.enumerate() if _alive(t)}


def _close_and_measure(window, threads_before: set[int]) -> float:
    started = time.perf_counter()
    window.close()
    seconds = time.perf_counter() - started
    print(f"closed in {seconds:.2f} s")  # shown with -s: the measured stop time
    # give a thread that was told to stop a moment to be joined (it must not run on)
    deadline = time.monotonic() + 1.0
    while _python_threads() - threads_before and time.monotonic() < deadline:
        time.sleep(0.02)
    leftover = [t.name for t in threading.enumerate() if t.ident in _python_threads() - threads_before]
    assert leftover == [], f"Python threads left behind: {leftover}"
    assert multiprocessing.active_children() == []
    assert workers.running_jobs() == []
    return seconds


def _big_csv(path, rows: int = 400_000):
    rng = np.random.default_rng(2)
    pd.DataFrame({f"s{i}": rng.normal(size=rows).round(4) for i in range(10)}).to_csv(path, index=False)
    return path


def test_closing_during_a_load_stops_it_and_leaves_nothing_behind(window, qtbot, tmp_path):
    big = _big_csv(tmp_path / "big.csv")
    before = _python_threads()
    job = window.load_files([str(big)])
    qtbot.waitUntil(lambda: job.is_running(), timeout=5_000)
    qtbot.wait(300)  # well into the read (its prefetch thread runs)
    seconds = _close_and_measure(window, before)
    assert seconds <= STOP_BOUND_S, f"closing during a load took {seconds:.2f} s"


def test_closing_during_training_stops_it_and_leaves_nothing_behind(window, qtbot, wait, ai4i_path, tmp_path):
    path = tmp_path / "ai4i_600.csv"
    pd.read_csv(ai4i_path, encoding="utf-8-sig").sample(600, random_state=4).to_csv(path, index=False)
    window.load_files([str(path)])
    wait.loaded(window)
    window.data_panel.pick_target("Machine_failure")
    qtbot.waitUntil(lambda: window.session.target_report is not None, timeout=30_000)
    window.show_step("prepare")
    qtbot.waitUntil(lambda: window.session.recipe is not None, timeout=30_000)
    window.show_step("train")
    train = window.page("train")
    wait.idle()
    before = _python_threads()
    train.apply_preset("fast")
    train.set_settings(epochs=400, batch_size=16, patience=400)
    train.train()
    qtbot.waitUntil(lambda: train.curves.loss_train.count >= 1, timeout=180_000)
    seconds = _close_and_measure(window, before)
    assert seconds <= STOP_BOUND_S, f"closing during training took {seconds:.2f} s"


def test_closing_during_scoring_stops_it_and_leaves_nothing_behind(window, qtbot, ai4i_small_run, tmp_path):
    from mfg_desktop.core.bundle import save_model_file

    model = save_model_file(ai4i_small_run.run, tmp_path / "failure.mfgmodel")
    many = pd.concat([ai4i_small_run.frame] * 150, ignore_index=True)  # 225,000 rows a file
    batch = tmp_path / "batch.csv"
    many.to_csv(batch, index=False)
    copies = [shutil.copyfile(batch, tmp_path / f"batch_{i}.csv") for i in range(5)]  # scored one by one
    window.show_step("predict")
    panel = window.page("predict")
    job = panel.open_model(model)
    qtbot.waitUntil(lambda: not job.is_running() and panel.model is not None, timeout=60_000)
    panel.add_paths([batch, *copies])
    before = _python_threads()
    job = panel.score()
    assert job is not None
    qtbot.waitUntil(lambda: job.is_running(), timeout=5_000)
    qtbot.wait(1000)  # into the scoring
    assert job.is_running(), "scoring ended before the window was closed: make the batch larger"
    seconds = _close_and_measure(window, before)
    assert seconds <= STOP_BOUND_S, f"closing during scoring took {seconds:.2f} s"
