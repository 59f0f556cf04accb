"""`mfg-desktop train --model sequence` on C-MAPSS engines, and `predict` of a new, short engine."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mfg_desktop import cli
from mfg_desktop.core.bundle import load_model_file

CMAPSS = Path(__file__).resolve().parents[1] / "data" / "cmapss_fd001_6engines.txt"


def run(argv, capsys) -> tuple[int, str, str]:
    rc = cli.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


def test_sequence_model_trains_saves_and_scores_a_short_engine(tmp_path, capsys):
    model = tmp_path / "seq.mfgmodel"
    rc, out, err = run(["train", CMAPSS, "--entity", "col_1", "--order", "col_2", "--rul", "--rul-cap", "125",
                        "--windows", "none", "--model", "sequence", "--sequence-length", "12", "--epochs", "2",
                        "--preset", "fast", "--out", model], capsys)
    assert rc == 0, out + err
    assert "model sequence, up to 2 epochs" in out and "epoch 2/2" in out
    assert "model: sequence network (asked for)" in out
    inputs = out.split("inputs (")[1].split("\n")[0].split("): ")[1].split(", ")
    assert not {"col_1", "col_2"} & set(inputs)  # the engine and the cycle are no inputs
    loaded = load_model_file(model)
    assert loaded.run.is_sequence and loaded.run.network.sequence_length == 12
    assert loaded.run.model_choice == "sequence" and loaded.run.trees is None

    rows = [r for r in CMAPSS.read_text().splitlines() if r.split()[0] == "4"][:20]
    new = tmp_path / "engine_4_new.txt"
    new.write_text("\n".join(rows) + "\n")
    rc, out, err = run(["predict", model, new, "--out", tmp_path / "scored"], capsys)
    assert rc == 0, out + err
    scored = pd.read_csv(tmp_path / "scored" / "engine_4_new_scored.csv")
    # the first 11 cycles have fewer than 12 rows behind them: scored with what they have, flagged
    assert scored["short_history"].tolist() == [True] * 11 + [False] * 9
    assert scored["prediction"].notna().all()
    entities = pd.read_csv(tmp_path / "scored" / "engine_4_new_entities.csv")
    assert entities.iloc[0]["col_1"] == 4 and entities.iloc[0]["last col_2"] == 20


def test_sequence_options_need_histories(tmp_path, capsys):
    rc, _, err = run(["train", CMAPSS, "--target", "col_7", "--model", "sequence", "--out", tmp_path / "m"], capsys)
    assert rc == 2 and "--model sequence reads histories: give --entity COL (and --order COL)." in err
    rc, _, err = run(["train", CMAPSS, "--entity", "col_1", "--rul", "--sequence-length", "10", "--out",
                      tmp_path / "m"], capsys)
    assert rc == 2 and "--sequence-length goes with --model sequence." in err
