"""The Evaluate step's state without a window or a QApplication: what can run, the numbers at a
threshold, the costs in the session, which metric is best, the rows listed and explained.

Evaluations are core ``Evaluation`` objects built from known scores (their metrics computed by
core), so every expected number below is counted by hand or by numpy, not read back from the state.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import mfg_desktop
from mfg_desktop.core.errors import MfgError
from mfg_desktop.core.evaluate import (
    Evaluation,
    classification_metrics,
    confusion,
    decide,
    regression_metrics,
)
from mfg_desktop.core.explain import Contributions
from mfg_desktop.qt.evaluate.state import (
    EvaluateState,
    best_flags,
    confusion_cell,
    slider_threshold,
    slider_value,
)
from mfg_desktop.qt.evaluate.text import file_names, number_text, short
from mfg_desktop.qt.session import SessionModel

# eight evaluated rows of a yes/no model, positions 10..17 of the evaluated table
Y = np.array([0, 0, 0, 1, 1, 1, 0, 1])
P1 = np.array([0.1, 0.4, 0.7, 0.2, 0.6, 0.9, 0.3, 0.55])
# validation rows, for the cost and the proposed threshold
VALID_Y = np.array([0, 0, 1, 1, 0, 1])
VALID_P = np.array([0.2, 0.5, 0.45, 0.8, 0.1, 0.65])


def binary_evaluation(valid: bool = True, run: object | None = None) -> Evaluation:
    outputs = np.column_stack([1 - P1, P1])
    predicted = decide(outputs, "binary", 0.5)
    trivial = np.tile([0.5, 0.5], (len(Y), 1))
    return Evaluation(
        task="binary", classes=["ok", "defect"], target="result", rows=np.arange(10, 18), rows_total=30,
        source="test", note="test rows", y=Y, outputs=outputs, threshold=0.5,
        metrics=classification_metrics(Y, outputs, predicted, 2, "binary"),
        baselines={"trivial": classification_metrics(Y, trivial, np.zeros(len(Y), dtype=int), 2, "binary")},
        confusion=confusion(Y, predicted, ["ok", "defect"]),
        valid_y=VALID_Y if valid else None, valid_p=VALID_P if valid else None, run=run,
    )


def binary_run() -> SimpleNamespace:
    return SimpleNamespace(id="run-1", task="binary", threshold=0.5)


@pytest.fixture
def session() -> SessionModel:
    return SessionModel()


def test_the_state_and_its_formatters_import_without_qt():
    code = ("import sys, mfg_desktop.qt.evaluate.state, mfg_desktop.qt.evaluate.text; "
            "sys.exit('PySide6' in sys.modules)")
    checkout = str(Path(mfg_desktop.__file__).resolve().parents[1])  # this copy, not an installed one
    env = {**os.environ, "PYTHONPATH": checkout}
    assert subprocess.run([sys.executable, "-c", code], env=env, check=False).returncode == 0


def test_costs_reach_the_session_from_the_start_and_on_every_change(session):
    seen = []
    session.costs_changed.connect(seen.append)
    state = EvaluateState(session)
    assert session.costs == state.costs == (10.0, 1.0)
    state.set_costs(30, 2.5)
    assert session.costs == (30.0, 2.5) and seen == [(10.0, 1.0), (30.0, 2.5)]


def test_what_can_run_follows_the_session_the_jobs_and_the_evaluation(session):
    state = EvaluateState(session)
    idle = state.actions(busy=False, saving=False)
    assert (idle.evaluate_current, idle.open_model, idle.evaluate_files, idle.propose, idle.save) == (
        False, True, False, False, False)

    run = binary_run()
    session.add_run(run, frame="the frame")
    assert state.actions(busy=False, saving=False).evaluate_current
    assert not state.actions(busy=True, saving=False).evaluate_current  # one evaluation at a time
    assert state.judge_current_run() == (run, "the frame") and state.run is run
    assert state.actions(busy=False, saving=False).evaluate_files  # the run on screen can judge a file

    state.evaluated(binary_evaluation(run=run))
    assert session.evaluation is state.evaluation
    acts = state.actions(busy=False, saving=False)
    assert acts.propose and acts.use_threshold and acts.save
    assert not state.actions(busy=True, saving=True).use_threshold
    assert not state.actions(busy=False, saving=True).save
    state.evaluated(binary_evaluation(valid=False, run=run))
    assert not state.actions(busy=False, saving=False).propose  # nothing to tune on, never the test rows


def test_a_run_without_its_frame_cannot_be_judged_again(session):
    state = EvaluateState(session)
    session.set_current_run(binary_run())  # e.g. a run whose table was replaced
    assert state.judge_current_run() is None and state.run is None
    assert not state.actions(busy=False, saving=False).evaluate_current


def test_an_opened_model_file_is_what_files_are_judged_with_and_saved_to(session, tmp_path):
    state = EvaluateState(session)
    run = binary_run()
    session.add_run(run, frame="frame")
    state.judge_current_run()
    assert state.model_for_files() is run and state.save_path() is None and state.stored_in() is None
    loaded = SimpleNamespace(run=binary_run(), path=tmp_path / "line4.mfgmodel")
    state.evaluated(binary_evaluation(run=run))
    state.model_opened(loaded)
    assert state.model_for_files() is loaded and state.run is loaded.run and state.evaluation is None
    assert state.save_path() == loaded.path and state.stored_in() == "line4.mfgmodel"
    state.judge_current_run()  # back to the session's run: the file is no longer judged
    assert state.loaded is None and state.model_for_files() is run


@pytest.mark.parametrize("threshold", [0.05, 0.35, 0.5, 0.58, 0.95])
def test_the_readout_counts_the_decisions_and_the_validation_cost(session, threshold):
    state = EvaluateState(session)
    state.evaluated(binary_evaluation())
    state.set_costs(7, 2)
    r = state.readout(threshold)
    hit = P1 >= threshold
    tp, fp, fn = int((hit & (Y == 1)).sum()), int((hit & (Y == 0)).sum()), int((~hit & (Y == 1)).sum())
    assert (r.caught, r.false_alarms, r.positives) == (tp, fp, tp + fn)
    assert r.confusion.counts.tolist() == [[int((~hit & (Y == 0)).sum()), fp], [fn, tp]]
    assert r.recall == pytest.approx(tp / 4)
    assert np.isnan(r.precision) if tp + fp == 0 else r.precision == pytest.approx(tp / (tp + fp))
    valid_hit = VALID_P >= threshold
    expected = 7 * int((~valid_hit & (VALID_Y == 1)).sum()) + 2 * int((valid_hit & (VALID_Y == 0)).sum())
    assert r.cost == pytest.approx(expected)
    assert (r.positive, r.target) == ("defect", "result")


def test_no_readout_without_a_binary_model_and_no_cost_without_validation_rows(session):
    state = EvaluateState(session)
    assert state.readout(0.5) is None and state.propose() is None
    state.evaluated(binary_evaluation(valid=False))
    assert state.readout(0.5).cost is None


def test_propose_then_use_stores_the_threshold_in_the_run_and_republishes_the_evaluation(session):
    run = binary_run()
    state = EvaluateState(session)
    state.evaluated(binary_evaluation(run=run))
    published = []
    session.evaluation_changed.connect(published.append)
    state.set_costs(1, 1)
    # equal costs: cutting between 0.2 and 0.45 raises one false alarm (0.5), cutting between 0.5 and
    # 0.65 misses one positive (0.45); every other cut costs more, and of the two the one nearer 0.5 wins
    assert state.propose() == pytest.approx((0.5 + 0.65) / 2)
    state.set_costs(0, 0)
    with pytest.raises(MfgError, match="not both zero"):
        state.propose()

    assert state.use_threshold(0.58)
    ev = state.evaluation
    assert run.threshold == ev.threshold == 0.58
    assert ev.metrics["recall"] == pytest.approx(2 / 4)  # 0.6 and 0.9 of the four positives
    assert published == [ev]  # observers (the Report step) redraw

    with pytest.raises(MfgError, match="between 0 and 1"):
        state.use_threshold(1.5)
    assert run.threshold == 0.58


def test_using_a_threshold_needs_a_binary_model_and_leaves_another_evaluation_in_the_session(session):
    state = EvaluateState(session)
    assert state.use_threshold(0.3) is False
    state.evaluated(binary_evaluation(run=binary_run()))
    session.set_evaluation("another step's evaluation")
    assert state.use_threshold(0.3) and session.evaluation == "another step's evaluation"


def test_best_values_are_bold_lowest_for_errors_and_only_when_compared():
    assert best_flags("pr_auc", [0.7, 0.9, 0.1]) == [False, True, False]
    assert best_flags("mae", [2.0, 1.5, 3.0]) == [False, True, False]
    assert best_flags("f1", [0.8, None, 0.8]) == [True, False, True]
    assert best_flags("r2", [0.4, None, None]) == [False, False, False]  # nothing to compare with


def test_metric_rows_shade_the_main_metric_and_keep_the_model_order(session):
    state = EvaluateState(session)
    state.evaluated(binary_evaluation())
    rows = state.metric_rows()
    assert state.model_columns() == ["network", "trivial"]
    assert [row.key for row in rows if row.main] == ["pr_auc"]
    roc = next(row for row in rows if row.key == "roc_auc")
    assert roc.values == [pytest.approx(state.evaluation.metrics["roc_auc"]), 0.5] and roc.best == [True, False]


def test_the_rows_listing_holds_file_rows_names_decisions_and_scores(session):
    state = EvaluateState(session)
    state.evaluated(binary_evaluation())
    listing = state.rows_listing(limit=5)
    assert (listing.kind, listing.shown, listing.total, listing.positive) == ("binary", 5, 8, "defect")
    rows, actual, predicted, score = listing.columns
    assert rows.tolist() == [11, 12, 13, 14, 15]  # positions 10.. as 1-based spreadsheet rows
    assert actual.tolist() == ["ok", "ok", "ok", "defect", "defect"]
    assert predicted.tolist() == ["ok", "ok", "defect", "ok", "defect"]
    assert score.tolist() == P1[:5].tolist()


def test_multiclass_rows_score_the_predicted_class_and_regression_rows_their_error(session):
    state = EvaluateState(session)
    outputs = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.2, 0.5, 0.3]])
    y = np.array([0, 2, 1])
    state.evaluated(Evaluation(
        task="multiclass", classes=["a", "b", "c"], target="fault", rows=np.arange(3), rows_total=3, source="all",
        note="", y=y, outputs=outputs, threshold=None,
        metrics=classification_metrics(y, outputs, outputs.argmax(1), 3, "multiclass"), baselines={}))
    listing = state.rows_listing()
    assert listing.positive is None and not state.binary and state.classification
    assert listing.columns[2].tolist() == ["a", "c", "b"] and listing.columns[3].tolist() == [0.7, 0.6, 0.5]

    actual, predicted = np.array([3.0, 5.0]), np.array([2.5, 6.0])
    state.evaluated(Evaluation(
        task="regression", classes=[], target="kwh", rows=np.arange(2), rows_total=2, source="all", note="",
        y=actual, outputs=predicted, threshold=None, metrics=regression_metrics(actual, predicted), baselines={}))
    listing = state.rows_listing()
    assert listing.kind == "regression" and not state.classification
    assert listing.columns[3].tolist() == [0.5, -1.0]
    assert [row.key for row in state.metric_rows() if row.main] == ["r2"]


def test_a_row_is_explained_by_its_position_in_the_file(session):
    state = EvaluateState(session)
    ev = binary_evaluation()
    state.evaluated(ev)
    assert state.explain(8) is None and state.explain(-1) is None and state.explained_row == -1
    with pytest.raises(MfgError, match="no rows to explain"):  # built without the evaluated rows
        state.explain(2)
    assert state.explained_row == 2

    ev.explain_row = lambda position: Contributions(  # the network's answer for that row
        columns=["speed", "torque", "type", "wear"], values=[1500.0, 61.2, "L", 12], references=[1450.0, 40.0, "M", 90],
        deltas=np.array([0.01, 0.3, -0.05, -0.2]), prediction=0.81, output="p(defect)")
    explained = state.explain(3)
    assert (explained.file_row, explained.output, explained.prediction) == (14, "p(defect)", 0.81)
    assert [col for col, *_ in explained.ranked] == ["torque", "wear", "type", "speed"]  # largest effect first
    assert [col for col, *_ in explained.top] == ["torque", "wear", "type"]
    assert state.explained_row == 3


def test_confusion_cells_shade_by_share_green_when_right_red_when_wrong():
    right = confusion_cell(1123, 0.775, correct=True)
    assert right.text == "1,123\n77.5 %" and right.rgba == (58, 154, 74, 25 + 155) and right.light_text
    wrong = confusion_cell(14, 0.275, correct=False)
    assert wrong.rgba == (192, 80, 77, 80) and not wrong.light_text
    assert confusion_cell(0, 0.0, correct=True).rgba[3] == 0  # an empty cell stays white


def test_slider_steps_and_formatters():
    assert slider_value(0.4245) == 424 and slider_threshold(424) == 0.424
    assert number_text(float("nan")) == number_text(None) == "—" and number_text(0.123456, 3) == "0.123"
    assert short("Process temperature [K]", 10) == "Process t…" and short("Type", 10) == "Type"
    assert file_names(["/a/day1.csv", "day2.csv"]) == "day1.csv, day2.csv"
    assert file_names([f"d{i}.csv" for i in range(5)]) == "d0.csv, d1.csv, d2.csv …"
