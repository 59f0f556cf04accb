"""The 10 ms GUI-thread timer both GUI benchmarks use to find stalls, and the CPU-wait correction.

On a machine shared with other busy processes the GUI thread is sometimes simply not scheduled;
subtracting the time it was runnable but waiting for a CPU (Linux schedstat) separates the app's own
stalls (GIL, work on the GUI thread) from the machine's contention.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

HAVE_SCHEDSTAT = Path("/proc/thread-self/schedstat").exists()


def run_queue_wait_s() -> float:
    """Seconds this thread has spent runnable but waiting for a CPU (Linux schedstat), else 0."""
    if not HAVE_SCHEDSTAT:
        return 0.0
    with open("/proc/thread-self/schedstat", "rb") as handle:
        return int(handle.read().split()[1]) / 1e9


class GuiTicks:
    """Ticks of a 10 ms QTimer on the GUI thread, with the CPU wait at each tick."""

    def __init__(self) -> None:
        from PySide6.QtCore import QTimer

        self.ticks: list[tuple[float, float]] = []
        self.timer = QTimer()
        self.timer.setInterval(10)
        self.timer.timeout.connect(lambda: self.ticks.append((time.perf_counter(), run_queue_wait_s())))

    def start(self) -> None:
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def take(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Gaps between ticks (ms), the same less the time the GUI thread waited for a CPU (ms),
        and the time (perf_counter) each gap ended; clears the ticks."""
        times, waits = np.asarray(self.ticks).T
        self.ticks.clear()
        gaps = np.diff(times) * 1000
        return gaps, gaps - np.diff(waits) * 1000, times[1:]
