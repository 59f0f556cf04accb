"""'Time remaining' during training is shown only once the estimate is stable."""

from __future__ import annotations

import pytest

from mfg_desktop.core.train import RemainingTime


def test_a_slow_first_epoch_gives_no_estimate_until_the_third():
    """Epoch 1 carries graph tracing (20 s), the rest take 2 s: no 16-minute guess, then the right one."""
    clock = RemainingTime(epochs=50)
    assert clock.update(20.0) is None
    assert clock.update(2.0) is None  # projections of the total disagree: 1000 s, then 118 s
    assert clock.update(2.0) == pytest.approx(47 * 2.0)  # epoch 3: the median of the epochs after the first
    assert clock.update(2.6) == pytest.approx(46 * 2.0)  # a median: one slower epoch does not jolt it


def test_two_agreeing_projections_give_an_estimate_before_the_third_epoch():
    clock = RemainingTime(epochs=100)
    assert clock.update(3.0) is None  # one epoch: nothing to compare with
    assert clock.update(3.2) == pytest.approx(98 * 3.2)  # totals 300 s and 326.2 s agree within 25 %


def test_once_given_it_stays_given_and_ends_at_zero():
    clock = RemainingTime(epochs=4)
    assert [clock.update(s) is None for s in (1.0, 1.0, 9.0)] == [True, False, False]
    assert clock.update(1.0) == 0.0
    assert RemainingTime(epochs=1).update(30.0) == 0.0  # finished: nothing left to estimate
