"""The progress/cancel protocol shared by every long task (after Orange's concurrent utilities).

A long task is a plain function ``run(..., state: JobState)`` that calls ``state.set_progress``,
``state.set_partial_result`` and checks ``state.is_interruption_requested()`` (or calls
``state.check_cancelled()``, which raises :class:`Cancelled`). The Qt layer re-emits these as
queued signals; the CLI prints them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from mfg_desktop.core.errors import Cancelled


class JobState:
    def __init__(
        self,
        on_progress: Callable[[float, str], None] | None = None,
        on_partial_result: Callable[[Any], None] | None = None,
        on_stage: Callable[[str], None] | None = None,
    ) -> None:
        self._cancel = threading.Event()
        self._on_progress = on_progress
        self._on_partial_result = on_partial_result
        self._on_stage = on_stage
        self.progress = 0.0
        self.message = ""
        self.stage = ""

    def set_progress(self, fraction: float, message: str = "") -> None:
        """Report progress as a fraction in [0, 1] with an optional short message."""
        self.progress = min(max(float(fraction), 0.0), 1.0)
        self.message = message
        if self._on_progress is not None:
            self._on_progress(self.progress, message)

    def set_stage(self, stage: str) -> None:
        """Name the part of a multi-part job now running (training: "network", then "trees");
        progress fractions count from 0 again within each stage."""
        self.stage = str(stage)
        if self._on_stage is not None:
            self._on_stage(self.stage)

    def set_partial_result(self, result: Any) -> None:
        if self._on_partial_result is not None:
            self._on_partial_result(result)

    def request_cancel(self) -> None:
        self._cancel.set()

    def is_interruption_requested(self) -> bool:
        return self._cancel.is_set()

    def check_cancelled(self) -> None:
        if self._cancel.is_set():
            raise Cancelled()


def ensure_state(state: JobState | None) -> JobState:
    return state if state is not None else JobState()
