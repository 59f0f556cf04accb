"""The Predict step: a panel (view and bindings), its Qt-free state, its jobs and its words."""

from mfg_desktop.qt.predict.panel import PredictPanel

__all__ = ["PredictPanel"]
