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
        self.plot.getPlotItem().getAxis("bottom").setTicks(None)
        self.bars = pg.BarGraphItem(x0=edges[:-1], x1=edges[1:], height=counts, brush=BAR_BRUSH, pen=BAR_PEN)
        self.plot.addItem(self.bars)
        self.plot.getPlotItem().setToolTip(title)
        self.plot.setLabel("left", self.tr("rows"))
        self.plot.enableAutoRange()
        self.mode = "histogram"

    def show_counts(self, pairs: list[tuple[str, int]], title: str) -> None:
        self.clear()
        self._set_axis(False)
        x = np.arange(len(pairs), dtype=float)
        heights = np.array([count for _, count in pairs], dtype=float)
        self.bars = pg.BarGraphItem(x=x, height=heights, width=0.75, brush=BAR_BRUSH, pen=BAR_PEN)
        self.plot.addItem(self.bars)
        labels = [(i, _short(label)) for i, (label, _) in enumerate(pairs)]
        self.plot.getPlotItem().getAxis("bottom").setTicks([labels])
        self.plot.getPlotItem().setToolTip(title)
        self.plot.setLabel("left", self.tr("rows"))
        self.plot.enableAutoRange()
        self.mode = "counts"


def _short(label: str, limit: int = 12) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"
