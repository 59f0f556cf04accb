"""Irregular timestamps on a fixed step per entity: what each step holds, the gap rule, causality,
and the same resampling in training and in scoring (CLI)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mfg_desktop import cli
from mfg_desktop.core.bundle import load_model_file
from mfg_desktop.core.errors import DataError, MfgError
from mfg_desktop.core.history import GAP_COLUMN, HistorySpec, prepare_training, resample_history

STAMPS = ["2026-01-01 00:00:03", "2026-01-01 00:00:07", "2026-01-01 00:00:12", "2026-01-01 00:00:41",
          "2026-01-01 00:01:35", "2026-01-01 00:00:05", "2026-01-01 00:00:26"]


def logged() -> pd.DataFrame:
    """Machine A: two readings in one step, a 2-step gap, a 4-step gap; machine B interleaved."""
    order = [0, 5, 1, 2, 6, 3, 4]  # the log lists both machines by time
    return pd.DataFrame({
        "machine": [(["A"] * 5 + ["B"] * 2)[i] for i in order],
        "time": [STAMPS[i] for i in order],
        "temp": [[1.0, 3, 5, 7, 9, 10, 20][i] for i in order],
        "mode": [list("aabbcxy")[i] for i in order],
    })


def spec(**changes) -> HistorySpec:
    return HistorySpec(**{"entity": "machine", "order": "time", "resample": "10s", "max_gap": 3,
                          "windows": "none", **changes})


def test_each_step_holds_the_readings_of_the_step_ending_there_and_short_gaps_only_are_filled():
    out = resample_history(logged(), spec())
    a = out[out["machine"] == "A"]
    assert a["time"].dt.strftime("%H:%M:%S").tolist() == ["00:00:10", "00:00:20", "00:00:30", "00:00:40",
                                                          "00:00:50", "00:01:00", "00:01:10", "00:01:20",
                                                          "00:01:30", "00:01:40"]
    # 00:00:10 averages the readings at 3 s and 7 s; 20 s holds the one at 12 s; 30 s and 40 s are a
    # gap of two steps: the last reading carried; 50 s holds 41 s
    assert a["temp"].tolist()[:5] == [2.0, 5.0, 5.0, 5.0, 7.0]
    assert a["mode"].tolist()[:5] == ["a", "b", "b", "b", "b"]
    # 1:00 .. 1:30 is a gap of four steps, longer than max_gap 3: left missing, flagged
    assert a["temp"].iloc[5:9].isna().all() and a[GAP_COLUMN].tolist() == [False] * 5 + [True] * 4 + [False]
    assert a["temp"].iloc[9] == 9.0
    b = out[out["machine"] == "B"]
    assert b["temp"].tolist() == [10.0, 10.0, 20.0] and not b[GAP_COLUMN].any()
    # with a longer allowance the same gap is filled from the last reading
    wide = resample_history(logged(), spec(max_gap=4))
    assert wide.loc[wide["machine"] == "A", "temp"].iloc[5:9].tolist() == [7.0] * 4
    assert not wide[GAP_COLUMN].any()


def test_resampling_is_causal():
    base = resample_history(logged(), spec())
    later = logged()
    later.loc[later["time"] > "2026-01-01 00:00:20", "temp"] = 999.0
    moved = resample_history(later, spec())
    early = base["time"] <= pd.Timestamp("2026-01-01 00:00:20")
    pd.testing.assert_frame_equal(moved[early], base[early])


def test_resampling_problems_say_what_to_do():
    with pytest.raises(MfgError, match="'10 parsecs' is not a time step"):
        spec(resample="10 parsecs").check()
    with pytest.raises(MfgError, match="needs the order column that holds the timestamps"):
        HistorySpec(entity="machine", resample="10s").check()
    cycles = pd.DataFrame({"machine": ["A"] * 4, "cycle": [1, 2, 3, 4], "temp": [1.0, 2, 3, 4]})
    with pytest.raises(DataError, match="needs timestamps in the order column; it holds numbers"):
        resample_history(cycles, spec(order="cycle"))


def irregular(n_machines: int, seed: int) -> pd.DataFrame:
    """Machines logging every ~60 s with jitter, run to failure, each with a logger outage."""
    rng = np.random.default_rng(seed)
    parts = []
    for m in range(n_machines):
        n = int(rng.integers(50, 80))
        seconds = np.cumsum(rng.uniform(40, 80, n))
        seconds[n // 2:] += 600  # ten minutes without readings
        wear = np.linspace(0, 1, n) ** 2
        parts.append(pd.DataFrame({
            "machine": f"M{m:02d}",
            "time": (pd.Timestamp("2026-02-01") + pd.to_timedelta(seconds.round(), unit="s")).strftime(
                "%Y-%m-%d %H:%M:%S"),
            "vibration": 1 + 3 * wear + rng.normal(0, 0.1, n), "current": rng.normal(10, 0.5, n)}))
    return pd.concat(parts, ignore_index=True)


def test_training_and_scoring_resample_alike(tmp_path, capsys):
    data = tmp_path / "log.csv"
    irregular(8, 0).to_csv(data, index=False)
    training = prepare_training(pd.read_csv(data), spec(order="time", resample="1min", label="rul",
                                                        windows="minimal", sizes=(5, 10)))
    assert GAP_COLUMN in training.not_inputs and training.frame[GAP_COLUMN].any()
    # one row per step: windows count steps (rows), not seconds
    assert "vibration mean10" in training.frame.columns and "vibration mean10s" not in training.frame.columns
    model = tmp_path / "m.mfgmodel"
    rc = cli.main(["train", str(data), "--entity", "machine", "--order", "time", "--rul", "--resample", "1min",
                   "--max-gap", "2", "--window-sizes", "5,10", "--epochs", "2", "--preset", "fast",
                   "--model", "network", "--out", str(model)])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "resampled to 1min (gaps up to 2 steps filled)" in out and GAP_COLUMN not in out.split("inputs")[1]
    assert load_model_file(model).run.history_spec["resample"] == "1min"
    new = tmp_path / "new.csv"
    irregular(1, 5).to_csv(new, index=False)
    rc = cli.main(["predict", str(model), str(new), "--out", str(tmp_path / "scored")])
    assert rc == 0, capsys.readouterr()
    scored = pd.read_csv(tmp_path / "scored" / "new_scored.csv", parse_dates=["time"])
    steps = scored["time"].diff().dropna()
    assert (steps == pd.Timedelta(minutes=1)).all()  # one row per step
    assert scored[GAP_COLUMN].sum() >= 7 and scored["prediction"].notna().all()


def test_max_gap_needs_resample(tmp_path, capsys):
    logged().to_csv(tmp_path / "x.csv", index=False)
    rc = cli.main(["train", str(tmp_path / "x.csv"), "--entity", "machine", "--max-gap", "2", "--out",
                   str(tmp_path / "m")])
    assert rc == 2 and "--max-gap goes with --resample STEP." in capsys.readouterr().err
