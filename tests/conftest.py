"""Shared test setup: Qt offscreen, settings in a temporary folder, paths to real datasets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

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


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path_factory, monkeypatch):
    """Never read or write the user's settings: point every config location to a temp folder."""
    config = tmp_path_factory.mktemp("config")
    monkeypatch.setenv("MFG_DESKTOP_CONFIG_DIR", str(config))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
