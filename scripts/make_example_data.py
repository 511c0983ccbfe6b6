"""Generate the bundled example dataset ``src/sciplab/datasets/scip_example/scip_example.csv``.

Synthetic respondents (no real person, no licensed content): latent SCIP constructs are drawn from
a small linear model of the SCIP chain, then turned into item responses with an ordinal
(graded-response-like) rule, using only the scoring keys of the instrument library (item counts,
response ranges, reverse-keyed items). Item wording is never used.

Run from the repository root:  uv run python scripts/make_example_data.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import norm

from sciplab.instruments import get_instrument
from sciplab.scoring.columns import default_column_name

SEED = 20_051_005  # Mallinckrodt & Wei (2005): a memorable, fixed seed
N = 400
OUT = Path(__file__).resolve().parents[1] / "src" / "sciplab" / "datasets" / "scip_example" / "scip_example.csv"

# Standardised structural model of the SCIP chain (signs from scip-model.md; sizes illustrative).
PATHS = {
    "attachment_avoidance": {"attachment_anxiety": 0.30},
    "social_self_efficacy": {"attachment_anxiety": -0.25, "attachment_avoidance": -0.35},
    "emotional_awareness": {"attachment_anxiety": -0.20, "attachment_avoidance": -0.35},
    "social_support": {"social_self_efficacy": 0.35, "emotional_awareness": 0.20, "attachment_avoidance": -0.15},
    "distress": {
        "attachment_anxiety": 0.30,
        "social_support": -0.25,
        "social_self_efficacy": -0.15,
        "emotional_awareness": -0.10,
    },
}
# instrument -> (scale -> latent construct, sign); item loading; response skew (threshold shift)
MEASURES = {
    "ECR-S": ({"anxiety": ("attachment_anxiety", 1), "avoidance": ("attachment_avoidance", 1)}, 0.70, 0.0),
    "PSSE": ({"total": ("social_self_efficacy", 1)}, 0.65, -0.3),
    "TAS-20": (
        {"DIF": ("emotional_awareness", -1), "DDF": ("emotional_awareness", -1), "EOT": ("emotional_awareness", -1)},
        0.55,
        0.2,
    ),
    "MSPSS": (
        {"significant_other": ("social_support", 1), "family": ("social_support", 1), "friends": ("social_support", 1)},
        0.75,
        -0.6,
    ),
    "PHQ-9": ({"total": ("distress", 1)}, 0.70, 0.9),
}


def latent(rng: np.random.Generator) -> pd.DataFrame:
    lat: dict[str, np.ndarray] = {"attachment_anxiety": rng.standard_normal(N)}
    for target, preds in PATHS.items():
        signal = sum(b * lat[p] for p, b in preds.items())
        resid_var = max(0.2, 1 - float(np.var(signal)))
        lat[target] = signal + np.sqrt(resid_var) * rng.standard_normal(N)
    return pd.DataFrame(lat)


def items_for(instrument_id: str, lat: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    inst = get_instrument(instrument_id)
    scales, loading, shift = MEASURES[instrument_id]
    lo, hi = inst.response.min, inst.response.max
    k = hi - lo + 1
    cuts = norm.ppf(np.arange(1, k) / k) + shift
    reverse = set(inst.key.reverse) if inst.key else set()
    out = {}
    owner = {}
    for sname, (construct, sign) in scales.items():
        for item in inst.scale(sname).items:
            owner[item] = (construct, sign)
    for item in inst.item_numbers:
        construct, sign = owner[item]
        y = loading * sign * lat[construct].to_numpy() + np.sqrt(1 - loading**2) * rng.standard_normal(N)
        response = lo + np.searchsorted(cuts, y).astype(float)
        if item in reverse:  # the respondent answers the printed (reverse-worded) item
            response = lo + hi - response
        out[default_column_name(inst, item)] = response
    frame = pd.DataFrame(out)
    holes = rng.random(frame.shape) < 0.004  # a few skipped items, as in real questionnaires
    frame = frame.mask(holes)
    return frame.astype("Int64")


def main() -> None:
    rng = np.random.default_rng(SEED)
    lat = latent(rng)
    parts = [
        pd.DataFrame(
            {
                "id": [f"P{i:03d}" for i in range(1, N + 1)],
                "gender": rng.choice(["female", "male", "nonbinary"], N, p=[0.55, 0.42, 0.03]),
                "age": rng.integers(18, 30, N),
            }
        )
    ]
    parts += [items_for(i, lat, rng) for i in MEASURES]
    data = pd.concat(parts, axis=1)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    data.to_csv(OUT, index=False)
    print(f"wrote {OUT} ({data.shape[0]} rows x {data.shape[1]} columns)")


if __name__ == "__main__":
    main()
