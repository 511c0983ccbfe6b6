import numpy as np
import pandas as pd
import pytest

from sciplab._core.errors import KeyNotVerifiedError
from sciplab.scoring import reliability, score
from sciplab.sim.measurement import generate_items, resolve_instruments


def _latents(n, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {"attachment_anxiety": rng.standard_normal(n), "attachment_avoidance": rng.standard_normal(n),
         "emotional_awareness": rng.standard_normal(n)}
    )  # fmt: skip


def test_refuses_instruments_without_key():
    with pytest.raises(KeyNotVerifiedError, match="CATS"):
        resolve_instruments(["CATS"])


def test_reliability_targets_and_scoring_like_real_data():
    lat = _latents(3000)
    items = generate_items(lat, "ECR-R", np.random.default_rng(1))
    scores = score(items, "ECR-R").scores
    assert np.corrcoef(scores["ECR-R_anxiety"], lat["attachment_anxiety"])[0, 1] > 0.85
    rel = reliability(items, "ECR-R", scales=["anxiety"])
    alpha = float(rel.table.loc[rel.table["scale"] == "anxiety", "alpha"].iloc[0])
    assert 0.80 < alpha < 0.92  # target .86 (discretisation lowers it slightly)


def test_inverse_scale_and_no_error():
    lat = _latents(500)
    items = generate_items(lat, "TAS-20", np.random.default_rng(1), error=False)
    tas = score(items, "TAS-20").scores["TAS-20_total"]
    assert np.corrcoef(tas, lat["emotional_awareness"])[0, 1] < -0.95
