"""pyqtgraph plots for the data view: a histogram of a numeric column, bars of value counts.

Imported only when data is shown, so pyqtgraph stays out of the window's cold start.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QVBoxLayout, QWidget

pg.setConfigOptions(antialias=True, background="w", foreground="#333")

BAR_BRUSH = pg.mkBrush("#4a86c5")
BAR_PEN = pg.mkPen("#2f5f91", width=1)
OTHER_BRUSH = pg.mkBrush("#b8c4d0")


def plot_widget(title: str, left: str, bottom: str) -> pg.PlotWidget:
    """A titled, gridded plot with plain axis numbers ("loss (x0.001)" reads badly; show 0.25)."""
    widget = pg.PlotWidget()
    widget.setMenuEnabled(False)
    item = widget.getPlotItem()
    item.hideButtons()
    item.setTitle(title, size="10pt")
    item.showGrid(x=True, y=True, alpha=0.2)
    item.setLabel("bottom", bottom)
    item.setLabel("left", left)
    item.getAxis("left").enableAutoSIPrefix(False)
    return widget


class HistogramPlot(QWidget):
    """Shows either a numeric histogram (bins) or categorical counts (one bar per value)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = pg.PlotWidget()
        self.plot.setMenuEnabled(False)
        self.plot.showGrid(x=False, y=True, alpha=0.25)
        self.plot.getPlotItem().hideButtons()
        self.plot.setMouseEnabled(x=False, y=False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        self.bars: pg.BarGraphItem | None = None
        self.mode = ""

    def clear(self) -> None:
        self.plot.clear()
        self.bars = None
        self.mode = ""
        self.plot.setTitle(None)

    def _set_axis(self, dates: bool) -> None:
        item = self.plot.getPlotItem()
        if dates != isinstance(item.getAxis("bottom"), pg.DateAxisItem):
            axis = pg.DateAxisItem(orientation="bottom") if dates else pg.AxisItem(orientation="bottom")
            item.setAxisItems({"bottom": axis})

    def show_histogram(self, counts: np.ndarray, edges: np.ndarray, title: str, dates: bool = False) -> None:
        self.clear()
        self._set_axis(dates)
        item = self.plot.getPlotItem()
        item.getAxis("bottom").setTicks(None)
        item.getAxis("left").setTicks(None)
        item.showGrid(x=False, y=True, alpha=0.25)
        self.plot.setLabel("bottom", None)
        self.bars = pg.BarGraphItem(x0=edges[:-1], x1=edges[1:], height=counts, brush=BAR_BRUSH, pen=BAR_PEN)
        self.plot.addItem(self.bars)
        item.setToolTip(title)
        self.plot.setLabel("left", self.tr("rows"))
        self.plot.enableAutoRange()
        self.mode = "histogram"

    def show_counts(self, pairs: list[tuple[str, int]], title: str) -> None:
        """One horizontal bar per value, the most frequent on top: value names of any length stay
        readable on the left axis, where side by side under vertical bars they would overlap.
        Bars that stand for no single value ("(other N)", "(missing)") are grey."""
        self.clear()
        self._set_axis(False)
        item = self.plot.getPlotItem()
        y = np.arange(len(pairs), dtype=float)[::-1]
        widths = np.array([count for _, count in pairs], dtype=float)
        brushes = [OTHER_BRUSH if _is_summary(label) else BAR_BRUSH for label, _ in pairs]
        self.bars = pg.BarGraphItem(x0=0.0, y=y, height=0.75, width=widths, brushes=brushes, pen=BAR_PEN)
        self.plot.addItem(self.bars)
        item.getAxis("left").setTicks([[(float(pos), _short(label)) for pos, (label, _) in zip(y, pairs, strict=True)]])
        item.getAxis("bottom").setTicks(None)
        item.showGrid(x=True, y=False, alpha=0.25)
        item.setToolTip(title)
        self.plot.setLabel("left", None)
        self.plot.setLabel("bottom", self.tr("rows"))
        self.plot.enableAutoRange()
        self.mode = "counts"


def _is_summary(label: str) -> bool:
    """The bars core.profile.value_counts adds after the values: "(other N)" and "(missing)"."""
    return label.startswith("(") and label.endswith(")")


def _short(label: str, limit: int = 16) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"
