"""Evaluation: metrics equal scikit-learn's, only held-out rows, baselines, thresholds, bad input."""

from __future__ import annotations

import dataclasses
import json
import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from mfg_desktop.core.bundle import load_model_file, save_model_file
from mfg_desktop.core.errors import DataError
from mfg_desktop.core.evaluate import (
    HGB,
    TRIVIAL,
    ThresholdSweep,
    _baseline_outputs,
    best_threshold,
    classification_metrics,
    evaluate_model_file,
    evaluate_run,
    expected_cost,
    fit_baselines,
    regression_metrics,
    set_run_threshold,
)
from mfg_desktop.core.jobs import JobState
from mfg_desktop.core.network import NetworkSpec
from mfg_desktop.core.recipe import propose_recipe
from mfg_desktop.core.split import SplitSpec
from mfg_desktop.core.train import EpochUpdate, predict_outputs, train_run

LEAKS = ["TWF", "HDF", "PWF", "OSF", "RNF"]
TINY = NetworkSpec(hidden=[32, 32], dropout=0.1, epochs=3, batch_size=128, patience=50, n_bins=8,
                   embedding_dim=4)


@pytest.fixture(scope="module")
def ai4i(ai4i_path) -> pd.DataFrame:
    return pd.read_csv(ai4i_path, encoding="utf-8-sig").iloc[:3000].reset_index(drop=True)


@pytest.fixture(scope="module")
def run(ai4i):
    recipe = propose_recipe(ai4i, "Machine_failure", exclude=LEAKS)
    return train_run(ai4i, recipe, SplitSpec(), TINY, seed=1, model_choice="network")


@pytest.fixture(scope="module")
def evaluation(run, ai4i):
    return evaluate_run(run, ai4i, n_repeats=2)


# ------------------------------------------------------------------------------ metrics vs scikit-learn


def test_binary_metrics_equal_scikit_learn():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    p1 = np.clip(0.35 * y + rng.uniform(0, 0.65, 400), 0, 1)
    proba = np.column_stack([1 - p1, p1])
    pred = (p1 >= 0.5).astype(int)
    m = classification_metrics(y, proba, pred, 2, "binary")
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert m["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(y, pred))
    assert m["precision"] == pytest.approx(skm.precision_score(y, pred))
    assert m["recall"] == pytest.approx(skm.recall_score(y, pred))
    assert m["f1"] == pytest.approx(skm.f1_score(y, pred))
    assert m["f1_macro"] == pytest.approx(skm.f1_score(y, pred, average="macro"))
    assert m["roc_auc"] == pytest.approx(skm.roc_auc_score(y, p1))
    assert m["pr_auc"] == pytest.approx(skm.average_precision_score(y, p1))
    assert 0.5 < m["roc_auc"] < 1.0  # the data is informative, but not perfectly


def test_multiclass_metrics_equal_scikit_learn():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 4, 500)
    logits = rng.normal(size=(500, 4)) + 1.5 * np.eye(4)[y]
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    pred = proba.argmax(axis=1)
    m = classification_metrics(y, proba, pred, 4, "multiclass")
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert m["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(y, pred))
    for key, fn in (("precision", skm.precision_score), ("recall", skm.recall_score), ("f1", skm.f1_score)):
        assert m[key] == pytest.approx(fn(y, pred, average="macro"))
        assert m[f"{key}_macro"] == m[key]
    assert m["roc_auc"] == pytest.approx(skm.roc_auc_score(y, proba, multi_class="ovr", average="macro"))
    onehot = np.eye(4)[y]
    assert m["pr_auc"] == pytest.approx(skm.average_precision_score(onehot, proba, average="macro"))


def test_regression_metrics_equal_scikit_learn():
    rng = np.random.default_rng(2)
    y = rng.normal(10, 3, 300)
    pred = y + rng.normal(0, 1, 300)
    m = regression_metrics(y, pred)
    assert m["mae"] == pytest.approx(skm.mean_absolute_error(y, pred))
    assert m["rmse"] == pytest.approx(math.sqrt(skm.mean_squared_error(y, pred)))
    assert m["r2"] == pytest.approx(skm.r2_score(y, pred))


def test_auc_is_undefined_not_invented_with_one_class():
    y = np.zeros(10, dtype=int)
    proba = np.column_stack([np.full(10, 0.7), np.full(10, 0.3)])
    m = classification_metrics(y, proba, np.zeros(10, dtype=int), 2, "binary")
    assert math.isnan(m["roc_auc"]) and math.isnan(m["pr_auc"]) and m["accuracy"] == 1.0


# ------------------------------------------------------------------------------ thresholds


def test_best_threshold_worked_by_hand():
    # scores sorted; cuts sit between neighbouring scores. Cost = 5 per missed positive, 1 per alarm:
    #   t=0.05 FP4 FN0 ->4 | 0.15 FP3 ->3 | 0.25 FP2 ->2 | 0.325 FP1 ->1 | 0.375 FP1 FN1 ->6
    #   0.5 FN1 ->5 | 0.7 FN2 ->10 | 0.9 FN3 ->15          => 0.325
    y = np.array([0, 0, 0, 1, 0, 1, 1])
    p = np.array([0.1, 0.2, 0.3, 0.35, 0.4, 0.6, 0.8])
    assert best_threshold(y, p, cost_fn=5, cost_fp=1) == pytest.approx(0.325)
    assert expected_cost(y, p, 0.325, 5, 1) == 1
    # equal costs: 0.325 and 0.5 both make one mistake; the one nearer 0.5 wins
    assert best_threshold(y, p, cost_fn=1, cost_fp=1) == pytest.approx(0.5)
    # false alarms expensive (10): costs 40,30,20,10,11,1,2,3 => 0.5
    assert best_threshold(y, p, cost_fn=1, cost_fp=10) == pytest.approx(0.5)
    # missed positives very expensive: still 0.325, where no positive is missed and one alarm is raised
    assert best_threshold(y, p, cost_fn=100, cost_fp=1) == pytest.approx(0.325)
    assert best_threshold(y, p, cost_fn=1000, cost_fp=1) == pytest.approx(0.325)
    with pytest.raises(DataError, match="Costs"):
        best_threshold(y, p, cost_fn=0, cost_fp=0)


def test_threshold_sweep_matches_scikit_learn_confusion():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 1000)
    p = rng.uniform(size=1000)
    p[:10] = 0.4  # ties exactly at a threshold: >= counts them as positive
    sweep = ThresholdSweep(y, p)
    for t in (0.0, 0.1, 0.4, 0.5, 0.93, 1.0):
        assert sweep.counts(t) == tuple(int(v) for v in skm.confusion_matrix(y, (p >= t).astype(int)).ravel())


# ------------------------------------------------------------------------------ a real run


def test_only_test_rows_are_evaluated(run, evaluation, ai4i):
    rows = set(evaluation.rows.tolist())
    assert rows == set(run.split_test.tolist())
    assert not rows & set(run.split_train.tolist())
    assert not rows & set(run.split_valid.tolist())
    assert evaluation.source == "test"
    assert evaluation.note == f"test rows of the training split ({len(run.split_test):,} of 3,000)"
    # metrics recomputed independently from the test rows agree
    test = ai4i.iloc[run.split_test]
    y = test["Machine_failure"].to_numpy()
    # the network's outputs, calibrated as the run decided on its validation rows, at its threshold
    p = predict_outputs(run.model, run.fitted.transform(test), "binary")
    p = run.candidates["network"].calibrate(p, "binary")[:, 1]
    t = run.threshold
    assert evaluation.metrics["roc_auc"] == pytest.approx(skm.roc_auc_score(y, p))
    assert evaluation.metrics["pr_auc"] == pytest.approx(skm.average_precision_score(y, p))
    assert evaluation.metrics["accuracy"] == pytest.approx(skm.accuracy_score(y, p >= t))
    counts = skm.confusion_matrix(y, (p >= t).astype(int))
    np.testing.assert_array_equal(evaluation.confusion.counts, counts)
    np.testing.assert_allclose(evaluation.confusion.shares.sum(axis=1), 1.0)
    assert evaluation.confusion.labels == ["0", "1"]


def test_baselines_share_the_metric_keys(evaluation):
    assert set(evaluation.baselines) == {TRIVIAL, HGB}
    for metrics in evaluation.baselines.values():
        assert set(metrics) == set(evaluation.metrics)
    trivial = evaluation.baselines[TRIVIAL]
    positive_share = float(np.mean(evaluation.y == 1))
    assert trivial["roc_auc"] == pytest.approx(0.5)
    assert trivial["pr_auc"] == pytest.approx(positive_share)
    assert trivial["accuracy"] == pytest.approx(1 - positive_share)  # always "no failure"
    assert evaluation.baselines[HGB]["roc_auc"] > 0.85  # a real model, trained on the training rows


def test_to_dict_is_json_and_has_the_promised_keys(evaluation):
    d = json.loads(json.dumps(evaluation.to_dict(), allow_nan=False))
    assert d["task"] == "binary" and d["threshold"] == evaluation.run.threshold and d["rows_used"] == len(evaluation.rows)
    assert {"accuracy", "balanced_accuracy", "f1", "roc_auc", "pr_auc"} <= set(d["metrics"])
    assert set(d["baselines"]) == {TRIVIAL, HGB}
    assert set(d["importance"]) == {"Type", "Air temperature [K]", "Process temperature [K]",
                                    "Rotational speed [rpm]", "Torque [Nm]", "Tool wear [min]"}
    assert all(set(v) == {"mean", "std"} for v in d["importance"].values())
    assert set(d["per_class"]) == {"0", "1"}
    curves = evaluation.to_dict(curves=True)["curves"]
    assert set(curves["roc"]) == {"1"} and curves["roc"]["1"]["fpr"][0] == 0.0


def test_confusion_follows_the_threshold_and_the_choice_is_used_by_prediction(run, ai4i, tmp_path):
    ev = evaluate_run(run, ai4i, importance=False, baselines=False)
    p = ev.outputs[:, 1]
    for t in (0.2, 0.5, 0.8):
        counts = skm.confusion_matrix(ev.y, (p >= t).astype(int), labels=[0, 1])
        np.testing.assert_array_equal(ev.confusion_at(t).counts, counts)
    # the proposal uses the validation rows, whose scores the evaluation carries
    assert len(ev.valid_y) == len(run.split_valid)
    proposed = ev.propose_threshold(cost_fn=20, cost_fp=1)
    assert proposed == best_threshold(ev.valid_y, ev.valid_p, 20, 1)
    ev.set_threshold(proposed)
    assert ev.metrics["recall"] == pytest.approx(skm.recall_score(ev.y, p >= proposed))
    previous = run.threshold
    try:
        set_run_threshold(run, proposed)
        path = save_model_file(run, tmp_path / "thr.mfgmodel")
        loaded = load_model_file(path)
        assert loaded.run.threshold == pytest.approx(proposed)
        frame = loaded.predict_frame(ai4i.iloc[run.split_test])
        np.testing.assert_array_equal(frame["prediction"].to_numpy(dtype=int),
                                      (frame["p(1)"].to_numpy() >= proposed).astype(int))
    finally:
        run.threshold = previous
    with pytest.raises(DataError, match="between 0 and 1"):
        set_run_threshold(run, 1.5)


def test_evaluating_a_cancelled_run(ai4i):
    state = JobState()

    def stop_after_first_epoch(update):
        if isinstance(update, EpochUpdate) and update.epoch >= 1:
            state.request_cancel()

    state._on_partial_result = stop_after_first_epoch
    recipe = propose_recipe(ai4i, "Machine_failure", exclude=LEAKS)
    cancelled = train_run(ai4i, recipe, SplitSpec(), TINY.with_changes(epochs=20), seed=4, state=state)
    assert cancelled.cancelled and cancelled.epochs_run < 20
    ev = evaluate_run(cancelled, ai4i, importance=False)
    assert set(ev.rows.tolist()) == set(cancelled.split_test.tolist())
    assert any("cancelled" in n for n in ev.notes)
    assert math.isfinite(ev.metrics["roc_auc"])


def test_a_different_table_is_refused_for_a_run(run, ai4i):
    with pytest.raises(DataError, match="rows"):
        evaluate_run(run, ai4i.iloc[:100])
    changed = ai4i.copy()
    changed.loc[5, "Torque [Nm]"] = 99.0
    with pytest.raises(DataError, match="not the table the run was trained on"):
        evaluate_run(run, changed)


# ------------------------------------------------------------------------------ model files


@pytest.fixture(scope="module")
def loaded(run, tmp_path_factory):
    return load_model_file(save_model_file(run, tmp_path_factory.mktemp("eval") / "m.mfgmodel"))


def test_model_file_on_its_training_data_uses_only_the_test_rows(loaded, run, ai4i):
    ev = evaluate_model_file(loaded, ai4i, importance=False)
    assert ev.source == "test" and set(ev.rows.tolist()) == set(run.split_test.tolist())
    assert "only its held-out test rows" in ev.note
    assert set(ev.baselines) == {TRIVIAL, HGB}
    same = evaluate_run(run, ai4i, importance=False)
    assert ev.metrics == same.metrics


def test_model_file_on_a_new_file_uses_all_labelled_rows(loaded, ai4i_path):
    new = pd.read_csv(ai4i_path, encoding="utf-8-sig").iloc[5000:5800].reset_index(drop=True)
    new.loc[3, "Machine_failure"] = np.nan
    ev = evaluate_model_file(loaded, new, importance=False)
    assert ev.source == "all" and ev.n_rows == 799
    assert "1 row without a target value left out" in ev.note
    assert ev.baselines == {} and "training rows" in ev.baseline_note
    with pytest.raises(DataError, match="validation rows"):
        ev.propose_threshold(10, 1)


def test_labelled_file_problems_have_clear_messages(loaded, ai4i):
    with pytest.raises(DataError, match="no target column 'Machine_failure'") as info:
        evaluate_model_file(loaded, ai4i.drop(columns=["Machine_failure"]).iloc[:50])
    assert "Predict" in str(info.value)
    odd = ai4i.iloc[:50].copy()
    odd["Machine_failure"] = odd["Machine_failure"].astype(object)
    odd.loc[[3, 4], "Machine_failure"] = "jammed"
    with pytest.raises(DataError, match=r"classes the model never saw: 'jammed' \(2 rows\)") as info:
        evaluate_model_file(loaded, odd)
    assert "0" in str(info.value) and "1" in str(info.value)  # the known classes are named


def test_no_test_rows_is_a_clear_message(run, ai4i):
    no_test = dataclasses.replace(run, split_test=np.zeros(0, dtype=np.int64))
    with pytest.raises(DataError, match="no test rows"):
        evaluate_run(no_test, ai4i)


# ------------------------------------------------------------------------------ multiclass and regression


def test_steel_plates_multiclass(steel_path):
    df = pd.read_csv(steel_path)
    faults = ["Pastry_Fault", "Z_Scratch_Fault", "K_Scatch_Fault", "Stains_Fault", "Dirtiness_Fault",
              "Bumps_Fault", "Other_Faults"]
    recipe = propose_recipe(df, faults)
    run = train_run(df, recipe, SplitSpec(), TINY.with_changes(epochs=2), seed=0)
    ev = evaluate_run(run, df, n_repeats=1, max_rows=200, baselines=False)  # multiclass HGB: see below
    assert ev.task == "multiclass" and ev.confusion.labels == sorted(faults)
    assert ev.confusion.counts.sum() == len(run.split_test)
    y_names = np.asarray(ev.classes, dtype=object)[ev.y]
    expected = df.iloc[run.split_test][faults].idxmax(axis=1).to_numpy()
    np.testing.assert_array_equal(y_names, expected)
    assert set(ev.per_class) == set(faults)
    assert ev.importance.n_rows == 200 and ev.importance.metric == "balanced_accuracy"


def test_multiclass_baselines_cover_every_class():
    rng = np.random.default_rng(6)
    x = rng.normal(size=(600, 3))
    y = np.digitize(x[:, 0], [-0.5, 0.5])  # three classes decided by the first input
    fake_run = SimpleNamespace(task="multiclass", class_weights=None)
    models = fit_baselines(fake_run, x[:400], y[:400])
    for name, model in models.items():
        proba, pred = _baseline_outputs(model, x[400:], "multiclass", 4)  # a 4th class never trained on
        assert proba.shape == (200, 4) and np.all(proba[:, 3] == 0)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0)
        m = classification_metrics(y[400:], proba, pred, 4, "multiclass")
        assert (m["accuracy"] > 0.85) == (name == HGB)


def test_regression_run():
    rng = np.random.default_rng(5)
    df = pd.DataFrame({"a": rng.normal(size=800), "b": rng.normal(size=800), "line": rng.choice(["x", "y"], 800)})
    df["energy"] = 3 * df["a"] + (df["line"] == "y") * 2 + rng.normal(0, 0.3, 800)
    recipe = propose_recipe(df, "energy")
    run = train_run(df, recipe, SplitSpec(), TINY.with_changes(epochs=3), seed=0)
    ev = evaluate_run(run, df, n_repeats=2)
    y = df["energy"].to_numpy()[run.split_test]
    assert ev.metrics["mae"] == pytest.approx(skm.mean_absolute_error(y, ev.outputs), rel=1e-5)
    np.testing.assert_allclose(ev.residuals, y - ev.outputs, rtol=1e-5, atol=1e-5)
    d = ev.to_dict()
    assert set(d["metrics"]) == {"mae", "rmse", "r2"} and d["threshold"] is None and "confusion" not in d
    assert set(d["baselines"][HGB]) == {"mae", "rmse", "r2"}
    assert d["baselines"][TRIVIAL]["r2"] <= 0.0 < d["baselines"][HGB]["r2"]
