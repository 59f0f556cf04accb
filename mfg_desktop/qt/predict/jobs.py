"""The Predict step's work, run on worker threads: open a model file, score, export, watch.

Plain functions ``fn(..., state)`` as :func:`mfg_desktop.qt.workers.run_in_thread` expects; the core
does the work (:mod:`mfg_desktop.core.score`, :mod:`mfg_desktop.core.watch`). No Qt in here.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QCoreApplication

if TYPE_CHECKING:
    from mfg_desktop.core.bundle import LoadedModel
    from mfg_desktop.core.score import FileScore

# Smaller chunks than headless scoring: each step on a chunk briefly holds the GIL, and shorter
# steps keep the window's own thread responsive (measured in tests/benchmarks/bench_predict.py).
GUI_CHUNK_ROWS = 32_768


def load_model_job(path: str, state: Any) -> LoadedModel:
    from mfg_desktop.core.bundle import load_model_file  # TensorFlow loads on the worker thread

    state.set_progress(0.1, QCoreApplication.translate("PredictPanel", "Opening the model file"))
    return load_model_file(path)


def score_job(model: Any, paths: list[str], out_dir: str, fmt: str, state: Any) -> list[FileScore]:
    from mfg_desktop.core.score import ScoreOptions, score_files

    return score_files(model, paths, out_dir, state=state, options=ScoreOptions(format=fmt),
                       chunk_rows=GUI_CHUNK_ROWS)


def export_job(results: list[FileScore], folder: str, fmt: str, protected: list[str], state: Any) -> list[Path]:
    from mfg_desktop.core.score import export_scored

    written = []
    for i, result in enumerate(results):
        state.check_cancelled()
        state.set_progress(i / max(len(results), 1), QCoreApplication.translate("PredictPanel", "Exporting {name}")
                           .format(name=result.path.name))
        written.append(export_scored(result, folder, fmt, protected=protected))
    return written


def watch_job(watcher: Any, state: Any) -> list[FileScore]:
    watcher.on_event = state.set_partial_result  # events reach the GUI thread as queued signals
    return watcher.run(state)
