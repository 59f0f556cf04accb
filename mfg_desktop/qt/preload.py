"""Import the heavy libraries on a background thread once the window is on screen.

The window shows before pandas, pyarrow and pyqtgraph are imported (cold start). Importing them
later on the GUI thread would freeze it for about a second; a Python thread importing them leaves
the GUI thread running between bytecodes. Jobs that need such a module for the GUI thread (the plot
job needs pyqtgraph) import it on their worker thread too, so the GUI thread never waits for it.
"""

from __future__ import annotations

import importlib
import logging
import threading

log = logging.getLogger(__name__)

MODULES = (
    "numpy",
    "pandas",
    "pyarrow",
    "mfg_desktop.core.ingest",
    "mfg_desktop.core.profile",
    "mfg_desktop.qt.table_model",
    "mfg_desktop.qt.profile_model",
    "pyqtgraph",
    "mfg_desktop.qt.plots",
)

_done = threading.Event()
_started = False
_lock = threading.Lock()


def _import_all() -> None:
    try:
        for name in MODULES:
            importlib.import_module(name)
    except Exception:
        log.exception("background import failed")
    finally:
        _done.set()


def start() -> None:
    """Begin the background imports (once per process)."""
    global _started
    with _lock:
        if _started:
            return
        _started = True
    threading.Thread(target=_import_all, name="mfg-preload", daemon=True).start()


def done() -> bool:
    """True when the background imports have finished."""
    return _done.is_set()


def wait(timeout: float | None = None) -> bool:
    return _done.wait(timeout) if _started else True
