"""Shared test setup: Qt offscreen, settings in a temporary folder, paths to real datasets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# English unless a test asks for Chinese (i18n.set_language("zh_CN"), or MFG_LANG=zh_CN for a
# subprocess): a developer's zh_CN desktop must not change what the tests see
os.environ.pop("MFG_LANG", None)
for _var in ("LC_ALL", "LC_MESSAGES", "LANG"):
    if os.environ.get(_var, "").lower().startswith("zh"):
        os.environ[_var] = "C.UTF-8"

DATA_DIR = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA_DIR


@pytest.fixture(scope="session")
def ai4i_path() -> Path:
    return DATA_DIR / "ai4i2020.csv"


@pytest.fixture(scope="session")
def steel_path() -> Path:
    return DATA_DIR / "SteelPlatesFaults_Clean.csv"


@pytest.fixture(scope="session")
def ai4i_small_run(ai4i_path):
    """The first 1,500 rows of ai4i2020, their profile and target report, a 2-epoch model with the
    leak suspects left out, and its evaluation: for tests that need a real run, not a good one.
    Shared read-only: a test that changes the run must copy it first."""
    from types import SimpleNamespace

    import pandas as pd

    from mfg_desktop.core.evaluate import evaluate_run
    from mfg_desktop.core.network import preset
    from mfg_desktop.core.profile import analyze_target, profile_frame
    from mfg_desktop.core.recipe import propose_recipe
    from mfg_desktop.core.split import SplitSpec
    from mfg_desktop.core.train import train_run

    frame = pd.read_csv(ai4i_path, encoding="utf-8-sig").iloc[:1500].reset_index(drop=True)
    profile = profile_frame(frame)
    report = analyze_target(frame, "Machine_failure", profile)
    recipe = propose_recipe(frame, "Machine_failure", leak_suspects={s.column: s.reason for s in report.leak_suspects})
    run = train_run(frame, recipe, SplitSpec(), preset("fast").with_changes(epochs=2), seed=1)
    return SimpleNamespace(
        frame=frame, analysed=(profile, report), run=run, evaluation=evaluate_run(run, frame, n_repeats=2, max_rows=500)
    )


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path_factory, monkeypatch):
    """Never read or write the user's settings: point every config location to a temp folder."""
    config = tmp_path_factory.mktemp("config")
    monkeypatch.setenv("MFG_DESKTOP_CONFIG_DIR", str(config))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
