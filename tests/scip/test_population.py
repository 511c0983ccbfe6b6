"""SCIP templates as population models for power analysis."""

from __future__ import annotations

import numpy as np
import pytest

import sciplab
from sciplab import InvalidParameterError
from sciplab.scip.population import DEFAULT_EFFECTS, resolve_model, template_population
from sciplab.scip.templates import TEMPLATES
from sciplab.stats.power import population


@pytest.mark.parametrize("name", list(TEMPLATES))
def test_every_template_gives_a_valid_standardized_population(name):
    pop = population(template_population(name))
    np.testing.assert_allclose(np.diag(pop.cov), 1.0, atol=1e-12)
    assert set(TEMPLATES[name].constructs) == set(pop.variables)


def test_scip_core_defaults_reproduce_the_cited_correlations():
    corr = population(template_population("scip-core")).correlation()
    anx, avo = "attachment_anxiety", "attachment_avoidance"
    assert corr.loc[anx, avo] == pytest.approx(0.39, abs=1e-9)  # Li, Sun & Li (2022)
    assert corr.loc[anx, "social_self_efficacy"] == pytest.approx(-0.21, abs=0.005)  # T21
    assert corr.loc[avo, "social_self_efficacy"] == pytest.approx(-0.17, abs=0.005)
    assert corr.loc[anx, "social_support"] == pytest.approx(-0.28, abs=0.005)  # Li, Sun & Li (2022)
    assert corr.loc[avo, "social_support"] == pytest.approx(-0.56, abs=0.005)


def test_user_effects_replace_defaults_and_unknown_keys_are_refused():
    text = template_population(
        "scip-core", {"distress~attachment_anxiety": 0.1, "attachment_avoidance~~attachment_anxiety": 0.5}
    )
    assert "0.1*attachment_anxiety" in text and "attachment_anxiety ~~ 0.5*attachment_avoidance" in text
    with pytest.raises(InvalidParameterError, match="has no path"):
        template_population("scip-core", {"distres~attachment_anxiety": 0.1})
    with pytest.raises(InvalidParameterError, match="finite"):
        template_population("scip-core", {"distress~attachment_anxiety": float("nan")})
    assert DEFAULT_EFFECTS["scip-core"]["distress~attachment_anxiety"] == 0.30  # defaults untouched


def test_resolve_model_and_top_level_power():
    assert resolve_model("y ~ 0.3*x") == "y ~ 0.3*x"
    with pytest.raises(InvalidParameterError, match="template"):
        resolve_model("y ~ 0.3*x", {"y~x": 0.2})
    res = sciplab.power("scip_serial", n=120, reps=100, seed=1, threads=1)
    assert "ind1" in set(res.table["name"])
    assert sciplab.sample_size.__module__ == "sciplab.scip.population"
