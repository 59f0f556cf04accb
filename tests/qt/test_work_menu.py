"""Saved work in the window: the question before work is thrown away, Save work / Open work,
the autosave and the restore offered after a crash."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pandas as pd
import pytest
from PySide6.QtWidgets import QFileDialog, QMessageBox

from mfg_desktop.core.work import read_work
from mfg_desktop.qt import work_menu
from mfg_desktop.qt.main_window import MainWindow
from mfg_desktop.qt.work_menu import WorkController

Button = QMessageBox.StandardButton
ASK = WorkController.ask_before_closing  # the real question (tests/qt/conftest.py answers Discard)


@pytest.fixture(scope="module")
def ai4i_slice(ai4i_path, tmp_path_factory):
    frame = pd.read_csv(ai4i_path, encoding="utf-8-sig")
    path = tmp_path_factory.mktemp("work") / "ai4i_900.csv"
    frame.sample(900, random_state=3).sort_values("UDI").to_csv(path, index=False)
    return path


def _window(qtbot) -> MainWindow:
    window = MainWindow()
    qtbot.addWidget(window)
    window.resize(1400, 900)
    window.show()
    qtbot.waitExposed(window)
    return window


def _answer(monkeypatch, button: Button) -> list[str]:
    """Answer the close question with ``button``; the questions' texts are collected."""
    asked: list[str] = []
    monkeypatch.setattr(WorkController, "ask_before_closing", ASK)

    def exec_(box):
        asked.append(box.text())
        return button.value

    monkeypatch.setattr(QMessageBox, "exec", exec_)
    return asked


def _prepared(window, qtbot, wait, path):
    window.load_files([str(path)])
    wait.loaded(window)
    window.data_panel.pick_target("Machine_failure")
    qtbot.waitUntil(lambda: window.session.target_report is not None, timeout=30_000)
    window.show_step("prepare")
    qtbot.waitUntil(lambda: window.session.recipe is not None, timeout=30_000)
    return window.page("prepare")


def _train(window, qtbot, wait):
    window.show_step("train")
    train = window.page("train")
    train.apply_preset("fast")
    train.set_settings(epochs=2, hidden="16")
    train.train()
    qtbot.waitUntil(lambda: len(window.session.runs) == 1, timeout=120_000)
    wait.idle()
    return train


def test_quit_asks_before_an_unsaved_run_is_thrown_away(qtbot, wait, monkeypatch, ai4i_small_run, tmp_path):
    window = _window(qtbot)
    window.session.add_run(ai4i_small_run.run, ai4i_small_run.frame)

    asked = _answer(monkeypatch, Button.Cancel)
    assert not window.close()
    assert window.isVisible() and asked and "1 trained model(s) not saved" in asked[0]

    # Save work…: a file dialog, then the run is written as a model file beside the work file
    _answer(monkeypatch, Button.Save)
    target = tmp_path / "line7"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    assert window.close()
    work = read_work(tmp_path / "line7.mfgwork")
    assert [m.run_id for m in work.models] == [ai4i_small_run.run.id]
    assert (tmp_path / work.models[0].path).is_file()


def test_quit_discards_when_told_and_asks_nothing_without_unsaved_work(qtbot, monkeypatch, ai4i_small_run):
    window = _window(qtbot)
    window.session.add_run(ai4i_small_run.run, ai4i_small_run.frame)
    asked = _answer(monkeypatch, Button.Discard)
    assert window.close() and len(asked) == 1
    other = _window(qtbot)
    assert other.close() and len(asked) == 1  # nothing to lose: no question


def test_save_work_and_open_it_in_a_new_window_restores_every_step(qtbot, wait, ai4i_slice, tmp_path):
    window = _window(qtbot)
    prepare = _prepared(window, qtbot, wait, ai4i_slice)
    assert prepare.add_derived('dT = "Process temperature [K]" - "Air temperature [K]"')
    qtbot.waitUntil(lambda: window.session.recipe is not None and bool(window.session.recipe.derived), timeout=30_000)
    prepare.set_used("Tool wear [min]", False)
    prepare.set_plan("Torque [Nm]", scale="robust")
    prepare.set_split("random", train=0.6, valid=0.2, test=0.2)
    train = _train(window, qtbot, wait)
    saved_recipe = window.session.recipe.to_dict()
    saved_split = window.session.split_spec.to_dict()
    saved_settings = train.state.settings

    path = window.work.save_work(tmp_path / "milling")
    assert path.name == "milling.mfgwork"
    run_id = window.session.runs[0].id
    model = tmp_path / window.session.model_files[run_id]
    assert model.is_file()  # the run was saved beside the work file
    stored = json.loads(path.read_text(encoding="utf-8"))
    assert stored["target"] == "Machine_failure" and stored["models"][0]["run_id"] == run_id
    assert not stored["models"][0]["in_predict"]
    predict = window.page("predict")  # score with the saved file: the Predict step is part of the work
    predict.open_model(model)
    qtbot.waitUntil(lambda: getattr(predict.state.model, "path", None) is not None, timeout=30_000)
    window.work.save_work(path)
    assert json.loads(path.read_text(encoding="utf-8"))["models"][0]["in_predict"]
    assert window.close()  # nothing unsaved any more

    restored = _window(qtbot)
    assert restored.work.open_work(path)
    qtbot.waitUntil(lambda: restored.work.restore is None, timeout=60_000)
    wait.idle()
    session = restored.session
    assert session.target == "Machine_failure"
    plans = lambda recipe: [(c["name"], c["role"], c["impute"], c["scale"], c["encode"]) for c in recipe["columns"]]
    assert plans(session.recipe.to_dict()) == plans(saved_recipe)
    assert session.recipe.to_dict()["derived"] == saved_recipe["derived"]
    assert session.split_spec.to_dict() == saved_split
    assert restored.page("train").state.settings == saved_settings
    assert [m.path for m in restored.work.work_models] == [str(model.resolve())]
    assert model.name in restored.banner.text() and "restored" in restored.banner.text()
    predict = restored.page("predict")
    qtbot.waitUntil(lambda: getattr(predict.state.model, "path", None) is not None, timeout=30_000)  # again
    assert Path(predict.state.model.path).resolve() == model.resolve()
    assert restored.work.snapshot().models == read_work(path).models  # kept for the next save
    restored.close()


def test_open_work_warns_when_a_data_file_changed_or_is_damaged(qtbot, wait, ai4i_slice, tmp_path):
    copy = tmp_path / "ai4i_copy.csv"
    copy.write_bytes(ai4i_slice.read_bytes())
    window = _window(qtbot)
    window.load_files([str(copy)])
    wait.loaded(window)
    path = window.work.save_work(tmp_path / "w.mfgwork")
    with open(copy, "a", encoding="utf-8") as fh:
        fh.write(copy.read_text(encoding="utf-8").splitlines()[1] + "\n")
    assert window.work.open_work(path)
    qtbot.waitUntil(lambda: window.work.restore is None, timeout=60_000)
    wait.idle()
    assert "ai4i_copy.csv has changed since the work was saved" in window.banner.text()
    assert len(window.session.frame) == 901  # the file as it is now

    damaged = tmp_path / "damaged.mfgwork"
    damaged.write_text(path.read_text(encoding="utf-8")[:40], encoding="utf-8")
    assert not window.work.open_work(damaged)
    assert "damaged.mfgwork" in window.banner.text() and "not valid JSON" in window.banner.text()


def test_autosave_and_the_restore_offered_after_a_crash(qtbot, wait, ai4i_slice, monkeypatch):
    window = _window(qtbot)
    assert not window.work.crashed_before  # a fresh config folder: nothing to restore
    _prepared(window, qtbot, wait, ai4i_slice)
    # the autosave follows each step's change, once the burst of changes has settled
    qtbot.waitUntil(lambda: work_menu.autosave_path().is_file(), timeout=10_000)
    qtbot.waitUntil(lambda: read_work(work_menu.autosave_path()).recipe is not None, timeout=10_000)
    assert not work_menu.clean_exit_marker().exists()

    # a second app started meanwhile neither calls the running one's work crashed nor saves over it
    second = _window(qtbot)
    assert not second.work.owns_autosave and not second.work.crashed_before
    assert second.work.autosave() is None
    second.close()
    # the process dies here (no closeEvent, and its lock goes with it); the next start finds the
    # autosave without the clean-exit marker, and a temporary an interrupted autosave left
    window.work._lock.unlock()
    window.work.owns_autosave = False
    stale = work_menu.autosave_path().parent / ".autosave.mfgwork.k9x2.tmp"
    stale.write_text("{", encoding="utf-8")
    crashed_then = _window(qtbot)
    assert not stale.exists()
    assert crashed_then.work.crashed_before
    asked = []
    monkeypatch.setattr(QMessageBox, "exec", lambda box: asked.append(box.text()) or Button.Yes.value)
    assert crashed_then.work.offer_restore_after_crash()
    assert "did not close normally" in asked[0]
    qtbot.waitUntil(lambda: crashed_then.work.restore is None, timeout=60_000)
    wait.idle()
    assert crashed_then.session.target == "Machine_failure"
    assert crashed_then.session.recipe.to_dict() == window.session.recipe.to_dict()
    window.close()  # the "dead" one: no marker
    assert not work_menu.clean_exit_marker().exists()
    crashed_then.close()
    assert work_menu.clean_exit_marker().is_file()
    assert not _window(qtbot).work.crashed_before  # closed normally: no offer next time


def test_files_are_hashed_by_the_load_job_never_by_the_autosave_on_the_gui_thread(qtbot, wait, ai4i_slice,
                                                                                  monkeypatch):
    import threading

    from mfg_desktop.core import fingerprint

    hashed_on = []
    original = fingerprint.file_sha256
    monkeypatch.setattr(fingerprint, "file_sha256",
                        lambda p: hashed_on.append(threading.current_thread() is threading.main_thread())
                        or original(p))
    ai4i_slice.touch()  # a new version of the file: not hashed by an earlier test
    window = _window(qtbot)
    window.load_files([str(ai4i_slice)])
    wait.loaded(window)
    assert hashed_on == [False]  # once, on the load job's worker thread
    for _ in range(5):
        window.work.autosave()
    assert hashed_on == [False]  # the autosave found it done
    window.close()


def test_quit_asks_while_work_is_running_but_not_for_a_profile(qtbot, monkeypatch):
    from mfg_desktop.qt.workers import run_in_thread

    def runs_until_cancelled(state):
        while not state.is_interruption_requested():
            time.sleep(0.01)

    window = _window(qtbot)
    asked = _answer(monkeypatch, Button.Cancel)
    training = run_in_thread(runs_until_cancelled, name="train")
    profiling = run_in_thread(runs_until_cancelled, name="profile")
    assert not window.close()
    assert "Still running: training a model (it will be stopped)" in asked[0] and "profile" not in asked[0]
    assert training.is_running()  # Cancel: nothing was stopped
    training.cancel()
    qtbot.waitUntil(lambda: not training.is_running(), timeout=5_000)
    assert window.close() and len(asked) == 1  # a profile alone is stopped without asking
    assert not profiling.is_running()
