"""Figures of a simulation run (sciplab.plot.sim)."""

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from sciplab._core.errors import DataError
from sciplab.plot import sim as simplot
from sciplab.sim import simulate


@pytest.fixture(scope="module")
def run():
    return simulate(400, years=0.5, seed=4, instruments=None)


def test_figures_draw_from_the_written_tables(run):
    figs = [
        simplot.attachment_plane(run.persons),
        simplot.network_distributions(run.persons),
        simplot.therapy_trajectories(run.sessions),
        simplot.outcomes_by_policy(run.persons),
    ]
    ax = figs[0].axes[0]
    # population and clients plotted: every person once
    assert sum(len(c.get_offsets()) for c in ax.collections) == len(run.persons)
    lines = figs[2].axes[0].get_lines()
    assert len(lines) == run.sessions["policy"].nunique()
    assert len(lines[0].get_xdata()) == run.sessions["session"].nunique()
    for f in figs:
        plt.close(f)


def test_missing_columns_named():
    with pytest.raises(DataError, match="latent_attachment_anxiety"):
        simplot.attachment_plane(pd.DataFrame({"attachment_anxiety": [0.0]}))
    with pytest.raises(DataError, match="latent_alliance"):
        simplot.therapy_trajectories(pd.DataFrame({"session": [1], "policy": ["scip"]}))
