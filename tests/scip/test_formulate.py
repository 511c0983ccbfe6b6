"""Tests of the SCIP case formulation (sciplab.scip.formulate)."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import multivariate_normal, norm

from sciplab._core.errors import DataError, InvalidParameterError
from sciplab.scip.formulate import (
    FALLBACK_RELIABILITY,
    FALLBACK_SD,
    QUADRANTS,
    Formulation,
    formulate,
    quadrant_probabilities,
)
from sciplab.scip.rules import RuleFileError, load_rules
from sciplab.scoring import score

OCTANTS = ["PA", "BC", "DE", "FG", "HI", "JK", "LM", "NO"]
ANGLES = np.radians([90, 135, 180, 225, 270, 315, 360, 45])
# pin the SEM: SD 1.0, r_xx .90 -> SEM = sqrt(.1)
PINNED = {"reliability": 0.9, "sd": 1.0}
SEM = math.sqrt(0.1)


def _ids(f: Formulation, section: str | None = None) -> list[str]:
    t = f.table if section is None else f.table[f.table["section"] == section]
    return list(t["id"])


def _statement(f: Formulation, rule_id: str) -> dict:
    return next(s for s in f.hypotheses + f.plan if s["id"] == rule_id)


# -- quadrant probabilities against an independent computation ------------------------------------


def _mvn_quadrants(x_anx, x_avo, s_anx, s_avo, c_anx, c_avo):
    """Independent computation: bivariate normal CDF (scipy) over each quadrant."""
    mvn = multivariate_normal(mean=[x_anx, x_avo], cov=[[s_anx**2, 0.0], [0.0, s_avo**2]])
    low_low = mvn.cdf([c_anx, c_avo])
    p_anx_low = norm.cdf(c_anx, x_anx, s_anx)
    p_avo_low = norm.cdf(c_avo, x_avo, s_avo)
    return {
        "secure": low_low,
        "preoccupied": p_avo_low - low_low,  # anxiety above, avoidance below
        "dismissing": p_anx_low - low_low,
        "fearful": 1 - p_anx_low - p_avo_low + low_low,
    }


@pytest.mark.parametrize(
    ("anx", "avo", "rel", "sd", "split"),
    [
        (4.3, 3.8, 0.85, 1.2, None),
        (4.0, 4.0, 0.8, 1.0, None),
        (3.1, 5.2, 0.9, 1.1, None),
        (3.4, 2.9, 0.88, 1.05, {"anxiety": 3.6, "avoidance": 2.7}),  # e.g. sample medians
    ],
)
def test_quadrant_probabilities_match_bivariate_normal(anx, avo, rel, sd, split):
    f = formulate({"ECR-S_anxiety": anx, "ECR-S_avoidance": avo}, reliability=rel, sd=sd, split=split or "midpoint")
    sem = sd * math.sqrt(1 - rel)
    c = (4.0, 4.0) if split is None else (split["anxiety"], split["avoidance"])
    expected = _mvn_quadrants(anx, avo, sem, sem, *c)
    got = f.attachment["quadrant_probabilities"]
    assert list(got) == list(QUADRANTS)
    np.testing.assert_allclose([got[q] for q in QUADRANTS], [expected[q] for q in QUADRANTS], atol=1e-6)
    assert sum(got.values()) == pytest.approx(1.0, abs=1e-12)
    assert f.attachment["anxiety"]["sem"] == pytest.approx(sem, rel=1e-12)
    assert f.attachment["anxiety"]["p_high"] == pytest.approx(1 - norm.cdf(c[0], anx, sem), abs=1e-12)


def test_quadrant_kernel_unequal_sems():
    got = quadrant_probabilities(4.4, 3.5, sem_anxiety=0.3, sem_avoidance=0.6, split=(4.0, 4.0))
    exp = _mvn_quadrants(4.4, 3.5, 0.3, 0.6, 4.0, 4.0)
    np.testing.assert_allclose([got[q] for q in QUADRANTS], [exp[q] for q in QUADRANTS], atol=1e-6)
    with pytest.raises(InvalidParameterError, match="sem_anxiety must be a positive number"):
        quadrant_probabilities(4, 4, sem_anxiety=0, sem_avoidance=1, split=(4, 4))


# -- vignettes -------------------------------------------------------------------------------------


def test_vignette_secure():
    f = formulate({"ECR-S_anxiety": 2.0, "ECR-S_avoidance": 2.2, "MSPSS_total": 5.8}, **PINNED)
    att = f.attachment
    assert att["most_probable"]["pattern"] == "secure"
    assert att["quadrant_probabilities"]["secure"] == pytest.approx(
        norm.cdf((4 - 2.0) / SEM) * norm.cdf((4 - 2.2) / SEM), abs=1e-12
    )
    assert _ids(f, "hypothesis") == ["secure-pattern"]
    assert _ids(f, "plan") == ["secure-plan"]
    assert _statement(f, "secure-pattern")["expected_rupture"]["expected_rupture"] is None
    assert f.profile.set_index("column").loc["MSPSS_total", "flag"] == "not flagged"


def test_vignette_preoccupied():
    f = formulate({"ECR-S_anxiety": 5.9, "ECR-S_avoidance": 2.4}, **PINNED)
    assert f.attachment["most_probable"]["pattern"] == "preoccupied"
    assert _ids(f, "hypothesis") == ["hyperactivating-pattern", "hyperactivating-ruptures", "anxiety-outcome"]
    plan = _ids(f, "plan")
    assert plan == [
        "hyperactivating-engage",
        "hyperactivating-correct",
        "marker-autonomy",
        "marker-repair",
        "marker-security",
        "caution-rupture-session",
    ]
    engage, correct = _statement(f, "hyperactivating-engage"), _statement(f, "hyperactivating-correct")
    assert "close therapeutic distance" in engage["text"]
    assert "increase distance" in correct["text"] and "growing autonomy" in correct["text"]
    assert "not yet data-backed" in correct["note"]
    h = _statement(f, "hyperactivating-pattern")
    assert (
        "too distant" in h["text"]
        and h["evidence"] == "empirical"
        and h["sources"] == ["mcd2015", "daly_mallinckrodt2009"]
    )
    rup = _statement(f, "hyperactivating-ruptures")
    assert rup["expected_rupture"]["expected_rupture"] == "confrontation"
    assert rup["evidence"] == "inference"
    # the statement carries the data that triggered it
    assert h["triggered_by"] == {"attachment.p_anxiety_high": pytest.approx(norm.cdf((5.9 - 4) / SEM))}
    assert h["data"] == {"ECR-S_anxiety": 5.9, "ECR-S_avoidance": 2.4}


def test_vignette_dismissing():
    f = formulate({"ECR-S_anxiety": 2.5, "ECR-S_avoidance": 6.1}, **PINNED)
    assert f.attachment["most_probable"]["pattern"] == "dismissing"
    assert _ids(f, "hypothesis") == ["deactivating-pattern", "deactivating-ruptures"]
    assert _ids(f, "plan")[:3] == ["deactivating-engage", "deactivating-correct", "marker-engagement"]
    assert "too close" in _statement(f, "deactivating-pattern")["text"]
    assert _statement(f, "deactivating-ruptures")["expected_rupture"]["expected_rupture"] == "withdrawal"
    assert "decrease distance" in _statement(f, "deactivating-correct")["text"]
    assert "allow distance" in _statement(f, "deactivating-engage")["text"]


def test_vignette_fearful():
    f = formulate({"ECR-S_anxiety": 5.6, "ECR-S_avoidance": 5.8}, **PINNED)
    assert f.attachment["most_probable"]["pattern"] == "fearful"
    hyp = _ids(f, "hypothesis")
    assert "fearful-pattern" in hyp and "hyperactivating-pattern" in hyp and "deactivating-pattern" in hyp
    plan = _ids(f, "plan")
    assert plan[:2] == ["fearful-plan", "fearful-correct"]
    assert not {"hyperactivating-engage", "deactivating-engage"} & set(plan)
    text = _statement(f, "fearful-plan")["text"]
    assert text.startswith("Known:") and "Unknown: no distance protocol" in text
    assert _statement(f, "fearful-plan")["evidence"] == "inference"


def test_vignette_low_support():
    f = formulate({"ECR-S_anxiety": 3.0, "ECR-S_avoidance": 3.0, "MSPSS_total": 2.25}, **PINNED)
    row = f.profile.set_index("column").loc["MSPSS_total"]
    assert row["flag"] == "deficit" and row["band"] == "low" and row["flag_basis"].startswith("band 'low'")
    assert row["pomp"] == pytest.approx(100 * 1.25 / 6)
    assert "low-support" in _ids(f, "hypothesis")
    caution = _statement(f, "caution-mobilise-support")
    assert caution["phase"] == "caution" and "mobilise support" in caution["text"]
    assert caution["triggered_by"] == {"social_support.deficit": True}
    assert caution["data"] == {"MSPSS_total": 2.25}


def _octants(elevation, amplitude, angle_deg, noise=None):
    s = elevation + amplitude * np.cos(ANGLES - np.radians(angle_deg))
    return s if noise is None else s + noise


def test_vignette_high_elevation_interpersonal_distress():
    raw = _octants(2.6, 0.6, 225)  # item means, cold/avoidant direction
    f = formulate({f"IIP-SC_{o}": v for o, v in zip(OCTANTS, raw, strict=True)})
    ip = f.interpersonal
    # independent standardisation against the IIP-SC student norm (sum metric / 4 items)
    m = np.array([3.04, 3.17, 3.60, 4.19, 5.68, 5.54, 5.86, 4.10]) / 4
    s = np.array([2.64, 2.76, 3.42, 3.79, 3.66, 3.41, 3.30, 3.20]) / 4
    z = (raw - m) / s
    x = 2 / 8 * np.sum(z * np.cos(ANGLES))
    y = 2 / 8 * np.sum(z * np.sin(ANGLES))
    assert ip["standardized"] and ip["norm"]["id"] == "students"
    assert ip["elevation"] == pytest.approx(z.mean()) and ip["elevation_z"] == pytest.approx(z.mean())
    assert ip["amplitude"] == pytest.approx(math.hypot(x, y))
    assert ip["displacement"] == pytest.approx(math.degrees(math.atan2(y, x)) % 360)
    assert ip["elevation_z"] >= 1.0
    assert "high-interpersonal-elevation" in _ids(f, "hypothesis")
    assert ip["interpretable"] is (ip["fit"] >= 0.70)
    assert any("single profile" in g for g in ip["guards"])
    assert f.ssm is not None and f.ssm.table.loc[0, "e_est"] == pytest.approx(z.mean())


def test_interpersonal_guard_flat_profile_interprets_elevation_only():
    f = formulate({f"IIP-SC_{o}": 3.0 for o in OCTANTS}, standardize_octants=False)
    ip = f.interpersonal
    assert ip["displacement"] is None and ip["fit"] is None and ip["interpretable"] is False
    assert ip["guards"][0].startswith("flat profile")
    assert ip["elevation_z"] is None  # raw metric: the elevation rule cannot fire
    assert "high-interpersonal-elevation" not in _ids(f)


def test_interpersonal_cold_profile_hypothesis():
    f = formulate({f"IIP-SC_{o}": v for o, v in zip(OCTANTS, _octants(1.2, 1.0, 190), strict=True)},
                  standardize_octants=False)  # fmt: skip
    assert f.interpersonal["octant"] == "DE"
    assert "cold-distant-profile" in _ids(f, "hypothesis")


# -- profile against norms --------------------------------------------------------------------------


def test_profile_flags_only_where_norms_exist():
    f = formulate({"PSSE_total": 50, "TAS-20_total": 66, "PHQ-9_total": 4, "PBI_care": 25})
    p = f.profile.set_index("column")
    assert p.loc["PSSE_total", "flag"] == "no norm" and "POMP only" in p.loc["PSSE_total", "note"]
    assert pd.isna(p.loc["PSSE_total", "z"])
    assert p.loc["TAS-20_total", "flag"] == "deficit"  # emotional awareness: TAS-20 >= 61 (inverse scale)
    assert p.loc["TAS-20_total", "construct"] == "emotional_awareness"
    assert p.loc["TAS-20_total", "polarity"] == "higher is worse"
    assert p.loc["PHQ-9_total", "flag"] == "not flagged" and p.loc["PHQ-9_total", "band"] == "minimal"
    assert p.loc["PBI_care", "flag"] == "depends on group"  # mothers' cut-off 27, fathers' 24
    assert "emotional_awareness" not in {m["construct"] for m in f.missing}
    assert "competency-deficit" in _ids(f, "hypothesis")


def test_profile_z_and_T_against_named_norm():
    f = formulate({"IIP-SC_DE": 2.0, "IIP-SC_PA": 1.0}, norms={"IIP-SC": "outpatients"})
    row = f.profile.set_index("column").loc["IIP-SC_DE"]
    assert row["norm"] == "outpatients" and row["norm_population"] == "dysfunctional"
    assert row["z"] == pytest.approx((2.0 - 1.30) / 1.07)
    assert row["T"] == pytest.approx(50 + 10 * (2.0 - 1.30) / 1.07)
    assert f.interpersonal is None  # only two octants
    assert any(m["construct"] == "interpersonal_octant" and "eight octants" in m["adds"] for m in f.missing)


# -- reliability and fallbacks ----------------------------------------------------------------------


def test_ecr_s_fallback_is_documented():
    f = formulate({"ECR-S_anxiety": 4.5, "ECR-S_avoidance": 3.5})
    a = f.attachment["anxiety"]
    assert a["reliability"] == FALLBACK_RELIABILITY and a["sd"] == FALLBACK_SD
    assert a["sem"] == pytest.approx(FALLBACK_SD * math.sqrt(1 - FALLBACK_RELIABILITY))
    assert a["reliability_source"].startswith("fallback")
    notes = " ".join(f.attachment["notes"])
    assert "fallback r_xx = .80" in notes and "fallback SD = 1.0" in notes
    assert "convention, not a published norm" in f.attachment["split"]["note"]


def test_definition_alpha_used_and_retest_not():
    f = formulate({"ECR-R_anxiety": 4.5, "ECR-R_avoidance": 3.5})
    assert f.attachment["anxiety"]["reliability"] == 0.86
    assert f.attachment["avoidance"]["reliability"] == 0.90
    assert f.attachment["anxiety"]["reliability_source"].startswith("alpha")
    g = formulate({"ECR_anxiety": 4.5, "ECR_avoidance": 3.5})  # ECR records only a retest coefficient
    assert g.attachment["anxiety"]["reliability"] == FALLBACK_RELIABILITY
    assert any("retest" in n for n in g.attachment["notes"])


def test_user_reliability_per_dimension():
    f = formulate({"ECR-S_anxiety": 4.5, "ECR-S_avoidance": 3.5},
                  reliability={"anxiety": 0.84, "avoidance": 0.78}, sd={"anxiety": 1.2, "avoidance": 1.1})  # fmt: skip
    assert f.attachment["anxiety"]["sem"] == pytest.approx(1.2 * math.sqrt(0.16))
    assert f.attachment["avoidance"]["sem"] == pytest.approx(1.1 * math.sqrt(0.22))
    assert f.attachment["anxiety"]["reliability_source"] == "user-supplied"
    with pytest.raises(InvalidParameterError, match=r"reliability for anxiety must be in \(0, 1\)"):
        formulate({"ECR-S_anxiety": 4.5}, reliability=1.2)
    with pytest.raises(InvalidParameterError, match="split mapping needs exactly"):
        formulate({"ECR-S_anxiety": 4.5, "ECR-S_avoidance": 3}, split={"anxiety": 4})
    with pytest.raises(InvalidParameterError, match="split must be 'midpoint'"):
        formulate({"ECR-S_anxiety": 4.5, "ECR-S_avoidance": 3}, split="median")


# -- missing constructs ----------------------------------------------------------------------------


def test_missing_attachment_formulates_with_what_exists():
    f = formulate({"MSPSS_total": 2.0})
    assert f.attachment["available"] is False and f.attachment["quadrant_probabilities"] is None
    missing = {m["construct"]: m for m in f.missing}
    assert {"attachment_anxiety", "attachment_avoidance", "social_self_efficacy", "distress"} <= set(missing)
    assert "ECR-S_anxiety" in missing["attachment_anxiety"]["measured_by"]
    assert "hyperactivating-engage" in missing["attachment_anxiety"]["would_evaluate"]
    assert "closeness" in missing["attachment_anxiety"]["adds"]
    assert _ids(f) == ["low-support", "marker-support", "caution-mobilise-support"]
    assert "social_support" not in missing


def test_only_anxiety_measured():
    f = formulate({"ECR-S_anxiety": 6.0}, **PINNED)
    assert f.attachment["available"] is False and f.attachment["quadrant_probabilities"] is None
    assert f.attachment["anxiety"]["p_high"] == pytest.approx(norm.cdf(2 / SEM))
    assert any("only attachment anxiety" in n for n in f.attachment["notes"])
    assert "hyperactivating-pattern" in _ids(f)
    assert "hyperactivating-engage" not in _ids(f)  # needs avoidance: not evaluable
    assert "attachment_avoidance" in {m["construct"] for m in f.missing}


# -- input handling and bad input ------------------------------------------------------------------


def test_out_of_range_score_names_column_and_value():
    with pytest.raises(
        DataError, match=r"column 'ECR-S_anxiety': score 8\.5 is outside the range of ECR-S anxiety \(1 to 7\)"
    ):
        formulate({"ECR-S_anxiety": 8.5, "ECR-S_avoidance": 3.0})
    with pytest.raises(DataError, match=r"'PHQ-9_total': score -1"):
        formulate({"PHQ-9_total": -1})
    with pytest.raises(DataError, match=r"column 'MSPSS_total': value 'high' is not a number"):
        formulate({"MSPSS_total": "high"})


def test_missing_value_is_reported_not_used():
    f = formulate({"ECR-S_anxiety": 5.0, "ECR-S_avoidance": np.nan, "MSPSS_total": 4.0})
    assert f.attachment["avoidance"] is None
    assert f.profile.set_index("column").loc["ECR-S_avoidance", "flag"] == "missing"


def test_no_known_columns():
    with pytest.raises(DataError, match="no scale score or raw item column of a known instrument"):
        formulate({"age": 30, "mood": 4})


def test_several_rows_need_a_client():
    df = pd.DataFrame({"client": ["a", "b"], "ECR-S_anxiety": [2.0, 6.0], "ECR-S_avoidance": [2.0, 2.0]})
    with pytest.raises(DataError, match="2 rows; choose one client with client="):
        formulate(df)
    f = formulate(df, client="b")
    assert f.client == "b" and f.attachment["most_probable"]["pattern"] == "preoccupied"
    g = formulate(df.rename(columns={"client": "pid"}), client="a", id_col="pid")
    assert g.client == "a" and g.details["id_col"] == "pid"
    with pytest.raises(DataError, match="client 'z' not found in column 'client'"):
        formulate(df, client="z")
    with pytest.raises(DataError, match="id_col 'who' not found"):
        formulate(df, client="a", id_col="who")
    with pytest.raises(DataError, match="client 'a' has 2 rows"):
        formulate(pd.concat([df, df]), client="a")


def test_input_not_mutated():
    df = pd.DataFrame({"ECR-S_anxiety": [5.0], "ECR-S_avoidance": [3.0], "MSPSS_total": [2.0]})
    before = df.copy()
    formulate(df)
    pd.testing.assert_frame_equal(df, before)


def test_raw_items_are_scored_first():
    rng = np.random.default_rng(3)
    items = pd.DataFrame([rng.integers(1, 8, 12)], columns=[f"ECRS_{i:02d}" for i in range(1, 13)])
    items["MSPSS_total"] = 3.5
    f = formulate(items, **PINNED)
    expected = score(items, "ECR-S").scores.iloc[0]
    assert f.attachment["anxiety"]["score"] == pytest.approx(expected["ECR-S_anxiety"])
    assert f.attachment["avoidance"]["score"] == pytest.approx(expected["ECR-S_avoidance"])
    assert f.details["scored_from_items"] == ["ECR-S"]


def test_raw_items_out_of_range_and_ambiguous():
    bad = pd.DataFrame([[9] + [3] * 11], columns=[f"ECRS_{i:02d}" for i in range(1, 13)])
    with pytest.raises(DataError, match="ECRS_01"):
        formulate(bad)
    ecrr = pd.DataFrame([[3] * 36], columns=[f"ECRR_{i:02d}" for i in range(1, 37)])
    with pytest.raises(DataError, match="fit both ECR-R.* and ECR-R"):
        formulate(ecrr)
    f = formulate(ecrr, instruments=["ECR-R"])
    assert f.attachment["instrument"] == "ECR-R"


def test_custom_rules_file(tmp_path):
    p = tmp_path / "r.toml"
    p.write_text(
        '[sources]\nx = "A source."\n[[rule]]\nid = "only"\nsection = "hypothesis"\n'
        'when = "social_support.present"\ntext = "Support measured."\nevidence = "theory"\nsources = ["x"]\n',
        encoding="utf-8",
    )
    f = formulate({"MSPSS_total": 6.0}, rules=p)
    assert _ids(f) == ["only"] and f.sources == ({"key": "x", "citation": "A source."},)
    assert f.missing == ()
    assert formulate({"MSPSS_total": 6.0}, rules=load_rules(p)).details["rules"] == str(p)
    p.write_text('[[rule]]\nid = "x"\nwhen = "suport.present"\n', encoding="utf-8")
    with pytest.raises(RuleFileError):
        formulate({"MSPSS_total": 6.0}, rules=p)


# -- result object ---------------------------------------------------------------------------------


def test_to_dict_is_json_with_required_keys():
    octs = {f"IIP-SC_{o}": v for o, v in zip(OCTANTS, _octants(2.0, 0.8, 45), strict=True)}
    f = formulate({"ECR-S_anxiety": 5.5, "ECR-S_avoidance": 4.5, "MSPSS_total": 2.5, **octs}, **PINNED)
    d = json.loads(json.dumps(f.to_dict()))
    assert {"attachment", "profile", "hypotheses", "plan", "missing", "sources"} <= set(d)
    assert set(d["attachment"]["quadrant_probabilities"]) == set(QUADRANTS)
    assert {"score", "sem", "ci95", "reliability", "p_high"} <= set(d["attachment"]["anxiety"])
    assert len(d["profile"]) == 11
    cited = {k for s in d["hypotheses"] + d["plan"] for k in s["sources"]}
    assert cited == {s["key"] for s in d["sources"]}
    for s in d["hypotheses"] + d["plan"]:
        assert s["evidence"] and s["sources"] and s["triggered_by"]
    assert [s["phase"] for s in d["plan"]] == sorted(
        (s["phase"] for s in d["plan"]), key=["engagement", "corrective", "marker", "caution"].index
    )


def test_summary_snapshot():
    f = formulate({"ECR-S_anxiety": 5.9, "ECR-S_avoidance": 2.4, "MSPSS_total": 2.25}, client="c1", **PINNED)
    text = f.summary()
    lines = text.splitlines()
    assert lines[0] == "SCIP case formulation: client c1"
    assert lines[3] == "Attachment (ECR-S)"
    assert lines[4] == (
        "  anxiety: 5.90 (range 1-7), SEM 0.316 [95% 5.28, 6.52]; r_xx 0.90 (user-supplied); P(above split 4) = 1.000"
    )
    assert "  quadrant probabilities: secure 0.000, preoccupied 1.000, dismissing 0.000, fearful 0.000" in lines
    assert "  MSPSS_total (social_support): 2.25; band low; -> deficit" in lines
    assert (
        "  - [caution] Low support: mobilise support outside therapy; if distress improves while support stays "
        "low, the gain depends on the therapy relationship — plan support mobilisation before ending." in lines
    )
    assert str(f) == text


def test_sections_are_data_and_summary_renders_them():
    f = formulate({"ECR-S_anxiety": 2.0, "ECR-S_avoidance": 6.0, "MSPSS_total": 2.0}, client="c9", **PINNED)
    secs = {s.key: s for s in f.sections()}
    assert list(secs) == ["attachment", "profile", "hypotheses", "plan", "missing", "sources"]
    assert secs["profile"].columns[:3] == ("column", "construct", "score")
    assert secs["profile"].rows[2][:3] == ("MSPSS_total", "social_support", "2.00")
    plan = secs["plan"].statements
    assert plan[0].phase == "engagement" and dict(plan[0].details)["evidence"].startswith("qualitative")
    assert {k for k, _ in secs["sources"].entries} == {s["key"] for s in f.sources}
    text = f.summary()
    for sec in f.sections():  # every section, statement and source appears in the text rendering
        assert sec.title in text
        assert all(st.text in text for st in sec.statements)
        assert all(citation in text for _, citation in sec.entries)
    html = f._repr_html_()
    assert "<table" in html and "withdrawal" in html and "<svg" not in html


def test_repr_html_escapes_client():
    f = formulate({"MSPSS_total": 2.0}, client="<script>alert(1)</script>")
    assert "<script>" not in f._repr_html_()


# -- simulated output: latent truths and flags are never scores or ids (issue 10.5) -------------------


def _sim_like() -> pd.DataFrame:
    return pd.DataFrame({
        "person_id": [16, 17, 18],
        "client": [False, True, True],
        "cats_secure": [-1.2, 0.4, 2.1],  # a latent z-score, not the CATS secure scale (1-6)
        "attachment_anxiety": [0.3, -0.5, 1.1],  # a latent construct, not a score
        "ECR-S_anxiety": [3.0, 5.5, 2.0],
        "ECR-S_avoidance": [2.5, 2.0, 6.0],
    })  # fmt: skip


def test_boolean_client_column_is_not_the_id():
    f = formulate(_sim_like(), client=17)
    assert f.client == 17 and f.details["columns_used"] == ["ECR-S_anxiety", "ECR-S_avoidance"]
    assert f.attachment["anxiety"]["score"] == 5.5


def test_boolean_id_col_refused():
    with pytest.raises(DataError, match="'client' holds true/false values"):
        formulate(_sim_like(), client=True, id_col="client")


def test_latent_columns_never_taken_for_scores():
    f = formulate(_sim_like(), client=16, id_col="person_id")
    assert "cats_secure" not in f.details["columns_used"] and "attachment_anxiety" not in f.details["columns_used"]
    with pytest.raises(DataError, match="named exactly as sciplab score writes"):
        formulate({"cats_secure": 0.4, "ecr-s_anxiety": 4.0})
