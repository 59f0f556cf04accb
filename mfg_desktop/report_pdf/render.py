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
failure leaves the previous file at that path as it was."""

from __future__ import annotations

import errno
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMarginsF
from PySide6.QtGui import (
    QPageLayout,
    QPageSize,
    QPainter,
    QPdfWriter,
)

from mfg_desktop import __version__
from mfg_desktop.core import i18n
from mfg_desktop.core import report as rp
from mfg_desktop.core.atomic import atomic_write
from mfg_desktop.core.errors import MfgError
from mfg_desktop.core.i18n import tr
from mfg_desktop.core.jobs import JobState, ensure_state
from mfg_desktop.report_pdf.fonts import (
    NO_CJK_WARNING,
    ensure_gui_app,
    fix_cjk_text_map,
    paper_for_locale,
    pick_fonts,
)
from mfg_desktop.report_pdf.layout import PageLayout
from mfg_desktop.report_pdf.style import DPI


@dataclass
class RenderResult:
    path: Path
    pages: int
    warnings: list[str] = field(default_factory=list)
    font: str = ""
    paper: str = "A4"



def render_pdf(doc: rp.ReportDocument, path: str | Path, state: JobState | None = None,
               paper: str | None = None) -> RenderResult:
    """Draw ``doc`` into a PDF at ``path`` (atomically). Returns the page count and any warnings."""
    state = ensure_state(state)
    path = Path(path)
    _check_target(path)
    ensure_gui_app()
    fonts = pick_fonts()
    warnings: list[str] = []
    has_cjk = rp.needs_cjk(doc.text())
    if fonts.cjk is None and has_cjk:
        warnings.append(tr(NO_CJK_WARNING))
    fonts = replace(fonts, cjk_first=has_cjk or i18n.is_chinese())
    paper = paper or (doc.paper if doc.paper not in (None, "", "auto") else paper_for_locale())
    if paper not in ("A4", "Letter"):
        raise MfgError(tr("Unknown paper size {paper!r}; use A4 or Letter.", paper=paper))
    state.set_progress(0.05, tr("Laying out the report"))
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
    lay = PageLayout(doc, writer, fonts, float(full.width()), float(full.height()))
    lay.lay_out(doc.all_blocks())
    pages = [page for page in lay.pages if page] or [[]]
    painter = QPainter()
    if not painter.begin(writer):
        raise MfgError(tr("The PDF could not be started (Qt's PDF writer refused)."), file=path)
    try:
        for i, page in enumerate(pages):
            state.check_cancelled()
            if i:
                writer.newPage()
            lay.paint_frame(painter, i + 1, len(pages))
            for draw in page:
                draw(painter)
            state.set_progress(0.1 + 0.8 * (i + 1) / len(pages),
                               tr("Drawing page {page} of {pages}", page=i + 1, pages=len(pages)))
    finally:
        painter.end()
        buffer.close()
    pdf = bytes(data.data())
    if fonts.cjk is not None:
        pdf = fix_cjk_text_map(pdf, "\n".join(lay.painted), fonts.cjk)
    state.set_progress(0.95, tr("Writing {file}", file=path.name))
    write_atomic(path, pdf)
    state.set_progress(1.0, tr("Report written: {file}", file=path.name))
    return RenderResult(path=path, pages=len(pages), warnings=warnings, font=", ".join(fonts.families()),
                        paper=paper)



def _check_target(path: Path) -> None:
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise MfgError(tr("The report path is a folder, not a file name."), file=path,
                       hint=tr("Give a file name ending in .pdf."))
    if not folder.is_dir():
        raise MfgError(tr("The folder to write the report into does not exist."), file=path,
                       hint=tr("Choose an existing folder."))


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
        return MfgError(tr("The report could not be written: the disk is full."), file=path,
                        hint=tr("Free some space or choose another drive; the previous file was left as it was."))
    if isinstance(exc, PermissionError) or exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return MfgError(tr("The report could not be written: no permission to write in {folder}.",
                           folder=path.parent), file=path,
                        hint=tr("Choose a folder you can write to, or close the PDF if a viewer holds it open."))
    return MfgError(tr("The report could not be written ({reason}).", reason=exc.strerror or exc), file=path,
                    hint=tr("Check the folder and the free disk space; the previous file was left as it was."))

