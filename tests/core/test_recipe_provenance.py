"""Provenance and identifier-like columns are never inputs by default; included on purpose they warn."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mfg_desktop.core.errors import DataError
from mfg_desktop.core.recipe import Recipe, non_input_reason, propose_recipe


@pytest.fixture
def stacked() -> pd.DataFrame:
    """Two days stacked as ingest does it, with the columns MES exports add."""
    rng = np.random.default_rng(0)
    n = 200
    rows = np.arange(1, n + 1)
    return pd.DataFrame({
        "source_file": np.repeat(["day_1.csv", "day_2.csv"], n // 2),
        "Row No": rows,
        "loaded_at": pd.Timestamp("2026-01-01") + pd.to_timedelta(rows, unit="min"),
        "Serial": [f"SN{100000 + i * 7}" for i in rng.permutation(n)],  # a code per part, shuffled
        "temperature": rng.normal(300, 2, n).round(2),
        "line": rng.choice(["L1", "L2"], n),
        "defect": rng.integers(0, 2, n),
    })


def test_provenance_and_identifiers_start_dropped_with_their_reason(stacked):
    recipe = propose_recipe(stacked, "defect")
    assert recipe.inputs == ["temperature", "line"]
    for name in ("source_file", "Row No", "loaded_at"):
        assert recipe.plan(name).role == "drop"
        assert recipe.plan(name).caution.startswith("provenance"), name
    assert recipe.plan("source_file").reason == ("provenance (where or when the row was recorded): not an input "
                                                 "unless included")
    assert recipe.plan("Serial").caution.startswith("identifier-like") and recipe.plan("Serial").role == "drop"
    assert recipe.input_warnings() == []


def test_an_included_column_is_an_input_with_a_warning(stacked):
    recipe = propose_recipe(stacked, "defect", include=["source_file"])
    assert recipe.plan("source_file").role == "categorical"
    [warning] = recipe.input_warnings()
    assert "'source_file' is an input although it is provenance" in warning
    assert "require a 'source_file' column in every file it scores" in warning


def test_setting_the_role_through_the_api_warns_too(stacked):
    recipe = propose_recipe(stacked, "defect")
    plan = recipe.plan("Serial")
    plan.role, plan.impute = "categorical", "most_frequent"
    assert [w.split(" is an input")[0] for w in recipe.input_warnings()] == ["'Serial'"]
    # the caution survives a save of the recipe as long as the column is an input
    assert Recipe.from_dict(recipe.to_dict()).input_warnings() == recipe.input_warnings()


def test_ordinary_columns_are_not_flagged():
    rng = np.random.default_rng(1)
    assert non_input_reason("temperature", pd.Series(rng.normal(size=100))) == ""
    assert non_input_reason("Torque [Nm]", pd.Series(rng.integers(10, 60, 100))) == ""
    assert non_input_reason("rowing_speed", pd.Series(rng.normal(size=100))) == ""  # not "row"


def test_include_refuses_unknown_or_contradictory_names(stacked):
    with pytest.raises(DataError, match="not in the data") as err:
        propose_recipe(stacked, "defect", include=["Batch"])
    assert err.value.column == "Batch"
    with pytest.raises(DataError, match="both included and excluded"):
        propose_recipe(stacked, "defect", include=["Row No"], exclude=["Row No"])
