"""Helpers of the shared report module."""

import pytest

from fastslow.report import error_bars


def test_error_bars_run_from_the_accuracy_to_the_interval_and_never_below_zero():
    rows = [
        {"accuracy": 0.5, "ci95": [0.4, 0.62]},
        # a summary stored before stats.wilson_interval held its estimate: 100/100 with an upper
        # limit a rounding error below 1
        {"accuracy": 1.0, "ci95": [0.963, 0.9999999999999999]},
        {"accuracy": 0.0, "ci95": [0.0, 0.037]},
    ]
    below, above = error_bars(rows)
    assert below == pytest.approx([10.0, 3.7, 0.0]) and above == pytest.approx([12.0, 0.0, 3.7])
    assert min(below + above) == 0.0  # clipped, not negative
