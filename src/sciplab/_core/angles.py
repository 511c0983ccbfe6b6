"""Angle helpers shared by the circumplex analysis, its figures and the formulation.

Angles are radians unless a name says ``_deg``.
"""

from __future__ import annotations

import numpy as np


def wrap_pi(angles_rad: np.ndarray) -> np.ndarray:
    """Wrap angles into (-pi, pi]."""
    out = np.mod(np.asarray(angles_rad, dtype=float) + np.pi, 2 * np.pi) - np.pi
    return np.where(out == -np.pi, np.pi, out)


def circular_mean(angles_rad: np.ndarray, axis: int = 0) -> np.ndarray:
    """Circular mean ``atan2(mean sin, mean cos)`` ignoring NaN."""
    return np.arctan2(np.nanmean(np.sin(angles_rad), axis=axis), np.nanmean(np.cos(angles_rad), axis=axis))


def degrees_0_360(angles_rad: np.ndarray) -> np.ndarray:
    """Radians to degrees in [0, 360)."""
    return np.mod(np.degrees(np.asarray(angles_rad, dtype=float)), 360.0)
