"""The Predict step: model card, scoring in a worker, flagged rows, export, watching a folder."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from mfg_desktop.core.bundle import load_model_file, save_model_file
from mfg_desktop.core.network import preset
from mfg_desktop.core.recipe import propose_recipe
from mfg_desktop.core.score import score_file
from mfg_desktop.core.split import SplitSpec
from mfg_desktop.core.train import train_run
from mfg_desktop.qt.predict.panel import PredictPanel
from mfg_desktop.qt.predict.rows_model import FLAG_BRUSH

LEAKS = ["UDI", "Product ID", "TWF", "HDF", "PWF", "OSF", "RNF"]


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
    frame = ai4i.iloc[3000:5000].copy().astype({"Torque [Nm]": object})
    frame.loc[frame.index[7], "Torque [Nm]"] = "n.a.x"
    path = tmp_path / "in" / "batch_0412.csv"
    path.parent.mkdir()
    frame.to_csv(path, index=False)
    return path


def _panel(window) -> PredictPanel:
    window.show_step("predict")
    panel = window.page("predict")
    assert isinstance(panel, PredictPanel)
    return panel


def _open_model(panel, qtbot, model_path) -> None:
    job = panel.open_model(model_path)
    qtbot.waitUntil(lambda: not job.is_running() and panel.model is not None, timeout=60_000)


def test_scores_a_file_in_a_worker_and_shows_flagged_rows(main_window, qtbot, wait, model_path, batch, tmp_path,
                                                           run):
    panel = _panel(main_window)
    _open_model(panel, qtbot, model_path)
    card = panel.card.text()
    assert "binary classification" in card and "Machine_failure" in card and "fingerprint" in card
    # the threshold chosen on the validation rows when training (this panel still shows 2 decimals)
    assert f"flag when p(1) ≥ {run.threshold:.2f}" in card
    panel.add_paths([batch])
    job = panel.score()
    assert job is not None and job.is_running()  # the window stays responsive while it scores
    with qtbot.waitSignal(job.ended, timeout=60_000):
        pass
    wait.idle()
    [result] = panel.results
    assert (result.rows_read, result.rows_scored, result.rows_rejected) == (2000, 1999, 1)
    assert panel.files.result_list.currentRow() == 0
    assert "1,999 of 2,000 rows scored" in panel.result_view.result_title.text()
    summary = panel.result_view.summary.toPlainText()
    assert "Rows rejected" in summary and "'Torque [Nm]' is not a number: 1 row(s), the first at data row 8" in summary
    assert "should hold a number" in panel.result_view.warnings.text() and "n.a.x" in panel.result_view.warnings.text()
    assert "Predicted classes" in summary and f"Flagged (p(1) ≥ {run.threshold:.2f})" in summary
    assert panel.result_view.histogram.bars is not None and panel.result_view.histogram.mode == "histogram"

    model = panel.result_view.table.model()
    frame = model.frame
    flags = frame["flag"].to_numpy()
    assert flags.sum() == min(result.flagged_count, len(frame)) or result.flagged_count > 0
    flagged_row = int(np.flatnonzero(flags == 1)[0])
    plain_row = int(np.flatnonzero(flags == 0)[0])
    assert model.data(model.index(flagged_row, 0), Qt.ItemDataRole.BackgroundRole) is FLAG_BRUSH
    assert model.data(model.index(plain_row, 0), Qt.ItemDataRole.BackgroundRole) is not FLAG_BRUSH
    rejected_row = int(np.flatnonzero(frame["rejected"].notna().to_numpy())[0])
    assert rejected_row == 7 and frame["row"].iat[7] == 8

    panel.result_view.only_flagged.setChecked(True)
    shown = panel.result_view.table.model().frame
    assert len(shown) == min(result.flagged_count, 1000) and (shown["flag"] == 1).all()

    # GUI, core and the reopened model file agree on every row
    core = score_file(load_model_file(model_path), batch, tmp_path / "core")
    assert Path(core.output).read_bytes() == Path(result.output).read_bytes()

    shot_dir = os.environ.get("MFG_SCREENSHOT_DIR")
    if shot_dir:
        panel.result_view.only_flagged.setChecked(False)
        qtbot.wait(200)
        main_window.grab().save(str(Path(shot_dir) / "predict_panel.png"))


def test_export_as_csv_and_excel_into_a_chosen_folder(main_window, qtbot, wait, model_path, batch, tmp_path):
    panel = _panel(main_window)
    _open_model(panel, qtbot, model_path)
    panel.add_paths([batch.parent])  # a whole folder
    with qtbot.waitSignal(panel.score().ended, timeout=60_000):
        pass
    before = batch.read_bytes()
    export = tmp_path / "export"
    export.mkdir()
    for fmt in ("csv", "xlsx"):
        job = panel.export_to(export, fmt, all_files=True)
        with qtbot.waitSignal(job.ended, timeout=60_000):
            pass
    wait.idle()
    assert sorted(p.name for p in export.iterdir()) == ["batch_0412_scored.csv", "batch_0412_scored.xlsx"]
    assert panel.last_export == [export / "batch_0412_scored.xlsx"]
    assert len(pd.read_excel(export / "batch_0412_scored.xlsx")) == 2000
    assert batch.read_bytes() == before


def test_the_model_just_trained_and_file_open_model(main_window, qtbot, wait, run, model_path, ai4i, monkeypatch):
    main_window.session.add_run(run, ai4i.iloc[:2000])
    panel = _panel(main_window)
    assert panel.model is not None and panel.model.run is run
    assert "trained in this session" in panel.card.text()
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(model_path), ""))
    main_window.open_model_action.trigger()
    qtbot.waitUntil(lambda: panel.model is not None and panel.model.run is not run, timeout=60_000)
    wait.idle()
    assert str(model_path) in panel.card.text()


def test_watch_a_folder_logs_and_stops(main_window, qtbot, wait, model_path, ai4i, tmp_path):
    panel = _panel(main_window)
    _open_model(panel, qtbot, model_path)
    line, out = tmp_path / "line", tmp_path / "scored"
    line.mkdir()
    panel.watch_box.poll_spin.setValue(0.2)
    panel.watch_box.stable_spin.setValue(0.3)
    job = panel.start_watch(str(line), str(out))
    assert job is not None and not panel.watch_box.start_watch_button.isEnabled()
    ai4i.iloc[:100].to_csv(line / "drop_01.csv", index=False)
    qtbot.waitUntil(lambda: (out / "drop_01_scored.csv").exists() and bool(panel.results), timeout=60_000)
    assert "drop_01.csv: scored 100 of 100 rows" in panel.watch_box.watch_log.toPlainText()
    panel.stop_watch()
    with qtbot.waitSignal(job.ended, timeout=10_000):
        pass
    wait.idle()
    assert "stopped watching" in panel.watch_box.watch_log.toPlainText()
    assert panel.watch_box.start_watch_button.isEnabled() and not panel.watch_box.stop_watch_button.isEnabled()


def test_file_dialogs_start_in_the_folder_last_used_else_home(main_window, monkeypatch, tmp_path):
    panel = _panel(main_window)
    starts: list[tuple[str, str]] = []
    data = tmp_path / "line 3"
    data.mkdir()

    def open_files(parent, caption, directory, filters):
        starts.append(("files", directory))
        return [str(data / "day1.csv")], ""

    def folder(parent, caption, directory=""):
        starts.append(("folder", directory))
        return ""

    def save(parent, caption, directory, filters):
        starts.append(("save", directory))
        return "", ""

    monkeypatch.setattr(QFileDialog, "getOpenFileNames", open_files)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", folder)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", save)
    panel.files.choose_folder()
    assert starts[-1] == ("folder", str(Path.home()))  # nothing used yet
    panel.files.choose_files()
    assert panel.paths() == [str(data / "day1.csv")]
    panel.files.choose_folder()
    panel.watch_box.browse_into(panel.watch_box.watch_out)
    panel.result_view.choose_batch_report()
    assert starts[-3:] == [("folder", str(data)), ("folder", str(data)), ("save", str(data / "batch_report.pdf"))]
    monkeypatch.setattr(main_window, "open_files", lambda paths: None)
    main_window.choose_files()  # the window's File > Open shares the folder
    assert starts[-1] == ("files", str(data))
