"""Where the app keeps its settings and log: the platform's config dir, or a folder chosen by env.

Tests point ``MFG_DESKTOP_CONFIG_DIR`` at a temporary folder (tests/conftest.py), so they never
read or write a user's settings.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QSettings, QStandardPaths

CONFIG_ENV = "MFG_DESKTOP_CONFIG_DIR"
APP_NAME = "mfg-desktop"
ORGANIZATION = "mfg_desktop"
# the language chosen in View › Language ("en", "zh_CN"); absent: follow the system
LANGUAGE_KEY = "language"


def config_dir() -> Path:
    """The folder for settings and the log file (created if missing)."""
    override = os.environ.get(CONFIG_ENV)
    if override:
        folder = Path(override)
    else:
        base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.GenericConfigLocation)
        folder = Path(base or Path.home() / ".config") / APP_NAME
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def log_path() -> Path:
    return config_dir() / "mfg-desktop.log"


def app_settings() -> QSettings:
    """An INI file in :func:`config_dir` (readable by a person, easy to delete)."""
    return QSettings(str(config_dir() / "settings.ini"), QSettings.Format.IniFormat)


# The folders file dialogs remember: data files, model files, exports (scored files, batch reports).
DATA_DIR, MODEL_DIR, EXPORT_DIR = "last_dir", "model_dir", "last_export_dir"


def dialog_folder(kind: str = DATA_DIR) -> str:
    """Where a file dialog starts: the folder last used for this kind of file, else the data's, else home."""
    settings = app_settings()
    for key in (kind, DATA_DIR):
        folder = str(settings.value(key, "") or "")
        if folder and Path(folder).is_dir():
            return folder
    return str(Path.home())


def remember_folder(path: str | Path, kind: str = DATA_DIR) -> None:
    """The next dialog for this kind of file starts in ``path`` (a folder) or ``path``'s folder (a file)."""
    path = Path(path)
    app_settings().setValue(kind, str(path if path.is_dir() else path.parent))
