"""run_in_thread: results, progress, partial results, errors and cancel arrive on the GUI thread."""

from __future__ import annotations

import threading
import time

from PySide6.QtCore import QThread

from mfg_desktop.core.errors import DataError
from mfg_desktop.qt import workers
from mfg_desktop.qt.workers import cancel_and_wait_all, run_in_thread


def _square(x, state):
    state.set_progress(0.5, "half")
    state.set_partial_result(x)
    return (x * x, threading.get_ident())


def _fail(state):
    raise DataError("file is empty", file="a.csv")


def _boom(state):
    raise ZeroDivisionError("a bug")


def _wait_for_cancel(started: threading.Event, state):
    started.set()
    while True:
        state.check_cancelled()
        time.sleep(0.005)


def _ignores_cancel_briefly(state):
    for _ in range(20):
        time.sleep(0.005)
    return "done"


def test_result_progress_and_partial_on_gui_thread(qtbot):
    gui_thread = threading.get_ident()
    seen: dict = {"progress": [], "partial": [], "threads": set()}
    job = run_in_thread(_square, 7, name="square")
    job.progress.connect(
        lambda f, m: (seen["progress"].append((f, m)), seen["threads"].add(threading.get_ident()))
    )
    job.partial.connect(lambda obj: seen["partial"].append(obj))
    with qtbot.waitSignal(job.finished, timeout=5000) as blocker, qtbot.waitSignal(job.ended, timeout=5000):
        pass
    value, worker_thread = blocker.args[0]
    assert value == 49
    assert worker_thread != gui_thread  # the function ran elsewhere
    assert seen["progress"] == [(0.5, "half")] and seen["partial"] == [7]
    assert seen["threads"] == {gui_thread}  # ...but its signals arrived on the GUI thread
    assert not job.is_running() and workers.running_jobs() == []


def test_errors_arrive_with_traceback(qtbot):
    job = run_in_thread(_fail)
    with qtbot.waitSignal(job.errored, timeout=5000) as blocker:
        pass
    assert isinstance(blocker.args[0], DataError) and "a.csv" in str(blocker.args[0])
    job = run_in_thread(_boom)
    with qtbot.waitSignal(job.errored, timeout=5000) as blocker:
        pass
    exc = blocker.args[0]
    assert isinstance(exc, ZeroDivisionError)
    assert "_boom" in exc.__traceback_text__
    qtbot.waitUntil(lambda: not workers.running_jobs())


def test_cancel_stops_a_running_job(qtbot):
    started = threading.Event()
    job = run_in_thread(_wait_for_cancel, started)
    assert started.wait(5)
    finished = []
    job.finished.connect(finished.append)
    with qtbot.waitSignal(job.cancelled, timeout=5000):
        job.cancel()
    qtbot.waitUntil(lambda: not job.is_running())
    assert finished == []


def test_cancel_requested_after_return_reports_cancelled(qtbot):
    job = run_in_thread(_ignores_cancel_briefly)
    job.cancel()
    with qtbot.waitSignal(job.cancelled, timeout=5000):
        pass
    qtbot.waitUntil(lambda: not job.is_running())


def test_cancel_and_wait_all_blocks_until_threads_end(qtbot):
    events = [threading.Event() for _ in range(3)]
    jobs = [run_in_thread(_wait_for_cancel, e) for e in events]
    assert all(e.wait(5) for e in events)
    threads = [job.thread for job in jobs]
    assert all(isinstance(t, QThread) and t.isRunning() for t in threads)
    # Without processing events: the wait must not depend on a queued quit (shutdown deadlock).
    assert cancel_and_wait_all(10)
    assert all(not t.isRunning() for t in threads)
    qtbot.waitUntil(lambda: not workers.running_jobs())


def test_progress_is_throttled(qtbot):
    def chatty(state):
        for i in range(10_000):
            state.set_progress(i / 10_000)
        state.set_progress(1.0, "done")

    received = []
    job = run_in_thread(chatty)
    job.progress.connect(lambda f, m: received.append(f))
    with qtbot.waitSignal(job.ended, timeout=5000):
        pass
    assert 1 <= len(received) < 200
    assert received[-1] == 1.0


def test_job_without_state_argument_is_a_type_error(qtbot):
    def no_state():
        return 1

    job = run_in_thread(no_state)
    with qtbot.waitSignal(job.errored, timeout=5000) as blocker:
        pass
    assert isinstance(blocker.args[0], TypeError)
    qtbot.waitUntil(lambda: not workers.running_jobs())
