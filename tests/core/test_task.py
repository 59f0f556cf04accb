"""Task detection, target columns and one-hot target groups (mfg_desktop.core.task)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mfg_desktop.core.errors import DataError, TrainingError
from mfg_desktop.core.task import (
    BINARY,
    MULTICLASS,
    ONEHOT_JOIN,
    REGRESSION,
    detect_task,
    find_onehot_groups,
    target_columns,
    target_series,
)

DATA = Path(__file__).resolve().parents[1] / "data"
FAULTS = [
    "Pastry_Fault", "Z_Scratch_Fault", "K_Scatch_Fault", "Stains_Fault",
    "Dirtiness_Fault", "Bumps_Fault", "Other_Faults",
]


@pytest.fixture(scope="module")
def steel() -> pd.DataFrame:
    return pd.read_csv(DATA / "SteelPlatesFaults_Clean.csv")


@pytest.fixture(scope="module")
def ai4i() -> pd.DataFrame:
    return pd.read_csv(DATA / "ai4i2020.csv", encoding="utf-8-sig")


def test_steel_faults_are_one_group(steel: pd.DataFrame) -> None:
    assert find_onehot_groups(steel) == [FAULTS]


def test_pairs_only_with_min_columns_two(steel: pd.DataFrame) -> None:
    groups = find_onehot_groups(steel, min_columns=2)
    assert ["TypeOfSteel_A300", "TypeOfSteel_A400"] in groups
    assert FAULTS in groups


def test_ai4i_failure_flags_are_not_a_group(ai4i: pd.DataFrame) -> None:
    # TWF..RNF are 0 in most rows and sometimes 1 together: not one-hot
    assert find_onehot_groups(ai4i, min_columns=2) == []


def test_group_found_when_columns_are_not_adjacent() -> None:
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 3, 300)
    df = pd.DataFrame({
        "a": (labels == 0).astype(int),
        "noise": rng.normal(size=300),
        "b": (labels == 1).astype(bool),
        "flag": rng.integers(0, 2, 300),
        "c": (labels == 2).astype(float),
    })
    assert find_onehot_groups(df) == [["a", "b", "c"]]


def test_row_with_two_ones_or_missing_breaks_a_group() -> None:
    labels = np.arange(30) % 3
    base = pd.DataFrame({f"k{i}": (labels == i).astype(float) for i in range(3)})
    two = base.copy()
    two.loc[5, "k0"] = 1.0  # row 5 now has two 1s
    assert find_onehot_groups(base) == [["k0", "k1", "k2"]]
    assert find_onehot_groups(two) == []
    gap = base.copy()
    gap.loc[7, "k1"] = np.nan
    assert find_onehot_groups(gap) == []


def test_target_columns_forms() -> None:
    assert target_columns("Machine_failure") == ["Machine_failure"]
    assert target_columns(ONEHOT_JOIN.join(["A", "B", "C"])) == ["A", "B", "C"]
    assert target_columns(["A", "B"]) == ["A", "B"]
    # a real column whose name holds '+' stays one column
    assert target_columns("A+B", df_columns=["A+B", "x"]) == ["A+B"]
    with pytest.raises(DataError):
        target_columns([])


def test_target_series_of_group(steel: pd.DataFrame) -> None:
    y = target_series(steel, FAULTS)
    assert y.name == "fault"
    assert len(y) == len(steel)
    counts = y.value_counts().to_dict()
    assert counts == {
        "Other_Faults": 673, "Bumps_Fault": 402, "K_Scatch_Fault": 391, "Z_Scratch_Fault": 190,
        "Pastry_Fault": 158, "Stains_Fault": 72, "Dirtiness_Fault": 55,
    }
    assert y.iloc[0] == "Pastry_Fault"
    assert target_series(steel, ONEHOT_JOIN.join(FAULTS)).equals(y)


def test_target_series_single_column(ai4i: pd.DataFrame) -> None:
    assert target_series(ai4i, "Machine_failure").equals(ai4i["Machine_failure"])


def test_target_series_rejects_broken_group() -> None:
    df = pd.DataFrame({"a": [1, 0, 0, 0], "b": [0, 1, 0, 1], "c": [0, 0, 0, 0]})
    with pytest.raises(DataError, match="first is data row 3"):
        target_series(df, ["a", "b", "c"])
    with pytest.raises(DataError, match="only hold 0 and 1"):
        target_series(pd.DataFrame({"a": [1, 2], "b": [0, 0]}), ["a", "b"])
    with pytest.raises(DataError, match="'zz'"):
        target_series(df, ["a", "zz"])


@pytest.mark.parametrize(
    "values",
    [
        [0, 1, 1, 0, 1],
        [-1, 1, 1, -1],
        ["OK", "NG", "OK", "OK"],
        ["是", "否", "是"],
        [True, False, True],
        [0.0, 1.0, np.nan, 1.0],
        [3.5, 7.25, 3.5],
    ],
)
def test_binary_from_any_two_values(values: list) -> None:
    assert detect_task(pd.Series(values)) == BINARY


def test_multiclass_cases(steel: pd.DataFrame) -> None:
    assert detect_task(pd.Series(["a", "b", "c"] * 3)) == MULTICLASS
    assert detect_task(pd.Series(np.arange(300) % 7)) == MULTICLASS  # fault codes 0..6
    assert detect_task(pd.Series((np.arange(300) % 4).astype(float))) == MULTICLASS
    assert detect_task(pd.Series(pd.Categorical(["x", "y", "z", "x"]))) == MULTICLASS
    assert detect_task(target_series(steel, FAULTS)) == MULTICLASS


def test_regression_cases(ai4i: pd.DataFrame) -> None:
    assert detect_task(ai4i["Torque [Nm]"]) == REGRESSION
    assert detect_task(ai4i["Tool wear [min]"]) == REGRESSION  # 246 whole numbers: a quantity
    # too few rows per value for whole numbers to be classes
    assert detect_task(pd.Series([1, 2, 3, 4, 5, 6, 7, 8])) == REGRESSION
    assert detect_task(pd.Series(np.arange(1000) % 30)) == REGRESSION  # more than 20 values


def test_unusable_targets_raise() -> None:
    with pytest.raises(TrainingError, match="only one value"):
        detect_task(pd.Series([1, 1, 1], name="y"))
    with pytest.raises(TrainingError, match="every row is missing"):
        detect_task(pd.Series([np.nan, np.nan], name="y"))
    with pytest.raises(TrainingError, match="timestamp"):
        detect_task(pd.Series(pd.date_range("2024-01-01", periods=5), name="t"))
