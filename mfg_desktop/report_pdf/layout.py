"""Page layout of the PDF report: headings, paragraphs, key-value lists and tables, page by page.

Blocks are laid out first into drawing closures and painted second, so every page carries a header and
"page N of M". A table row is never split: a row that does not fit starts the next page under a repeated
header row."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetricsF,
    QPainter,
    QPdfWriter,
    QPen,
)

from mfg_desktop import __version__
from mfg_desktop.core import i18n
from mfg_desktop.core import report as rp
from mfg_desktop.core.i18n import tr
from mfg_desktop.report_pdf.charts import ChartBlocks
from mfg_desktop.report_pdf.fonts import Fonts
from mfg_desktop.report_pdf.style import ACCENT, GREY, HEADER_FILL, INK, MM, PT, RULE, WARN_BAR, ZEBRA

Draw = Callable[[QPainter], None]


# A page that only holds this share of overflow from the section before takes the next section too.
SPILL_SHARE = 0.4


class PageLayout(ChartBlocks):
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
        self.spill_page = False  # the cover page
        self._fonts: dict[tuple, QFont] = {}
        # every string painted, the page frame's and the charts' included: what the PDF's text map
        # is checked against (fonts.fix_cjk_text_map)
        self.painted: list[str] = []

    # -- fonts and text ---------------------------------------------------------------------
    def font(self, size: float, bold: bool = False, italic: bool = False, mono: bool = False) -> QFont:
        key = (size, bold, italic, mono)
        if key not in self._fonts:
            f = QFont()
            f.setFamilies(self.fonts.families(mono))
            f.setPointSizeF(size)
            f.setBold(bold)
            # Chinese type has no italic: a slanted CJK glyph is a machine-made oblique that reads as a mistake
            f.setItalic(italic and not i18n.is_chinese())
            f.setKerning(True)
            f.setHintingPreference(QFont.HintingPreference.PreferNoHinting)
            # No "fi"/"fl" ligatures: the PDF's text must read back (copy, search) as typed. No local
            # forms either: Noto Sans CJK swaps the digits of a Latin run for glyphs outside its
            # character map, which Qt's PDF writer then cannot map back (copied "0.1.0" read ". .").
            # The SC face already draws Simplified Chinese shapes without them.
            for tag in ("liga", "clig", "locl"):
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

    def draw_text(self, p: QPainter, font: QFont, rect: QRectF, text: str, color: QColor = INK,
                  align: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignLeft, anywhere: bool = False) -> None:
        self.painted.append(text)
        p.setFont(font)
        p.setPen(color)
        wrap = Qt.TextFlag.TextWrapAnywhere if anywhere else Qt.TextFlag.TextWordWrap
        # never clipped: Qt cuts text taller than its box, and a CJK line is taller than a Latin one
        # of the same point size, so a label box sized for Latin text would shave the lowest strokes
        p.drawText(rect, int(align) | int(Qt.AlignmentFlag.AlignTop) | int(wrap) | int(Qt.TextFlag.TextDontClip),
                   text)

    # -- pages -------------------------------------------------------------------------------
    def new_page(self) -> None:
        if self.pages[-1] or self.y > self.top:
            self.pages.append([])
        self.y = self.top
        self.spill_page = True  # until a section heading opens it: what overflowed from the page before

    def start_section(self) -> None:
        """A section begins on a fresh page, unless this page holds only a short overflow of the last one.

        Without that exception a table spilling three rows over a page end leaves a page that is
        otherwise blank.
        """
        short_spill = self.spill_page and self.y - self.top < SPILL_SHARE * (self.bottom - self.top)
        if short_spill:
            self.y += 14 * PT
        else:
            self.new_page()
        self.spill_page = False

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
            sub_text = {"model": tr("What the model was trained on, how it was built, and how well it does on "
                                    "held-out data."),
                        "batch": tr("What a model made of a batch of files: counts, schema and drift warnings, "
                                    "flagged rows.")}.get(self.doc.kind, "")
            sh = self.text_height(sub, self.width, sub_text)
            y2 = y + h + 8 * PT
            self.add(lambda p, y=y2: self.draw_text(p, sub, QRectF(self.left, y, self.width, sh), sub_text, GREY))
            self.y = y2 + sh + 14 * PT
            return
        if block.level == 1:
            if self.doc.kind in ("model", "batch"):
                self.start_section()
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
        text = tr("Warning: {text}", text=block.text) if style == "warning" else block.text
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
                text = tr("{caption} (continued)", caption=block.caption) if continued else block.caption
                self.add(lambda p, y=y, text=text: self.draw_text(
                    p, cap_font, QRectF(self.left, y, self.width, cap_h), text, INK))
                self.y += cap_h
            y = self.y
            self.add(lambda p, y=y: (draw_row(p, y, block.header, header_h, head, HEADER_FILL),
                                     rule(p, y)))
            self.y += header_h

        rows = block.rows or [[tr("(none)")] + [""] * (len(block.header) - 1)]
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
                       tr("mfg-desktop {version} · created {date}", version=__version__, date=self._created()), GREY)
        self.draw_text(p, bold, QRectF(self.left + self.width * 0.5, foot, self.width * 0.5, 12 * PT),
                       tr("page {page} of {pages}", page=page, pages=pages), INK, Qt.AlignmentFlag.AlignRight)

    def _created(self) -> str:
        try:
            return i18n.format_datetime(datetime.fromisoformat(self.doc.created))
        except ValueError:  # a document built by hand: show what it holds
            return self.doc.created[:16].replace("T", " ")


