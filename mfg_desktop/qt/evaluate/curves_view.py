"""ROC and precision-recall curves (classification), predicted-against-actual plots (regression)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QPen
from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QWidget

from mfg_desktop.qt import plots
from mfg_desktop.qt.evaluate.text import number_text

if TYPE_CHECKING:
    from mfg_desktop.core.evaluate import Curves, Evaluation

CURVE_COLORS = ("#2f6fb0", "#d9731a", "#3a9a4a", "#c0504d", "#8064a2", "#4bacc6", "#7f7f7f", "#9b7d3a")
BASELINE_COLOR = "#3a9a4a"


def _dashed(color: str, width: float = 1.0) -> QPen:
    return pg.mkPen(color, width=width, style=Qt.PenStyle.DashLine)


class CurvesView(QWidget):
    """ROC and PR curves side by side; binary models get gradient boosting's curves dashed beside them."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        self.roc_plot = plots.plot_widget(self.tr("ROC curve"), self.tr("true positive rate"),
                                          self.tr("false positive rate"))
        self.pr_plot = plots.plot_widget(self.tr("Precision-recall curve"), self.tr("precision"), self.tr("recall"))
        self.roc_plot.getPlotItem().addLegend(offset=(-10, -10), labelTextSize="9pt")
        self.pr_plot.getPlotItem().addLegend(offset=(10, -10), labelTextSize="9pt")  # bottom left: empty in a PR plot
        self._fit_unit_square()
        layout.addWidget(self.roc_plot)
        layout.addWidget(self.pr_plot)

    def _fit_unit_square(self) -> None:
        for plot in (self.roc_plot, self.pr_plot):
            plot.getPlotItem().setXRange(0, 1, padding=0.02)
            plot.getPlotItem().setYRange(0, 1.02, padding=0.02)

    def show_curves(self, ev: Evaluation, baseline: Curves | None, positive_share: float) -> None:
        """``baseline`` and ``positive_share`` matter for binary models only."""
        from mfg_desktop.core.evaluate import HGB

        roc, pr = self.roc_plot.getPlotItem(), self.pr_plot.getPlotItem()
        roc.addItem(pg.PlotDataItem([0, 1], [0, 1], pen=_dashed("#999")))
        binary = ev.task == "binary"
        for i, (name, (fpr, tpr)) in enumerate(ev.curves.roc.items()):
            label = self.tr("network (AUC {a})").format(a=number_text(ev.metrics.get("roc_auc"), 3)) if binary else name
            roc.plot(fpr, tpr, pen=pg.mkPen(CURVE_COLORS[i % len(CURVE_COLORS)], width=2), name=label)
        for i, (name, (recall, precision)) in enumerate(ev.curves.pr.items()):
            label = self.tr("network (AP {a})").format(a=number_text(ev.metrics.get("pr_auc"), 3)) if binary else name
            pr.plot(recall, precision, pen=pg.mkPen(CURVE_COLORS[i % len(CURVE_COLORS)], width=2), name=label)
        if binary:
            if baseline is not None:
                scores = ev.baselines[HGB]
                for fpr, tpr in baseline.roc.values():
                    roc.plot(fpr, tpr, pen=_dashed(BASELINE_COLOR, 1.5), name=self.tr(
                        "gradient boosting (AUC {a})").format(a=number_text(scores.get("roc_auc"), 3)))
                for recall, precision in baseline.pr.values():
                    pr.plot(recall, precision, pen=_dashed(BASELINE_COLOR, 1.5), name=self.tr(
                        "gradient boosting (AP {a})").format(a=number_text(scores.get("pr_auc"), 3)))
            pr.addItem(pg.InfiniteLine(pos=positive_share, angle=0, pen=_dashed("#999")))
        self._fit_unit_square()

    def clear(self) -> None:
        self.roc_plot.getPlotItem().clear()
        self.pr_plot.getPlotItem().clear()


class RegressionBox(QGroupBox):
    """Predicted against actual, and the residuals against the prediction."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTitle(self.tr("Predicted against actual"))
        layout = QHBoxLayout(self)
        self.scatter_plot = plots.plot_widget(self.tr("Predicted against actual"), self.tr("predicted"),
                                              self.tr("actual"))
        self.residual_plot = plots.plot_widget(self.tr("Residuals"), self.tr("actual − predicted"),
                                               self.tr("predicted"))
        layout.addWidget(self.scatter_plot)
        layout.addWidget(self.residual_plot)

    def show_points(self, actual: np.ndarray, predicted: np.ndarray) -> None:
        y = np.asarray(actual, dtype=np.float64)
        pred = np.asarray(predicted, dtype=np.float64)
        scatter = self.scatter_plot.getPlotItem()
        scatter.clear()
        scatter.plot(pred, y, pen=None, symbol="o", symbolSize=4, symbolBrush=(47, 111, 176, 120), symbolPen=None)
        if len(y):
            lo, hi = float(min(y.min(), pred.min())), float(max(y.max(), pred.max()))
            scatter.plot([lo, hi], [lo, hi], pen=_dashed("#999"))
        residual = self.residual_plot.getPlotItem()
        residual.clear()
        residual.plot(pred, y - pred, pen=None, symbol="o", symbolSize=4, symbolBrush=(217, 115, 26, 120),
                      symbolPen=None)
        residual.addItem(pg.InfiniteLine(pos=0, angle=0, pen=pg.mkPen("#999", width=1)))
