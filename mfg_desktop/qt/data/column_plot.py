"""The distribution box: a histogram of a numeric or date column, or the counts of its values."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QGroupBox, QLabel, QVBoxLayout, QWidget


class ColumnPlotBox(QGroupBox):
    """Holds the plot widget, built on first need (pyqtgraph's PlotItem takes ~0.1 s to set up)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(self.tr("Distribution"), parent)
        self.histogram: Any = None  # HistogramPlot, once built
        self._layout = QVBoxLayout(self)
        self.plot_hint = QLabel(self.tr("Select a column to see its distribution."))
        self.plot_hint.setStyleSheet("color: #666;")
        self._layout.addWidget(self.plot_hint)

    def warm_up(self) -> None:
        """Build the plot widget ahead of need."""
        if self.histogram is None:
            from mfg_desktop.qt.plots import HistogramPlot

            self.histogram = HistogramPlot()
            self.histogram.hide()
            self._layout.addWidget(self.histogram)

    def clear(self) -> None:
        if self.histogram is not None:
            self.histogram.clear()

    def show_plot(self, name: str, result: tuple) -> None:
        """Draw a :func:`~mfg_desktop.qt.data.jobs.column_plot_job` result for column ``name``."""
        self.warm_up()
        self.plot_hint.hide()
        self.histogram.show()
        if result[0] == "histogram":
            _, counts, edges, dates = result
            self.histogram.show_histogram(counts, edges, name, dates=dates)
        else:
            self.histogram.show_counts(result[1], name)
        self.setTitle(self.tr("Distribution of {name}").format(name=name))
