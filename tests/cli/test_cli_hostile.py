"""Hostile data files through the CLI: `profile` answers one clean line on stderr and exit status 2;
`predict` scores the good files of a batch even when one in the middle is hostile."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd
import pytest

from mfg_desktop import cli
from mfg_desktop.core.bundle import save_model_file

CORPUS_SCRIPT = Path(__file__).resolve().parents[1] / "data" / "hostile" / "make_corpus.py"
# one of each kind of trouble: a bomb, an external entity, mixed encodings and number formats,
# NUL bytes, a cover sheet, encrypted workbooks, a web page named .xls, a name with a line break in
# the message; odd names and CR-only line ends load
REJECTED = ["billion_laughs.xlsx", "xxe_sheet.xlsx", "mixed_utf8_gb18030.csv", "mixed_marks.csv",
            "nul_bytes_few.csv", "cover_page.xlsx", "password.xlsx", "html_table.xls", "dangling_link.csv",
            "zip_bomb_ratio.xlsx", "password.xls", "duplicate_odd_names.csv", "odd_names.csv", "cr_only.csv"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[Path, dict[str, dict]]:
    spec = importlib.util.spec_from_file_location("make_corpus", CORPUS_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    folder = tmp_path_factory.mktemp("hostile_cli")
    return folder, {e["file"]: e for e in module.make_corpus(folder, only=REJECTED)}


@pytest.mark.parametrize("name", REJECTED)
def test_profile_of_a_hostile_file(corpus, name, capsys):
    folder, entries = corpus
    entry = entries[name]
    rc = cli.main(["profile", str(folder / name)])
    out, err = capsys.readouterr()
    if entry["expect"] == "loaded":
        assert rc == 0 and err == "" and f"rows: {entry['rows']}" in out
        return
    assert rc == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith(f"error: {name}"), err
    assert all(word.lower() in err.lower() for word in entry["says"]), err


def test_predict_scores_the_good_files_around_a_hostile_one(corpus, ai4i_small_run, tmp_path, capsys):
    folder, _entries = corpus
    model = save_model_file(ai4i_small_run.run, tmp_path / "m.mfgmodel")
    frame: pd.DataFrame = ai4i_small_run.frame
    first, last = tmp_path / "first.csv", tmp_path / "last.csv"
    frame.iloc[:200].to_csv(first, index=False)
    frame.iloc[200:400].to_csv(last, index=False)
    out_dir = tmp_path / "out"
    rc = cli.main(["predict", str(model), str(first), str(folder / "xxe_sheet.xlsx"), str(last),
                   "--out", str(out_dir)])
    out, _err = capsys.readouterr()
    assert rc == 1  # a file was rejected
    assert "first.csv: scored 200 of 200 rows" in out and "last.csv: scored 200 of 200 rows" in out
    assert "xxe_sheet.xlsx: REJECTED, nothing scored" in out and "DOCTYPE" in out
    assert len(pd.read_csv(out_dir / "first_scored.csv")) == len(pd.read_csv(out_dir / "last_scored.csv")) == 200
    assert not (out_dir / "xxe_sheet_scored.csv").exists()
