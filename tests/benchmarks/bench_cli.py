"""Benchmark: how long `profile`, `predict` and `evaluate` of a small file take, today's code against this one.

Each command runs in a fresh process (what a user waits for: interpreter start, imports, work),
REPEATS times, for two checkouts side by side:

1. *before*: the code at git revision BASE (default: the commit before the NumPy forward pass and
   the lazy imports), exported with ``git archive`` into a temporary folder;
2. *now*: this working tree.

Both score the same model file (trained once by the *before* code, so both can read it) on the
first 500 rows of ai4i2020. Prints the median seconds per command, the ratio before/now, and
whether the command loaded TensorFlow. Issue 14's target: <= 3 s each on a 2-core PC.
Run: ``python tests/benchmarks/bench_cli.py [BASE] [REPEATS]`` (about a minute or two).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BASE = sys.argv[1] if len(sys.argv) > 1 else "a18aef0"
REPEATS = int(sys.argv[2]) if len(sys.argv) > 2 else 3
ROWS = 500
LEAKS = "UDI,Product ID,TWF,HDF,PWF,OSF,RNF"
# Prints, after the command, whether TensorFlow was imported by it.
PROBE = ("import sys, runpy; sys.argv = ['mfg-desktop', *sys.argv[1:]]\n"
         "try:\n    runpy.run_module('mfg_desktop', run_name='__main__')\n"
         "finally:\n    print('TF' if 'tensorflow' in sys.modules else 'noTF', file=sys.__stderr__)\n")


def export(revision: str, into: Path) -> Path:
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision, "mfg_desktop"], check=True,
                             capture_output=True).stdout
    tar = into / "base.tar"
    tar.write_bytes(archive)
    with tarfile.open(tar) as tf:
        tf.extractall(into / "base", filter="data")
    return into / "base"


def run(code_root: Path, args: list[str], cwd: Path) -> tuple[float, bool, subprocess.CompletedProcess]:
    env = {**os.environ, "PYTHONPATH": str(code_root), "TF_CPP_MIN_LOG_LEVEL": "2"}
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=cwd, env=env, capture_output=True, text=True,
                          check=False)
    seconds = time.perf_counter() - t0
    if proc.returncode not in (0, 3):
        raise SystemExit(f"{' '.join(args)} failed with {proc.returncode} under {code_root}:\n{proc.stderr[-2000:]}")
    return seconds, proc.stderr.rstrip().splitlines()[-1] == "TF", proc


def main() -> None:
    import pandas as pd

    with tempfile.TemporaryDirectory(prefix="bench_cli_") as tmp_name:
        tmp = Path(tmp_name)
        before = export(BASE, tmp)
        frame = pd.read_csv(ROOT / "tests" / "data" / "ai4i2020.csv", encoding="utf-8-sig")
        frame.iloc[:4000].to_csv(tmp / "train.csv", index=False)
        frame.iloc[4000:4000 + ROWS].to_csv(tmp / "small.csv", index=False)
        print(f"training the model once with the code at {BASE} ...", flush=True)
        run(before, ["train", "train.csv", "--target", "Machine_failure", "--exclude", LEAKS, "--epochs", "2",
                     "--preset", "fast", "--out", "model.mfgmodel"], tmp)
        commands = {
            "profile": ["profile", "small.csv"],
            "predict": ["predict", "model.mfgmodel", "small.csv", "--out", "scored"],
            "evaluate": ["evaluate", "model.mfgmodel", "small.csv"],
        }
        print(f"\n{ROWS} rows, median of {REPEATS} fresh processes each, {os.cpu_count()} cores")
        print(f"{'command':<10}{'before (s)':>12}{'now (s)':>10}{'ratio':>8}   TensorFlow before/now")
        for name, args in commands.items():
            results = {}
            for label, code in (("before", before), ("now", ROOT)):
                times, tf_loaded = [], False
                for _ in range(REPEATS):
                    seconds, tf_loaded, _ = run(code, args, tmp)
                    times.append(seconds)
                results[label] = (statistics.median(times), tf_loaded)
            (b, tf_b), (n, tf_n) = results["before"], results["now"]
            print(f"{name:<10}{b:>12.2f}{n:>10.2f}{b / n:>7.1f}x   {'yes' if tf_b else 'no'}/{'yes' if tf_n else 'no'}",
                  flush=True)


if __name__ == "__main__":
    main()
