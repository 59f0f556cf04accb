"""The Data step: a panel (view and bindings), its Qt-free state, its jobs, its words and its widgets."""

from mfg_desktop.qt.data.panel import DataPanel

__all__ = ["DataPanel"]
