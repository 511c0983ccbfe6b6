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
    assert set(t["estimator"]) == {"latent", "observed", "sem"} and len(t) == 36
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


def test_sem_estimator_removes_the_attenuation_of_the_first_stage(small):
    """The latent SEM on item parcels attenuates attachment -> competency paths less than the observed scores.

    Attenuation = mean of ``|truth| - |estimate|`` over runs and paths (measurement error shrinks the
    observed paths towards 0); a mean absolute bias over 3 runs of 600 agents flips with the seed.
    """
    runs = small.runs[small.runs["lhs"].isin(["social_self_efficacy", "emotional_awareness"])]
    assert (runs["estimator"] == "sem").sum() == 12
    att = {e: float((g["truth"].abs() - g["est"].abs()).mean()) for e, g in runs.groupby("estimator")}
    assert att["sem"] < att["observed"]
    assert att["observed"] > 0


def test_sem_rows_are_the_standardised_paths_of_the_latent_template():
    """One replication's sem rows equal fit_latent_template's std_all and its Wald interval."""
    from scipy.stats import norm

    from sciplab.scip.latent import fit_latent_template
    from sciplab.sim import simulate
    from sciplab.sim.recovery import INSTRUMENTS, baseline_items, recovery_summary

    res = simulate(500, years=0.3, seed=8, instruments=list(INSTRUMENTS), session_instruments=None)
    items = baseline_items(res)
    assert len(items) == 500 and items.notna().all().all()
    rows = [r for r in recovery_summary(res) if r["estimator"] == "sem"]
    std = fit_latent_template(items, "scip-core-latent", score=True).std
    std = std[std["op"] == "~"].reset_index(drop=True)
    assert [(r["lhs"], r["rhs"]) for r in rows] == list(zip(std["lhs"], std["rhs"], strict=True))
    z = norm.ppf(0.975)
    for r, (_, s) in zip(rows, std.iterrows(), strict=True):
        assert r["est"] == pytest.approx(s["std_all"], abs=1e-12)
        assert r["ci_upper"] - r["est"] == pytest.approx(z * s["se_std_all"], abs=1e-12)


def test_needs_two_replications():
    with pytest.raises(InvalidParameterError, match="replications"):
        recovery(replications=1, n_agents=100, reference_agents=100)
