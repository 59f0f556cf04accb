"""Run a core job (a plain ``fn(..., state=JobState)``) in a QThread and re-emit its callbacks.

After Orange's ``concurrent`` utilities and superqt's ``new_worker_qthread``: a worker QObject is
moved to a fresh QThread; the JobState callbacks it receives on the worker thread become signals,
which Qt delivers to the GUI thread as queued events. Only Python references cross the thread
boundary (``Signal(object)``), so a DataFrame result costs nothing to hand over.

Every job is kept in a registry until its thread has finished, so a job whose owner was closed
cannot be garbage-collected mid-run, and closing the window can cancel and wait for all of them.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from mfg_desktop.core.errors import Cancelled
from mfg_desktop.core.jobs import JobState

log = logging.getLogger(__name__)

# Progress callbacks can fire thousands of times per second (one per chunk); the GUI only needs
# a few updates per second, and flooding the event queue is what makes a window stutter.
_PROGRESS_INTERVAL_S = 0.05


class _Worker(QObject):
    """Lives on the worker thread; runs the function once and reports through signals."""

    progress = Signal(float, str)
    partial = Signal(object)
    succeeded = Signal(object)
    failed = Signal(object)
    was_cancelled = Signal()
    done = Signal()

    def __init__(self, fn: Callable[..., Any], args: tuple, kwargs: dict, state: JobState) -> None:
        super().__init__()
        self._home = QThread.currentThread()  # the GUI thread, where the worker is destroyed
        self._fn = fn
        self._args = args
        self._kwargs = kwargs
        self._state = state
        self._last_progress = 0.0
        state._on_progress = self._report_progress
        state._on_partial_result = self.partial.emit

    def _report_progress(self, fraction: float, message: str) -> None:
        now = time.monotonic()
        if fraction >= 1.0 or now - self._last_progress >= _PROGRESS_INTERVAL_S:
            self._last_progress = now
            self.progress.emit(fraction, message)

    @Slot()
    def run(self) -> None:
        try:
            result = self._fn(*self._args, state=self._state, **self._kwargs)
        except Cancelled:
            self.was_cancelled.emit()
        except BaseException as exc:  # noqa: BLE001 - every failure must reach the GUI thread
            exc.__traceback_text__ = traceback.format_exc()  # type: ignore[attr-defined]
            self.failed.emit(exc)
        else:
            if self._state.is_interruption_requested():
                self.was_cancelled.emit()
            else:
                self.succeeded.emit(result)
        finally:
            # Drop references so a large result is freed once the GUI thread is done with it.
            self._fn = self._args = self._kwargs = None  # type: ignore[assignment]
            # Be destroyed on the GUI thread: a QObject destroyed on the worker thread locks Qt's
            # connection mutex and then waits for the GIL inside PySide, while the GUI thread may
            # hold the GIL and wait for that mutex (a deadlock seen in the test suite).
            self.moveToThread(self._home)
            self.done.emit()


class Job(QObject):
    """Handle of one job running in its own thread. Lives on the GUI thread.

    Signals (all delivered on the GUI thread): ``progress(fraction, message)``, ``partial(obj)``,
    ``finished(result)``, ``errored(exception)``, ``cancelled()``; then always ``ended()``.
    An exception passed to ``errored`` carries the worker's traceback in ``__traceback_text__``.
    """

    progress = Signal(float, str)
    partial = Signal(object)
    finished = Signal(object)
    errored = Signal(object)
    cancelled = Signal()
    ended = Signal()

    def __init__(self, name: str, state: JobState) -> None:
        super().__init__()
        self.name = name
        self.state = state
        self.thread: QThread | None = None
        self._worker: _Worker | None = None
        self._running = False

    def cancel(self) -> None:
        """Ask the job to stop; it stops at its next cancellation check."""
        self.state.request_cancel()

    def is_running(self) -> bool:
        """True while the thread runs (its last queued signals may still be on their way)."""
        return self._running and self.thread is not None and self.thread.isRunning()

    def wait(self, timeout_ms: int = -1) -> bool:
        """Block until the thread has finished (True) or the timeout expired (False)."""
        if self.thread is None:
            return True
        if timeout_ms < 0:
            return self.thread.wait()
        return self.thread.wait(timeout_ms)

    def _start(self, fn: Callable[..., Any], args: tuple, kwargs: dict) -> None:
        thread = QThread()
        thread.setObjectName(f"job:{self.name}")
        worker = _Worker(fn, args, kwargs, self.state)
        worker.moveToThread(thread)
        # Worker signals are emitted on the worker thread; self lives on the GUI thread, so these
        # connections are queued and the slots run on the GUI thread.
        worker.progress.connect(self.progress)
        worker.partial.connect(self.partial)
        worker.succeeded.connect(self.finished)
        worker.failed.connect(self.errored)
        worker.was_cancelled.connect(self.cancelled)
        thread.started.connect(worker.run)
        # Direct: quit from the worker thread itself, so a GUI thread blocked in wait() (at
        # shutdown) does not deadlock waiting for a queued quit it can never process.
        worker.done.connect(thread.quit, Qt.ConnectionType.DirectConnection)
        worker.done.connect(worker.deleteLater)  # queued to the GUI thread: the worker moved back
        thread.finished.connect(self._on_thread_finished)
        self.thread = thread
        self._worker = worker
        self._running = True
        _REGISTRY.add(self)
        thread.start()

    @Slot()
    def _on_thread_finished(self) -> None:
        self._running = False
        self._worker = None
        thread, self.thread = self.thread, None
        if thread is not None:
            thread.deleteLater()
        _REGISTRY.discard(self)
        self.ended.emit()


class _JobRegistry:
    """Strong references to running jobs, so neither the Job nor its QThread is collected early."""

    def __init__(self) -> None:
        self._jobs: set[Job] = set()
        self._lock = threading.Lock()

    def add(self, job: Job) -> None:
        with self._lock:
            self._jobs.add(job)

    def discard(self, job: Job) -> None:
        with self._lock:
            self._jobs.discard(job)

    def running(self) -> list[Job]:
        with self._lock:
            return [job for job in self._jobs if job.is_running()]

    def cancel_all(self) -> None:
        for job in self.running():
            job.cancel()

    def wait_all(self, timeout_s: float = 30.0) -> bool:
        """Wait for every running job's thread; True if all finished within the timeout."""
        deadline = time.monotonic() + timeout_s
        for job in self.running():
            remaining_ms = max(0, int((deadline - time.monotonic()) * 1000))
            if not job.wait(remaining_ms):
                log.warning("job %s did not stop within %.0f s", job.name, timeout_s)
                return False
        return True


_REGISTRY = _JobRegistry()


def running_jobs() -> list[Job]:
    return _REGISTRY.running()


def cancel_and_wait_all(timeout_s: float = 30.0) -> bool:
    """Cancel every running job and wait for its thread (used when the window closes)."""
    _REGISTRY.cancel_all()
    return _REGISTRY.wait_all(timeout_s)


def run_in_thread(
    fn: Callable[..., Any],
    *args: Any,
    name: str | None = None,
    state: JobState | None = None,
    **kwargs: Any,
) -> Job:
    """Start ``fn(*args, state=state, **kwargs)`` on a new QThread and return its :class:`Job`.

    Connect to the job's signals right after this call: the thread starts at once, but its
    queued signals are only delivered when control returns to the event loop.
    """
    job = Job(name or getattr(fn, "__name__", "job"), state or JobState())
    job._start(fn, args, kwargs)
    return job
