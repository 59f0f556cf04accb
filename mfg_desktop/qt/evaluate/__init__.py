"""The Evaluate step: its state (:mod:`.state`, Qt-free), its views and the panel that binds them.

``EvaluatePanel`` is imported on first use, so that the state and the formatters can be imported
(and tested) without loading PySide6 or pyqtgraph.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mfg_desktop.qt.evaluate.panel import EvaluatePanel

__all__ = ["EvaluatePanel"]


def __getattr__(name: str) -> Any:
    if name == "EvaluatePanel":
        from mfg_desktop.qt.evaluate.panel import EvaluatePanel

        return EvaluatePanel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
