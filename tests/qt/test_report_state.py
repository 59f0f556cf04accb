"""The Report step's state, without a window or a QApplication."""

from __future__ import annotations

from types import SimpleNamespace

from mfg_desktop.qt.report.state import (
    NO_RUN,
    NOT_EVALUATED,
    READY,
    ReportState,
    default_report_path,
    pdf_path,
)


def test_a_report_is_offered_a_file_name_beside_the_last_report_or_the_data(tmp_path):
    data = tmp_path / "line3" / "ai4i.csv"
    data.parent.mkdir()
    reports = tmp_path / "reports"
    reports.mkdir()
    home = tmp_path / "home"
    assert default_report_path("", [str(data)], "r7", home) == str(data.parent / "report_r7.pdf")
    assert default_report_path(str(reports / "old.pdf"), [str(data)], "r7", home) == str(reports / "report_r7.pdf")
    assert default_report_path(str(tmp_path / "gone" / "x.pdf"), [], "r7", home) == str(home / "report_r7.pdf")


def test_the_offered_name_follows_the_run_until_the_user_types_one(tmp_path):
    state = ReportState(sections=["data"])
    assert state.offer_path("r1", "", [], tmp_path)
    assert state.path == str(tmp_path / "report_r1.pdf")
    assert state.offer_path("r2", "", [], tmp_path) and state.path.endswith("report_r2.pdf")
    state.path = str(tmp_path / "mine.pdf")  # typed by the user: kept for the next run
    assert not state.offer_path("r3", "", [], tmp_path) and state.path.endswith("mine.pdf")


def test_export_needs_a_run_a_file_a_section_and_no_running_report():
    run = object()
    state = ReportState(sections=["data"], path="r.pdf")
    assert state.can_export(run, busy=False)
    assert not state.can_export(None, busy=False)
    assert not state.can_export(run, busy=True)
    assert not ReportState(sections=[], path="r.pdf").can_export(run, busy=False)
    assert not ReportState(sections=["data"], path="  ").can_export(run, busy=False)


def test_readiness_knows_whether_the_evaluation_judged_this_run():
    run, other = object(), object()
    assert ReportState.readiness(None, None) == NO_RUN
    assert ReportState.readiness(run, None) == NOT_EVALUATED
    assert ReportState.readiness(run, SimpleNamespace(run=other)) == NOT_EVALUATED
    assert ReportState.readiness(run, SimpleNamespace(run=run)) == READY


def test_settings_carry_the_choices_and_the_evaluate_steps_costs():
    state = ReportState(sections=["data", "model"], paper="A4", path="x")
    state.names.update(plant="Werk Süd", line="L3", author="Q")
    settings = state.settings((20.0, 1.0))
    assert settings.sections == ("data", "model") and settings.plant == "Werk Süd" and settings.paper == "A4"
    assert (settings.cost_missed, settings.cost_false_alarm) == (20.0, 1.0)
    assert pdf_path(" report ") == "report.pdf" and pdf_path("a.PDF") == "a.PDF"
