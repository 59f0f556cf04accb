"""Training, search, scoring and checks against a real local Ray head with token authentication."""

from __future__ import annotations

import re
import threading
import time
import zipfile
from concurrent import futures

import pytest

pytest.importorskip("ray", reason="Ray is not installed (the cluster extra: pip install 'mfg-desktop[cluster]')")

import grpc
import numpy as np
import pandas as pd

from mfg_desktop import cli
from mfg_desktop.core import cluster
from mfg_desktop.core.bundle import load_model_file, save_model_file
from mfg_desktop.core.jobs import JobState
from mfg_desktop.core.network import preset
from mfg_desktop.core.recipe import propose_recipe
from mfg_desktop.core.split import SplitSpec
from mfg_desktop.core.train import EpochUpdate

LEAKS = ["UDI", "Product ID", "TWF", "HDF", "PWF", "OSF", "RNF"]
TRAIN = ["--target", "Machine_failure", "--preset", "fast", "--epochs", "2", "--seed", "5"]


def _timed(argv):
    started = time.perf_counter()
    rc = cli.main(argv)
    return rc, time.perf_counter() - started


def test_check_lists_the_nodes_cpus_and_ray_version(ray_head, capsys):
    rc = cli.main(["cluster", "check", ray_head.address, "--token-file", str(ray_head.token_file)])
    out = capsys.readouterr().out
    assert rc == 0, out
    import ray

    assert out.startswith(f"Ray {ray.__version__}, 1 node(s), 2 CPUs, 0 GPUs, token authentication on")
    assert re.search(r"^  node \S+: 2 CPUs, 0 GPUs, [\d.]+ GiB; python [\d.]+, keras ", out, re.MULTILINE)
    assert "problem" not in out


def test_a_wrong_token_is_named_within_30_s(ray_head, tmp_path, capsys):
    wrong = tmp_path / "wrong_token"
    wrong.write_text("0123456789abcdef")
    rc, seconds = _timed(["cluster", "check", ray_head.address, "--token-file", str(wrong)])
    err = capsys.readouterr().err
    assert rc == 2 and seconds < 30
    assert "refused the token from the token file wrong_token" in err
    assert "Traceback" not in err and "0123456789abcdef" not in err


def test_a_missing_token_is_named(ray_head, capsys):
    rc = cli.main(["cluster", "check", ray_head.address])
    err = capsys.readouterr().err
    assert rc == 2 and "requires a token and none was found" in err and "RAY_AUTH_TOKEN_PATH" in err


def test_the_token_is_found_where_ray_looks_for_it(ray_head, monkeypatch):
    monkeypatch.setenv("RAY_AUTH_TOKEN_PATH", str(ray_head.token_file))
    assert cluster.probe(cluster.ClusterSettings(ray_head.address)).source.startswith("RAY_AUTH_TOKEN_PATH")
    monkeypatch.delenv("RAY_AUTH_TOKEN_PATH")
    monkeypatch.setenv("RAY_AUTH_TOKEN", ray_head.token)
    assert cluster.probe(cluster.ClusterSettings(ray_head.address)).source == "RAY_AUTH_TOKEN"
    # the Ray Client address is probed the same way
    assert cluster.probe(cluster.ClusterSettings(ray_head.client_address)).source == "RAY_AUTH_TOKEN"


def test_a_dead_address_is_named_within_30_s(ray_head, capsys):
    with __import__("socket").socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    rc, seconds = _timed(["cluster", "check", f"127.0.0.1:{port}", "--token-file", str(ray_head.token_file)])
    err = capsys.readouterr().err
    assert rc == 2 and seconds < 30
    assert f"Nothing listens at 127.0.0.1:{port}: the connection was refused" in err


def test_a_cluster_without_token_authentication_is_refused_unless_allowed(ray_head, tmp_path):
    """A gRPC server answering Ray's GetClusterId without checking any token: what a head started
    without RAY_AUTH_MODE=token does."""
    from ray.core.generated import gcs_service_pb2, gcs_service_pb2_grpc

    class OpenHead(gcs_service_pb2_grpc.NodeInfoGcsServiceServicer):
        def GetClusterId(self, request, context):
            return gcs_service_pb2.GetClusterIdReply(cluster_id=b"\x01" * 28)

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    gcs_service_pb2_grpc.add_NodeInfoGcsServiceServicer_to_server(OpenHead(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        settings = cluster.ClusterSettings(f"127.0.0.1:{port}", token_file=str(ray_head.token_file))
        with pytest.raises(cluster.ClusterError, match="runs without token authentication.*--insecure-cluster"):
            cluster.probe(settings)
        allowed = cluster.ClusterSettings(settings.address, token_file=settings.token_file, insecure=True)
        assert cluster.probe(allowed) is not None
    finally:
        server.stop(0)


def test_train_on_the_cluster_streams_epochs_and_matches_a_local_run(ray_head, small_csv, tmp_path, capsys):
    remote = tmp_path / "remote.mfgmodel"
    rc = cli.main(["train", str(small_csv), *TRAIN, "--cluster", ray_head.address,
                   "--token-file", str(ray_head.token_file), "--out", str(remote)])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "epoch 1/2" in out and "epoch 2/2" in out  # streamed back from the worker
    assert "on a Ray cluster node" in out
    local = tmp_path / "local.mfgmodel"
    assert cli.main(["train", str(small_csv), *TRAIN, "--out", str(local)]) == 0
    a, b = load_model_file(remote), load_model_file(local)
    frame = pd.read_csv(small_csv)
    np.testing.assert_allclose(a.predict_outputs(frame), b.predict_outputs(frame), rtol=0, atol=1e-6)
    assert a.run.history["val_loss"] == pytest.approx(b.run.history["val_loss"], abs=1e-6)
    assert a.run.data_fingerprint == b.run.data_fingerprint  # the files' checksums, taken on this PC
    # the address, its port and the token never go into the model file
    with zipfile.ZipFile(remote) as zf:
        blob = b"".join(zf.read(name) for name in zf.namelist())
        texts = "".join(zf.read(name).decode("utf-8") for name in zf.namelist() if name.endswith(".json"))
    for secret in (ray_head.address, ray_head.token, str(ray_head.token_file)):
        assert secret.encode() not in blob
    # the port alone, as a number of its own: a bare substring test would also hit a weight's bytes or
    # the digits of a curve point (0.1594631...)
    port = ray_head.address.split(":")[1]
    assert not re.search(rf"(?<![0-9.]){port}(?![0-9])", texts)


def test_cancel_stops_the_remote_training_and_keeps_the_best_weights(ray_head, small_frame):
    """As the window does it: the job runs in a worker thread, Cancel comes from the GUI thread."""
    recipe = propose_recipe(small_frame, "Machine_failure", exclude=LEAKS)
    epochs: list[EpochUpdate] = []
    second_epoch = threading.Event()

    def on_partial(update):
        if isinstance(update, EpochUpdate):
            epochs.append(update)
            if update.epoch == 2:
                second_epoch.set()

    state = JobState(on_partial_result=on_partial)
    outcome = {}

    def job():
        settings = cluster.ClusterSettings(ray_head.address, token_file=str(ray_head.token_file))
        with cluster.connect(settings) as session:
            outcome["run"] = cluster.train_on_cluster(session, small_frame, recipe, SplitSpec(seed=2),
                                                      preset("fast").with_changes(epochs=300, patience=300),
                                                      seed=2, state=state)

    worker = threading.Thread(target=job)
    worker.start()
    assert second_epoch.wait(120), "no epoch came back from the cluster"
    cancelled_at = time.perf_counter()
    state.request_cancel()
    worker.join(60)
    assert not worker.is_alive() and time.perf_counter() - cancelled_at < 30
    run = outcome["run"]
    assert run.cancelled and 2 <= run.epochs_run < 40, run.epochs_run
    assert run.model is not None and run.best_epoch >= 1
    assert [u.epoch for u in epochs[:2]] == [1, 2]


def test_search_4_configurations_with_tune_on_the_cluster(ray_head, small_csv, tmp_path, capsys):
    model = tmp_path / "searched.mfgmodel"
    rc = cli.main(["train", str(small_csv), *TRAIN, "--search", "4", "--cluster", ray_head.address,
                   "--token-file", str(ray_head.token_file), "--out", str(model)])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "with Ray Tune (ASHA) on the cluster" in out
    assert sum(line.startswith("trial ") for line in out.splitlines()) == 4
    trials = load_model_file(model).run.search
    assert len(trials) == 4 and sum(t["best"] for t in trials) == 1
    best = next(t for t in trials if t["best"])
    finished = [t for t in trials if t["status"] == "finished"]
    assert best["score"] == max(t["score"] for t in finished) and best["score_name"] == "val_pr_auc"
    assert f"best: trial {best['number']}" in out


def test_predict_on_the_cluster_writes_the_same_bytes_as_locally(ray_head, ai4i_small_run, tmp_path, capsys):
    model = save_model_file(ai4i_small_run.run, tmp_path / "m.mfgmodel")
    folder = tmp_path / "batches"
    folder.mkdir()
    frame = ai4i_small_run.frame
    for i in range(3):
        frame.iloc[i * 200:(i + 1) * 200].to_csv(folder / f"shift_{i}.csv", index=False)
    assert cli.main(["predict", str(model), str(folder), "--out", str(tmp_path / "local")]) == 0
    local_out = capsys.readouterr().out
    assert cli.main(["predict", str(model), str(folder), "--out", str(tmp_path / "remote"), "--cluster",
                     ray_head.address, "--token-file", str(ray_head.token_file)]) == 0
    remote_out = capsys.readouterr().out
    for i in range(3):
        name = f"shift_{i}_scored.csv"
        assert (tmp_path / "remote" / name).read_bytes() == (tmp_path / "local" / name).read_bytes()
        assert (tmp_path / "remote" / f"shift_{i}_scored.summary.json").is_file()
    # the same summaries, with this PC's paths (the seconds taken aside)
    def same(text, folder):
        return re.sub(r"\[[\d.]+ s\]", "[s]", text.replace(str(tmp_path / folder), "OUT"))

    assert same(remote_out, "remote") == same(local_out, "local")
