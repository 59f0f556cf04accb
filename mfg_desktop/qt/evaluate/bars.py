"""Horizontal bars with optional error bars and the category names on the left axis."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QVBoxLayout, QWidget

from mfg_desktop.core.explain import format_change
from mfg_desktop.qt import plots
from mfg_desktop.qt.evaluate.text import short


class HorizontalBars(QWidget):
    """Permutation importance or one row's contributions: first name on top."""

    def __init__(self, title: str, bottom: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = plots.plot_widget(title, "", bottom)
        item = self.plot.getPlotItem()
        item.showGrid(x=True, y=False, alpha=0.2)
        item.setMouseEnabled(x=False, y=False)
        # "(x0.001)" under the axis is easy to miss; show the plain numbers
        item.getAxis("bottom").enableAutoSIPrefix(False)
        self.label_limit = 28
        self.bars: pg.BarGraphItem | None = None
        self.errors: pg.ErrorBarItem | None = None
        self.names: list[str] = []
        self.values = np.zeros(0)
        self.value_items: list[pg.TextItem] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)

    def show_bars(self, names: list[str], values: np.ndarray, errors: np.ndarray | None = None,
                  colors: list[str] | None = None, numbers: bool = False) -> None:
        """``numbers``: each bar's value written beside its end (past its whisker)."""
        item = self.plot.getPlotItem()
        item.clear()
        self.value_items = []
        self.names = list(names)
        self.values = np.nan_to_num(np.asarray(values, dtype=np.float64))
        n = len(names)
        y = np.arange(n)[::-1].astype(np.float64)
        brushes = [pg.mkBrush(c) for c in colors] if colors else [plots.BAR_BRUSH] * n
        self.bars = pg.BarGraphItem(x0=np.zeros(n), y=y, height=0.6, width=self.values, brushes=brushes,
                                    pen=pg.mkPen("#555", width=0.5))
        item.addItem(self.bars)
        self.errors = None
        if errors is not None and n:
            err = np.nan_to_num(np.asarray(errors, dtype=np.float64))
            self.errors = pg.ErrorBarItem(x=self.values, y=y, left=err, right=err, beam=0.25,
                                          pen=pg.mkPen("#222", width=1.2))
            item.addItem(self.errors)
        zero = pg.InfiniteLine(pos=0, angle=90, pen=pg.mkPen("#333", width=1))
        item.addItem(zero, ignoreBounds=True)
        item.getAxis("left").setTicks([[(float(yy), short(nm, self.label_limit))
                                        for yy, nm in zip(y, names, strict=True)]])
        if n:
            spread = np.abs(self.values) + (np.nan_to_num(np.asarray(errors)) if errors is not None else 0)
            negative = self.values < 0
            right = float(spread[~negative].max()) if (~negative).any() else 0.0
            left = float(spread[negative].max()) if negative.any() else 0.0
            span = max(right, left, 1e-6)
            room = (0.25 if numbers else 0.12) * span  # beside the longest bars, for their numbers
            item.setXRange(-(left + room) if left else -0.02 * span, right + room if right else 0.02 * span,
                           padding=0)
            item.setYRange(-0.7, n - 0.3, padding=0)
            if numbers:
                for yy, value, reach, below in zip(y, np.asarray(values, dtype=np.float64), spread, negative,
                                                   strict=True):
                    label = pg.TextItem(format_change(value), color="#222", anchor=(1.0 if below else 0.0, 0.5))
                    label.setPos(float(-reach if below else reach), float(yy))
                    item.addItem(label, ignoreBounds=True)
                    self.value_items.append(label)

    def clear(self) -> None:
        self.plot.getPlotItem().clear()
        self.value_items = []
        self.names = []
        self.values = np.zeros(0)
