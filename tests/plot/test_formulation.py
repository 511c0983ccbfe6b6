"""Tests of sciplab.plot.formulation: attachment plane with measurement-error ellipse, circle plot."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pytest
from scipy.stats import chi2

from sciplab._core.errors import DataError, InvalidParameterError
from sciplab.plot.formulation import plot_attachment_plane, plot_interpersonal, save_figure
from sciplab.scip.formulate import formulate

OCTANTS = ["PA", "BC", "DE", "FG", "HI", "JK", "LM", "NO"]


@pytest.fixture
def fearful():
    return formulate({"ECR-S_anxiety": 5.0, "ECR-S_avoidance": 4.4}, reliability={"anxiety": 0.9, "avoidance": 0.75},
                     sd=1.0)  # fmt: skip


def test_ellipse_centre_and_axes_from_sem(fearful):
    fig = plot_attachment_plane(fearful)
    ax = fig.axes[0]
    ell = ax.patches[0]
    k = math.sqrt(chi2.ppf(0.95, 2))
    assert ell.center == pytest.approx((4.4, 5.0))  # avoidance on x, anxiety on y
    assert ell.width == pytest.approx(2 * k * math.sqrt(0.25))
    assert ell.height == pytest.approx(2 * k * math.sqrt(0.10))
    assert ax.get_xlim() == (1.0, 7.0) and ax.get_ylim() == (1.0, 7.0)
    assert ax.get_xlabel() == "Attachment Avoidance (ECR-S)"
    texts = [t.get_text() for t in ax.texts]
    p = fearful.attachment["quadrant_probabilities"]
    assert f"Fearful\np = {p['fearful']:.2f}".replace("0.", ".", 1) in texts
    assert any("convention, not a norm" in t.get_text() for t in fig.texts)
    plt.close(fig)


def test_level_changes_ellipse(fearful):
    fig = plot_attachment_plane(fearful, level=0.5, title="Client A")
    assert fig.axes[0].patches[0].height == pytest.approx(2 * math.sqrt(chi2.ppf(0.5, 2)) * math.sqrt(0.1))
    assert fig.axes[0].get_title() == "Client A"
    plt.close(fig)
    with pytest.raises(InvalidParameterError, match="level must be in"):
        plot_attachment_plane(fearful, level=1.5)


def test_no_attachment_is_an_error():
    with pytest.raises(DataError, match="no attachment anxiety and avoidance"):
        plot_attachment_plane(formulate({"MSPSS_total": 3.0}))
    with pytest.raises(DataError, match="expected a Formulation"):
        plot_attachment_plane(object())


def test_circle_plot_reuses_plot_circle():
    angles = np.radians([90, 135, 180, 225, 270, 315, 360, 45])
    vals = 1.5 + 0.8 * np.cos(angles - np.radians(200))
    f = formulate({f"IIP-SC_{o}": v for o, v in zip(OCTANTS, vals, strict=True)})
    fig = plot_interpersonal(f, title="IIP-SC")
    ax = fig.axes[0]
    labels = {t.get_text() for t in ax.texts}
    assert set(OCTANTS) <= labels
    assert ax.get_title() == "IIP-SC"
    plt.close(fig)
    with pytest.raises(DataError, match="no complete octant profile"):
        plot_interpersonal(formulate({"MSPSS_total": 3.0}))


def test_save(fearful, tmp_path):
    p = save_figure(plot_attachment_plane(fearful), tmp_path / "plane.png")
    assert p.stat().st_size > 1000
    with pytest.raises(DataError, match="already exists"):
        save_figure(plot_attachment_plane(fearful), p)
