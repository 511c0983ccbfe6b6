"""Therapist-policy experiment (sciplab.sim.experiments)."""

import numpy as np
import pytest

from sciplab._core.errors import InvalidParameterError
from sciplab.sim.experiments import METRICS, PATTERNS, compare_policies


@pytest.fixture(scope="module")
def exp():
    return compare_policies(["fixed", "complementary", "disconfirming"], repetitions=3, n_agents=1500, years=1.0,
                            seed=4)  # fmt: skip


def test_tables_complete_and_paired(exp):
    t = exp.table
    assert set(t["metric"]) == set(METRICS) and set(t["pattern"]) == set(PATTERNS)
    assert len(t) == 3 * len(PATTERNS) * len(METRICS)
    ok = t["mc_lower"].notna()
    assert (t.loc[ok, "mc_lower"] <= t.loc[ok, "mean"]).all() and (t.loc[ok, "mean"] <= t.loc[ok, "mc_upper"]).all()
    # common random numbers: every policy meets the same clients (same counts per pattern and repetition)
    counts = exp.runs.pivot_table(index=["repetition", "pattern"], columns="policy", values="n_clients")
    assert (counts.nunique(axis=1) == 1).all()
    e = exp.effects
    assert set(e["policy"]) == {"complementary", "disconfirming"} and (e["reference"] == "fixed").all()
    assert exp.details["seed"] == 4


def test_policy_mechanism_shows_in_ruptures(exp):
    """Disconfirming pushes every insecure client away from the preferred distance: more ruptures."""
    r = exp.table[exp.table["metric"] == "rupture"].pivot(index="pattern", columns="policy", values="mean")
    for pattern in ("preoccupied", "dismissing"):
        assert r.loc[pattern, "disconfirming"] > r.loc[pattern, "complementary"] + 0.2
    text = exp.summary()
    assert "Cohen's d" in text and "preoccupied" in text


def test_effect_sizes_match_an_independent_computation(exp):
    runs = exp.runs
    pat = "preoccupied"
    a = runs[(runs["policy"] == "disconfirming") & (runs["pattern"] == pat)].set_index("repetition")
    b = runs[(runs["policy"] == "fixed") & (runs["pattern"] == pat)].set_index("repetition")
    pooled = np.sqrt(((a["n_clients"] - 1) * a["improvement_sd"] ** 2 + (b["n_clients"] - 1) * b["improvement_sd"] ** 2)
                     / (a["n_clients"] + b["n_clients"] - 2))  # fmt: skip
    d = ((a["improvement"] - b["improvement"]) / pooled).mean()
    row = exp.effects.set_index(["policy", "pattern"]).loc[("disconfirming", pat)]
    assert row["d"] == pytest.approx(d, abs=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"policies": ["fixed", "scipp"]}, "did you mean 'scip'"),
        ({"policies": ["fixed"]}, "at least two"),
        ({"policies": ["fixed", "scip"], "reference": "complementary"}, "reference"),
        ({"policies": ["fixed", "scip"], "repetitions": 0}, "repetitions"),
    ],
)
def test_bad_input(kwargs, fragment):
    with pytest.raises(InvalidParameterError, match=fragment):
        compare_policies(n_agents=100, years=0.1, **kwargs)
