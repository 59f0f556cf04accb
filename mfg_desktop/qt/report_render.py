"""Draw a core report document (:mod:`mfg_desktop.core.report`) into a PDF with QPdfWriter + QPainter.

Everything is vector: text stays text (a CJK-capable font is embedded for Chinese column names
and UI text), charts are lines and shapes drawn by QPainter and told apart by dash pattern and
marker as well as colour, so a black-and-white print stays readable. Pages are laid out first and
painted second, so every page carries a header and "page N of M". A table row is never split: a
row that does not fit starts the next page, under a repeated header row. Paper is A4, or Letter in
the US and Canada (QLocale), unless the document says otherwise.

Rendering needs Qt's GUI module (fonts, painter) but no window: it runs on a worker thread, and
headless under ``QT_QPA_PLATFORM=offscreen`` (:func:`ensure_gui_app`). The PDF is produced in
memory, then written atomically (temporary file in the same folder, fsync, ``os.replace``): a
failure leaves the previous file at that path as it was.
"""

from __future__ import annotations

import errno
import math
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QLocale, QMarginsF, QPointF, QRectF, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontDatabase,
    QFontMetricsF,
    QPageLayout,
    QPageSize,
    QPainter,
    QPainterPath,
    QPdfWriter,
    QPen,
    QPolygonF,
)

from mfg_desktop import __version__
from mfg_desktop.core import report as rp
from mfg_desktop.core.atomic import atomic_write
from mfg_desktop.core.errors import MfgError
from mfg_desktop.core.jobs import JobState, ensure_state

DPI = 300
PT = DPI / 72.0  # device units per point
MM = DPI / 25.4
LETTER_TERRITORIES = {QLocale.Country.UnitedStates, QLocale.Country.Canada}
LATIN_FAMILIES = ("DejaVu Sans", "Segoe UI", "Arial", "Helvetica Neue", "Helvetica", "Liberation Sans",
                  "Noto Sans", "Cantarell")
MONO_FAMILIES = ("DejaVu Sans Mono", "Consolas", "Menlo", "Liberation Mono", "Courier New")
CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN", "Microsoft YaHei",
                "Microsoft YaHei UI", "PingFang SC", "Hiragino Sans GB", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei",
                "SimHei", "SimSun", "Noto Sans CJK TC", "Noto Sans CJK JP", "Noto Sans CJK KR")
NO_CJK_WARNING = ("No font with Chinese, Japanese or Korean characters was found on this computer, so such "
                  "text (e.g. column names) shows as empty boxes in the PDF. Install a CJK font (for example "
                  "Noto Sans CJK or Microsoft YaHei) and export the report again.")

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


@dataclass
class RenderResult:
    path: Path
    pages: int
    warnings: list[str] = field(default_factory=list)
    font: str = ""
    paper: str = "A4"


# --------------------------------------------------------------------------------------------
# application, fonts, paper


_app: Any = None


def ensure_gui_app() -> None:
    """A Qt application for fonts and painting; offscreen when there is no display (CLI, servers)."""
    global _app
    from PySide6.QtCore import QCoreApplication

    if QCoreApplication.instance() is not None:
        return
    if sys.platform.startswith("linux") and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    # A QApplication rather than a QGuiApplication: a process that later wants widgets (a test
    # session, the window opened after a headless export) cannot replace the one made first.
    from PySide6.QtWidgets import QApplication

    _app = QApplication(sys.argv[:1] or ["mfg-desktop"])


@dataclass(frozen=True)
class Fonts:
    latin: str
    mono: str
    cjk: str | None

    def families(self, mono: bool = False) -> list[str]:
        first = self.mono if mono else self.latin
        return [first, self.cjk] if self.cjk else [first]


@lru_cache(maxsize=1)
def pick_fonts() -> Fonts:
    """A Latin text font (digits and Latin letters come from it) with a CJK font as fallback.

    The CJK font is named explicitly rather than left to Qt's fallback, so the same font is
    embedded on every machine that has it; when none is installed, :data:`NO_CJK_WARNING` tells why.
    """
    available = set(QFontDatabase.families())
    latin = next((f for f in LATIN_FAMILIES if f in available), QFontDatabase.systemFont(
        QFontDatabase.SystemFont.GeneralFont).family())
    mono = next((f for f in MONO_FAMILIES if f in available), QFontDatabase.systemFont(
        QFontDatabase.SystemFont.FixedFont).family())
    cjk = next((f for f in CJK_FAMILIES if f in available), None)
    if cjk is None:
        wanted = QFontDatabase.WritingSystem.SimplifiedChinese
        cjk = next((f for f in sorted(available) if wanted in QFontDatabase.writingSystems(f)), None)
    return Fonts(latin, mono, cjk)


def paper_for_locale(locale: QLocale | None = None) -> str:
    """Letter in the US and Canada, A4 elsewhere."""
    locale = locale or QLocale()
    return "Letter" if locale.territory() in LETTER_TERRITORIES else "A4"


# --------------------------------------------------------------------------------------------
# the renderer


Draw = Callable[[QPainter], None]


class _Layout:
    """Lays blocks out page by page into drawing closures; painting happens afterwards."""

    def __init__(self, doc: rp.ReportDocument, writer: QPdfWriter, fonts: Fonts, width: float, height: float) -> None:
        self.doc = doc
        self.device = writer
        self.fonts = fonts
        self.page_w = width
        self.page_h = height
        self.left = 18 * MM
        self.right = width - 18 * MM
        self.top = 21 * MM
        self.bottom = height - 17 * MM
        self.width = self.right - self.left
        self.pages: list[list[Draw]] = [[]]
        self.y = self.top
        self._fonts: dict[tuple, QFont] = {}

    # -- fonts and text ---------------------------------------------------------------------
    def font(self, size: float, bold: bool = False, italic: bool = False, mono: bool = False) -> QFont:
        key = (size, bold, italic, mono)
        if key not in self._fonts:
            f = QFont()
            f.setFamilies(self.fonts.families(mono))
            f.setPointSizeF(size)
            f.setBold(bold)
            f.setItalic(italic)
            f.setKerning(True)
            f.setHintingPreference(QFont.HintingPreference.PreferNoHinting)
            # No "fi"/"fl" ligatures: the PDF's text must read back (copy, search) as typed.
            for tag in ("liga", "clig"):
                f.setFeature(QFont.Tag(tag), 0)
            self._fonts[key] = f
        return self._fonts[key]

    def metrics(self, font: QFont) -> QFontMetricsF:
        return QFontMetricsF(font, self.device)

    def text_height(self, font: QFont, width: float, text: str, anywhere: bool = False) -> float:
        flags = int(Qt.AlignmentFlag.AlignLeft) | int(
            Qt.TextFlag.TextWrapAnywhere if anywhere else Qt.TextFlag.TextWordWrap)
        return self.metrics(font).boundingRect(QRectF(0, 0, max(width, 1.0), 1e7), flags, text).height()

    def text_width(self, font: QFont, text: str) -> float:
        return max((self.metrics(font).horizontalAdvance(line) for line in text.split("\n")), default=0.0)

    @staticmethod
    def draw_text(p: QPainter, font: QFont, rect: QRectF, text: str, color: QColor = INK,
                  align: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignLeft, anywhere: bool = False) -> None:
        p.setFont(font)
        p.setPen(color)
        wrap = Qt.TextFlag.TextWrapAnywhere if anywhere else Qt.TextFlag.TextWordWrap
        p.drawText(rect, int(align) | int(Qt.AlignmentFlag.AlignTop) | int(wrap), text)

    # -- pages -------------------------------------------------------------------------------
    def new_page(self) -> None:
        if self.pages[-1] or self.y > self.top:
            self.pages.append([])
        self.y = self.top

    def room(self) -> float:
        return self.bottom - self.y

    def ensure(self, h: float) -> None:
        if h > self.room() and self.y > self.top:
            self.new_page()

    def add(self, draw: Draw) -> None:
        self.pages[-1].append(draw)

    # -- blocks ------------------------------------------------------------------------------
    def lay_out(self, blocks: list[Any]) -> None:
        for i, block in enumerate(blocks):
            nxt = blocks[i + 1] if i + 1 < len(blocks) else None
            if isinstance(block, rp.PageBreak):
                self.new_page()
            elif isinstance(block, rp.Heading):
                self.heading(block, nxt)
            elif isinstance(block, rp.Paragraph):
                self.paragraph(block)
            elif isinstance(block, rp.Bullets):
                self.bullets(block)
            elif isinstance(block, rp.KeyValues):
                self.key_values(block)
            elif isinstance(block, rp.Table):
                self.table(block)
            elif isinstance(block, rp.ChartRow):
                self.chart_row(block)
            elif isinstance(block, rp.LineChart | rp.BarChart | rp.Heatmap):
                self.chart_row(rp.ChartRow([block]))
            else:
                raise TypeError(f"unknown report block {type(block).__name__}")

    def heading(self, block: rp.Heading, nxt: Any) -> None:
        if block.level == 0:
            font = self.font(22, bold=True)
            h = self.text_height(font, self.width, block.text)
            self.y = max(self.y, self.top + 28 * MM)
            y = self.y
            self.add(lambda p, y=y: (self.draw_text(p, font, QRectF(self.left, y, self.width, h), block.text, ACCENT),
                                     self._rule(p, y + h + 3 * PT, ACCENT, 2.0)))
            sub = self.font(10, italic=True)
            sub_text = {"model": "What the model was trained on, how it was built, and how well it does on "
                                 "held-out data.",
                        "batch": "What a model made of a batch of files: counts, schema and drift warnings, "
                                 "flagged rows."}.get(self.doc.kind, "")
            sh = self.text_height(sub, self.width, sub_text)
            y2 = y + h + 8 * PT
            self.add(lambda p, y=y2: self.draw_text(p, sub, QRectF(self.left, y, self.width, sh), sub_text, GREY))
            self.y = y2 + sh + 14 * PT
            return
        if block.level == 1:
            if self.doc.kind in ("model", "batch"):
                self.new_page()
            font = self.font(15, bold=True)
            h = self.text_height(font, self.width, block.text)
            y = self.y
            self.add(lambda p, y=y: (self.draw_text(p, font, QRectF(self.left, y, self.width, h), block.text, ACCENT),
                                     self._rule(p, y + h + 2 * PT, ACCENT, 1.2)))
            self.y += h + 10 * PT
            return
        font = self.font(11.5, bold=True)
        h = self.text_height(font, self.width, block.text)
        self.ensure(h + 6 * PT + self._min_height(nxt))
        y = self.y + 4 * PT
        self.add(lambda p, y=y: self.draw_text(p, font, QRectF(self.left, y, self.width, h), block.text, ACCENT))
        self.y = y + h + 4 * PT

    def _min_height(self, block: Any) -> float:
        """What must fit under a subheading so it is not left alone at the foot of a page."""
        if isinstance(block, rp.ChartRow | rp.LineChart | rp.BarChart | rp.Heatmap):
            return min(self._chart_row_height(block if isinstance(block, rp.ChartRow) else rp.ChartRow([block])),
                       self.bottom - self.top - 40 * PT)
        if block is None or isinstance(block, rp.Heading | rp.PageBreak):
            return 0.0
        return 48 * PT

    def _rule(self, p: QPainter, y: float, color: QColor = RULE, width_pt: float = 0.6) -> None:
        p.setPen(QPen(color, width_pt * PT))
        p.drawLine(QPointF(self.left, y), QPointF(self.right, y))

    def paragraph(self, block: rp.Paragraph) -> None:
        style = block.style
        font = {"note": self.font(8.5, italic=True), "warning": self.font(9.5), "mono": self.font(8.5, mono=True)
                }.get(style, self.font(9.5))
        color = GREY if style == "note" else INK
        indent = 8 * PT if style == "warning" else 0.0
        text = ("Warning: " + block.text) if style == "warning" else block.text
        h = self.text_height(font, self.width - indent, text, anywhere=style == "mono")
        self.ensure(h)
        y = self.y

        def draw(p: QPainter, y: float = y) -> None:
            if style == "warning":
                p.fillRect(QRectF(self.left, y - 1 * PT, 2.5 * PT, h + 2 * PT), WARN_BAR)
            self.draw_text(p, font, QRectF(self.left + indent, y, self.width - indent, h), text, color,
                           anywhere=style == "mono")

        self.add(draw)
        self.y += h + 6 * PT

    def bullets(self, block: rp.Bullets) -> None:
        font = self.font(9)
        indent = 12 * PT
        for item in block.items:
            h = self.text_height(font, self.width - indent, item)
            self.ensure(h)
            y = self.y

            def draw(p: QPainter, y: float = y, item: str = item, h: float = h) -> None:
                mark = "!" if block.style == "warning" else "•"
                self.draw_text(p, self.font(9, bold=True), QRectF(self.left + 2 * PT, y, indent, h), mark,
                               WARN_BAR if block.style == "warning" else INK)
                self.draw_text(p, font, QRectF(self.left + indent, y, self.width - indent, h), item)

            self.add(draw)
            self.y += h + 2.5 * PT
        self.y += 4 * PT

    def key_values(self, block: rp.KeyValues) -> None:
        kf, vf = self.font(9, bold=True), self.font(9)
        key_w = min(max((self.text_width(kf, k) for k, _ in block.rows), default=0.0) + 12 * PT, self.width * 0.36)
        pad = 2.5 * PT
        for key, value in block.rows:
            anywhere = len(value) > 40 and " " not in value  # hashes
            h = max(self.text_height(kf, key_w - 8 * PT, key),
                    self.text_height(vf, self.width - key_w, value, anywhere)) + 2 * pad
            self.ensure(h)
            y = self.y

            def draw(p: QPainter, y: float = y, key: str = key, value: str = value, h: float = h,
                     anywhere: bool = anywhere) -> None:
                self.draw_text(p, kf, QRectF(self.left, y + pad, key_w - 8 * PT, h), key, GREY)
                self.draw_text(p, vf, QRectF(self.left + key_w, y + pad, self.width - key_w, h), value,
                               anywhere=anywhere)
                p.setPen(QPen(QColor("#d5d9de"), 0.4 * PT))
                p.drawLine(QPointF(self.left, y + h), QPointF(self.right, y + h))

            self.add(draw)
            self.y += h
        self.y += 8 * PT

    # -- tables ------------------------------------------------------------------------------
    def _column_widths(self, block: rp.Table, body: QFont, head: QFont, pad: float) -> list[float]:
        n = len(block.header)
        natural = []
        minimum = []
        for j in range(n):
            f_body = self.font(7.5, mono=True) if j in block.mono else body
            cells = [r[j] if j < len(r) else "" for r in block.rows]
            widest = max([self.text_width(head, block.header[j])] + [self.text_width(f_body, c) for c in cells])
            words = [w for c in [block.header[j], *cells] for w in c.split()]
            longest_word = max((self.text_width(f_body, w) for w in words), default=0.0)
            natural.append(widest + 2 * pad)
            minimum.append(min(longest_word, 60 * PT) + 2 * pad if j not in block.mono else 40 * PT)
        total = sum(natural)
        if total <= self.width * 0.6:
            return natural  # a narrow table (metrics, per class) keeps its numbers near their names
        if total <= self.width:
            extra = self.width - total
            grow = [j for j in range(n) if (block.align[j] if j < len(block.align) else "l") == "l"] or list(range(n))
            share = sum(natural[j] for j in grow)
            return [w + (extra * w / share if j in grow else 0.0) for j, w in enumerate(natural)]
        # too wide: columns narrower than a fair share keep their width, the others share the rest
        widths = list(natural)
        fixed: set[int] = set()
        while True:
            free = self.width - sum(widths[j] for j in fixed)
            flexible = [j for j in range(n) if j not in fixed]
            fair = free / max(len(flexible), 1)
            small = [j for j in flexible if natural[j] <= fair]
            if not small:
                want = sum(natural[j] for j in flexible)
                for j in flexible:
                    widths[j] = max(minimum[j], free * natural[j] / want)
                break
            fixed.update(small)
        scale = self.width / sum(widths)
        return [w * scale for w in widths] if scale < 1 else widths

    def table(self, block: rp.Table) -> None:
        body, head = self.font(8.3), self.font(8.3, bold=True)
        mono = self.font(7.5, mono=True)
        pad = 3 * PT
        widths = self._column_widths(block, body, head, pad)
        xs = [self.left]
        for w in widths:
            xs.append(xs[-1] + w)
        table_w = xs[-1] - self.left

        def row_height(cells: list[str], font: QFont) -> float:
            h = 0.0
            for j, c in enumerate(cells):
                f = mono if (j in block.mono and font is body) else font
                h = max(h, self.text_height(f, widths[j] - 2 * pad, c, anywhere=j in block.mono))
            return h + 2 * pad

        header_h = row_height(block.header, head)
        cap_font = self.font(8.5, bold=True)
        cap_h = self.text_height(cap_font, self.width, block.caption) + 3 * PT if block.caption else 0.0

        def draw_row(p: QPainter, y: float, cells: list[str], h: float, font: QFont, fill: QColor | None) -> None:
            if fill is not None:
                p.fillRect(QRectF(self.left, y, table_w, h), fill)
            for j, c in enumerate(cells):
                align = Qt.AlignmentFlag.AlignRight if (j < len(block.align) and block.align[j] == "r") \
                    else Qt.AlignmentFlag.AlignLeft
                f = mono if (j in block.mono and font is body) else font
                self.draw_text(p, f, QRectF(xs[j] + pad, y + pad, widths[j] - 2 * pad, h - 2 * pad), c,
                               align=align, anywhere=j in block.mono)
            p.setPen(QPen(QColor("#c9ced5"), 0.4 * PT))
            p.drawLine(QPointF(self.left, y + h), QPointF(self.left + table_w, y + h))

        def rule(p: QPainter, y: float) -> None:
            p.setPen(QPen(RULE, 0.8 * PT))
            p.drawLine(QPointF(self.left, y), QPointF(self.left + table_w, y))

        def place_header(continued: bool) -> None:
            if block.caption:
                y = self.y
                text = block.caption + (" (continued)" if continued else "")
                self.add(lambda p, y=y, text=text: self.draw_text(
                    p, cap_font, QRectF(self.left, y, self.width, cap_h), text, INK))
                self.y += cap_h
            y = self.y
            self.add(lambda p, y=y: (draw_row(p, y, block.header, header_h, head, HEADER_FILL),
                                     rule(p, y)))
            self.y += header_h

        rows = block.rows or [["(none)"] + [""] * (len(block.header) - 1)]
        first_h = row_height(rows[0], body)
        self.ensure(cap_h + header_h + first_h)
        place_header(False)
        for i, cells in enumerate(rows):
            h = row_height(cells, body)
            if h > self.room() and self.y > self.top:
                self.new_page()
                place_header(True)
            y = self.y
            fill = ZEBRA if i % 2 else None
            self.add(lambda p, y=y, cells=cells, h=h, fill=fill: draw_row(p, y, cells, h, body, fill))
            self.y += h
        y = self.y
        self.add(lambda p, y=y: rule(p, y))
        self.y += 10 * PT

    # -- charts ------------------------------------------------------------------------------
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

    # -- header and footer ---------------------------------------------------------------------
    def paint_frame(self, p: QPainter, page: int, pages: int) -> None:
        small, bold = self.font(7.5), self.font(7.5, bold=True)
        top = 10 * MM
        self.draw_text(p, bold, QRectF(self.left, top, self.width * 0.62, 12 * PT), self.doc.header_left, ACCENT)
        self.draw_text(p, small, QRectF(self.left + self.width * 0.4, top, self.width * 0.6, 12 * PT),
                       self.doc.header_right, GREY, Qt.AlignmentFlag.AlignRight)
        self._rule(p, top + 12 * PT, RULE, 0.6)
        foot = self.page_h - 12 * MM
        self._rule(p, foot - 3 * PT, RULE, 0.6)
        self.draw_text(p, small, QRectF(self.left, foot, self.width * 0.7, 12 * PT),
                       f"mfg-desktop {__version__} · created {self.doc.created[:16].replace('T', ' ')}", GREY)
        self.draw_text(p, bold, QRectF(self.left + self.width * 0.5, foot, self.width * 0.5, 12 * PT),
                       f"page {page} of {pages}", INK, Qt.AlignmentFlag.AlignRight)


# --------------------------------------------------------------------------------------------
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

    def __init__(self, lay: _Layout, rect: QRectF, title: str, x_label: str, y_label: str,
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


def _legend(lay: _Layout, p: QPainter, x: float, y: float, width: float, entries: list[tuple[str, tuple, bool]]
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
    def __init__(self, lay: _Layout, chart: rp.LineChart, rect: QRectF) -> None:
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
    def __init__(self, lay: _Layout, chart: rp.BarChart, rect: QRectF) -> None:
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
        note = c.value_label + ("; bars: mean, whiskers: ± one standard deviation" if c.errors else "")
        lay.draw_text(p, lay.font(8, italic=True), QRectF(plot.left(), plot.bottom() + 15 * PT, plot.width(), 11 * PT),
                      note, GREY, Qt.AlignmentFlag.AlignHCenter)


# --------------------------------------------------------------------------------------------
# entry point


def render_pdf(doc: rp.ReportDocument, path: str | Path, state: JobState | None = None,
               paper: str | None = None) -> RenderResult:
    """Draw ``doc`` into a PDF at ``path`` (atomically). Returns the page count and any warnings."""
    state = ensure_state(state)
    path = Path(path)
    _check_target(path)
    ensure_gui_app()
    fonts = pick_fonts()
    warnings: list[str] = []
    if fonts.cjk is None and rp.needs_cjk(doc.text()):
        warnings.append(NO_CJK_WARNING)
    paper = paper or (doc.paper if doc.paper not in (None, "", "auto") else paper_for_locale())
    if paper not in ("A4", "Letter"):
        raise MfgError(f"Unknown paper size {paper!r}; use A4 or Letter.")
    state.set_progress(0.05, "Laying out the report")
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QPdfWriter(buffer)
    writer.setResolution(DPI)
    writer.setTitle(doc.title)
    writer.setCreator(f"mfg-desktop {__version__}")
    size = QPageSize(QPageSize.PageSizeId.A4 if paper == "A4" else QPageSize.PageSizeId.Letter)
    writer.setPageLayout(QPageLayout(size, QPageLayout.Orientation.Portrait, QMarginsF(0, 0, 0, 0)))
    full = size.sizePixels(DPI)
    lay = _Layout(doc, writer, fonts, float(full.width()), float(full.height()))
    lay.lay_out(doc.all_blocks())
    pages = [page for page in lay.pages if page] or [[]]
    painter = QPainter()
    if not painter.begin(writer):
        raise MfgError("The PDF could not be started (Qt's PDF writer refused).", file=path)
    try:
        for i, page in enumerate(pages):
            state.check_cancelled()
            if i:
                writer.newPage()
            lay.paint_frame(painter, i + 1, len(pages))
            for draw in page:
                draw(painter)
            state.set_progress(0.1 + 0.8 * (i + 1) / len(pages), f"Drawing page {i + 1} of {len(pages)}")
    finally:
        painter.end()
        buffer.close()
    pdf = bytes(data.data())
    if fonts.cjk is not None:
        pdf = fix_cjk_text_map(pdf, doc.text(), fonts.cjk)
    state.set_progress(0.95, f"Writing {path.name}")
    write_atomic(path, pdf)
    state.set_progress(1.0, f"Report written: {path.name}")
    return RenderResult(path=path, pages=len(pages), warnings=warnings, font=", ".join(fonts.families()),
                        paper=paper)


def radical_replacements(text: str, cjk_family: str) -> dict[str, str]:
    """CJK radicals that share a glyph with an ideograph of ``text`` -> that ideograph.

    CJK fonts draw e.g. 工 (U+5DE5) and the Kangxi radical ⼯ (U+2F2F) with one glyph; Qt's PDF
    writer maps a glyph back to the lowest code point that uses it, so 工厂 would be copied and
    searched as ⼯⼚. Knowing the document's own text tells which ideograph was meant.
    """
    from PySide6.QtGui import QRawFont

    chars = {ch for ch in text if 0x3000 <= ord(ch) < 0x10000}
    if not chars:
        return {}
    font = QFont()
    font.setFamilies([cjk_family])
    raw = QRawFont.fromFont(font)
    if not raw.isValid():
        return {}
    by_glyph: dict[int, list[str]] = {}
    for code in range(0x2E80, 0x2FE0):
        glyphs = raw.glyphIndexesForString(chr(code))
        if glyphs and glyphs[0]:
            by_glyph.setdefault(int(glyphs[0]), []).append(chr(code))
    out: dict[str, str] = {}
    for ch in sorted(chars):
        glyphs = raw.glyphIndexesForString(ch)
        for radical in by_glyph.get(int(glyphs[0]), []) if glyphs else []:
            if radical not in text:
                out[radical] = ch
    return out


_CMAP = re.compile(rb"begincmap(.*?)endcmap", re.DOTALL)
_BRACKETS = re.compile(rb"\[[^\]]*\]")
_BFCHARS = re.compile(rb"beginbfchar.*?endbfchar", re.DOTALL)
_BFCHAR = re.compile(rb"^(<[0-9A-Fa-f]+>\s+)(<[0-9A-Fa-f]+>)", re.MULTILINE)


def fix_cjk_text_map(pdf: bytes, text: str, cjk_family: str) -> bytes:
    """Make the PDF's text read back as the document's ideographs, not as look-alike radicals.

    Only the destination codes of the uncompressed ToUnicode maps change, each for one of the same
    length (4 hex digits), so no object moves and the cross-reference table stays valid.
    """
    mapping = {f"<{ord(r):04X}>".encode(): f"<{ord(c):04X}>".encode()
               for r, c in radical_replacements(text, cjk_family).items()}
    if not mapping:
        return pdf

    def swap(chunk: bytes) -> bytes:
        for old, new in mapping.items():
            chunk = chunk.replace(old, new).replace(old.lower(), new)
        return chunk

    def fix_cmap(m: re.Match[bytes]) -> bytes:
        body = _BRACKETS.sub(lambda b: swap(b.group(0)), m.group(1))
        body = _BFCHARS.sub(lambda sec: _BFCHAR.sub(lambda b: b.group(1) + swap(b.group(2)), sec.group(0)), body)
        return b"begincmap" + body + b"endcmap"

    fixed = _CMAP.sub(fix_cmap, pdf)
    assert len(fixed) == len(pdf)  # same-length swaps only: the xref offsets still hold
    return fixed


def _check_target(path: Path) -> None:
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise MfgError("The report path is a folder, not a file name.", file=path,
                       hint="Give a file name ending in .pdf.")
    if not folder.is_dir():
        raise MfgError("The folder to write the report into does not exist.", file=path,
                       hint="Choose an existing folder.")


def _write_bytes(fh: Any, data: bytes) -> None:
    """One place that writes the file's bytes (a test makes it fail half-way, as a full disk does)."""
    fh.write(data)


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file in the same folder, fsync it, then rename it over ``path``."""
    try:
        with atomic_write(path) as out:
            _write_bytes(out.handle, data)
    except OSError as exc:
        raise _write_error(exc, path) from None


def _write_error(exc: OSError, path: Path) -> MfgError:
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        return MfgError("The report could not be written: the disk is full.", file=path,
                        hint="Free some space or choose another drive; the previous file was left as it was.")
    if isinstance(exc, PermissionError) or exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return MfgError(f"The report could not be written: no permission to write in {path.parent}.", file=path,
                        hint="Choose a folder you can write to, or close the PDF if a viewer holds it open.")
    return MfgError(f"The report could not be written ({exc.strerror or exc}).", file=path,
                    hint="Check the folder and the free disk space; the previous file was left as it was.")
