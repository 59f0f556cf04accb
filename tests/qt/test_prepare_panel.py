"""The Prepare step: proposed recipe with leak suspects left out, editing, derived columns, split, PCA."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest
from PySide6.QtCore import Qt

from mfg_desktop.qt.prepare import panel as prepare_module
from mfg_desktop.qt.prepare.inputs_table import COL_NAME, COL_REASON, COL_ROLE, COL_SCALE, VALUE
from mfg_desktop.qt.prepare.panel import PreparePanel


@pytest.fixture(scope="module")
def ai4i_slice(ai4i_path, tmp_path_factory):
    """1,500 rows drawn across the whole file (so every failure flag occurs), as its own CSV."""
    frame = pd.read_csv(ai4i_path, encoding="utf-8-sig")
    path = tmp_path_factory.mktemp("ai4i") / "ai4i_1500.csv"
    frame.sample(1500, random_state=0).sort_values("UDI").to_csv(path, index=False)
    return path


@pytest.fixture
def panel(main_window, qtbot, wait, ai4i_slice) -> PreparePanel:
    main_window.load_files([str(ai4i_slice)])
    wait.loaded(main_window)
    main_window.data_panel.pick_target("Machine_failure")
    qtbot.waitUntil(lambda: main_window.session.target_report is not None, timeout=30_000)
    main_window.show_step("prepare")
    page = main_window.page("prepare")
    assert isinstance(page, PreparePanel)
    qtbot.waitUntil(lambda: main_window.session.recipe is not None, timeout=30_000)
    return page


def _row(panel: PreparePanel, name: str) -> int:
    return [panel.inputs.table.item(r, COL_NAME).text() for r in range(panel.inputs.table.rowCount())].index(name)


def test_proposes_a_recipe_with_leak_suspects_unticked_and_explained(panel, main_window):
    session = main_window.session
    suspects = {s.column: s.reason for s in session.target_report.leak_suspects}
    assert {"TWF", "HDF", "PWF", "OSF", "UDI", "Product ID"} <= set(suspects)
    for name, reason in suspects.items():
        row = _row(panel, name)
        assert panel.inputs.table.item(row, COL_NAME).checkState() == Qt.CheckState.Unchecked
        assert reason in panel.inputs.table.item(row, COL_REASON).text()
        assert "leak" in panel.inputs.table.item(row, COL_REASON).text()
    for name in ("Air temperature [K]", "Torque [Nm]", "Type"):
        assert panel.inputs.table.item(_row(panel, name), COL_NAME).checkState() == Qt.CheckState.Checked
    recipe = session.recipe
    assert not set(suspects) & set(recipe.inputs)
    assert "Torque [Nm]" in recipe.inputs and "Machine_failure" not in recipe.inputs
    assert recipe.plan("Type").role == "categorical"
    assert panel.inputs.table.item(_row(panel, "Type"), COL_ROLE).text() == "category"
    assert recipe.task == "binary"
    # the full reason of a leak row is readable below the table, not only in the narrow cell
    assert "leak" in panel.inputs.reason_label.text()
    # 4 % failures: class weights on by default, and said so
    assert session.class_weight is True and panel.weights_view.weights_check.isChecked()
    assert "4.0%" in panel.weights_view.weights_label.text()
    assert session.split_spec is not None and session.split_spec.method == "random"
    assert "Ready to train" in panel.header_label.text()


def test_derived_formula_is_checked_as_typed(panel, main_window, qtbot):
    panel.formulas.formula_edit.setText('power = "Torque [Nm]" * "Rotational sped [rpm]" * 2 * pi / 60')
    assert not panel.formula_is_valid()
    assert "Rotational sped" in panel.formulas.formula_status.text()
    assert "Rotational speed [rpm]" in panel.formulas.formula_status.text()  # the suggestion
    assert "b3261e" in panel.formulas.formula_status.styleSheet()  # red
    panel.formulas.formula_edit.setText("x = __import__('os').system('echo hi')")
    assert not panel.formula_is_valid()
    panel.formulas.formula_edit.setText("Torque [Nm] = 1")
    assert not panel.formula_is_valid()

    panel.formulas.formula_edit.setText('power = "Torque [Nm]" * "Rotational speed [rpm]" * 2 * pi / 60')
    assert panel.formula_is_valid()
    assert "1e7b34" in panel.formulas.formula_status.styleSheet()  # green
    assert panel.formulas.add_formula_button.isEnabled()
    panel.formulas.add_formula_button.click()
    qtbot.waitUntil(lambda: "power" in main_window.session.recipe.inputs, timeout=30_000)
    assert [d.name for d in main_window.session.recipe.derived] == ["power"]
    assert panel.formulas.derived_list.count() == 1 and panel.formulas.formula_edit.text() == ""
    assert "derived" in panel.inputs.table.item(_row(panel, "power"), COL_REASON).text()
    # a second formula may use the first; the first then cannot be removed alone
    assert panel.add_derived("power_kw = power / 1000")
    qtbot.waitUntil(lambda: "power_kw" in main_window.session.recipe.inputs, timeout=30_000)
    assert not panel.remove_derived("power")
    assert "power_kw" in panel.formulas.formula_status.text()
    assert panel.remove_derived("power_kw") and panel.remove_derived("power")
    qtbot.waitUntil(lambda: "power" not in main_window.session.recipe.inputs, timeout=30_000)
    assert main_window.session.recipe.derived == []


def test_editing_a_row_changes_the_session_recipe(panel, main_window):
    session = main_window.session
    torque = _row(panel, "Torque [Nm]")
    # the same path the combo-box editor takes: it writes the value into the cell
    panel.inputs.table.item(torque, COL_SCALE).setData(VALUE, "robust")
    assert session.recipe.plan("Torque [Nm]").scale == "robust"
    assert panel.inputs.table.item(torque, COL_SCALE).text() == "robust"

    panel.inputs.table.item(torque, COL_ROLE).setData(VALUE, "categorical")
    plan = session.recipe.plan("Torque [Nm]")
    assert plan.role == "categorical" and plan.impute == "most_frequent"  # made valid for the role
    assert panel.inputs.options_at(torque, COL_SCALE) == ()  # no scaling for categories

    panel.inputs.table.item(torque, COL_NAME).setCheckState(Qt.CheckState.Unchecked)
    assert session.recipe.plan("Torque [Nm]").role == "drop"
    assert "Torque [Nm]" not in session.recipe.inputs
    panel.inputs.table.item(torque, COL_NAME).setCheckState(Qt.CheckState.Checked)
    assert session.recipe.plan("Torque [Nm]").role == "categorical"  # the role it had

    # ticking a leak suspect uses it as what it would have been proposed as
    twf = _row(panel, "TWF")
    panel.inputs.table.item(twf, COL_NAME).setCheckState(Qt.CheckState.Checked)
    assert session.recipe.plan("TWF").role == "numeric" and "TWF" in session.recipe.inputs
    session.recipe.check()

    # nothing ticked: the header says what to do before training
    for name in list(session.recipe.inputs):
        panel.set_used(name, False)
    assert session.recipe.inputs == []
    assert "tick at least one input" in panel.header_label.text()
    assert not panel.continue_button.isEnabled()


def test_split_settings_are_validated(panel, main_window):
    session = main_window.session
    panel.set_split("random", train=0.8)
    assert session.split_spec is None
    assert "add up to" in panel.split_view.split_status.text() and "1.1" in panel.split_view.split_status.text()
    assert "fix the split" in panel.header_label.text()
    panel.set_split("random", train=0.6, valid=0.2, test=0.2)
    assert session.split_spec is not None and session.split_spec.train == pytest.approx(0.6)
    assert "60% training" in panel.split_view.split_status.text()

    panel.set_split("group", column="Type")
    spec = session.split_spec
    assert spec.method == "group" and spec.column == "Type"
    assert "'Type'" in panel.split_view.split_status.text()
    assert not panel.split_view.split_column.isHidden()
    panel.set_split("time", column="UDI")
    assert session.split_spec.method == "time" and session.split_spec.column == "UDI"
    panel.set_split("random")
    assert panel.split_view.split_column.isHidden() and session.split_spec.column is None


def test_pca_variance_is_computed_in_a_worker_and_plotted(panel, main_window, qtbot, monkeypatch, wait):
    threads: list[bool] = []
    original = prepare_module.pca_variance

    def recording(*args, **kwargs):
        threads.append(threading.current_thread() is threading.main_thread())
        return original(*args, **kwargs)

    monkeypatch.setattr(prepare_module, "pca_variance", recording)
    panel.pca_view.pca_check.setChecked(True)
    qtbot.waitUntil(lambda: panel.pca_ratios is not None, timeout=30_000)
    wait.idle()
    assert threads and not any(threads)  # ran, and never on the GUI thread
    ratios = panel.pca_ratios
    assert ratios.sum() == pytest.approx(1.0) and np.all(np.diff(ratios) <= 1e-12)
    bars = panel.pca_view.variance_chart.bars.opts
    assert len(bars["height"]) == len(ratios)
    _x, y = panel.pca_view.variance_chart.cumulative.getData()
    assert np.allclose(y, np.cumsum(ratios))

    # the same numbers as core computes on the training rows of the session's split
    from mfg_desktop.core.recipe import PcaSettings, pca_variance_curve
    from mfg_desktop.core.split import make_split
    from mfg_desktop.core.task import target_series

    session = main_window.session
    recipe = session.recipe
    assert recipe.pca.enabled and recipe.pca.variance == pytest.approx(0.95)
    frame = session.frame
    y_all = target_series(frame, recipe.target)
    split = make_split(frame, y_all, session.split_spec, "binary")
    expected = pca_variance_curve(
        type(recipe)(**{**recipe.__dict__, "pca": PcaSettings()}), frame.iloc[split.train]
    )
    assert np.allclose(ratios, expected)
    assert "components keep" in panel.pca_view.pca_status.text()

    panel.pca_view.pca_by_count.setChecked(True)
    panel.pca_view.pca_count.setValue(3)
    assert session.recipe.pca.n_components == 3 and session.recipe.pca.variance is None
    assert f"{np.cumsum(ratios)[2]:.1%}" in panel.pca_view.pca_status.text()
    wait.idle()


def test_a_regression_target_has_no_class_weights(panel, main_window, qtbot):
    main_window.data_panel.pick_target("Tool wear [min]")
    qtbot.waitUntil(lambda: main_window.session.recipe is not None, timeout=30_000)
    assert main_window.session.recipe.task == "regression"
    assert main_window.session.class_weight is None
    assert not panel.weights_view.weights_check.isEnabled() and "Regression" in panel.weights_view.weights_label.text()
    assert "each class" not in panel.split_view.split_status.text()
    # the old target's column is an input candidate again, the new one is not
    assert "Machine_failure" in [p.name for p in panel.plans]
    assert "Tool wear [min]" not in main_window.session.recipe.inputs
