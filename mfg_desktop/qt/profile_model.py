"""Table model of a core DataProfile: one row per column, problems highlighted.

Colours carry meaning an engineer scans for: amber = missing values or outliers, grey = constant
or near-constant (no information), blue = identifier, red = likely leak of the chosen target,
green = the target itself. Every highlighted cell has a tooltip saying why.
"""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QCoreApplication, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetrics

from mfg_desktop.core.profile import ColumnProfile, DataProfile, TargetReport
from mfg_desktop.qt.table_model import format_float

ModelIndex = QModelIndex | QPersistentModelIndex

AMBER = QBrush(QColor(255, 236, 204))
GREY_TEXT = QBrush(QColor(140, 140, 140))
BLUE = QBrush(QColor(222, 235, 250))
RED = QBrush(QColor(250, 218, 214))
GREEN = QBrush(QColor(214, 240, 218))
# Widest a column may get, so that the notes (the last column) stay in view; longer text is
# elided and shown whole in the tooltip and the details below the table.
_MAX_WIDTHS = {"column": 200, "type": 90, "min": 120, "mean": 90, "max": 120}
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)


def kind_text(kind: str) -> str:
    """Translated word for a core column kind."""
    translate = QCoreApplication.translate
    labels = {
        "numeric": translate("ProfileModel", "number"),
        "integer": translate("ProfileModel", "integer"),
        "boolean": translate("ProfileModel", "0/1 flag"),
        "categorical": translate("ProfileModel", "category"),
        "text": translate("ProfileModel", "text"),
        "datetime": translate("ProfileModel", "date/time"),
    }
    return labels.get(kind, kind)


def _value_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return format_float(value)
    text = str(value)
    if len(text) >= 19 and text[10:11] == "T":  # an ISO timestamp: date and minutes are enough here
        text = text[:19].replace("T", " ")
        return text[:16] if text.endswith(":00") else text
    return text


def _stat_text(value: float) -> str:
    """A computed statistic to 5 significant digits (the min and max are shown as read)."""
    if math.isnan(value):
        return ""
    return f"{value:.0f}" if abs(value) >= 1e5 else f"{value:.5g}"


def _percent(share: float) -> str:
    if share == 0:
        return "0 %"
    if share < 0.001:
        return "<0.1 %"
    return f"{share * 100:.1f} %"


class ProfileModel(QAbstractTableModel):
    COLUMNS = ("column", "type", "missing", "distinct", "min", "mean", "max", "outliers", "notes")

    def __init__(self, profile: DataProfile, parent=None) -> None:
        super().__init__(parent)
        self.profile = profile
        self._leaks: dict[str, str] = {}
        self._target: set[str] = set()
        translate = QCoreApplication.translate
        self._headers = [
            translate("ProfileModel", "Column"),
            translate("ProfileModel", "Type"),
            translate("ProfileModel", "Missing"),
            translate("ProfileModel", "Distinct"),
            translate("ProfileModel", "Min"),
            translate("ProfileModel", "Mean"),
            translate("ProfileModel", "Max"),
            translate("ProfileModel", "Outliers"),
            translate("ProfileModel", "Notes"),
        ]

    def set_target_report(self, report: TargetReport | None) -> None:
        """Mark the target's columns and the leak suspects (or clear them)."""
        self._leaks = {s.column: s.reason for s in report.leak_suspects} if report else {}
        self._target = set(report.columns) if report else set()
        if self.profile.columns:
            self.dataChanged.emit(
                self.index(0, 0), self.index(len(self.profile.columns) - 1, len(self.COLUMNS) - 1)
            )

    def column_widths(self, metrics: QFontMetrics) -> list[int]:
        """Widths fitting header and cells, without Qt calling data() per role (see DataFrameModel)."""
        widths = []
        for index, key in enumerate(self.COLUMNS):
            texts = [self._headers[index]] + [self._display(col, key) for col in self.profile.columns]
            width = metrics.horizontalAdvance(max(texts, key=len)) + 16
            widths.append(min(_MAX_WIDTHS.get(key, 240), width))
        return widths

    def column_profile(self, row: int) -> ColumnProfile:
        return self.profile.columns[row]

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.profile.columns)

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self._headers[section]
        if orientation == Qt.Orientation.Vertical and role == Qt.ItemDataRole.DisplayRole:
            return str(section + 1)
        return None

    def _notes(self, col: ColumnProfile) -> list[str]:
        translate = QCoreApplication.translate
        notes = []
        if col.name in self._target:
            notes.append(translate("ProfileModel", "target"))
        if col.name in self._leaks:
            notes.append(translate("ProfileModel", "likely leak"))
        if col.identifier_like:
            notes.append(translate("ProfileModel", "identifier"))
        if col.constant:
            notes.append(translate("ProfileModel", "constant"))
        elif col.near_constant:
            notes.append(translate("ProfileModel", "near-constant"))
        return notes

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        col = self.profile.columns[index.row()]
        key = self.COLUMNS[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(col, key)
        if role == Qt.ItemDataRole.TextAlignmentRole and key in (
            "missing",
            "distinct",
            "min",
            "mean",
            "max",
            "outliers",
        ):
            return _RIGHT
        if role == Qt.ItemDataRole.BackgroundRole:
            return self._background(col, key)
        if role == Qt.ItemDataRole.ForegroundRole and (col.constant or col.near_constant):
            return GREY_TEXT
        if (
            role == Qt.ItemDataRole.FontRole
            and key == "column"
            and (col.name in self._target or col.name in self._leaks)
        ):
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.ToolTipRole:
            lines = []
            if col.name in self._leaks:
                lines.append(self._leaks[col.name])
            lines.extend(w for w in col.warnings if w not in lines)  # a leak reason may also be a warning
            lines.append(
                QCoreApplication.translate("ProfileModel", "pandas dtype: {dtype}").format(dtype=col.dtype)
            )
            return "\n".join(lines)
        return None

    def _display(self, col: ColumnProfile, key: str) -> str:
        if key == "column":
            return col.name
        if key == "type":
            return kind_text(col.kind)
        if key == "missing":
            return f"{col.missing:,} ({_percent(col.missing_share)})" if col.missing else "0"
        if key == "distinct":
            return f"{col.distinct:,}"
        if key == "mean" and isinstance(col.mean, float):
            return _stat_text(col.mean)
        if key in ("min", "mean", "max"):
            return _value_text(getattr(col, key))
        if key == "outliers":
            return f"{col.outliers:,}" if col.outliers else ""
        notes = QCoreApplication.translate("ProfileModel", ", ").join(self._notes(col))  # Chinese: 、
        if col.warnings:
            first = col.warnings[0]
            more = len(col.warnings) - 1
            text = f"⚠ {first}" + (f" (+{more})" if more else "")
            notes = f"{notes} — {text}" if notes else text
        return notes

    def _background(self, col: ColumnProfile, key: str) -> QBrush | None:
        if col.name in self._target:
            return GREEN
        if col.name in self._leaks and key in ("column", "notes"):
            return RED
        if col.identifier_like and key in ("column", "type", "notes"):
            return BLUE
        if key == "missing" and col.missing:
            return AMBER
        if key == "outliers" and col.outliers:
            return AMBER
        return None
