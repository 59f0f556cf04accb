"""The Evaluate step's background jobs: plain functions run on a worker thread (``fn(..., state)``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mfg_desktop.core.bundle import LoadedModel
    from mfg_desktop.core.evaluate import Evaluation


def evaluate_run_job(run: Any, frame: Any, state: Any) -> Evaluation:
    from mfg_desktop.core.evaluate import evaluate_run

    return evaluate_run(run, frame, state=state)


def open_model_job(path: str, state: Any) -> LoadedModel:
    from mfg_desktop.core.bundle import load_model_file

    return load_model_file(path)


def evaluate_files_job(loaded: Any, paths: list[str], state: Any) -> Evaluation:
    """Exactly what ``mfg-desktop evaluate MODEL DATA...`` does, so the numbers are the same."""
    from mfg_desktop.core.evaluate import evaluate_model_file
    from mfg_desktop.core.ingest import load_files

    data = load_files(paths, state=state)
    return evaluate_model_file(loaded, data.frame, data_files=paths, state=state)


def save_job(run: Any, path: str, state: Any) -> Path:
    from mfg_desktop.core.bundle import save_model_file

    return save_model_file(run, path)
