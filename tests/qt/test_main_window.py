"""The main window: steps, File menu, loading through the worker, bad input in the banner, drop, close."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import QDialog

from mfg_desktop.qt import workers
from mfg_desktop.qt.main_window import MainWindow, StepWaitingPage, steps


def test_window_shows_the_six_steps(main_window):
    titles = [main_window.step_list.item(i).text().split()[-1] for i in range(main_window.step_list.count())]
    assert titles == ["Data", "Prepare", "Train", "Evaluate", "Predict", "Report"]
    assert main_window.step_keys() == ["data", "prepare", "train", "evaluate", "predict", "report"]
    assert main_window.step_list.currentRow() == 0
    assert main_window.size().width() == 1400


def test_steps_without_panel_say_what_they_need(main_window, monkeypatch):
    monkeypatch.setattr(
        "mfg_desktop.qt.main_window._PANEL_FACTORIES", {"data": lambda ctx: StepWaitingPage(steps()[0])}
    )
    main_window.show_step("prepare")
    page = main_window.stack.currentWidget()
    assert isinstance(page, StepWaitingPage)
    assert "Load data and pick a target first" in page.needs_label.text()
    main_window.show_step("report")
    assert "Evaluate a model first" in main_window.stack.currentWidget().needs_label.text()


def test_a_panel_receives_the_context_not_the_window(qtbot, monkeypatch):
    from PySide6.QtWidgets import QLabel

    from mfg_desktop.qt.context import AppContext

    received = []

    def factory(ctx):
        received.append(ctx)
        return QLabel("training")

    monkeypatch.setattr("mfg_desktop.qt.main_window._PANEL_FACTORIES", {"train": factory})
    window = MainWindow()
    qtbot.addWidget(window)
    window.show_step("train")
    assert window.stack.currentWidget().text() == "training"
    assert len(received) == 1 and isinstance(received[0], AppContext) and received[0].session is window.session
    assert window.page("train") is window.stack.currentWidget()
    window.close()


def test_file_menu(main_window):
    assert main_window.open_action.shortcut() == QKeySequence(QKeySequence.StandardKey.Open)
    assert main_window.open_action.shortcut().toString() == "Ctrl+O"
    filters = main_window.file_filters()
    for pattern in ("*.csv", "*.txt", "*.tsv", "*.xlsx", "*.xls"):
        assert pattern in filters
    menu_texts = [a.text() for a in main_window.menuBar().actions()[0].menu().actions()]
    assert any("Open" in t for t in menu_texts) and any("sample" in t for t in menu_texts)
    assert any("Quit" in t for t in menu_texts)


def test_open_dialog_offers_multi_select(main_window, monkeypatch, ai4i_path):
    calls = []

    def fake_dialog(parent, caption, directory, filters):
        calls.append(filters)
        return [str(ai4i_path)], filters.split(";;")[0]

    opened = []
    monkeypatch.setattr("mfg_desktop.qt.main_window.QFileDialog.getOpenFileNames", fake_dialog)
    monkeypatch.setattr(main_window, "open_files", opened.append)
    main_window.choose_files()
    assert opened == [[str(ai4i_path)]] and "*.csv" in calls[0]


def test_loading_ai4i_fills_table_profile_and_leaks(wait, qtbot, main_window, ai4i_path):
    main_window.load_files([str(ai4i_path)])
    assert main_window.job_status.isVisible()  # progress and Cancel while it loads
    wait.loaded(main_window)
    panel = main_window.data_panel
    assert panel.table_model.total_rows() == 10_000
    assert panel.table_view.model() is panel.table_model
    assert panel.profile_model.rowCount() == 14
    names = [panel.profile_model.column_profile(r).name for r in range(14)]
    assert names[0] == "UDI" and "Machine_failure" in names
    assert "10,000 rows" in panel.summary_label.text() and "ai4i2020.csv" in panel.summary_label.text()

    panel.pick_target("Machine_failure")
    qtbot.waitUntil(lambda: main_window.session.target_report is not None, timeout=30_000)
    text = panel.leak_view.toPlainText()
    for column in ("TWF", "HDF", "PWF", "OSF", "RNF", "UDI", "Product ID"):
        assert column in text, column
    assert "binary" in panel.task_label.text()
    assert panel.balance_table.rowCount() == 2
    assert panel.target_combo.currentData() == "Machine_failure"
    # the quality table marks the suspects
    model = panel.profile_model
    twf = names.index("TWF")
    assert "likely leak" in model.data(model.index(twf, model.columnCount() - 1))
    wait.idle()


def test_steel_offers_the_onehot_group_as_one_target(wait, qtbot, main_window, steel_path):
    main_window.load_files([str(steel_path)])
    wait.loaded(main_window)
    panel = main_window.data_panel
    groups = [(label, target) for label, target in panel.target_options() if isinstance(target, list)]
    assert len(groups) == 1
    label, group = groups[0]
    assert group[0] == "Pastry_Fault" and group[-1] == "Other_Faults" and len(group) == 7
    assert "7 columns" in label and "Pastry_Fault" in label
    panel.pick_target(group)
    qtbot.waitUntil(lambda: main_window.session.target_report is not None, timeout=30_000)
    report = main_window.session.target_report
    assert report.task == "multiclass"
    assert panel.balance_table.rowCount() == 7
    assert "multiclass" in panel.task_label.text()
    wait.idle()


def _big_csv(path: Path, rows: int = 200_000) -> Path:
    rng = np.random.default_rng(1)
    pd.DataFrame({f"s{i}": rng.normal(size=rows).round(4) for i in range(8)}).to_csv(path, index=False)
    return path


def test_cancel_keeps_the_previous_data(wait, qtbot, main_window, ai4i_path, tmp_path):
    main_window.load_files([str(ai4i_path)])
    wait.loaded(main_window)
    before = main_window.session.data
    job = main_window.load_files([str(_big_csv(tmp_path / "big.csv"))])
    assert main_window.job_status.cancel_button.isVisible()
    with qtbot.waitSignals([job.cancelled, job.ended], timeout=20_000):
        qtbot.mouseClick(main_window.job_status.cancel_button, Qt.MouseButton.LeftButton)
    assert main_window.session.data is before
    assert "cancelled" in main_window.statusBar().currentMessage()
    assert not main_window.job_status.isVisible()
    wait.idle()


def _bad_files(folder: Path) -> dict[str, Path]:
    files = {
        "empty.csv": b"",
        "header_only.csv": b"a,b,c\r\n",
        "binary.csv": bytes(range(256)) * 40,
        "ragged.csv": b"a,b,c\n1,2,3\n4,5,6\n7,8,9,10,11\n",
        "dupes.csv": b"temp,temp,flow\n1,2,3\n4,5,6\n",
    }
    paths = {}
    for name, content in files.items():
        (folder / name).write_bytes(content)
        paths[name] = folder / name
    from openpyxl import Workbook

    book = Workbook()
    book.active.title = "Empty"
    book.save(folder / "empty_sheet.xlsx")
    paths["empty_sheet.xlsx"] = folder / "empty_sheet.xlsx"
    paths["missing.csv"] = folder / "missing.csv"
    return paths


def test_bad_files_show_a_message_in_the_window_and_keep_the_data(
    wait, qtbot, main_window, ai4i_path, tmp_path
):
    main_window.load_files([str(ai4i_path)])
    wait.loaded(main_window)
    before = main_window.session.data
    for name, path in _bad_files(tmp_path).items():
        main_window.banner.clear()
        job = main_window.load_files([str(path)])
        with qtbot.waitSignal(job.errored, timeout=20_000) as blocker:
            pass
        exc = blocker.args[0]
        assert exc.__class__.__name__ == "DataError", (name, exc)
        assert main_window.banner.isVisible(), name
        assert name in main_window.banner.text(), (name, main_window.banner.text())
        assert main_window.banner.level == "error"
        assert main_window.session.data is before, name
        qtbot.waitUntil(lambda j=job: not j.is_running())
    assert main_window.data_panel.table_model.total_rows() == 10_000


def test_a_good_load_clears_the_banner(wait, qtbot, main_window, ai4i_path, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    job = main_window.load_files([str(empty)])
    qtbot.waitUntil(lambda: main_window.banner.isVisible())
    qtbot.waitUntil(lambda: not job.is_running())
    main_window.load_files([str(ai4i_path)])
    wait.loaded(main_window)
    assert not main_window.banner.isVisible()


def _drop(window: MainWindow, paths: list[Path]) -> tuple[QDragEnterEvent, QDropEvent]:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    enter = QDragEnterEvent(  # a QPoint: QDragEnterEvent takes no QPointF before PySide6 6.12
        QPoint(50, 50),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    window.dragEnterEvent(enter)
    drop = QDropEvent(
        QPointF(50, 50),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    window.dropEvent(drop)
    return enter, drop


def test_dropping_files_opens_the_preview_then_loads(wait, qtbot, main_window, ai4i_path):
    enter, drop = _drop(main_window, [ai4i_path])
    assert enter.isAccepted() and drop.isAccepted()
    qtbot.waitUntil(lambda: main_window.load_dialog is not None)
    dialog = main_window.load_dialog
    qtbot.waitUntil(lambda: dialog.ok_button.isEnabled(), timeout=20_000)
    dialog.accept()
    wait.loaded(main_window)
    assert main_window.data_panel.table_model.total_rows() == 10_000
    wait.idle()


def test_a_drag_without_files_is_refused(main_window):
    mime = QMimeData()
    mime.setText("just text")
    enter = QDragEnterEvent(
        QPoint(5, 5),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    main_window.dragEnterEvent(enter)
    assert not enter.isAccepted()


def test_cancelling_the_preview_dialog_loads_nothing(wait, qtbot, main_window, ai4i_path):
    main_window.open_files([str(ai4i_path)])
    dialog = main_window.load_dialog
    qtbot.waitUntil(lambda: dialog.ok_button.isEnabled(), timeout=20_000)
    dialog.reject()
    assert dialog.result() == QDialog.DialogCode.Rejected
    wait.idle()
    assert main_window.session.data is None and main_window.load_job is None


def test_open_sample_data(wait, qtbot, main_window):
    from mfg_desktop.resources import sample_data_path

    if not sample_data_path().is_file():
        pytest.skip("sample data not generated yet (resources/sample/generate_sample.py)")
    main_window.open_sample_data()
    wait.loaded(main_window)
    frame = main_window.session.frame
    assert "defect" in frame.columns and len(frame) > 1000
    wait.idle()


def test_closing_during_a_load_cancels_and_waits(qtbot, ai4i_path, tmp_path):
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    job = window.load_files([str(_big_csv(tmp_path / "big.csv"))])
    thread = job.thread
    window.close()
    assert thread is None or not thread.isRunning()
    assert workers.running_jobs() == []


def test_help_has_a_guide_the_shortcuts_and_where_settings_and_logs_live(main_window, qtbot):
    from PySide6.QtWidgets import QMessageBox

    from mfg_desktop.qt.settings import log_path

    help_menu = main_window.menuBar().actions()[-1].menu()
    assert len([a for a in help_menu.actions() if not a.isSeparator()]) == 4
    assert main_window.help_actions["guide"].shortcut().toString() == "F1"
    shown = []
    for key in ("guide", "shortcuts", "where"):
        main_window.help_actions[key].trigger()
        box = next(w for w in main_window.findChildren(QMessageBox) if w.isVisible() and w not in shown)
        shown.append(box)
        box.close()
    guide, keys, where = (box.text() for box in shown)
    assert all(step in guide for step in ("Data", "Prepare", "Train", "Evaluate", "Predict", "Report"))
    assert "Ctrl+O" in keys and "Ctrl+E" in keys
    assert str(log_path()) in where  # the test's own config folder, never the user's



def test_file_dialogs_start_where_the_last_file_of_their_kind_was(tmp_path, monkeypatch):
    from pathlib import Path as P

    from mfg_desktop.qt.settings import DATA_DIR, MODEL_DIR, dialog_folder, remember_folder

    monkeypatch.setattr(P, "home", staticmethod(lambda: tmp_path / "home"))
    assert dialog_folder() == str(tmp_path / "home") and dialog_folder(MODEL_DIR) == str(tmp_path / "home")
    (tmp_path / "data").mkdir()
    (tmp_path / "models").mkdir()
    remember_folder(tmp_path / "data" / "ai4i.csv")
    assert dialog_folder(DATA_DIR) == str(tmp_path / "data")
    assert dialog_folder(MODEL_DIR) == str(tmp_path / "data")  # no model saved yet: beside the data
    remember_folder(tmp_path / "models" / "m.mfgmodel", MODEL_DIR)
    assert dialog_folder(MODEL_DIR) == str(tmp_path / "models")
    (tmp_path / "models").rmdir()  # a folder that is gone is skipped
    assert dialog_folder(MODEL_DIR) == str(tmp_path / "data")


def test_what_the_reading_noticed_is_shown_as_a_warning(main_window, qtbot, tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "make_corpus", Path(__file__).resolve().parents[1] / "data" / "hostile" / "make_corpus.py")
    corpus = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(corpus)
    corpus.make_corpus(tmp_path, only=["formulas_no_cache.xlsx"])
    job = main_window.load_files([str(tmp_path / "formulas_no_cache.xlsx")])
    with qtbot.waitSignal(job.ended, timeout=30_000):
        pass
    qtbot.waitUntil(lambda: main_window.session.data is not None)
    assert main_window.banner.isVisible() and main_window.banner.level == "warning"
    assert "formulas whose results were never saved" in main_window.banner.text()
