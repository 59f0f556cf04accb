"""The PDF renderer of a core report document (:mod:`mfg_desktop.core.report`).

Qt's GUI module only (QPdfWriter, QPainter, fonts), never a widget: the CLI and the window's Report
step both use it, on a worker thread. ``render`` is the entry point, ``layout`` places text and
tables page by page, ``charts`` paints the charts, ``fonts`` picks the Latin and CJK fonts, ``style``
holds units and colours.
"""

from mfg_desktop.report_pdf.fonts import NO_CJK_WARNING, Fonts, ensure_gui_app, paper_for_locale, pick_fonts
from mfg_desktop.report_pdf.render import RenderResult, render_pdf

__all__ = ["NO_CJK_WARNING", "Fonts", "RenderResult", "ensure_gui_app", "paper_for_locale", "pick_fonts", "render_pdf"]
