"""The app's language: which one is in use, and the message catalog every user-visible string goes through.

One gettext catalog serves the whole app (core, CLI, window, report):
``resources/translations/<lang>/LC_MESSAGES/mfg_desktop.po`` (the source a translator edits) and the
compiled ``.mo`` beside it. This module is Qt-free and needs only the standard library at run time;
the window routes Qt's own ``tr()`` calls into the same catalog (``qt/app.py``). Extracting and
compiling: ``python installer/translations.py`` (README, "Translations").

How strings are written so that the extractor finds them::

    tr("Column {column} has no values.", column=name)        # placeholders are named, never f-strings
    trn("{n} row was dropped.", "{n} rows were dropped.", n)  # English plural; Chinese has one form
    LABELS = {"binary": N_("two classes")}  ... tr(LABELS[kind])  # marked at import, translated at use

The language is chosen once, before the window or a command starts: ``MFG_LANG`` (tests, the CLI)
wins over the user's choice in View › Language, which wins over the system's (``LC_ALL``,
``LC_MESSAGES``, ``LANG``, or the Windows UI language).
"""

from __future__ import annotations

import gettext
import locale
import os
import sys
from datetime import date, datetime

DOMAIN = "mfg_desktop"
ENGLISH, CHINESE = "en", "zh_CN"
# what the Language menu offers, each named in its own language
LANGUAGES = {ENGLISH: "English", CHINESE: "简体中文"}
FORCE_ENV = "MFG_LANG"

_catalog: gettext.NullTranslations = gettext.NullTranslations()
_language = ENGLISH


def normalize(code: str | None) -> str | None:
    """A language code from a locale name ("zh_CN.UTF-8", "zh-Hans", "en_US", "C"), or None when
    it names no language the app has. Every Chinese locale gets Simplified Chinese, the only one."""
    if not code:
        return None
    base = code.split(".")[0].split("@")[0].replace("-", "_").strip()
    if not base or base in ("C", "POSIX"):
        return ENGLISH if base else None
    if base.lower().startswith("zh"):
        return CHINESE
    if base.lower().startswith("en"):
        return ENGLISH
    return None


def system_language() -> str:
    """The language the system asks for; English when it names one the app does not have."""
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):  # the precedence POSIX gives them
        value = os.environ.get(var)
        if value:
            return normalize(value) or ENGLISH
    if sys.platform == "win32":
        try:
            import ctypes

            lcid = ctypes.windll.kernel32.GetUserDefaultUILanguage()  # type: ignore[attr-defined]
            return normalize(locale.windows_locale.get(lcid)) or ENGLISH
        except (AttributeError, OSError):
            pass
    return ENGLISH


def forced_language() -> str | None:
    """``MFG_LANG`` when it names a language the app has."""
    return normalize(os.environ.get(FORCE_ENV))


def catalog_dir() -> str:
    from mfg_desktop.resources import resource_path

    return str(resource_path("translations"))


def set_language(choice: str | None = None) -> str:
    """Use ``MFG_LANG``, else ``choice`` (the user's saved choice), else the system's language;
    returns the language now in use. English needs no catalog; a missing catalog means English."""
    global _catalog, _language
    wanted = forced_language() or normalize(choice) or system_language()
    if wanted == ENGLISH:
        _catalog, _language = gettext.NullTranslations(), ENGLISH
        return _language
    try:
        _catalog = gettext.translation(DOMAIN, catalog_dir(), languages=[wanted])
        _language = wanted
    except (OSError, FileNotFoundError):
        _catalog, _language = gettext.NullTranslations(), ENGLISH
    return _language


def language() -> str:
    return _language


def is_chinese() -> bool:
    return _language == CHINESE


def tr(message: str, /, **values: object) -> str:
    """``message`` in the app's language, its ``{name}`` placeholders filled from ``values``."""
    text = _catalog.gettext(message) if message else message
    return text.format(**values) if values else text


def trn(singular: str, plural: str, n: int, /, **values: object) -> str:
    """The form for ``n`` (English has two; Chinese one), with ``{n}`` and ``values`` filled."""
    return _catalog.ngettext(singular, plural, n).format(n=n, **values)


def N_(message: str) -> str:
    """Marks ``message`` for the catalog without translating it (a constant defined at import,
    before the language is chosen); translate it where it is shown, with ``tr(variable)``."""
    return message


def catalog() -> gettext.NullTranslations:
    """The catalog now in use (for a library's own gettext calls, e.g. argparse's)."""
    return _catalog


def lookup(message: str) -> str:
    """The catalog's translation of ``message``, or "" when it has none (what Qt's translator wants)."""
    text = _catalog.gettext(message)
    return "" if text == message else text


def format_datetime(value: datetime | date, with_time: bool = True) -> str:
    """A date (and time) as readers of the app's language write it: 2026-12-04 21:18 / 2026年12月4日 21:18."""
    if is_chinese():
        day = f"{value.year}年{value.month}月{value.day}日"
        return f"{day} {value:%H:%M}" if with_time and isinstance(value, datetime) else day
    return f"{value:%Y-%m-%d %H:%M}" if with_time and isinstance(value, datetime) else f"{value:%Y-%m-%d}"
