"""The report document model: sections, the same numbers as the run and its evaluation, batch summaries."""

from __future__ import annotations

import json
from datetime import datetime
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from mfg_desktop.core import report as rp
from mfg_desktop.core.errors import MfgError
from mfg_desktop.core.evaluate import HGB, MODEL_LABEL, evaluate_run
from mfg_desktop.core.network import preset
from mfg_desktop.core.recipe import propose_recipe
from mfg_desktop.core.score import read_score_summaries, score_file, summary_path, write_score_summary
from mfg_desktop.core.split import SplitSpec
from mfg_desktop.core.train import train_run

FIXED_DATE = datetime(2026, 3, 2, 8, 30)


@pytest.fixture(scope="module")
def ai4i(ai4i_small_run) -> pd.DataFrame:
    return ai4i_small_run.frame


@pytest.fixture(scope="module")
def analysed(ai4i_small_run):
    return ai4i_small_run.analysed


@pytest.fixture(scope="module")
def run(ai4i_small_run):
    return ai4i_small_run.run


@pytest.fixture(scope="module")
def evaluation(ai4i_small_run):
    return ai4i_small_run.evaluation


@pytest.fixture(scope="module")
def doc(run, evaluation, analysed):
    settings = rp.ReportSettings(plant="Werk Süd", line="Line 3", author="Q. Manager", date=FIXED_DATE)
    return rp.build_model_report(run, evaluation, *analysed, settings=settings)


def _tables(doc: rp.ReportDocument) -> list[rp.Table]:
    return [b for b in doc.blocks if isinstance(b, rp.Table)]


def test_sections_in_order_and_cover(doc, run):
    assert doc.section_titles() == [rp.SECTION_TITLES[s] for s in rp.SECTIONS]
    cover = dict(next(b for b in doc.cover if isinstance(b, rp.KeyValues)).rows)
    assert cover["Plant"] == "Werk Süd" and cover["Line"] == "Line 3" and cover["Author"] == "Q. Manager"
    assert cover["Model id"] == run.id and cover["Date"] == "2026-03-02 08:30"
    assert cover["App version"].startswith("mfg-desktop ")
    assert doc.header_left == "Model report — Werk Süd · Line 3"
    assert run.id in doc.header_right


def test_metrics_table_has_the_evaluations_numbers(doc, evaluation):
    table = next(t for t in _tables(doc) if t.caption == "Metrics beside the baselines")
    # the chosen model first, then the other trained model (Auto keeps both), then the baselines
    models = ["network"] if len(evaluation.models) == 1 else \
        [f"{MODEL_LABEL[evaluation.model_name]} (chosen)", *(MODEL_LABEL[n] for n in evaluation.models
                                                              if n != evaluation.model_name)]
    assert table.header[: len(models) + 1] == ["metric", *models]
    assert sorted(table.header[len(models) + 1:]) == ["gradient boosting", "trivial baseline"]
    if len(models) > 1:
        assert any(isinstance(b, rp.Paragraph) and evaluation.choice_reason in b.text for b in doc.blocks)
    rows = {r[0]: r for r in table.rows}
    hgb_col = table.header.index("gradient boosting")
    assert rows["PR-AUC"][1] == f"{evaluation.metrics['pr_auc']:.4f}"
    assert rows["ROC-AUC"][hgb_col] == f"{evaluation.baselines[HGB]['roc_auc']:.4f}"
    assert rows["recall"][1] == f"{evaluation.metrics['recall']:.4f}"
    heat = next(b for b in doc.blocks if isinstance(b, rp.Heatmap))
    assert heat.counts == evaluation.confusion.counts.tolist()


def test_data_section_names_files_leaks_and_what_was_done(run, evaluation, analysed, ai4i, tmp_path):
    csv = tmp_path / "line3.csv"
    ai4i.to_csv(csv, index=False)
    run2 = train_run(ai4i.iloc[:300], run.recipe, SplitSpec(), preset("fast").with_changes(epochs=1),
                     data_files=[csv])
    doc = rp.build_model_report(run2, None, *analysed, settings=rp.ReportSettings(sections=("data",)))
    text = doc.text()
    assert "line3.csv" in text and run2.data_fingerprint["files"][0]["sha256"] in text
    leaks = next(t for t in _tables(doc) if t.header[0] == "column" and t.header[-1] == "what was done")
    done = {r[0]: r[2] for r in leaks.rows}
    suspects = {s.column for s in analysed[1].leak_suspects}
    assert set(done) == suspects and {"PWF", "OSF"} <= suspects
    assert set(done.values()) == {"left out of the inputs"}
    assert "Data quality" in text and "Findings and warnings:" in text
    # a suspect the user kept as an input is reported as such
    kept = propose_recipe(ai4i, "Machine_failure",
                          leak_suspects={s.column: s.reason for s in analysed[1].leak_suspects if s.column != "PWF"})
    blocks = rp._leak_blocks(SimpleNamespace(recipe=kept), analysed[1])
    table = next(b for b in blocks if isinstance(b, rp.Table))
    assert {r[0]: r[2] for r in table.rows}["PWF"] == "kept as an input (the user's choice)"


def test_model_and_training_sections(doc, run):
    arch = next(t for t in _tables(doc) if t.header == ["layer", "type", "output shape", "parameters"])
    assert sum(int(r[3].replace(",", "")) for r in arch.rows) == run.model.count_params()
    text = doc.text()
    assert f"Parameters: {run.model.count_params():,} in total." in text
    assert run.device in text
    loss = next(b for b in doc.blocks if isinstance(b, rp.LineChart) and b.title == "Loss")
    assert loss.series[0].y == pytest.approx(run.history["loss"])
    assert loss.markers[0][0] == run.best_epoch


def test_importance_section_keeps_the_ranking(doc, evaluation):
    chart = next(b for b in doc.blocks if isinstance(b, rp.BarChart))
    assert chart.labels == list(evaluation.importance.columns)
    assert chart.values == pytest.approx(np.nan_to_num(evaluation.importance.mean).tolist())


def test_section_choice_and_missing_inputs_are_said(run):
    doc = rp.build_model_report(run, None, settings=rp.ReportSettings(sections=("evaluation", "model")))
    assert doc.section_titles() == ["Model", "Evaluation"]
    assert "has not been evaluated" in doc.text()
    with pytest.raises(MfgError, match="Unknown report section"):
        rp.build_model_report(run, settings=rp.ReportSettings(sections=("summary",)))


def test_evaluation_of_another_run_is_refused(run, evaluation, ai4i):
    other = train_run(ai4i.iloc[:300], run.recipe, SplitSpec(), preset("fast").with_changes(epochs=1))
    with pytest.raises(MfgError, match="another model"):
        rp.build_model_report(other, evaluation)


def test_regression_report_has_scatter_and_residuals():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"温度": rng.normal(60, 5, 400), "speed": rng.uniform(1, 3, 400)})
    df["energy_kwh"] = 0.5 * df["温度"] + 3 * df["speed"] + rng.normal(0, 0.5, 400)
    run = train_run(df, propose_recipe(df, "energy_kwh"), SplitSpec(), preset("fast").with_changes(epochs=2))
    ev = evaluate_run(run, df, n_repeats=2)
    doc = rp.build_model_report(run, ev)
    row = next(b for b in doc.blocks if isinstance(b, rp.ChartRow))
    scatter, hist = row.charts
    assert scatter.series[0].mode == "points" and len(scatter.series[0].x) == ev.n_rows
    assert sum(hist.values) == ev.n_rows
    assert "温度" in doc.text() and rp.needs_cjk(doc.text())


def test_batch_report_from_scores_and_from_their_summaries(run, ai4i, tmp_path):
    good = tmp_path / "batch_01.csv"
    ai4i.iloc[:400].to_csv(good, index=False)
    shifted = ai4i.iloc[400:800].copy()
    shifted["Torque [Nm]"] += 40  # far outside the training range: drift
    drift_file = tmp_path / "batch_02.csv"
    shifted.to_csv(drift_file, index=False)
    bad = tmp_path / "batch_03.csv"
    ai4i.drop(columns=["Torque [Nm]"]).iloc[:50].to_csv(bad, index=False)
    out = tmp_path / "out"
    scores = [score_file(run, p, out) for p in (good, drift_file, bad)]
    for s in scores:
        write_score_summary(s, out, run.id)
    assert summary_path(good, out).is_file()
    summaries = read_score_summaries(out)
    assert [s["file"] for s in summaries] == ["batch_01.csv", "batch_02.csv", "batch_03.csv"]
    assert json.loads(summary_path(good, out).read_text(encoding="utf-8"))["model_id"] == run.id

    for source in (scores, summaries):
        doc = rp.build_batch_report(run, source, rp.ReportSettings(plant="P1"))
        summary = next(t for t in _tables(doc) if t.header[:2] == ["file", "status"])
        rows = {r[0]: r for r in summary.rows}
        assert rows["batch_01.csv"][1] == "scored" and rows["batch_01.csv"][3] == "400"
        assert rows["batch_03.csv"][1] == "rejected"
        assert rows["batch_01.csv"][5] == f"{scores[0].flagged_count:,}"
        text = doc.text()
        assert "missing required column(s): 'Torque [Nm]'" in text
        drift = next(t for t in _tables(doc) if t.header[0] == "column" and "PSI" in t.header and
                     any(r[0] == "Torque [Nm]" and r[-1] != "ok" for r in t.rows))
        assert drift is not None
        assert "Files with drift warnings:" in text
    flagged = [s for s in scores if s.flagged_count]
    if flagged:  # the first flagged rows, with their row numbers in the file
        doc = rp.build_batch_report(run, scores)
        table = next(t for t in _tables(doc) if t.caption.startswith("The first"))
        assert table.header[0] == "row"
        assert table.rows[0][0] == f"{int(flagged[0].flagged.iloc[0]['row']):,}"


def test_batch_report_needs_files_and_names_a_foreign_model(run):
    with pytest.raises(MfgError, match="no scored files"):
        rp.build_batch_report(run, [])
    doc = rp.build_batch_report(run, [{"file": "a.csv", "status": "scored", "rows_read": 5, "rows_scored": 5,
                                       "rows_rejected": 0, "model_id": "0123456789ab"}])
    assert "scored by another model (0123456789ab)" in doc.text()


def test_summaries_folder_errors(tmp_path):
    with pytest.raises(MfgError, match="does not exist"):
        read_score_summaries(tmp_path / "nope")
    (tmp_path / "x_scored.summary.json").write_text("{broken", encoding="utf-8")
    with pytest.raises(MfgError, match="cannot be read"):
        read_score_summaries(tmp_path)


def test_needs_cjk():
    assert rp.needs_cjk("压力 [bar]") and rp.needs_cjk("品質") and rp.needs_cjk("온도")
    assert not rp.needs_cjk("Torque [Nm] ± 5 % — R²")
