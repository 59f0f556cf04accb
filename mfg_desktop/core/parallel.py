"""Data-parallel training on the Ray cluster: Ray Train's TensorflowTrainer running :func:`train.train_run`
on N workers under TensorFlow's ``MultiWorkerMirroredStrategy``, with true gradient synchronisation.

What was found with Keras 3.15 + TensorFlow 2.21 + Ray 2.60 (``tests/cluster/test_parallel.py``):

* TensorflowTrainer sets ``TF_CONFIG`` on each worker; ``MultiWorkerMirroredStrategy`` then
  all-reduces the gradients of every step over gRPC between the workers (each worker computes the
  gradients of its share of each global batch: the batch size stays the global one, so the learning
  rate schedule and the result are those of one process; measured: the same weights and losses to
  ~1e-6 as a single-process run of the same seed).
* Keras 3's TensorFlow trainer does not run under a multi-worker strategy as shipped: its symbolic
  build reduces the first (per-replica) batch with ``strategy.reduce`` in eager mode, which
  ``CollectiveAllReduce`` refuses ("Attempt to convert a value (PerReplica...)"), and it reduces
  the scalar step logs with ``axis=0`` ("Invalid reduction dimension 0 for input with 0
  dimensions"). :func:`_make_keras_multi_worker` replaces those two private functions in the worker
  process (and only there): the build uses this worker's local batch, scalar logs are averaged
  over the workers, and predictions are concatenated over this worker's replicas only (each worker
  predicts all validation rows itself, with the same synchronised weights).
* ``steps_per_execution`` > 1 fails in Keras' multi-step loop under the strategy ("You must feed a
  value for placeholder tensor"), so the workers run one step per call.
* Workers must stop at the same step or the next all-reduce waits forever: every cancel check on
  every worker asks the channel actor, which answers each numbered check once for all workers
  (:meth:`ParallelChannel.decide`). Early stopping needs nothing: the validation numbers are the
  same on every worker.

Rank 0 reports the progress through the channel (as a one-worker run does) and hands its run and
weights back through it; the model file is written on the PC by the same code as a local run.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mfg_desktop.core.cluster import (
    Channel,
    ClusterError,
    ClusterSession,
    RemoteJobState,
    _follow,
    _unwrap,
    epoch_relay,
    rebuild_run,
    train_on_cluster,
)
from mfg_desktop.core.errors import Cancelled
from mfg_desktop.core.i18n import tr
from mfg_desktop.core.jobs import JobState, ensure_state


class ParallelChannel(Channel):
    """The :class:`Channel` of a data-parallel run: also agrees on Cancel and carries rank 0's result."""

    def __init__(self) -> None:
        super().__init__()
        self._decisions: dict[int, bool] = {}
        self._result: Any = None

    def decide(self, check: int) -> bool:
        # the first worker to reach check number ``check`` fixes the answer for all of them
        return self._decisions.setdefault(check, self._cancel)

    def deliver(self, result: Any) -> None:
        self._result = result

    def result(self) -> Any:
        return self._result


class AgreedCancelState(RemoteJobState):
    """A worker's JobState whose cancel checks all workers answer alike; only rank 0 reports progress."""

    def __init__(self, channel: Any, rank: int) -> None:
        super().__init__(channel)
        self._rank = rank
        self._checks = 0
        if rank != 0:  # the other workers' numbers are the same as rank 0's: not sent twice
            self._on_progress = self._on_partial_result = self._on_stage = None

    def is_interruption_requested(self) -> bool:
        import ray

        self._checks += 1
        return bool(ray.get(self._channel.decide.remote(self._checks)))

    def check_cancelled(self) -> None:
        if self.is_interruption_requested():
            raise Cancelled()


def _make_keras_multi_worker(strategy: Any) -> None:
    """Patch Keras 3's TensorFlow trainer for MultiWorkerMirroredStrategy (see the module's text)."""
    import tensorflow as tf
    from keras.src import tree
    from keras.src.backend.tensorflow import trainer

    from mfg_desktop.core import network

    network.MAX_STEPS_PER_EXECUTION = 1  # Keras' multi-step loop fails under the strategy
    build, reduce = trainer.TensorFlowTrainer._maybe_symbolic_build, trainer.reduce_per_replica

    def local(value: Any) -> Any:
        if isinstance(value, tf.distribute.DistributedValues):
            return strategy.experimental_local_results(value)[0]
        return value

    def symbolic_build(self: Any, iterator: Any = None, data_batch: Any = None) -> Any:
        if iterator is not None:
            for _, _, batches in iterator:
                data_batch = tree.map_structure(local, next(batches))
                break
        return build(self, data_batch=data_batch)

    def reduce_per_replica(values: Any, strategy: Any, reduction: str) -> Any:
        if trainer._collective_all_reduce_multi_worker(strategy):
            if reduction in ("auto", "mean"):
                return tree.map_structure(lambda v: strategy.reduce("MEAN", v, axis=None), values)
            if reduction == "concat":
                return tree.map_structure(lambda v: tf.concat(strategy.experimental_local_results(v), axis=0),
                                          values)
        return reduce(values, strategy, reduction)

    trainer.TensorFlowTrainer._maybe_symbolic_build = symbolic_build
    trainer.reduce_per_replica = reduce_per_replica


def _worker_loop(config: Mapping[str, Any]) -> None:
    """Runs on each Ray Train worker: the same train_run, under the multi-worker strategy."""
    import ray
    import ray.train

    from mfg_desktop.core.backend import import_keras
    from mfg_desktop.core.train import NETWORK, train_run

    rank = ray.train.get_context().get_world_rank()
    keras = import_keras()
    if keras.config.backend() != "tensorflow":
        raise ClusterError(tr("Data-parallel training needs Keras on TensorFlow; the workers run Keras on {backend}.",
                              backend=keras.config.backend()),
                           hint=tr("Set KERAS_BACKEND=tensorflow on the nodes, or train with 1 worker."))
    import tensorflow as tf

    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    _make_keras_multi_worker(strategy)
    channel = config["channel"]
    state = AgreedCancelState(channel, rank)
    options = dict(config["options"])
    if rank != 0:
        options["model_choice"] = NETWORK  # LightGBM (Auto) is fitted once, by rank 0
    try:
        with strategy.scope():
            run = train_run(ray.get(config["frame"]), config["recipe"], config["split"], config["spec"],
                            seed=config["seed"], class_weight=config["class_weight"], state=state, **options)
    finally:
        state.close()
    if rank == 0:
        weights = None if run.model is None else [np.asarray(w) for w in run.model.get_weights()]
        run.model = None
        ray.get(channel.deliver.remote({"run": run, "weights": weights}))


def _run_trainer(config: Mapping[str, Any], workers: int, use_gpu: bool) -> None:
    """Runs on the cluster (a Ray task): Ray Train's TensorflowTrainer over ``workers`` workers."""
    from ray.train import RunConfig, ScalingConfig
    from ray.train.tensorflow import TensorflowTrainer

    with tempfile.TemporaryDirectory(prefix="mfg_train_") as storage:  # Ray Train's run folder; no checkpoints
        trainer = TensorflowTrainer(_worker_loop, train_loop_config=dict(config),
                                    scaling_config=ScalingConfig(num_workers=workers, use_gpu=use_gpu),
                                    run_config=RunConfig(storage_path=storage, name="mfg_desktop"))
        result = trainer.fit()
    if result.error is not None:
        raise result.error


def train_data_parallel(
    session: ClusterSession,
    df: Any,
    recipe: Any,
    split_spec: Any,
    net_spec: Any,
    workers: int,
    seed: int = 0,
    class_weight: Any = "auto",
    state: JobState | None = None,
    data_files: Sequence[str | Path] = (),
    printer: Callable[[Any], None] | None = None,
    **options: Any,
) -> Any:
    """:func:`cluster.train_on_cluster` over ``workers`` data-parallel workers (Ray Train); the same
    progress, partial results and Cancel through ``state``, the run with its model built here."""
    import ray

    from mfg_desktop.core.train import data_fingerprint

    state = ensure_state(state)
    resources = ray.cluster_resources()
    if workers > resources.get("CPU", 0):
        raise ClusterError(tr("{workers} workers were asked for, but the cluster has {cpus:g} CPUs.",
                              workers=workers, cpus=resources.get("CPU", 0)),
                           hint=tr("Ask for at most one worker per CPU (or GPU) of the cluster."))
    state.set_progress(0.0, tr("sending the data to the cluster"))
    channel = ray.remote(num_cpus=0)(ParallelChannel).remote()
    config = {"frame": ray.put(df), "recipe": recipe, "split": split_spec, "spec": net_spec, "seed": int(seed),
              "class_weight": class_weight, "channel": channel, "options": dict(options)}
    use_gpu = resources.get("GPU", 0) >= workers
    ref = ray.remote(num_cpus=0, max_retries=0)(_run_trainer).remote(config, int(workers), use_gpu)
    try:
        _follow(ref, channel, state, epoch_relay(printer))
        result = ray.get(channel.result.remote())
    except ray.exceptions.RayTaskError as exc:
        raise _unwrap(exc) from None
    finally:
        ray.kill(channel)
    if result is None:
        raise ClusterError(tr("The data-parallel training ended without a result from its first worker."))
    run = rebuild_run(result)
    run.data_fingerprint = data_fingerprint(df, data_files)
    run.device = tr("{device} x {n} Ray Train workers (data-parallel)", device=run.device, n=workers)
    return run


def train_on_workers(session: ClusterSession, df: Any, recipe: Any, split_spec: Any, net_spec: Any, workers: int = 1,
                     **kwargs: Any) -> Any:
    """Train on the cluster: on one worker (:func:`cluster.train_on_cluster`) or data-parallel over
    ``workers`` (:func:`train_data_parallel`); ``kwargs`` as theirs (seed, state, data_files, ...)."""
    if workers > 1:
        return train_data_parallel(session, df, recipe, split_spec, net_spec, workers, **kwargs)
    return train_on_cluster(session, df, recipe, split_spec, net_spec, **kwargs)
