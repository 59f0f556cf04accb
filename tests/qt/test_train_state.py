"""The Train step's state and text, without a window or a QApplication: settings, what can run, the runs' rows."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import pandas as pd
import pytest

from mfg_desktop.core.errors import TrainingError
from mfg_desktop.core.network import PRESETS, preset
from mfg_desktop.core.recipe import propose_recipe
from mfg_desktop.core.split import SplitSpec
from mfg_desktop.core.task import BINARY, MULTICLASS, REGRESSION
from mfg_desktop.qt.train import text
from mfg_desktop.qt.train.state import (
    NetworkSettings,
    RunLabel,
    TrainState,
    loss_choices,
    monitor_choices,
    monitor_key,
    parse_hidden,
    preparation_summary,
    run_row,
    suggested_model_name,
    with_model_suffix,
)


def _run(run_id="a1b2c3d4", files=("line3_march.csv",), target="Machine failure", **changes):
    """A finished run as the state reads it (the attributes of core's TrainingRun it uses)."""
    values = {
        "id": run_id,
        "task": BINARY,
        "history": {"loss": [0.7, 0.5, 0.4], "val_loss": [0.65, 0.52, 0.55]},
        "best_epoch": 2,
        "metrics": {"val_accuracy": 0.91234, "val_roc_auc": 0.9512, "val_pr_auc": 0.4851},
        "data_fingerprint": {"rows": 1500, "files": [{"name": f, "sha256": "00"} for f in files]},
        "recipe": SimpleNamespace(target=target),
        "epochs_run": 3,
        "network": preset("fast"),
        "duration_s": 65.4,
        "device": "CPU (2 cores)",
        "cancelled": False,
        "stopped_early": False,
        "chosen": "network",
        "choice_reason": "",
    }
    values.update(changes)
    values.setdefault("kept_model", values["chosen"])  # TrainingRun's: the chosen model's kind
    return SimpleNamespace(**values)


def test_parse_hidden():
    assert parse_hidden("256, 256") == [256, 256]
    assert parse_hidden("64 32") == [64, 32]
    assert parse_hidden("8;4") == [8, 4]
    for bad in ("", "abc", "64, -1", "0"):
        with pytest.raises(TrainingError, match="Hidden layers"):
            parse_hidden(bad)


@pytest.mark.parametrize("name", list(PRESETS))
def test_a_preset_shown_on_the_form_gives_back_the_preset(name):
    settings = NetworkSettings.from_preset(name)
    assert settings.spec() == preset(name)
    assert not settings.edited()


def test_edited_settings_differ_from_their_preset_and_keep_what_the_form_does_not_show():
    settings = NetworkSettings.from_preset("thorough").with_values(hidden="64, 32", optimizer="sgd", epochs=7)
    spec = settings.spec()
    assert spec.hidden == [64, 32] and spec.optimizer == "sgd" and spec.epochs == 7
    assert spec.n_bins == preset("thorough").n_bins and spec.lr_schedule == preset("thorough").lr_schedule
    assert settings.edited()
    # the seed is not part of the network: changing it leaves the preset unedited
    assert not NetworkSettings.from_preset("fast").with_values(seed=42).edited()
    # a dropout that spin-box rounding moved by 1e-9 is still the preset's
    assert not NetworkSettings.from_preset("fast").with_values(dropout=0.1 + 1e-9).edited()


def test_unusable_settings_raise_a_clear_error_and_count_as_edited():
    broken = NetworkSettings.from_preset("fast").with_values(hidden="wide")
    with pytest.raises(TrainingError, match="Hidden layers: 'wide'"):
        broken.spec()
    assert broken.edited()
    assert TrainState(settings=broken).run_label() == RunLabel("fast", True)


def test_choosing_a_preset_keeps_the_users_seed():
    state = TrainState()
    state.settings = state.settings.with_values(seed=7, epochs=3)
    chosen = state.choose_preset("fast")
    assert chosen.seed == 7 and chosen.epochs == preset("fast").epochs
    assert state.run_label() == RunLabel("fast", False)


def test_losses_and_monitors_fit_the_task():
    assert loss_choices(REGRESSION) == ["auto", "mse", "mae", "huber"]
    assert loss_choices(BINARY) == ["auto", "binary_crossentropy", "categorical_crossentropy"]
    assert "mse" in loss_choices(None) and loss_choices(None)[0] == "auto"
    assert monitor_choices(BINARY) == ["auto", "val_loss", "val_pr_auc", "val_accuracy"]
    assert monitor_choices(MULTICLASS) == ["auto", "val_loss", "val_accuracy"]
    assert monitor_choices(REGRESSION) == ["auto", "val_loss"]
    assert monitor_key(preset("fast"), BINARY) == "val_pr_auc"
    assert monitor_key(preset("fast"), MULTICLASS) == "val_accuracy"
    assert monitor_key(preset("fast"), None) == "val_loss"
    assert monitor_key(preset("fast").with_changes(monitor="val_pr_auc"), REGRESSION) is None


def test_what_can_run_follows_the_preparation_and_the_training():
    state = TrainState()
    frame = pd.DataFrame({"x": [1.0, 2.0], "y": [0, 1]})
    recipe, split = object(), SplitSpec()
    assert state.missing_step(None, None, None) == "data"
    assert state.missing_step("y", None, split) == "prepare"
    assert state.missing_step("y", recipe, None) == "prepare"
    assert state.missing_step("y", recipe, split) is None
    assert not state.can_train(None, split, training=False)
    assert state.can_train(recipe, split, training=False)
    assert not state.can_train(recipe, split, training=True)
    assert not state.can_save(None, saving=False)
    assert state.can_save(_run(), saving=False) and not state.can_save(_run(), saving=True)

    first_stop = state.begin(frame, preset("fast"), BINARY)
    assert state.training_frame is frame and state.monitor == "val_pr_auc"
    assert state.can_stop(training=True) and not state.can_stop(training=False)
    assert state.request_stop(training=True)
    assert first_stop.is_set() and state.stopping() and state.stop_requested_at is not None
    assert not state.request_stop(training=True)  # once is enough
    assert not state.can_stop(training=True)
    state.ended()
    assert state.training_frame is None
    # a new training gets its own Stop: the old request does not stop it
    second_stop = state.begin(frame, preset("fast"), REGRESSION)
    assert second_stop is not first_stop and not second_stop.is_set()
    assert state.stop_requested_at is None and state.monitor == "val_loss"


def test_runs_keep_the_label_of_the_settings_they_were_trained_with():
    state = TrainState()
    frame = pd.DataFrame({"x": [1.0]})
    state.choose_preset("fast")
    state.settings = state.settings.with_values(epochs=3)
    state.begin(frame, state.settings.spec(), BINARY)
    state.choose_preset("thorough")  # changed while training: the run is still "fast (edited)"
    run = _run()
    assert state.finished(run) is frame
    opened = _run(run_id="ffff0000")  # e.g. opened from a model file: no label
    rows = state.rows([run, opened])
    assert [r.number for r in rows] == [1, 2]
    assert rows[0].label == RunLabel("fast", True) and rows[1].label is None
    assert text.label_text(rows[0].label) == "fast (edited)" and text.label_text(None) == "—"


def test_the_curves_on_show_change_only_when_the_user_picks_another_run():
    state = TrainState()
    state.begin(pd.DataFrame(), preset("fast"), BINARY)
    live, older = _run(), _run(run_id="0ld0ld")
    state.finished(live)
    assert not state.shows_history_of(live, training=False)  # its live curves stay, with the batch trace
    assert not state.shows_history_of(None, training=False)
    assert not state.shows_history_of(older, training=True)  # never over a training under way
    assert state.shows_history_of(older, training=False)
    assert state.shows_history_of(live, training=False)  # back to the first: its history now


def test_a_run_row_names_its_data_and_target_and_its_validation_numbers():
    row = run_row(2, _run(files=("line3_march.csv", "line3_april.csv")), RunLabel("balanced", False))
    assert row.files == ("line3_march.csv", "line3_april.csv") and row.rows == 1500
    assert row.target == "Machine failure"
    assert row.best_val_loss == pytest.approx(0.52)  # the validation loss of the best epoch (2)
    assert row.metric == "accuracy" and row.metric_value == pytest.approx(0.91234)
    assert row.more == (("val_roc_auc", 0.9512), ("val_pr_auc", 0.4851))
    cells = text.run_cells(row)
    assert len(cells) == len(text.run_column_titles()) == 12
    assert cells == [
        "#2  a1b2c3",
        "line3_march.csv, line3_april.csv",
        "Machine failure",
        "balanced",
        "3 / 40",
        "2",
        "0.5200",
        "accuracy 0.9123",
        "network · ROC-AUC 0.951 · PR-AUC 0.485",
        "1:05",
        "CPU (2 cores)",
        "finished",
    ]
    titles = text.run_column_titles()
    assert titles[text.DATA_COLUMN] == "Data" and titles[text.MORE_COLUMN] == "More (validation)"
    assert {titles[c] for c in text.NUMERIC_COLUMNS} == {
        "Epochs",
        "Best epoch",
        "Val loss",
        "Val metric",
        "Duration",
    }


def test_the_data_cell_shortens_many_files_and_names_a_table_without_files():
    many = run_row(1, _run(files=("a.csv", "b.csv", "c.csv", "d.csv")), None)
    assert text.data_text(many) == "a.csv, b.csv + 2 more"
    assert text.data_tooltip(many) == "a.csv\nb.csv\nc.csv\nd.csv\n1,500 rows"
    table = run_row(1, _run(files=()), None)
    assert text.data_text(table) == "table, 1,500 rows"
    multi_target = run_row(1, _run(target=["K_Scatch", "Bumps"]), None)
    assert multi_target.target == "K_Scatch + Bumps"


def test_a_run_without_a_best_epoch_or_with_regression_numbers():
    regression = _run(
        task=REGRESSION,
        best_epoch=0,
        metrics={"val_mae": 1.25, "val_rmse": 2.5, "val_r2": 0.8},
        cancelled=True,
    )
    cells = text.run_cells(run_row(1, regression, None))
    assert cells[6] == "—" and cells[7] == "MAE 1.2500"
    assert cells[8] == "network · RMSE 2.500 · R² 0.800" and cells[11] == "cancelled (best weights kept)"
    assert text.run_cells(run_row(1, _run(stopped_early=True), None))[11] == "stopped early"


def test_how_a_training_ended_in_words():
    assert text.outcome_text(_run(), "val_pr_auc") == "Finished 3 epochs; best epoch 2. Took 1:05."
    early = text.outcome_text(_run(stopped_early=True), "val_pr_auc")
    assert early.startswith("Stopped early after 3 epochs: val PR-AUC no longer improved; best epoch 2.")
    assert text.outcome_text(_run(cancelled=True), None).startswith(
        "Cancelled after 3 epochs; the best weights (epoch 2)"
    )
    assert (
        text.best_caption("val_loss") == "Best epoch (by val loss)"
        and text.best_caption(None) == "Best epoch"
    )
    update = SimpleNamespace(loss=0.5, val_loss=0.25, val_metric=None, metric_name="accuracy")
    assert text.epoch_text(update, None) == "Fitting the network on …: loss 0.5000, validation loss 0.2500"
    assert text.progress_text("fitting the recipe") == "Fitting the recipe…"


def test_clock():
    assert [text.clock(s) for s in (-3, 0, 7.4, 59.6, 754, 3723)] == [
        "0:00",
        "0:00",
        "0:07",
        "1:00",
        "12:34",
        "1:02:03",
    ]


def test_the_summary_line_of_a_real_recipe_and_split():
    df = pd.DataFrame({"<temp>": [1.0, 2.0, 3.0, 4.0] * 5, "kwh": [1.0, 2.0, 2.5, 4.0] * 5})
    recipe = propose_recipe(df, "kwh")
    assert preparation_summary(None, SplitSpec(), True) is None
    summary = preparation_summary(recipe, SplitSpec(), True)
    assert summary.target == "kwh" and summary.inputs == 1 and summary.class_weights is None  # regression
    line = text.summary_html(summary)
    assert line.startswith("<b>Target:</b> kwh") and "random split 70% / 15% / 15%" in line
    assert "class weights" not in line
    escaped = text.summary_html(replace(summary, target="<b>x</b>", class_weights=False))
    assert "&lt;b&gt;x&lt;/b&gt;" in escaped and "class weights off" in escaped
    assert "Load data" in text.missing_text("data") and "Prepare step" in text.missing_text("prepare")


def test_the_model_file_name_is_safe_and_ends_in_mfgmodel():
    assert suggested_model_name(_run(target="Machine failure [%]")) == "Machine_failure_____a1b2c3.mfgmodel"
    assert suggested_model_name(_run(target=["A", "B"])) == "target_a1b2c3.mfgmodel"
    assert TrainState.model_path("/models", _run()).as_posix() == "/models/Machine_failure_a1b2c3.mfgmodel"
    assert (
        with_model_suffix("/m/run") == "/m/run.mfgmodel"
        and with_model_suffix("/m/r.MFGMODEL") == "/m/r.MFGMODEL"
    )


def test_the_model_choice_defaults_to_auto_survives_a_preset_and_is_checked():
    state = TrainState()
    assert state.settings.model_choice == "auto" == NetworkSettings.from_preset("fast").model_choice
    state.settings = state.settings.with_values(model_choice="trees")
    assert state.choose_preset("thorough").model_choice == "trees"  # not part of a preset
    assert not state.settings.edited()  # the choice is not a change of the network
    with pytest.raises(TrainingError, match="Unknown model choice 'forest'"):
        NetworkSettings.from_preset("fast", model_choice="forest")


def test_the_stage_owns_the_status_line_and_the_text_names_the_model():
    state = TrainState()
    state.begin(pd.DataFrame({"a": [1]}), preset("fast"), BINARY)
    assert state.stage == "" and state.shows_progress_messages()
    state.stage_started("network")
    state.epoch_done(SimpleNamespace(epoch=1))
    assert not state.shows_progress_messages()  # the epochs own the line
    state.stage_started("trees")
    assert state.stage == "trees" and state.shows_progress_messages()
    assert text.stage_text("network") == "Fitting the network…"
    assert text.stage_text("trees") == "Fitting LightGBM trees…"
    message = "LightGBM: round 120 of at most 1000, best 100 (validation PR-AUC 0.5000)"
    assert text.stage_progress_text("trees", message) == (
        "Fitting LightGBM trees: round 120 of at most 1000, best 100 (validation PR-AUC 0.5000)"
    )
    assert text.stage_progress_text("network", "loading tensorflow") == "Loading tensorflow…"
    state.begin(pd.DataFrame({"a": [1]}), preset("fast"), BINARY)
    assert state.stage == ""  # a new training starts without a stage


def test_the_outcome_and_the_runs_table_name_the_chosen_model():
    reason = "LightGBM trees has the higher validation PR-AUC: 0.8000 against network 0.6000"
    auto = _run(chosen="trees", choice_reason=reason)
    assert text.outcome_text(auto, "val_pr_auc") == (
        f"Finished 3 epochs; best epoch 2. Kept the LightGBM trees: {reason}. Took 1:05."
    )
    only = _run(chosen="trees", choice_reason="LightGBM trees only (validation PR-AUC 0.8000)", epochs_run=0,
                best_epoch=0, history={})
    assert text.outcome_text(only, None) == (
        "Fitted the LightGBM trees. Kept the LightGBM trees: LightGBM trees only (validation PR-AUC 0.8000). "
        "Took 1:05."
    )
    row = run_row(1, auto, None)
    assert row.chosen == "trees"
    assert text.run_cells(row)[text.MORE_COLUMN].startswith("LightGBM trees · ROC-AUC 0.951")
