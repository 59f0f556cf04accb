"""The sequence network: each row's prediction from its own entity's last W rows, trained and saved
like the dense network, scored from new history files, causal."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mfg_desktop.core.bundle import load_model_file, save_model_file
from mfg_desktop.core.errors import DataError, MfgError, TrainingError
from mfg_desktop.core.history import HistorySpec, prepare_training, sequence_positions, sequence_windows
from mfg_desktop.core.jobs import JobState
from mfg_desktop.core.network import NetworkSpec, planned_parameters, preset, sequence_spec
from mfg_desktop.core.recipe import propose_recipe
from mfg_desktop.core.split import SplitSpec
from mfg_desktop.core.train import EpochUpdate, train_run

W = 8


def histories(n_units: int = 12, seed: int = 0) -> pd.DataFrame:
    """Units run to failure; a wear sensor rises towards the end, a second one is noise. The file
    lists the units' rows interleaved (by cycle, then unit), as a line's log does."""
    rng = np.random.default_rng(seed)
    parts = []
    for unit in range(1, n_units + 1):
        life = int(rng.integers(30, 60))
        cycle = np.arange(1, life + 1)
        parts.append(pd.DataFrame({"unit": unit, "cycle": cycle,
                                   "wear": (cycle / life) ** 2 * 5 + rng.normal(0, 0.1, life),
                                   "noise": rng.normal(0, 1, life)}))
    return pd.concat(parts, ignore_index=True).sort_values(["cycle", "unit"], kind="stable").reset_index(drop=True)


def tiny(epochs: int = 2) -> NetworkSpec:
    return sequence_spec(preset("fast"), W).with_changes(conv_filters=8, gru_units=8, hidden=[8], epochs=epochs,
                                                          batch_size=64)


def test_windows_hold_only_the_rows_own_past_oldest_first():
    df = pd.DataFrame({"unit": [2, 1, 1, 2, 1, 1], "cycle": [1, 1, 2, 2, 3, 4], "x": [20., 11, 12, 22, 13, 14]})
    spec = HistorySpec(entity="unit", order="cycle", windows="none")
    pos = sequence_positions(df, spec, 3)
    # row 4 is unit 1's cycle 3: cycles 1, 2, 3 are rows 1, 2, 4
    assert pos[4].tolist() == [1, 2, 4]
    assert pos[1].tolist() == [-1, -1, 1]  # unit 1's first cycle: two padding steps
    assert pos[3].tolist() == [-1, 0, 3]  # never reaches into unit 1
    assert pos[5].tolist() == [2, 4, 5]
    win = sequence_windows(df[["x"]].to_numpy(np.float32), pos)
    assert win.shape == (6, 3, 2)
    assert win[1].tolist() == [[0, 0], [0, 0], [11, 1]]  # padding: zeros, presence 0
    assert win[5, :, 0].tolist() == [12, 13, 14] and win[5, :, 1].tolist() == [1, 1, 1]


def test_windows_that_would_not_fit_in_memory_are_refused(monkeypatch):
    from mfg_desktop.core import history

    monkeypatch.setattr(history, "MAX_SEQUENCE_VALUES", 100)
    with pytest.raises(MfgError, match="sequence network's windows of 20 rows x 8 steps x 2 values"):
        sequence_windows(np.zeros((20, 1), np.float32), np.zeros((20, 8), np.int64))


def test_the_planned_size_is_the_built_size():
    spec = tiny()
    for task, classes in (("regression", 1), ("binary", 2), ("multiclass", 4)):
        from mfg_desktop.core.network import build_model

        model = build_model(spec, 5, task, classes, compile=False)
        assert model.count_params() == planned_parameters(spec, 5, task, classes)
        assert tuple(model.input_shape) == (None, W, 6)


def trained(tmp_path, df=None):
    df = histories() if df is None else df
    spec = HistorySpec(entity="unit", order="cycle", label="rul", rul_cap=40, windows="none")
    training = prepare_training(df, spec)
    recipe = propose_recipe(training.frame, training.target, exclude=training.not_inputs)
    updates: list[EpochUpdate] = []
    state = JobState(on_partial_result=lambda u: updates.append(u) if isinstance(u, EpochUpdate) else None)
    run = train_run(training.frame, recipe, SplitSpec(method="group", column="unit", seed=0), tiny(), seed=0,
                    state=state, model_choice="sequence", history_spec=spec.to_dict())
    return training, run, updates


def test_trained_saved_and_scored_causally(tmp_path):
    training, run, updates = trained(tmp_path)
    assert run.is_sequence and run.trees is None and run.model_choice == "sequence"
    assert [u.epoch for u in updates] == [1, 2] and all(u.val_loss is not None for u in updates)
    assert run.history_spec["entity"] == "unit" and run.test_evaluation is not None
    assert set(training.frame["unit"].iloc[run.split_test]).isdisjoint(training.frame["unit"].iloc[run.split_train])
    path = save_model_file(run, tmp_path / "seq.mfgmodel")
    loaded = load_model_file(path)
    assert loaded.run.is_sequence and loaded.run.network.sequence_length == W
    frame = training.frame
    before = run.predict_matrix(run.fitted.transform(frame), frame=frame)
    np.testing.assert_allclose(loaded.predict_outputs(frame), before, rtol=1e-5, atol=1e-4)
    # scored by the NumPy forward pass, which agrees with the Keras model it was saved from
    saved = loaded.run.model
    assert type(saved).__name__ == "SavedNetwork"
    windows = run.sequence_inputs(run.fitted.transform(frame), frame)
    keras_out = np.asarray(saved.keras_model()(windows, training=False), dtype=np.float64)
    np.testing.assert_allclose(saved.predict_numpy(windows), keras_out, rtol=1e-5, atol=1e-4)
    frame.to_csv(tmp_path / "new.csv", index=False)
    # ... without TensorFlow: predict stays fast
    code = ("import sys; from mfg_desktop.core.bundle import load_model_file; import pandas as pd; "
            f"m = load_model_file({str(path)!r}); from mfg_desktop.core.history import history_frame; "
            f"df = history_frame(m.run.history_spec, pd.read_csv({str(tmp_path / 'new.csv')!r})); "
            "print(float(m.predict_outputs(df).sum())); assert 'tensorflow' not in sys.modules")
    done = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    assert done.returncode == 0, done.stderr
    assert float(done.stdout) == pytest.approx(float(before.sum()), rel=1e-5)

    # a row's prediction comes from its own past: change every later row of unit 3, nothing earlier moves
    unit3 = frame["unit"] == 3
    cut = frame.loc[unit3, "cycle"].median()
    changed = frame.copy()
    future = unit3 & (frame["cycle"] > cut)
    changed.loc[future, ["wear", "noise"]] = 1e3
    after = loaded.predict_outputs(changed)
    past = unit3 & (frame["cycle"] <= cut)
    np.testing.assert_array_equal(after[past.to_numpy()], loaded.predict_outputs(frame)[past.to_numpy()])
    assert not np.allclose(after[future.to_numpy()], before[future.to_numpy()])
    others = (~unit3).to_numpy()
    np.testing.assert_array_equal(after[others], loaded.predict_outputs(frame)[others])

    # importance shuffles a column within whole histories; one row alone cannot be explained
    from mfg_desktop.core.explain import contributions, permutation_importance

    test = frame.iloc[run.split_test]
    imp = permutation_importance(loaded.run, test, test["RUL"].to_numpy(), n_repeats=2, n_jobs=1)
    assert imp.n_rows == len(test) and np.isfinite(imp.mean).all() and imp.columns[0] == "wear"
    with pytest.raises(DataError, match="one row cannot be explained on its own"):
        contributions(loaded.run, test.iloc[:1])


def test_the_sequence_network_needs_histories_and_stops_on_cancel():
    df = histories(6)
    spec = HistorySpec(entity="unit", order="cycle", label="rul", windows="none")
    training = prepare_training(df, spec)
    recipe = propose_recipe(training.frame, training.target, exclude=training.not_inputs)
    split = SplitSpec(method="group", column="unit", seed=0)
    with pytest.raises(TrainingError, match="The sequence network reads histories"):
        train_run(training.frame, recipe, split, tiny(), model_choice="sequence")
    holder: list[JobState] = []
    state = JobState(on_partial_result=lambda u: holder[0].request_cancel() if isinstance(u, EpochUpdate) else None)
    holder.append(state)
    run = train_run(training.frame, recipe, split, tiny(epochs=20), state=state, model_choice="sequence",
                    history_spec=spec.to_dict())
    assert run.cancelled and run.epochs_run == 1 and run.best_epoch == 1 and run.model is not None
