"""Tests of the latent SCIP templates (parcels + SEM) on the bundled example and on simulated items."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sciplab._core.errors import DataError, InvalidParameterError
from sciplab.datasets import load_example
from sciplab.scip.latent import LATENT_TEMPLATES, bind_latent, fit_latent_template, get_latent_template
from sciplab.scip.templates import TEMPLATES, fit_template
from sciplab.stats.sem import SEMResult
from sciplab.stats.syntax import parse_model


def test_templates_parse_and_share_the_path_templates_constructs():
    core = get_latent_template("scip-core-latent")
    table = parse_model(core.syntax()).table
    assert set(table[table["op"] == "=~"]["lhs"]) == set(core.constructs)
    assert len(table[table["op"] == "=~"]) == 18
    # the structural part is the scip-core path model over the same construct names
    path = parse_model(TEMPLATES["scip-core"].syntax).table
    latent = table[table["op"].isin(["~", "~~"])]
    assert sorted(zip(latent["lhs"], latent["op"], latent["rhs"], strict=True)) == sorted(
        zip(path["lhs"], path["op"], path["rhs"], strict=True)
    )
    assert set(core.constructs) == set(TEMPLATES["scip-core"].roles)
    inv = LATENT_TEMPLATES["scip-core-invariance"]
    assert inv.invariance and inv.structure == "" and "Meredith" in inv.citation
    with pytest.raises(InvalidParameterError, match="did you mean 'scip-core-latent'"):
        get_latent_template("scip-core-latnet")


@pytest.fixture(scope="module")
def example_fit():
    return fit_latent_template(load_example(), "scip-core-latent", score=True)


def test_example_from_raw_items(example_fit):
    res = example_fit
    assert isinstance(res, SEMResult) and res.details["converged"]
    assert res.details["template"] == "scip-core-latent" and res.details["n"] == 400
    assert int(res.fit["df"].iloc[0]) == 120  # 171 moments - 51 parameters
    assert any("TAS-20 total reflected" in note for note in res.details["binding"])
    assert len(res.details["parcels"]) == 6 + 6 + 25 + 20 + 12 + 9
    t = res.table
    beta = {(r.lhs, r.rhs): r.std_all for r in t[t["op"] == "~"].itertuples()}
    # the generating model of the example (datasets/scip_example/README.md): signs recovered
    assert beta[("social_self_efficacy", "attachment_avoidance")] < -0.2
    assert beta[("emotional_awareness", "attachment_avoidance")] < -0.2
    assert beta[("social_support", "social_self_efficacy")] > 0.15
    assert beta[("distress", "attachment_anxiety")] > 0.1
    loads = t[t["op"] == "=~"]["std_all"]
    assert loads.min() > 0.6  # parcels measure their construct


def test_fit_template_dispatches_latent_templates():
    data = load_example().iloc[:250]
    res = fit_template(data, "scip_core_latent", score=True)
    assert isinstance(res, SEMResult) and res.details["template"] == "scip-core-latent"


def test_binding_by_parcel_columns_and_mapping(example_fit):
    data = load_example()
    parcels = bind_latent(data, "scip-core-latent", score=True).data
    cols = [c for c in parcels.columns if "_p" in c and c[-1].isdigit()]
    ready = parcels[cols]
    b = bind_latent(ready, "scip-core-latent")
    assert b.parcels is None and b.indicators["distress"] == ["distress_p1", "distress_p2", "distress_p3"]
    renamed = ready.rename(columns={"distress_p1": "d1", "distress_p2": "d2", "distress_p3": "d3"})
    mapping = {"distress_p1": "d1", "distress_p2": "d2", "distress_p3": "d3"}
    b = bind_latent(renamed, "scip-core-latent", mapping)
    assert b.indicators["distress"] == ["d1", "d2", "d3"] and "distress =~ d1 + d2 + d3" in b.syntax
    # a construct mapped to another instrument scale is parcelled from it
    mixed = pd.concat(
        [ready.drop(columns=["distress_p1", "distress_p2", "distress_p3"]), data.filter(like="PHQ9")], axis=1
    )
    b = bind_latent(mixed, "scip-core-latent", {"distress": "PHQ-9:total"})
    assert b.indicators["distress"] == ["distress_p1", "distress_p2", "distress_p3"]


def test_binding_errors_name_the_constructs_and_the_fix():
    data = load_example()
    with pytest.raises(DataError, match=r"no indicators for constructs .*attachment_anxiety.*add --score"):
        bind_latent(data, "scip-core-latent")
    with pytest.raises(DataError, match="'distress'"):
        bind_latent(
            data.drop(columns=[c for c in data.columns if c.startswith("PHQ9")]), "scip-core-latent", score=True
        )
    with pytest.raises(InvalidParameterError, match="neither a construct nor an indicator"):
        bind_latent(data, "scip-core-latent", {"distres": "x"})
    with pytest.raises(InvalidParameterError, match="ID:scale"):
        bind_latent(data, "scip-core-latent", {"distress": "PHQ9_01"}, score=True)
    with pytest.raises(DataError, match="at least two"):
        bind_latent(data, "scip-core-latent", {"distress_p1": "PHQ9_01"}, score=True)
    with pytest.raises(InvalidParameterError, match="group column"):
        fit_latent_template(data, "scip-core-invariance", score=True)


def _simulated_items(n: int, seed: int) -> tuple[pd.DataFrame, dict[tuple[str, str], float]]:
    """Item responses generated by sciplab.sim from a known latent SCIP model (standardized paths)."""
    from sciplab.sim.measurement import generate_items

    rng = np.random.default_rng(seed)
    paths = {
        ("social_self_efficacy", "attachment_anxiety"): -0.25,
        ("social_self_efficacy", "attachment_avoidance"): -0.35,
        ("emotional_awareness", "attachment_anxiety"): -0.20,
        ("emotional_awareness", "attachment_avoidance"): -0.35,
        ("social_support", "social_self_efficacy"): 0.35,
        ("social_support", "emotional_awareness"): 0.20,
        ("distress", "social_self_efficacy"): -0.25,
        ("distress", "attachment_anxiety"): 0.30,
    }
    z = {"attachment_anxiety": rng.standard_normal(n)}
    z["attachment_avoidance"] = 0.3 * z["attachment_anxiety"] + np.sqrt(1 - 0.09) * rng.standard_normal(n)
    for y in ("social_self_efficacy", "emotional_awareness", "social_support", "distress"):
        mean = sum(b * z[x] for (lhs, x), b in paths.items() if lhs == y)
        z[y] = mean + rng.standard_normal(n) * np.sqrt(max(1 - np.var(mean), 0.2))
    latents = pd.DataFrame({
        "attachment_anxiety": z["attachment_anxiety"], "attachment_avoidance": z["attachment_avoidance"],
        "social_self_efficacy": z["social_self_efficacy"], "emotional_awareness": z["emotional_awareness"],
        "perceived_support": 0.6 + 0.22 * z["social_support"], "distress": 2.3 + 3.0 * z["distress"],
    })  # fmt: skip
    items = pd.concat([generate_items(latents, i, rng) for i in ("ECR-S", "PSSE", "TAS-20", "MSPSS", "GAD-7")], axis=1)
    return items, paths


def test_known_latent_model_is_recovered_from_simulated_items():
    items, truth = _simulated_items(3000, seed=11)
    res = fit_template(items, "scip-core-latent", score=True)
    assert res.details["converged"]
    t = res.table
    got = {(r.lhs, r.rhs): r.std_all for r in t[t["op"] == "~"].itertuples()}
    assert set(truth) <= set(got)
    for key, value in got.items():
        # latent paths are not attenuated by measurement error; coarse ordinal items and the
        # standardization of endogenous variances leave small deviations (paths absent from the
        # generating model are 0)
        assert value == pytest.approx(truth.get(key, 0.0), abs=0.08), key
    assert float(res.fit["cfi"].iloc[0]) > 0.95


def test_invariance_template_over_two_simulated_groups():
    a, _ = _simulated_items(900, seed=21)
    b, _ = _simulated_items(900, seed=22)
    data = pd.concat([a.assign(sample="clinical"), b.assign(sample="community")], ignore_index=True)
    res = fit_template(data, "scip-core-invariance", score=True, group="sample")
    assert res.details["template"] == "scip-core-invariance" and res.details["groups"] == ["clinical", "community"]
    t = res.table.set_index("level")
    assert list(t.index) == ["configural", "metric", "scalar", "strict"]
    assert list(t["df"].diff().iloc[1:]) == [12, 12, 18]  # 18 parcels: 12 free loadings, 18 intercepts, 18 residuals
    # the same generating model in both groups: invariance holds at every level
    assert (t["delta_cfi"].iloc[1:] > -0.01).all()
    # one parcel allocation for both groups (formed on the pooled items)
    assert len(res.details["parcels"]) == 6 + 6 + 25 + 20 + 12 + 7
