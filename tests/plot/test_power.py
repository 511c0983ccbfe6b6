"""Power-curve figure."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pytest

from sciplab import InvalidParameterError
from sciplab.plot.power import power_curve, save_power_curve
from sciplab.stats.power import power, sample_size

MODEL = "m ~ 0.39*a*x; y ~ 0.39*b*m; ind := a*b"


@pytest.fixture(scope="module")
def curve():
    return power(MODEL, n=[40, 80, 120], reps=100, seed=1, threads=1)


def test_lines_bands_and_target(curve):
    fig = power_curve(curve, names=["ind", "a"], target=0.9)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["ind", "a", "target 0.9"]
    line = ax.get_lines()[0]
    assert list(line.get_xdata()) == [40, 80, 120]
    assert list(line.get_ydata()) == curve.power_at("ind")["power"].tolist()
    assert len(ax.collections) == 2  # one MC band per statistic
    plt.close(fig)


def test_unknown_name_and_save(curve, tmp_path):
    with pytest.raises(InvalidParameterError, match="no statistic named 'inx'"):
        power_curve(curve, names=["inx"])
    path = save_power_curve(curve, tmp_path / "c.svg")
    assert "<svg" in path.read_text(encoding="utf-8")


def test_sample_size_figure(tmp_path):
    res = sample_size(MODEL, effect="ind", reps=200, seed=2, threads=1)
    fig = power_curve(res)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert f"required N = {res.n}" in labels
    plt.close(fig)
