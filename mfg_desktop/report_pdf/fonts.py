"""The Qt application, fonts (a Latin text font with a named CJK fallback) and paper of the report.

Also the fix-up of the PDF's text map, so that CJK text copied out of the report is the text written."""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from PySide6.QtCore import QLocale
from PySide6.QtGui import (
    QFont,
    QFontDatabase,
)

from mfg_desktop.core import i18n
from mfg_desktop.core.i18n import N_

LETTER_TERRITORIES = {QLocale.Country.UnitedStates, QLocale.Country.Canada}
LATIN_FAMILIES = ("DejaVu Sans", "Segoe UI", "Arial", "Helvetica Neue", "Helvetica", "Liberation Sans",
                  "Noto Sans", "Cantarell")
MONO_FAMILIES = ("DejaVu Sans Mono", "Consolas", "Menlo", "Liberation Mono", "Courier New")
CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN", "Microsoft YaHei",
                "Microsoft YaHei UI", "PingFang SC", "Hiragino Sans GB", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei",
                "SimHei", "SimSun", "Noto Sans CJK TC", "Noto Sans CJK JP", "Noto Sans CJK KR")
# shown as tr(NO_CJK_WARNING): the language is chosen after import
NO_CJK_WARNING = N_("No font with Chinese, Japanese or Korean characters was found on this computer, so such "
                    "text (e.g. column names) shows as empty boxes in the PDF. Install a CJK font (for example "
                    "Noto Sans CJK or Microsoft YaHei) and export the report again.")



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
    # The CJK font leads (its own Latin letters and digits, which are tabular) in a report with CJK
    # text: a line's height and baseline come from the fonts on it, so with the Latin font first a
    # cell of digits sat higher than a Chinese cell beside it.
    cjk_first: bool = False

    def families(self, mono: bool = False) -> list[str]:
        if not self.cjk:
            return [self.mono if mono else self.latin]
        if self.cjk_first and not mono:
            return [self.cjk, self.latin]
        return [self.mono if mono else self.latin, self.cjk]


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
    """Letter in the US and Canada, A4 elsewhere; A4 for a report in Chinese (China's paper)."""
    if locale is None and i18n.is_chinese():
        return "A4"
    locale = locale or QLocale()
    return "Letter" if locale.territory() in LETTER_TERRITORIES else "A4"




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

