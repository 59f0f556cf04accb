"""DataFrameModel: paging, reading, formatting, sorting, headers; a million rows stay cheap."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QTableView

from mfg_desktop.qt.table_model import MISSING_BRUSH, DataFrameModel, format_float

DISPLAY = Qt.ItemDataRole.DisplayRole


@pytest.fixture
def small_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "temp": [21.5, np.nan, 19.25, 30.0, 0.000012],
            "count": np.array([3, 1, 2, 5, 4], dtype="int64"),
            "machine": pd.Series(["M02", "M01", None, "M03", "M01"], dtype="str"),
            "time": pd.to_datetime(
                ["2026-03-02 06:00", "2026-03-02 06:10", None, "2026-03-01 00:00", "2026-03-02 00:00"]
            ),
            "ok": [True, False, True, True, False],
            "nullable": pd.array([1, None, 3, 4, 5], dtype="Int64"),
        }
    )


def texts(model: DataFrameModel, column: int) -> list[str]:
    return [model.data(model.index(r, column), DISPLAY) for r in range(model.rowCount())]


def test_cells_are_read_and_formatted(qtbot, small_frame):
    model = DataFrameModel(small_frame)
    assert model.rowCount() == 5 and model.columnCount() == 6
    assert texts(model, 0) == ["21.5", "", "19.25", "30", "1.2e-05"]
    assert texts(model, 1) == ["3", "1", "2", "5", "4"]
    assert texts(model, 2) == ["M02", "M01", "", "M03", "M01"]
    assert texts(model, 3)[0] == "2026-03-02 06:00:00" and texts(model, 3)[2] == ""
    assert texts(model, 4) == ["True", "False", "True", "True", "False"]
    assert texts(model, 5) == ["1", "", "3", "4", "5"]
    # missing cells are grey, present ones are not; numbers right-aligned, text left
    assert model.data(model.index(1, 0), Qt.ItemDataRole.BackgroundRole) is MISSING_BRUSH
    assert model.data(model.index(2, 2), Qt.ItemDataRole.BackgroundRole) is MISSING_BRUSH
    assert model.data(model.index(0, 0), Qt.ItemDataRole.BackgroundRole) is None
    right = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    assert model.data(model.index(0, 0), Qt.ItemDataRole.TextAlignmentRole) == right
    assert model.data(model.index(0, 2), Qt.ItemDataRole.TextAlignmentRole) != right


def test_format_float():
    assert format_float(298.1) == "298.1"
    assert format_float(1551.0) == "1551"
    assert format_float(-0.0) == "0"
    assert format_float(0.0498) == "0.0498"
    assert format_float(float("nan")) == ""
    assert format_float(float("inf")) == "∞"
    assert format_float(3.2e20) == "3.2e+20"


def test_header_shows_name_and_type(qtbot, small_frame):
    model = DataFrameModel(small_frame)
    header = [model.headerData(c, Qt.Orientation.Horizontal, DISPLAY) for c in range(6)]
    assert header[0] == "temp\nnumber"
    assert header[1] == "count\ninteger"
    assert header[2] == "machine\ntext"
    assert header[3] == "time\ndate/time"
    assert header[4] == "ok\nyes/no"
    tooltip = model.headerData(0, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole)
    assert "float64" in tooltip
    model.set_column_kinds({"count": "identifier"})
    assert model.headerData(1, Qt.Orientation.Horizontal, DISPLAY) == "count\nidentifier"


def test_sort_keeps_frame_and_puts_missing_last(qtbot, small_frame):
    model = DataFrameModel(small_frame)
    before = small_frame.copy()
    model.sort(0, Qt.SortOrder.AscendingOrder)
    assert texts(model, 0) == ["1.2e-05", "19.25", "21.5", "30", ""]
    model.sort(0, Qt.SortOrder.DescendingOrder)
    assert texts(model, 0) == ["30", "21.5", "19.25", "1.2e-05", ""]
    # vertical header keeps the row number in the file
    assert model.headerData(0, Qt.Orientation.Vertical, DISPLAY) == "4"
    model.sort(2, Qt.SortOrder.AscendingOrder)
    assert texts(model, 2) == ["M01", "M01", "M02", "M03", ""]
    model.sort(3, Qt.SortOrder.AscendingOrder)
    assert texts(model, 3)[0].startswith("2026-03-01") and texts(model, 3)[-1] == ""
    model.sort(5, Qt.SortOrder.DescendingOrder)
    assert texts(model, 5) == ["5", "4", "3", "1", ""]
    model.sort(-1)
    assert texts(model, 1) == ["3", "1", "2", "5", "4"]
    pd.testing.assert_frame_equal(small_frame, before)


def test_fetch_more_pages_rows_in_batches(qtbot):
    frame = pd.DataFrame({"x": np.arange(12_345, dtype=float)})
    model = DataFrameModel(frame, batch_size=5000)
    assert model.rowCount() == 5000 and model.total_rows() == 12_345
    assert model.canFetchMore(QModelIndex())
    model.fetchMore(QModelIndex())
    assert model.rowCount() == 10_000
    model.fetchMore(QModelIndex())
    assert model.rowCount() == 12_345
    assert not model.canFetchMore(QModelIndex())
    assert model.data(model.index(12_344, 0), DISPLAY) == "12344"


def test_view_fetches_more_when_scrolled_to_the_end(qtbot):
    frame = pd.DataFrame({"x": np.arange(20_000)})
    model = DataFrameModel(frame, batch_size=1000)
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(model)
    view.resize(400, 300)
    view.show()
    qtbot.waitExposed(view)
    assert model.rowCount() < 20_000
    first = model.rowCount()
    view.scrollToBottom()
    qtbot.waitUntil(lambda: model.rowCount() > first)


def test_million_rows_construct_fast_and_read(qtbot):
    rng = np.random.default_rng(0)
    n = 1_000_000
    frame = pd.DataFrame(
        {f"s{i}": rng.normal(size=n) for i in range(20)}
        | {"machine": pd.Series(rng.choice(["M01", "M02", "M03"], n), dtype="str")}
    )
    start = time.perf_counter()
    model = DataFrameModel(frame)
    constructed = time.perf_counter() - start
    assert constructed < 0.5, f"construction took {constructed:.2f} s"
    assert model.rowCount() == 5000  # only the first batch is announced to views
    start = time.perf_counter()
    for row in range(0, 999_000, 9_990):  # cells far beyond the first batch read directly
        model.data(model.createIndex(row, 3), DISPLAY)
        model.data(model.createIndex(row, 20), DISPLAY)
    assert time.perf_counter() - start < 0.5
    assert model.data(model.createIndex(999_999, 20), DISPLAY) in {"M01", "M02", "M03"}
    start = time.perf_counter()
    model.sort(0, Qt.SortOrder.AscendingOrder)
    assert time.perf_counter() - start < 2.0
    first, second = (float(model.data(model.index(r, 0), DISPLAY)) for r in (0, 1))
    assert first <= second and first == pytest.approx(frame["s0"].min(), rel=1e-5)


def test_float_columns_line_up_without_hiding_digits(qtbot):
    later = np.r_[np.full(1500, 42.9), [35.0, 43.86, 1.23456]]
    frame = pd.DataFrame({"torque": [42.9, 35.0, 43.86], "mixed": [1.5, 2.25, 3.125]})
    model = DataFrameModel(frame)
    assert texts(model, 0) == ["42.90", "35.00", "43.86"]
    assert texts(model, 1) == ["1.500", "2.250", "3.125"]
    # decimals come from the first 1000 values; a later value with more digits is shown in full
    model = DataFrameModel(pd.DataFrame({"x": later}))
    assert model.data(model.index(1500, 0), DISPLAY) == "35.0"
    model.sort(0, Qt.SortOrder.AscendingOrder)
    assert model.data(model.index(0, 0), DISPLAY) == "1.23456"
