"""Tests of sciplab.scip.interpersonal: SSM of one octant profile with interpretation guards."""

from __future__ import annotations

import numpy as np
import pytest

from sciplab.instruments.registry import get_instrument
from sciplab.scip.interpersonal import interpersonal_profile

ANGLES = np.radians([90, 135, 180, 225, 270, 315, 360, 45])


def _measures(values) -> list[dict]:
    inst = get_instrument("IIP-SC")
    names = ["PA", "BC", "DE", "FG", "HI", "JK", "LM", "NO"]
    return [
        {"column": inst.column(n), "instrument": inst, "scale": inst.scale(n), "value": float(v)}
        for n, v in zip(names, values, strict=True)
    ]


def test_prototypical_profile_raw():
    ip, res = interpersonal_profile(_measures(2.0 + 0.8 * np.cos(ANGLES - np.radians(180))), None, False)
    assert ip["displacement"] == pytest.approx(180.0, abs=1e-6) and ip["amplitude"] == pytest.approx(0.8)
    assert ip["interpretable"] and ip["octant"] == "DE" and ip["elevation_z"] is None
    assert any("not standardised" in g for g in ip["guards"])
    assert res.table.loc[0, "d_est"] == pytest.approx(180.0, abs=1e-6)


def test_flat_profile_guards():
    ip, _ = interpersonal_profile(_measures([1.5] * 8), None, False)
    assert not ip["interpretable"] and ip["octant"] is None and ip["displacement"] is None
    assert ip["guards"][0].startswith("flat profile")


def test_fewer_than_eight_octants_is_none():
    assert interpersonal_profile(_measures([1.0] * 8)[:7], None, False) == (None, None)
