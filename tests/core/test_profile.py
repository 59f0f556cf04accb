"""Data-quality profile, target analysis and leak detection (mfg_desktop.core.profile)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mfg_desktop.core.errors import Cancelled, DataError, TrainingError
from mfg_desktop.core.jobs import JobState
from mfg_desktop.core.profile import (
    analyze_target,
    histogram,
    profile_frame,
    value_counts,
)
from mfg_desktop.core.task import BINARY, MULTICLASS, ONEHOT_JOIN, REGRESSION

DATA = Path(__file__).resolve().parents[1] / "data"
FAULTS = [
    "Pastry_Fault", "Z_Scratch_Fault", "K_Scatch_Fault", "Stains_Fault",
    "Dirtiness_Fault", "Bumps_Fault", "Other_Faults",
]
HONEST_SENSORS = [
    "Air temperature [K]", "Process temperature [K]", "Rotational speed [rpm]", "Torque [Nm]",
    "Tool wear [min]",
]


@pytest.fixture(scope="module")
def ai4i() -> pd.DataFrame:
    return pd.read_csv(DATA / "ai4i2020.csv", encoding="utf-8-sig")


@pytest.fixture(scope="module")
def steel() -> pd.DataFrame:
    return pd.read_csv(DATA / "SteelPlatesFaults_Clean.csv")


@pytest.fixture(scope="module")
def ai4i_profile(ai4i: pd.DataFrame):
    return profile_frame(ai4i)


@pytest.fixture(scope="module")
def ai4i_report(ai4i: pd.DataFrame, ai4i_profile):
    return analyze_target(ai4i, "Machine_failure", ai4i_profile)


# ---------------------------------------------------------------------------------- profile


def test_ai4i_table(ai4i_profile) -> None:
    p = ai4i_profile
    assert (p.rows, p.n_columns, p.duplicate_rows) == (10000, 14, 0)
    assert p.memory_bytes > 10000 * 14
    assert p.onehot_groups == []
    assert [c.name for c in p.columns][:3] == ["UDI", "Product ID", "Type"]


def test_ai4i_columns(ai4i: pd.DataFrame, ai4i_profile) -> None:
    p = ai4i_profile
    udi, pid, typ = p.column("UDI"), p.column("Product ID"), p.column("Type")
    assert udi.identifier_like and "row counter" in udi.warnings[0]
    assert pid.identifier_like and pid.distinct == 10000
    assert typ.kind == "categorical" and typ.distinct == 3 and not typ.identifier_like
    assert typ.top == "L" and typ.top_share == pytest.approx(0.6)
    air = p.column("Air temperature [K]")
    assert air.kind == "numeric" and air.dtype == "float64"
    assert (air.min, air.max) == (295.3, 304.5)
    assert air.mean == pytest.approx(ai4i["Air temperature [K]"].mean())
    assert air.missing == 0 and air.missing_share == 0.0
    assert p.column("Tool wear [min]").kind == "integer"
    assert p.column("Machine_failure").kind == "boolean"
    assert not any(p.column(c).identifier_like for c in HONEST_SENSORS)
    twf = p.column("TWF")
    assert twf.near_constant and not twf.constant and "99.5 %" in twf.warnings[0]
    with pytest.raises(KeyError):
        p.column("nope")


def test_outliers_follow_the_iqr_rule(ai4i: pd.DataFrame, ai4i_profile) -> None:
    torque = ai4i["Torque [Nm]"]
    q1, q3 = torque.quantile([0.25, 0.75])
    expected = int(((torque < q1 - 1.5 * (q3 - q1)) | (torque > q3 + 1.5 * (q3 - q1))).sum())
    assert expected > 0
    assert ai4i_profile.column("Torque [Nm]").outliers == expected
    assert ai4i_profile.column("Air temperature [K]").outliers == 0


def test_synthetic_quality_problems() -> None:
    rng = np.random.default_rng(0)
    n = 400
    df = pd.DataFrame({
        "shuffled_id": rng.permutation(n) + 1000,
        "reading": rng.normal(10, 1, n),
        "with_gaps": np.where(np.arange(n) % 4 == 0, np.nan, 1.0 + np.arange(n)),
        "constant": 7,
        "almost": np.where(np.arange(n) == 3, 1.0, 0.0),
        "all_missing": np.nan,
        "when": pd.date_range("2024-03-01", periods=n, freq="h"),
        "comment": pd.Series([f"operator note number {i} here" for i in range(n)], dtype="str"),
        "serial": pd.Series([f"SN-{i // 2:06d}" for i in range(n)], dtype="str"),
        "decimal_comma": pd.Series([f"{i},5" if i % 2 else f"{i}" for i in range(n)], dtype="str"),
        "big_int": rng.integers(0, 10**9, n),
    })
    df.loc[10] = df.loc[9]  # one exact duplicate row
    p = profile_frame(df)
    assert p.duplicate_rows == 1
    assert any(w.startswith("1 row (") and "repeats an earlier row" in w for w in p.warnings)  # one row, singular
    # row 10 is a copy, so the permutation is no longer unique: use a fresh frame for the id
    ids = profile_frame(pd.DataFrame({"id": rng.permutation(n) + 1000}))
    assert ids.column("id").identifier_like
    assert not p.column("reading").identifier_like  # unique floats are measurements
    assert not p.column("big_int").identifier_like  # unique but scattered integers too
    gaps = p.column("with_gaps")
    assert gaps.missing == 100 and gaps.missing_share == pytest.approx(0.25)
    assert "25 % of the values are missing" in gaps.warnings[0]
    const = p.column("constant")
    assert const.constant and "every value is 7" in const.warnings[0]
    almost = p.column("almost")
    assert almost.near_constant and not almost.constant and almost.kind == "boolean"
    empty = p.column("all_missing")
    assert empty.missing == n and empty.warnings[0] == "All values are missing."
    when = p.column("when")
    assert when.kind == "datetime" and when.min == "2024-03-01T00:00:00" and not when.identifier_like
    comment = p.column("comment")
    assert comment.kind == "text" and not comment.identifier_like
    serial = p.column("serial")
    assert serial.identifier_like and "codes such as 'SN-" in serial.warnings[-1]
    assert any("numbers stored as text" in w for w in p.column("decimal_comma").warnings)


def test_duplicate_column_names_are_refused() -> None:
    df = pd.DataFrame([[1, 2], [3, 4]], columns=["a", "a"])
    with pytest.raises(DataError, match="Duplicate column names: a"):
        profile_frame(df)


def test_to_dict_is_plain_json(ai4i_profile, ai4i_report) -> None:
    d = json.loads(json.dumps(ai4i_profile.to_dict(), allow_nan=False))
    assert d["rows"] == 10000
    assert d["columns"][0]["name"] == "UDI" and d["columns"][0]["dtype"] == "int64"
    r = json.loads(json.dumps(ai4i_report.to_dict(), allow_nan=False))
    assert r["task"] == "binary" and r["leak_suspects"][0]["column"] == "UDI"


def test_empty_and_nan_only_frames_profile() -> None:
    p = profile_frame(pd.DataFrame({"a": pd.Series([], dtype=float), "b": pd.Series([], dtype="str")}))
    assert p.rows == 0 and p.duplicate_rows == 0 and p.column("a").distinct == 0
    json.dumps(p.to_dict(), allow_nan=False)


def test_progress_and_cancel(ai4i: pd.DataFrame) -> None:
    seen: list[float] = []
    profile_frame(ai4i, JobState(on_progress=lambda f, _m: seen.append(f)))
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) > 14
    state = JobState()
    state.request_cancel()
    with pytest.raises(Cancelled):
        profile_frame(ai4i, state)
    with pytest.raises(Cancelled):
        analyze_target(ai4i, "Machine_failure", state=state)


# ---------------------------------------------------------------------------------- target


def test_ai4i_target(ai4i_report) -> None:
    r = ai4i_report
    assert r.task == BINARY and r.columns == ["Machine_failure"]
    assert r.class_counts == {"0": 9661, "1": 339}
    assert r.minority_share == pytest.approx(0.0339)
    assert any("Imbalanced" in w for w in r.warnings)


def test_ai4i_leaks_are_named(ai4i_report) -> None:
    suspects = {s.column for s in ai4i_report.leak_suspects}
    assert {"TWF", "HDF", "PWF", "OSF", "RNF", "UDI", "Product ID"} <= suspects


def test_ai4i_honest_sensors_are_not_suspects(ai4i_report) -> None:
    suspects = {s.column for s in ai4i_report.leak_suspects}
    assert suspects.isdisjoint(HONEST_SENSORS + ["Type"])


def test_ai4i_leak_reasons_state_the_evidence(ai4i_report) -> None:
    reasons = {s.column: s.reason for s in ai4i_report.leak_suspects}
    assert "when TWF = 1 the target is 1 in 46 of 46 rows (base rate 3.4 %)" in reasons["TWF"]
    # RNF = 1 in 19 rows of which only 1 is a failure: caught as a sibling of the other flags
    assert "same block as TWF, HDF, PWF, OSF" in reasons["RNF"]
    assert "1 in 1 of 19 rows" in reasons["RNF"]
    assert "row counter" in reasons["UDI"]
    assert "different value in every row" in reasons["Product ID"]


def test_ai4i_without_profile_gives_same_result(ai4i: pd.DataFrame, ai4i_report) -> None:
    again = analyze_target(ai4i, "Machine_failure")
    assert again.to_dict() == ai4i_report.to_dict()


def test_flag_that_does_not_determine_the_target_alone_is_not_a_sibling(ai4i: pd.DataFrame) -> None:
    # Without the other failure-mode flags RNF is just a rare flag with no evidence against it.
    df = ai4i.drop(columns=["TWF", "HDF", "PWF", "OSF"])
    r = analyze_target(df, "Machine_failure")
    assert {s.column for s in r.leak_suspects} == {"UDI", "Product ID"}


def test_steel_group_target(steel: pd.DataFrame) -> None:
    r = analyze_target(steel, FAULTS)
    assert r.task == MULTICLASS and r.columns == FAULTS
    assert r.target == ONEHOT_JOIN.join(FAULTS)
    assert r.class_counts == {
        "Pastry_Fault": 158, "Z_Scratch_Fault": 190, "K_Scatch_Fault": 391, "Stains_Fault": 72,
        "Dirtiness_Fault": 55, "Bumps_Fault": 402, "Other_Faults": 673,
    }
    assert list(r.class_counts) == FAULTS
    assert r.minority_share == pytest.approx(55 / 1941)
    assert not {s.column for s in r.leak_suspects} & set(FAULTS)
    assert analyze_target(steel, ONEHOT_JOIN.join(FAULTS)).class_counts == r.class_counts


def test_single_fault_target_flags_its_group(steel: pd.DataFrame) -> None:
    r = analyze_target(steel, "Pastry_Fault")
    assert r.task == BINARY
    suspects = {s.column for s in r.leak_suspects}
    assert set(FAULTS) - {"Pastry_Fault"} <= suspects
    assert "TypeOfSteel_A300" not in suspects


def test_numeric_copy_of_the_target_is_flagged(ai4i: pd.DataFrame) -> None:
    df = ai4i[["Torque [Nm]", "Tool wear [min]", "Machine_failure"]].copy()
    rng = np.random.default_rng(3)
    df["failure_score"] = df["Machine_failure"] * 5 + rng.normal(0, 1, len(df))
    r = analyze_target(df, "Machine_failure")
    reasons = {s.column: s.reason for s in r.leak_suspects}
    assert list(reasons) == ["failure_score"]
    assert "balanced accuracy" in reasons["failure_score"]


def test_regression_leaks() -> None:
    rng = np.random.default_rng(5)
    n = 2000
    life = rng.uniform(0, 500, n)
    df = pd.DataFrame({
        "temperature": rng.normal(60, 5, n) + life * 0.01,
        "cycles_left_minutes": life * 60 + rng.normal(0, 30, n),
        "stage": pd.Series(np.where(life < 250, "early", "late"), dtype="str"),
        "band": pd.Series((life // 5).astype(int).astype(str), dtype="str"),
        "rul": life,
    })
    r = analyze_target(df, "rul")
    assert r.task == REGRESSION and r.class_counts == {} and r.minority_share is None
    reasons = {s.column: s.reason for s in r.leak_suspects}
    assert set(reasons) == {"cycles_left_minutes", "band"}
    assert "r = 1.000" in reasons["cycles_left_minutes"]
    assert "variance" in reasons["band"]


def test_unknown_target_names_close_matches(ai4i: pd.DataFrame) -> None:
    with pytest.raises(DataError) as info:
        analyze_target(ai4i, "Machine failure")
    assert "'Machine failure'" in str(info.value) and "'Machine_failure'" in str(info.value)


def test_constant_target_is_refused(ai4i: pd.DataFrame) -> None:
    df = ai4i.assign(always=1)
    with pytest.raises(TrainingError, match="only one value"):
        analyze_target(df, "always")


def test_missing_target_values_and_tiny_classes() -> None:
    rng = np.random.default_rng(2)
    y = np.array(["ok"] * 200 + ["crack"] * 100 + ["burr"] * 4 + [None] * 6, dtype=object)
    df = pd.DataFrame({"x": rng.normal(size=len(y)), "y": pd.Series(y, dtype="str")})
    r = analyze_target(df, "y")
    assert r.task == MULTICLASS and r.class_counts == {"burr": 4, "crack": 100, "ok": 200}
    assert any("6 rows have no target value" in w for w in r.warnings)
    assert any("fewer than 10 rows (burr)" in w for w in r.warnings)


# ---------------------------------------------------------------------------------- plot data


def test_histogram(ai4i: pd.DataFrame) -> None:
    counts, edges = histogram(ai4i["Torque [Nm]"], bins=25)
    assert len(counts) == 25 and len(edges) == 26 and counts.sum() == 10000
    assert edges[0] == 3.8 and edges[-1] == pytest.approx(76.6)
    with_gaps = pd.Series([1.0, np.nan, 2.0, np.inf, 3.0])
    assert histogram(with_gaps, bins=3)[0].sum() == 3
    times = pd.Series(pd.date_range("2024-01-01", periods=48, freq="h"))
    t_counts, t_edges = histogram(times, bins=4)
    assert t_counts.tolist() == [12, 12, 12, 12] and t_edges[0] == pd.Timestamp("2024-01-01").timestamp()
    empty_counts, _ = histogram(pd.Series([np.nan, np.nan]), bins=5)
    assert empty_counts.tolist() == [0] * 5
    with pytest.raises(DataError, match="holds text"):
        histogram(ai4i["Type"])


def test_value_counts() -> None:
    s = pd.Series(["a"] * 5 + ["b"] * 3 + ["c"] * 2 + ["d"] + [None] * 2, dtype="str")
    assert value_counts(s, top=2) == [("a", 5), ("b", 3), ("(other 2)", 3), ("(missing)", 2)]
    assert value_counts(pd.Series([1, 1, 0])) == [("1", 2), ("0", 1)]
