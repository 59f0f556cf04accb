"""What the Train step runs on worker threads: training, asking for the device, saving a run.

Keras/TensorFlow load on worker threads only, inside these functions.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mfg_desktop.core.errors import Cancelled
from mfg_desktop.core.i18n import tr
from mfg_desktop.core.jobs import JobState

if TYPE_CHECKING:
    from mfg_desktop.core.network import NetworkSpec
    from mfg_desktop.core.recipe import Recipe
    from mfg_desktop.core.split import SplitSpec
    from mfg_desktop.core.train import TrainingRun
    from mfg_desktop.qt.compute import ComputeChoice


@dataclass(frozen=True)
class StageUpdate:
    """``train_run`` began fitting ``stage`` ("network" or "trees"); sent to the panel as a partial
    result, the one queued channel from the worker thread besides progress."""

    stage: str


class StopOrCancelState(JobState):
    """The job state ``train_run`` sees: the user's Stop, or the job's own cancel.

    Stop ends training within a batch and ``train_run`` returns the run with the best weights so
    far, which the worker delivers as a result. Cancelling the job itself (the window closing)
    makes the worker drop any result, as for every other job.
    """

    def __init__(self, outer: JobState, stop: threading.Event) -> None:
        super().__init__(
            on_progress=outer.set_progress,
            on_partial_result=outer.set_partial_result,
            on_stage=lambda stage: outer.set_partial_result(StageUpdate(stage)),
        )
        self._outer = outer
        self._stop = stop

    def request_cancel(self) -> None:
        self._stop.set()

    def is_interruption_requested(self) -> bool:
        return self._stop.is_set() or self._outer.is_interruption_requested()

    def check_cancelled(self) -> None:
        if self.is_interruption_requested():
            raise Cancelled()


def train_model(
    frame,
    recipe: Recipe,
    split_spec: SplitSpec,
    spec: NetworkSpec,
    seed: int,
    class_weight: bool,
    data_files: list[str],
    stop: threading.Event,
    model_choice: str,
    compute: ComputeChoice | None = None,
    *,
    state: JobState,
    history_spec: dict | None = None,
) -> TrainingRun:
    """``train_run`` here, or on the Ray cluster of ``compute`` (same progress, Stop and result)."""
    job_state = StopOrCancelState(state, stop)
    if compute is not None and compute.on_cluster:
        from mfg_desktop.core.cluster import connect
        from mfg_desktop.core.parallel import train_on_workers

        job_state.set_progress(0.0, tr("connecting to the cluster"))
        with connect(compute.cluster_settings()) as session:
            return train_on_workers(session, frame, recipe, split_spec, spec, compute.workers, seed=seed,
                                    class_weight=class_weight, state=job_state, data_files=data_files,
                                    model_choice=model_choice, history_spec=history_spec)
    from mfg_desktop.core.train import train_run

    run = train_run(
        frame,
        recipe,
        split_spec,
        spec,
        seed=seed,
        class_weight=class_weight,
        state=job_state,
        data_files=data_files,
        model_choice=model_choice,
        history_spec=history_spec,  # stored in the model file: Predict builds the same windows
    )
    return run


def describe_device(state: JobState) -> str:
    from mfg_desktop.core.train import describe_device

    return describe_device()


def save_model(run: TrainingRun, path: str, state: JobState) -> Path:
    from mfg_desktop.core.bundle import save_model_file

    return save_model_file(run, path)
