"""The preview dialog: detected settings shown, each changeable, preview updated, overrides passed on."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from mfg_desktop.core.ingest import WHITESPACE, ReadOptions
from mfg_desktop.qt.load_dialog import LoadDialog


@pytest.fixture
def decimal_comma_csv(tmp_path) -> Path:
    path = tmp_path / "linie3.csv"
    lines = ["Zeit;Temperatur;Druck;Charge"]
    for i in range(40):
        lines.append(f"2026-03-0{1 + i % 9} 06:{i:02d}:00;{20 + i},{i % 10};1.0{i % 10}3,5;C{100 + i}")
    path.write_text("\r\n".join(lines) + "\r\n", encoding="cp1252")
    return path


@pytest.fixture
def two_sheet_xlsx(tmp_path) -> Path:
    path = tmp_path / "shift_report.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        pd.DataFrame({"a": [1, 2, 3], "b": [4.5, 5.5, 6.5]}).to_excel(
            writer, sheet_name="Summary", index=False
        )
        pd.DataFrame({"sensor": ["x", "y"], "value": [0.1, 0.2], "ok": [1, 0]}).to_excel(
            writer, sheet_name="Readings", index=False
        )
    return path


def _dialog(qtbot, paths) -> LoadDialog:
    dialog = LoadDialog([str(p) for p in paths])
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.ok_button.isEnabled() or bool(dialog.error_text), timeout=20_000)
    return dialog


def test_detected_settings_are_shown_and_preview_is_typed(qtbot, decimal_comma_csv):
    dialog = _dialog(qtbot, [decimal_comma_csv])
    assert dialog.ok_button.isEnabled()
    assert "detected" in dialog.delimiter_combo.itemText(
        0
    ) and "semicolon" in dialog.delimiter_combo.itemText(0)
    assert dialog.decimal_combo.itemText(0).endswith(",)")
    assert "." in dialog.thousands_combo.itemText(0)
    assert "yes" in dialog.header_combo.itemText(0)
    frame = dialog.preview_result.frame
    assert list(frame.columns) == ["Zeit", "Temperatur", "Druck", "Charge"]
    assert frame["Temperatur"].iloc[1] == pytest.approx(21.1)
    assert frame["Druck"].iloc[0] == pytest.approx(1003.5)
    assert dialog.table_model.rowCount() == 40
    assert "Zeit;Temperatur" in dialog.raw_view.toPlainText()
    # nothing changed: no overrides
    assert dialog.options() == ReadOptions()


def test_changing_a_setting_updates_the_preview(qtbot, decimal_comma_csv):
    dialog = _dialog(qtbot, [decimal_comma_csv])
    # the wrong delimiter: the decimal commas split the rows unevenly, and the dialog says so
    dialog.set_choice(dialog.delimiter_combo, ",")
    qtbot.waitUntil(lambda: bool(dialog.error_text), timeout=20_000)
    assert "linie3.csv" in dialog.status_label.text() and not dialog.ok_button.isEnabled()
    assert dialog.options().delimiter == ","
    dialog.set_choice(dialog.delimiter_combo, ";")
    dialog.set_choice(dialog.header_combo, False)
    qtbot.waitUntil(lambda: dialog.preview_result is not None, timeout=20_000)
    assert dialog.ok_button.isEnabled() and dialog.error_text == ""
    frame = dialog.preview_result.frame
    assert list(frame.columns) == ["col_1", "col_2", "col_3", "col_4"] and frame.iloc[0, 0] == "Zeit"
    options = dialog.options()
    assert options.header is False and options.delimiter == ";" and options.encoding is None
    dialog.close()


def test_all_delimiters_and_marks_are_offered(qtbot, decimal_comma_csv):
    dialog = _dialog(qtbot, [decimal_comma_csv])
    delimiters = [dialog.delimiter_combo.itemData(i) for i in range(dialog.delimiter_combo.count())]
    assert delimiters == [None, ",", ";", "\t", "|", WHITESPACE]
    assert [dialog.decimal_combo.itemData(i) for i in range(dialog.decimal_combo.count())] == [None, ".", ","]
    encodings = [dialog.encoding_combo.itemData(i) for i in range(dialog.encoding_combo.count())]
    assert {"utf-8", "gb18030", "utf-16", "cp1252"} <= set(encodings)


def test_excel_sheets_are_offered(qtbot, two_sheet_xlsx):
    dialog = _dialog(qtbot, [two_sheet_xlsx])
    sheets = [dialog.sheet_combo.itemData(i) for i in range(1, dialog.sheet_combo.count())]
    assert sheets == ["Summary", "Readings"]
    assert not dialog.delimiter_combo.isEnabled()  # no delimiter in a workbook
    first = dialog.preview_result
    dialog.set_choice(dialog.sheet_combo, "Readings")
    qtbot.waitUntil(
        lambda: dialog.preview_result is not first and dialog.preview_result is not None, timeout=20_000
    )
    assert list(dialog.preview_result.frame.columns) == ["sensor", "value", "ok"]
    assert dialog.options().sheet == "Readings"


def test_unreadable_file_shows_the_reason_and_disables_load(qtbot, tmp_path):
    empty = tmp_path / "export_0412.csv"
    empty.write_bytes(b"")
    dialog = _dialog(qtbot, [empty])
    assert not dialog.ok_button.isEnabled()
    assert "export_0412.csv" in dialog.status_label.text() and "empty" in dialog.status_label.text()


def test_several_files_say_that_settings_apply_to_all(qtbot, decimal_comma_csv, tmp_path):
    second = tmp_path / "linie3_tag2.csv"
    second.write_bytes(decimal_comma_csv.read_bytes())
    dialog = _dialog(qtbot, [decimal_comma_csv, second])
    assert "all 2 files" in dialog.heading.text()


def test_accepting_loads_with_the_chosen_overrides(qtbot, main_window, wait, decimal_comma_csv):
    main_window.open_files([str(decimal_comma_csv)])
    dialog = main_window.load_dialog
    qtbot.waitUntil(lambda: dialog.ok_button.isEnabled(), timeout=20_000)
    dialog.set_choice(dialog.encoding_combo, "cp1252")
    qtbot.waitUntil(lambda: dialog.ok_button.isEnabled(), timeout=20_000)
    dialog.accept()
    wait.loaded(main_window)
    data = main_window.session.data
    assert data.files[0].encoding == "cp1252"
    assert data.frame["Temperatur"].dtype == "float64"
    wait.idle()
