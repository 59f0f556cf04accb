"""The window on a real local Ray head: Settings › Compute… checks it, the Train step trains there.

Set ``MFG_SCREENSHOT_DIR`` to keep the picture of the Train step training on the cluster
(``cluster_train.png``, 1366 x 768; the README's is resources/screenshots/cluster_train.png).
"""

from __future__ import annotations

import os
import shutil
import time

import pytest

pytest.importorskip("ray", reason="Ray is not installed (the cluster extra: pip install 'mfg-desktop[cluster]')")
pytest.importorskip("pytestqt", reason="pytest-qt is not installed")

from mfg_desktop.core.bundle import load_model_file
from mfg_desktop.qt import workers
from mfg_desktop.qt.compute import CLUSTER, load_compute


@pytest.fixture
def window(qtbot, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from mfg_desktop.qt.main_window import MainWindow
    from mfg_desktop.qt.work_menu import WorkController

    monkeypatch.setattr(WorkController, "ask_before_closing", lambda self, lines: QMessageBox.StandardButton.Discard)
    win = MainWindow()
    qtbot.addWidget(win)
    win.resize(1366, 768)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.close()
    assert not workers.running_jobs()


def _check(dialog, qtbot) -> str:
    started = time.perf_counter()
    dialog.check()
    assert dialog.checking.is_running()  # on a worker thread: the window stays responsive
    qtbot.waitUntil(lambda: not dialog.checking.is_running(), timeout=60_000)
    qtbot.wait(50)
    assert time.perf_counter() - started < 30
    return dialog.result_label.text()


def test_compute_check_then_train_on_the_cluster_with_live_curves_and_cancel(
        ray_head, window, qtbot, small_csv, tmp_path):
    import ray

    window.compute_action.trigger()
    dialog = window.compute_dialog
    assert dialog.isVisible() and dialog.cluster.isEnabled() and dialog.this_pc.isChecked()
    dialog.cluster.setChecked(True)
    dialog.address_edit.setText(ray_head.address)
    wrong = tmp_path / "wrong_token"
    wrong.write_text("0123456789abcdef")
    dialog.token_edit.setText(str(wrong))
    assert "refused the token from the token file wrong_token" in _check(dialog, qtbot)
    dialog.token_edit.setText(str(ray_head.token_file))
    answer = _check(dialog, qtbot)
    assert answer.startswith(f"Ray {ray.__version__}, 1 node(s), 2 CPUs, 0 GPUs, token authentication on"), answer
    dialog.accept()
    assert load_compute().where == CLUSTER and load_compute().address == ray_head.address

    window.load_files([str(small_csv)])
    qtbot.waitUntil(lambda: window.session.profile is not None, timeout=60_000)
    window.data_panel.pick_target("Machine_failure")
    qtbot.waitUntil(lambda: window.session.target_report is not None, timeout=60_000)
    window.show_step("prepare")
    qtbot.waitUntil(lambda: window.session.recipe is not None, timeout=60_000)
    window.show_step("train")
    panel = window.page("train")
    assert panel.compute_row.where_combo.currentText() == f"Ray cluster {ray_head.address}"  # follows the setting
    panel.apply_preset("fast")
    panel.set_settings(epochs=60, patience=60, batch_size=32)
    panel.form.model_combo.setCurrentIndex(panel.form.model_combo.findData("network"))
    panel.form.model_combo.activated.emit(panel.form.model_combo.currentIndex())
    job = panel.train()
    assert job is not None and not panel.compute_row.where_combo.isEnabled()
    assert panel.status_label.text() == f"Connecting to the Ray cluster at {ray_head.address}…"
    qtbot.waitUntil(lambda: len(panel.curves.loss_valid.x) >= 15, timeout=240_000)  # streamed, epoch by epoch
    assert panel.is_training()
    assert window.device_label.text() == f"Training device: the Ray cluster at {ray_head.address}"
    assert panel.status_label.text().startswith(f"Fitting the network on the Ray cluster at {ray_head.address}")
    qtbot.wait(300)
    picture = tmp_path / "cluster_train.png"
    assert window.grab().save(str(picture))
    if os.environ.get("MFG_SCREENSHOT_DIR"):
        shutil.copy(picture, os.path.join(os.environ["MFG_SCREENSHOT_DIR"], "cluster_train.png"))

    panel.cancel()  # the same Cancel: the remote training stops and keeps the best weights
    with qtbot.waitSignal(job.ended, timeout=60_000):
        pass
    run = window.session.current_run
    assert run is not None and window.session.runs == [run]
    assert run.cancelled and run.model is not None and 15 <= run.epochs_run < 60
    assert "on a Ray cluster node" in run.device and panel.runs.model.rowCount() == 1
    assert panel.compute_row.where_combo.isEnabled()
    assert "Ray" not in window.device_label.text()  # this PC's device again; the runs table says where
    assert "Ray cluster node" in panel.runs.cell(0, 10)
    save = panel.save_run(run, tmp_path / "from_cluster.mfgmodel")
    with qtbot.waitSignal(save.ended, timeout=60_000):
        pass
    assert load_model_file(tmp_path / "from_cluster.mfgmodel").run.id == run.id
