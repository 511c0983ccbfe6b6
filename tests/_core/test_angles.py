"""Tests of sciplab._core.angles: the one home of the angle helpers."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from sciplab._core.angles import circular_mean, degrees_0_360, wrap_pi


def _old_ssm_deg360(rad: np.ndarray) -> np.ndarray:
    """The SSM's former private conversion (stats._ssm_core._deg360), kept here as the reference."""
    deg = np.degrees(rad)
    return np.where(deg >= 360.0, deg - 360.0, deg)


@given(st.floats(min_value=-1e-12, max_value=1e-12) | st.floats(min_value=0.0, max_value=4 * np.pi))
def test_degrees_0_360_equals_the_former_ssm_conversion_on_its_inputs(x: float) -> None:
    # the SSM converts displacements and interval ends reduced mod 2 pi (atan2(y, x) mod 2 pi, the
    # circular percentile interval): on those the one home gives the very same numbers
    rad = np.mod(x, 2 * np.pi)
    assert degrees_0_360(rad) == _old_ssm_deg360(rad)


def test_degrees_0_360_bounds_and_nan() -> None:
    got = degrees_0_360(np.array([0.0, np.pi, 2 * np.pi, -np.pi / 2, 5 * np.pi, np.nan]))
    np.testing.assert_allclose(got, [0.0, 180.0, 0.0, 270.0, 180.0, np.nan], atol=1e-12)
    assert np.all((got[:-1] >= 0) & (got[:-1] < 360))


def test_wrap_pi_and_circular_mean() -> None:
    np.testing.assert_allclose(wrap_pi(np.array([-np.pi, 3 * np.pi, 0.5])), [np.pi, np.pi, 0.5])
    assert np.isclose(circular_mean(np.radians([350.0, 10.0])), 0.0, atol=1e-12)
