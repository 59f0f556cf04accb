"""The Evaluate panel: evaluates off the GUI thread, shows what core computed, the threshold follows
live and is stored, and a model file on a labelled file gives the numbers the CLI prints."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mfg_desktop import cli
from mfg_desktop.core.bundle import load_model_file, save_model_file
from mfg_desktop.core.explain import format_change
from mfg_desktop.core.formula import parse_derived_list
from mfg_desktop.core.ingest import load_files
from mfg_desktop.core.network import NetworkSpec
from mfg_desktop.core.recipe import propose_recipe
from mfg_desktop.core.split import SplitSpec
from mfg_desktop.core.train import train_run

TINY = NetworkSpec(hidden=[32, 32], epochs=3, batch_size=128, n_bins=8, embedding_dim=4)


@pytest.fixture(scope="module")
def trained(ai4i_path, tmp_path_factory):
    """(run, the frame it was trained on, its saved model file, the data file)."""
    folder = tmp_path_factory.mktemp("qt_eval")
    lines = ai4i_path.read_bytes().split(b"\r\n")
    data = folder / "ai4i_part.csv"
    data.write_bytes(b"\r\n".join(lines[:2501]) + b"\r\n")
    frame = load_files([data]).frame
    derived = parse_derived_list(['dT = "Process temperature [K]" - "Air temperature [K]"'], list(frame.columns))
    recipe = propose_recipe(frame, "Machine_failure", derived=derived,
                            exclude=["UDI", "Product ID", "TWF", "HDF", "PWF", "OSF", "RNF"])
    run = train_run(frame, recipe, SplitSpec(), TINY, seed=0, data_files=[data])
    model = save_model_file(run, folder / "failure.mfgmodel")
    return run, frame, model, data


def _evaluated(qtbot, wait, window, panel) -> None:
    wait.idle(timeout=120_000)
    qtbot.waitUntil(lambda: panel.evaluation is not None, timeout=10_000)


def test_current_run_is_evaluated_in_the_background(qtbot, wait, main_window, trained, tmp_path):
    run, frame, _, _ = trained
    main_window.show_step("evaluate")
    panel = main_window.page("evaluate")
    assert panel.evaluation is None and not panel.evaluate_button.isEnabled()
    main_window.session.add_run(run, frame)
    assert panel.is_busy()  # started on a worker thread, the GUI thread is free
    _evaluated(qtbot, wait, main_window, panel)
    ev = panel.evaluation
    assert main_window.session.evaluation is ev and ev.run is run
    assert set(ev.rows.tolist()) == set(run.split_test.tolist())
    assert "test rows of the training split (375 of 2,500)" in panel.note_label.text()

    # metrics table: the chosen model, the other one Auto trained, both baselines, the numbers core computed
    headers = [panel.metrics.table.horizontalHeaderItem(i).text() for i in range(panel.metrics.table.columnCount())]
    assert headers[-2:] == ["Gradient boosting", "Trivial baseline"] and len(headers) == len(ev.models) + 2
    names = {"network": "Network", "trees": "LightGBM trees", "blend": "Network + LightGBM (averaged)"}
    stacked = {"network": "Network", "trees": "LightGBM trees", "blend": "Network +\nLightGBM\n(averaged)"}
    other = next(name for name in ev.models if name != ev.model_name)
    assert headers[0] == stacked[ev.model_name] + "\n(chosen)" and headers[1] == stacked[other]
    assert panel.metrics.per_class_caption.text() == f"{names[ev.model_name]}, per class:"
    rows = [panel.metrics.table.verticalHeaderItem(i).text() for i in range(panel.metrics.table.rowCount())]
    r = rows.index("PR-AUC")
    assert panel.metrics.table.item(r, 0).text() == f"{ev.metrics['pr_auc']:.4f}"
    assert panel.metrics.table.item(r, 2).text() == f"{ev.baselines['HistGradientBoosting']['pr_auc']:.4f}"

    # confusion matrix follows the slider live
    panel.set_slider_threshold(0.3)
    counts = ev.confusion_at(0.3).counts
    assert panel.confusion_box.table.item(1, 1).text().startswith(f"{counts[1, 1]:,}\n")
    assert panel.confusion_box.table.item(0, 1).text().startswith(f"{counts[0, 1]:,}\n")
    assert "false alarms" in panel.threshold_box.live_label.text()

    # propose (validation rows) then use: stored in the run, metrics at it, saved in the file
    panel.threshold_box.cost_fn.setValue(30)
    panel.threshold_box.cost_fp.setValue(1)
    proposed = panel.propose_threshold()
    assert proposed == pytest.approx(ev.propose_threshold(30, 1))
    assert panel.slider_threshold() == pytest.approx(round(proposed * 1000) / 1000)
    previous = run.threshold
    try:
        panel.use_threshold(panel.slider_threshold())
        assert run.threshold == pytest.approx(panel.slider_threshold())
        assert ev.threshold == run.threshold
        job = panel.save_model(tmp_path / "chosen.mfgmodel")
        wait.idle()
        assert job is not None
        assert load_model_file(tmp_path / "chosen.mfgmodel").run.threshold == pytest.approx(run.threshold)
    finally:
        run.threshold = previous

    # one row explained, in the user's column names
    panel.tabs.setCurrentIndex(3)
    panel.explain.rows_view.selectRow(4)
    assert panel.state.explained_row == 4
    names = panel.explain.chart.names
    assert any(name.startswith("Torque [Nm] = ") for name in names)
    assert any(name.startswith("dT = ") for name in names)  # the derived input, under its own name
    explained = ev.explain_row(4)
    assert [t.toPlainText() for t in panel.explain.chart.value_items] == [
        format_change(d) for *_rest, d in explained.ranked()]
    assert not re.search(r"by [+-]0\.0+$", panel.explain.text.text(), re.MULTILINE)  # digits that mean something
    # importance bars in the user's column names, dT among them, each with its number
    assert set(panel.importance.chart.names) == set(ev.importance.columns) == set(run.fitted.recipe.inputs)
    assert "dT" in ev.importance.columns and "dT = " in panel.importance.note.text()
    assert [t.toPlainText() for t in panel.importance.chart.value_items] == [
        format_change(m) for m in ev.importance.mean]
    assert panel.training_curves.loss_train.count == len(run.history["loss"])


def test_gui_and_cli_give_the_same_numbers(qtbot, wait, main_window, trained, capsys):
    _, _, model, data = trained
    main_window.show_step("evaluate")
    panel = main_window.page("evaluate")
    panel.open_model(model)
    wait.idle()
    qtbot.waitUntil(lambda: panel.loaded is not None, timeout=10_000)
    assert panel.files_button.isEnabled()
    panel.evaluate_files([data])
    _evaluated(qtbot, wait, main_window, panel)
    gui = json.loads(json.dumps(panel.evaluation.to_dict()))

    assert cli.main(["evaluate", str(model), str(data), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert gui == printed
    assert gui["rows_source"] == "test" and gui["importance"]


def test_a_file_without_the_target_is_explained_in_the_banner(qtbot, wait, main_window, trained, tmp_path):
    _, _, model, data = trained
    unlabelled = tmp_path / "no_target.csv"
    pd.read_csv(data, encoding="utf-8-sig").drop(columns=["Machine_failure"]).head(30).to_csv(unlabelled, index=False)
    main_window.show_step("evaluate")
    panel = main_window.page("evaluate")
    panel.open_model(model)
    wait.idle()
    qtbot.waitUntil(lambda: panel.loaded is not None, timeout=10_000)
    panel.evaluate_files([Path(unlabelled)])
    wait.idle()
    qtbot.waitUntil(lambda: main_window.banner.isVisible(), timeout=10_000)
    assert "no target column 'Machine_failure'" in main_window.banner.text()
    assert panel.evaluation is None and panel.open_button.isEnabled()


def test_regression_shows_plots_instead_of_a_confusion_matrix(qtbot, wait, main_window):
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"a": rng.normal(size=600), "b": rng.normal(size=600)})
    df["kwh"] = 2 * df["a"] - df["b"] + rng.normal(0, 0.2, 600)
    run = train_run(df, propose_recipe(df, "kwh"), SplitSpec(), TINY.with_changes(epochs=2), seed=0)
    main_window.show_step("evaluate")
    panel = main_window.page("evaluate")
    main_window.session.add_run(run, df)
    _evaluated(qtbot, wait, main_window, panel)
    assert panel.evaluation.task == "regression"
    assert panel.regression_box.isVisible() and not panel.confusion_box.isVisible()
    assert not panel.threshold_box.isVisible()
    rows = [panel.metrics.table.verticalHeaderItem(i).text() for i in range(panel.metrics.table.rowCount())]
    assert rows == ["Mean absolute error", "Root mean squared error", "R² (explained variance)"]
