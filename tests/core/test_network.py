"""The network spec, presets and the Keras model built from them."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mfg_desktop.core.errors import TrainingError
from mfg_desktop.core.network import (
    DEFAULT_PRESET,
    PRESETS,
    NetworkSpec,
    adapt_model,
    build_model,
    preset,
    quantile_bins,
    resolve_loss,
    resolve_monitor,
)

CORE = Path(__file__).resolve().parents[2] / "mfg_desktop" / "core"


def test_spec_round_trips_through_json_and_ignores_unknown_keys():
    spec = NetworkSpec(hidden=[32, 16], activation="gelu", dropout=0.2, batch_norm=True, optimizer="sgd",
                       learning_rate=0.01, epochs=7, batch_size=64, patience=3, numeric_encoding="none")
    data = json.loads(json.dumps(spec.to_dict()))
    assert NetworkSpec.from_dict(data) == spec
    data["added_in_a_later_version"] = 1
    assert NetworkSpec.from_dict(data) == spec


@pytest.mark.parametrize("change, words", [
    ({"activation": "sigmoidish"}, "activation"),
    ({"hidden": []}, "hidden"),
    ({"dropout": 1.0}, "dropout"),
    ({"optimizer": "lbfgs"}, "optimizer"),
    ({"learning_rate": 0.0}, "learning rate"),
    ({"epochs": 0}, "epochs"),
    ({"loss": "hinge"}, "loss"),
])
def test_bad_settings_are_refused_with_the_reason(change, words):
    with pytest.raises(TrainingError, match=words):
        NetworkSpec(**change)


def test_presets_exist_and_balanced_is_the_default():
    assert set(PRESETS) == {"fast", "balanced", "thorough"}
    assert DEFAULT_PRESET == "balanced"
    assert preset("fast").epochs < preset("balanced").epochs < preset("thorough").epochs
    copy = preset("balanced")
    copy.hidden.append(1)
    assert PRESETS["balanced"].hidden != copy.hidden  # callers get a copy, never the shared preset
    with pytest.raises(TrainingError, match="Unknown preset"):
        preset("huge")


def test_loss_follows_the_task():
    spec = NetworkSpec()
    assert resolve_loss(spec, "binary") == "binary_crossentropy"
    assert resolve_loss(spec, "multiclass") == "sparse_categorical_crossentropy"
    assert resolve_loss(spec, "regression") == "mse"
    assert resolve_loss(NetworkSpec(loss="huber"), "regression") == "huber"
    with pytest.raises(TrainingError, match="does not fit"):
        resolve_loss(NetworkSpec(loss="mse"), "binary")
    with pytest.raises(TrainingError, match="does not fit"):
        resolve_loss(NetworkSpec(loss="binary_crossentropy"), "regression")


def test_early_stopping_follows_the_number_the_task_is_judged_by():
    spec = NetworkSpec()
    assert resolve_monitor(spec, "binary") == ("val_pr_auc", "max")
    assert resolve_monitor(spec, "multiclass") == ("val_accuracy", "max")
    assert resolve_monitor(spec, "regression") == ("val_loss", "min")
    assert resolve_monitor(NetworkSpec(monitor="val_loss"), "binary") == ("val_loss", "min")
    with pytest.raises(TrainingError, match="binary"):
        resolve_monitor(NetworkSpec(monitor="val_pr_auc"), "multiclass")
    with pytest.raises(TrainingError, match="classification"):
        resolve_monitor(NetworkSpec(monitor="val_accuracy"), "regression")


def test_quantile_bins_skip_flags_and_cover_the_range():
    rng = np.random.default_rng(0)
    x = np.column_stack([rng.normal(size=1000), rng.integers(0, 2, 1000), np.repeat([1.0, 2.0, 3.0, 4.0], 250)])
    lower, inv_width = quantile_bins(x, 8)
    assert lower.shape == inv_width.shape == (3, 8)
    assert np.all(inv_width[0] > 0) and np.all(np.diff(lower[0]) > 0)
    assert lower[0, 0] == pytest.approx(x[:, 0].min(), abs=1e-5)
    assert np.all(inv_width[1] == 0)  # a 0/1 flag gets no bins: the raw value says it all
    assert np.count_nonzero(inv_width[2]) == 3  # four distinct values -> three bins, the rest unused


def test_piecewise_linear_encoding_matches_its_definition():
    import keras

    spec = NetworkSpec(hidden=[4], n_bins=4, embedding_dim=2, smooth_clip=False)
    model = build_model(spec, 2, "binary", 2, seed=0, compile=False)
    x = np.array([[0.0, 5.0], [1.0, 6.0], [2.0, 7.0], [3.0, 8.0], [4.0, 9.0]] * 10, dtype=np.float32)
    adapt_model(model, x, None, "binary")
    ple = model.get_layer("ple")
    encoder = keras.Model(model.input, ple.output)
    probe = np.array([[-1.0, 7.5], [1.5, 100.0]], dtype=np.float32)
    got = np.asarray(encoder.predict(probe, verbose=0))
    lower, inv_width = quantile_bins(x, 4)
    want = np.clip((probe[:, :, None] - lower[None]) * inv_width[None], 0.0, 1.0)
    np.testing.assert_allclose(got, want, rtol=1e-6)
    # x=1.5 in bins [0,1], [1,2], [2,3], [3,4]: full, half, empty, empty
    np.testing.assert_allclose(got[1, 0], [1.0, 0.5, 0.0, 0.0], atol=1e-6)


@pytest.mark.parametrize("task, n_classes, width", [("binary", 2, 1), ("multiclass", 4, 4), ("regression", 1, 1)])
def test_outputs_fit_the_task(task, n_classes, width):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(64, 5)).astype(np.float32)
    y = rng.normal(loc=1000.0, scale=50.0, size=64)
    model = build_model(NetworkSpec(hidden=[16, 8], batch_norm=True), 5, task, n_classes, seed=3)
    adapt_model(model, x, y, task)
    out = np.asarray(model.predict(x, verbose=0))
    assert out.shape == (64, width)
    assert out.dtype == np.float32
    if task == "binary":
        assert np.all((out >= 0) & (out <= 1))
    elif task == "multiclass":
        np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)
    else:
        # The output layer rescales to the target's units, so an untrained net starts near its mean.
        assert abs(float(np.mean(out)) - 1000.0) < 200.0


@pytest.mark.parametrize("task, n_classes, width", [("binary", 2, 1), ("multiclass", 4, 4), ("regression", 1, 1)])
def test_the_efficient_ensemble_is_the_mean_of_its_members(task, n_classes, width):
    """k members share each hidden kernel, differ by rank-1 adapters and their heads; the model's
    output is the mean of the members' own (activated) outputs."""
    from keras import ops

    rng = np.random.default_rng(2)
    x = rng.normal(size=(32, 5)).astype(np.float32)
    y = rng.normal(loc=50.0, scale=5.0, size=32)
    k = 4
    spec = NetworkSpec(hidden=[16, 8], ensemble_size=k, dropout=0.0)
    model = build_model(spec, 5, task, n_classes, seed=3)
    adapt_model(model, x, y, task)
    dense = model.get_layer("dense_0")
    assert tuple(dense.kernel.shape) == (5 + 5 * spec.embedding_dim, 16)  # one kernel for all members
    assert tuple(dense.r.shape) == (k, dense.kernel.shape[0]) and tuple(dense.s.shape) == (k, 16)
    assert set(np.unique(np.asarray(dense.r))) == {-1.0, 1.0}  # members differ from the first step
    out = np.asarray(model.predict(x, verbose=0))
    assert out.shape == (32, width)
    # the members one by one, through the same layers, then averaged
    import keras

    hidden = keras.Model(model.inputs, model.get_layer("dropout_1" if spec.dropout else "act_1").output)
    h = np.asarray(hidden(x))
    assert h.shape == (32, k, 8)
    head = model.get_layer("output_scaled" if task == "regression" else "output")
    z = np.einsum("bkd,kdo->bko", h, np.asarray(head.kernel)) + np.asarray(head.bias)
    if task == "binary":
        z = 1 / (1 + np.exp(-z))
    elif task == "multiclass":
        z = np.exp(z) / np.exp(z).sum(axis=-1, keepdims=True)
    members = z.mean(axis=1)
    if task == "regression":
        members = members * np.asarray(model.get_layer("output").std) + np.asarray(model.get_layer("output").mean)
    np.testing.assert_allclose(out, members, rtol=1e-4, atol=1e-5)
    assert np.std(z, axis=1).mean() > 1e-4  # not k copies of one network
    assert ops.convert_to_numpy(model(x[:1])).shape == (1, width)


def test_the_ensemble_trains_saves_and_reopens(tmp_path, ai4i_path):
    import pandas as pd

    from mfg_desktop.core.bundle import load_model_file, save_model_file
    from mfg_desktop.core.recipe import propose_recipe
    from mfg_desktop.core.split import SplitSpec
    from mfg_desktop.core.train import train_run

    df = pd.read_csv(ai4i_path, encoding="utf-8-sig").iloc[:1500]
    recipe = propose_recipe(df, "Machine_failure", exclude=["UDI", "Product ID", "TWF", "HDF", "PWF", "OSF", "RNF"])
    spec = NetworkSpec(hidden=[16], epochs=2, batch_size=128, n_bins=6, embedding_dim=3, ensemble_size=8)
    run = train_run(df, recipe, SplitSpec(), spec, seed=0, model_choice="network")
    loaded = load_model_file(save_model_file(run, tmp_path / "ensemble.mfgmodel"))
    assert loaded.run.network.ensemble_size == 8
    np.testing.assert_allclose(loaded.predict_outputs(df.iloc[:100]),
                               run.predict_matrix(run.fitted.transform(df.iloc[:100])), atol=1e-6)
    assert PRESETS["thorough"].ensemble_size > 1 and PRESETS["balanced"].ensemble_size == 1


def test_same_seed_builds_the_same_weights():
    a = build_model(NetworkSpec(hidden=[8]), 3, "binary", 2, seed=5, compile=False)
    b = build_model(NetworkSpec(hidden=[8]), 3, "binary", 2, seed=5, compile=False)
    c = build_model(NetworkSpec(hidden=[8]), 3, "binary", 2, seed=6, compile=False)
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)
    assert any(not np.array_equal(wa, wc) for wa, wc in zip(a.get_weights(), c.get_weights(), strict=True))


def test_no_inputs_or_one_class_is_refused():
    with pytest.raises(TrainingError, match="no input"):
        build_model(NetworkSpec(), 0, "binary", 2)
    with pytest.raises(TrainingError, match="two classes"):
        build_model(NetworkSpec(), 3, "multiclass", 1)


def test_importing_core_modules_does_not_import_keras():
    code = ("import sys, mfg_desktop.core.network, mfg_desktop.core.train, mfg_desktop.core.bundle;"
            "print(sorted(m for m in ('keras', 'tensorflow', 'jax', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=CORE.parents[1])
    assert out.stdout.strip() == "[]"


def test_model_and_training_code_use_no_tensorflow_api():
    """Only the device query may ask TensorFlow directly (and only when it is the backend)."""
    for name in ("network.py", "train.py", "bundle.py", "backend.py"):
        tree = ast.parse((CORE / name).read_text(encoding="utf-8"))
        for func in ast.walk(tree):
            if not isinstance(func, ast.FunctionDef) or func.name == "gpu_name":
                continue
            for node in ast.walk(func):
                if isinstance(node, ast.Import | ast.ImportFrom):
                    modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                    assert not any(m.split(".")[0] in ("tensorflow", "tf") for m in modules), (name, func.name)


def test_mixed_precision_keeps_the_output_in_float32():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(64, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.float32)
    model = build_model(NetworkSpec(hidden=[8], epochs=1), 4, "binary", 2, seed=0, mixed_precision=True)
    adapt_model(model, x, y, "binary")
    assert model.get_layer("dense_0").dtype_policy.name == "mixed_float16"
    assert model.get_layer("output").dtype_policy.name == "float32"
    assert model.get_layer("ple").dtype_policy.name == "float32"
    history = model.fit(x, y, epochs=1, batch_size=32, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert np.asarray(model.predict(x, verbose=0)).dtype == np.float32


def test_several_training_steps_run_per_call_unless_one_call_would_be_slow(monkeypatch):
    import keras

    from mfg_desktop.core.network import MAX_STEPS_PER_EXECUTION, steps_per_execution

    for name in PRESETS:
        spec = preset(name)
        model = build_model(spec, 8, "binary", 2)
        # an ensemble's step computes every member: k times the work of its weights
        work = model.count_params() * spec.ensemble_size
        assert model.steps_per_execution == steps_per_execution(work, spec.batch_size)
        assert model.steps_per_execution == (MAX_STEPS_PER_EXECUTION if spec.ensemble_size == 1 else
                                             min(MAX_STEPS_PER_EXECUTION, int(2.5e9 // (6 * spec.batch_size * work))))
    # ~200 GFLOP a step: seconds on a CPU, so the per-batch cancel check must come after every step
    assert steps_per_execution(8_600_000, 4096) == 1
    monkeypatch.setattr(keras.config, "backend", lambda: "torch")  # Keras' torch trainer: one step per call
    assert steps_per_execution(1_000, 32) == 1
