"""Tests of sciplab.plot.circumplex: figures build from SSM results and save in every format."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from sciplab._core.errors import DataError
from sciplab.plot.circumplex import plot_circle, plot_contrast, plot_curve, save_figure
from sciplab.stats.circumplex import OCTANTS, ssm

SCALES = ["PA", "BC", "DE", "FG", "HI", "JK", "LM", "NO"]


@pytest.fixture(scope="module")
def result():
    rng = np.random.default_rng(0)
    prof = np.cos(np.radians(OCTANTS) - np.radians(10))  # peak near 10 deg: CI arcs cross 0
    df = pd.DataFrame(prof + rng.normal(0, 0.6, (40, 8)), columns=SCALES)
    df["g"] = ["a", "b"] * 20
    return ssm(df, SCALES, group="g", contrast=True, bootstrap=100, seed=1)


def test_circle_plot_draws_profiles_not_contrasts(result, tmp_path):
    fig = plot_circle(result, title="Test")
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["a", "b"]
    texts = {t.get_text() for t in ax.texts}
    assert set(SCALES) <= texts
    for ext in (".png", ".svg", ".pdf"):
        fig = plot_circle(result)
        path = save_figure(fig, tmp_path / f"circle{ext}")
        assert path.stat().st_size > 0
    plt.close("all")


def test_curve_plot_one_panel_per_profile(result):
    fig = plot_curve(result)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 2
    assert visible[0].get_title().startswith("a (fit = ")
    plt.close(fig)


def test_contrast_plot_and_error_without_contrast(result):
    fig = plot_contrast(result)
    assert len(fig.axes) == 5
    plt.close(fig)
    no_contrast = ssm(pd.DataFrame(np.eye(8)[:3] + 1, columns=SCALES), SCALES, bootstrap=0)
    with pytest.raises(DataError, match="contrast"):
        plot_contrast(no_contrast)


def test_flat_profile_listed_not_drawn():
    df = pd.DataFrame(np.ones((4, 8)), columns=SCALES)
    with pytest.warns(Warning, match="flat profile"):
        res = ssm(df, SCALES, bootstrap=0)
    fig = plot_circle(res)
    assert any("not drawn" in t.get_text() for t in fig.texts)
    plt.close(fig)
