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
