"""`mfg-desktop train`: headless training with the window's defaults, writing the model file."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mfg_desktop import cli
from mfg_desktop.core.bundle import load_model_file


@pytest.fixture(scope="module")
def ai4i_slice(ai4i_path, tmp_path_factory) -> Path:
    """The first 1,500 rows of ai4i2020, written as the original is (UTF-8 with BOM, CRLF)."""
    lines = ai4i_path.read_bytes().split(b"\r\n")
    path = tmp_path_factory.mktemp("data") / "ai4i_slice.csv"
    path.write_bytes(b"\r\n".join(lines[:1501]) + b"\r\n")
    return path


def test_train_prints_epochs_and_writes_a_model(ai4i_slice, tmp_path, capsys):
    out = tmp_path / "failure.mfgmodel"
    rc = cli.main(["train", str(ai4i_slice), "--target", "Machine_failure", "--epochs", "2",
                   "--preset", "fast", "--out", str(out)])
    text = capsys.readouterr().out
    assert rc == 0, text
    lines = [line for line in text.splitlines() if line.startswith("epoch ")]
    assert len(lines) == 2
    assert re.match(r"epoch 1/2 \( *50%\)  loss \d+\.\d{4}  val_loss \d+\.\d{4}  val_accuracy \d\.\d{4}  "
                    r"(val_pr_auc \d\.\d{4}  )?\d+\.\d s  [\d,]+ samples/s", lines[0])
    assert lines[1].startswith("epoch 2/2 (100%)")
    # The window's defaults: leak suspects are left out, each with its reason.
    leaks = {m.group(1) for m in re.finditer(r"left out \(likely leak\): ([^:]+): \S", text)}
    assert {"PWF", "OSF", "UDI"} <= leaks
    assert f"saved {out}" in text

    model = load_model_file(out)
    assert model.run.network.epochs == 2 and model.run.network.hidden == [128, 128]
    inputs = model.run.recipe.inputs
    assert "Torque [Nm]" in inputs and not {"PWF", "OSF", "UDI"} & set(inputs)
    assert model.run.class_weights is not None  # 3 % failures: balanced weights by default
    assert model.run.data_fingerprint["files"][0]["name"] == "ai4i_slice.csv"


def test_exclude_derive_split_and_seed(ai4i_slice, tmp_path, capsys):
    out = tmp_path / "derived.mfgmodel"
    rc = cli.main([
        "train", str(ai4i_slice), "--target", "Machine_failure", "--epochs", "1", "--preset", "fast",
        "--exclude", "Type,Tool wear [min]", "--derive", 'dT = "Process temperature [K]" - "Air temperature [K]"',
        "--derive", 'power = "Torque [Nm]" * "Rotational speed [rpm]" * 2 * pi / 60',
        "--split", "time:UDI", "--seed", "4", "--class-weights", "off", "--out", str(out),
    ])
    text = capsys.readouterr().out
    assert rc == 0, text
    run = load_model_file(out).run
    assert {"dT", "power"} <= set(run.recipe.inputs)
    assert not {"Type", "Tool wear [min]"} & set(run.recipe.inputs)
    assert run.split_spec.method == "time" and run.split_spec.column == "UDI"
    # a time split: every training row comes before every test row
    assert run.split_train.max() < run.split_test.min()
    assert run.seed == 4 and run.class_weights is None
    frame = pd.read_csv(ai4i_slice, encoding="utf-8-sig")
    pred = load_model_file(out).predict_frame(frame.head(5))
    assert np.all((pred["p(1)"] >= 0) & (pred["p(1)"] <= 1))


@pytest.mark.parametrize("args, message", [
    (["--target", "No_such_column"], "No_such_column"),
    (["--target", "Machine_failure", "--exclude", "Nope"], "Nope"),
    (["--target", "Machine_failure", "--derive", 'x = "Torq" * 2'], "Torq"),
    (["--target", "Machine_failure", "--split", "sideways"], "split"),
    (["--target", "Machine_failure", "--epochs", "0"], "epochs"),
    (["--target", "Machine_failure", "--positive", "broken"], "'broken' is not a value of the target"),
])
def test_bad_arguments_give_one_clear_line(ai4i_slice, tmp_path, capsys, args, message):
    out = tmp_path / "never.mfgmodel"
    rc = cli.main(["train", str(ai4i_slice), *args, "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.startswith("error: ") and message in err and "Traceback" not in err
    assert not out.exists()


def test_unknown_preset_is_rejected_by_the_parser(ai4i_slice, tmp_path):
    with pytest.raises(SystemExit) as info:
        cli.main(["train", str(ai4i_slice), "--target", "Machine_failure", "--preset", "huge",
                  "--out", str(tmp_path / "m.mfgmodel")])
    assert info.value.code == 2


def test_model_choice_costs_and_the_reason_are_printed_and_stored(ai4i_slice, tmp_path, capsys):
    out = tmp_path / "trees.mfgmodel"
    rc = cli.main(["train", str(ai4i_slice), "--target", "Machine_failure", "--epochs", "1", "--preset", "fast",
                   "--model", "trees", "--cost-fn", "20", "--cost-fp", "1", "--out", str(out)])
    text = capsys.readouterr().out
    assert rc == 0, text
    assert not any(line.startswith("epoch ") for line in text.splitlines())  # no network trained
    assert "model: LightGBM trees (asked for)" in text
    run = load_model_file(out).run
    assert run.chosen == "trees" and run.model is None and run.costs == {"fn": 20.0, "fp": 1.0}
    assert f"threshold {run.threshold:.3f}: lowest cost on the validation rows (missed defect 20, false alarm 1)" \
        in text
    auto = tmp_path / "auto.mfgmodel"
    assert cli.main(["train", str(ai4i_slice), "--target", "Machine_failure", "--epochs", "1", "--preset", "fast",
                     "--out", str(auto)]) == 0
    text = capsys.readouterr().out
    run = load_model_file(auto).run
    assert "model: " + {"trees": "LightGBM trees", "network": "network"}[run.chosen] + \
        " (chosen by Auto on the validation rows)" in text
    assert f"  why: {run.choice_reason}" in text and "PR-AUC" in run.choice_reason
    assert cli.main(["train", str(ai4i_slice), "--target", "Machine_failure", "--cost-fn", "3",
                     "--out", str(tmp_path / "x.mfgmodel")]) == 2
    assert "--cost-fn and --cost-fp go together" in capsys.readouterr().err


def test_the_user_names_the_positive_class(ai4i_slice, tmp_path, capsys):
    """--positive 0 makes 'no failure' the outcome to detect (an odd choice, but the user's): the
    model's probability column and threshold are about it."""
    out = tmp_path / "positive.mfgmodel"
    rc = cli.main(["train", str(ai4i_slice), "--target", "Machine_failure", "--positive", "0", "--model", "trees",
                   "--preset", "fast", "--out", str(out)])
    assert rc == 0, capsys.readouterr().err
    from mfg_desktop.core.bundle import load_model_file

    run = load_model_file(out).run
    assert run.recipe.positive_class == 0 and run.classes == [1, 0]
