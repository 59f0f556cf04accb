"""A read-only QAbstractTableModel over a pandas DataFrame that stays fast at millions of rows.

Nothing per cell is materialised: cells are read on demand from numpy column arrays (views, no
copy, for numeric and datetime columns) or with ``Series.iat`` (text columns, whose numpy form
would be one Python object per row). Rows are paged in with ``canFetchMore``/``fetchMore`` (after
Spyder's DataFrame editor), and sorting keeps the frame untouched and stores a permutation array.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from PySide6.QtCore import QAbstractTableModel, QCoreApplication, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QFontMetrics

ModelIndex = QModelIndex | QPersistentModelIndex

MISSING_BRUSH = QBrush(QColor(236, 236, 236))
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
_LEFT = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
_DISPLAY = Qt.ItemDataRole.DisplayRole.value
_BACKGROUND = Qt.ItemDataRole.BackgroundRole.value
_ALIGNMENT = Qt.ItemDataRole.TextAlignmentRole.value
_TOOLTIP = Qt.ItemDataRole.ToolTipRole.value
_BLOCK_ROWS = 256
_CACHED_BLOCKS = 128


def format_float(value: float) -> str:
    """Short, exact-looking text for a measurement: up to 6 decimals, no trailing zeros."""
    if math.isnan(value):
        return ""
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    magnitude = abs(value)
    if magnitude == 0 or 1e-4 <= magnitude < 1e15:
        text = f"{value:.6f}".rstrip("0").rstrip(".")
        return "0" if text in ("-0", "") else text
    return f"{value:.4g}"


def _column_decimals(values: np.ndarray, sample: int = 1000, most: int = 4) -> int | None:
    """Decimals that show the first values of a float column exactly (so that a column of
    readings lines up: 42.90 above 35.00), or None when they need more than ``most``."""
    head = values[:sample]
    head = head[np.isfinite(head)]
    if len(head) == 0 or np.abs(head).max() >= 1e15:
        return None
    for decimals in range(most + 1):
        if np.all(np.abs(np.round(head, decimals) - head) <= 1e-9 * np.maximum(1.0, np.abs(head))):
            return decimals
    return None


def kind_label(dtype: Any) -> str:
    """A word an engineer understands for a pandas dtype (translated)."""
    translate = QCoreApplication.translate
    if pd.api.types.is_bool_dtype(dtype):
        return translate("DataFrameModel", "yes/no")
    if pd.api.types.is_integer_dtype(dtype):
        return translate("DataFrameModel", "integer")
    if pd.api.types.is_float_dtype(dtype):
        return translate("DataFrameModel", "number")
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return translate("DataFrameModel", "date/time")
    if isinstance(dtype, pd.CategoricalDtype):
        return translate("DataFrameModel", "category")
    return translate("DataFrameModel", "text")


class _Column:
    """How to read and show one column; numeric arrays are views of the frame's own buffers."""

    __slots__ = ("_values", "datetime", "decimals", "dtype", "kind", "name", "numeric", "series")

    def __init__(self, name: str, series: pd.Series) -> None:
        self.name = name
        self.series = series
        self.dtype = series.dtype
        self.kind = kind_label(series.dtype)
        self.numeric = pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(
            series.dtype
        )
        self.datetime = pd.api.types.is_datetime64_dtype(series.dtype)  # tz-naive only
        self._values: np.ndarray | None = None
        self.decimals: int | None = None

    def values(self) -> np.ndarray | None:
        """The numpy array to index per cell (a view where possible); None: read in blocks of rows."""
        if self._values is None and (self.numeric or self.datetime):
            if isinstance(self.dtype, np.dtype):
                self._values = self.series.to_numpy(copy=False)
            elif self.numeric:  # nullable Int64/Float64: one float copy, NA as NaN
                self._values = self.series.to_numpy(dtype="float64", na_value=np.nan)
            if self._values is not None and self._values.dtype.kind == "f":
                self.decimals = _column_decimals(self._values)
        return self._values

    def text(self, row: int) -> str:
        """Text of the cell at frame position ``row`` of a numpy-backed column."""
        values = self._values
        value = values[row]
        if self.datetime:
            if np.isnat(value):
                return ""
            return np.datetime_as_string(value, unit="s").replace("T", " ")
        if values.dtype.kind == "f":
            value = float(value)
            decimals = self.decimals
            if decimals is not None and abs(round(value, decimals) - value) <= 1e-9 * max(1.0, abs(value)):
                return f"{value:.{decimals}f}"
            return format_float(value)  # NaN, or more digits than the column's first values
        return str(value)

    def is_missing(self, row: int) -> bool:
        value = self._values[row]
        if self.datetime:
            return bool(np.isnat(value))
        return self._values.dtype.kind == "f" and math.isnan(value)

    def sort_order(self, ascending: bool) -> np.ndarray:
        """Row permutation sorting this column, missing values last in both directions."""
        values = self.values()
        if values is not None and values.dtype.kind in "iuf":
            keys = values
            missing = np.isnan(keys) if keys.dtype.kind == "f" else np.zeros(len(keys), dtype=bool)
        elif values is not None and self.datetime:
            keys = values.view("int64")
            missing = np.isnat(values)
        else:
            try:
                keys, _ = pd.factorize(self.series, sort=True)
            except TypeError:  # mixed types that cannot be ordered: order by their text
                keys, _ = pd.factorize(self.series.astype(str), sort=True)
                keys[self.series.isna().to_numpy()] = -1
            missing = keys < 0
        present = np.flatnonzero(~missing)
        ordered = present[np.argsort(keys[present], kind="stable")]
        if not ascending:
            ordered = ordered[::-1]
        return np.concatenate([ordered, np.flatnonzero(missing)])


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def _object_text(value: Any) -> str:
    if _is_missing(value):
        return ""
    if isinstance(value, float):
        return format_float(value)
    return str(value)


class DataFrameModel(QAbstractTableModel):
    """Read-only table of a DataFrame; rows appear in batches of ``batch_size`` via fetchMore."""

    def __init__(self, frame: pd.DataFrame, batch_size: int = 5000, parent=None) -> None:
        super().__init__(parent)
        self._frame = frame
        self._columns = [_Column(str(name), frame.iloc[:, i]) for i, name in enumerate(frame.columns)]
        self._total = len(frame)
        self._batch = max(1, int(batch_size))
        self._loaded = min(self._batch, self._total)
        self._order: np.ndarray | None = None
        self._kind_override: dict[str, str] = {}
        # Text-like columns (pyarrow strings, objects) are read a block of view rows at a time:
        # one vectorised take instead of a slow pandas lookup per painted cell. Bounded LRU.
        self._blocks: dict[tuple[int, int], np.ndarray] = {}
        for column in self._columns:
            column.values()

    # -- public ---------------------------------------------------------------------------------
    @property
    def frame(self) -> pd.DataFrame:
        return self._frame

    def total_rows(self) -> int:
        return self._total

    def column_name(self, column: int) -> str:
        return self._columns[column].name

    def column_kind(self, column: int) -> str:
        col = self._columns[column]
        return self._kind_override.get(col.name, col.kind)

    def set_column_kinds(self, kinds: dict[str, str]) -> None:
        """Show the profile's richer kinds (e.g. 'identifier') in the header instead of the dtype's."""
        self._kind_override = dict(kinds)
        if self._columns:
            self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, len(self._columns) - 1)

    def column_widths(self, metrics: QFontMetrics, sample_rows: int = 30, maximum: int = 320) -> list[int]:
        """Pixel widths fitting the header and the first rows, computed without Qt calling back.

        ``QTableView.resizeColumnsToContents`` asks ``data()`` for every role of up to 1000 rows
        per column; each such call from C++ into Python must take the GIL, which a busy worker
        thread holds for up to 5 ms at a time. Here Python reads the cells itself.
        """
        rows = range(min(sample_rows, self._loaded))
        widths = []
        for index, column in enumerate(self._columns):
            texts = [column.name, self.column_kind(index)] + [self.cell_text(r, index) for r in rows]
            longest = max(texts, key=len)
            widths.append(min(maximum, metrics.horizontalAdvance(longest) + 24))
        return widths

    def source_row(self, row: int) -> int:
        """The frame position shown at view row ``row`` (after sorting)."""
        return int(self._order[row]) if self._order is not None else row

    # -- Qt model interface ---------------------------------------------------------------------
    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._loaded

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._columns)

    def canFetchMore(self, parent: ModelIndex = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and self._loaded < self._total

    def fetchMore(self, parent: ModelIndex = QModelIndex()) -> None:  # noqa: B008
        if parent.isValid() or self._loaded >= self._total:
            return
        end = min(self._loaded + self._batch, self._total)
        self.beginInsertRows(QModelIndex(), self._loaded, end - 1)
        self._loaded = end
        self.endInsertRows()

    def _object_value(self, column: int, view_row: int) -> Any:
        key = (column, view_row // _BLOCK_ROWS)
        block = self._blocks.pop(key, None)
        if block is None:
            start = key[1] * _BLOCK_ROWS
            stop = min(start + _BLOCK_ROWS, self._total)
            col = self._columns[column]
            rows = slice(start, stop) if self._order is None else self._order[start:stop]
            if col.datetime:  # formatting a block of datetimes at once is ~50x faster than one by one
                values = col._values[rows]
                block = np.char.replace(np.datetime_as_string(values, unit="s"), "T", " ").astype(object)
                block[np.isnat(values)] = None
            else:
                block = (col.series.iloc[rows] if self._order is None else col.series.take(rows)).to_numpy(
                    dtype=object
                )
            if len(self._blocks) >= _CACHED_BLOCKS:
                del self._blocks[next(iter(self._blocks))]  # the least recently used
        self._blocks[key] = block
        return block[view_row - key[1] * _BLOCK_ROWS]

    def cell_text(self, view_row: int, column: int) -> str:
        col = self._columns[column]
        if col._values is not None and not col.datetime:
            return col.text(self.source_row(view_row))
        return _object_text(self._object_value(column, view_row))

    def cell_missing(self, view_row: int, column: int) -> bool:
        col = self._columns[column]
        if col._values is not None:
            return col.is_missing(self.source_row(view_row))
        return _is_missing(self._object_value(column, view_row))

    def data(self, index: ModelIndex, role: int = _DISPLAY) -> Any:
        # Called for ~7 roles of every painted cell: answer the unused roles before anything else.
        if role == _DISPLAY:
            return self.cell_text(index.row(), index.column()) if index.isValid() else None
        if role == _BACKGROUND:
            return (
                MISSING_BRUSH if index.isValid() and self.cell_missing(index.row(), index.column()) else None
            )
        if role == _ALIGNMENT:
            return (_RIGHT if self._columns[index.column()].numeric else _LEFT) if index.isValid() else None
        if role == _TOOLTIP and index.isValid():
            if self.cell_missing(index.row(), index.column()):
                return self.tr("missing value")
            text = self.cell_text(index.row(), index.column())
            return text if len(text) > 30 else None
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal:
            if not 0 <= section < len(self._columns):
                return None
            column = self._columns[section]
            if role == Qt.ItemDataRole.DisplayRole:
                return f"{column.name}\n{self.column_kind(section)}"
            if role == Qt.ItemDataRole.ToolTipRole:
                return self.tr("{name}\ntype: {kind} (pandas dtype {dtype})").format(
                    name=column.name, kind=self.column_kind(section), dtype=column.dtype
                )
            return None
        if role == Qt.ItemDataRole.DisplayRole and 0 <= section < self._loaded:
            return str(self.source_row(section) + 1)  # the row number in the file, also after sorting
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(self._columns):
            new_order = None
        else:
            new_order = self._columns[column].sort_order(order == Qt.SortOrder.AscendingOrder)
        self.layoutAboutToBeChanged.emit()
        self._order = new_order
        self._blocks.clear()
        self.layoutChanged.emit()
