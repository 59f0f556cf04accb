"""Locate bundled resources whether installed from a wheel or run from the checkout."""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def resource_dir() -> Path:
    """The folder holding icons, sample data and translations.

    In a wheel the top-level ``resources/`` folder is shipped as ``mfg_desktop/resources``;
    in a checkout (or an editable install) it sits next to the package.
    """
    for candidate in (_PACKAGE_DIR / "resources", _PACKAGE_DIR.parent / "resources"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        f"mfg_desktop resources not found next to {_PACKAGE_DIR}; reinstall the application."
    )


def resource_path(*parts: str) -> Path:
    return resource_dir().joinpath(*parts)


def sample_data_path() -> Path:
    return resource_path("sample", "line_sensors.csv")
