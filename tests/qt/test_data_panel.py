"""The Data step in the window: the suggested target, the capped category chart."""

from __future__ import annotations

from mfg_desktop.qt.data.state import PLOT_CATEGORIES


def test_a_target_is_suggested_once_profiled_and_can_be_changed(wait, qtbot, main_window, steel_path):
    main_window.load_files([str(steel_path)])
    wait.loaded(main_window)
    panel = main_window.data_panel
    qtbot.waitUntil(lambda: main_window.session.target is not None, timeout=10_000)
    suggested = main_window.session.target
    assert isinstance(suggested, list) and len(suggested) == 7 and suggested[-1] == "Other_Faults"
    assert panel.target_combo.currentData() == suggested
    assert panel.target_box.suggestion_label.isVisibleTo(panel)
    qtbot.waitUntil(lambda: main_window.session.target_report is not None, timeout=30_000)
    assert main_window.session.target_report.task == "multiclass"  # analysed without a click
    panel.target_combo.setCurrentIndex(panel.target_combo.findData("Pixels_Areas"))
    panel.target_combo.activated.emit(panel.target_combo.currentIndex())  # as a user's pick does
    assert main_window.session.target == "Pixels_Areas"
    assert not panel.target_box.suggestion_label.isVisibleTo(panel)
    qtbot.waitUntil(lambda: main_window.session.target_report is not None, timeout=30_000)
    assert main_window.session.target_report.task == "regression"
    wait.idle()


def test_the_demos_batch_ids_are_drawn_as_the_top_ones_and_other(wait, qtbot, main_window):
    main_window.open_sample_data()
    wait.loaded(main_window)
    panel = main_window.data_panel
    qtbot.waitUntil(lambda: main_window.session.target == "defect", timeout=10_000)
    panel.select_column("batch_id")
    qtbot.waitUntil(lambda: panel.histogram is not None and panel.histogram.mode == "counts"
                    and panel.plot_column == "batch_id", timeout=30_000)
    wait.idle()
    qtbot.waitUntil(lambda: "batch_id" in panel.plot_box.title(), timeout=10_000)
    axis = panel.histogram.plot.getPlotItem().getAxis("left")
    [ticks] = axis._tickLevels
    labels = [label for _, label in ticks]
    assert len(labels) == PLOT_CATEGORIES + 1 and labels[-1].startswith("(other 214")
    assert labels[0] == "B10000"  # the most frequent value on top (ties keep the table's order)


def test_a_target_picked_before_the_suggestion_lands_is_kept(wait, qtbot, main_window, ai4i_path):
    main_window.load_files([str(ai4i_path)])
    wait.loaded(main_window)
    panel = main_window.data_panel
    panel.pick_target("Tool wear [min]")  # the suggestion (Machine_failure) waits for the first paint
    qtbot.wait(600)
    assert main_window.session.target == "Tool wear [min]"
    assert panel.target_combo.currentData() == "Tool wear [min]"
    assert not panel.target_box.suggestion_label.isVisibleTo(panel)
    wait.idle()


def test_the_outcome_to_detect_is_suggested_and_the_users_pick_reaches_the_recipe(wait, qtbot, main_window,
                                                                                 data_dir):
    main_window.load_files([str(data_dir / "gb18030_decimal_comma_zh.csv")])
    wait.loaded(main_window)
    panel, session = main_window.data_panel, main_window.session
    panel.pick_target("结果")
    qtbot.waitUntil(lambda: session.target_report is not None, timeout=30_000)
    combo = panel.target_box.positive_combo
    assert combo.isVisibleTo(panel) and combo.itemData(0) == "不合格" and combo.itemData(1) == "合格"
    assert "不合格" in combo.itemText(0) and combo.currentIndex() == 0  # the bad outcome, suggested
    prepare = main_window.page("prepare")
    qtbot.waitUntil(lambda: session.recipe is not None, timeout=30_000)
    assert session.recipe.positive_class is None  # the app's pick, 不合格
    combo.setCurrentIndex(1)
    combo.activated.emit(1)  # as a user's pick
    assert session.positive_class == "合格" and session.recipe.positive_class == "合格"
    assert prepare.current_recipe().positive_class == "合格"
    panel.pick_target("振动")  # a number: no outcome to pick, and the pick is forgotten
    qtbot.waitUntil(lambda: session.target_report is not None and session.target_report.task == "regression",
                    timeout=30_000)
    assert not combo.isVisibleTo(panel) and session.positive_class is None
    wait.idle()
