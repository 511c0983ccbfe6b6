"""Write tests/reference/reliability_reference.json: expected reliability values for a fixed dataset.

Independent of sciplab: the ECR-S key is written out from ../shared/docs/instruments.md §3.3
(anxiety = 2, 4, 6, 8R, 10, 12; avoidance = 1R, 3, 5R, 7, 9R, 11; reverse = 8 - x on 1-7), alpha
comes from pingouin, the Feldt interval from scipy's F quantiles (pingouin rounds its interval to
3 decimals; both are stored), item-rest correlations and standardized alpha from pandas/numpy,
alpha-if-deleted from pingouin on the remaining items, and the one-factor ML solution from
statsmodels (correlation metric), from which omega total is computed.

Run from the repository root:  uv run python tests/reference/make_reliability_reference.py
The simulated data are stored in the JSON, so the test does not depend on a random generator.
"""

from __future__ import annotations

import json
import platform
import sys
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
import pingouin as pg
from scipy import stats
from statsmodels.multivariate.factor import Factor

OUT = Path(__file__).with_name("reliability_reference.json")
SEED = 20240917
N = 160
SCALES = {"anxiety": [2, 4, 6, 8, 10, 12], "avoidance": [1, 3, 5, 7, 9, 11]}
REVERSE = {1, 5, 8, 9}


def simulate() -> pd.DataFrame:
    rng = np.random.default_rng(SEED)
    anx, avo = rng.multivariate_normal([0, 0], [[1, 0.3], [0.3, 1]], size=N).T
    loadings = [0.9, 0.7, 0.8, 0.6, 1.0, 0.5]
    cols = {}
    for name, items in SCALES.items():
        trait = anx if name == "anxiety" else avo
        for lam, item in zip(loadings, items, strict=True):
            latent = 4 + 1.2 * lam * trait + rng.normal(scale=1.0, size=N)
            if item in REVERSE:
                latent = 8 - latent
            cols[item] = np.clip(np.round(latent), 1, 7)
    df = pd.DataFrame({f"ECRS_{i:02d}": cols[i] for i in range(1, 13)})
    # a few missing answers: complete cases per scale are used
    df.iloc[3, 1] = np.nan  # item 2 (anxiety)
    df.iloc[10, 0] = np.nan  # item 1 (avoidance)
    df.iloc[11, 6] = np.nan  # item 7 (avoidance)
    return df


def feldt(alpha: float, n: int, k: int, level: float = 0.95) -> list[float]:
    g = 1 - level
    d1, d2 = n - 1, (n - 1) * (k - 1)
    return [1 - (1 - alpha) * stats.f.isf(g / 2, d1, d2), 1 - (1 - alpha) * stats.f.isf(1 - g / 2, d1, d2)]


def expected(df: pd.DataFrame) -> dict:
    keyed = df.copy()
    for i in REVERSE:
        keyed[f"ECRS_{i:02d}"] = 8 - keyed[f"ECRS_{i:02d}"]
    out = {}
    for name, items in SCALES.items():
        sub = keyed[[f"ECRS_{i:02d}" for i in items]].dropna()
        n, k = sub.shape
        alpha, ci_pg = pg.cronbach_alpha(data=sub)
        corr = sub.corr().to_numpy()
        rbar = corr[np.triu_indices(k, 1)].mean()
        total = sub.sum(axis=1)
        rest = [float(np.corrcoef(sub[c], total - sub[c])[0, 1]) for c in sub.columns]
        deleted = [float(pg.cronbach_alpha(data=sub.drop(columns=c))[0]) for c in sub.columns]
        fa = Factor(corr=corr, n_factor=1, method="ml", nobs=n).fit()
        lam = fa.loadings.ravel()
        lam = lam * np.sign(lam.sum())
        psi = np.asarray(fa.uniqueness)
        sd = sub.std(ddof=1).to_numpy()
        lam_cov, psi_cov = lam * sd, psi * sd**2
        omega = lam_cov.sum() ** 2 / (lam_cov.sum() ** 2 + psi_cov.sum())
        out[name] = {
            "n": int(n),
            "n_dropped": int(len(df) - n),
            "alpha": float(alpha),
            "alpha_ci_feldt": [float(v) for v in feldt(float(alpha), n, k)],
            "alpha_ci_pingouin": [float(v) for v in ci_pg],
            "alpha_std": float(k * rbar / (1 + (k - 1) * rbar)),
            "mean_inter_item_r": float(rbar),
            "item_rest_r": rest,
            "alpha_if_deleted": deleted,
            "loadings_correlation_metric": [float(v) for v in lam],
            "uniquenesses_correlation_metric": [float(v) for v in psi],
            "omega_total": float(omega),
        }
    return out


def main() -> None:
    df = simulate()
    payload = {
        "header": {
            "generated_by": "tests/reference/make_reliability_reference.py",
            "instrument": "ECR-S",
            "key_source": "../shared/docs/instruments.md §3.3",
            "seed": SEED,
            "versions": {
                "python": platform.python_version(),
                **{p: version(p) for p in ("numpy", "scipy", "pandas", "pingouin", "statsmodels")},
            },
            "tolerances": "alpha, Feldt CI, standardized alpha, item-rest r, alpha if deleted: 1e-6; "
            "pingouin's rounded CI: 5e-4; ML loadings and omega: 1e-4",
        },
        "columns": list(df.columns),
        "data": [[None if np.isnan(v) else int(v) for v in row] for row in df.to_numpy()],
        "expected": expected(df),
    }
    OUT.write_text(json.dumps(payload, indent=1) + "\n")
    print(f"wrote {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
