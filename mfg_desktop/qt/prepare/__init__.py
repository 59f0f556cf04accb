"""The Prepare step: its state (Qt-free), its views and the panel that composes them."""

from mfg_desktop.qt.prepare.panel import PreparePanel

__all__ = ["PreparePanel"]
