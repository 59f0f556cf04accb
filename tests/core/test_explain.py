"""Explanations: permutation importance finds a planted feature, in the user's column names (also
through PCA); per-row contributions point the right way."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from mfg_desktop.core.errors import Cancelled
from mfg_desktop.core.evaluate import evaluate_run
from mfg_desktop.core.explain import (
    contributions,
    model_outputs,
    permutation_importance,
    reference_values,
    score_outputs,
)
from mfg_desktop.core.jobs import JobState
from mfg_desktop.core.network import NetworkSpec
from mfg_desktop.core.recipe import PcaSettings, propose_recipe
from mfg_desktop.core.split import SplitSpec
from mfg_desktop.core.train import train_run

SPEC = NetworkSpec(hidden=[32, 32], dropout=0.0, epochs=8, batch_size=64, patience=50, n_bins=8, embedding_dim=4)


@pytest.fixture(scope="module")
def planted() -> pd.DataFrame:
    """``signal`` decides the target; three noise columns and a category do not."""
    rng = np.random.default_rng(0)
    n = 2000
    df = pd.DataFrame({
        "noise a": rng.normal(size=n),
        "signal": rng.uniform(0, 1, n),
        "noise b": rng.normal(5, 2, n),
        "line": rng.choice(["L1", "L2", "L3"], n),
        "noise c": rng.uniform(-1, 1, n),
    })
    df["defect"] = np.where(df["signal"] + rng.normal(0, 0.05, n) > 0.6, "NG", "OK")
    return df


@pytest.fixture(scope="module")
def run(planted):
    return train_run(planted, propose_recipe(planted, "defect"), SplitSpec(), SPEC, seed=0, model_choice="network")


@pytest.fixture(scope="module")
def evaluation(run, planted):
    return evaluate_run(run, planted, baselines=False)


def test_the_planted_feature_ranks_first(evaluation):
    imp = evaluation.importance
    assert imp.columns[0] == "signal"
    assert set(imp.columns) == {"signal", "noise a", "noise b", "noise c", "line"}  # one entry per column
    assert imp.mean[0] > 0.2 and imp.mean[0] > 5 * max(abs(imp.mean[1:]).max(), 1e-3)
    assert imp.std.shape == imp.mean.shape and np.all(imp.std >= 0)
    assert imp.metric == "pr_auc" and imp.n_repeats == 5 and not imp.pca
    assert imp.baseline_score == pytest.approx(evaluation.metrics["pr_auc"])
    assert "PCA" not in imp.note


def test_importance_is_the_same_with_one_or_several_threads(run, planted):
    test = planted.iloc[run.split_test]
    y = run.fitted.encode_target(test)
    one = permutation_importance(run, test, y, n_repeats=3, n_jobs=1)
    two = permutation_importance(run, test, y, n_repeats=3, n_jobs=2)
    assert one.columns == two.columns
    np.testing.assert_allclose(one.mean, two.mean, rtol=1e-6, atol=1e-9)
    # the drop is measured against the unshuffled score, on at most max_rows rows
    small = permutation_importance(run, test, y, n_repeats=1, max_rows=100)
    assert small.n_rows == 100 and 0 < small.baseline_score <= 1
    assert np.isnan(score_outputs("binary", y[:5] * 0, np.full((5, 2), 0.5)))  # one class: not measurable


def test_importance_can_be_cancelled(run, planted):
    test = planted.iloc[run.split_test]
    state = JobState()
    state.request_cancel()
    with pytest.raises(Cancelled):
        permutation_importance(run, test, run.fitted.encode_target(test), state=state)


def test_pca_keeps_the_users_column_names(planted):
    recipe = propose_recipe(planted, "defect")
    recipe = dataclasses.replace(recipe, pca=PcaSettings(enabled=True, n_components=4, variance=None))
    pca_run = train_run(planted, recipe, SplitSpec(), SPEC, seed=0)
    assert pca_run.fitted.feature_names == ["PC1", "PC2", "PC3", "PC4"]
    ev = evaluate_run(pca_run, planted, baselines=False, n_repeats=2)
    imp = ev.importance
    assert imp.pca and "PCA is on" in imp.note
    assert set(imp.columns) == {"signal", "noise a", "noise b", "noise c", "line"}
    assert imp.columns[0] == "signal"


def test_contributions_point_the_right_way(run, planted):
    refs = reference_values(run)
    train = planted.iloc[run.split_train]
    assert refs["signal"] == pytest.approx(float(train["signal"].median()))
    assert refs["line"] == train["line"].mode().iloc[0]
    test = planted.iloc[run.split_test]
    high = test.iloc[[int(np.argmax(test["signal"].to_numpy()))]]  # surely NG
    low = test.iloc[[int(np.argmin(test["signal"].to_numpy()))]]  # surely OK
    up = contributions(run, high)
    down = contributions(run, low)
    assert up.output == "p(NG)" and down.output == "p(NG)"
    assert up.ranked()[0][0] == "signal" and up.ranked()[0][3] > 0.2  # pushed p(NG) up
    assert down.ranked()[0][0] == "signal" and down.ranked()[0][3] < 0  # pushed it down
    # the explained number is the model's own prediction for the row, and each delta is an occlusion
    assert up.prediction == pytest.approx(model_outputs(run, high)[0, 1])
    swapped = high.copy()
    swapped["signal"] = refs["signal"]
    delta = up.deltas[up.columns.index("signal")]
    assert delta == pytest.approx(up.prediction - model_outputs(run, swapped)[0, 1], abs=1e-6)
    d = up.to_dict()
    assert d["contributions"][0]["column"] == "signal" and d["contributions"][0]["value"] == pytest.approx(
        float(high["signal"].iloc[0]))


def test_evaluation_explains_its_own_rows(evaluation):
    c = evaluation.explain_row(0)
    assert len(c.columns) == 5 and np.all(np.isfinite(c.deltas))
    row = evaluation.frame.iloc[0]
    assert c.values[c.columns.index("line")] == row["line"]


@pytest.fixture(scope="module")
def derived_run():
    """As in AI4I: failures come from the temperature difference dT, a derived column; the two
    temperatures on their own say little (they move together)."""
    from mfg_desktop.core.formula import parse_derived_list

    rng = np.random.default_rng(1)
    n = 2000
    air = rng.normal(300, 2, n)
    df = pd.DataFrame({
        "Air temperature [K]": air,
        "Process temperature [K]": air + 10 + rng.normal(0, 1, n),
        "Type": rng.choice(["L", "M", "H"], n, p=[0.5, 0.3, 0.2]),
        "noise": rng.normal(size=n),
    })
    df["failure"] = np.where(df["Process temperature [K]"] - df["Air temperature [K]"] < 9.5, "fail", "ok")
    derived = parse_derived_list(['dT = "Process temperature [K]" - "Air temperature [K]"'], list(df.columns))
    recipe = propose_recipe(df, "failure", derived=derived)
    assert "dT" in recipe.inputs and "Type" in recipe.inputs
    return train_run(df, recipe, SplitSpec(), SPEC, seed=0, model_choice="network"), df


def test_a_derived_input_is_explained_under_its_own_name(derived_run):
    run, df = derived_run
    ev = evaluate_run(run, df, baselines=False, n_repeats=3)
    imp = ev.importance
    # one entry per input as the user named it: the derived column, both temperatures, Type (not Type=L, ...)
    assert set(imp.columns) == {"dT", "Air temperature [K]", "Process temperature [K]", "Type", "noise"}
    assert imp.columns[0] == "dT" and imp.mean[0] > 0.2
    assert imp.mean[0] > 3 * max(imp.mean[1:].max(), 1e-3)  # held dT, the temperatures barely matter
    assert imp.derived == {"dT": '"Process temperature [K]" - "Air temperature [K]"'}
    assert "dT = " in imp.note and imp.to_dict()["derived"] == imp.derived

    # one row: dT's own value and its training median; the delta is the occlusion of dT alone
    test = df.iloc[run.split_test]
    gap = (test["Process temperature [K]"] - test["Air temperature [K]"]).to_numpy()
    row = test.iloc[[int(np.argmin(gap))]]  # the smallest dT: surely a failure
    c = contributions(run, row)
    assert c.output == "p(fail)"
    column, value, reference, delta = c.ranked()[0]
    assert column == "dT" and value == pytest.approx(gap.min()) and delta > 0.2
    train = df.iloc[run.split_train]
    assert reference == pytest.approx(float((train["Process temperature [K]"] - train["Air temperature [K]"]).median()))
    # changing dT alone: a frame holding the derived column as given, the temperatures untouched
    from mfg_desktop.core.explain import with_derived

    swapped = with_derived(run, row)
    swapped["dT"] = reference
    assert delta == pytest.approx(c.prediction - model_outputs(run, swapped, derived_given=True)[0, 1], abs=1e-6)
    # without derived_given the formula is computed again from the temperatures: dT comes back
    assert model_outputs(run, swapped)[0, 1] == pytest.approx(c.prediction, abs=1e-6)


@pytest.mark.parametrize(("value", "text"), [
    (0.3124, "+0.312"), (-0.00042, "-0.000420"), (0.0, "0"), (12.34, "+12.3"), (1234.5, "+1234"),
    (-0.0000106, "-0.0000106"), (6.51e-6, "+6.51e-06"), (float("nan"), "—"), (None, "—"),
])
def test_changes_keep_their_significant_digits(value, text):
    from mfg_desktop.core.explain import format_change

    assert format_change(value) == text
    assert format_change(0.0087, 2, sign=False) == "0.0087"
