"""The Prepare step's sensor-history set-up in the window: suggestion, checks, label rules, join,
windows, the split by entity, the build on a worker, and training on the built features."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pandas as pd
from PySide6.QtCore import Qt

from mfg_desktop.core.history import SOURCE_FILE
from mfg_desktop.qt.prepare import history_view as history_module
from mfg_desktop.qt.prepare.history_state import LABEL_FAILS, LABEL_JOIN, LABEL_RUL
from mfg_desktop.qt.prepare.inputs_table import COL_NAME, COL_REASON
from mfg_desktop.qt.prepare.panel import PreparePanel

CMAPSS = Path(__file__).resolve().parents[1] / "data" / "cmapss_fd001_6engines.txt"  # engines 1-6


def _open(window, qtbot, wait, paths) -> PreparePanel:
    window.load_files([str(p) for p in paths])
    wait.loaded(window)
    qtbot.waitUntil(lambda: window.session.target_report is not None, timeout=30_000)  # the suggested target
    window.show_step("prepare")
    page = window.page("prepare")
    qtbot.waitUntil(lambda: window.session.recipe is not None, timeout=30_000)
    qtbot.waitUntil(lambda: page.history_view.suggestion is not None, timeout=30_000)
    return page


def _build(page, qtbot):
    view = page.history_view
    qtbot.waitUntil(lambda: not view.check_task.is_running() and view.build_button.isEnabled(), timeout=30_000)
    job = view.build()
    assert job is not None
    with qtbot.waitSignal(view.built, timeout=60_000):
        pass
    qtbot.waitUntil(lambda: page.session.recipe is not None
                    and page.session.recipe.target == page.session.history.target, timeout=30_000)
    return page.session.history


def _reason(page, name) -> tuple[bool, str]:
    table = page.inputs.table
    row = [table.item(r, COL_NAME).text() for r in range(table.rowCount())].index(name)
    return table.item(row, COL_NAME).checkState() == Qt.CheckState.Checked, table.item(row, COL_REASON).text()


def test_cmapss_rul_with_windows_builds_on_a_worker_and_trains_as_the_cli_does(main_window, qtbot, wait,
                                                                               monkeypatch, tmp_path):
    page = _open(main_window, qtbot, wait, [CMAPSS])
    view = page.history_view
    # pre-filled from the suggestion, said as one with its reason; nothing applied until built
    assert view.entity.currentData() == "col_1" and view.order.currentData() == "col_2"
    assert view.entity.itemText(0) == "(none: independent rows)"
    assert "Suggested: rows of col_1" in view.suggestion_label.text() and "one run" in view.suggestion_label.text()
    assert main_window.session.history is None and "Not built yet" in view.status_label.text()
    qtbot.waitUntil(lambda: "6 entities" in view.check_label.text(), timeout=30_000)
    # the rows look time-ordered (a cycle counter within each engine): a random split is warned about
    assert page.split_view.split_method.currentData() == "random"
    assert not page.split_view.time_warning.isHidden() and "col_2" in page.split_view.time_warning.text()

    view.label_view.set_rule(LABEL_RUL)
    view.label_view.cap.setValue(100)
    view.set_windows("minimal", "5, 20")
    # the curve of one engine: piecewise-linear, flat at the cap, down to 0 at its last cycle
    x, y = view.label_view.curve_line.getData()
    assert len(x) == 192 and y.max() == 100 and y[-1] == 0 and np.all(np.diff(y) <= 0)
    view.label_view.curve_entity.setCurrentIndex(2)
    assert "col_1 = 3" in view.label_view.curve_status.text()

    on_gui_thread = []
    original = history_module.build_history

    def recording(*args, **kwargs):
        on_gui_thread.append(threading.current_thread() is threading.main_thread())
        return original(*args, **kwargs)

    monkeypatch.setattr(history_module, "build_history", recording)
    built = _build(page, qtbot)
    assert on_gui_thread == [False]
    session = main_window.session
    assert built.target == "RUL" and session.training_frame is built.frame
    assert "col_7 slope20" in built.frame.columns and len(built.frame) == 1304
    assert "✓ Built: 1,304 rows" in view.status_label.text() and "the target is RUL" in view.status_label.text()
    # entity and order columns start unticked with their reason; the features are inputs
    recipe = session.recipe
    assert recipe.target == "RUL" and recipe.task == "regression"
    assert "col_7 mean5" in recipe.inputs and "col_7" in recipe.inputs
    assert not {"col_1", "col_2"} & set(recipe.inputs)
    ticked, why = _reason(page, "col_1")
    assert not ticked and "entity id" in why
    # split by entity by default, and the split view says so; no time warning for that split
    assert session.split_spec.method == "group" and session.split_spec.column == "col_1"
    assert "col_1" in page.split_view.split_status.text() and page.split_view.time_warning.isHidden()
    # ticking the entity on purpose warns
    page.set_used("col_1", True)
    assert "entity id and an input" in view.ticked_label.text() and not view.ticked_label.isHidden()
    page.set_used("col_1", False)
    assert view.ticked_label.isHidden()
    # a changed setting is not applied until built again
    view.label_view.cap.setValue(125)
    assert "build again" in view.status_label.text() and session.history is built

    main_window.show_step("train")
    train = main_window.page("train")
    train.apply_preset("fast")
    train.set_settings(epochs=2, model_choice="network")
    job = train.train()
    assert job is not None
    with qtbot.waitSignal(job.ended, timeout=180_000):
        pass
    run = session.current_run
    assert run is not None and run.epochs_run == 2
    assert run.history_spec["entity"] == "col_1" and run.history_spec["rul_cap"] == 100
    assert run.history_spec["sizes"] == [5, 20]
    assert session.frame_of(run) is built.frame
    engines = np.loadtxt(CMAPSS)[:, 0]
    assert not set(engines[run.split_test]) & set(engines[run.split_train])  # test engines unseen
    # the Evaluate step judges the run on its held-out engines of the built frame
    from mfg_desktop.core.evaluate import evaluate_run

    evaluation = evaluate_run(run, session.frame_of(run), importance=False, baselines=False)
    assert evaluation.source == "test" and np.array_equal(evaluation.rows, run.split_test)
    assert evaluation.metrics["rmse"] > 0
    # the saved model applies the same windows to a new history file: a short engine is flagged
    from mfg_desktop import cli
    from mfg_desktop.core.bundle import save_model_file

    model = save_model_file(run, tmp_path / "rul.mfgmodel")
    short = tmp_path / "engine_3_new.txt"
    short.write_text("\n".join([r for r in CMAPSS.read_text().splitlines() if r.split()[0] == "3"][:8]) + "\n")
    assert cli.main(["predict", str(model), str(short), "--out", str(tmp_path / "scored")]) == 0
    scored = pd.read_csv(tmp_path / "scored" / "engine_3_new_scored.csv")
    assert len(scored) == 8 and scored["short_history"].all() and scored["prediction"].notna().all()
    # the sequence network reads the same histories: chosen in the Train step, trained from the window
    train.set_settings(epochs=1, model_choice="sequence")
    job = train.train()
    with qtbot.waitSignal(job.ended, timeout=180_000):
        pass
    run = session.current_run
    assert run is not None and run.is_sequence and run.history_spec["entity"] == "col_1"

    # back to independent rows: the loaded frame and the Data step's target again
    main_window.show_step("prepare")
    view.set_entity(None)
    assert session.history is None and session.training_frame is session.frame
    qtbot.waitUntil(lambda: session.recipe is not None and session.recipe.target == session.target, timeout=30_000)
    wait.idle()


def _machines(n_machines: int = 6, rows: int = 30, seed: int = 0) -> pd.DataFrame:
    """Machines run to failure, with a timestamp order; vibration rises towards the end."""
    rng = np.random.default_rng(seed)
    parts = []
    for m in range(n_machines):
        life = rows + 5 * m
        t = pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(life) * 3600, unit="s")
        parts.append(pd.DataFrame({"machine": f"M{m + 1}", "time": t,
                                   "vibration": rng.normal(1, 0.05, life) + np.linspace(0, 1, life),
                                   "temperature": rng.normal(60, 1, life), "quality": rng.integers(0, 2, life)}))
    return pd.concat(parts, ignore_index=True)


def test_problems_are_clear_messages_and_block_the_build(main_window, qtbot, wait, tmp_path):
    frame = _machines()
    frame.loc[5, "time"] = frame.loc[2, "time"]  # goes backwards within M1
    path = tmp_path / "machines.csv"
    frame.to_csv(path, index=False)
    page = _open(main_window, qtbot, wait, [path])
    view = page.history_view
    view.set_entity("machine", "time")
    qtbot.waitUntil(lambda: "backwards" in view.check_label.text(), timeout=30_000)
    assert "'M1'" in view.check_label.text() and "row 6" in view.check_label.text()
    assert not view.build_button.isEnabled()
    view.set_entity("quality", None)  # two values interleaved: fine to check, a poor entity
    view.set_entity("vibration", None)  # one value per row
    qtbot.waitUntil(lambda: "every row" in view.check_label.text(), timeout=30_000)
    view.label_view.set_rule(LABEL_FAILS)
    view.sizes.setText("5, x")
    view.set_entity("machine", None)
    assert view.build() is None and "'x' is not a whole number" in view.check_label.text()
    wait.idle()


def test_one_machine_is_one_history_split_by_time_with_its_own_target(main_window, qtbot, wait, tmp_path):
    path = tmp_path / "press_line_1.csv"
    _machines(1, rows=120).drop(columns="machine").to_csv(path, index=False)
    page = _open(main_window, qtbot, wait, [path])
    view = page.history_view
    assert page.split_view.split_method.currentData() == "random"
    assert "time" in page.split_view.time_warning.text()  # timestamps split at random: warned
    view.set_entity(None, "time", single=True)
    view.label_view.set_rule("target")
    view.set_windows("minimal", "7200")  # two hours of a timestamp order: seconds
    qtbot.waitUntil(lambda: "1 entity of" in view.check_label.text() and "seconds" in view.check_label.text(),
                    timeout=30_000)
    built = _build(page, qtbot)
    assert built.spec.entity is None and built.spec.order_kind == "time"
    assert "vibration slope7200s" in built.frame.columns and built.target == main_window.session.target
    assert main_window.session.split_spec.method == "time" and main_window.session.split_spec.column == "time"
    assert page.split_view.time_warning.isHidden()
    # another target on the Data step: the build kept the old one, so it no longer applies
    main_window.data_panel.pick_target("temperature")
    assert main_window.session.history is None and "Not built yet" in view.status_label.text()
    qtbot.waitUntil(lambda: main_window.session.recipe is not None
                    and main_window.session.recipe.target == "temperature", timeout=30_000)
    wait.idle()


def test_files_as_entities_with_a_joined_label_table_and_unmatched_keys(main_window, qtbot, wait, tmp_path):
    rng = np.random.default_rng(1)
    paths = []
    for k in range(1, 9):
        worn = k % 2 == 1
        n = 25
        part = pd.DataFrame({"vibration": rng.normal(1, 0.1, n) + (np.linspace(0, 1.5, n) if worn else 0),
                             "current": rng.normal(5, 0.2, n)})
        paths.append(tmp_path / f"experiment_{k:02d}.csv")
        part.to_csv(paths[-1], index=False)
    table = tmp_path / "verdicts.csv"
    # experiment 8 has no verdict row: reported, its rows kept; 9 matches no file
    pd.DataFrame({"experiment": [1, 2, 3, 4, 5, 6, 7, 9],
                  "tool_condition": ["worn", "unworn"] * 4}).to_csv(table, index=False)
    page = _open(main_window, qtbot, wait, paths)
    view = page.history_view
    assert view.entity.findData(SOURCE_FILE) > 0
    assert "one history per loaded file" in view.entity.itemText(view.entity.findData(SOURCE_FILE))
    view.set_entity(SOURCE_FILE, None)
    view.label_view.set_rule(LABEL_JOIN)
    assert view.label_view.history_key.currentText() == "number in the file name"
    view.label_view.set_table(str(table))
    qtbot.waitUntil(lambda: view.label_view.join_target.count() == 2, timeout=30_000)
    assert view.label_view.table_key.currentData() == "experiment"
    assert view.label_view.join_target.currentData() == "tool_condition"
    view.set_windows("minimal", "5")
    built = _build(page, qtbot)
    assert built.target == "tool_condition" and len(built.frame) == 8 * 25  # no row dropped
    assert "experiment_08.csv" in built.unmatched and built.unmatched["experiment_08.csv"] == 25
    text = view.status_label.text()
    assert "no table row for experiment_08.csv" in text and "match no history: 9" in text
    recipe = main_window.session.recipe
    assert recipe.target == "tool_condition" and "vibration slope5" in recipe.inputs
    assert SOURCE_FILE not in recipe.inputs
    assert main_window.session.split_spec.method == "group"
    wait.idle()


def test_building_a_million_rows_leaves_the_window_responsive(main_window, qtbot, wait):
    """The build runs on a worker: the GUI thread keeps answering its timer all along."""
    import time

    from mfg_desktop.qt.prepare.history_state import HistoryChoices
    from mfg_desktop.qt.prepare.jobs import build_history
    from mfg_desktop.qt.workers import run_in_thread

    rows, units = 1_000_000, 1_000
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"unit": np.repeat(np.arange(units), rows // units),
                          "cycle": np.tile(np.arange(rows // units), units)})
    for k in range(2):
        frame[f"s{k}"] = rng.normal(size=rows)
    choices = HistoryChoices(entity="unit", order="cycle", label=LABEL_RUL, sizes_text="5, 20")
    ticks = [time.monotonic()]
    timer_id = main_window.startTimer(20)
    main_window.timerEvent = lambda _e: ticks.append(time.monotonic())
    job = run_in_thread(build_history, frame, choices, None, [], name="build history")
    results = []
    job.finished.connect(results.append)
    with qtbot.waitSignal(job.ended, timeout=120_000):
        pass
    main_window.killTimer(timer_id)
    assert results and len(results[0].frame) == rows and "s1 slope20" in results[0].frame.columns
    assert max(np.diff(ticks)) < 2.0  # never frozen for long, however long the build took
    # Cancel: the job ends as cancelled, without a result
    job = run_in_thread(build_history, frame, choices, None, [], name="build history")
    outcome = []
    job.finished.connect(lambda _r: outcome.append("finished"))
    job.cancelled.connect(lambda: outcome.append("cancelled"))
    qtbot.wait(300)
    job.cancel()
    with qtbot.waitSignal(job.ended, timeout=120_000):
        pass
    assert outcome == ["cancelled"]
    wait.idle()


def test_saved_work_keeps_the_history_set_up_and_builds_it_again(main_window, qtbot, wait, tmp_path):
    from mfg_desktop.qt.main_window import MainWindow

    page = _open(main_window, qtbot, wait, [CMAPSS])
    view = page.history_view
    view.label_view.set_rule(LABEL_FAILS)
    view.label_view.fails.setValue(20)
    view.set_windows("extended", "5")
    built = _build(page, qtbot)
    page.set_used("col_7 lag1", False)
    page.set_split("group", "col_1", train=0.6, valid=0.2, test=0.2)
    session = main_window.session
    saved_recipe, saved_split = session.recipe.to_dict(), session.split_spec.to_dict()
    path = main_window.work.save_work(tmp_path / "engines")
    assert json.loads(path.read_text(encoding="utf-8"))["history"]["fails_within"] == 20

    restored = MainWindow()
    qtbot.addWidget(restored)
    restored.resize(1400, 900)
    restored.show()
    assert restored.work.open_work(path)
    qtbot.waitUntil(lambda: restored.work.restore is None, timeout=60_000)
    wait.idle()
    again = restored.session
    assert again.history is not None and again.history.spec.to_dict() == built.spec.to_dict()
    assert again.history.target == "fails_within_20" and again.recipe.target == "fails_within_20"
    plans = lambda recipe: [(c["name"], c["role"]) for c in recipe["columns"]]
    assert plans(again.recipe.to_dict()) == plans(saved_recipe)
    assert again.split_spec.to_dict() == saved_split
    assert restored.page("prepare").history_view.windows.currentData() == "extended"
    assert "could not be built" not in restored.banner.text()
    restored.close()


def test_irregular_timestamps_are_resampled_to_a_fixed_step_with_the_gap_rule(main_window, qtbot, wait, tmp_path):
    frame = _machines(3, rows=40)
    rng = np.random.default_rng(3)
    # readings at irregular times within each hour, and a 6-hour hole in machine M2
    frame["time"] = frame["time"] + pd.to_timedelta(rng.integers(0, 3000, len(frame)), unit="s")
    hole = frame.index[(frame["machine"] == "M2")][10:16]
    path = tmp_path / "irregular.csv"
    frame.drop(index=hole).to_csv(path, index=False)
    page = _open(main_window, qtbot, wait, [path])
    view = page.history_view
    view.set_entity("machine", "time")
    view.label_view.set_rule(LABEL_RUL)
    view.set_windows("minimal", "3")
    view.resample.set_values("1h", 2)
    assert view.choices().spec().resample == "1h" and view.choices().spec().max_gap == 2
    built = _build(page, qtbot)
    assert built.spec.resample == "1h"
    m2 = built.frame[built.frame["machine"] == "M2"]
    steps = pd.to_datetime(m2["time"]).diff().dropna()
    assert (steps == pd.Timedelta("1h")).all()  # one row per step, the hole included
    others = built.frame[built.frame["machine"] != "M2"]
    # the hole is longer than 2 steps: left missing and flagged, not invented; the other machines have none
    assert 4 <= m2["resampled_gap"].sum() <= 7 and not others["resampled_gap"].any()
    assert "vibration mean3" in built.frame.columns
    wait.idle()
