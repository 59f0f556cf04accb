"""The message catalogs: complete, compiled, and the language chosen as documented."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from mfg_desktop.core import i18n

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def english():
    yield
    i18n.set_language("en")


def _tool():
    spec = importlib.util.spec_from_file_location("translations_tool", ROOT / "installer" / "translations.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_every_string_is_translated_and_the_compiled_catalog_is_current():
    tool = _tool()
    template = tool.extract()
    assert len(template) > 300  # the extractor finds the app's strings (a broken keyword list finds none)
    problems = [p for lang in tool.LANGUAGES for p in tool.problems(lang, template)]
    assert not problems, f"{len(problems)} catalog problems; run python installer/translations.py:\n" + "\n".join(
        problems[:40])


def test_placeholders_survive_translation():
    """A translation that drops or renames a {placeholder} would raise KeyError or lose a number."""
    import re

    tool = _tool()
    catalog = tool.read_catalog("zh_CN")
    wrong = []
    for message in catalog:
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set(re.findall(r"\{[^{}]*\}", ids[-1]))
        for text in strings:
            if set(re.findall(r"\{[^{}]*\}", text)) != wanted:
                wrong.append(f"{ids[0]!r} -> {text!r}")
    assert not wrong, "\n".join(wrong[:30])


@pytest.mark.parametrize(("name", "code"), [
    ("zh_CN.UTF-8", "zh_CN"), ("zh-Hans", "zh_CN"), ("zh_TW", "zh_CN"), ("en_US.UTF-8", "en"), ("C", "en"),
    ("de_DE", None), ("", None),
])
def test_locale_names_map_to_the_apps_languages(name, code):
    assert i18n.normalize(name) == code


def test_mfg_lang_wins_over_the_saved_choice_which_wins_over_the_system(monkeypatch, english):
    for var in ("LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    monkeypatch.delenv("MFG_LANG", raising=False)
    assert i18n.system_language() == "zh_CN"
    assert i18n.set_language() == "zh_CN"
    assert i18n.set_language("en") == "en"  # the user's choice beats the system
    monkeypatch.setenv("MFG_LANG", "zh_CN")
    assert i18n.set_language("en") == "zh_CN"
    monkeypatch.setenv("LC_ALL", "de_DE.UTF-8")  # a language the app lacks: English
    monkeypatch.delenv("MFG_LANG")
    assert i18n.system_language() == "en"


def test_tr_fills_placeholders_in_either_language(english):
    assert i18n.tr("{n} rows", n=3) == "3 rows"
    assert i18n.trn("{n} row", "{n} rows", 1) == "1 row" and i18n.trn("{n} row", "{n} rows", 2) == "2 rows"
    i18n.set_language("zh_CN")
    assert i18n.tr("Cancel") != "Cancel" and not i18n.tr("Cancel").isascii()
    assert i18n.format_datetime(__import__("datetime").datetime(2026, 12, 4, 9, 5)) == "2026年12月4日 09:05"


def test_the_window_uses_the_catalog_and_qts_own_chinese(qapp, english):
    from PySide6.QtCore import QCoreApplication
    from PySide6.QtWidgets import QDialogButtonBox

    from mfg_desktop.qt import app as qt_app

    installed = qt_app.install_translators(qapp, "zh_CN")
    try:
        assert QCoreApplication.translate("MainWindow", "&File") == i18n.tr("&File") != "&File"
        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        texts = {b.text() for b in box.buttons()}
        assert any("取消" in t for t in texts), texts  # Qt's bundled qtbase_zh_CN.qm
    finally:
        for translator in installed:
            qapp.removeTranslator(translator)
        i18n.set_language("en")
    assert qt_app.install_translators(qapp, "en") == []
