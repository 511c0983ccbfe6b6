"""Tests of the SCIP model templates and their binding to data."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from tests.cli.conftest import path_scores

from sciplab._core.errors import DataError, DataWarning, InvalidParameterError
from sciplab.scip.templates import (
    _check_templates,
    bind,
    fit_template,
    get_template,
    list_templates,
)


@dataclass(frozen=True)
class FakeScale:
    name: str
    construct: str | None
    direction: str = "positive"


@dataclass(frozen=True)
class FakeInstrument:
    id: str
    scales: tuple

    def column(self, scale: str) -> str:
        return f"{self.id}_{scale}"


FAKE = [
    FakeInstrument("ECR", (FakeScale("anxiety", "attachment_anxiety"), FakeScale("avoidance", "attachment_avoidance"))),
    FakeInstrument("TAS-20", (FakeScale("total", "emotional_awareness", "inverse"), FakeScale("DIF", None))),
    FakeInstrument("MSPSS", (FakeScale("total", "social_support"),)),
    FakeInstrument("PHQ-9", (FakeScale("total", "distress"),)),
    FakeInstrument("GAD-7", (FakeScale("total", "distress"),)),
    FakeInstrument("PSSE", (FakeScale("total", "social_self_efficacy"),)),
]


def test_templates_parse_and_declare_their_constructs():
    _check_templates(list_templates())
    names = [t.name for t in list_templates()]
    assert names == ["scip-core", "scip-alliance", "scip-serial"]
    core = get_template("scip-core")
    assert "Mallinckrodt" in core.citation and "Wei" in core.citation
    assert core.roles["attachment_anxiety"] == "predictor"
    assert get_template("SCIP_core") is core


def test_unknown_template_suggests():
    with pytest.raises(InvalidParameterError, match="did you mean 'scip-core'"):
        get_template("scip-cor")


def test_bind_score_columns_reverses_inverse_scales():
    df = path_scores()
    b = bind(df, "scip-core", instruments=FAKE)
    assert b.columns["emotional_awareness"] == "TAS-20_total"
    np.testing.assert_array_equal(b.data["emotional_awareness"], -df["TAS-20_total"])
    assert any("TAS-20_total reversed" in note for note in b.notes)
    assert "emotional_awareness" not in df.columns  # input untouched
    res = fit_template(df, "scip-core", instruments=FAKE, bootstrap=200, seed=1)
    assert res.details["template"] == "scip-core"
    assert any("reversed" in note for note in res.details["binding"])
    assert {"attachment_anxiety", "distress"} <= set(res.details["variables"])
    ind = res.indirect
    spec = ind[(ind["effect"] == "specific") & (ind["from"] == "attachment_anxiety")]
    assert len(spec) == 4  # two mediators x two outcomes


def test_bind_by_construct_names_and_mapping():
    df = path_scores().rename(columns={"ECR_anxiety": "attachment_anxiety"})
    df["my_support"] = df["MSPSS_total"]
    b = bind(df, "scip-core", {"social_support": "my_support"}, instruments=FAKE)
    assert b.columns["attachment_anxiety"] == "attachment_anxiety"
    assert b.columns["social_support"] == "my_support"


def test_missing_constructs_listed_with_scales():
    df = path_scores().drop(columns=["MSPSS_total", "PSSE_total"])
    with pytest.raises(DataError) as info:
        bind(df, "scip-core", instruments=FAKE)
    msg = str(info.value)
    assert "'social_self_efficacy'" in msg and "'social_support'" in msg and "MSPSS_total" in msg
    assert "mapping" in msg


def test_ambiguous_and_bad_mappings():
    df = path_scores()
    df["GAD-7_total"] = df["PHQ-9_total"]
    with pytest.raises(DataError, match="several score columns measure 'distress'.*GAD-7_total"):
        bind(df, "scip-core", instruments=FAKE)
    with pytest.raises(DataError, match="column not found.*did you mean 'PHQ-9_total'"):
        bind(df, "scip-core", {"distress": "PHQ9_total"}, instruments=FAKE)
    with pytest.raises(InvalidParameterError, match="not in template"):
        bind(df, "scip-core", {"distres": "PHQ-9_total"}, instruments=FAKE)


def test_real_registry_binding():
    pytest.importorskip("sciplab.instruments.registry")
    df = path_scores()
    b = bind(df, "scip-serial")
    assert b.columns["social_support"] == "MSPSS_total"
    assert b.columns["attachment_avoidance"] == "ECR_avoidance"


# -- raw items: score=True (issue 10.17) ----------------------------------------------------------


def test_fit_template_scores_raw_items_first():
    from sciplab.datasets import load_example
    from sciplab.scoring import score_all

    raw = load_example()
    with pytest.raises(DataError) as info:
        fit_template(raw, "scip-core", ci="none")
    msg = str(info.value)
    assert "score=True" in msg and "--score" in msg and "--map" in msg and "no a scored" not in msg
    assert "(ECR-S, MSPSS, PHQ-9, PSSE, TAS-20)" in msg
    with pytest.warns(DataWarning):
        res = fit_template(raw, "scip-core", score=True, ci="none")
    assert res.details["scored_from_items"] == ["ECR-S", "MSPSS", "PHQ-9", "PSSE", "TAS-20"]
    # same estimates as scoring by hand and fitting the scores
    scored = pd.concat([raw, score_all(raw, ["ECR-S", "MSPSS", "PHQ-9", "PSSE", "TAS-20"]).scores], axis=1)
    with pytest.warns(DataWarning):
        by_hand = fit_template(scored, "scip-core", ci="none")
    np.testing.assert_allclose(res.table["est"], by_hand.table["est"])
    assert by_hand.details["scored_from_items"] == []


def test_score_true_without_items_is_an_error():
    df = pd.DataFrame({"x": [1.0, 2.0]})
    with pytest.raises(DataError, match="no raw item columns"):
        fit_template(df, "scip-core", score=True)
