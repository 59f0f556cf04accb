"""Settings › Compute… and the Train step's "Runs on" row, without a cluster (tests/cluster has the real one)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mfg_desktop.qt.compute import CLUSTER, THIS_PC, ComputeChoice, load_compute, save_compute
from mfg_desktop.qt.compute_dialog import ComputeDialog
from mfg_desktop.qt.context import AppContext
from mfg_desktop.qt.session import SessionModel
from mfg_desktop.qt.train.compute_row import ComputeRow, where_text

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def no_ray(monkeypatch):
    """As on a PC without the cluster extra: Ray cannot be found."""
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ray" else real(name, *a))


@pytest.fixture
def ctx(qtbot):
    return AppContext(SessionModel())


def test_without_ray_the_cluster_is_greyed_out_with_the_install_hint(no_ray, ctx, qtbot):
    save_compute(ComputeChoice(where=CLUSTER, address="10.0.0.5:6379"))  # chosen once, Ray removed since
    dialog = ComputeDialog(ctx)
    qtbot.addWidget(dialog)
    assert dialog.this_pc.isChecked() and not dialog.cluster.isEnabled()
    assert not dialog.hint.isHidden()
    assert dialog.hint.text() == "Ray is not installed here: pip install 'mfg-desktop[cluster]'"
    assert not dialog.cluster_box.isEnabled() and not dialog.check_button.isEnabled()
    assert load_compute().where == THIS_PC  # the Train step trains here
    row = ComputeRow(ctx)
    qtbot.addWidget(row)
    item = row.where_combo.model().item(1)
    assert not item.isEnabled() and "pip install 'mfg-desktop[cluster]'" in item.toolTip()
    assert row.choice().where == THIS_PC and row.workers_spin.isHidden()


@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="Ray is not installed (the cluster extra)")
def test_the_choice_is_kept_in_the_settings_and_the_train_step_follows(ctx, qtbot):
    dialog = ComputeDialog(ctx)
    qtbot.addWidget(dialog)
    row = ComputeRow(ctx)
    qtbot.addWidget(row)
    dialog.saved.connect(ctx.compute_changed.emit)  # as Settings › Compute… connects it
    assert dialog.this_pc.isChecked() and dialog.hint.isHidden()
    assert not row.where_combo.model().item(1).isEnabled()  # no address yet
    dialog.cluster.setChecked(True)
    dialog.address_edit.setText("not an address/x")
    dialog.accept()  # refused, with the core's message
    assert "is not HOST:PORT or ray://HOST:PORT" in dialog.result_label.text()
    assert load_compute().where == THIS_PC
    dialog.address_edit.setText("ray://10.0.0.5:10001")
    dialog.token_edit.setText("/etc/ray/auth_token")
    dialog.workers_spin.setValue(4)
    dialog.accept()
    saved = load_compute()
    assert saved == ComputeChoice(CLUSTER, "ray://10.0.0.5:10001", "/etc/ray/auth_token", 4)
    assert row.choice() == saved and row.where_combo.currentText() == "Ray cluster ray://10.0.0.5:10001"
    assert not row.workers_spin.isHidden() and row.workers_spin.value() == 4
    assert where_text(saved) == "the Ray cluster at ray://10.0.0.5:10001 (4 workers, data-parallel)"
    # changed in the Train step: saved as well
    row.where_combo.setCurrentIndex(0)
    row.where_combo.activated.emit(0)
    assert load_compute().where == THIS_PC and load_compute().address == "ray://10.0.0.5:10001"
    assert row.workers_spin.isHidden()
    # the settings file is the only place: plain keys in the app's settings.ini
    text = (Path(os.environ["MFG_DESKTOP_CONFIG_DIR"]) / "settings.ini").read_text()
    assert "[compute]" in text and "ray://10.0.0.5:10001" in text


def test_nothing_about_ray_is_imported_while_this_pc_is_chosen(tmp_path):
    """The window with Settings › Compute… opened and the Train step built, in a fresh process."""
    script = """
import json, sys
from mfg_desktop.qt.app import create_application
from mfg_desktop.qt.main_window import MainWindow
app = create_application()
window = MainWindow()
window.show()
window.compute_action.trigger()
window.show_step("train")
app.processEvents()
print(json.dumps({"dialog": window.compute_dialog.isVisible(), "this_pc": window.compute_dialog.this_pc.isChecked(),
                  "ray": sorted(m for m in sys.modules if m == "ray" or m.startswith("ray."))}))
window.compute_dialog.reject()
window.close()
"""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT), "MFG_DESKTOP_CONFIG_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", script], check=False, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer == {"dialog": True, "this_pc": True, "ray": []}


@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="Ray is not installed (the cluster extra)")
def test_training_on_a_dead_cluster_says_so_in_the_banner_within_30_s(main_window, qtbot, wait, ai4i_path, tmp_path):
    import pandas as pd

    from mfg_desktop.qt.context import TaskSlot

    with __import__("socket").socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    token = tmp_path / "token"
    token.write_text("0123456789abcdef")
    save_compute(ComputeChoice(CLUSTER, f"127.0.0.1:{port}", str(token)))
    path = tmp_path / "ai4i_600.csv"
    pd.read_csv(ai4i_path, encoding="utf-8-sig").iloc[:600].to_csv(path, index=False)
    main_window.load_files([str(path)])
    wait.loaded(main_window)
    main_window.data_panel.pick_target("Machine_failure")
    qtbot.waitUntil(lambda: main_window.session.target_report is not None, timeout=30_000)
    main_window.show_step("prepare")
    qtbot.waitUntil(lambda: main_window.session.recipe is not None, timeout=30_000)
    main_window.show_step("train")
    panel = main_window.page("train")
    assert panel.compute_row.choice().on_cluster
    job = panel.train()
    assert isinstance(panel.training, TaskSlot) and job is not None
    with qtbot.waitSignal(job.ended, timeout=30_000):
        pass
    assert f"Nothing listens at 127.0.0.1:{port}: the connection was refused" in main_window.banner.text()
    assert panel.status_label.text() == "Training did not run: see the message above."
    assert main_window.session.runs == [] and panel.form.train_button.isEnabled()
    # this PC's device again, once its worker has named it
    qtbot.waitUntil(lambda: "Ray" not in main_window.device_label.text(), timeout=60_000)
    wait.idle()
