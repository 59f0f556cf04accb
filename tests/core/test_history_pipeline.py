"""Histories in the split and the leak detector: entities stay whole, per-entity settings are no leak."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mfg_desktop.core.profile import analyze_target
from mfg_desktop.core.split import SplitSpec, make_split
from mfg_desktop.core.task import BINARY


def experiments(n_experiments=20, rows=30, seed=0) -> pd.DataFrame:
    """One verdict per experiment; 'feed' is held per experiment and equals 6 on two worn ones."""
    rng = np.random.default_rng(seed)
    parts = []
    for k in range(1, n_experiments + 1):
        worn = k % 4 == 0  # a quarter worn
        parts.append(pd.DataFrame({
            "experiment": k, "feed": 6.0 if k in (4, 8) else 3.0,
            "vibration": rng.normal(1.5 if worn else 1.0, 0.3, rows), "verdict": "worn" if worn else "unworn",
        }))
    return pd.concat(parts, ignore_index=True)


def test_per_entity_setting_is_no_leak_when_the_entity_is_known():
    df = experiments()
    flagged = {s.column for s in analyze_target(df, "verdict").leak_suspects}
    assert "feed" in flagged  # without the entity: "when feed = 6 the target is worn in 60 of 60 rows"
    with_entity = {s.column for s in analyze_target(df, "verdict", entity="experiment").leak_suspects}
    assert "feed" not in with_entity


def test_group_split_is_stratified_when_the_label_is_per_group():
    df = experiments()
    for seed in range(5):
        split = make_split(df, df["verdict"], SplitSpec(method="group", column="experiment", seed=seed), BINARY)
        for part in (split.train, split.valid, split.test):
            assert set(df["verdict"].iloc[part]) == {"worn", "unworn"}, seed
        groups = [set(df["experiment"].iloc[p]) for p in (split.train, split.valid, split.test)]
        assert not (groups[0] & groups[1] or groups[0] & groups[2] or groups[1] & groups[2])
        assert any("stratified by class" in n for n in split.notes)
