"""`mfg-desktop evaluate MODEL DATA... [--json]`: the held-out numbers, baselines and importance."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from mfg_desktop import cli
from mfg_desktop.core.bundle import load_model_file, save_model_file
from mfg_desktop.core.evaluate import evaluate_model_file
from mfg_desktop.core.ingest import load_files
from mfg_desktop.core.network import NetworkSpec
from mfg_desktop.core.recipe import propose_recipe
from mfg_desktop.core.split import SplitSpec
from mfg_desktop.core.train import train_run

TINY = NetworkSpec(hidden=[32, 32], epochs=3, batch_size=128, n_bins=8, embedding_dim=4)


@pytest.fixture(scope="module")
def trained(ai4i_path, tmp_path_factory) -> tuple[Path, Path, Path]:
    """(model, the 3,000-row file it was trained on, a labelled file of 600 other rows)."""
    folder = tmp_path_factory.mktemp("cli_eval")
    lines = ai4i_path.read_bytes().split(b"\r\n")
    data = folder / "ai4i_train.csv"
    data.write_bytes(b"\r\n".join(lines[:3001]) + b"\r\n")
    other = folder / "ai4i_new.csv"
    other.write_bytes(b"\r\n".join([lines[0], *lines[6001:6601]]) + b"\r\n")
    frame = load_files([data]).frame
    recipe = propose_recipe(frame, "Machine_failure", exclude=["UDI", "Product ID", "TWF", "HDF", "PWF", "OSF", "RNF"])
    run = train_run(frame, recipe, SplitSpec(), TINY, seed=0, data_files=[data])
    return save_model_file(run, folder / "failure.mfgmodel"), data, other


def _json(capsys, *args: str) -> dict:
    rc = cli.main(["evaluate", *map(str, args), "--json"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    return json.loads(out.out)


def test_json_on_the_training_file_uses_its_test_rows(trained, capsys):
    model, data, _ = trained
    d = _json(capsys, model, data)
    run = load_model_file(model).run
    assert d["task"] == "binary" and d["rows_used"] == len(run.split_test) == 450
    assert d["rows_source"] == "test" and "only its held-out test rows" in d["note"]
    assert {"accuracy", "balanced_accuracy", "f1", "roc_auc", "pr_auc"} <= set(d["metrics"])
    assert set(d["baselines"]) == {"HistGradientBoosting", "trivial"}
    assert set(d["baselines"]["trivial"]) == set(d["metrics"])
    # Auto chose the threshold on the validation rows (F1, no costs given), stored with 3 decimals
    assert d["threshold"] == run.threshold and 0 < run.threshold < 1 and round(run.threshold, 3) == run.threshold
    assert d["model"] == run.chosen and set(d["models"]) == {"network", "trees"} | ({"blend"} if run.chosen == "blend"
                                                                                else set())
    assert set(d["importance"]) == {"Type", "Air temperature [K]", "Process temperature [K]",
                                    "Rotational speed [rpm]", "Torque [Nm]", "Tool wear [min]"}
    assert all(set(v) == {"mean", "std"} for v in d["importance"].values())
    # the same numbers the core gives
    frame = load_files([data]).frame
    expected = evaluate_model_file(load_model_file(model), frame, data_files=[str(data)])
    assert d == json.loads(json.dumps(expected.to_dict()))


def test_a_new_labelled_file_uses_all_rows(trained, capsys):
    model, _, other = trained
    d = _json(capsys, model, other)
    assert d["rows_used"] == 600 and d["rows_source"] == "all"
    assert d["baselines"] == {} and "training rows" in d["baseline_note"]


def test_text_output_is_a_readable_table(trained, capsys):
    model, data, _ = trained
    assert cli.main(["evaluate", str(model), str(data)]) == 0
    text = capsys.readouterr().out
    assert "rows used: 450" in text
    header = next(line for line in text.splitlines() if line.startswith("metric"))
    run = load_model_file(model).run
    columns = {"trees": ["LightGBM", "(chosen)", "network"], "network": ["network", "(chosen)", "LightGBM"],
               "blend": ["network", "+", "LightGBM", "(chosen)", "network", "LightGBM"]}[run.chosen]
    chosen = {"trees": "LightGBM", "network": "network", "blend": "network + LightGBM"}[run.chosen]
    assert header.split() == ["metric", *columns, "HistGradientBoosting", "trivial"]
    assert any(line.startswith("PR-AUC") for line in text.splitlines())
    assert "confusion matrix" in text and "permutation importance" in text
    assert f"decision threshold on p(1): {run.threshold:.3f} (chosen on the validation rows)" in text
    assert f"{chosen} at 0.500 instead of {run.threshold:.3f}: precision" in text


def test_bad_input_messages(trained, tmp_path, capsys):
    model, data, _ = trained
    unlabelled = tmp_path / "unlabelled.csv"
    pd.read_csv(data, encoding="utf-8-sig").drop(columns=["Machine_failure"]).head(40).to_csv(unlabelled, index=False)
    assert cli.main(["evaluate", str(model), str(unlabelled)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "no target column 'Machine_failure'" in err and "Traceback" not in err

    odd = tmp_path / "odd.csv"
    frame = pd.read_csv(data, encoding="utf-8-sig").head(40)
    frame["Machine_failure"] = frame["Machine_failure"].astype(object)
    frame.loc[2, "Machine_failure"] = 7
    frame.to_csv(odd, index=False)
    assert cli.main(["evaluate", str(model), str(odd)]) == 2
    err = capsys.readouterr().err
    assert "classes the model never saw: 7 (1 row)" in err

    assert cli.main(["evaluate", str(tmp_path / "missing.mfgmodel"), str(data)]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_explain_rows_with_a_derived_input(ai4i_path, tmp_path, capsys):
    """A model reading dT: importance lists dT under its own name with its formula, and
    ``--explain-row`` says what moved one row's prediction, in enough digits; a row that was not
    evaluated is refused with one that was."""
    from mfg_desktop.core.formula import parse_derived_list

    lines = ai4i_path.read_bytes().split(b"\r\n")
    data = tmp_path / "ai4i.csv"
    data.write_bytes(b"\r\n".join(lines[:2001]) + b"\r\n")
    frame = load_files([data]).frame
    derived = parse_derived_list(['dT = "Process temperature [K]" - "Air temperature [K]"'], list(frame.columns))
    recipe = propose_recipe(frame, "Machine_failure", derived=derived,
                            exclude=["UDI", "Product ID", "TWF", "HDF", "PWF", "OSF", "RNF"])
    run = train_run(frame, recipe, SplitSpec(), TINY, seed=0, data_files=[data], model_choice="network")
    model = save_model_file(run, tmp_path / "dT.mfgmodel")
    first = int(min(run.split_test)) + 1  # the data row number the Evaluate step shows

    d = _json(capsys, model, data, "--explain-row", first)
    assert "dT" in d["importance"] and d["importance_info"]["derived"] == {"dT": derived[0].expression}
    (e,) = d["explanations"]
    assert e["data_row"] == first and e["output"] == "p(1)"
    names = [c["column"] for c in e["contributions"]]
    assert sorted(names) == sorted(recipe.inputs) and "dT" in names and "Type" in names
    gap = frame.iloc[first - 1]["Process temperature [K]"] - frame.iloc[first - 1]["Air temperature [K]"]
    assert next(c for c in e["contributions"] if c["column"] == "dT")["value"] == pytest.approx(gap)

    assert cli.main(["evaluate", str(model), str(data), "--explain-row", str(first)]) == 0
    text = capsys.readouterr().out
    assert f"data row {first}: p(1) = " in text and "Derived columns count on their own (dT = " in text
    table = text[text.index(f"data row {first}: "):].splitlines()
    assert table[1].split() == ["input", "value", "typical", "change"]
    changes = [line.split()[-1] for line in table[3:] if line.strip()]
    assert len(changes) == len(recipe.inputs)
    # a change is never printed as a signed zero: a small one keeps its significant digits
    assert not any(c in ("+0.000", "-0.000", "+0.0000", "-0.0000") for c in changes)

    training_row = int(min(run.split_train)) + 1
    assert cli.main(["evaluate", str(model), str(data), "--explain-row", str(training_row)]) == 2
    err = capsys.readouterr().err
    assert f"Data row {training_row} is not among the {len(run.split_test)} evaluated rows" in err
    assert f"for example {first}," in err and "Traceback" not in err
