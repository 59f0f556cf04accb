"""The whole window in Chinese: every step walked (load, target, two epochs, evaluate, score, report)
under the zh_CN catalog, and every visible text checked for English prose.

Allowed: the user's data (column names, values, file names), product names, units and metric
acronyms (``chinese_walk.ALLOWED_WORDS``). An offender is printed with its widget.
"""

from __future__ import annotations

import time

import pandas as pd
import pytest
from chinese_walk import (
    clipped,
    collect,
    each_tab,
    english,
    english_words,
    report_lines,
    small_ai4i,
    user_words,
    walk,
)

from mfg_desktop.core import i18n


@pytest.fixture
def chinese(qapp, monkeypatch):
    from mfg_desktop.qt.app import install_translators

    monkeypatch.setenv(i18n.FORCE_ENV, i18n.CHINESE)  # tests/conftest.py forces English
    translators = install_translators(qapp, i18n.CHINESE)
    assert i18n.is_chinese(), "the zh_CN catalog did not load"
    yield
    for translator in translators:
        qapp.removeTranslator(translator)
    from PySide6.QtCore import QLocale

    QLocale.setDefault(QLocale.system())
    monkeypatch.setenv(i18n.FORCE_ENV, i18n.ENGLISH)
    i18n.set_language(i18n.ENGLISH)


def test_every_step_of_the_window_reads_chinese(chinese, qtbot, ai4i_path, tmp_path, capsys):
    from mfg_desktop.qt.main_window import MainWindow

    data_path = small_ai4i(ai4i_path, tmp_path / "data")
    window = MainWindow()
    qtbot.addWidget(window)
    window.resize(1366, 768)
    window.show()
    qtbot.waitExposed(window)
    allowed = user_words(pd.read_csv(data_path), [data_path, tmp_path / "batch_0412.csv", tmp_path / "report.pdf"])
    seen, cut_off = [], []

    def wait_until(condition, timeout_s: float) -> None:
        qtbot.waitUntil(lambda: bool(condition()), timeout=int(timeout_s * 1000))

    def at_step(step: str, top) -> None:
        qtbot.wait(50)
        seen.extend(collect(top, step))
        cut_off.extend(clipped(top, step))
        for tab in each_tab(top):
            qtbot.wait(20)
            seen.extend(collect(top, f"{step} › {tab}"))
            cut_off.extend(clipped(top, f"{step} › {tab}"))

    started = time.perf_counter()
    try:
        walk(window, wait_until, data_path, tmp_path, at_step)
        for name in ("guide", "shortcuts", "where"):  # the Help menu's dialogs
            window.help_actions[name].trigger()
            qtbot.wait(20)
        for box in [w for w in qapp_top_levels() if w.isVisible() and w is not window]:
            seen.extend(collect(box, "help"))
            box.close()
        # the scored file's own column names (prediction, probability, flag, ...) are machine-readable
        # output, shown as the file holds them
        allowed |= user_words(window.page("predict").results[0].preview, [])
    finally:
        window.close()
    offenders = english(seen, allowed)
    lines = [f"{line}\n      English: {', '.join(sorted(set(english_words(item.text, allowed))))}"
             for line, item in zip(report_lines(offenders), sorted({o.text: o for o in offenders}.values(),
                                                                  key=lambda o: o.text))]
    with capsys.disabled():
        print(f"\n{len(seen)} texts seen in {time.perf_counter() - started:.0f} s; {len(lines)} distinct ones in English:")
        for line in lines:
            print("  ", line)
        cut_lines = report_lines(cut_off)
        print(f"{len(cut_lines)} texts cut off at 1366 x 768:")
        for line in cut_lines:
            print("  ", line)
    assert len({s.step for s in seen}) >= 7 and len(seen) > 300  # the walk really saw the steps
    assert not cut_lines, f"{len(cut_lines)} texts do not fit their widget, listed above"
    assert not lines, f"{len(lines)} texts in English, listed above"


def qapp_top_levels():
    from PySide6.QtWidgets import QApplication

    return QApplication.topLevelWidgets()
