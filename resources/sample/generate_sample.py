"""Generate the bundled demo dataset ``line_sensors.csv`` deterministically.

A milling line with four machines logging every 10 minutes for two weeks: slow sensor drift
(tool wear and a cooling loss that grows between maintenance stops), a few missing readings,
and rare defects that depend on the sensors (hot spindle under high torque, worn tools,
vibration bursts). Run ``python resources/sample/generate_sample.py`` to rebuild it;
a test checks that the committed file equals this script's output.

It also makes the sensor-history demo: ``pump_histories.csv``, hourly readings of twelve
coolant pumps each run until it failed (bearing wear raises the vibration and the bearing
temperature, a clogging seal lowers the outlet pressure; the logger misses an hour now and
then), and ``maintenance_log.csv``, one row per pump with its failure and repair times and the
failure mode, to try remaining-life labels, the join of a second table and resampling.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

SEED = 20261128
MACHINES = ("M01", "M02", "M03", "M04")
START = "2026-03-02 06:00"
PERIODS = 2016  # 14 days at 10-minute intervals per machine


def make_sample(seed: int = SEED) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frames = []
    for m, machine in enumerate(MACHINES):
        n = PERIODS
        t = np.arange(n)
        stamps = pd.date_range(START, periods=n, freq="10min")
        # tool changed every 3 days: wear ramps then resets
        tool_wear = (t % 432) * 0.5 + rng.normal(0, 2, n)
        drift = 0.0004 * t * (1 + 0.5 * m)  # cooling loss growing slowly over two weeks
        product = rng.choice(["A", "B", "C"], size=n, p=[0.5, 0.3, 0.2])
        speed = rng.normal(1500 + 40 * m, 60, n) + np.where(product == "C", 150, 0)
        torque = rng.normal(40, 6, n) + np.where(product == "B", 5, 0) + 0.02 * tool_wear
        ambient = 22 + 3 * np.sin(2 * np.pi * t / 144) + rng.normal(0, 0.4, n)
        temperature = ambient + 30 + 0.12 * torque + 4 * drift + rng.normal(0, 0.8, n)
        vibration = np.abs(rng.normal(2.0 + 0.004 * tool_wear, 0.35, n))
        bursts = rng.random(n) < 0.01
        vibration[bursts] += rng.uniform(2, 5, bursts.sum())
        pressure = rng.normal(6.0, 0.15, n) - 0.5 * drift
        coolant = rng.normal(12.0, 0.6, n) - 3 * drift
        energy = speed * torque * 2 * np.pi / 60 / 1000 * (10 / 60) * rng.normal(1.0, 0.03, n)

        risk = (
            -5.0
            + 0.9 * np.clip(temperature - 62, 0, None)
            + 0.012 * np.clip(tool_wear - 150, 0, None)
            + 1.3 * np.clip(vibration - 3.2, 0, None)
            + 0.08 * np.clip(torque - 50, 0, None)
        )
        defect = (rng.random(n) < 1 / (1 + np.exp(-risk))).astype(int)

        frames.append(
            pd.DataFrame(
                {
                    "timestamp": stamps.strftime("%Y-%m-%d %H:%M:%S"),
                    "machine_id": machine,
                    "batch_id": [f"B{m + 1}{i // 36:04d}" for i in range(n)],
                    "product_type": product,
                    "spindle_speed_rpm": speed.round(0),
                    "torque_nm": torque.round(2),
                    "spindle_temp_c": temperature.round(2),
                    "ambient_temp_c": ambient.round(2),
                    "vibration_mm_s": vibration.round(3),
                    "coolant_pressure_bar": pressure.round(3),
                    "coolant_flow_l_min": coolant.round(2),
                    "tool_wear_min": np.clip(tool_wear, 0, None).round(1),
                    "energy_kwh": energy.round(4),
                    "defect": defect,
                }
            )
        )
    data = pd.concat(frames, ignore_index=True).sort_values(["timestamp", "machine_id"], kind="stable")
    data = data.reset_index(drop=True)
    # sensors drop out now and then
    for column, share in (("vibration_mm_s", 0.012), ("coolant_flow_l_min", 0.008), ("torque_nm", 0.004)):
        holes = rng.random(len(data)) < share
        data[column] = data[column].astype(float).where(~holes)
    return data


def write_sample(path: Path) -> None:
    make_sample().to_csv(path, index=False, lineterminator="\n")


PUMPS = tuple(f"P{i:02d}" for i in range(1, 13))
HISTORY_START = "2026-01-05 00:00"
HISTORY_FILES = ("pump_histories.csv", "maintenance_log.csv")


def make_histories(seed: int = SEED) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run-to-failure histories of the pumps (one row per logged hour) and the maintenance log."""
    rng = np.random.default_rng(seed + 1)
    frames, log_rows = [], []
    start = pd.Timestamp(HISTORY_START)
    for p, pump in enumerate(PUMPS):
        life = int(rng.integers(120, 320))  # operating hours until the failure
        mode = "bearing" if p % 3 != 2 else "seal"
        hours = np.arange(life)
        # wear stays hidden in the noise for most of the life, then grows fast (as bearings do)
        onset = rng.uniform(0.35, 0.6) * life
        wear = np.clip((hours - onset) / (life - onset), 0, None) ** 2
        bearing, seal = (wear, 0.25 * wear) if mode == "bearing" else (0.25 * wear, wear)
        load = rng.normal(70 + 3 * (p % 4), 4, life)
        vibration = np.abs(rng.normal(1.8 + 3.5 * bearing + 0.01 * load, 0.25, life))
        temperature = 48 + 0.15 * load + 14 * bearing + rng.normal(0, 0.9, life)
        pressure = 4.2 - 1.3 * seal + rng.normal(0, 0.06, life)
        current = 11 + 0.05 * load + 1.5 * seal + rng.normal(0, 0.2, life)
        stamps = start + pd.to_timedelta(hours, unit="h") + pd.to_timedelta(rng.integers(0, 90, life), unit="s")
        logged = rng.random(life) > 0.03  # the logger misses an hour now and then
        logged[[0, -1]] = True
        frames.append(pd.DataFrame({
            "timestamp": stamps.strftime("%Y-%m-%d %H:%M:%S"),
            "pump_id": pump,
            "hour": hours,
            "load_pct": load.round(1),
            "vibration_mm_s": vibration.round(3),
            "bearing_temp_c": temperature.round(2),
            "outlet_pressure_bar": pressure.round(3),
            "motor_current_a": current.round(2),
        })[logged])
        failed = stamps[-1]
        log_rows.append({"pump_id": pump, "failed_at": failed.strftime("%Y-%m-%d %H:%M:%S"),
                         "repaired_at": (failed + pd.Timedelta(hours=float(rng.uniform(3, 30)))).strftime(
                             "%Y-%m-%d %H:%M:%S"),
                         "failure_mode": mode})
        start = failed + pd.Timedelta(days=2)  # the next pump's history starts after this one
    return pd.concat(frames, ignore_index=True), pd.DataFrame(log_rows)


def write_histories(folder: Path) -> list[Path]:
    """Write the pump histories and the maintenance log into ``folder``; their paths."""
    histories, log = make_histories()
    paths = [folder / name for name in HISTORY_FILES]
    for frame, path in zip((histories, log), paths, strict=True):
        frame.to_csv(path, index=False, lineterminator="\n")
    return paths


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("line_sensors.csv")
    write_sample(out)
    print(f"wrote {out}")
    for path in write_histories(out.parent):
        print(f"wrote {path}")
