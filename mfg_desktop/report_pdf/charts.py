"""Charts of the PDF report, drawn with QPainter: axes with round ticks, line and bar charts, heatmaps.

Series differ by dash pattern and marker as well as colour, so a black-and-white print stays readable."""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QPainter,
    QPainterPath,
    QPen,
    QPolygonF,
)

from mfg_desktop.core import report as rp
from mfg_desktop.core.i18n import tr
from mfg_desktop.report_pdf.style import GREY, INK, MM, PT, SERIES_STYLES


class ChartBlocks:
    """The chart rows of a page layout: their sizes and how each chart is painted.

    Mixed into :class:`~mfg_desktop.report_pdf.layout.PageLayout`, whose fonts, text measures and
    drawing closures it uses; the painters below receive that layout.
    """

    def _chart_size(self, chart: Any, width: float) -> float:
        if isinstance(chart, rp.LineChart):
            return width * 0.86 if chart.square else min(width * 0.42, 64 * MM)
        if isinstance(chart, rp.BarChart):
            if chart.horizontal:
                return 30 * PT + len(chart.labels) * 15 * PT + 26 * PT
            return width * 0.86 if width < self.width * 0.7 else 60 * MM
        if isinstance(chart, rp.Heatmap):
            cell = self._heat_cell(chart, width)
            return 48 * PT + cell * len(chart.labels)
        return 60 * MM

    def _heat_cell(self, chart: rp.Heatmap, width: float) -> float:
        k = max(len(chart.labels), 1)
        label_w = max(self.text_width(self.font(8), lab) for lab in chart.labels) + 40 * PT
        return min((width - label_w) / k, 22 * MM)

    def _chart_widths(self, row: rp.ChartRow) -> list[float]:
        n = len(row.charts)
        gap = 10 * PT
        if n == 1 and isinstance(row.charts[0], rp.LineChart) and row.charts[0].square:
            return [self.width * 0.6]
        return [(self.width - gap * (n - 1)) / n] * n

    def _chart_row_height(self, row: rp.ChartRow) -> float:
        return max(self._chart_size(c, w) for c, w in zip(row.charts, self._chart_widths(row), strict=True))

    def chart_row(self, row: rp.ChartRow) -> None:
        widths = self._chart_widths(row)
        h = self._chart_row_height(row)
        self.ensure(h)
        y = self.y
        x = self.left if len(widths) > 1 or widths[0] >= self.width else self.left + (self.width - widths[0]) / 2
        for chart, w in zip(row.charts, widths, strict=True):
            rect = QRectF(x, y, w, h)
            self.add(lambda p, chart=chart, rect=rect: self.draw_chart(p, chart, rect))
            x += w + 10 * PT
        self.y += h + 12 * PT

    def draw_chart(self, p: QPainter, chart: Any, rect: QRectF) -> None:
        p.save()
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        if isinstance(chart, rp.LineChart):
            _LineChartPainter(self, chart, rect).draw(p)
        elif isinstance(chart, rp.BarChart):
            _BarChartPainter(self, chart, rect).draw(p)
        elif isinstance(chart, rp.Heatmap):
            self.draw_heatmap(p, chart, rect)
        p.restore()

    def draw_heatmap(self, p: QPainter, chart: rp.Heatmap, rect: QRectF) -> None:
        title_f, label_f, cell_f = self.font(9.5, bold=True), self.font(8), self.font(8.5)
        self.draw_text(p, title_f, QRectF(rect.left(), rect.top(), rect.width(), 14 * PT), chart.title)
        k = len(chart.labels)
        cell = self._heat_cell(chart, rect.width())
        label_w = max(self.text_width(label_f, lab) for lab in chart.labels) + 8 * PT
        x0 = rect.left() + 16 * PT + label_w
        y0 = rect.top() + 34 * PT
        self.draw_text(p, self.font(8, italic=True), QRectF(x0, rect.top() + 14 * PT, cell * k, 10 * PT),
                       chart.column_title, GREY, Qt.AlignmentFlag.AlignHCenter)
        for j, lab in enumerate(chart.labels):
            self.draw_text(p, label_f, QRectF(x0 + j * cell, y0 - 11 * PT, cell, 10 * PT), lab, INK,
                           Qt.AlignmentFlag.AlignHCenter)
        p.save()
        p.translate(rect.left() + 4 * PT, y0 + cell * k / 2)
        p.rotate(-90)
        self.draw_text(p, self.font(8, italic=True), QRectF(-cell * k / 2, 0, cell * k, 10 * PT), chart.row_title,
                       GREY, Qt.AlignmentFlag.AlignHCenter)
        p.restore()
        for i, lab in enumerate(chart.labels):
            yc = y0 + i * cell
            self.draw_text(p, label_f, QRectF(rect.left() + 14 * PT, yc + cell / 2 - 5 * PT, label_w - 6 * PT,
                                              10 * PT), lab, INK, Qt.AlignmentFlag.AlignRight)
            for j in range(k):
                share = chart.shares[i][j]
                level = round(250 - 175 * share)  # darker: a larger share of the actual class
                p.fillRect(QRectF(x0 + j * cell, yc, cell, cell), QColor(level, level, level))
                p.setPen(QPen(QColor("#888888"), 0.5 * PT))
                p.drawRect(QRectF(x0 + j * cell, yc, cell, cell))
                color = QColor("white") if share > 0.55 else INK
                text = f"{chart.counts[i][j]:,}\n{share * 100:.1f} %"
                f = cell_f if cell > 34 * PT else self.font(6.5)
                th = self.text_height(f, cell, text)
                self.draw_text(p, f, QRectF(x0 + j * cell, yc + (cell - th) / 2, cell, th), text, color,
                               Qt.AlignmentFlag.AlignHCenter)
        p.setPen(QPen(INK, 1.2 * PT))
        for i in range(k):  # the diagonal (correct decisions) framed
            p.drawRect(QRectF(x0 + i * cell, y0 + i * cell, cell, cell))



# chart painters


def nice_ticks(lo: float, hi: float, target: int = 5, min_step: float = 0.0) -> list[float]:
    """About ``target`` round tick values covering [lo, hi] (steps of at least ``min_step``)."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [0.0, 1.0]
    if hi <= lo:
        hi = lo + (abs(lo) if lo else 1.0)
    raw = (hi - lo) / max(target, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = max(next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw), min_step)
    start = math.floor(lo / step + 1e-9) * step
    ticks = []
    v = start
    while v <= hi + step * 1e-6:
        ticks.append(round(v, 12))
        v += step
    return ticks


def _tick_text(v: float, step: float) -> str:
    if step >= 1 and abs(v) < 1e6:
        return f"{v:,.0f}"
    decimals = max(0, -math.floor(math.log10(step)) + (1 if step / 10 ** math.floor(math.log10(step)) == 2.5
                                                              else 0))
    return f"{v:.{min(decimals, 6)}f}"


class _Axes:
    """Plot-area geometry and axes shared by line and vertical bar charts."""

    def __init__(self, lay: ChartBlocks, rect: QRectF, title: str, x_label: str, y_label: str,
                 x_range: tuple[float, float], y_range: tuple[float, float], legend_entries: int,
                 integer_x: bool = False) -> None:
        self.lay = lay
        self.rect = rect
        self.title = title
        self.x_label, self.y_label = x_label, y_label
        self.tick_f = lay.font(7.5)
        self.x_ticks = nice_ticks(*x_range, min_step=1.0 if integer_x else 0.0)
        self.y_ticks = nice_ticks(*y_range)
        self.x0, self.x1 = min(x_range[0], self.x_ticks[0]), max(x_range[1], self.x_ticks[-1])
        self.y0, self.y1 = min(y_range[0], self.y_ticks[0]), max(y_range[1], self.y_ticks[-1])
        if x_range[0] >= 0 and x_range[1] <= 1 and x_range != (0, 0):
            self.x0, self.x1 = x_range  # probabilities: keep the axis at exactly [0, 1]
        if y_range[0] >= 0 and y_range[1] <= 1.02 and y_range != (0, 0):
            self.y0, self.y1 = y_range
        y_step = self.y_ticks[1] - self.y_ticks[0] if len(self.y_ticks) > 1 else 1.0
        x_step = self.x_ticks[1] - self.x_ticks[0] if len(self.x_ticks) > 1 else 1.0
        self.y_texts = [_tick_text(v, y_step) for v in self.y_ticks]
        self.x_texts = [_tick_text(v, x_step) for v in self.x_ticks]
        left_w = max(lay.text_width(self.tick_f, t) for t in self.y_texts) + 20 * PT
        title_h = 16 * PT
        plot_w = rect.width() - left_w - 6 * PT
        legend_rows = _legend_rows(legend_entries, plot_w) if legend_entries else 0
        legend_h = legend_rows * 11 * PT + (4 * PT if legend_rows else 0)
        self.plot = QRectF(rect.left() + left_w, rect.top() + title_h, plot_w,
                           rect.height() - title_h - 28 * PT - legend_h)
        self.legend_top = self.plot.bottom() + 26 * PT

    def px(self, x: float) -> float:
        return self.plot.left() + (x - self.x0) / ((self.x1 - self.x0) or 1.0) * self.plot.width()

    def py(self, y: float) -> float:
        return self.plot.bottom() - (y - self.y0) / ((self.y1 - self.y0) or 1.0) * self.plot.height()

    def draw(self, p: QPainter) -> None:
        lay = self.lay
        lay.draw_text(p, lay.font(9.5, bold=True), QRectF(self.rect.left(), self.rect.top(), self.rect.width(),
                                                          14 * PT), self.title)
        p.setPen(QPen(QColor("#e1e4e8"), 0.4 * PT))
        for v in self.y_ticks:
            if self.y0 <= v <= self.y1:
                p.drawLine(QPointF(self.plot.left(), self.py(v)), QPointF(self.plot.right(), self.py(v)))
        p.setPen(QPen(INK, 0.7 * PT))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRect(self.plot)
        for v, t in zip(self.y_ticks, self.y_texts, strict=True):
            if self.y0 - 1e-9 <= v <= self.y1 + 1e-9:
                y = self.py(v)
                p.setPen(QPen(INK, 0.7 * PT))
                p.drawLine(QPointF(self.plot.left() - 3 * PT, y), QPointF(self.plot.left(), y))
                lay.draw_text(p, self.tick_f, QRectF(self.rect.left(), y - 5 * PT, self.plot.left() - self.rect.left()
                                                     - 5 * PT, 10 * PT), t, INK, Qt.AlignmentFlag.AlignRight)
        for v, t in zip(self.x_ticks, self.x_texts, strict=True):
            if self.x0 - 1e-9 <= v <= self.x1 + 1e-9:
                x = self.px(v)
                p.setPen(QPen(INK, 0.7 * PT))
                p.drawLine(QPointF(x, self.plot.bottom()), QPointF(x, self.plot.bottom() + 3 * PT))
                lay.draw_text(p, self.tick_f, QRectF(x - 30 * PT, self.plot.bottom() + 4 * PT, 60 * PT, 10 * PT), t,
                              INK, Qt.AlignmentFlag.AlignHCenter)
        label_f = lay.font(8, italic=True)
        lay.draw_text(p, label_f, QRectF(self.plot.left(), self.plot.bottom() + 14 * PT, self.plot.width(), 11 * PT),
                      self.x_label, GREY, Qt.AlignmentFlag.AlignHCenter)
        p.save()
        p.translate(self.rect.left(), self.plot.center().y())
        p.rotate(-90)
        lay.draw_text(p, label_f, QRectF(-self.plot.height() / 2, 0, self.plot.height(), 11 * PT), self.y_label,
                      GREY, Qt.AlignmentFlag.AlignHCenter)
        p.restore()


def _marker(p: QPainter, kind: str, x: float, y: float, r: float, color: QColor) -> None:
    p.setPen(QPen(color, 0.8 * PT))
    p.setBrush(QBrush(QColor("white")))
    if kind == "circle":
        p.drawEllipse(QPointF(x, y), r, r)
    elif kind == "square":
        p.drawRect(QRectF(x - r, y - r, 2 * r, 2 * r))
    elif kind == "triangle":
        p.drawPolygon(QPolygonF([QPointF(x, y - r * 1.2), QPointF(x + r * 1.1, y + r * 0.8),
                                 QPointF(x - r * 1.1, y + r * 0.8)]))
    elif kind == "diamond":
        p.drawPolygon(QPolygonF([QPointF(x, y - r * 1.3), QPointF(x + r * 1.1, y), QPointF(x, y + r * 1.3),
                                 QPointF(x - r * 1.1, y)]))
    else:
        p.drawLine(QPointF(x - r, y - r), QPointF(x + r, y + r))
        p.drawLine(QPointF(x - r, y + r), QPointF(x + r, y - r))


def _pen(style: tuple, width_pt: float = 1.3) -> QPen:
    color, dash, _ = style
    pen = QPen(color, width_pt * PT)
    pen.setStyle(dash)
    pen.setCapStyle(Qt.PenCapStyle.FlatCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    return pen


def _legend_columns(width: float) -> int:
    return 2 if width > 260 * PT else 1


def _legend(lay: ChartBlocks, p: QPainter, x: float, y: float, width: float, entries: list[tuple[str, tuple, bool]]
            ) -> None:
    """Entries in one or two columns: a line sample (with its dash and marker) and the name."""
    font = lay.font(7.8)
    cols = _legend_columns(width)
    col_w = width / cols
    for i, (name, style, line) in enumerate(entries):
        cx = x + (i % cols) * col_w
        cy = y + (i // cols) * 11 * PT + 5 * PT
        if line:
            p.setPen(_pen(style))
            p.drawLine(QPointF(cx, cy), QPointF(cx + 22 * PT, cy))
        _marker(p, style[2], cx + 11 * PT, cy, 2.3 * PT, style[0])
        lay.draw_text(p, font, QRectF(cx + 27 * PT, cy - 5 * PT, col_w - 30 * PT, 11 * PT), name)


def _legend_rows(n: int, width: float) -> int:
    cols = _legend_columns(width)
    return (n + cols - 1) // cols


class _LineChartPainter:
    def __init__(self, lay: ChartBlocks, chart: rp.LineChart, rect: QRectF) -> None:
        self.lay, self.chart, self.rect = lay, chart, rect

    def draw(self, p: QPainter) -> None:
        c = self.chart
        xs = [v for s in c.series for v in s.x if math.isfinite(v)]
        ys = [v for s in c.series for v in s.y if math.isfinite(v)]
        x_range = c.x_range or ((min(xs), max(xs)) if xs else (0.0, 1.0))
        if c.y_range is not None:
            y_range = c.y_range
        elif ys:
            lo, hi = min(ys), max(ys)
            span = (hi - lo) or (abs(hi) or 1.0)
            bottom = lo - 0.05 * span
            if lo >= 0 > bottom:  # values that cannot be negative (loss, accuracy): no axis below 0
                bottom = 0.0
            y_range = (bottom, hi + 0.05 * span)
        else:
            y_range = (0.0, 1.0)
        legend = len(c.series) > 1 or bool(c.series and c.series[0].name)
        axes = _Axes(self.lay, self.rect, c.title, c.x_label, c.y_label, x_range, y_range,
                     len(c.series) if legend else 0,
                     integer_x=bool(xs) and all(float(v).is_integer() for v in xs))
        axes.draw(p)
        p.save()
        p.setClipRect(axes.plot.adjusted(-3 * PT, -3 * PT, 3 * PT, 3 * PT))
        if c.diagonal:
            pen = QPen(QColor("#8c8c8c"), 0.7 * PT)
            pen.setStyle(Qt.PenStyle.DotLine)
            p.setPen(pen)
            lo, hi = max(axes.x0, axes.y0), min(axes.x1, axes.y1)
            p.drawLine(QPointF(axes.px(lo), axes.py(lo)), QPointF(axes.px(hi), axes.py(hi)))
        for x, label in c.markers:
            pen = QPen(QColor("#444444"), 0.8 * PT)
            pen.setStyle(Qt.PenStyle.DashLine)
            p.setPen(pen)
            p.drawLine(QPointF(axes.px(x), axes.plot.top()), QPointF(axes.px(x), axes.plot.bottom()))
            font = self.lay.font(7.5, italic=True)
            box = QRectF(axes.px(x) + 3 * PT, axes.plot.top() + 2 * PT, self.lay.text_width(font, label) + 4 * PT,
                         10 * PT)
            if box.right() > axes.plot.right():  # near the right edge: the label goes left of the line
                box.moveRight(axes.px(x) - 3 * PT)
            p.fillRect(box, QColor(255, 255, 255, 225))
            self.lay.draw_text(p, font, box.adjusted(2 * PT, 0, 0, 0), label, GREY)
        entries = []
        for i, s in enumerate(c.series):
            style = SERIES_STYLES[i % len(SERIES_STYLES)]
            points = [QPointF(axes.px(x), axes.py(y)) for x, y in zip(s.x, s.y, strict=True)
                      if math.isfinite(x) and math.isfinite(y)]
            if not points:
                continue
            if s.mode == "points":
                color = QColor(style[0])
                color.setAlphaF(0.55)
                p.setPen(Qt.PenStyle.NoPen)
                p.setBrush(QBrush(color))
                r = 1.3 * PT
                for pt in points:
                    p.drawEllipse(pt, r, r)
                entries.append((s.name, style, False))
                continue
            path = QPainterPath(points[0])
            for pt in points[1:]:
                path.lineTo(pt)
            p.setPen(_pen(style))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawPath(path)
            # markers: on every point when few; else 9 spaced evenly along the drawn length (a ROC
            # curve's points crowd where it bends), staggered per series so they do not overlap
            if s.mode == "line+points" and len(points) <= 40:
                spots = points
            else:
                offset = (i % 3) / 3 * 0.1
                spots = [path.pointAtPercent(min(offset + k * 0.1, 1.0)) for k in range(10)]
            for pt in spots:
                _marker(p, style[2], pt.x(), pt.y(), 2.1 * PT, style[0])
            entries.append((s.name, style, True))
        p.restore()
        if legend:
            _legend(self.lay, p, axes.plot.left(), axes.legend_top, axes.plot.width(), entries)


class _BarChartPainter:
    def __init__(self, lay: ChartBlocks, chart: rp.BarChart, rect: QRectF) -> None:
        self.lay, self.chart, self.rect = lay, chart, rect

    def draw(self, p: QPainter) -> None:
        if self.chart.horizontal:
            self._horizontal(p)
        else:
            self._histogram(p)

    def _histogram(self, p: QPainter) -> None:
        c = self.chart
        edges = c.x_edges or list(range(len(c.values) + 1))
        axes = _Axes(self.lay, self.rect, c.title, "", c.value_label, (edges[0], edges[-1]),
                     (0.0, max(c.values, default=1.0) * 1.05 or 1.0), 0)
        axes.draw(p)
        p.setPen(QPen(QColor("#2f4f6f"), 0.5 * PT))
        p.setBrush(QBrush(QColor("#9fb3c8")))
        for v, a, b in zip(c.values, edges[:-1], edges[1:], strict=True):
            p.drawRect(QRectF(QPointF(axes.px(a), axes.py(v)), QPointF(axes.px(b), axes.py(0))))

    def _horizontal(self, p: QPainter) -> None:
        lay, c, rect = self.lay, self.chart, self.rect
        label_f = lay.font(8)
        lay.draw_text(p, lay.font(9.5, bold=True), QRectF(rect.left(), rect.top(), rect.width(), 14 * PT), c.title)
        errors = c.errors or [0.0] * len(c.values)
        lo = min([0.0] + [v - e for v, e in zip(c.values, errors, strict=True)])
        hi = max([0.0] + [v + e for v, e in zip(c.values, errors, strict=True)])
        if hi == lo:
            hi = lo + 1.0
        ticks = nice_ticks(lo, hi)
        lo, hi = min(lo, ticks[0]), max(hi, ticks[-1])
        label_w = min(max((lay.text_width(label_f, t) for t in c.labels), default=0.0) + 8 * PT, rect.width() * 0.35)
        plot = QRectF(rect.left() + label_w, rect.top() + 20 * PT, rect.width() - label_w - 8 * PT,
                      len(c.labels) * 15 * PT)

        def px(v: float) -> float:
            return plot.left() + (v - lo) / (hi - lo) * plot.width()

        p.setPen(QPen(QColor("#e1e4e8"), 0.4 * PT))
        step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
        for t in ticks:
            p.drawLine(QPointF(px(t), plot.top()), QPointF(px(t), plot.bottom()))
        for i, (label, v, e) in enumerate(zip(c.labels, c.values, errors, strict=True)):
            y = plot.top() + i * 15 * PT
            lay.draw_text(p, label_f, QRectF(rect.left(), y + 2.5 * PT, label_w - 6 * PT, 11 * PT),
                          label, INK, Qt.AlignmentFlag.AlignRight)
            bar = QRectF(QPointF(px(min(0.0, v)), y + 3 * PT), QPointF(px(max(0.0, v)), y + 12 * PT))
            p.setPen(QPen(QColor("#2f4f6f"), 0.5 * PT))
            p.setBrush(QBrush(QColor("#9fb3c8")))
            p.drawRect(bar)
            if e > 0:
                p.setPen(QPen(INK, 0.8 * PT))
                yc = y + 7.5 * PT
                p.drawLine(QPointF(px(v - e), yc), QPointF(px(v + e), yc))
                for xe in (px(v - e), px(v + e)):
                    p.drawLine(QPointF(xe, yc - 3 * PT), QPointF(xe, yc + 3 * PT))
        p.setPen(QPen(INK, 0.8 * PT))
        p.drawLine(QPointF(px(0.0), plot.top()), QPointF(px(0.0), plot.bottom()))
        p.drawLine(QPointF(plot.left(), plot.bottom()), QPointF(plot.right(), plot.bottom()))
        tick_f = lay.font(7.5)
        for t in ticks:
            p.setPen(QPen(INK, 0.7 * PT))
            p.drawLine(QPointF(px(t), plot.bottom()), QPointF(px(t), plot.bottom() + 3 * PT))
            lay.draw_text(p, tick_f, QRectF(px(t) - 30 * PT, plot.bottom() + 4 * PT, 60 * PT, 10 * PT),
                          _tick_text(t, step), INK, Qt.AlignmentFlag.AlignHCenter)
        note = tr("{label}; bars: mean, whiskers: ± one standard deviation", label=c.value_label) if c.errors \
            else c.value_label
        lay.draw_text(p, lay.font(8, italic=True), QRectF(plot.left(), plot.bottom() + 15 * PT, plot.width(), 11 * PT),
                      note, GREY, Qt.AlignmentFlag.AlignHCenter)

