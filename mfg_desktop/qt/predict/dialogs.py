"""Where the Predict step's file dialogs start: the folder last used (settings key ``last_dir``, as the
window's File > Open uses), else the home folder; model files and exports keep their own folder first."""

from __future__ import annotations

from pathlib import Path

from mfg_desktop.qt.settings import app_settings

LAST_DIR = "last_dir"  # data files and folders, shared with the window's File > Open
LAST_MODEL_DIR = "last_model_dir"
LAST_EXPORT_DIR = "last_export_dir"


def start_dir(key: str = LAST_DIR) -> str:
    """The folder a dialog opens in: ``key``'s folder, else ``last_dir``'s, else home (if it still exists)."""
    settings = app_settings()
    for name in dict.fromkeys((key, LAST_DIR)):
        folder = settings.value(name)
        if folder and Path(str(folder)).is_dir():
            return str(folder)
    return str(Path.home())


def remember_dir(folder: str | Path, key: str = LAST_DIR) -> None:
    app_settings().setValue(key, str(folder))
