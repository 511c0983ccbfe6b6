"""Emergent statistics of the default model against the published targets (one moderate run)."""

import numpy as np
import pandas as pd
import pytest

from sciplab.sim import calibrate, simulate, statistics
from sciplab.sim.calibrate import TARGETS


@pytest.fixture(scope="module")
def big():
    return simulate(6000, seed=2024)


def test_model_defining_signs_and_tuned_targets(big):
    """The calibration rows the model is built to reproduce (single run: Monte Carlo slack)."""
    stats = statistics(big)
    for key in ("P1", "P2", "P3", "P4", "P7", "P8"):
        assert stats[key] < -0.02, key
    for key in ("P5", "P6", "T15a", "T15b"):
        assert stats[key] > 0.02, key
    assert -0.8 < stats["T8a"] < -0.15
    assert abs(stats["T8c"]) < 0.3
    assert stats["T16"] > 0.2
    assert 0.6 < stats["T3"] < 0.82
    # SCIP's central claim is built in by mechanism: competencies carry a substantial share of
    # attachment's effect on perceived support (calibration target P9 >= .30)
    assert stats["P9"] > 0.3
    assert -0.40 < stats["A2"] < -0.16 and -0.68 < stats["A3"] < -0.44
    assert 0.30 < stats["T18"] < 0.60  # clients with a rupture (McLaughlin et al. 2014: 46 %)
    # Strange-Situation shares within the recalled bands (the coder's two cut points, calibrated)
    assert 0.62 < stats["C2"] < 0.67 and 0.18 < stats["C3"] < 0.24 and 0.11 < stats["C4"] < 0.17
    assert stats["C3"] > stats["C4"]  # A is the more common insecure pattern
    # every statistic is a target id, and every simulable target has a statistic
    ids = {t.id for t in TARGETS}
    assert set(stats) <= ids
    missing = {t.id for t in TARGETS if t.kind != "not simulated"} - set(stats) - {"V14"}
    assert not missing, missing


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


def test_calibrate_reports_every_target_in_two_sets_and_never_hides_a_miss():
    res = calibrate(repetitions=2, n_agents=600, seed=3)
    t = res.table.set_index("id")
    assert list(t.index) == [x.id for x in TARGETS]
    assert set(t["set"]) == {"calibration", "validation"}
    num = t[t["status"].isin(["met", "MISS"])]
    assert (num["mc_lower"] <= num["simulated"]).all() and (num["simulated"] <= num["mc_upper"]).all()
    # value / recalled targets: met exactly when the point estimate lies in the band
    banded = t[t["kind"].isin(["value", "recalled"]) & t["simulated"].notna()]
    inside = (banded["lower"] <= banded["simulated"]) & (banded["simulated"] <= banded["upper"])
    assert ((banded["status"] == "met") == inside).all()
    # sign targets: printed as signs, met only when the whole interval is on the published side
    signs = t[t["kind"] == "sign"]
    assert set(signs["published_text"]) == {"sign: negative", "sign: positive"}
    neg = signs[signs["published_text"] == "sign: negative"]
    assert ((neg["status"] == "met") == (neg["mc_upper"] < 0)).all()
    # [M] values print as recalled, never as a published number
    recalled = t[t["kind"] == "recalled"]
    assert recalled["published_text"].str.contains(r"\[M\]|inference").all()
    # the direct anxiety -> distress path is shown but not a target (the cited study found full mediation)
    assert t.loc["P11", "status"] == "not scored" and "fully mediated" in t.loc["P11", "source"]
    assert (t.loc[t["kind"] == "not simulated", "note"].str.len() > 0).all()
    assert set(res.misses) == {f"{i} {n}" for i, n in t.loc[t["status"] == "MISS", "target"].items()}
    text = res.summary()
    assert "calibration set" in text and "validation set" in text
    for miss in res.misses:
        assert miss.split(" ", 1)[1] in text
    pd.testing.assert_frame_equal(res.repetitions, calibrate(repetitions=2, n_agents=600, seed=3).repetitions)


def test_split_rule_is_recorded_per_target():
    from sciplab.sim.targets import CALIBRATION, VALIDATION

    by_id = {t.id: t for t in TARGETS}
    # tuned before the split -> calibration, whatever their evidence base
    for key in ("C1", "T3", "T8a", "T8c", "T16"):
        assert by_id[key].set == CALIBRATION and "tuned" in by_id[key].note
    # single-sample anchors -> calibration; pooled estimates never tuned to -> validation
    for key in ("A1", "A2", "A3", "A9", "T18"):
        assert by_id[key].set == CALIBRATION
    for key in ("V1", "V2", "T1", "T4", "T8b", "T17"):
        assert by_id[key].set == VALIDATION
