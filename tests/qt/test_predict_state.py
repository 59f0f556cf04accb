"""The Predict step's state and words without a window: files, results, what can run, rows shown."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from mfg_desktop.core.errors import DataError
from mfg_desktop.core.score import FileScore, RejectReason, SchemaReport
from mfg_desktop.qt.predict.state import Activity, PredictState, rows_shown, warning_lines
from mfg_desktop.qt.predict.text import failed_text, model_card_html, result_title, summary_html


def _result(name: str = "a.csv", task: str = "binary", status: str = "scored", output: bool = True,
            **changes) -> FileScore:
    preview = pd.DataFrame({"row": [1, 2, 3], "p": [0.9, 0.1, 0.7], "flag": [1, 0, 1], "rejected": [None, None, None]})
    result = FileScore(path=Path("/in") / name, task=task, status=status,
                       output=Path("/work") / name if output else None, rows_read=3, rows_scored=3,
                       preview=preview, flagged=preview[preview["flag"] == 1], flagged_count=2,
                       output_columns=["p", "flag", "rejected"], threshold=0.5, positive_class=1,
                       class_counts={0: 1, 1: 2})
    return replace(result, **changes)


@pytest.fixture
def state() -> PredictState:
    state = PredictState()
    state.set_model(object(), "model.mfgmodel")
    return state


def test_files_are_listed_once_and_removed_by_path(state):
    assert state.add_paths(["/in/a.csv", Path("/in/b.csv"), "/in/a.csv"]) == ["/in/a.csv", "/in/b.csv"]
    assert state.add_paths(["/in/b.csv"]) == []
    state.remove_paths(["/in/a.csv"])
    assert state.paths == ["/in/b.csv"]


def test_the_first_result_becomes_current_and_progress_messages_are_no_results(state):
    assert not state.add_result("Scoring a.csv")  # a partial result that is only a message
    first, second = _result("a.csv"), _result("b.csv")
    assert state.add_result(first) and state.add_result(second)
    assert state.current_result is first  # the second does not steal the view
    assert state.select(1) is second
    assert state.select(5) is None and state.current == -1
    state.start_scoring()
    assert state.results == [] and state.current_result is None


def test_exports_take_only_results_with_a_scored_file(state):
    kept, rejected = _result("a.csv"), _result("b.csv", status="rejected", output=False)
    state.add_result(kept)
    state.add_result(rejected)
    assert state.to_export(all_files=True) == [kept]
    state.select(1)
    assert state.to_export(all_files=False) == []
    assert state.protected_paths() == ["/in/a.csv", "/in/b.csv"]
    assert state.rejected_count() == 1


def test_what_can_run_follows_model_files_results_and_jobs():
    state = PredictState()
    idle = Activity()
    can = state.actions(idle, has_run=False)
    assert not (can.score or can.batch_report or can.start_watch or can.use_run)
    state.set_model(object(), "m")
    state.add_paths(["/in/a.csv"])
    state.add_result(_result())
    can = state.actions(idle, has_run=True)
    assert can.score and can.export_current and can.export_all and can.batch_report and can.use_run
    assert can.start_watch and not can.stop_watch and not can.cancel_score
    scoring = state.actions(Activity(scoring=True), has_run=True)
    assert scoring.cancel_score and not (scoring.score or scoring.export_all or scoring.batch_report)
    exporting = state.actions(Activity(exporting=True), has_run=True)
    assert not (exporting.score or exporting.cancel_score or exporting.export_current)
    watching = state.actions(Activity(watching=True), has_run=True)
    assert watching.stop_watch and not watching.start_watch and watching.score  # watching and scoring coexist


def test_a_run_of_this_session_is_taken_only_while_no_model_is_chosen():
    class Run:
        model = object()

    state = PredictState()
    assert state.wants_current_run(Run()) and not state.wants_current_run(None)
    state.set_model(object(), "file.mfgmodel")
    assert not state.wants_current_run(Run())


def test_only_flagged_applies_to_binary_results_only():
    shown = rows_shown(_result(), only_flagged=True)
    assert shown.flagged_only and list(shown.frame["flag"]) == [1, 1] and shown.total == 2
    assert (shown.flag_column, shown.rejected_column) == ("flag", "rejected")
    multiclass = _result(task="multiclass", output_columns=["predicted", "rejected_reason"])
    shown = rows_shown(multiclass, only_flagged=True)
    assert not shown.flagged_only and len(shown.frame) == 3 and shown.total == 3
    assert shown.flag_column is None and shown.rejected_column == "rejected_reason"
    assert rows_shown(_result(flagged=pd.DataFrame()), only_flagged=True).empty


def test_warning_lines_put_the_files_error_before_the_schema_findings():
    schema = SchemaReport(file="a.csv", columns=["x", "y"], required=["x", "z"], missing=["z"], extra=["y"],
                          renamed={}, ambiguous={})
    lines = warning_lines(_result(error="The file could not be read.", schema=schema))
    assert lines[0] == "The file could not be read." and any("'z'" in line for line in lines[1:])
    assert warning_lines(_result()) == []


def test_watching_needs_both_folders():
    assert PredictState.watch_folders("  /line ", "/out") == ("/line", "/out")
    assert PredictState.watch_folders("/line", "   ") is None


def test_summary_and_title_tell_counts_reasons_and_predictions():
    result = _result(rows_read=2000, rows_scored=1999, rows_rejected=1, status="partial",
                     rejects=[RejectReason(key="type:Torque", text="'Torque' is not a number", rows=1, first_row=8)])
    assert result_title(result) == "a.csv: 1,999 of 2,000 rows scored"
    html = summary_html(result)
    assert "'Torque' is not a number: 1 row(s), the first at data row 8" in html.replace("&#x27;", "'")
    assert "Flagged (p(1) ≥ 0.50): 2 rows" in html and "1: 2 (0.1%)" in html
    regression = summary_html(_result(task="regression", value_summary={"median": 3.25, "p95": 7.0}))
    assert "median: 3.25" in regression and "95th percentile: 7" in regression and "Flagged" not in regression
    assert result_title(_result(status="rejected")) == "a.csv: rejected, nothing scored"


def test_failures_are_told_in_full_only_when_expected():
    assert failed_text(DataError("Column 'x' is missing.")).startswith("Failed: Column 'x' is missing.")
    assert failed_text(ZeroDivisionError("boom")) == "Failed."


def test_the_model_card_escapes_what_the_file_says():
    card = {"task": "binary", "target": "<fail>", "inputs": ["a", "b"], "training_files": ["x.csv", ""],
            "training_rows": 10, "fingerprint": "0123456789abcdef", "metrics": {"val_accuracy": 0.81234},
            "threshold": 0.4, "positive_class": 1, "derived": [], "created": "2026-01-02T03:04:05.123",
            "app_version": "0.1.0"}
    html = model_card_html(card, "m.mfgmodel")
    assert "target &lt;fail&gt;" in html and "<fail>" not in html
    assert "10 rows (x.csv), fingerprint 0123456789ab" in html and "Accuracy (validation) 0.812" in html
    assert "flag when p(1) ≥ 0.40" in html and "2026-01-02 03:04:05 with mfg-desktop 0.1.0" in html
