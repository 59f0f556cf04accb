"""Scoring new files: schema check, drift, streaming, rejects, export; never over an input."""

from __future__ import annotations

import gc
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mfg_desktop.core.bundle import load_model_file, save_model_file
from mfg_desktop.core.errors import Cancelled, DataError
from mfg_desktop.core.formula import parse_derived_list
from mfg_desktop.core.jobs import JobState
from mfg_desktop.core.network import preset
from mfg_desktop.core.recipe import propose_recipe
from mfg_desktop.core.score import (
    PSI_FLAG,
    ScoreOptions,
    check_schema,
    expand_inputs,
    export_scored,
    model_card,
    psi,
    score_file,
    score_files,
)
from mfg_desktop.core.split import SplitSpec
from mfg_desktop.core.train import train_run

LEAKS = ["UDI", "Product ID", "TWF", "HDF", "PWF", "OSF", "RNF"]
SPEC = preset("fast").with_changes(epochs=2)


@pytest.fixture(scope="module")
def ai4i(ai4i_path) -> pd.DataFrame:
    return pd.read_csv(ai4i_path, encoding="utf-8-sig")


@pytest.fixture(scope="module")
def shuffled(ai4i) -> pd.DataFrame:
    # ai4i's temperatures drift over its 10,000 rows: a random sample is one distribution.
    return ai4i.sample(frac=1.0, random_state=0).reset_index(drop=True)


@pytest.fixture(scope="module")
def run(shuffled):
    train = shuffled.iloc[:3000]
    recipe = propose_recipe(train, "Machine_failure", exclude=LEAKS)
    return train_run(train, recipe, SplitSpec(), SPEC, seed=1)


@pytest.fixture(scope="module")
def model_path(run, tmp_path_factory) -> Path:
    return save_model_file(run, tmp_path_factory.mktemp("model") / "failure.mfgmodel")


@pytest.fixture(scope="module")
def model(model_path):
    return load_model_file(model_path)


@pytest.fixture(scope="module")
def fresh(shuffled) -> pd.DataFrame:
    """Rows the model never saw, from the same distribution."""
    return shuffled.iloc[3000:6000].reset_index(drop=True)


def _write(frame: pd.DataFrame, path: Path, **kwargs) -> Path:
    frame.to_csv(path, index=False, **kwargs)
    return path


def _scored(result) -> pd.DataFrame:
    return pd.read_csv(result.output, encoding="utf-8-sig", keep_default_na=False, na_values=[""])


# ------------------------------------------------------------------------------------ schema


def test_model_card_tells_what_the_model_is(model, run):
    card = model_card(model)
    assert card["task"] == "binary" and card["target"] == "Machine_failure"
    assert "Torque [Nm]" in card["inputs"] and not set(LEAKS) & set(card["inputs"])
    assert card["fingerprint"] == run.data_fingerprint["frame_sha256"] and card["training_rows"] == 3000
    assert card["threshold"] == run.threshold and 0 < run.threshold < 1 and "val_roc_auc" in card["metrics"]
    assert card["created"] and card["app_version"]


def test_missing_required_column_is_named_and_the_file_rejected(model, fresh, tmp_path):
    frame = fresh.drop(columns=["Torque [Nm]", "Tool wear [min]"])
    report = check_schema(model, frame, "batch.csv")
    assert not report.usable and report.missing == ["Torque [Nm]", "Tool wear [min]"]
    assert "missing required column(s): 'Torque [Nm]', 'Tool wear [min]'" in report.summary()
    path = _write(frame, tmp_path / "batch.csv")
    result = score_file(model, path, tmp_path / "out")
    assert result.rejected and result.output is None and result.rows_scored == 0
    assert "'Torque [Nm]'" in result.summary() and "REJECTED" in result.summary()
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_extra_columns_are_listed_ignored_and_kept_in_the_output(model, fresh, tmp_path):
    frame = fresh.assign(operator="Li Wei", shift_note="ok")
    report = check_schema(model, frame)
    assert report.usable and {"operator", "shift_note", "UDI", "Machine_failure"} <= set(report.extra)
    result = score_file(model, _write(frame, tmp_path / "extra.csv"), tmp_path / "out")
    assert result.status == "scored" and result.rows_scored == len(frame)
    out = _scored(result)
    assert list(out.columns[: frame.shape[1]]) == list(frame.columns)
    assert (out["operator"] == "Li Wei").all()
    np.testing.assert_array_equal(out["probability"].to_numpy(), model.predict_outputs(frame)[:, 1])


def test_wrong_types_name_the_column_with_examples_and_row_count(model, fresh, tmp_path):
    frame = fresh.iloc[:500].copy()
    torque = frame["Torque [Nm]"].astype(object)
    torque.iloc[[3, 10, 11, 400]] = ["abc", "12.5.3", "abc", "--x"]
    frame["Torque [Nm]"] = torque
    report = check_schema(model, frame, "typed.csv")
    problem = report.wrong_types["Torque [Nm]"]
    assert problem.rows == 4 and problem.first_row == 4
    assert problem.examples == ["abc", "12.5.3", "--x"]
    assert "'Torque [Nm]' should hold a number, but 4 rows with other values" in report.summary()

    result = score_file(model, _write(frame, tmp_path / "typed.csv"), tmp_path / "out")
    assert result.status == "partial" and (result.rows_read, result.rows_scored, result.rows_rejected) == (500, 496, 4)
    out = _scored(result)
    rejected = out["rejected"].notna().to_numpy()
    assert np.flatnonzero(rejected).tolist() == [3, 10, 11, 400]
    assert out.loc[3, "rejected"] == "'Torque [Nm]' is not a number"
    assert out.loc[rejected, "prediction"].isna().all() and out.loc[~rejected, "prediction"].notna().all()
    good = frame.drop(index=frame.index[[3, 10, 11, 400]]).astype({"Torque [Nm]": float})
    np.testing.assert_allclose(out.loc[~rejected, "probability"].to_numpy(), model.predict_outputs(good)[:, 1],
                               rtol=1e-6)


def test_unseen_categories_are_counted_and_handled_as_in_training(model, fresh, tmp_path):
    frame = fresh.iloc[:300].copy()
    frame.loc[frame.index[:7], "Type"] = "X"
    frame.loc[frame.index[7:9], "Type"] = "Z"
    report = check_schema(model, frame)
    unseen = report.unseen["Type"]
    assert unseen.rows == 9 and unseen.values == {"X": 7, "Z": 2}
    result = score_file(model, _write(frame, tmp_path / "unseen.csv"), tmp_path / "out")
    assert result.status == "scored" and result.rows_scored == 300
    assert "categories not seen in training: 'X' (7 rows), 'Z' (2 rows)" in result.summary()
    # the recipe's one-hot ignores unknown categories, exactly as the in-memory model does
    out = _scored(result)
    np.testing.assert_array_equal(out["probability"].to_numpy(), model.predict_outputs(frame)[:, 1])


def test_names_differing_in_case_or_spaces_are_matched_and_reported(model, fresh, tmp_path):
    frame = fresh.iloc[:200]
    renamed = frame.rename(columns={"Torque [Nm]": " torque [nm] ", "Type": "TYPE"})
    report = check_schema(model, renamed)
    assert report.usable and report.renamed == {"Type": "TYPE", "Torque [Nm]": " torque [nm] "}
    assert "column ' torque [nm] ' used for 'Torque [Nm]'" in report.summary()
    result = score_file(model, _write(renamed, tmp_path / "renamed.csv"), tmp_path / "out")
    out = _scored(result)
    np.testing.assert_array_equal(out["probability"].to_numpy(), model.predict_outputs(frame)[:, 1])


def test_missing_values_are_counted_and_imputed_as_in_training(model, fresh, tmp_path):
    frame = fresh.iloc[:400].copy()
    frame.loc[frame.index[:25], "Air temperature [K]"] = np.nan
    result = score_file(model, _write(frame, tmp_path / "gaps.csv"), tmp_path / "out")
    assert result.status == "scored" and result.schema.missing_values["Air temperature [K]"] == 25
    assert "'Air temperature [K]': 25 missing values (6.2%)" in result.summary()
    out = _scored(result)
    np.testing.assert_array_equal(out["probability"].to_numpy(), model.predict_outputs(frame)[:, 1])


# ------------------------------------------------------------------------------------ drift


def test_psi_is_zero_for_equal_shares_and_grows_with_shift():
    assert psi(np.array([0.5, 0.5]), np.array([0.5, 0.5])) == 0.0
    assert psi(np.array([0.5, 0.5]), np.array([0.6, 0.4])) < 0.1 < psi(np.array([0.5, 0.5]), np.array([0.9, 0.1]))


def test_drift_is_flagged_on_a_shifted_copy_not_on_a_fresh_sample(model, fresh, tmp_path):
    same = score_file(model, _write(fresh, tmp_path / "fresh.csv"), tmp_path / "out")
    assert same.drift.flagged == [], same.summary()
    assert all(c.psi is not None and c.psi < 0.1 for c in same.drift.columns), [
        (c.column, c.psi) for c in same.drift.columns]

    shifted = fresh.assign(**{"Torque [Nm]": fresh["Torque [Nm]"] * 1.3 + 8})
    moved = score_file(model, _write(shifted, tmp_path / "shifted.csv"), tmp_path / "out")
    flagged = {c.column: c for c in moved.drift.flagged}
    assert set(flagged) == {"Torque [Nm]"}
    torque = flagged["Torque [Nm]"]
    assert torque.psi > PSI_FLAG and torque.out_of_range_share > 0.02 and torque.above > 0
    assert "drift in 'Torque [Nm]': distribution shifted (PSI" in moved.summary()


def test_a_category_mix_change_and_more_missing_values_are_flagged(model, fresh, tmp_path):
    frame = fresh.copy()
    frame["Type"] = "H"  # training: about 60 % L, 30 % M, 10 % H
    frame.loc[frame.index[: len(frame) // 3], "Rotational speed [rpm]"] = np.nan
    result = score_file(model, _write(frame, tmp_path / "mix.csv"), tmp_path / "out")
    flagged = {c.column: c for c in result.drift.flagged}
    assert flagged["Type"].psi > PSI_FLAG
    assert any("missing (training: 0.0%)" in r for r in flagged["Rotational speed [rpm]"].reasons)


# ------------------------------------------------------------------------------------ streaming


@pytest.fixture(scope="module")
def big_file(ai4i, tmp_path_factory) -> Path:
    """20,000 rows, more than two chunks of 8,192."""
    rng = np.random.default_rng(3)
    frame = ai4i.sample(n=20_000, replace=True, random_state=3).reset_index(drop=True)
    frame["Torque [Nm]"] = (frame["Torque [Nm]"] + rng.normal(0, 0.5, len(frame))).round(3)
    return _write(frame, tmp_path_factory.mktemp("big") / "big.csv")


def test_streaming_in_chunks_gives_the_predictions_of_the_whole_frame(model, run, big_file, tmp_path):
    progress: list[float] = []
    state = JobState(on_progress=lambda f, m: progress.append(f))
    result = score_file(model, big_file, tmp_path / "out", state=state, chunk_rows=8192)
    assert result.rows_read == result.rows_scored == 20_000
    frame = pd.read_csv(big_file)
    whole = model.predict_outputs(frame)[:, 1]
    out = _scored(result)
    np.testing.assert_array_equal(out["probability"].to_numpy(), whole)
    t = run.threshold  # chosen on the validation rows when training
    assert (out["flag"].to_numpy() == (whole >= t)).all()
    assert result.class_counts == {0: int((whole < t).sum()), 1: int((whole >= t).sum())}
    assert result.flagged_count == int((whole >= t).sum())
    assert len(result.flagged) == min(1000, result.flagged_count) and (result.flagged["flag"] == 1).all()
    assert result.flagged["row"].iloc[0] == int(np.argmax(whole >= t)) + 1
    counts, edges = result.histogram
    assert counts.sum() == 20_000 and edges[0] == 0.0 and edges[-1] == 1.0
    assert len([p for p in progress if 0 < p < 1]) >= 3 and progress == sorted(progress)
    # the run still in memory (not saved, Keras) scores as the model file reopened (NumPy forward
    # pass, core.forward): the same columns and decisions, probabilities equal to float32 rounding
    in_memory = score_file(run, big_file, tmp_path / "mem", chunk_rows=8192)
    kept = _scored(in_memory)
    pd.testing.assert_frame_equal(kept.drop(columns="probability"), out.drop(columns="probability"))
    np.testing.assert_allclose(kept["probability"], out["probability"], rtol=1e-5, atol=1e-6)


def test_memory_stays_far_below_the_size_of_the_file_as_a_frame(model, ai4i, tmp_path):
    frame = ai4i.sample(n=200_000, replace=True, random_state=5).reset_index(drop=True)
    path = _write(frame, tmp_path / "200k.csv")
    frame_bytes = int(frame.memory_usage(deep=True).sum())
    del frame
    gc.collect()
    tracemalloc.start()
    try:
        result = score_file(model, path, tmp_path / "out", chunk_rows=16_384)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.rows_scored == 200_000
    # a whole-file approach holds the frame, its transform and the output: several copies
    assert peak < 0.5 * frame_bytes, (peak, frame_bytes)


def test_cancel_stops_and_leaves_no_partial_output(model, big_file, tmp_path):
    state = JobState()
    seen = []

    def progress(fraction, message):
        seen.append(fraction)
        if len(seen) == 2:
            state.request_cancel()

    state._on_progress = progress
    with pytest.raises(Cancelled):
        score_file(model, big_file, tmp_path / "out", state=state, chunk_rows=8192)
    assert list((tmp_path / "out").iterdir()) == []


# ------------------------------------------------------------------------------------ files, export


def test_an_output_never_overwrites_an_input(model, fresh, tmp_path):
    a = _write(fresh.iloc[:50], tmp_path / "a.csv")
    a_scored = _write(fresh.iloc[50:100], tmp_path / "a_scored.csv")
    before = a_scored.read_bytes()
    with pytest.raises(DataError, match="overwrite an input"):
        score_files(model, [a, a_scored], tmp_path)
    with pytest.raises(DataError, match="overwrite an input"):
        score_file(model, a, tmp_path, protected=[a_scored])
    assert a_scored.read_bytes() == before
    result = score_file(model, a, tmp_path / "out")
    with pytest.raises(DataError, match="overwrite an input"):
        export_scored(result, tmp_path, protected=[a_scored])
    assert a_scored.read_bytes() == before and a.read_bytes() == (tmp_path / "a.csv").read_bytes()


def test_folders_are_expanded_and_a_bad_file_does_not_stop_the_batch(model, fresh, tmp_path):
    folder = tmp_path / "line"
    folder.mkdir()
    _write(fresh.iloc[:100], folder / "b1.csv")
    _write(fresh.iloc[100:200], folder / "b2.csv")
    (folder / "b0.csv").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    _write(fresh.iloc[:10], folder / "old_scored.csv")  # an earlier output is not an input
    (folder / "notes.docx").write_bytes(b"PK")
    assert [p.name for p in expand_inputs([folder])] == ["b0.csv", "b1.csv", "b2.csv"]
    partial = []
    results = score_files(model, [folder], tmp_path / "out", state=JobState(on_partial_result=partial.append))
    assert [r.status for r in results] == ["rejected", "scored", "scored"] and partial == results
    assert "looks like a PNG image" in results[0].summary()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["b1_scored.csv", "b2_scored.csv"]


def test_excel_output_and_export(model, fresh, tmp_path):
    path = _write(fresh.iloc[:120], tmp_path / "small.csv")
    result = score_file(model, path, tmp_path / "out", ScoreOptions(format="xlsx"))
    assert result.output == tmp_path / "out" / "small_scored.xlsx"
    book = pd.read_excel(result.output)
    assert book.shape == (120, fresh.shape[1] + 4)
    assert book["Torque [Nm]"].dtype.kind == "f" and book["flag"].dtype.kind == "i"
    np.testing.assert_allclose(book["probability"], model.predict_outputs(fresh.iloc[:120])[:, 1], rtol=1e-12)

    csv_result = score_file(model, path, tmp_path / "work")
    export = tmp_path / "export"
    export.mkdir()
    as_csv = export_scored(csv_result, export, "csv")
    assert as_csv.read_bytes() == Path(csv_result.output).read_bytes()
    as_xlsx = export_scored(csv_result, export, "xlsx")
    pd.testing.assert_frame_equal(pd.read_excel(as_xlsx), book)
    with pytest.raises(DataError, match="does not exist"):
        export_scored(csv_result, tmp_path / "nowhere")


def test_a_decimal_comma_semicolon_export_is_read_and_written_its_way(model, fresh, tmp_path):
    frame = fresh.iloc[:200]
    path = _write(frame, tmp_path / "eu.csv", sep=";", decimal=",")
    result = score_file(model, path, tmp_path / "out")
    assert result.status == "scored"
    text = Path(result.output).read_text(encoding="utf-8-sig")
    assert text.splitlines()[0].count(";") == frame.shape[1] + 3
    out = pd.read_csv(result.output, sep=";", decimal=",", encoding="utf-8-sig")
    np.testing.assert_allclose(out["probability"], model.predict_outputs(frame)[:, 1], rtol=1e-12)


def test_numbers_are_written_bare_and_only_cells_that_need_it_are_quoted(model, fresh, tmp_path):
    frame = fresh.iloc[:50].copy()
    frame.loc[frame.index[3], "Product ID"] = 'M1,"spare"\nline 2'  # delimiter, quote and line end
    path = _write(frame, tmp_path / "quoting.csv")
    result = score_file(model, path, tmp_path / "out")
    lines = Path(result.output).read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].startswith("UDI,Product ID,Type,Air temperature [K],")  # the header bare too
    first = lines[1].split(",")
    assert first[3] == str(frame["Air temperature [K]"].iloc[0]) and '"' not in lines[1]
    assert sum('"' in line for line in lines) == 2  # only the crafted cell, over its two lines
    back = _scored(result)
    assert back["Product ID"].iloc[3] == 'M1,"spare"\nline 2' and len(back) == 50
    assert back["Air temperature [K]"].dtype.kind == "f" and back["Tool wear [min]"].dtype.kind == "i"
    pd.testing.assert_series_equal(back["Torque [Nm]"], frame["Torque [Nm]"].reset_index(drop=True))


# ------------------------------------------------------------------------------------ regression


@pytest.fixture(scope="module")
def regression_model(shuffled, tmp_path_factory):
    train = shuffled.iloc[:2000]
    derived = parse_derived_list(['dT = "Process temperature [K]" - "Air temperature [K]"'], list(train.columns))
    recipe = propose_recipe(train, "Tool wear [min]", exclude=[*LEAKS, "Machine_failure"], derived=derived)
    recipe.plan("Torque [Nm]").impute = "none"
    run = train_run(train, recipe, SplitSpec(), SPEC, seed=1)
    return load_model_file(save_model_file(run, tmp_path_factory.mktemp("reg") / "wear.mfgmodel"))


def test_regression_values_and_a_gap_without_imputation_rejects_the_row(regression_model, fresh, tmp_path):
    frame = fresh.iloc[:300].copy()
    frame.loc[frame.index[5], "Torque [Nm]"] = np.nan
    required = regression_model.fitted.required_columns()
    assert "Process temperature [K]" in required and "dT" not in required
    result = score_file(regression_model, _write(frame, tmp_path / "wear.csv"), tmp_path / "out")
    assert (result.rows_scored, result.rows_rejected) == (299, 1)
    assert "1 row rejected: 'Torque [Nm]' is missing, and the model was trained without filling it in" in (
        result.summary())
    out = _scored(result)
    assert "flag" not in out.columns and out["prediction"].isna().tolist() == [i == 5 for i in range(300)]
    good = frame.drop(index=frame.index[5])
    np.testing.assert_allclose(out["prediction"].dropna().to_numpy(), regression_model.predict_outputs(good),
                               rtol=1e-6)
    assert set(result.value_summary) == {"min", "p5", "median", "mean", "p95", "max"}
    assert "dT" in {c.column for c in result.drift.columns}
