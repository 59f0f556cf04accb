"""The Data step's state and words without a window: targets offered and suggested, plots, notes."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from mfg_desktop.core.profile import LeakSuspect, TargetReport, profile_frame
from mfg_desktop.qt.data.jobs import column_plot_job
from mfg_desktop.qt.data.state import (
    MAX_CLASS_ROWS,
    PLOT_CATEGORIES,
    DataState,
    balance_rows,
    column_notes,
    first_column_to_show,
    target_options,
)
from mfg_desktop.qt.data.text import (
    option_label,
    quality_notes_html,
    report_html,
    settings_text,
    summary_html,
)

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def steel() -> pd.DataFrame:
    return pd.read_csv(DATA / "SteelPlatesFaults_Clean.csv")


@pytest.fixture(scope="module")
def sensors() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    rows = 400
    return pd.DataFrame({
        "batch_id": [f"B{i % 224:05d}" for i in range(rows)],
        "torque": np.where(rng.random(rows) < 0.05, np.nan, rng.normal(40, 5, rows)),
        "when": pd.date_range("2026-03-02", periods=rows, freq="10min"),
        "Result": rng.choice(["OK", "NG"], rows, p=[0.9, 0.1]),
    })


def _report(target: str, counts: dict[str, int], leaks=(), warnings=()) -> TargetReport:
    return TargetReport(target=target, columns=[target], task="binary" if len(counts) == 2 else "multiclass",
                        class_counts=counts, minority_share=min(counts.values()) / sum(counts.values()),
                        leak_suspects=[LeakSuspect(c, r) for c, r in leaks], warnings=list(warnings))


def test_the_picker_offers_the_onehot_group_first_then_every_column(steel):
    profile = profile_frame(steel)
    options = target_options(profile)
    group = options[0]
    assert group.is_group and len(group.columns) == 7 and group.columns[0] == "Pastry_Fault"
    assert "7 columns: Pastry_Fault, Z_Scratch_Fault, K_Scatch_Fault, …" in option_label(group)
    assert [o.target for o in options[1:]] == list(steel.columns)
    assert not options[1].is_group and option_label(options[1]) == steel.columns[0]


def test_a_target_is_suggested_only_while_none_is_chosen_and_stays_marked_until_changed(sensors):
    profile = profile_frame(sensors)
    state = DataState()
    assert state.suggest(profile, current=None) == "Result"
    assert state.is_suggested("Result") and state.is_suggested(["Result"])  # the session stores ["x"] as "x"
    assert not state.is_suggested("torque") and not state.is_suggested(None)
    assert state.suggest(profile, current="torque") is None and not state.is_suggested("Result")
    state.suggest(profile, current=None)
    state.new_data()
    assert state.suggested is None


def test_a_column_is_plotted_once_and_only_when_it_is_in_the_table(sensors):
    profile = profile_frame(sensors)
    state = DataState()
    assert state.plot_kind("torque", sensors, profile) == "numeric"
    assert state.plot_kind("torque", sensors, profile) is None  # already shown
    assert state.plot_kind("no such column", sensors, profile) is None
    assert state.plot_kind("when", sensors, None) == "datetime"  # before the profile: from the dtype
    assert state.plot_kind("Result", sensors, None) == "categorical"
    state.new_data()
    assert state.plot_kind("when", sensors, profile) == "datetime"


def test_many_categories_are_capped_with_the_rest_as_other(sensors):
    result = column_plot_job(sensors["batch_id"], "text", PLOT_CATEGORIES, SimpleNamespace())
    assert result[0] == "counts"
    labels = [label for label, _ in result[1]]
    assert len(labels) == PLOT_CATEGORIES + 1 and labels[-1] == "(other 214)"
    assert sum(count for _, count in result[1]) == len(sensors)
    histogram = column_plot_job(sensors["torque"], "numeric", PLOT_CATEGORIES, SimpleNamespace())
    assert histogram[0] == "histogram" and histogram[1].sum() == sensors["torque"].notna().sum()
    assert column_plot_job(sensors["when"], "datetime", PLOT_CATEGORIES, SimpleNamespace())[3] is True


def test_class_balance_is_largest_first_capped_and_marks_rare_classes():
    counts = {f"c{i}": i + 1 for i in range(40)}
    rows = balance_rows(_report("fault", counts))
    assert len(rows) == MAX_CLASS_ROWS and rows[0].label == "c39" and rows[0].count == 40
    assert rows[0].share == pytest.approx(40 / sum(counts.values()))  # share of all rows, shown or not
    binary = balance_rows(_report("Result", {"OK": 96, "NG": 4}))
    assert [(r.label, r.rare) for r in binary] == [("OK", False), ("NG", True)]


def test_column_notes_put_leaks_and_the_target_before_the_warnings(sensors):
    profile = profile_frame(sensors)
    report = _report("Result", {"OK": 360, "NG": 40}, leaks=[("torque", "It nearly determines the target.")])
    notes = column_notes(profile, report, "torque")
    assert notes.leak_reasons == ["It nearly determines the target."] and not notes.is_target
    html = quality_notes_html(profile, notes)
    assert html.index("Likely leak: It nearly determines the target.") < html.index("of the values are missing")
    assert column_notes(profile, report, "Result").is_target
    assert "This is the target." in quality_notes_html(profile, column_notes(profile, report, "Result"))
    assert not column_notes(profile, None, "Result").is_target
    assert "No problems found." in quality_notes_html(profile, column_notes(profile, None, "when"))
    assert "No table-wide problems found." in quality_notes_html(profile, None)


def test_the_first_column_shown_is_the_first_with_a_warning(sensors):
    profile = profile_frame(sensors[["when", "Result", "torque", "batch_id"]])
    assert first_column_to_show(profile) == "torque"
    clean = profile_frame(pd.DataFrame({"a": np.arange(50) % 7, "b": np.arange(50) % 3}))
    assert first_column_to_show(clean) == "a"


def test_report_and_summary_words():
    html = report_html(_report("Result", {"OK": 9, "NG": 1}, leaks=[("scrap_code", "a <code> after the test")],
                               warnings=["Likely leaks: scrap_code", "Imbalanced: the smallest class is 10 %."]))
    assert "Likely leaks — leave these out of the inputs (1)" in html and "a &lt;code&gt; after the test" in html
    assert "Imbalanced" in html and "Likely leaks: scrap_code" not in html  # told once, by the list
    assert "No likely leaks found." in report_html(_report("Result", {"OK": 9, "NG": 1}))
    csv = SimpleNamespace(path="/in/line 3.csv", encoding="utf-8-sig", delimiter=";", decimal=",", sheet=None)
    assert settings_text(csv) == "encoding utf-8-sig · delimiter ';' · decimal ,"
    assert settings_text(SimpleNamespace(sheet="Mai", encoding=None, delimiter="\t")) == "sheet Mai · delimiter Tab"
    frame = pd.DataFrame({"a": range(1234)})
    two = summary_html(SimpleNamespace(frame=frame, files=[csv, csv]), None)
    assert "2 files" in two and "1,234 rows" in two and "1 columns" in two and "duplicate" not in two
