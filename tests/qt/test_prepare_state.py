"""The Prepare step's state and sentences, without a window or a QApplication.

A small line-data frame (four machines, hourly timestamps, two sensors, a grade, 5 % defects and a
scrap flag that copies the defect) goes through core's real target analysis and recipe proposal;
the state's rules are then checked as the views would drive them.
"""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mfg_desktop.core.errors import MfgError, TrainingError
from mfg_desktop.core.jobs import JobState
from mfg_desktop.core.profile import LeakSuspect, TargetReport, analyze_target
from mfg_desktop.core.recipe import ColumnPlan, PcaSettings
from mfg_desktop.qt.prepare import jobs, text
from mfg_desktop.qt.prepare.state import (
    NEEDS_INPUTS,
    NEEDS_SPLIT,
    PrepareState,
    WeightAdvice,
    field_options,
    fit_to_role,
    pca_selection,
    pca_settings,
    split_spec,
)

PREPARE_DIR = Path(jobs.__file__).parent


@pytest.fixture(scope="module")
def line_frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 400
    defect = (rng.random(n) < 0.06).astype(int)
    return pd.DataFrame(
        {
            "Machine ID": rng.choice(["M1", "M2", "M3", "M4"], n),
            "timestamp": pd.date_range("2024-01-01", periods=n, freq="h"),
            "temp": rng.normal(60, 5, n),
            "pressure": rng.normal(2, 0.1, n),
            "grade": rng.choice(["A", "B", "C"], n),
            "scrap_flag": defect,
            "defect": defect,
        }
    )


@pytest.fixture(scope="module")
def report(line_frame) -> TargetReport:
    return analyze_target(line_frame, "defect")


def _proposed(frame: pd.DataFrame, report: TargetReport, state: PrepareState | None = None) -> PrepareState:
    """A state that got its target's analysis and core's proposal, as the panel's jobs deliver them."""
    if state is None:
        state = PrepareState()
        state.set_data(frame)
        state.begin("defect", report)
    recipe, natural = jobs.propose(frame, state.target, list(state.derived), dict(state.leaks), JobState())
    state.apply_proposal(recipe, natural)
    return state


def test_the_state_modules_import_no_qt():
    for name in ("state.py", "jobs.py"):
        tree = ast.parse((PREPARE_DIR / name).read_text(encoding="utf-8"))
        imported = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        imported += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        assert not [m for m in imported if m.startswith(("PySide6", "pyqtgraph"))], name


def test_the_proposal_leaves_the_leak_out_and_points_at_it(line_frame, report):
    state = PrepareState()
    state.set_data(line_frame)
    state.begin("defect", report)
    assert state.leaks == {"scrap_flag": next(s.reason for s in report.leak_suspects)}
    recipe, natural = jobs.propose(line_frame, "defect", [], dict(state.leaks), JobState())
    leak_row = state.apply_proposal(recipe, natural)
    assert state.plans[leak_row].name == "scrap_flag" and not state.is_used(leak_row)
    assert "scrap_flag" not in state.used_columns() and "temp" in state.used_columns()
    assert state.task == "binary"
    built = state.recipe(PcaSettings())
    assert built.inputs == state.used_columns() and "defect" not in built.inputs
    assert state.needs(split_spec("random", None, 0.7, 0.15, 0.15)) == []
    assert state.needs(None) == [NEEDS_SPLIT]


def test_ticking_columns_again_restores_the_role_they_had(line_frame, report):
    state = _proposed(line_frame, report)
    # a leak suspect, once ticked, is what it would have been proposed as (a 0/1 flag: not scaled)
    row, changed = state.set_used("scrap_flag", True)
    assert changed and state.plans[row].role == "numeric" and state.plans[row].scale == "none"
    assert state.plans[row].reason == next(s.reason for s in report.leak_suspects)  # still says why
    assert state.set_used("scrap_flag", True) == (row, False)  # already used: nothing changes

    # a column switched to categorical, unticked and ticked comes back categorical, with valid settings
    temp = state.set_plan("temp", role="categorical")
    assert state.plans[temp].impute == "most_frequent" and state.plans[temp].encode == "onehot"
    state.set_used("temp", False)
    assert state.plans[temp].role == "drop" and state.options(temp, "scale") == ()
    state.set_used("temp", True)
    assert state.plans[temp].role == "categorical"
    # dropped through the role cell: the role before dropping is remembered too
    pressure = state.set_plan("pressure", role="drop")
    assert state.set_used("pressure", True) == (pressure, True) and state.plans[pressure].role == "numeric"

    # nothing ticked: the header's to-do says so
    for name in state.used_columns():
        state.set_used(name, False)
    assert state.needs(split_spec("random", None, 0.7, 0.15, 0.15)) == [NEEDS_INPUTS]


def test_a_column_never_used_gets_the_role_of_its_dtype(line_frame, report):
    state = _proposed(line_frame, report)
    state.plans[state.row_of("timestamp")] = ColumnPlan("timestamp", "drop")
    state.set_used("timestamp", True)
    assert state.plans[state.row_of("timestamp")].role == "datetime"
    assert state.role_when_used("grade") == "categorical"  # no memory, no natural plan: from the dtype
    assert state.role_when_used("not a column") == "numeric"


def test_a_new_proposal_keeps_what_the_user_set(line_frame, report):
    state = _proposed(line_frame, report)
    state.set_plan("temp", scale="robust")
    state.set_used("grade", False)
    state.add_derived('spread = "temp" / "pressure"')
    state = _proposed(line_frame, report, state)
    assert state.plans[state.row_of("temp")].scale == "robust"
    assert not state.is_used(state.row_of("grade"))
    assert state.is_derived("spread") and "spread" in state.used_columns()
    assert state.recipe(PcaSettings()).derived[0].columns == ("temp", "pressure")


def test_derived_columns_are_checked_and_removed_in_dependency_order(line_frame):
    state = PrepareState()
    state.set_data(line_frame)
    with pytest.raises(MfgError, match="pressur"):
        state.check_formula('x = "pressur" * 2')
    with pytest.raises(MfgError):
        state.check_formula("x = __import__('os').system('true')")
    state.add_derived('ratio = "temp" / "pressure"')
    assert "ratio" in state.available_columns()
    state.add_derived("ratio_pct = ratio * 100")  # a formula may use an earlier derived column
    assert state.users_of("ratio") == ["ratio_pct"]
    with pytest.raises(ValueError, match="ratio_pct"):
        state.remove_derived("ratio")
    assert state.remove_derived("ratio_pct") == 1 and state.remove_derived("ratio") == 0
    state.add_derived('d = "temp" - 1')
    state.set_data(line_frame)  # new data: no derived columns any more
    assert state.derived == [] and state.plans == []


def test_options_follow_the_role():
    assert field_options("role", "drop") == ("numeric", "categorical", "datetime", "drop")
    assert field_options("scale", "categorical") == () and field_options("encode", "numeric") == ()
    assert field_options("impute", "drop") == ()
    assert "most_frequent" in field_options("impute", "categorical")
    assert "median" not in field_options("impute", "categorical")
    plan = fit_to_role(ColumnPlan("c", "numeric", impute="most_frequent", scale="none", encode="x"))
    assert (plan.impute, plan.scale) == ("most_frequent", "none")  # valid for numbers: kept
    plan = fit_to_role(ColumnPlan("c", "categorical", impute="median"))
    assert plan.impute == "most_frequent"
    assert fit_to_role(ColumnPlan("c", "datetime", impute="constant", scale="x")).scale == "standard"


def test_split_rules(line_frame, report):
    with pytest.raises(TrainingError, match="add up to"):
        split_spec("random", None, 0.8, 0.15, 0.15)
    with pytest.raises(TrainingError, match="needs a column"):
        split_spec("group", None, 0.7, 0.15, 0.15)
    spec = split_spec("random", "Machine ID", 0.6000001, 0.2, 0.2)
    assert spec.column is None and spec.train == 0.6  # a random split uses no column
    assert split_spec("time", "timestamp", 0.7, 0.15, 0.15).column == "timestamp"

    state = _proposed(line_frame, report)
    names = state.split_candidates()
    assert "defect" not in names and names[0] == "Machine ID"
    assert state.suggest_split_column("time", names) == "timestamp"
    assert state.suggest_split_column("group", names) == "Machine ID"
    assert state.suggest_split_column("group", ["temp", "grade"]) is None
    assert state.suggest_split_column("random", names) is None
    state.target = ["defect", "scrap_flag"]  # a one-hot group: none of its columns may split
    assert {"defect", "scrap_flag"}.isdisjoint(state.split_candidates())


def test_class_weights_are_advised_for_a_rare_class_only(report):
    advice = WeightAdvice.of(report)
    assert advice.applies and advice.suggested and advice.rarest == "1"
    assert advice.class_weight(True) is True and advice.class_weight(False) is False
    assert f"{report.minority_share:.1%}" in text.weights_text(advice) and "weights are on" in text.weights_text(advice)

    balanced = TargetReport("y", [], "binary", {"a": 45, "b": 55}, 0.45, [], [])
    advice = WeightAdvice.of(balanced)
    assert advice.applies and not advice.suggested and advice.rarest == "a"
    assert "off by default" in text.weights_text(advice)

    regression = TargetReport("y", [], "regression", {}, None, [], [])
    assert WeightAdvice.of(regression).class_weight(True) is None
    # a classification without a class balance: nothing to choose, but still not "regression"
    unknown = TargetReport("y", [], "binary", {}, None, [LeakSuspect("x", "r")], [])
    assert not WeightAdvice.of(unknown).applies and WeightAdvice.of(unknown).class_weight(False) is False


def test_pca_choice():
    ratios = np.array([0.5, 0.3, 0.15, 0.05])
    assert pca_selection(ratios, by_count=True, count=2, share_goal=0.95) == (2, pytest.approx(0.8))
    assert pca_selection(ratios, by_count=True, count=9, share_goal=0.95)[0] == 4  # no more than exist
    assert pca_selection(ratios, by_count=False, count=1, share_goal=0.95) == (3, pytest.approx(0.95))
    assert pca_selection(ratios, by_count=False, count=1, share_goal=0.96)[0] == 4
    assert pca_selection(ratios, by_count=False, count=1, share_goal=0.5)[0] == 1
    assert pca_settings(False, True, 3, 0.9) == PcaSettings()
    assert pca_settings(True, True, 3, 0.9) == PcaSettings(enabled=True, n_components=3, variance=None)
    assert pca_settings(True, False, 3, 0.912345).variance == 0.9123


def test_the_sentences(line_frame, report):
    assert text.value_label("most_frequent") == "most frequent" and text.value_label("odd") == "odd"
    assert text.reason_text("numeric", "known after", derived=False) == "⚠ leak: known after"
    assert text.reason_text("numeric", None, derived=True) == "derived column; numeric"
    assert text.reason_text("", None, derived=True) == "derived column"
    assert "no remark" in text.reason_html("<b>x</b>", "", leak=False)
    assert "&lt;b&gt;x" in text.reason_html("<b>x</b>", "", leak=False)  # names are escaped

    spec = split_spec("random", None, 0.7, 0.15, 0.15)
    assert "each class" in text.split_text(spec, "binary")
    assert "each class" not in text.split_text(spec, "regression")
    assert "'timestamp'" in text.split_text(split_spec("time", "timestamp", 0.7, 0.15, 0.15), "binary")

    ready = text.header_html("defect", "binary", used=5, total=6, derived=1, needs=[])
    assert "5 of 6 columns" in ready and "1 derived" in ready and "Ready to train" in ready
    todo = text.header_html(["a", "b"], "multiclass", 0, 6, 0, [NEEDS_INPUTS, NEEDS_SPLIT])
    assert "a + b" in todo and "tick at least one input; fix the split" in todo and "derived" not in todo
    assert text.pca_text(9, 5, 0.96) == (
        "9 prepared features; 5 components keep 96.0% of their variance (fitted on the training rows)."
    )
