"""Issue 14: a model trained on several files scores a third one; every command keeps stderr empty.

Each command runs as a user runs it: ``python -m mfg_desktop ...`` in a fresh process, whose
stderr must be exactly empty on a CPU-only machine (no TensorFlow/absl/CUDA lines). ``--verbose``
shows what TensorFlow wrote while loading.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]


def turbine_year(year: int, rows: int = 240) -> pd.DataFrame:
    """A small gas-turbine emissions table (the shape of the UCI gt_20xx.csv files): NOX from ambient data."""
    rng = np.random.default_rng(year)
    at, ap = rng.normal(17, 7, rows), rng.normal(1013, 6, rows)
    ah, tit = rng.uniform(30, 100, rows), rng.normal(1080, 20, rows)
    nox = 70 - 0.8 * at + 0.1 * (ap - 1013) + 0.05 * ah - 0.02 * (tit - 1080) + rng.normal(0, 2, rows)
    return pd.DataFrame({"AT": at.round(3), "AP": ap.round(2), "AH": ah.round(2), "TIT": tit.round(1),
                         "NOX": nox.round(3)})


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    # the caller's environment, as a user has it: no TF_CPP_MIN_LOG_LEVEL of ours
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "ABSL_"))}
    env.update(PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen")
    return subprocess.run([sys.executable, "-m", "mfg_desktop", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("turbine")
    for year in (2011, 2012, 2013):
        turbine_year(year).to_csv(folder / f"gt_{year}.csv", index=False)
    return folder


@pytest.fixture(scope="module")
def trained(folder) -> subprocess.CompletedProcess:
    return cli("train", "gt_2011.csv", "gt_2012.csv", "--target", "NOX", "--epochs", "1", "--preset", "fast",
               "--out", "nox.mfgmodel", cwd=folder)


def test_train_on_two_files_leaves_source_file_out_quietly(trained):
    assert trained.returncode == 0, trained.stderr
    assert trained.stderr == ""
    inputs = next(line for line in trained.stdout.splitlines() if "inputs (" in line)
    assert inputs.endswith("inputs (4): AT, AP, AH, TIT")  # not source_file
    assert "left out (provenance (where or when the row was recorded)): source_file" in trained.stdout


def test_the_model_scores_a_third_file_and_evaluates_on_it_quietly(trained, folder):
    assert trained.returncode == 0, trained.stderr
    predicted = cli("predict", "nox.mfgmodel", "gt_2013.csv", "--out", "scored", cwd=folder)
    assert (predicted.returncode, predicted.stderr) == (0, ""), predicted.stderr
    assert "gt_2013.csv: scored 240 of 240 rows" in predicted.stdout
    scored = pd.read_csv(folder / "scored" / "gt_2013_scored.csv", encoding="utf-8-sig")
    assert scored["prediction"].notna().all() and len(scored) == 240
    evaluated = cli("evaluate", "nox.mfgmodel", "gt_2013.csv", cwd=folder)
    assert (evaluated.returncode, evaluated.stderr) == (0, ""), evaluated.stderr
    assert "rows used: 240" in evaluated.stdout


def test_profile_is_quiet_and_loads_no_tensorflow(folder):
    code = ("import sys, runpy; sys.argv = ['mfg-desktop', 'profile', 'gt_2013.csv']\n"
            "try:\n    runpy.run_module('mfg_desktop', run_name='__main__')\n"
            "finally:\n    print(sorted(m for m in ('tensorflow', 'keras', 'sklearn') if m in sys.modules))\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=folder, env={**os.environ, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True, timeout=120, check=False)
    assert (proc.returncode, proc.stderr) == (0, ""), proc.stderr
    assert proc.stdout.rstrip().splitlines()[-1] == "[]"
    assert "rows: 240" in proc.stdout


def test_verbose_shows_what_tensorflow_wrote(trained, folder):
    """The report's architecture table builds the Keras model, so TensorFlow loads: with --verbose
    its start-up lines are shown, without it they are not."""
    assert trained.returncode == 0, trained.stderr
    proc = cli("--verbose", "report", "nox.mfgmodel", "--sections", "model", "--out", "r.pdf", cwd=folder)
    assert proc.returncode == 0, proc.stderr
    assert any(marker in proc.stderr for marker in ("absl", "TensorFlow", "cuda", "oneDNN")), proc.stderr


def test_include_names_an_existing_column(folder):
    proc = cli("train", "gt_2011.csv", "--target", "NOX", "--include", "Serial", "--out", "x.mfgmodel", cwd=folder)
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("error: column 'Serial': The column to include is not in the data. "
                                   "Check the spelling; names are case-sensitive.")
