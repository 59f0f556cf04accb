"""Data-parallel training (Ray Train's TensorflowTrainer, 2 workers) on the real local Ray head."""

from __future__ import annotations

import threading
import time

import pytest

pytest.importorskip("ray", reason="Ray is not installed (the cluster extra: pip install 'mfg-desktop[cluster]')")

import numpy as np

from mfg_desktop import cli
from mfg_desktop.core import cluster
from mfg_desktop.core.bundle import load_model_file, save_model_file
from mfg_desktop.core.jobs import JobState
from mfg_desktop.core.network import preset
from mfg_desktop.core.parallel import train_on_workers
from mfg_desktop.core.recipe import propose_recipe
from mfg_desktop.core.split import SplitSpec
from mfg_desktop.core.train import EpochUpdate, train_run

LEAKS = ["UDI", "Product ID", "TWF", "HDF", "PWF", "OSF", "RNF"]


def _settings(head):
    return cluster.ClusterSettings(head.address, token_file=str(head.token_file))


def test_two_workers_train_the_same_network_as_one_process(ray_head, small_frame, tmp_path):
    """No dropout (its masks are drawn per worker): then the all-reduced gradients of the two halves
    of every batch give the very training one process does, class weights included."""
    recipe = propose_recipe(small_frame, "Machine_failure", exclude=LEAKS)
    spec = preset("fast").with_changes(epochs=2, dropout=0.0)
    epochs: list[int] = []
    state = JobState(on_partial_result=lambda u: epochs.append(u.epoch) if isinstance(u, EpochUpdate) else None)
    with cluster.connect(_settings(ray_head)) as session:
        parallel = train_on_workers(session, small_frame, recipe, SplitSpec(seed=5), spec, 2, seed=5,
                                    class_weight=True, state=state, model_choice="network")
    local = train_run(small_frame, recipe, SplitSpec(seed=5), spec, seed=5, class_weight=True,
                      model_choice="network")
    assert epochs == [1, 2]  # streamed back from the first worker, once each
    assert "x 2 Ray Train workers (data-parallel)" in parallel.device
    assert parallel.history["loss"] == pytest.approx(local.history["loss"], abs=1e-6)
    assert parallel.history["val_loss"] == pytest.approx(local.history["val_loss"], abs=1e-6)
    # the model file is written here and is usable as any other
    loaded = load_model_file(save_model_file(parallel, tmp_path / "parallel.mfgmodel"))
    expected = load_model_file(save_model_file(local, tmp_path / "local.mfgmodel"))
    np.testing.assert_allclose(loaded.predict_outputs(small_frame), expected.predict_outputs(small_frame),
                               rtol=0, atol=1e-5)


def test_cancel_stops_every_worker_at_the_same_step(ray_head, small_frame):
    """A worker that stopped alone would leave the other waiting in its next all-reduce forever."""
    recipe = propose_recipe(small_frame, "Machine_failure", exclude=LEAKS)
    second_epoch = threading.Event()
    state = JobState(on_partial_result=lambda u: second_epoch.set() if getattr(u, "epoch", 0) >= 2 else None)
    outcome = {}

    def job():
        with cluster.connect(_settings(ray_head)) as session:
            outcome["run"] = train_on_workers(
                session, small_frame, recipe, SplitSpec(seed=2), preset("fast").with_changes(epochs=300, patience=300),
                2, seed=2, state=state, model_choice="network")

    worker = threading.Thread(target=job)
    worker.start()
    assert second_epoch.wait(180), "no epoch came back from the workers"
    cancelled_at = time.perf_counter()
    state.request_cancel()
    worker.join(90)
    assert not worker.is_alive() and time.perf_counter() - cancelled_at < 30
    run = outcome["run"]
    assert run.cancelled and 2 <= run.epochs_run < 60 and run.model is not None


def test_workers_need_the_cluster(small_csv, tmp_path, capsys):
    rc = cli.main(["train", str(small_csv), "--target", "Machine_failure", "--workers", "2",
                   "--out", str(tmp_path / "m.mfgmodel")])
    assert rc == 2 and "--workers must be at least 1, and more than 1 only with --cluster" in capsys.readouterr().err


def test_more_workers_than_the_cluster_has_cpus_is_refused_before_anything_runs(ray_head, small_frame):
    recipe = propose_recipe(small_frame, "Machine_failure", exclude=LEAKS)
    with cluster.connect(_settings(ray_head)) as session, \
            pytest.raises(cluster.ClusterError, match="5 workers were asked for, but the cluster has 2 CPUs"):
        train_on_workers(session, small_frame, recipe, SplitSpec(seed=2), preset("fast"), 5)
