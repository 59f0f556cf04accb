"""Sensor histories: spec, suggestions, validation, labels, joins and causal window features."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mfg_desktop.core.errors import DataError, MfgError
from mfg_desktop.core.history import (
    HistorySpec,
    build_features,
    build_label,
    check_history,
    default_inputs,
    feature_names,
    file_key_candidates,
    join_table,
    prepare_history,
    suggest_history,
)


def histories(lengths=(30, 12, 25), seed=0) -> pd.DataFrame:
    """Machines run to failure: a wear signal that climbs, a noisy one, a constant setting."""
    rng = np.random.default_rng(seed)
    parts = []
    for unit, n in enumerate(lengths, start=1):
        cycle = np.arange(1, n + 1)
        parts.append(pd.DataFrame({
            "unit": unit, "cycle": cycle, "setting": 100.0,
            "wear": cycle / n + rng.normal(0, 0.01, n), "noise": rng.normal(0, 1, n),
        }))
    return pd.concat(parts, ignore_index=True)


def spec_for(df: pd.DataFrame, **kw) -> HistorySpec:
    spec = HistorySpec(entity="unit", order="cycle", **kw)
    spec.inputs = default_inputs(df, spec)
    return spec


def test_suggests_entity_and_order():
    s = suggest_history(histories())
    assert s.entity == "unit" and s.order == "cycle"
    assert "cycle" not in [c for c, _ in s.entity_candidates]


def test_future_rows_do_not_move_earlier_features():
    df = histories()
    spec = spec_for(df, windows="extended", sizes=(3, 5, 10))
    before = build_features(df, spec).frame
    changed = df.copy()
    later = (changed["unit"] == 1) & (changed["cycle"] > 15)
    changed.loc[later, ["wear", "noise"]] = 1e6  # a wild future
    after = build_features(changed, spec).frame
    names = feature_names(spec)
    earlier = ~later.to_numpy()
    pd.testing.assert_frame_equal(before.loc[earlier, names], after.loc[earlier, names])
    assert not np.allclose(before.loc[later, "wear mean3"], after.loc[later, "wear mean3"])


def test_window_values_match_a_direct_computation():
    df = histories()
    spec = spec_for(df, windows="extended", sizes=(4,))
    f = build_features(df, spec).frame
    unit2 = df[df["unit"] == 2]["wear"].to_numpy()
    row = int(np.flatnonzero(df["unit"].to_numpy() == 2)[6])  # 7th row of unit 2
    window = unit2[3:7]
    assert f.loc[row, "wear mean4"] == pytest.approx(window.mean())
    assert f.loc[row, "wear std4"] == pytest.approx(window.std())
    assert f.loc[row, "wear min4"] == pytest.approx(window.min())
    assert f.loc[row, "wear slope4"] == pytest.approx(np.polyfit(np.arange(4), window, 1)[0])
    assert f.loc[row, "wear lag2"] == pytest.approx(unit2[4])
    assert f.loc[row, "wear change"] == pytest.approx(unit2[6] - unit2[0])
    first = int(np.flatnonzero(df["unit"].to_numpy() == 2)[0])  # a history's first row: what it has
    assert f.loc[first, "wear std4"] == 0 and f.loc[first, "wear slope4"] == 0
    assert f.loc[first, "wear lag1"] == pytest.approx(unit2[0])


def test_rows_keep_their_place_when_the_file_is_interleaved():
    df = histories()
    shuffled = df.sample(frac=1.0, random_state=3).sort_values(["cycle"], kind="stable")  # units interleaved
    spec = spec_for(df, sizes=(5,))
    a = build_features(df, spec).frame
    b = build_features(shuffled, spec).frame
    pd.testing.assert_frame_equal(a.sort_index(), b.sort_index())


def test_timestamp_windows_cover_the_last_w_seconds():
    times = pd.to_datetime(["2024-01-01 00:00:00", "2024-01-01 00:00:10", "2024-01-01 00:00:50",
                            "2024-01-01 00:01:00", "2024-01-01 00:05:00"])
    df = pd.DataFrame({"tool": "A", "time": times, "load": [1.0, 2.0, 3.0, 4.0, 5.0]})
    spec = HistorySpec(entity="tool", order="time", sizes=(30,), inputs=["load"])
    out = build_features(df, spec)
    assert spec.order_kind == "time"
    assert out.frame["load mean30s"].tolist() == pytest.approx([1.0, 1.5, 3.0, 3.5, 5.0])
    assert out.short.tolist() == [True, True, False, False, False]


def test_rul_capped_and_fails_within():
    df = histories(lengths=(30, 12))
    rul = build_label(df, spec_for(df, label="rul", rul_cap=10))
    assert rul.iloc[:30].tolist() == [10] * 20 + list(range(9, -1, -1))
    fails = build_label(df, spec_for(df, label="fails_within", fails_within=5))
    assert fails.name == "fails_within_5"
    assert fails.iloc[30:42].tolist() == [0] * 6 + [1] * 6
    row_order = HistorySpec(entity="unit", label="rul")  # no order column: the file's row order
    assert build_label(df, row_order).iloc[30:42].tolist() == list(range(11, -1, -1))


def test_entity_with_one_value_per_row_is_refused():
    df = histories()
    df["row_id"] = np.arange(len(df))
    check = check_history(df, HistorySpec(entity="row_id"))
    assert not check.ok and "different value on every row" in check.errors[0].describe()


def test_order_going_backwards_names_entity_and_row():
    df = histories()
    df.loc[35, "cycle"] = 2  # unit 2's sixth row goes back
    check = check_history(df, spec_for(df))
    text = check.errors[0].describe()
    assert "entity 2" in text and "row 36" in text and "cycle" in text


def test_windows_longer_than_every_entity_are_refused():
    df = histories(lengths=(30, 12))
    check = check_history(df, spec_for(df, sizes=(5, 50)))
    assert "longer than every entity" in check.errors[0].describe()
    warned = check_history(df, spec_for(df, sizes=(5, 20)))
    assert warned.ok and "1 of 2 entities are shorter" in warned.warnings[0]


def test_spec_round_trips_through_json():
    df = histories()
    spec = spec_for(df, label="rul", rul_cap=125.0, windows="extended", sizes=(5, 10))
    again = HistorySpec.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert again == spec
    with pytest.raises(MfgError, match="window set"):
        HistorySpec.from_dict({**spec.to_dict(), "windows": "huge"})


def test_join_by_number_in_file_name_reports_unmatched_and_keeps_rows():
    df = histories(lengths=(5, 4, 3))
    df["source_file"] = df["unit"].map({1: "experiment_07.csv", 2: "experiment_08.csv", 3: "run_x.csv"})
    table = pd.DataFrame({"experiment": [7, 8, 9], "verdict": ["worn", "unworn", "worn"]})
    joined, report = join_table(df, table, "source_file", "experiment", "labels.csv")
    assert len(joined) == len(df) and joined.index.equals(df.index)
    assert joined["verdict"].iloc[:9].tolist() == ["worn"] * 5 + ["unworn"] * 4
    assert joined["verdict"].iloc[9:].isna().all()
    assert report.unmatched == {"run_x.csv": 3} and report.unused_table_keys == ["9"]
    assert file_key_candidates("experiment_07.csv") == ("experiment_07", 7)


def test_join_refuses_duplicate_keys():
    df = histories(lengths=(5, 4))
    table = pd.DataFrame({"unit": [1, 2, 2], "verdict": ["a", "b", "c"]})
    with pytest.raises(DataError, match="key '2' on more than one row") as err:
        join_table(df, table, "unit", "unit", "labels.csv")
    assert "labels.csv" in err.value.describe() and "row 3" in err.value.describe()


def test_prepare_history_adds_label_and_features():
    df = histories()
    out = prepare_history(df, spec_for(df, label="rul", sizes=(5,)))
    assert "RUL" in out.frame and "wear slope5" in out.frame
    assert "unit mean5" not in out.frame and "cycle mean5" not in out.frame
    assert out.short.sum() == 3 * 4  # first four rows of each unit see fewer than 5 rows


def test_cmapss_slice_reads_without_header_and_suggests_engine_and_cycle():
    from pathlib import Path

    from mfg_desktop.core.ingest import load_files

    data = load_files([Path(__file__).resolve().parents[1] / "data" / "cmapss_fd001_6engines.txt"])
    settings = data.files[0]
    assert settings.header is False and settings.delimiter == "whitespace"
    assert data.frame.shape == (1304, 26) and data.frame["col_1"].nunique() == 6
    s = suggest_history(data.frame)
    assert (s.entity, s.order) == ("col_1", "col_2")
