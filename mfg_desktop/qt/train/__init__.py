"""The Train step: its state (:mod:`.state`), words (:mod:`.text`), worker jobs and widgets, and the panel."""

from mfg_desktop.qt.train.panel import TrainPanel

__all__ = ["TrainPanel"]
