"""A first guess at the target from the profile (mfg_desktop.core.profile.suggest_target)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mfg_desktop.core.profile import profile_frame, suggest_target
from mfg_desktop.resources import sample_data_path

DATA = Path(__file__).resolve().parents[1] / "data"
ROWS = 200


def _sensors(**extra) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"temperature": rng.normal(300, 2, ROWS), "speed": rng.normal(1500, 50, ROWS)})
    for name, values in extra.items():
        frame[name] = values
    return frame


def _guess(frame: pd.DataFrame):
    return suggest_target(profile_frame(frame))


def test_the_real_data_sets_get_their_documented_targets():
    ai4i = pd.read_csv(DATA / "ai4i2020.csv", encoding="utf-8-sig")
    assert _guess(ai4i) == "Machine_failure"  # a failure flag, not the last column (RNF)
    steel = pd.read_csv(DATA / "SteelPlatesFaults_Clean.csv")
    group = _guess(steel)
    assert isinstance(group, list) and len(group) == 7 and group[0] == "Pastry_Fault" and group[-1] == "Other_Faults"
    assert _guess(pd.read_csv(sample_data_path())) == "defect"


@pytest.mark.parametrize("name, values", [
    ("Result", ["OK", "NG"] * (ROWS // 2)),
    ("is_NG", [0, 1] * (ROWS // 2)),
    ("PassFail", ["pass", "fail"] * (ROWS // 2)),
    ("defective", [True, False] * (ROWS // 2)),
    ("Failed", [1, 0, 0, 0] * (ROWS // 4)),
])
def test_a_two_valued_column_named_like_an_outcome_wins_over_the_last_column(name, values):
    frame = _sensors(**{name: values, "shift": ["A", "B", "C", "D"] * (ROWS // 4)})
    assert _guess(frame) == name


def test_words_inside_other_words_do_not_count():
    # "rating" holds "ng", "passage" holds "pass", "resultant" is not "result": the last column is taken
    frame = _sensors(rating=[0, 1] * (ROWS // 2), passage=[0, 1] * (ROWS // 2), yield_pct=np.linspace(80, 99, ROWS))
    assert _guess(frame) == "yield_pct"


def test_an_outcome_name_with_more_than_two_values_is_no_yes_no_target():
    frame = _sensors(failure_mode=["none", "wear", "heat", "power"] * (ROWS // 4), energy=np.linspace(1, 2, ROWS))
    assert _guess(frame) == "energy"


def test_no_suggestion_when_the_last_column_cannot_be_a_target():
    assert _guess(_sensors(serial=[f"SN{i:06d}" for i in range(ROWS)])) is None  # an identifier
    assert _guess(_sensors(line=["L1"] * ROWS)) is None  # constant
    when = pd.date_range("2026-01-01", periods=ROWS, freq="min")
    assert _guess(_sensors(timestamp=when)) is None
    assert suggest_target(profile_frame(pd.DataFrame())) is None
