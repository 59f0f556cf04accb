"""Training runs: reproducibility, progress, cancel, early stopping, bad setups, the run object."""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time

import numpy as np
import pandas as pd
import pytest

from mfg_desktop.core import train as train_mod
from mfg_desktop.core.errors import Cancelled, DataError, MfgError, TrainingError
from mfg_desktop.core.jobs import JobState
from mfg_desktop.core.network import NetworkSpec, preset
from mfg_desktop.core.recipe import propose_recipe
from mfg_desktop.core.split import SplitSpec
from mfg_desktop.core.train import (
    BatchUpdate,
    EpochUpdate,
    TrainingRun,
    compiled_outputs,
    data_fingerprint,
    describe_device,
    fit_arguments,
    frame_fingerprint,
    train_run,
    validation_logs,
)

LEAKS = ["TWF", "HDF", "PWF", "OSF", "RNF"]
SMALL = NetworkSpec(hidden=[32, 32], dropout=0.1, epochs=3, batch_size=128, patience=50, n_bins=8,
                    embedding_dim=4)


@pytest.fixture(scope="module")
def ai4i(ai4i_path) -> pd.DataFrame:
    return pd.read_csv(ai4i_path, encoding="utf-8-sig")


@pytest.fixture(scope="module")
def small(ai4i) -> pd.DataFrame:
    return ai4i.iloc[:2000].reset_index(drop=True)


def _recipe(df: pd.DataFrame):
    return propose_recipe(df, "Machine_failure", exclude=LEAKS)


def test_same_seed_gives_the_same_history(small):
    a = train_run(small, _recipe(small), SplitSpec(), SMALL, seed=3)
    b = train_run(small, _recipe(small), SplitSpec(), SMALL, seed=3)
    assert a.history == b.history
    assert len(a.history["loss"]) == 3 and set(a.history) >= {"loss", "val_loss", "accuracy", "val_accuracy"}
    x = a.fitted.transform(small.iloc[:50])
    np.testing.assert_array_equal(a.predict_matrix(x), b.predict_matrix(x))


def test_progress_updates_and_the_run_object(small, tmp_path):
    csv = tmp_path / "slice.csv"
    small.to_csv(csv, index=False)
    updates: list[object] = []
    progress: list[float] = []
    state = JobState(on_progress=lambda f, m: progress.append(f), on_partial_result=updates.append)
    run = train_run(small, _recipe(small), SplitSpec(), SMALL, seed=0, state=state, data_files=[csv])

    epochs = [u for u in updates if isinstance(u, EpochUpdate)]
    batches = [u for u in updates if isinstance(u, BatchUpdate)]
    assert [u.epoch for u in epochs] == [1, 2, 3]
    last = epochs[-1]
    assert last.metric_name == "accuracy" and last.val_metric is not None and last.val_loss is not None
    assert last.samples_per_s > 0 and last.elapsed_s > 0 and last.remaining_s == 0
    # no estimate after the first epoch unless the second agrees with it (see test_remaining_time)
    assert epochs[0].remaining_s is None and (epochs[1].remaining_s is None or epochs[1].remaining_s > 0)
    assert progress[-1] == 1.0
    # per-batch trace: throttled to at most 20 per second (plus one at the start)
    assert batches and len(batches) <= 20 * last.elapsed_s + 2
    assert all(0 < b.position <= 3 for b in batches)

    assert isinstance(run, TrainingRun)
    assert run.task == "binary" and run.classes == [0, 1]
    assert run.history["loss"] == [u.loss for u in epochs]
    assert not run.cancelled and run.epochs_run == 3 and 1 <= run.best_epoch <= 3
    assert set(run.metrics) == {"val_accuracy", "val_roc_auc", "val_pr_auc"}
    assert sorted(np.concatenate([run.split_train, run.split_valid, run.split_test]).tolist()) == list(range(2000))
    # 3.4 % failures: balanced class weights are on by default
    assert run.class_weights is not None and run.class_weights[1] > 10 * run.class_weights[0]
    assert {"python", "keras", "backend", "backend_version", "numpy", "pandas", "scikit-learn"} <= set(run.versions)
    assert run.data_fingerprint["files"][0]["sha256"] == hashlib.sha256(csv.read_bytes()).hexdigest()
    info = json.loads(json.dumps(run.to_dict(), allow_nan=False))
    assert info["split"]["rows"] == {"train": len(run.split_train), "valid": len(run.split_valid),
                                     "test": len(run.split_test)}
    assert "model" not in info and info["network"] == SMALL.to_dict()
    assert run.summary().count("val_roc_auc") == 1


def test_class_weight_choices():
    y = pd.Series([0] * 90 + [1] * 10)
    codes = y.to_numpy()
    resolve = train_mod._resolve_class_weights
    auto = resolve("auto", "binary", y, codes, 2)
    assert auto == pytest.approx({0: 100 / 180, 1: 100 / 20})
    assert resolve(False, "binary", y, codes, 2) is None
    assert resolve(True, "binary", y, codes, 2) == auto
    assert resolve({1: 5.0}, "binary", y, codes, 2) == {0: 1.0, 1: 5.0}
    balanced = pd.Series([0] * 50 + [1] * 50)
    assert resolve("auto", "binary", balanced, balanced.to_numpy(), 2) is None  # no rare class: off
    assert resolve("auto", "regression", y.astype(float), codes, 0) is None
    with pytest.raises(TrainingError, match="Class weights"):
        resolve({7: 2.0}, "binary", y, codes, 2)


def _evaluate_loss(run: TrainingRun, df: pd.DataFrame) -> float:
    x = run.fitted.transform(df.iloc[run.split_valid])
    y = run.fitted.encode_target(df.iloc[run.split_valid]).astype(np.float32)
    return float(run.model.evaluate(x, y, verbose=0, batch_size=4096)[0])


def test_cancel_stops_within_a_second_and_keeps_the_best_weights(small):
    state = JobState()
    cancel_at: list[float] = []

    def on_update(u):
        if isinstance(u, EpochUpdate) and u.epoch == 3 and not cancel_at:
            # Cancel from another thread, as the GUI does, in the middle of epoch 4.
            def later():
                time.sleep(0.05)
                cancel_at.append(time.perf_counter())
                state.request_cancel()
            threading.Thread(target=later).start()

    state._on_partial_result = on_update
    spec = SMALL.with_changes(epochs=400, batch_size=32)
    run = train_run(small, _recipe(small), SplitSpec(), spec, seed=1, state=state)
    stopped = time.perf_counter()
    assert run.cancelled and not run.stopped_early
    assert stopped - cancel_at[0] < 1.0
    assert 3 <= run.epochs_run <= 5
    # binary target: the best epoch is the one with the highest validation PR-AUC
    assert len(run.history["val_pr_auc"]) == run.epochs_run
    best = int(np.argmax(run.history["val_pr_auc"]))
    assert run.best_epoch == best + 1
    assert _evaluate_loss(run, small) == pytest.approx(run.history["val_loss"][best], rel=1e-4)


def test_the_validation_pr_auc_is_scikit_learns_on_the_compiled_predictions(small):
    from sklearn.metrics import average_precision_score

    run = train_run(small, _recipe(small), SplitSpec(), SMALL, seed=0, model_choice="network")
    valid = small.iloc[run.split_valid]
    x, y = run.fitted.transform(valid), run.fitted.encode_target(valid)
    scores = compiled_outputs(run.model, x)[:, 0]
    raw = run.predict_matrix(x, calibrated=False)[:, 1]
    np.testing.assert_allclose(scores, raw, atol=1e-6)  # the eager model call
    np.testing.assert_allclose(compiled_outputs(run.model, x, batch_size=97)[:, 0], scores, atol=1e-6)  # in chunks
    # the best weights are back, so their epoch's PR-AUC in the history is that of the run's model
    assert run.history["val_pr_auc"][run.best_epoch - 1] == pytest.approx(average_precision_score(y, scores))
    assert run.candidates["network"].validation["pr_auc"] == pytest.approx(
        run.history["val_pr_auc"][run.best_epoch - 1], abs=1e-6)


@pytest.mark.parametrize(
    ("task", "loss", "n_out"),
    [("binary", "binary_crossentropy", 1), ("multiclass", "sparse_categorical_crossentropy", 4),
     ("regression", "mse", 1), ("regression", "mae", 1), ("regression", "huber", 1)],
)
def test_validation_logs_are_what_keras_evaluate_reports(task, loss, n_out):
    """The callback's validation numbers equal those of Keras' own validation pass (model.evaluate)."""
    import keras

    from mfg_desktop.core.network import metric_name

    rng = np.random.default_rng(5)
    x = rng.normal(size=(700, 6)).astype(np.float32)
    if task == "regression":
        y = (x @ rng.normal(size=6) * 3 + rng.normal(size=700)).astype(np.float32)  # errors on both sides of 1
    else:
        y = rng.integers(0, 2 if task == "binary" else n_out, 700)
    keras.utils.set_random_seed(5)
    activation = {"binary": "sigmoid", "multiclass": "softmax", "regression": None}[task]
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(n_out, activation=activation)])
    model.compile(loss=loss, metrics=[metric_name(task)])
    target = y if task == "multiclass" else y.astype(np.float32)
    expected = model.evaluate(x, target, batch_size=256, verbose=0, return_dict=True)
    got = validation_logs(compiled_outputs(model, x), y, task, loss)
    name = metric_name(task)
    assert got["val_loss"] == pytest.approx(expected["loss"], rel=1e-5)
    assert got[f"val_{name}"] == pytest.approx(expected[name], rel=1e-5)
    assert ("val_pr_auc" in got) == (task == "binary")


def test_a_diverged_model_gives_nan_validation_numbers_not_an_error():
    outputs = np.full((4, 1), np.nan)
    logs = validation_logs(outputs, np.array([0, 1, 0, 1]), "binary", "binary_crossentropy")
    assert np.isnan(logs["val_loss"]) and np.isnan(logs["val_pr_auc"]) and logs["val_accuracy"] == 0.5


def test_fit_arguments_are_what_train_run_gives_model_fit(small, monkeypatch):
    x = np.zeros((6, 2), dtype=np.float32)
    y = np.array([0, 1, 0, 1, 2, 1])
    args = fit_arguments(x, y, "multiclass", epochs=4, batch_size=3, class_weight={0: 2.0})
    assert args["y"] is y and args["class_weight"] == {0: 2.0} and "validation_data" not in args
    assert (args["epochs"], args["batch_size"], args["shuffle"], args["verbose"]) == (4, 3, True, 0)
    binary = fit_arguments(x, y % 2, "binary", epochs=1, batch_size=3, class_weight=None)
    assert binary["y"].dtype == np.float32

    calls = []
    real = train_mod.fit_arguments
    monkeypatch.setattr(train_mod, "fit_arguments", lambda *a, **k: calls.append(k) or real(*a, **k))
    run = train_run(small, _recipe(small), SplitSpec(), SMALL, seed=0)
    assert calls == [{"epochs": 3, "batch_size": 128, "class_weight": run.class_weights}]


def test_cancel_before_the_first_epoch_raises_cancelled(small):
    state = JobState()
    state.request_cancel()
    with pytest.raises(Cancelled):
        train_run(small, _recipe(small), SplitSpec(), SMALL, state=state)


def test_early_stopping_restores_the_best_epoch(small):
    spec = SMALL.with_changes(epochs=60, patience=2, learning_rate=0.02, lr_schedule="constant",
                              monitor="val_loss")
    run = train_run(small, _recipe(small), SplitSpec(), spec, seed=0)
    assert run.stopped_early and run.epochs_run < 60
    best = int(np.argmin(run.history["val_loss"]))
    assert run.best_epoch == best + 1 and run.epochs_run == run.best_epoch + 2
    assert _evaluate_loss(run, small) == pytest.approx(run.history["val_loss"][best], rel=1e-4)


def test_regression_and_multiclass_train(steel_path):
    steel = pd.read_csv(steel_path)
    faults = list(steel.columns[-7:])
    recipe = propose_recipe(steel, "+".join(faults))
    run = train_run(steel, recipe, SplitSpec(), SMALL.with_changes(epochs=2))
    assert run.task == "multiclass" and len(run.classes) == 7
    assert "val_balanced_accuracy" in run.metrics and run.history["accuracy"]
    probs = run.predict_matrix(run.fitted.transform(steel.iloc[:10]))
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)

    rng = np.random.default_rng(0)
    df = pd.DataFrame({"a": rng.normal(size=600), "b": rng.normal(size=600)})
    df["energy_kwh"] = 5000.0 + 300.0 * df["a"] - 100.0 * df["b"] + rng.normal(scale=10.0, size=600)
    spec = SMALL.with_changes(epochs=25, learning_rate=3e-3)
    reg = train_run(df, propose_recipe(df, "energy_kwh"), SplitSpec(), spec)
    assert reg.task == "regression" and reg.class_weights is None
    assert set(reg.history) >= {"loss", "val_loss", "mae", "val_mae"}
    assert reg.metrics["val_r2"] > 0.8  # the output layer works in the target's own units


def _frame(n: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n)})
    df["y"] = np.where(df["x1"] + rng.normal(scale=0.5, size=n) > 0, "NG", "OK")
    return df


def test_one_class_target_is_refused():
    df = _frame()
    df["y"] = "OK"
    with pytest.raises(TrainingError, match="only one value"):
        train_run(df, propose_recipe(df, "y"), SplitSpec(), SMALL)


def test_all_missing_target_is_refused():
    df = _frame()
    df["y"] = np.nan
    with pytest.raises(TrainingError, match="every row is missing"):
        train_run(df, propose_recipe(df, "y"), SplitSpec(), SMALL)


def test_no_usable_inputs_is_refused():
    df = _frame()
    with pytest.raises(TrainingError, match="[Nn]o usable inputs"):
        train_run(df, propose_recipe(df, "y", exclude=["x1", "x2"]), SplitSpec(), SMALL)


def test_too_few_rows_is_refused():
    df = _frame(12)
    with pytest.raises(TrainingError, match="[Tt]oo few rows|at least"):
        train_run(df, propose_recipe(df, "y"), SplitSpec(), SMALL)


def test_class_too_small_for_a_stratified_split_is_refused():
    df = _frame(200)
    df.loc[:, "y"] = "OK"
    df.loc[0, "y"] = "NG"
    with pytest.raises(TrainingError) as info:
        train_run(df, propose_recipe(df, "y"), SplitSpec(), SMALL)
    assert "NG" in str(info.value)


def test_missing_values_left_over_are_refused():
    df = _frame()
    df.loc[5, "x2"] = np.nan
    recipe = propose_recipe(df, "y")
    recipe.plan("x2").impute = "none"
    with pytest.raises(MfgError, match="x2"):
        train_run(df, recipe, SplitSpec(), SMALL)


def test_infinite_values_left_over_are_refused():
    df = _frame()
    recipe = propose_recipe(df, "y")
    recipe.plan("x1").impute = "none"  # with imputation on, the recipe treats inf as missing
    df.loc[150:, "x1"] = np.inf
    with pytest.raises((TrainingError, DataError), match="x1"):
        train_run(df, recipe, SplitSpec(), SMALL)


def test_running_out_of_memory_says_what_to_do(monkeypatch):
    real_build = train_mod.build_model

    def build_then_break(*args, **kwargs):
        model = real_build(*args, **kwargs)

        def fit(*a, **k):
            raise MemoryError()
        model.fit = fit
        return model

    monkeypatch.setattr(train_mod, "build_model", build_then_break)
    df = _frame()
    with pytest.raises(TrainingError, match="out of memory.*batch size"):
        train_run(df, propose_recipe(df, "y"), SplitSpec(), SMALL)


def test_device_and_fingerprint():
    assert re.fullmatch(r"GPU: .+|CPU \(\d+ cores\)", describe_device())
    df = _frame()
    same = _frame()
    assert frame_fingerprint(df) == frame_fingerprint(same)
    same.loc[7, "x1"] += 1e-9
    assert frame_fingerprint(df) != frame_fingerprint(same)
    assert data_fingerprint(df)["rows"] == 200


def test_full_ai4i_without_leaks_reaches_roc_auc_090_on_test_rows(ai4i):
    from sklearn.metrics import roc_auc_score

    spec = preset("fast").with_changes(epochs=15)
    run = train_run(ai4i, _recipe(ai4i), SplitSpec(), spec, seed=0)
    test = ai4i.iloc[run.split_test]
    p = run.predict_matrix(run.fitted.transform(test))[:, 1]
    assert roc_auc_score(run.fitted.encode_target(test), p) >= 0.90


def test_the_per_batch_trace_never_runs_past_an_epochs_end(small, monkeypatch):
    # 1,400 training rows in batches of 48: 30 steps, not a multiple of the 4 steps Keras runs per
    # execution here, so the last chunk of each epoch is named after a step beyond the epoch's end.
    monkeypatch.setattr(train_mod, "BATCH_UPDATES_PER_S", 1e9)  # every chunk reported
    updates: list[object] = []
    state = JobState(on_partial_result=updates.append)
    spec = SMALL.with_changes(epochs=2, batch_size=48)
    train_run(small, _recipe(small), SplitSpec(), spec, seed=0, state=state)
    batches = [u for u in updates if isinstance(u, BatchUpdate)]
    assert batches and batches[0].steps == 30 and all(b.batch <= b.steps for b in batches)
    assert max(b.position for b in batches if b.epoch == 1) == 1.0
