"""Qt test fixtures: no test may leave a QThread running; a main window at a real size."""

from __future__ import annotations

import weakref

import pytest
from PySide6.QtCore import QThread

from mfg_desktop.qt import workers


@pytest.fixture(autouse=True)
def _no_dangling_qthreads(monkeypatch):
    """Fail a test that leaves a QThread (ours or anyone's started from Python) running.

    After napari's ``_dangling_qthreads``: a thread outliving its test would crash the next one or
    the interpreter at exit, and in the app it means a window that cannot close cleanly.
    """
    started: list[weakref.ref[QThread]] = []
    original_start = QThread.start

    def recording_start(self, *args, **kwargs):
        started.append(weakref.ref(self))
        return original_start(self, *args, **kwargs)

    monkeypatch.setattr(QThread, "start", recording_start)
    yield
    monkeypatch.setattr(QThread, "start", original_start)
    dangling = [t.objectName() or repr(t) for ref in started if (t := ref()) is not None and _running(t)]
    dangling += [job.name for job in workers.running_jobs()]
    if dangling:
        workers.cancel_and_wait_all(10)  # do not poison the following tests
        pytest.fail(f"test left QThreads running: {sorted(set(dangling))}")


def _running(thread: QThread) -> bool:
    try:
        return thread.isRunning()
    except RuntimeError:  # the C++ object is already deleted: not running
        return False


@pytest.fixture(autouse=True)
def _closing_discards_work(monkeypatch):
    """A window closed by a test throws its unsaved runs away without asking (a modal question
    would block the test); tests of the question itself restore the real one."""
    from PySide6.QtWidgets import QMessageBox

    from mfg_desktop.qt.work_menu import WorkController

    monkeypatch.setattr(WorkController, "ask_before_closing", lambda self, lines: QMessageBox.StandardButton.Discard)


@pytest.fixture
def main_window(qtbot):
    """A shown MainWindow at 1400 x 900; closing it at teardown cancels and waits for its jobs."""
    from mfg_desktop.qt.main_window import MainWindow

    window = MainWindow()
    qtbot.addWidget(window)
    window.resize(1400, 900)
    window.show()
    qtbot.waitExposed(window)
    yield window
    window.close()


class Waits:
    """Waiting helpers bound to a test's qtbot."""

    def __init__(self, qtbot) -> None:
        self.qtbot = qtbot

    def loaded(self, window, timeout: int = 30_000) -> None:
        """Until the load job has ended and the profile is in the session."""
        self.qtbot.waitUntil(
            lambda: window.load_job is None or not window.load_job.is_running(), timeout=timeout
        )
        self.qtbot.waitUntil(lambda: window.session.profile is not None, timeout=timeout)

    def idle(self, timeout: int = 30_000) -> None:
        """Until no worker thread is running."""
        self.qtbot.waitUntil(lambda: not workers.running_jobs(), timeout=timeout)


@pytest.fixture
def wait(qtbot) -> Waits:
    return Waits(qtbot)
