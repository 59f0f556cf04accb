"""The bundled demo data is reproducible from its script and looks like a real line."""

from __future__ import annotations

import importlib.util

import pandas as pd

from mfg_desktop.resources import resource_path, sample_data_path


def _generator():
    spec = importlib.util.spec_from_file_location("generate_sample", resource_path("sample", "generate_sample.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_sample_equals_generator_output(tmp_path):
    out = tmp_path / "sample.csv"
    _generator().write_sample(out)
    assert out.read_bytes() == sample_data_path().read_bytes()


def test_sample_has_machines_time_drift_missing_and_rare_sensor_driven_defects():
    data = pd.read_csv(sample_data_path(), parse_dates=["timestamp"])
    assert sorted(data["machine_id"].unique()) == ["M01", "M02", "M03", "M04"]
    assert data["timestamp"].is_monotonic_increasing
    assert 0.01 < data["defect"].mean() < 0.06
    assert data[["torque_nm", "vibration_mm_s", "coolant_flow_l_min"]].isna().any().all()
    # slow drift: the coolant flow of every machine falls from the first to the last day
    first = data[data["timestamp"] < data["timestamp"].min() + pd.Timedelta(days=1)]
    last = data[data["timestamp"] > data["timestamp"].max() - pd.Timedelta(days=1)]
    drop = first.groupby("machine_id")["coolant_flow_l_min"].mean() - last.groupby("machine_id")["coolant_flow_l_min"].mean()
    assert (drop > 0.3).all()
    # defects depend on the sensors: hot spindles fail far more often than cool ones
    hot = data["spindle_temp_c"] > data["spindle_temp_c"].quantile(0.9)
    assert data.loc[hot, "defect"].mean() > 3 * data.loc[~hot, "defect"].mean()


def test_demo_histories_equal_generator_output_and_run_to_failure(tmp_path):
    written = _generator().write_histories(tmp_path)
    for path in written:
        assert path.read_bytes() == resource_path("sample", path.name).read_bytes(), path.name
    assert sum(p.stat().st_size for p in resource_path("sample").glob("*.csv")) < 2_000_000
    histories = pd.read_csv(written[0], parse_dates=["timestamp"])
    log = pd.read_csv(written[1], parse_dates=["failed_at", "repaired_at"])
    assert histories["pump_id"].nunique() == len(log) >= 10 and log["pump_id"].is_unique
    assert set(log["failure_mode"]) == {"bearing", "seal"} and (log["repaired_at"] > log["failed_at"]).all()
    last = histories.groupby("pump_id")["timestamp"].max()
    assert (last == log.set_index("pump_id")["failed_at"]).all()  # each history ends at its failure
    # the logger misses hours: the hour counter skips now and then
    assert (histories.groupby("pump_id")["hour"].diff().dropna() > 1).sum() > 20
    # degradation: bearing pumps vibrate more in their last tenth than in their first half
    modes = histories["pump_id"].map(log.set_index("pump_id")["failure_mode"])
    life = histories.groupby("pump_id")["hour"].transform("max")
    bearing = histories[modes == "bearing"]
    late = bearing["hour"] > 0.9 * life[modes == "bearing"]
    early = bearing["hour"] < 0.5 * life[modes == "bearing"]
    assert bearing.loc[late, "vibration_mm_s"].mean() > bearing.loc[early, "vibration_mm_s"].mean() + 1.5
    seal = histories[modes == "seal"]
    seal_late = seal["hour"] > 0.9 * life[modes == "seal"]
    assert seal.loc[seal_late, "outlet_pressure_bar"].mean() < seal.loc[~seal_late, "outlet_pressure_bar"].mean() - 0.5
