"""`mfg-desktop predict`: per-file summaries on stdout, exit status, folders, and --watch."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mfg_desktop import cli
from mfg_desktop.core.bundle import save_model_file
from mfg_desktop.core.network import preset
from mfg_desktop.core.recipe import propose_recipe
from mfg_desktop.core.split import SplitSpec
from mfg_desktop.core.train import train_run

LEAKS = ["UDI", "Product ID", "TWF", "HDF", "PWF", "OSF", "RNF"]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def ai4i(ai4i_path) -> pd.DataFrame:
    return pd.read_csv(ai4i_path, encoding="utf-8-sig").sample(frac=1.0, random_state=0).reset_index(drop=True)


@pytest.fixture(scope="module")
def run(ai4i):
    train = ai4i.iloc[:2000]
    recipe = propose_recipe(train, "Machine_failure", exclude=LEAKS)
    return train_run(train, recipe, SplitSpec(), preset("fast").with_changes(epochs=2), seed=1)


@pytest.fixture(scope="module")
def model_path(run, tmp_path_factory) -> Path:
    return save_model_file(run, tmp_path_factory.mktemp("model") / "failure.mfgmodel")


@pytest.fixture
def batch(ai4i, tmp_path) -> Path:
    path = tmp_path / "in" / "batch_07.csv"
    path.parent.mkdir()
    ai4i.iloc[4000:4500].to_csv(path, index=False)
    return path


def test_scores_a_file_and_prints_its_summary(model_path, batch, run, tmp_path, capsys):
    rc = cli.main(["predict", str(model_path), str(batch), "--out", str(tmp_path / "out")])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert captured.err == ""  # quiet: the model card is part of the answer, on stdout
    card, _, summary = captured.out.partition("\nbatch_07.csv: ")
    assert card.startswith(f"model: {model_path}") and "task: binary, target 'Machine_failure'" in card
    assert summary.startswith(f"scored 500 of 500 rows -> {tmp_path / 'out' / 'batch_07_scored.csv'}")
    assert "predicted: 0: " in captured.out and f"flagged (p(1) >= {run.threshold:.3f})" in captured.out
    # the CLI's scores are the in-memory model's, on the same rows
    out = pd.read_csv(tmp_path / "out" / "batch_07_scored.csv", encoding="utf-8-sig")
    frame = pd.read_csv(batch)
    np.testing.assert_allclose(out["probability"].to_numpy(),  # NumPy forward pass against Keras
                               run.predict_matrix(run.fitted.transform(frame))[:, 1], rtol=1e-5, atol=1e-6)


def test_exit_status_tells_rejected_files_and_rejected_rows(model_path, batch, ai4i, tmp_path, capsys):
    wrong = tmp_path / "in" / "wrong.csv"
    ai4i.iloc[:50].drop(columns=["Torque [Nm]"]).to_csv(wrong, index=False)
    rc = cli.main(["predict", str(model_path), str(batch), str(wrong), "--out", str(tmp_path / "out")])
    text = capsys.readouterr().out
    assert rc == 1
    assert "wrong.csv: REJECTED, nothing scored" in text and "missing required column(s): 'Torque [Nm]'" in text
    assert "batch_07.csv: scored 500 of 500 rows" in text

    typo = tmp_path / "in" / "typo.csv"
    frame = ai4i.iloc[:50].astype({"Torque [Nm]": object})
    frame.loc[3, "Torque [Nm]"] = "4O.2"
    frame.to_csv(typo, index=False)
    rc = cli.main(["predict", str(model_path), str(typo), "--out", str(tmp_path / "out2")])
    text = capsys.readouterr().out
    assert rc == 3
    assert "typo.csv: scored 49 of 50 rows (1 rejected)" in text and "e.g. '4O.2'" in text


def test_a_folder_and_a_bad_model_file(model_path, batch, tmp_path, capsys):
    rc = cli.main(["predict", str(model_path), str(batch.parent), "--out", str(tmp_path / "out"), "--format", "xlsx"])
    assert rc == 0
    assert (tmp_path / "out" / "batch_07_scored.xlsx").is_file()
    capsys.readouterr()
    fake = tmp_path / "fake.mfgmodel"
    fake.write_text("not a model", encoding="utf-8")
    rc = cli.main(["predict", str(fake), str(batch), "--out", str(tmp_path / "out")])
    assert rc == 2 and "not an mfg_desktop model file" in capsys.readouterr().err


def test_watch_scores_new_files_until_stopped(model_path, ai4i, tmp_path):
    line, out = tmp_path / "line", tmp_path / "scored"
    line.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "mfg_desktop", "predict", str(model_path), str(line), "--out", str(out),
         "--watch", "--poll", "0.2", "--stable", "0.5"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT,
    )
    try:
        ai4i.iloc[:300].to_csv(line / "dropped.csv", index=False)
        deadline = time.monotonic() + 120
        while not (out / "dropped_scored.csv").exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
        assert (out / "dropped_scored.csv").exists(), proc.stderr.read() if proc.poll() is not None else ""
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, stderr
    assert stdout.count("dropped.csv: scored 300 of 300 rows") == 1
    assert "stopping" in stderr
