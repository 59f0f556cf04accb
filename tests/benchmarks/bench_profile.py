"""Profile and target analysis on 1,000,000 rows x 30 columns, against plain pandas summaries.

Run: python tests/benchmarks/bench_profile.py [ROWS]
Prints the seconds of each step and the ratio of the app's profile to the plain pandas calls that
compute a subset of the same numbers (describe + isna + nunique + duplicated), measured in one run.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd

from mfg_desktop.core.profile import analyze_target, profile_frame


def make_frame(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({f"sensor_{i:02d}": rng.normal(50, 5, n).round(3) for i in range(22)})
    df.insert(0, "timestamp", pd.date_range("2024-01-01", periods=n, freq="s"))
    df.insert(1, "row_id", np.arange(1, n + 1))
    df["machine_id"] = pd.Series(rng.choice([f"M{i:02d}" for i in range(12)], n), dtype="str")
    df["batch_id"] = pd.Series([f"B{i // 500:06d}" for i in range(n)], dtype="str")
    df["product_type"] = pd.Series(rng.choice(["L", "M", "H"], n), dtype="str")
    df["alarm"] = (rng.random(n) < 0.002).astype(int)
    df["operator_count"] = rng.integers(1, 4, n)
    risk = (df["sensor_00"] - 50) / 5 + rng.normal(0, 1, n)
    df["defect"] = (risk > 2.8).astype(int)
    return df


def timed(label: str, fn):
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    print(f"{label:<44} {seconds:7.2f} s")
    return result, seconds


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    df = make_frame(n)
    print(f"frame: {df.shape[0]:,} rows x {df.shape[1]} columns, "
          f"{df.memory_usage(deep=True).sum() / 2**20:.0f} MiB")

    def plain() -> None:
        df.describe(include="all")
        df.isna().sum()
        df.nunique()
        df.duplicated().sum()

    _, t_plain = timed("pandas describe+isna+nunique+duplicated", plain)
    profile, t_profile = timed("profile_frame", lambda: profile_frame(df))
    report, _ = timed("analyze_target(defect)", lambda: analyze_target(df, "defect", profile))
    print(f"ratio profile_frame / plain pandas: {t_profile / t_plain:.2f}")
    print(f"leak suspects: {[s.column for s in report.leak_suspects]}")


if __name__ == "__main__":
    main()
