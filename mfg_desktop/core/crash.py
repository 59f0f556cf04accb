"""An offline crash report: one zip a user can hand to IT. Nothing is ever sent anywhere.

It holds what a developer needs to find a bug and nothing of the user's data: the traceback,
the app's and libraries' versions, the OS, the last lines of the app's log and the step history
(which steps were visited and which jobs ran, by name and time). The traceback is formatted
without local variables, so no cell value of a table can end up in the report.
"""

from __future__ import annotations

import io
import json
import platform
import sys
import threading
import time
import zipfile
from collections import deque
from collections.abc import Iterable
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from mfg_desktop import __version__

LOG_LINES = 200
REPORT_PREFIX = "mfg-desktop-crash-"
# The libraries whose version matters for a bug report; read from the installed metadata, so a
# library is never imported just to ask (TensorFlow takes seconds).
LIBRARIES = ("PySide6", "numpy", "pandas", "pyarrow", "scikit-learn", "tensorflow", "keras",
             "pyqtgraph", "openpyxl", "xlrd")


class StepHistory:
    """What the user did, in order: steps shown and jobs started (names only, never values)."""

    def __init__(self, limit: int = 500) -> None:
        self._events: deque[dict[str, Any]] = deque(maxlen=limit)
        self._lock = threading.Lock()
        self._start = time.monotonic()

    def record(self, kind: str, name: str) -> None:
        with self._lock:
            self._events.append({"t_s": round(time.monotonic() - self._start, 2), "kind": kind, "name": name})

    def events(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._events)

    def steps_visited(self) -> list[str]:
        """Each step shown, once, in the order first shown."""
        seen: dict[str, None] = {}
        for event in self.events():
            if event["kind"] == "step":
                seen.setdefault(event["name"], None)
        return list(seen)


def library_versions(names: Iterable[str] = LIBRARIES) -> dict[str, str]:
    versions = {"mfg-desktop": __version__, "python": platform.python_version()}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def system_text() -> str:
    return "\n".join([
        f"platform: {platform.platform()}",
        f"machine: {platform.machine()}",
        f"python: {sys.version.split()[0]} ({sys.executable})",
        f"frozen: {bool(getattr(sys, 'frozen', False))}",
    ]) + "\n"


def log_tail(log_file: Path | None, lines: int = LOG_LINES) -> str:
    """The last ``lines`` lines of the log (empty when there is none yet)."""
    if log_file is None or not log_file.is_file():
        return ""
    with open(log_file, encoding="utf-8", errors="replace") as fh:
        return "".join(deque(fh, maxlen=lines))


def write_crash_report(
    folder: Path,
    traceback_text: str,
    *,
    log_file: Path | None = None,
    history: StepHistory | None = None,
    work_saved_to: str | None = None,
) -> Path:
    """Write the zip into ``folder`` and return its path (one file per crash, by time)."""
    from mfg_desktop.core.work import write_bytes_atomic

    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S-%f")
    path = folder / f"{REPORT_PREFIX}{stamp}.zip"
    summary = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "app_version": __version__,
        "work_saved_to": work_saved_to,
        "note": "Written on this computer only; nothing was sent anywhere. It holds no data values.",
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("README.txt", json.dumps(summary, indent=2) + "\n")
        zf.writestr("traceback.txt", traceback_text)
        zf.writestr("versions.json", json.dumps(library_versions(), indent=2) + "\n")
        zf.writestr("system.txt", system_text())
        zf.writestr("log_tail.txt", log_tail(log_file))
        zf.writestr("history.json", json.dumps(history.events() if history else [], indent=2) + "\n")
    return write_bytes_atomic(path, buffer.getvalue())
