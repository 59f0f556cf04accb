"""The Prepare step's history set-up without a window: choices, options, split rule, label curve,
and the worker function that builds what the CLI's ``train --entity ...`` builds."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mfg_desktop import cli
from mfg_desktop.core.errors import MfgError
from mfg_desktop.core.history import SOURCE_FILE, HistorySpec, suggest_history
from mfg_desktop.core.ingest import load_files
from mfg_desktop.core.jobs import JobState
from mfg_desktop.qt.prepare.history_state import (
    LABEL_FAILS,
    LABEL_JOIN,
    LABEL_RUL,
    LABEL_TARGET,
    ONE_HISTORY,
    ROLE_ENTITY,
    ROLE_ORDER,
    ROLE_SOURCE,
    HistoryChoices,
    context_roles,
    default_split,
    entity_options,
    entity_values,
    history_key_options,
    label_curve,
    order_is_time,
    order_options,
    parse_sizes,
    ticked_context,
    time_ordered_columns,
)
from mfg_desktop.qt.prepare.jobs import build_history

CMAPSS = Path(__file__).resolve().parents[1] / "data" / "cmapss_fd001_6engines.txt"


@pytest.fixture(scope="module")
def cmapss() -> pd.DataFrame:
    return load_files([CMAPSS]).frame


def test_window_sizes_are_parsed_with_a_message_naming_the_bad_one():
    assert parse_sizes("5, 10,20") == (5, 10, 20)
    assert parse_sizes("5;5, 10") == (5, 10)
    with pytest.raises(MfgError, match="'ten' is not a whole number"):
        parse_sizes("5, ten")
    with pytest.raises(MfgError, match="at least 1"):
        parse_sizes("0")
    with pytest.raises(MfgError, match="No window size"):
        parse_sizes(" , ")


def test_choices_make_the_cli_spec_and_name_the_target():
    rul = HistoryChoices(entity="unit", order="cycle", label=LABEL_RUL, rul_cap=125, sizes_text="5, 20")
    spec = rul.spec()
    assert (spec.entity, spec.order, spec.label, spec.rul_cap, spec.sizes) == ("unit", "cycle", "rul", 125, (5, 20))
    assert rul.target("anything") == "RUL"
    fails = HistoryChoices(entity="unit", label=LABEL_FAILS, fails_within=30, rul_cap=125)
    assert fails.spec().rul_cap is None and fails.target(None) == "fails_within_30"
    keep = HistoryChoices(entity="unit", label=LABEL_TARGET, windows="none", sizes_text="junk")
    assert keep.spec().label == "none" and keep.target("quality") == "quality"  # sizes unused without windows
    with pytest.raises(MfgError, match="one-hot"):
        keep.target(["a", "b"])
    join = HistoryChoices(entity=SOURCE_FILE, label=LABEL_JOIN)
    with pytest.raises(MfgError, match="label table"):
        join.spec()
    join.join_path, join.join_key, join.history_key = "t.csv", "id", SOURCE_FILE
    with pytest.raises(MfgError, match="target"):
        join.spec()
    join.join_target = "verdict"
    assert join.spec().label == "none" and join.target(None) == "verdict"
    with pytest.raises(MfgError, match="needs an entity"):
        HistoryChoices(order="cycle", label=LABEL_RUL).spec()
    assert not HistoryChoices().active and HistoryChoices(order="t").active and HistoryChoices(single=True).active
    one = HistoryChoices(single=True, order="t", sizes_text="5")
    assert one.spec().entity is None and default_split(one.spec()) == ("time", "t")


def test_options_put_none_first_then_the_suggestion_then_source_file(cmapss):
    suggestion = suggest_history(cmapss)
    options = entity_options(list(cmapss.columns), suggestion)
    assert options[0].column is None
    assert options[1].column == ONE_HISTORY
    assert options[2].column == "col_1" and options[2].suggested and "one run" in options[2].reason
    assert [o.column for o in options].count("col_1") == 1 and len(options) == 2 + cmapss.shape[1]
    orders = order_options(list(cmapss.columns), suggestion, "col_1")
    assert orders[0].column is None and orders[1].column == "col_2" and orders[1].suggested
    assert "col_1" not in [o.column for o in orders]
    several = [SOURCE_FILE, "a", "b"]
    assert [o.column for o in entity_options(several, None)] == [None, ONE_HISTORY, SOURCE_FILE, "a", "b"]
    assert SOURCE_FILE not in [o.column for o in entity_options(["a", "b"], None)]
    assert history_key_options(["a", SOURCE_FILE]) == [SOURCE_FILE, "a"]


def test_context_columns_their_roles_and_the_ticked_ones():
    spec = HistorySpec(entity="unit", order="cycle")
    roles = context_roles(spec, ["unit", "cycle", "s1", SOURCE_FILE])
    assert roles == {"unit": ROLE_ENTITY, "cycle": ROLE_ORDER, SOURCE_FILE: ROLE_SOURCE}
    assert context_roles(spec, ["unit", "s1"]) == {"unit": ROLE_ENTITY}
    assert ticked_context(roles, ["s1", "cycle"]) == [("cycle", ROLE_ORDER)]


def test_split_by_entity_by_time_for_one_history_else_random():
    assert default_split(HistorySpec(entity="unit", order="cycle")) == ("group", "unit")
    assert default_split(HistorySpec(order="time")) == ("time", "time")
    assert default_split(HistorySpec()) == ("random", None)


def test_time_ordered_columns_are_timestamps_and_a_counter_within_entities(cmapss):
    assert time_ordered_columns(cmapss, suggest_history(cmapss)) == ["col_2"]
    frame = pd.DataFrame({"when": pd.date_range("2024-01-01", periods=50, freq="h"), "x": np.arange(50.0) % 7})
    assert time_ordered_columns(frame, suggest_history(frame)) == ["when"]
    rows = pd.DataFrame({"row": np.arange(100), "x": np.random.default_rng(0).normal(size=100)})
    assert time_ordered_columns(rows, suggest_history(rows)) == []  # a row number alone says nothing


def test_label_curve_of_one_entity_capped_and_fails_within(cmapss):
    choices = HistoryChoices(entity="col_1", order="col_2", label=LABEL_RUL, rul_cap=125)
    assert entity_values(cmapss, "col_1") == [1, 2, 3, 4, 5, 6] and entity_values(cmapss, None) == []
    x, y = label_curve(cmapss, choices, 2)
    engine = cmapss[cmapss["col_1"] == 2]
    assert len(x) == len(engine) and x[0] == 1 and y[-1] == 0
    assert y[0] == min(125, len(engine) - 1) and np.all(np.diff(y) <= 0)
    choices.rul_cap = None
    assert label_curve(cmapss, choices, 2)[1][0] == len(engine) - 1
    choices.label, choices.fails_within = LABEL_FAILS, 10
    _, within = label_curve(cmapss, choices, 2)
    assert within.sum() == 11 and within[-11:].all()
    choices.label = LABEL_TARGET
    assert len(label_curve(cmapss, choices, 2)[0]) == 0
    # a timestamp order: hours from the entity's first row, remaining life in hours
    t = pd.DataFrame({"m": ["a"] * 5, "t": pd.date_range("2024-01-01", periods=5, freq="30min"), "v": range(5)})
    x, y = label_curve(t, HistoryChoices(entity="m", order="t", label=LABEL_RUL, rul_cap=None), "a")
    assert np.allclose(x, [0, 0.5, 1, 1.5, 2]) and np.allclose(y, [2, 1.5, 1, 0.5, 0])
    assert order_is_time(t, "t") and not order_is_time(t, "v") and not order_is_time(t, None)
    assert not order_is_time(None, "t")


def _cli_args(**changes) -> argparse.Namespace:
    args = argparse.Namespace(entity=None, order=None, rul=False, rul_cap=None, fails_within=None, join=None,
                              join_key=None, windows="minimal", window_sizes="5,10,20", files=[str(CMAPSS)],
                              target=None, resample=None, max_gap=None)
    vars(args).update(changes)
    return args


def test_the_worker_builds_exactly_what_the_cli_trains_on(cmapss):
    progress = []
    choices = HistoryChoices(entity="col_1", order="col_2", label=LABEL_RUL, rul_cap=125, sizes_text="5, 20")
    built = build_history(cmapss, choices, "col_26", [str(CMAPSS)], JobState(on_progress=lambda f, m: progress.append(f)))
    training, _ = cli._history_training(_cli_args(entity="col_1", order="col_2", rul=True, rul_cap=125.0,
                                                  window_sizes="5,20"), cmapss, [])
    pd.testing.assert_frame_equal(built.frame, training.frame)
    assert built.target == training.target == "RUL" and built.spec.to_dict() == training.spec.to_dict()
    assert built.roles == {"col_1": ROLE_ENTITY, "col_2": ROLE_ORDER}
    assert built.n_features == 24 * 7  # 24 sensors x (3 stats x 2 sizes + change)
    assert built.report.task == "regression"
    assert progress[-1] == 1.0 and progress == sorted(progress)


def test_the_worker_keeps_the_data_target_and_the_file_as_entity_for_one_file(tmp_path):
    path = tmp_path / "press_07.csv"
    rng = np.random.default_rng(0)
    pd.DataFrame({"force": rng.normal(size=30), "ok": ["yes", "no"] * 15}).to_csv(path, index=False)
    frame = load_files([path]).frame
    choices = HistoryChoices(entity=SOURCE_FILE, label=LABEL_TARGET, sizes_text="5")
    built = build_history(frame, choices, "ok", [str(path)], JobState())
    assert built.target == "ok" and (built.frame[SOURCE_FILE] == "press_07.csv").all()
    assert "force mean5" in built.frame.columns and built.roles == {SOURCE_FILE: ROLE_ENTITY}


def test_problems_raise_the_cores_messages(cmapss):
    with pytest.raises(MfgError, match="longer than every entity"):
        build_history(cmapss, HistoryChoices(entity="col_1", order="col_2", label=LABEL_RUL, sizes_text="500"),
                      None, [], JobState())
    with pytest.raises(MfgError, match="different value on every row"):
        build_history(cmapss.assign(reading=np.arange(len(cmapss))), HistoryChoices(entity="reading", label=LABEL_RUL),
                      None, [], JobState())


def test_choices_round_trip_as_saved_work_keeps_them_and_bad_ones_are_refused():
    choices = HistoryChoices(entity=SOURCE_FILE, label=LABEL_JOIN, join_path="/data/verdicts.csv", join_key="id",
                             history_key=SOURCE_FILE, join_target="verdict", windows="extended", sizes_text="5, 10")
    assert HistoryChoices.from_dict(choices.to_dict()) == choices
    assert HistoryChoices.from_dict({"entity": "unit", "label": "rul", "future_field": 1}).label == LABEL_RUL
    with pytest.raises(MfgError, match="unknown label rule"):
        HistoryChoices.from_dict({"entity": "unit", "label": "guess"})
    with pytest.raises(MfgError, match="at least 1"):
        HistoryChoices.from_dict({"entity": "unit", "sizes_text": "0"})
