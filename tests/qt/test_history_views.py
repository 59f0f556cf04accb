"""History models in the window and the report: Evaluate's per-entity tab, Predict's ranked entities with
their per-entity plots, and the report's history set-up and per-entity section (read back with pdftotext)."""

from __future__ import annotations

import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

DATA = Path(__file__).resolve().parents[1] / "data"
CMAPSS = DATA / "cmapss_fd001_6engines.txt"  # NASA C-MAPSS FD001, engines 1-6: no header, whitespace


@pytest.fixture(scope="module")
def history_model(tmp_path_factory):
    """A remaining-life network on the six C-MAPSS engines (3 epochs), its training frame and model file."""
    from mfg_desktop.core.bundle import save_model_file
    from mfg_desktop.core.history import HistorySpec, prepare_training
    from mfg_desktop.core.ingest import load_files
    from mfg_desktop.core.network import preset
    from mfg_desktop.core.recipe import propose_recipe
    from mfg_desktop.core.split import SplitSpec
    from mfg_desktop.core.train import train_run

    raw = load_files([CMAPSS]).frame
    spec = HistorySpec(entity="col_1", order="col_2", label="rul", rul_cap=125.0, sizes=(5, 20))
    training = prepare_training(raw, spec)
    recipe = propose_recipe(training.frame, training.target, exclude=training.not_inputs)
    run = train_run(training.frame, recipe,
                    SplitSpec(method="group", column="col_1", train=0.5, valid=0.17, test=0.33, seed=1),
                    preset("fast").with_changes(epochs=3), seed=0, model_choice="network", data_files=[CMAPSS],
                    history_spec=spec.to_dict())
    path = save_model_file(run, tmp_path_factory.mktemp("history_model") / "rul.mfgmodel")
    return training.frame, run, path


def new_engines(folder: Path) -> Path:
    """Engines 2 and 4 seen part of their way, engine 5 to its end, engine 6 for 8 cycles (shorter than the
    20-row window), in one whitespace file like the training one."""
    rows = CMAPSS.read_text().splitlines()
    keep = {"2": 150, "4": 60, "5": 10_000, "6": 8}
    lines = [r for e, n in keep.items() for r in [r for r in rows if r.split()[0] == e][:n]]
    path = folder / "new_engines.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_evaluate_shows_per_entity_numbers_and_a_chosen_engine(qtbot, wait, main_window, history_model):
    from mfg_desktop.qt.evaluate.panel import ENTITY_TAB

    frame, run, _ = history_model
    main_window.show_step("evaluate")
    panel = main_window.page("evaluate")
    main_window.session.add_run(run, frame)
    wait.idle(timeout=120_000)
    qtbot.waitUntil(lambda: panel.evaluation is not None, timeout=10_000)
    hist = panel.evaluation.history
    assert hist is not None and panel.tabs.isTabEnabled(ENTITY_TAB)
    assert f"RMSE {hist.metrics['last_rmse']:.2f}" in panel.note_label.text()
    view = panel.history_view
    assert view.headline.text() == hist.headline()
    assert view.table.rowCount() == len(hist.entities) == len(set(frame["col_1"].iloc[run.split_test]))
    headers = [view.table.horizontalHeaderItem(i).text() for i in range(view.table.columnCount())]
    assert headers[:3] == ["col_1", "rows", "last col_2"] and "error at last row" in headers
    # choosing an engine in the table draws its prediction and truth along the cycles
    view.table.selectRow(view.table.rowCount() - 1)
    engine = view.table.item(view.table.rowCount() - 1, 0).text()
    assert view.entity_combo.currentText() == engine
    curves = {c.name(): c for c in view.plot.getPlotItem().listDataItems()}
    x, y = curves["predicted"].getData()
    expected = hist.curves[engine]
    assert np.allclose(x, expected.order) and np.allclose(y, expected.predicted)
    assert np.allclose(curves["true"].getData()[1], expected.true)
    assert expected.true[-1] == 0  # run to failure: the last cycle's remaining life is 0


def test_predict_ranks_engines_by_remaining_life_and_plots_a_sensor(qtbot, wait, main_window, history_model,
                                                                    tmp_path):
    from mfg_desktop.qt.predict.result_view import ENTITY_TAB

    model_path = history_model[2]
    main_window.show_step("predict")
    panel = main_window.page("predict")
    job = panel.open_model(model_path)
    qtbot.waitUntil(lambda: not job.is_running() and panel.model is not None, timeout=60_000)
    panel.add_paths([new_engines(tmp_path)])
    with qtbot.waitSignal(panel.score().ended, timeout=60_000):
        pass
    wait.idle()
    [result] = panel.results
    assert result.status == "scored", result.error
    view = panel.result_view.history_view
    assert panel.result_view.bottom_tabs.isTabEnabled(ENTITY_TAB)
    assert panel.result_view.bottom_tabs.currentIndex() == ENTITY_TAB
    # ranked by risk: the lowest latest remaining life first, as in the per-entity CSV beside the output
    written = pd.read_csv(result.output.parent / "new_engines_entities.csv")
    by_risk = written.sort_values("latest prediction")
    shown = [view.table.item(r, 0).text() for r in range(view.table.rowCount())]
    assert shown == [str(e) for e in by_risk["col_1"]] and len(shown) == 4
    assert "lowest remaining life" in view.rank_label.text() and "1 shaded" in view.rank_label.text()
    short_row = shown.index("6")
    headers = [view.table.horizontalHeaderItem(i).text() for i in range(view.table.columnCount())]
    assert view.table.item(short_row, headers.index("short history")).text() == "yes"
    # the trend: a healthy engine's remaining life falls by about a cycle per cycle at worst, never rises fast
    trend = written.set_index("col_1")["trend"]
    assert trend.notna().all() and (trend < 2).all()
    # the chosen engine and sensor, on one cycle axis: the sensor's readings and the prediction
    view.entity_combo.setCurrentText("4")
    view.sensor_combo.setCurrentText("col_9")
    scored = pd.read_csv(result.output)
    engine = scored[scored["col_1"] == 4]
    [sensor_curve] = view.sensor_plot.getPlotItem().listDataItems()
    x, y = sensor_curve.getData()
    assert np.allclose(x, engine["col_2"]) and np.allclose(y, engine["col_9"])
    prediction_curve = view.prediction_plot.getPlotItem().listDataItems()[0]
    assert np.allclose(prediction_curve.getData()[1], engine["prediction"], rtol=1e-5)
    # the short engine's rows are marked on its prediction plot
    view.entity_combo.setCurrentText("6")
    items = view.prediction_plot.getPlotItem().listDataItems()
    assert len(items) == 2 and len(items[1].getData()[0]) == 8


def test_report_has_the_history_setup_and_per_entity_results(qapp, history_model, tmp_path):
    from mfg_desktop.core import report as rp
    from mfg_desktop.core.bundle import load_model_file
    from mfg_desktop.core.evaluate import evaluate_run
    from mfg_desktop.report_pdf import render_pdf

    frame, run, model_path = history_model
    ev = evaluate_run(run, frame, importance=False)
    settings = rp.ReportSettings(paper="A4", date=datetime(2026, 3, 2, 8, 30))
    doc = rp.build_model_report(run, ev, settings=settings)
    text = doc.text()
    assert "Histories" in text and "Entity column col_1" in text and "Order col_2" in text
    assert "remaining useful life: order units until the entity's last row, capped at 125" in text
    assert "minimal: the last 5, 20 rows" in text
    assert ev.history.headline() in text
    charts = [c for b in doc.blocks if isinstance(b, rp.ChartRow) for c in b.charts
              if c.title.startswith("col_1 ")]
    assert 1 <= len(charts) <= 4 and [s.name for s in charts[0].series] == ["true", "predicted"]
    pdf = tmp_path / "history report.pdf"
    render_pdf(doc, pdf)
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    words = " ".join(subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                                    check=True).stdout.split())
    assert "Histories" in words and "Per entity" in words and "RMSE at the last row" in words
    assert f"{ev.history.metrics['last_rmse']:.2f}" in words

    # the report of the model file alone (no data) carries the same per-entity numbers
    loaded = load_model_file(model_path)
    stored_doc = rp.build_model_report(loaded, loaded.stored_evaluation, settings=settings)
    assert "Per entity" in stored_doc.text() and "RMSE at the last row" in stored_doc.text()
