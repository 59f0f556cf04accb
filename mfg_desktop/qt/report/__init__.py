"""The Report step: its state (:mod:`.state`, Qt-free) and its view (:mod:`.panel`)."""

from mfg_desktop.qt.report.panel import ReportPanel

__all__ = ["ReportPanel"]
