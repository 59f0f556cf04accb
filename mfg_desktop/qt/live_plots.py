"""Live training curves and the PCA explained-variance plot (pyqtgraph).

Curves keep their points in preallocated numpy buffers and hand pyqtgraph views of the filled
part (``setData``); a timer redraws at most 5 times a second however often points arrive, so a
fast training cannot flood the GUI thread.

While training, every GUI-thread millisecond is taken from the training thread (the CPU cores and
the GIL are shared), so a redraw is kept cheap (tests/benchmarks/bench_train.py): the axes (which
also draw the grid over the whole plot) are cached as pixmaps, and the y range only changes when
the data leave it or shrink to under half of it, instead of following every new per-batch point.
Replaying the axes' drawing on every redraw was 70 % of the GUI thread's time.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QGraphicsItem, QVBoxLayout, QWidget

from mfg_desktop.qt import plots  # also applies the shared pyqtgraph look (white background)

TRAIN_COLOR = "#2f6fb0"
VALID_COLOR = "#d9731a"
BATCH_COLOR = (120, 150, 190, 150)
BEST_COLOR = "#3a9a4a"
# 5 redraws a second look live; each redraw holds the GIL the training thread needs, and at 20 a
# second on 2 cores an epoch took 1.9x a bare model.fit instead of 1.5x (tests/benchmarks/bench_train.py)
REDRAW_INTERVAL_MS = 200
# The per-epoch curves (4 lines, the best-epoch line, the metric plot) cost several per-batch
# redraws, so when epochs come faster than this they are drawn together: at most twice a second,
# each epoch within half a second (ai4i2020 trains 3 epochs a second on 2 cores).
EPOCH_REDRAW_INTERVAL_S = 0.5
EPOCH_SYMBOL = "o"
# The live y range: grow when a point falls outside (with headroom on that side, as curves keep
# moving the same way), shrink when the data use under Y_RANGE_MIN_FILL of it.
Y_RANGE_MIN_FILL = 0.5
Y_RANGE_PADDING = 0.08
Y_RANGE_HEADROOM = 0.3


class BufferedCurve:
    """One plotted line whose points live in a numpy buffer that doubles when full."""

    def __init__(self, item: pg.PlotDataItem, capacity: int = 64) -> None:
        self.item = item
        self._x = np.empty(max(capacity, 1), dtype=np.float64)
        self._y = np.empty(max(capacity, 1), dtype=np.float64)
        self.count = 0
        self.dirty = False
        self.low = math.inf  # the finite y values' bounds, kept as points arrive (for the y range)
        self.high = -math.inf

    def reserve(self, capacity: int) -> None:
        if capacity > len(self._x):
            x = np.empty(capacity, dtype=np.float64)
            y = np.empty(capacity, dtype=np.float64)
            x[: self.count] = self._x[: self.count]
            y[: self.count] = self._y[: self.count]
            self._x, self._y = x, y

    def append(self, x: float, y: float | None) -> None:
        if self.count == len(self._x):
            self.reserve(2 * len(self._x))
        self._x[self.count] = x
        self._y[self.count] = math.nan if y is None else y
        self.count += 1
        self.dirty = True
        if y is not None and math.isfinite(y):
            self.low, self.high = min(self.low, y), max(self.high, y)

    def set_points(self, xs: np.ndarray, ys: np.ndarray) -> None:
        self.clear()
        self.reserve(len(xs))
        self._x[: len(xs)] = xs
        self._y[: len(ys)] = ys
        self.count = len(xs)
        finite = self._y[: self.count][np.isfinite(self._y[: self.count])]
        if finite.size:
            self.low, self.high = float(finite.min()), float(finite.max())
        self.flush(force=True)

    def clear(self) -> None:
        self.count = 0
        self.item.setData([], [])
        self.dirty = False
        self.low, self.high = math.inf, -math.inf

    def flush(self, force: bool = False) -> None:
        if self.dirty or force:
            self.item.setData(self._x[: self.count], self._y[: self.count])
            self.dirty = False

    @property
    def x(self) -> np.ndarray:
        return self._x[: self.count].copy()

    @property
    def y(self) -> np.ndarray:
        return self._y[: self.count].copy()


def _plot_widget(title: str, left: str, bottom: str, legend_offset: tuple[int, int]) -> pg.PlotWidget:
    widget = plots.plot_widget(title, left, bottom)
    item = widget.getPlotItem()
    item.getAxis("left").setWidth(56)  # the same width in both plots keeps their epochs aligned
    item.setClipToView(True)
    item.setDownsampling(auto=True, mode="peak")
    item.addLegend(offset=legend_offset, labelTextSize="9pt")
    for name in ("left", "bottom"):
        # Drawn again only when the range or size changes, not on every redraw of a curve.
        item.getAxis(name).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
    return widget


def follow_y_range(
    item: pg.PlotItem, curves: list[BufferedCurve], floor: float | None = None, ceiling: float | None = None
) -> None:
    """Fit the y range to the curves' data, but only when it no longer fits (see the module doc).

    ``floor``/``ceiling`` bound the headroom (a loss is never below 0, an accuracy never above 1).
    """
    low = min((c.low for c in curves), default=math.inf)
    high = max((c.high for c in curves), default=-math.inf)
    if not (math.isfinite(low) and math.isfinite(high)):
        return
    span = high - low if high > low else max(abs(high), 1.0) * 0.1
    y0, y1 = item.getViewBox().viewRange()[1]
    below, above = low < y0, high > y1
    if not (below or above or span < Y_RANGE_MIN_FILL * (y1 - y0)):
        return
    # headroom in proportion to the larger of the data and the view, so a range grows geometrically
    room = Y_RANGE_HEADROOM * max(span, y1 - y0)
    bottom = low - (room if below else Y_RANGE_PADDING * span)
    top = high + (room if above else Y_RANGE_PADDING * span)
    if floor is not None and low >= floor:
        bottom = max(bottom, floor - Y_RANGE_PADDING * span)
    if ceiling is not None and high <= ceiling:
        top = min(top, ceiling + Y_RANGE_PADDING * span)
    item.setYRange(bottom, top, padding=0)


class TrainingCurves(QWidget):
    """Loss (with the per-batch trace) and the task metric, for training and validation, per epoch."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.loss_plot = _plot_widget(self.tr("Loss"), self.tr("loss"), self.tr("epoch"), (-10, 10))
        self.metric_plot = _plot_widget(
            self.tr("Accuracy"), self.tr("accuracy"), self.tr("epoch"), (-10, -10)
        )
        loss_item = self.loss_plot.getPlotItem()
        metric_item = self.metric_plot.getPlotItem()
        self.batch_loss = BufferedCurve(
            loss_item.plot(pen=pg.mkPen(BATCH_COLOR, width=1), name=self.tr("training, per batch")), 1024
        )
        self.loss_train = BufferedCurve(self._epoch_curve(loss_item, TRAIN_COLOR, self.tr("training")))
        self.loss_valid = BufferedCurve(self._epoch_curve(loss_item, VALID_COLOR, self.tr("validation")))
        self.metric_train = BufferedCurve(self._epoch_curve(metric_item, TRAIN_COLOR, self.tr("training")))
        self.metric_valid = BufferedCurve(self._epoch_curve(metric_item, VALID_COLOR, self.tr("validation")))
        self.best_line = pg.InfiniteLine(
            angle=90,
            movable=False,
            pen=pg.mkPen(BEST_COLOR, width=1, style=Qt.PenStyle.DashLine),
            label=self.tr("best"),
            labelOpts={"position": 0.92, "color": BEST_COLOR},
        )
        self.best_line.hide()
        loss_item.addItem(self.best_line, ignoreBounds=True)
        self._best_shown = 0
        self._best_pending = 0
        self._epochs_drawn_at = -math.inf
        self._metric_ceiling: float | None = 1.0
        self.curves = [
            self.batch_loss,
            self.loss_train,
            self.loss_valid,
            self.metric_train,
            self.metric_valid,
        ]
        self._timer = QTimer(self)
        self._timer.setInterval(REDRAW_INTERVAL_MS)
        self._timer.timeout.connect(self.redraw)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.loss_plot, 3)
        layout.addWidget(self.metric_plot, 2)

    @staticmethod
    def _epoch_curve(item: pg.PlotItem, color: str, name: str) -> pg.PlotDataItem:
        return item.plot(
            pen=pg.mkPen(color, width=2),
            symbol=EPOCH_SYMBOL,
            symbolSize=5,
            symbolBrush=color,
            symbolPen=None,
            name=name,
            connect="finite",
        )

    def _show_symbols(self, show: bool) -> None:
        # A dot per epoch is half the GUI thread's plotting time while training (pyqtgraph lays out
        # every spot again on each new point), so live curves are plain lines and the dots come back
        # when training ends.
        for curve in self.curves[1:]:
            curve.item.setSymbol(EPOCH_SYMBOL if show else None)

    def set_metric_name(self, metric: str) -> None:
        """'accuracy' (classification) or 'mae' (regression)."""
        label = self.tr("mean absolute error") if metric == "mae" else self.tr("accuracy")
        title = self.tr("Mean absolute error") if metric == "mae" else self.tr("Accuracy")
        item = self.metric_plot.getPlotItem()
        item.setTitle(title, size="10pt")
        item.setLabel("left", label)
        self._metric_ceiling = None if metric == "mae" else 1.0

    def start(self, epochs: int, metric: str) -> None:
        """Clear the curves for a new run of at most ``epochs`` epochs and start redrawing."""
        for curve in self.curves:
            curve.clear()
        for curve in self.curves[1:]:
            curve.reserve(epochs)
        self._hide_best()
        self._show_symbols(False)
        self.set_metric_name(metric)
        for plot in (self.loss_plot, self.metric_plot):
            plot.getPlotItem().setXRange(0, max(epochs, 1), padding=0.02)
            plot.getPlotItem().enableAutoRange(axis="y", enable=False)  # follow_y_range while live
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        self.redraw(everything=True)
        self._show_symbols(True)
        for plot in (self.loss_plot, self.metric_plot):
            plot.getPlotItem().enableAutoRange(axis="y")

    def add_epoch(
        self,
        epoch: int,
        loss: float,
        val_loss: float | None,
        metric: float | None,
        val_metric: float | None,
        best_epoch: int,
    ) -> None:
        self.loss_train.append(epoch, loss)
        self.loss_valid.append(epoch, val_loss)
        self.metric_train.append(epoch, metric)
        self.metric_valid.append(epoch, val_metric)
        self._best_pending = best_epoch  # moved by the next redraw (moving the line costs ~5 ms)

    def add_batch(self, position: float, loss: float) -> None:
        self.batch_loss.append(position, loss)

    def _set_best(self, best_epoch: int) -> None:
        self._best_pending = best_epoch
        if best_epoch > 0 and best_epoch != self._best_shown:
            self.best_line.setValue(best_epoch)
            self.best_line.show()
            self._best_shown = best_epoch

    def _hide_best(self) -> None:
        self.best_line.hide()
        self._best_shown = self._best_pending = 0

    def redraw(self, everything: bool = False) -> None:
        """Draw the new points: the per-batch trace each time, the epoch curves at most twice a second."""
        now = time.monotonic()
        live = self._timer.isActive()
        self.batch_loss.flush()
        epochs_due = everything or not live or now - self._epochs_drawn_at >= EPOCH_REDRAW_INTERVAL_S
        if epochs_due and any(curve.dirty for curve in self.curves[1:]):
            for curve in self.curves[1:]:
                curve.flush()
            self._set_best(self._best_pending)
            self._epochs_drawn_at = now
            if live:
                follow_y_range(self.metric_plot.getPlotItem(), self.curves[3:], floor=0.0,
                               ceiling=self._metric_ceiling)
        if live:
            follow_y_range(self.loss_plot.getPlotItem(), self.curves[:3], floor=0.0)

    def show_history(self, history: dict[str, list[float]], metric: str, best_epoch: int) -> None:
        """Draw a finished run's per-epoch history (no per-batch trace is kept for old runs)."""
        self._timer.stop()
        self.batch_loss.clear()
        self._show_symbols(True)
        self.set_metric_name(metric)

        def points(key: str) -> tuple[np.ndarray, np.ndarray]:
            values = np.asarray(history.get(key, []), dtype=np.float64)
            return np.arange(1, len(values) + 1, dtype=np.float64), values

        for curve, key in (
            (self.loss_train, "loss"),
            (self.loss_valid, "val_loss"),
            (self.metric_train, metric),
            (self.metric_valid, f"val_{metric}"),
        ):
            curve.set_points(*points(key))
        epochs = len(history.get("loss", []))
        for plot in (self.loss_plot, self.metric_plot):
            plot.getPlotItem().setXRange(0, max(epochs, 1), padding=0.02)
            plot.getPlotItem().enableAutoRange(axis="y")
        self._hide_best()
        self._set_best(best_epoch)

    def clear(self) -> None:
        self._timer.stop()
        for curve in self.curves:
            curve.clear()
        self._hide_best()


class VarianceChart(QWidget):
    """PCA: the explained-variance share per component (bars) and the cumulative share (line)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = pg.PlotWidget()
        self.plot.setMenuEnabled(False)
        item = self.plot.getPlotItem()
        item.hideButtons()
        item.showGrid(x=False, y=True, alpha=0.2)
        item.setLabel("bottom", self.tr("principal component"))
        item.setLabel("left", self.tr("share of variance"))
        item.setMouseEnabled(x=False, y=False)
        item.addLegend(offset=(-10, -10), labelTextSize="8pt")
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.7, brush=plots.BAR_BRUSH, pen=plots.BAR_PEN)
        item.addItem(self.bars)
        self.cumulative = item.plot(
            pen=pg.mkPen(VALID_COLOR, width=2),
            symbol="o",
            symbolSize=4,
            symbolBrush=VALID_COLOR,
            symbolPen=None,
            name=self.tr("cumulative"),
        )
        self.threshold = pg.InfiniteLine(
            angle=0, movable=False, pen=pg.mkPen(BEST_COLOR, width=1, style=Qt.PenStyle.DashLine)
        )
        self.cut = pg.InfiniteLine(
            angle=90, movable=False, pen=pg.mkPen(BEST_COLOR, width=1, style=Qt.PenStyle.DashLine)
        )
        item.addItem(self.threshold, ignoreBounds=True)
        item.addItem(self.cut, ignoreBounds=True)
        self.threshold.hide()
        self.cut.hide()
        self.ratios = np.zeros(0)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)

    def show_ratios(self, ratios: np.ndarray) -> None:
        self.ratios = np.asarray(ratios, dtype=np.float64)
        x = np.arange(1, len(self.ratios) + 1, dtype=np.float64)
        self.bars.setOpts(x=x, height=self.ratios, width=0.7)
        self.cumulative.setData(x, np.cumsum(self.ratios))
        item = self.plot.getPlotItem()
        item.setXRange(0.3, max(len(x), 1) + 0.7, padding=0)
        item.setYRange(0, 1.02, padding=0)

    def mark(self, components: int | None, share: float | None) -> None:
        """Show where the chosen setting cuts: a component count or a share of variance kept."""
        if components:
            self.cut.setValue(components + 0.5)
            self.cut.show()
        else:
            self.cut.hide()
        if share:
            self.threshold.setValue(share)
            self.threshold.show()
        else:
            self.threshold.hide()

    def clear(self) -> None:
        self.ratios = np.zeros(0)
        self.bars.setOpts(x=[], height=[])
        self.cumulative.setData([], [])
        self.threshold.hide()
        self.cut.hide()
