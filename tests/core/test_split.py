"""Train/validation/test splits: random (stratified), by time, by group, and their bad inputs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mfg_desktop.core.errors import TrainingError
from mfg_desktop.core.split import MIN_TRAIN_ROWS, Split, SplitSpec, make_split
from mfg_desktop.core.task import BINARY, MULTICLASS, REGRESSION, find_onehot_groups, target_series


@pytest.fixture(scope="module")
def ai4i(ai4i_path) -> pd.DataFrame:
    return pd.read_csv(ai4i_path, encoding="utf-8-sig")


def _check_partition(split: Split, n: int) -> None:
    parts = [split.train, split.valid, split.test, split.excluded]
    joined = np.concatenate(parts)
    assert len(joined) == n and len(np.unique(joined)) == n  # every row exactly once
    for p in parts:
        assert p.dtype == np.int64 and np.all(np.diff(p) > 0)


def test_spec_parse_and_round_trip():
    assert SplitSpec.parse("random") == SplitSpec()
    assert SplitSpec.parse(" Random:unstratified ").stratify is False
    assert SplitSpec.parse("time:timestamp") == SplitSpec(method="time", column="timestamp")
    spec = SplitSpec.parse("group:Line: A", seed=5, train=0.8, valid=0.1, test=0.1)
    assert (spec.method, spec.column, spec.seed, spec.train) == ("group", "Line: A", 5, 0.8)
    assert SplitSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec
    assert spec.text == "group:Line: A" and SplitSpec().text == "random"
    for bad in ("shuffle", "time", "group:", "random:sometimes"):
        with pytest.raises(TrainingError):
            SplitSpec.parse(bad)
    with pytest.raises(TrainingError, match=r"add up to 1\.1"):
        SplitSpec(train=0.8, valid=0.15, test=0.15).check()
    with pytest.raises(TrainingError, match="positive"):
        SplitSpec(train=1.2, valid=-0.1, test=-0.1).check()
    with pytest.raises(TrainingError, match="malformed"):
        SplitSpec.from_dict({"train": "lots"})


def test_random_stratified_on_ai4i(ai4i):
    y = ai4i["Machine_failure"]
    split = make_split(ai4i, y, SplitSpec(seed=1), BINARY)
    _check_partition(split, len(ai4i))
    assert split.sizes == {"train": 7000, "valid": 1500, "test": 1500}
    positives = int(y.sum())
    for part in (split.train, split.valid, split.test):
        expected = positives * len(part) / len(y)
        assert abs(int(y.iloc[part].sum()) - expected) <= 1  # the 3.4 % failures in every part
    again = make_split(ai4i, y, SplitSpec(seed=1), BINARY)
    np.testing.assert_array_equal(again.test, split.test)
    other = make_split(ai4i, y, SplitSpec(seed=2), BINARY)
    assert not np.array_equal(other.test, split.test)


def test_random_multiclass_on_steel(steel_path):
    steel = pd.read_csv(steel_path)
    y = target_series(steel, find_onehot_groups(steel)[0])
    split = make_split(steel, y, SplitSpec(), MULTICLASS)
    _check_partition(split, len(steel))
    for part in (split.valid, split.test):
        assert y.iloc[part].nunique() == 7  # even Dirtiness (55 rows) is in every part


def test_random_regression_and_unstratified():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": rng.normal(size=100)})
    y = pd.Series(rng.normal(size=100), name="kwh")
    split = make_split(df, y, SplitSpec(train=0.6, valid=0.2, test=0.2), REGRESSION)
    _check_partition(split, 100)
    assert split.sizes == {"train": 60, "valid": 20, "test": 20}
    y_cls = pd.Series(["a"] * 98 + ["b"] * 2)
    unstrat = make_split(df, y_cls, SplitSpec(stratify=False, seed=4), BINARY)
    _check_partition(unstrat, 100)
    no_test = make_split(df, y, SplitSpec(train=0.8, valid=0.2, test=0.0), REGRESSION)
    assert len(no_test.test) == 0 and len(no_test.valid) == 20


def test_rows_without_target_are_excluded_with_a_note():
    df = pd.DataFrame({"x": np.arange(40.0)})
    y = pd.Series([0, 1] * 18 + [None] * 4, name="y", dtype=object)
    split = make_split(df, y, SplitSpec(), BINARY)
    _check_partition(split, 40)
    np.testing.assert_array_equal(split.excluded, [36, 37, 38, 39])
    assert "4 rows without a target value" in split.notes[0]


def test_time_split_keeps_the_future_out_and_ties_go_later():
    # 4 machines log at the same instant: 30 timestamps x 4 rows, shuffled in the file.
    stamps = np.repeat(pd.date_range("2026-03-02 06:00", periods=30, freq="10min"), 4)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(stamps))
    df = pd.DataFrame({"ts": stamps[order].astype(str), "x": np.arange(120.0)})
    last = int(np.flatnonzero(df["ts"] == df["ts"].max())[0])
    df.loc[last, "ts"] = None  # a reading without a time (from the end, so the ties below stay as built)
    y = pd.Series(rng.normal(size=120))
    split = make_split(df, y, SplitSpec.parse("time:ts"), REGRESSION)
    _check_partition(split, 120)
    np.testing.assert_array_equal(split.excluded, [last])
    assert "without a time" in split.notes[0]
    t = pd.to_datetime(df["ts"])
    assert t.iloc[split.train].max() < t.iloc[split.valid].min()
    assert t.iloc[split.valid].max() < t.iloc[split.test].min()
    # 119 usable rows: 83 would train, but the 84th row's timestamp is shared: all its rows move later.
    usable_times = np.sort(t.drop(index=last).to_numpy())
    assert len(split.train) == int((usable_times < usable_times[83]).sum()) == 80


def test_time_split_by_number_and_bad_columns():
    df = pd.DataFrame({"cycle": np.arange(50, 0, -1), "word": ["x"] * 50})
    y = pd.Series(np.arange(50.0))
    split = make_split(df, y, SplitSpec(method="time", column="cycle"), REGRESSION)
    assert df["cycle"].iloc[split.train].max() < df["cycle"].iloc[split.test].min()
    with pytest.raises(TrainingError, match="does not hold times") as err:
        make_split(df, y, SplitSpec(method="time", column="word"), REGRESSION)
    assert err.value.column == "word"
    with pytest.raises(TrainingError, match="not in the data"):
        make_split(df, y, SplitSpec(method="time", column="nope"), REGRESSION)
    same = pd.DataFrame({"ts": ["2026-01-01"] * 50})
    with pytest.raises(TrainingError, match="share the same time"):
        make_split(same, y, SplitSpec(method="time", column="ts"), REGRESSION)


def test_time_split_with_training_of_one_class():
    df = pd.DataFrame({"t": np.arange(40)})
    y = pd.Series([0] * 30 + [1] * 10, name="failure")
    with pytest.raises(TrainingError, match="only one class") as err:
        make_split(df, y, SplitSpec(method="time", column="t"), BINARY)
    assert err.value.column == "failure"


def test_group_split_keeps_each_group_in_one_part():
    rng = np.random.default_rng(3)
    batches = rng.choice([f"B{i:02d}" for i in range(25)], 500)
    df = pd.DataFrame({"batch": batches, "x": rng.normal(size=500)})
    df.loc[[0, 1, 2], "batch"] = None  # unknown batch: kept together as one group
    y = pd.Series(rng.integers(0, 2, 500))
    split = make_split(df, y, SplitSpec.parse("group:batch", seed=7), BINARY)
    _check_partition(split, 500)
    keys = df["batch"].fillna("?")
    sets = [set(keys.iloc[p]) for p in (split.train, split.valid, split.test)]
    assert not sets[0] & sets[1] and not sets[0] & sets[2] and not sets[1] & sets[2]
    assert sum(1 for s in sets if "?" in s) == 1
    assert all(len(s) >= 1 for s in sets)
    assert abs(len(split.train) / 500 - 0.7) < 0.1  # shares are met as closely as whole groups allow
    other = make_split(df, y, SplitSpec.parse("group:batch", seed=8), BINARY)
    assert not np.array_equal(other.test, split.test)


def test_group_split_with_few_groups():
    df = pd.DataFrame({"machine": ["M1"] * 30 + ["M2"] * 30, "x": np.arange(60.0)})
    y = pd.Series(np.arange(60.0))
    with pytest.raises(
        TrainingError, match="2 distinct values; a grouped split into 3 parts needs at least 3"
    ):
        make_split(df, y, SplitSpec(method="group", column="machine"), REGRESSION)
    ok = make_split(
        df, y, SplitSpec(method="group", column="machine", train=0.5, valid=0.5, test=0.0), REGRESSION
    )
    assert sorted([len(ok.train), len(ok.valid)]) == [30, 30] and len(ok.test) == 0
    three = pd.DataFrame({"machine": ["M1"] * 50 + ["M2"] * 5 + ["M3"] * 5})
    split = make_split(
        three, pd.Series(np.arange(60.0)), SplitSpec(method="group", column="machine", seed=0), REGRESSION
    )
    assert all(len(p) > 0 for p in (split.train, split.valid, split.test))


def test_too_few_rows():
    df = pd.DataFrame({"x": np.arange(8.0)})
    with pytest.raises(TrainingError, match="Too few rows for this split: 8 usable rows") as err:
        make_split(df, pd.Series(np.arange(8.0)), SplitSpec(), REGRESSION)
    assert "at least" in str(err.value) and str(MIN_TRAIN_ROWS) in str(err.value)


def test_class_too_small_for_stratified_split():
    df = pd.DataFrame({"x": np.arange(60.0)})
    y = pd.Series(["OK"] * 40 + ["NG"] * 18 + ["Crack"] * 2, name="result")
    with pytest.raises(TrainingError, match="'Crack' has 2 rows") as err:
        make_split(df, y, SplitSpec(), MULTICLASS)
    assert "unstratified" in str(err.value) and "Merge" in str(err.value)
    assert err.value.column == "result"
    split = make_split(df, y, SplitSpec(stratify=False), MULTICLASS)  # the suggested way out works
    _check_partition(split, 60)

    many = pd.Series([f"c{i % 9}" for i in range(40)])
    with pytest.raises(TrainingError, match="validation part would have 6 rows, fewer than the 9 classes"):
        make_split(pd.DataFrame({"x": np.arange(40.0)}), many, SplitSpec(), MULTICLASS)
