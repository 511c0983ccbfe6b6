"""Recovery study machinery (sciplab.sim.recovery): a small run, checked against its own runs."""

import numpy as np
import pytest

from sciplab._core.errors import InvalidParameterError
from sciplab.sim.recovery import recovery


@pytest.fixture(scope="module")
def small():
    pytest.importorskip("sciplab.scip.templates")
    return recovery(replications=3, n_agents=600, reference_agents=2000, years=0.5, seed=5)


def test_table_is_computed_from_the_runs(small):
    t = small.table
    assert set(t["estimator"]) == {"latent", "observed"} and len(t) == 24
    runs = small.runs
    g = runs[(runs["estimator"] == "observed") & (runs["lhs"] == "distress") & (runs["rhs"] == "emotional_awareness")]
    row = t.set_index(["estimator", "lhs", "rhs"]).loc[("observed", "distress", "emotional_awareness")]
    err = g["est"] - g["truth"]
    assert row["bias"] == pytest.approx(err.mean())
    assert row["rmse"] == pytest.approx(np.sqrt((err**2).mean()))
    inside = (g["ci_lower"] <= g["truth"]) & (g["truth"] <= g["ci_upper"])
    assert row["coverage"] == pytest.approx(inside.mean())
    assert (t["replications"] == 3).all()
    assert "Recovery of scip-core paths" in small.summary()


def test_latent_estimator_is_closer_to_the_truth_on_the_first_stage(small):
    """Measurement error attenuates attachment -> competency paths of the observed scores."""
    t = small.table.set_index(["estimator", "lhs", "rhs"])
    keys = [k[1:] for k in t.index if k[0] == "latent" and k[1] in ("social_self_efficacy", "emotional_awareness")]
    lat = np.mean([abs(t.loc[("latent", *k), "bias"]) for k in keys])
    obs = np.mean([abs(t.loc[("observed", *k), "bias"]) for k in keys])
    assert lat < obs


def test_needs_two_replications():
    with pytest.raises(InvalidParameterError, match="replications"):
        recovery(replications=1, n_agents=100, reference_agents=100)
