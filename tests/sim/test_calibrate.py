"""Emergent statistics of the default model against the published targets (one moderate run)."""

import numpy as np
import pandas as pd
import pytest

from sciplab.sim import calibrate, simulate, statistics
from sciplab.sim.calibrate import TARGETS


@pytest.fixture(scope="module")
def big():
    return simulate(6000, seed=2024)


def test_targets_within_bands(big):
    stats = statistics(big)
    tol = 0.05  # Monte Carlo slack of a single run of 6000 agents (~1000 clients)
    for t in TARGETS:
        if t.name not in stats:
            continue
        wide = 0.25 if t.name.startswith("d(") else tol
        assert t.lower - wide <= stats[t.name] <= t.upper + wide, (t.name, stats[t.name], t.lower, t.upper)
    # the therapy targets individually, with their published meaning
    assert -0.8 < stats["d(pre-therapy anxiety -> outcome)"] < -0.15
    assert abs(stats["d(pre-therapy avoidance -> outcome)"]) < 0.3
    assert stats["d(repaired vs unrepaired rupture -> outcome)"] > 0.2
    assert stats["path avoidance -> distress (direct)"] > -0.02
    assert stats["path social self-efficacy -> distress"] < -0.08
    assert 0.6 < stats["r(CATS secure, alliance)"] < 0.82


def test_scip_core_on_scored_data_closes_the_loop(big):
    fit_template = pytest.importorskip("sciplab.scip.templates").fit_template
    p = big.persons.iloc[:2000]
    scored = p[["ECR-S_anxiety", "ECR-S_avoidance", "PSSE_total", "TAS-20_total", "MSPSS_total", "PHQ-9_total"]]
    res = fit_template(scored, "scip-core", bootstrap=500, seed=1)
    reg = res.table[res.table["op"] == "~"].set_index(["lhs", "rhs"])
    for m in ("social_self_efficacy", "emotional_awareness"):
        for x in ("attachment_anxiety", "attachment_avoidance"):
            assert reg.loc[(m, x), "est"] < 0 and reg.loc[(m, x), "pvalue"] < 0.05
    assert reg.loc[("social_support", "social_self_efficacy"), "est"] > 0
    assert reg.loc[("distress", "emotional_awareness"), "est"] < 0
    ind = res.indirect[res.indirect["effect"] == "specific"]
    via_ea_support = ind[ind["path"].str.contains("emotional_awareness → social_support")]
    via_sse_support = ind[ind["path"].str.contains("social_self_efficacy → social_support")]
    for block in (via_ea_support, via_sse_support):
        assert (block["ci_upper"] < 0).all()  # significant, negative: insecurity lowers support
    # ... and significant, positive indirect effects on distress through both competencies
    via_distress = ind[ind["path"].str.endswith("→ distress")]
    assert len(via_distress) == 4
    assert (via_distress["ci_lower"] > 0).all(), via_distress[["path", "est", "ci_lower", "ci_upper"]]
    for m in ("social_self_efficacy", "emotional_awareness"):
        assert reg.loc[("distress", m), "est"] < 0 and reg.loc[("distress", m), "pvalue"] < 0.05
    # the direct avoidance -> distress path is not negative (avoidance-depression r = .27)
    direct = reg.loc[("distress", "attachment_avoidance")]
    assert direct["est"] > 0 or direct["pvalue"] > 0.05


def test_latent_paths_recovered_without_measurement_error():
    fit_template = pytest.importorskip("sciplab.scip.templates").fit_template
    res = simulate(2000, seed=8, measurement_error=False, instruments=["ECR-S", "PSSE", "TAS-20", "MSPSS", "PHQ-9"])
    p = res.persons
    names = ["attachment_anxiety", "attachment_avoidance", "social_self_efficacy", "emotional_awareness",
             "perceived_support", "distress"]  # fmt: skip
    latent = p[[f"latent_{c}" for c in names]].rename(columns=lambda c: c.removeprefix("latent_"))
    latent = latent.rename(columns={"perceived_support": "social_support"})
    scored = p[["ECR-S_anxiety", "ECR-S_avoidance", "PSSE_total", "TAS-20_total", "MSPSS_total", "PHQ-9_total"]]
    truth = fit_template(latent, "scip-core", ci="none", instruments=[])
    est = fit_template(scored, "scip-core", ci="none")
    key = ["lhs", "rhs"]
    a = truth.table[truth.table["op"] == "~"].set_index(key)["std_all"]
    b = est.table[est.table["op"] == "~"].set_index(key)["std_all"]
    first_stage = [k for k in a.index if k[0] in ("social_self_efficacy", "emotional_awareness")]
    np.testing.assert_allclose(b.loc[first_stage], a.loc[first_stage], atol=0.06)
    assert (np.sign(b.loc[first_stage]) == np.sign(a.loc[first_stage])).all()


def test_calibrate_reports_misses_and_intervals():
    res = calibrate(repetitions=2, n_agents=600, seed=3)
    t = res.table
    assert len(t) == len(TARGETS)
    assert (t["mc_lower"] <= t["simulated"]).all() and (t["simulated"] <= t["mc_upper"]).all()
    # a target passes only when the point estimate lies in its band
    inside = (t["lower"] <= t["simulated"]) & (t["simulated"] <= t["upper"])
    assert (t["ok"] == inside).all()
    assert set(res.misses) == set(t.loc[~inside, "target"])
    assert isinstance(res.misses, list)
    assert "SCIP simulation calibration" in res.summary()
    pd.testing.assert_frame_equal(res.repetitions, calibrate(repetitions=2, n_agents=600, seed=3).repetitions)
