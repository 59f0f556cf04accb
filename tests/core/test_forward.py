"""The NumPy forward pass of a saved network equals Keras' predictions (to 1e-5) for every layer kind."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mfg_desktop.core.forward import ROWS_PER_BLOCK, SavedNetwork, WeightsMismatch
from mfg_desktop.core.network import ACTIVATIONS, NetworkSpec, adapt_model, build_model


def saved_weights(model, tmp_path) -> bytes:
    path = tmp_path / "w.weights.h5"
    model.save_weights(path)
    return path.read_bytes()




CASES = [
    (NetworkSpec(hidden=[16, 8]), "binary", 2),
    (NetworkSpec(hidden=[12], numeric_encoding="none", smooth_clip=False), "multiclass", 4),
    (NetworkSpec(hidden=[10, 6], batch_norm=True, dropout=0.3), "regression", 0),
    *[(NetworkSpec(hidden=[9], activation=a, n_bins=6, embedding_dim=3), "multiclass", 3) for a in ACTIVATIONS],
]


@pytest.mark.parametrize(("spec", "task", "n_classes"), CASES,
                         ids=[f"{s.activation}-{t}-{s.numeric_encoding}-bn{int(s.batch_norm)}" for s, t, _ in CASES])
def test_numpy_forward_pass_equals_keras(spec, task, n_classes, tmp_path):
    from keras import ops

    rng = np.random.default_rng(1)
    n_features = 5
    rows = 2 * ROWS_PER_BLOCK + 300  # two full blocks and a partial one: block edges are checked too
    x = rng.normal(size=(rows, n_features)).astype(np.float32) * 2
    x[:, 4] = rng.integers(0, 2, rows)  # a 0/1 flag: no bins
    x[:5, 0] = [40.0, -25.0, 7.0, 0.0, 1e3]  # outliers through SmoothClip and beyond the last bin
    y = rng.normal(50, 10, rows) if task == "regression" else rng.integers(0, max(n_classes, 2), rows)
    model = build_model(spec, n_features, task, max(n_classes, 2) if task != "regression" else 1, seed=3,
                        compile=False)
    adapt_model(model, x, y, task)
    for layer in model.layers:  # random weights everywhere but the data-dependent bin edges
        if layer.name != "ple" and layer.weights:
            rs = np.random.default_rng(len(layer.name))
            layer.set_weights([rs.uniform(0.5, 2.0, w.shape) if "variance" in w.path or "std" in w.path
                               else rs.normal(0, 0.4, w.shape) for w in layer.weights])
    expected = np.asarray(ops.convert_to_numpy(model(x, training=False)), dtype=np.float64)
    net = SavedNetwork(spec, n_features, task, n_classes, seed=3, weights_h5=saved_weights(model, tmp_path))
    got = net.predict_numpy(x)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    assert net.count_params() == model.count_params()


def test_weights_that_do_not_fit_the_spec_are_refused(tmp_path):
    model = build_model(NetworkSpec(hidden=[8]), 3, "binary", 2, compile=False)
    data = saved_weights(model, tmp_path)
    with pytest.raises(WeightsMismatch, match="needs"):
        SavedNetwork(NetworkSpec(hidden=[9]), 3, "binary", 2, seed=0, weights_h5=data)
    with pytest.raises(WeightsMismatch, match="missing"):
        SavedNetwork(NetworkSpec(hidden=[8, 8]), 3, "binary", 2, seed=0, weights_h5=data)
    with pytest.raises(WeightsMismatch, match="unreadable"):
        SavedNetwork(NetworkSpec(hidden=[8]), 3, "binary", 2, seed=0, weights_h5=b"not hdf5 at all")


def test_anything_else_builds_the_keras_model_with_the_same_weights(tmp_path):
    model = build_model(NetworkSpec(hidden=[8]), 3, "binary", 2, compile=False)
    net = SavedNetwork(NetworkSpec(hidden=[8]), 3, "binary", 2, seed=0, weights_h5=saved_weights(model, tmp_path))
    assert [layer.name for layer in net.layers] == [layer.name for layer in model.layers]
    for a, b in zip(net.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)



BLAS_THREADS_PROBE = """
import threading, time
from threadpoolctl import threadpool_info, threadpool_limits
from mfg_desktop.core.forward import _single_blas_thread

def blas_threads():
    return {info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"}

inside, all_in = [], threading.Barrier(3)

def score(index):
    with _single_blas_thread():
        all_in.wait()
        inside.append(blas_threads())
        time.sleep(0.02 * index)  # they leave one after another

workers = [threading.Thread(target=score, args=(i,)) for i in range(3)]
for worker in workers:
    worker.start()
for worker in workers:
    worker.join()
after = blas_threads()
with threadpool_limits(limits=1, user_api="blas"):  # the main thread can still set a limit
    main_limit = blas_threads()
print(inside, after, main_limit, blas_threads())
"""


def test_blas_runs_on_one_thread_while_threads_score_and_is_restored_after(tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "OPENBLAS_NUM_THREADS": "2", "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.run([sys.executable, "-c", BLAS_THREADS_PROBE], env=env, capture_output=True, text=True,
                          timeout=120, check=True)
    assert proc.stdout.split("\n")[0] == "[{1}, {1}, {1}] {2} {1} {2}"
