"""View › Language: English or 简体中文, remembered in the settings, used from the next start.

The choice takes effect after a restart: every window, message and plot label is built in one
language, and re-labelling a live window (with training curves and tables in it) half-way would
leave a mixture. ``MFG_LANG`` overrides the choice (tests, the CLI); the menu says so.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QMainWindow, QMenu, QMessageBox

from mfg_desktop.core import i18n
from mfg_desktop.qt.settings import LANGUAGE_KEY, app_settings

SYSTEM = ""  # the settings value for "follow the system"


def tr(text: str) -> str:
    return QCoreApplication.translate("Language", text)


def saved_choice() -> str:
    return str(app_settings().value(LANGUAGE_KEY, SYSTEM) or SYSTEM)


def choose_language(window: QMainWindow, code: str) -> None:
    """Remember ``code`` ("" = the system's) and say when it applies."""
    if code == saved_choice():
        return
    app_settings().setValue(LANGUAGE_KEY, code)
    next_language = i18n.forced_language() or i18n.normalize(code) or i18n.system_language()
    # said in both languages: the user may not read the one now on the screen
    text = {i18n.ENGLISH: "mfg-desktop will be in English from the next start.",
            i18n.CHINESE: "下次启动 mfg-desktop 时界面将使用简体中文。"}[next_language]
    if i18n.forced_language():
        text += "\n\n" + tr("MFG_LANG is set in the environment, and it decides the language while it is set.")
    QMessageBox.information(window, tr("Language"), text)


def build_view_menu(window: QMainWindow) -> dict[str, QAction]:
    """Add View › Language to ``window``'s menu bar; its actions by language code ("" = system)."""
    menu: QMenu = window.menuBar().addMenu(tr("&View"))
    languages = menu.addMenu(tr("&Language"))
    group = QActionGroup(window)
    group.setExclusive(True)
    actions = {}
    saved = saved_choice()
    for code, name in [(SYSTEM, tr("Follow the system")), *i18n.LANGUAGES.items()]:
        action = QAction(name, window)
        action.setCheckable(True)
        action.setChecked(code == saved)
        action.triggered.connect(lambda _checked=False, c=code: choose_language(window, c))
        group.addAction(action)
        languages.addAction(action)
        actions[code] = action
    languages.addSeparator()
    note = languages.addAction(tr("Takes effect at the next start"))
    note.setEnabled(False)
    return actions
