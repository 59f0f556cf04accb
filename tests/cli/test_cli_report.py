"""`mfg-desktop report`: a model report with --data, a batch report from --predictions, clear errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from pypdf import PdfReader

from mfg_desktop import cli
from mfg_desktop.core.bundle import save_model_file
from mfg_desktop.core.network import preset
from mfg_desktop.core.recipe import propose_recipe
from mfg_desktop.core.split import SplitSpec
from mfg_desktop.core.train import train_run

LEAKS = ["UDI", "Product ID", "TWF", "HDF", "PWF", "OSF", "RNF"]
ROOT = Path(__file__).resolve().parents[2]


def pdf_text(path) -> str:
    return " ".join(" ".join(page.extract_text().split()) for page in PdfReader(str(path)).pages)


@pytest.fixture(scope="module")
def ai4i(ai4i_path) -> pd.DataFrame:
    return pd.read_csv(ai4i_path, encoding="utf-8-sig").iloc[:1500].reset_index(drop=True)


@pytest.fixture(scope="module")
def train_csv(ai4i, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("data") / "line3_train.csv"
    ai4i.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def model_path(ai4i, train_csv, tmp_path_factory) -> Path:
    frame = pd.read_csv(train_csv)  # the table as the file reads back, so its fingerprint matches
    recipe = propose_recipe(frame, "Machine_failure", exclude=LEAKS)
    run = train_run(frame, recipe, SplitSpec(), preset("fast").with_changes(epochs=2), seed=1,
                    data_files=[train_csv])
    return save_model_file(run, tmp_path_factory.mktemp("model") / "failure.mfgmodel")


def test_model_report_end_to_end_headless(model_path, train_csv, tmp_path):
    """A separate process without a display and without QT_QPA_PLATFORM: the CLI goes offscreen itself."""
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY")}
    env["PYTHONPATH"] = str(ROOT)
    out = tmp_path / "report.pdf"
    proc = subprocess.run(
        [sys.executable, "-m", "mfg_desktop.cli", "report", str(model_path), "--data", str(train_csv),
         "--out", str(out), "--plant", "苏州工厂", "--line", "L3", "--author", "QM", "--paper", "Letter"],
        capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().startswith(f"wrote {out} (") and "Letter" in proc.stdout
    text = pdf_text(out)
    for section in ("Data", "Preparation", "Model", "Training curves", "Evaluation", "Feature importance"):
        assert section in text
    assert "line3_train.csv" in text and "苏州工厂" in text
    assert "this is the file the model was trained on, so only its held-out test rows are used" in text
    # the numbers are those `mfg-desktop evaluate` prints for the same model and data
    ev = subprocess.run([sys.executable, "-m", "mfg_desktop.cli", "evaluate", str(model_path), str(train_csv),
                         "--json"], capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path, check=False)
    import json

    metrics = json.loads(ev.stdout)["metrics"]
    assert f"PR-AUC {metrics['pr_auc']:.4f}" in text and f"ROC-AUC {metrics['roc_auc']:.4f}" in text


def test_model_report_without_data_says_what_is_missing(model_path, tmp_path, qapp, capsys):
    """A model file without a stored evaluation (as files saved before it was stored)."""
    from mfg_desktop.core.bundle import load_model_file

    loaded = load_model_file(model_path)
    loaded.run.test_evaluation = None
    bare = save_model_file(loaded.run, tmp_path / "bare.mfgmodel")
    assert load_model_file(bare).stored_evaluation is None
    out = tmp_path / "plain.pdf"
    assert cli.main(["report", str(bare), "--out", str(out), "--sections", "data,model,evaluation"]) == 0
    text = pdf_text(out)
    assert "No data profile was given" in text and "has not been evaluated" in text
    assert "Training curves" not in text
    assert "wrote" in capsys.readouterr().out


def test_model_report_from_the_model_alone_has_the_evaluation_it_carries(model_path, train_csv, tmp_path, qapp,
                                                                          capsys):
    from mfg_desktop.core.bundle import load_model_file
    from mfg_desktop.core.evaluate import STORED_CURVE_POINTS, evaluate_model_file

    loaded = load_model_file(model_path)
    stored = loaded.stored_evaluation
    assert stored is not None and stored.n_rows == len(loaded.run.split_test)
    assert all(len(x) <= STORED_CURVE_POINTS for x, _ in [*stored.curves.roc.values(), *stored.curves.pr.values()])
    # the same numbers as evaluating the model file on its training file (its held-out test rows)
    fresh = evaluate_model_file(loaded, pd.read_csv(train_csv), data_files=[train_csv], importance=False,
                                baselines=False)
    assert stored.metrics["pr_auc"] == pytest.approx(fresh.metrics["pr_auc"], abs=1e-9)
    assert stored.confusion.counts.tolist() == fresh.confusion.counts.tolist()
    out = tmp_path / "alone.pdf"
    assert cli.main(["report", str(model_path), "--out", str(out)]) == 0
    text = pdf_text(out)
    assert "has not been evaluated" not in text and "Not evaluated on held-out test rows yet" not in text
    fingerprint = loaded.run.data_fingerprint["frame_sha256"][:12]
    assert (f"measured on the held-out test rows of line3_train.csv (table fingerprint {fingerprint})"
            in text)
    assert f"PR-AUC {fresh.metrics['pr_auc']:.4f}" in text
    for section in ("Metrics beside the baselines", "Threshold and cost", "Decision threshold", "ROC curve",
                    "Precision-recall curve", "Confusion matrix"):
        assert section in text, section


def test_batch_report_reads_the_summaries_predict_wrote(model_path, ai4i, tmp_path, qapp, capsys):
    inputs = tmp_path / "in"
    inputs.mkdir()
    ai4i.iloc[:300].to_csv(inputs / "batch_01.csv", index=False)
    ai4i.drop(columns=["Torque [Nm]"]).iloc[:40].to_csv(inputs / "batch_02.csv", index=False)
    out = tmp_path / "scored"
    assert cli.main(["predict", str(model_path), str(inputs), "--out", str(out)]) == 1  # one file rejected
    assert sorted(p.name for p in out.glob("*.summary.json")) == ["batch_01_scored.summary.json",
                                                                  "batch_02_scored.summary.json"]
    pdf = tmp_path / "batch.pdf"
    assert cli.main(["report", str(model_path), "--predictions", str(out), "--out", str(pdf)]) == 0
    text = pdf_text(pdf)
    assert "Batch scoring report" in text and "batch_01.csv scored 300 300 0" in text
    assert "batch_02.csv rejected" in text and "missing required column(s): 'Torque [Nm]'" in text
    # the flagged rows carry the identifiers kept in the scored file, beside the row numbers
    import json

    flagged = json.loads((out / "batch_01_scored.summary.json").read_text(encoding="utf-8"))["flagged_rows"]
    assert flagged["columns"][:3] == ["row", "UDI", "Product ID"] and flagged["rows"]
    row, udi, product = flagged["rows"][0][:3]
    assert (udi, product) == (int(ai4i["UDI"].iloc[row - 1]), ai4i["Product ID"].iloc[row - 1])
    table = text[text.find("First flagged rows"):]
    assert "(row: the data row in the file) row UDI Product ID prediction probability" in table
    assert f" {row} {udi:,} {product} 1 " in table


def test_clear_errors(model_path, tmp_path, qapp, capsys):
    assert cli.main(["report", str(model_path), "--out", str(tmp_path / "no" / "r.pdf")]) == 2
    assert "error: r.pdf: The folder to write the report into does not exist." in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cli.main(["report", str(model_path), "--predictions", str(empty), "--out", str(tmp_path / "r.pdf")]) == 2
    assert "no scoring summaries" in capsys.readouterr().err
    assert cli.main(["report", str(model_path), "--sections", "data,summary", "--out", str(tmp_path / "r.pdf")]) == 2
    assert "Unknown section(s) in --sections: summary" in capsys.readouterr().err
    assert not (tmp_path / "r.pdf").exists()
