"""The LightGBM challenger, Auto's choice, the decisions taken on the validation rows, and the
model file's tree part (a crafted one is refused before LightGBM reads it)."""

from __future__ import annotations

import copy
import hashlib
import json
import pickle
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mfg_desktop.core.bundle import TREES_MEMBER, load_model_file, save_model_file
from mfg_desktop.core.decisions import Calibration, choose_model, choose_threshold, validation_scores
from mfg_desktop.core.errors import Cancelled, ModelFileError, TrainingError
from mfg_desktop.core.evaluate import evaluate_run, metrics_table, model_columns
from mfg_desktop.core.jobs import JobState
from mfg_desktop.core.network import NetworkSpec
from mfg_desktop.core.recipe import propose_recipe
from mfg_desktop.core.split import SplitSpec
from mfg_desktop.core.train import train_run
from mfg_desktop.core.trees import TreeSpec

SPEC = NetworkSpec(hidden=[16], epochs=2, batch_size=128, n_bins=6, embedding_dim=3)
LEAKS = ["UDI", "Product ID", "TWF", "HDF", "PWF", "OSF", "RNF"]


@pytest.fixture(scope="module")
def frame(ai4i_path) -> pd.DataFrame:
    return pd.read_csv(ai4i_path, encoding="utf-8-sig").iloc[:3000].reset_index(drop=True)


@pytest.fixture(scope="module")
def recipe(frame):
    return propose_recipe(frame, "Machine_failure", exclude=[c for c in LEAKS if c in frame.columns])


@pytest.fixture(scope="module")
def stages():
    return []


@pytest.fixture(scope="module")
def auto_run(frame, recipe, stages):
    messages: list[str] = []
    state = JobState(on_progress=lambda f, m: messages.append(m), on_stage=stages.append)
    run = train_run(frame, recipe, SplitSpec(), SPEC, seed=1, state=state, model_choice="auto")
    run.progress_messages = messages  # type: ignore[attr-defined]
    return run


@pytest.fixture(scope="module")
def saved(auto_run, tmp_path_factory) -> Path:
    return save_model_file(auto_run, tmp_path_factory.mktemp("models") / "auto.mfgmodel")


def test_auto_trains_both_and_keeps_the_better_validation_score(auto_run, stages):
    assert stages == ["network", "trees"]
    assert set(auto_run.candidates) == {"network", "trees", "blend"}
    assert auto_run.trees is not None and auto_run.model is not None
    scores = {n: c.validation["pr_auc"] for n, c in auto_run.candidates.items()}
    best = max(scores, key=scores.get)
    # the best, or the average of both when the best's lead is within the validation rows' noise
    assert auto_run.chosen == best or (auto_run.chosen == "blend" and "noise" in auto_run.choice_reason)
    assert f"{scores[best]:.4f}" in auto_run.choice_reason
    assert any(m.startswith("LightGBM: round") for m in auto_run.progress_messages)
    detail = auto_run.candidates["trees"].detail
    assert 1 <= detail["best_round"] <= detail["rounds_run"] and auto_run.trees.n_trees == detail["best_round"]


def test_auto_also_tries_the_average_of_both_models_on_the_validation_rows(auto_run, frame):
    from mfg_desktop.core.decisions import validation_scores

    x_valid = auto_run.fitted.transform(frame.iloc[auto_run.split_valid])
    y_valid = auto_run.fitted.encode_target(frame.iloc[auto_run.split_valid][auto_run.recipe.target])
    raw = {w: auto_run.predict_matrix(x_valid, which=w, calibrated=False) for w in ("network", "trees", "blend")}
    np.testing.assert_allclose(raw["blend"], (raw["network"] + raw["trees"]) / 2)
    assert auto_run.candidates["blend"].validation == pytest.approx(validation_scores(y_valid, raw["blend"], "binary"))
    # a file whose choice is the average holds both models and scores with both
    run = copy.copy(auto_run)
    run.chosen, run.threshold = "blend", auto_run.candidates["blend"].threshold
    loaded = load_model_file(save_model_file(run, Path(tempfile.mkdtemp()) / "blend.mfgmodel"))
    np.testing.assert_allclose(loaded.predict_outputs(frame.iloc[:100]),
                               auto_run.predict_matrix(auto_run.fitted.transform(frame.iloc[:100]), which="blend"),
                               atol=1e-6)


def test_a_lead_within_the_validation_noise_keeps_the_average():
    from mfg_desktop.core.decisions import clearly_better, prefer_average

    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 300)
    truth = np.eye(3)[y] * 0.8 + 0.2 / 3
    guess = np.full((300, 3), 1 / 3) + rng.normal(0, 0.01, (300, 3))
    assert clearly_better(y, truth, guess, "multiclass")
    assert not clearly_better(y, guess, truth, "multiclass")
    nearly = truth.copy()
    nearly[:3] = nearly[:3, ::-1]  # 3 rows of 300 differ: no evidence either way
    assert not clearly_better(y, truth, nearly, "multiclass") and not clearly_better(y, nearly, truth, "multiclass")
    raw = {"trees": truth, "blend": nearly, "network": guess}
    assert prefer_average("trees", "trees lead", "blend", y, raw, "multiclass")[0] == "blend"
    raw["blend"] = guess
    assert prefer_average("trees", "trees lead", "blend", y, raw, "multiclass") == ("trees", "trees lead")
    values = rng.normal(size=300)  # regression: RMSE
    assert clearly_better(values, values + 0.01, values + 1.0, "regression")


def test_binary_threshold_is_chosen_on_validation_rows_and_stored_with_three_decimals(auto_run):
    for cand in auto_run.candidates.values():
        assert 0 < cand.threshold < 1 and round(cand.threshold, 3) == cand.threshold
        assert "F1" in cand.threshold_rule
    assert auto_run.threshold == auto_run.candidates[auto_run.chosen].threshold


def test_model_file_keeps_both_models_and_the_choice(auto_run, saved, frame):
    with zipfile.ZipFile(saved) as zf:
        names = set(zf.namelist())
        text = zf.read(TREES_MEMBER).decode("ascii")
        run_json = json.loads(zf.read("run.json"))
    assert {"network.json", "model.weights.h5", TREES_MEMBER} <= names
    assert text.startswith("tree\nversion=") and "pickle" not in text
    assert run_json["models"]["chosen"] == auto_run.chosen
    assert set(run_json["models"]["candidates"]) == {"network", "trees", "blend"}
    loaded = load_model_file(saved)
    assert loaded.run.chosen == auto_run.chosen and loaded.run.threshold == auto_run.threshold
    x = auto_run.fitted.transform(frame.iloc[:200])
    for which in ("network", "trees", "blend"):
        np.testing.assert_allclose(loaded.run.predict_matrix(x, which=which),
                                   auto_run.predict_matrix(x, which=which), atol=1e-6)
    out = loaded.predict_frame(frame.iloc[:200])
    p = out[f"p({auto_run.classes[1]})"].to_numpy()
    assert ((p >= auto_run.threshold) == (out["prediction"] == auto_run.classes[1])).all()


def test_evaluate_shows_both_models_side_by_side(auto_run, frame):
    ev = evaluate_run(auto_run, frame, importance=False)
    other = "trees" if auto_run.chosen == "network" else "network"
    expected = [auto_run.chosen, other] + (["trees"] if auto_run.chosen == "blend" else [])
    assert ev.model_name == auto_run.chosen and list(ev.models) == expected
    d = ev.to_dict()
    assert d["models"][other]["threshold"] == auto_run.candidates[other].threshold
    assert "metrics_at_0.5" in d["models"][other] and d["choice_reason"] == auto_run.choice_reason
    columns = model_columns(ev)
    label = {"network": "network", "trees": "LightGBM", "blend": "network + LightGBM"}
    assert columns[:2] == [f"{label[auto_run.chosen]} (chosen)", label[other]]
    pr_auc = dict(metrics_table(ev))["pr_auc"]
    assert pr_auc[:2] == [ev.metrics["pr_auc"], d["models"][other]["metrics"]["pr_auc"]]
    assert len(pr_auc) == len(columns) == 4  # + HistGradientBoosting and trivial


def _rewrite(path: Path, out: Path, trees_text: bytes) -> Path:
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    members[TREES_MEMBER] = trees_text
    manifest = json.loads(members["manifest.json"])
    manifest["members"] = {n: hashlib.sha256(d).hexdigest() for n, d in members.items() if n != "manifest.json"}
    members["manifest.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return out


class _Payload:
    """Unpickling this would create the marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


@pytest.mark.parametrize("kind", ["python", "pickle", "broken", "truncated", "header"])
def test_a_crafted_tree_part_is_refused_and_runs_nothing(saved, tmp_path, kind, capfd):
    marker = tmp_path / "ran.txt"
    good = zipfile.ZipFile(saved).read(TREES_MEMBER).decode("ascii")
    payload = {
        "python": f"tree\nversion=v4\n__import__('pathlib').Path({str(marker)!r}).touch()\nend of trees\n",
        "pickle": None,
        "broken": good.replace("leaf_value=", "leaf_value=not a number ", 1),
        "truncated": good[: len(good) // 2],
        "header": good.replace("num_class=1", f"num_class=1\nexec=open({str(marker)!r}, 'w')", 1),
    }[kind]
    data = pickle.dumps(_Payload(marker)) if payload is None else payload.encode()
    crafted = _rewrite(saved, tmp_path / f"{kind}.mfgmodel", data)
    with pytest.raises(ModelFileError, match="tree part is not a valid LightGBM model"):
        load_model_file(crafted)
    assert not marker.exists()
    assert capfd.readouterr().err == ""


def test_tree_part_with_another_number_of_inputs_is_refused(saved, tmp_path, frame):
    import lightgbm as lgb

    rng = np.random.default_rng(0)
    other = lgb.train({"objective": "binary", "verbosity": -1}, lgb.Dataset(rng.normal(size=(100, 3)),
                                                                             rng.integers(0, 2, 100)), 2)
    text = other.model_to_string()
    text = text[: text.index("end of trees") + len("end of trees")] + "\n"
    with pytest.raises(ModelFileError, match="3 inputs"):
        load_model_file(_rewrite(saved, tmp_path / "other.mfgmodel", text.encode()))


def test_trees_only_run_saves_without_a_network_and_predicts(frame, recipe, tmp_path):
    run = train_run(frame, recipe, SplitSpec(), SPEC, seed=0, model_choice="trees",
                    tree_spec=TreeSpec(max_rounds=60), cost_fn=20, cost_fp=1)
    assert run.model is None and run.chosen == "trees" and "cost" in run.candidates["trees"].threshold_rule
    path = save_model_file(run, tmp_path / "trees.mfgmodel")
    assert "model.weights.h5" not in zipfile.ZipFile(path).namelist()
    loaded = load_model_file(path)
    np.testing.assert_allclose(loaded.predict_outputs(frame.iloc[:50]), run.predict_matrix(
        run.fitted.transform(frame.iloc[:50])), atol=1e-9)


def test_cancel_during_the_trees(frame, recipe):
    state = JobState()

    def cancel_in_trees(fraction: float, message: str) -> None:
        if message.startswith("LightGBM: round"):
            state.request_cancel()

    state._on_progress = cancel_in_trees
    with pytest.raises(Cancelled):
        train_run(frame, recipe, SplitSpec(), SPEC, model_choice="trees", state=state)
    state = JobState(on_progress=cancel_in_trees)
    run = train_run(frame, recipe, SplitSpec(), SPEC, model_choice="auto", state=state)
    assert run.cancelled and run.trees is None and run.chosen == "network" and "cancelled" in run.choice_reason


def test_model_choice_and_costs_are_checked(frame, recipe):
    with pytest.raises(TrainingError, match="Unknown model choice"):
        train_run(frame, recipe, SplitSpec(), SPEC, model_choice="forest")
    with pytest.raises(TrainingError, match="both costs"):
        train_run(frame, recipe, SplitSpec(), SPEC, cost_fn=5)


def test_multiclass_and_regression_trees(steel_path=None):
    rng = np.random.default_rng(3)
    n = 600
    df = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n), "c": rng.choice(["x", "y"], n)})
    df["kind"] = np.where(df["a"] > 0.5, "hot", np.where(df["b"] > 0, "wet", "dry"))
    df["energy"] = 3 * df["a"] + (df["c"] == "x") * 2 + rng.normal(scale=0.1, size=n)
    multi = train_run(df.drop(columns="energy"), propose_recipe(df.drop(columns="energy"), "kind"), SplitSpec(),
                      SPEC, model_choice="auto")
    assert multi.threshold is None and multi.candidates["trees"].validation["accuracy"] > 0.9
    reg_frame = df.drop(columns="kind")
    reg = train_run(reg_frame, propose_recipe(reg_frame, "energy"), SplitSpec(), SPEC, model_choice="trees")
    low, high = reg.interval
    assert low < 0 < high
    valid = reg_frame.iloc[reg.split_valid]
    pred = reg.predict_matrix(reg.fitted.transform(valid))
    inside = ((valid["energy"] >= pred + low) & (valid["energy"] <= pred + high)).mean()
    assert 0.85 <= inside <= 0.95


def test_choose_threshold_by_cost_and_by_f1():
    rng = np.random.default_rng(0)
    y = (rng.random(4000) < 0.05).astype(int)
    p = np.clip(0.15 + 0.5 * y + rng.normal(scale=0.15, size=len(y)), 0, 1)
    t_f1, rule_f1 = choose_threshold(y, p)
    t_cost, rule_cost = choose_threshold(y, p, cost_fn=20, cost_fp=1)
    assert "F1" in rule_f1 and "cost" in rule_cost
    assert t_cost < t_f1  # a missed defect 20x dearer: flag more rows

    def cost(t):
        return 20 * np.sum((p < t) & (y == 1)) + np.sum((p >= t) & (y == 0))

    assert cost(t_cost) <= min(cost(t) for t in np.linspace(0.01, 0.99, 99))


def test_calibration_is_kept_only_where_it_helps_out_of_fold():
    from mfg_desktop.core.decisions import fit_calibration, log_loss

    rng = np.random.default_rng(1)
    truth = rng.random(3000)
    y = (rng.random(3000) < truth).astype(int)
    assert fit_calibration(y, truth) is None  # already calibrated
    squeezed = 0.5 + (truth - 0.5) * 0.3  # far too timid: calibration must help
    cal = fit_calibration(y, squeezed)
    assert cal is not None and cal.log_loss_after < cal.log_loss_before
    assert log_loss(y, np.column_stack([1 - cal.apply(squeezed), cal.apply(squeezed)])) < cal.log_loss_before
    again = Calibration.from_dict(json.loads(json.dumps(cal.to_dict())))
    np.testing.assert_allclose(again.apply(squeezed), cal.apply(squeezed))
    with pytest.raises(ValueError):
        Calibration.from_dict({"method": "exec"})


def test_choose_model_reports_the_numbers():
    name, reason = choose_model({"network": {"rmse": 3.4}, "trees": {"rmse": 1.3}}, "regression")
    assert name == "trees" and reason == "LightGBM trees has the lower validation RMSE: 1.3000 against network 3.4000"
    scores = validation_scores(np.array([0, 1, 1, 0]), np.array([[.9, .1], [.2, .8], [.4, .6], [.6, .4]]), "binary")
    assert scores["pr_auc"] == 1.0 and scores["accuracy"] == 1.0
