"""Live training curves: what a redraw draws, the live y range, the epoch-curve cadence."""

from __future__ import annotations

import numpy as np
import pytest

from mfg_desktop.qt import live_plots
from mfg_desktop.qt.live_plots import EPOCH_REDRAW_INTERVAL_S, TrainingCurves, follow_y_range


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(live_plots, "time", fake)
    return fake


@pytest.fixture
def curves(qtbot) -> TrainingCurves:
    widget = TrainingCurves()
    qtbot.addWidget(widget)
    widget.resize(800, 500)
    widget.show()
    return widget


def _drawn(curve) -> int:
    x, _y = curve.item.getData()
    return 0 if x is None else len(x)


def _y_range(widget) -> tuple[float, float]:
    return tuple(widget.getPlotItem().getViewBox().viewRange()[1])


def test_epoch_curves_are_drawn_at_most_twice_a_second_and_all_at_the_end(curves, clock):
    curves.start(10, "accuracy")
    curves.add_epoch(1, 0.6, 0.7, 0.8, 0.75, 1)
    curves.redraw()
    assert _drawn(curves.loss_train) == 1 and curves.best_line.value() == 1 and curves.best_line.isVisible()

    clock.now += EPOCH_REDRAW_INTERVAL_S / 5
    curves.add_epoch(2, 0.5, 0.6, 0.85, 0.8, 2)
    curves.add_batch(2.5, 0.55)
    curves.redraw()
    assert _drawn(curves.batch_loss) == 1  # the per-batch trace at every redraw
    assert _drawn(curves.loss_train) == 1 and _drawn(curves.metric_valid) == 1  # epoch 2 waits
    assert curves.best_line.value() == 1

    clock.now += EPOCH_REDRAW_INTERVAL_S
    curves.redraw()
    assert _drawn(curves.loss_train) == 2 and _drawn(curves.metric_valid) == 2 and curves.best_line.value() == 2

    clock.now += EPOCH_REDRAW_INTERVAL_S / 5
    curves.add_epoch(3, 0.45, 0.65, 0.86, 0.79, 2)
    curves.stop()  # training ended: everything is drawn at once, with a dot per epoch again
    x, y = curves.loss_valid.item.getData()
    assert list(x) == [1, 2, 3] and np.allclose(y, [0.7, 0.6, 0.65])
    assert all(c.item.opts["symbol"] == "o" for c in curves.curves[1:])


def test_live_curves_are_lines_and_finished_ones_have_a_dot_per_epoch(curves):
    curves.start(5, "mae")
    assert all(c.item.opts["symbol"] is None for c in curves.curves[1:])
    assert curves.metric_plot.getPlotItem().titleLabel.text == "Mean absolute error"
    curves.show_history({"loss": [0.5, 0.4], "val_loss": [0.6, 0.5], "mae": [1.0, 0.9], "val_mae": [1.1, 1.0]},
                        "mae", best_epoch=2)
    assert all(c.item.opts["symbol"] == "o" for c in curves.curves[1:])
    assert curves.best_line.value() == 2 and _drawn(curves.batch_loss) == 0


def test_the_live_y_range_moves_only_when_the_data_leave_it(curves):
    item = curves.loss_plot.getPlotItem()
    curves.start(10, "accuracy")
    for i, loss in enumerate([0.70, 0.60, 0.65, 0.50]):
        curves.add_batch(0.2 * (i + 1), loss)
    curves.redraw()
    low, high = _y_range(curves.loss_plot)
    assert low <= 0.50 and high >= 0.70

    curves.add_batch(1.0, 0.55)  # inside: nothing moves (no axis redrawn)
    curves.redraw()
    assert _y_range(curves.loss_plot) == (low, high)

    curves.add_batch(1.2, 0.40)  # below: the range grows with headroom on that side, not under 0
    curves.redraw()
    low2, high2 = _y_range(curves.loss_plot)
    assert 0.70 <= high2 < 0.75 and 0.40 - low2 > 0.05 and low2 >= -0.05  # the top keeps its padding only

    follow_y_range(item, [curves.batch_loss], floor=0.0)  # fits now: a second call changes nothing
    assert _y_range(curves.loss_plot) == (low2, high2)

    curves.clear()  # a new run with far smaller values: the range shrinks to them
    curves.start(10, "accuracy")
    for i in range(5):
        curves.add_batch(0.2 * (i + 1), 0.010 + 0.001 * i)
    curves.redraw()
    low3, high3 = _y_range(curves.loss_plot)
    assert low3 <= 0.010 and 0.014 <= high3 < 0.02


def test_accuracy_headroom_stops_near_one(curves, clock):
    curves.start(10, "accuracy")
    for epoch, accuracy in enumerate([0.5, 0.9, 0.99], start=1):
        curves.add_epoch(epoch, 0.5, 0.5, accuracy, accuracy, epoch)
        clock.now += 1.0
        curves.redraw()
    low, high = _y_range(curves.metric_plot)
    assert low <= 0.5 and 0.99 <= high <= 1.05
