"""Units, colours and line styles of the PDF report."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import (
    QColor,
)

DPI = 300
PT = DPI / 72.0  # device units per point
MM = DPI / 25.4
INK = QColor("#1a1a1a")
GREY = QColor("#5a5a5a")
RULE = QColor("#9aa3ad")
ACCENT = QColor("#1d3557")
HEADER_FILL = QColor("#e3e8ef")
ZEBRA = QColor("#f5f6f8")
WARN_BAR = QColor("#b35c00")
# Series: colour, dash pattern and marker all differ, so a black-and-white print keeps them apart.
SERIES_STYLES = [
    (QColor("#1f4e79"), Qt.PenStyle.SolidLine, "circle"),
    (QColor("#c0392b"), Qt.PenStyle.DashLine, "square"),
    (QColor("#2e7d32"), Qt.PenStyle.DotLine, "triangle"),
    (QColor("#7b3f99"), Qt.PenStyle.DashDotLine, "diamond"),
    (QColor("#8a6d00"), Qt.PenStyle.DashDotDotLine, "cross"),
    (QColor("#00838f"), Qt.PenStyle.SolidLine, "square"),
    (QColor("#5d4037"), Qt.PenStyle.DashLine, "triangle"),
]

