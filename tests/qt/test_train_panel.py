"""The Train step: training in a worker with live curves, cancel, the runs table, saving, errors."""

from __future__ import annotations

import re
import threading
import time

import numpy as np
import pandas as pd
import pytest
from PySide6.QtCore import Qt

from mfg_desktop.qt import workers
from mfg_desktop.qt.train import panel as train_module
from mfg_desktop.qt.train.panel import TrainPanel


@pytest.fixture(scope="module")
def ai4i_slice(ai4i_path, tmp_path_factory):
    frame = pd.read_csv(ai4i_path, encoding="utf-8-sig")
    path = tmp_path_factory.mktemp("ai4i") / "ai4i_1500.csv"
    frame.sample(1500, random_state=0).sort_values("UDI").to_csv(path, index=False)
    return path


def _prepare(window, qtbot, wait, path) -> TrainPanel:
    window.load_files([str(path)])
    wait.loaded(window)
    window.data_panel.pick_target("Machine_failure")
    qtbot.waitUntil(lambda: window.session.target_report is not None, timeout=30_000)
    window.show_step("prepare")
    qtbot.waitUntil(lambda: window.session.recipe is not None, timeout=30_000)
    window.show_step("train")
    panel = window.page("train")
    assert isinstance(panel, TrainPanel)
    panel.apply_preset("fast")
    return panel


@pytest.fixture
def panel(main_window, qtbot, wait, ai4i_slice) -> TrainPanel:
    return _prepare(main_window, qtbot, wait, ai4i_slice)


def test_presets_fill_the_settings(panel):
    from mfg_desktop.core.network import preset

    assert panel.network_spec() == preset("fast")
    assert panel.form.preset_note.text() == ""
    panel.apply_preset("thorough")
    assert panel.network_spec() == preset("thorough")
    assert panel.form.hidden_edit.text() == "256, 256, 256"  # thorough: 8 ensemble members of this width
    panel.set_settings(hidden="64, 32", optimizer="sgd", epochs=7)
    spec = panel.network_spec()
    assert spec.hidden == [64, 32] and spec.optimizer == "sgd" and spec.epochs == 7
    assert spec.n_bins == preset("thorough").n_bins  # settings not on the form come from the preset
    assert "edited" in panel.form.preset_note.text()
    losses = [panel.form.loss_combo.itemData(i) for i in range(panel.form.loss_combo.count())]
    assert losses[0] == "auto" and "mse" not in losses  # binary task: no regression losses


def test_train_runs_in_a_worker_plots_each_epoch_and_lists_the_run(
    panel, main_window, qtbot, wait, monkeypatch
):
    on_gui_thread: list[bool] = []
    original = train_module.train_model

    def recording(*args, **kwargs):
        on_gui_thread.append(threading.current_thread() is threading.main_thread())
        return original(*args, **kwargs)

    monkeypatch.setattr(train_module, "train_model", recording)
    panel.set_settings(epochs=3, batch_size=64, patience=10)
    epoch_updates = []
    job = panel.train()
    assert job is not None and panel.is_training()
    assert not panel.form.train_button.isEnabled() and panel.form.stop_button.isEnabled()
    job.partial.connect(lambda u: epoch_updates.append(u) if hasattr(u, "val_loss") else None)
    with qtbot.waitSignal(job.ended, timeout=180_000):
        pass
    assert on_gui_thread == [False]
    assert [u.epoch for u in epoch_updates] == [1, 2, 3]

    curves = panel.curves
    assert np.array_equal(curves.loss_train.x, [1, 2, 3])
    assert np.allclose(curves.loss_train.y, [u.loss for u in epoch_updates])
    assert np.allclose(curves.loss_valid.y, [u.val_loss for u in epoch_updates])
    assert np.allclose(curves.metric_valid.y, [u.val_metric for u in epoch_updates])
    x, y = curves.loss_valid.item.getData()
    assert len(x) == 3 and np.allclose(y, curves.loss_valid.y)  # what pyqtgraph draws
    assert curves.batch_loss.count >= 1 and np.all(curves.batch_loss.x <= 3.0)
    assert curves.metric_plot.getPlotItem().titleLabel.text == "Accuracy"
    assert panel.tiles.epoch.value.text() == "3 / 3"

    run = main_window.session.current_run
    assert run is not None and main_window.session.runs == [run]
    assert main_window.session.frame_of(run) is main_window.session.frame
    assert run.epochs_run == 3 and not run.cancelled
    assert panel.runs.model.rowCount() == 1
    cells = [panel.runs.cell(0, c) for c in range(panel.runs.model.columnCount())]
    assert cells[1] == "ai4i_1500.csv" and cells[2] == "Machine_failure"  # which data, which target
    assert panel.runs.cell(0, 1, Qt.ItemDataRole.ToolTipRole) == "ai4i_1500.csv\n1,500 rows"
    assert cells[3] == "fast (edited)" and cells[4] == "3 / 3" and cells[11] == "finished"
    assert "accuracy" in cells[7] and "ROC-AUC" in cells[8]
    assert "Finished 3 epochs" in panel.status_label.text()
    assert panel.runs.save_button.isEnabled() and panel.form.train_button.isEnabled()
    qtbot.waitUntil(lambda: main_window.device_label.isVisible(), timeout=60_000)
    assert "CPU" in main_window.device_label.text() or "GPU" in main_window.device_label.text()
    wait.idle()


def test_trees_only_trains_lightgbm_and_the_panel_names_it(panel, main_window, qtbot, wait, tmp_path):
    panel.form.model_combo.setCurrentIndex(panel.form.model_combo.findData("trees"))
    panel.form.model_combo.activated.emit(panel.form.model_combo.currentIndex())  # as a user's pick
    assert panel.state.settings.model_choice == "trees"
    seen: list[str] = []
    job = panel.train()
    assert job is not None
    job.progress.connect(lambda *_: seen.append(panel.status_label.text()))
    job.partial.connect(lambda *_: seen.append(panel.status_label.text()))
    with qtbot.waitSignal(job.ended, timeout=180_000):
        pass
    run = main_window.session.current_run
    assert run is not None and run.chosen == "trees" and run.model_choice == "trees" and run.epochs_run == 0
    assert "Fitting LightGBM trees…" in seen
    # the rounds as they go (a fast fit may show only the last message, which always comes)
    rounds = r"Fitting LightGBM trees: (round \d+ of at most \d+|\d+ rounds kept of \d+ run)"
    assert any(re.match(rounds, line) for line in seen), seen
    status = panel.status_label.text()
    assert status.startswith("Fitted the LightGBM trees. Kept the LightGBM trees: LightGBM trees only")
    assert panel.runs.cell(0, 8).startswith("LightGBM trees")
    # a trees-only run saves like any other, and the file scores without a network in it
    from mfg_desktop.core.bundle import load_model_file

    path = tmp_path / "trees_only.mfgmodel"
    save = panel.save_run(run, path)
    with qtbot.waitSignal(save.ended, timeout=60_000):
        pass
    loaded = load_model_file(path)
    assert loaded.run.chosen == "trees" and loaded.run.model is None and loaded.run.trees is not None
    frame = main_window.session.frame.head(50)
    assert (loaded.predict_outputs(frame) == run.predict_matrix(run.fitted.transform(frame))).all()
    wait.idle()


def test_an_auto_run_says_which_model_it_fits_and_which_it_kept(panel, main_window, qtbot, wait):
    assert panel.state.settings.model_choice == "auto"
    panel.set_settings(epochs=2, batch_size=64, patience=10)
    seen: list[str] = []
    job = panel.train()
    assert job is not None
    job.progress.connect(lambda *_: seen.append(panel.status_label.text()))
    job.partial.connect(lambda *_: seen.append(panel.status_label.text()))
    with qtbot.waitSignal(job.ended, timeout=180_000):
        pass
    run = main_window.session.current_run
    assert run is not None and run.model_choice == "auto" and set(run.candidates) == {"network", "trees", "blend"}
    network_at = seen.index("Fitting the network…")
    trees_at = seen.index("Fitting LightGBM trees…")
    assert network_at < trees_at
    assert any(line.startswith("Fitting the network on ") for line in seen[network_at:trees_at])
    kept = {"trees": "LightGBM trees", "network": "network", "blend": "network + LightGBM (averaged)"}[run.chosen]
    assert f"Kept the {kept}: {run.choice_reason}." in panel.status_label.text()
    assert panel.runs.cell(0, 8).startswith(kept)
    wait.idle()


def test_cancel_stops_within_a_second_and_the_run_can_be_saved(
    panel, main_window, qtbot, wait, monkeypatch, tmp_path
):
    panel.set_settings(epochs=400, batch_size=16, patience=400)
    job = panel.train()
    qtbot.waitUntil(lambda: panel.curves.loss_train.count >= 2, timeout=180_000)
    panel.form.stop_button.click()
    started = time.perf_counter()
    assert "Stopping" in panel.status_label.text()
    with qtbot.waitSignal(job.ended, timeout=10_000):
        pass
    took = time.perf_counter() - started
    print(f"cancel took {took:.3f} s")
    assert took < 1.5, f"cancel took {took:.2f} s"

    run = main_window.session.current_run
    assert run is not None and run.cancelled and 2 <= run.epochs_run < 400
    assert 1 <= run.best_epoch <= run.epochs_run
    cells = [panel.runs.cell(0, c) for c in range(panel.runs.model.columnCount())]
    assert "cancelled" in cells[11]
    assert "Cancelled after" in panel.status_label.text()

    # Save model…: the dialog's answer, then the write happens on a worker thread
    target = tmp_path / "cancelled_run"
    monkeypatch.setattr(train_module.QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    save = panel.save_current_run()
    with qtbot.waitSignal(save.ended, timeout=60_000):
        pass
    path = tmp_path / "cancelled_run.mfgmodel"
    assert path.is_file()
    assert "Saved" in panel.status_label.text()

    from mfg_desktop.core.bundle import load_model_file

    loaded = load_model_file(path)
    frame = main_window.session.frame_of(run)
    rows = frame.iloc[run.split_test[:50]]
    assert np.allclose(
        loaded.predict_outputs(rows), run.predict_matrix(run.fitted.transform(rows)), atol=1e-6
    )
    wait.idle()


def test_selecting_a_run_makes_it_current_and_shows_its_curves(panel, main_window, qtbot, wait):
    panel.set_settings(epochs=2, batch_size=128)
    for _ in range(2):
        job = panel.train()
        with qtbot.waitSignal(job.ended, timeout=180_000):
            pass
    runs = main_window.session.runs
    assert len(runs) == 2 and main_window.session.current_run is runs[1]
    assert panel.runs.model.rowCount() == 2
    panel.runs.table.selectRow(0)
    assert main_window.session.current_run is runs[0]
    assert np.allclose(panel.curves.loss_valid.y, runs[0].history["val_loss"])
    assert panel.curves.batch_loss.count == 0  # an old run keeps no per-batch trace
    wait.idle()


def test_a_training_error_appears_in_the_banner_and_the_app_stays_usable(panel, main_window, qtbot, wait):
    prepare = main_window.page("prepare")
    inputs = list(main_window.session.recipe.inputs)
    for name in inputs:
        prepare.set_used(name, False)
    job = panel.train()
    with qtbot.waitSignal(job.ended, timeout=60_000):
        pass
    assert main_window.banner.isVisible() and main_window.banner.level == "error"
    assert "No usable inputs" in main_window.banner.text()
    assert "did not run" in panel.status_label.text()
    assert main_window.session.runs == []
    assert panel.form.train_button.isEnabled()

    # bad network settings are refused before any thread starts
    prepare.set_used(inputs[0], True)
    panel.set_settings(hidden="wide")
    assert panel.train() is None
    assert "Hidden layers" in main_window.banner.text()
    assert not workers.running_jobs() or all(j.name != "train" for j in workers.running_jobs())
    wait.idle()


def test_closing_the_window_during_training_cancels_and_waits(qtbot, wait, ai4i_slice):
    from mfg_desktop.qt.main_window import MainWindow

    window = MainWindow()
    qtbot.addWidget(window)
    window.resize(1400, 900)
    window.show()
    panel = _prepare(window, qtbot, wait, ai4i_slice)
    panel.set_settings(epochs=400, batch_size=16, patience=400)
    panel.train()
    qtbot.waitUntil(lambda: panel.curves.loss_train.count >= 1, timeout=180_000)
    started = time.perf_counter()
    window.close()
    assert time.perf_counter() - started < 5
    assert not workers.running_jobs()


def test_the_status_bar_names_the_device_from_a_worker(main_window, qtbot, wait, monkeypatch):
    calls: list[bool] = []

    def fake_device(state):
        calls.append(threading.current_thread() is threading.main_thread())
        return "GPU: Test Accelerator"

    monkeypatch.setattr(train_module, "describe_device", fake_device)
    main_window.show_step("train")
    qtbot.waitUntil(lambda: main_window.device_label.isVisible(), timeout=10_000)
    assert calls == [False]
    assert main_window.device_label.text() == "Training device: GPU: Test Accelerator"
    # without data the Train button waits for the Prepare step
    panel = main_window.page("train")
    assert not panel.form.train_button.isEnabled()
    assert "Load data" in panel.summary_label.text()
    assert panel.runs.model.rowCount() == 0
    assert main_window.device_label.parent() is not None
    titles = [panel.runs.model.headerData(c, Qt.Orientation.Horizontal) for c in range(12)]
    assert titles[:3] == ["Run", "Data", "Target"] and titles[11] == "Status"
    assert panel.form.train_button.text() == "Train" and panel.form.stop_button.text() == "Cancel"
    wait.idle()


def test_the_panel_works_on_a_bare_context_without_a_window(qtbot, wait, monkeypatch):
    from mfg_desktop.qt.context import AppContext
    from mfg_desktop.qt.session import SessionModel

    monkeypatch.setattr(train_module, "describe_device", lambda state: "GPU: Test Accelerator")
    ctx = AppContext(SessionModel())
    devices: list[str] = []
    messages: list[tuple[str, str]] = []
    ctx.device_described.connect(devices.append)
    ctx.message_requested.connect(lambda text, level: messages.append((text, level)))
    panel = TrainPanel(ctx)
    qtbot.addWidget(panel)
    qtbot.waitUntil(lambda: devices == ["GPU: Test Accelerator"], timeout=10_000)
    assert "Load data" in panel.summary_label.text() and not panel.form.train_button.isEnabled()
    assert panel.train() is None
    assert messages and "Prepare the data first" in messages[-1][0]
    panel.apply_preset("fast")
    panel.set_settings(hidden="64 32", seed=5)
    assert panel.state.settings.seed == 5 and panel.network_spec().hidden == [64, 32]
    assert panel.form.preset_note.text() == "edited: differs from the preset"
    wait.idle()
