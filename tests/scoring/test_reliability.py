"""Reliability against independent computations (pingouin, statsmodels, numpy) and published values."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pingouin as pg
import pytest
from numpy.testing import assert_allclose
from statsmodels.multivariate.factor import Factor
from tests.scoring.conftest import phq

import sciplab
from sciplab import DataError, DataWarning, InvalidParameterError
from sciplab.scoring.reliability import (
    alpha_if_deleted,
    cronbach_alpha,
    feldt_ci,
    item_rest_correlations,
    omega_total,
    one_factor_ml,
    standardized_alpha,
)

REFERENCE = Path(__file__).resolve().parents[1] / "reference" / "reliability_reference.json"


def simulate(n: int = 250, loadings=(0.8, 0.7, 0.6, 0.5, 0.75, 0.4, 0.65), seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    lam = np.asarray(loadings)
    f = rng.normal(size=n)
    return f[:, None] * lam + rng.normal(size=(n, lam.size)) * np.sqrt(1 - lam**2)


def alpha_by_hand(x: np.ndarray) -> float:
    k = x.shape[1]
    return k / (k - 1) * (1 - x.var(axis=0, ddof=1).sum() / x.sum(axis=1).var(ddof=1))


# ----------------------------------------------------------------------------------------------
# Kernels


def test_alpha_and_feldt_ci_match_pingouin() -> None:
    x = simulate()
    alpha_pg, ci_pg = pg.cronbach_alpha(data=pd.DataFrame(x))
    alpha = cronbach_alpha(np.cov(x, rowvar=False))
    assert alpha == pytest.approx(alpha_pg, abs=1e-12)
    assert alpha == pytest.approx(alpha_by_hand(x), abs=1e-12)
    lo, hi = feldt_ci(alpha, x.shape[0], x.shape[1])
    assert_allclose([lo, hi], ci_pg, atol=5e-4)  # pingouin rounds its interval to 3 decimals
    lo90, hi90 = feldt_ci(alpha, x.shape[0], x.shape[1], level=0.90)
    _, ci90 = pg.cronbach_alpha(data=pd.DataFrame(x), ci=0.90)
    assert_allclose([lo90, hi90], ci90, atol=5e-4)
    assert lo < lo90 < alpha < hi90 < hi


def test_pingouin_published_example() -> None:
    """pingouin's documented example: alpha = 0.5917, 95% CI [0.195, 0.84] (15 subjects, 10 items)."""
    try:
        long = pg.read_dataset("cronbach_alpha")
    except Exception as exc:  # pragma: no cover - depends on the installed pingouin
        pytest.skip(f"pingouin's 'cronbach_alpha' dataset is not available offline: {exc}")
    wide = long.pivot(index="Subj", columns="Items", values="Scores").to_numpy(dtype=float)
    assert wide.shape == (15, 10)
    alpha = cronbach_alpha(np.cov(wide, rowvar=False))
    assert alpha == pytest.approx(0.5917, abs=5e-5)
    assert_allclose(feldt_ci(alpha, 15, 10), [0.195, 0.84], atol=5e-4)


def test_alpha_if_deleted_and_item_rest_vs_numpy() -> None:
    x = simulate()
    cov = np.cov(x, rowvar=False)
    k = x.shape[1]
    deleted = [alpha_by_hand(np.delete(x, j, axis=1)) for j in range(k)]
    assert_allclose(alpha_if_deleted(cov), deleted, atol=1e-12)
    total = x.sum(axis=1)
    rest = [np.corrcoef(x[:, j], total - x[:, j])[0, 1] for j in range(k)]
    assert_allclose(item_rest_correlations(cov), rest, atol=1e-12)
    assert np.isnan(alpha_if_deleted(cov[:2, :2])).all()  # 2 items: one left, no alpha


def test_standardized_alpha_vs_formula() -> None:
    x = simulate()
    r = np.corrcoef(x, rowvar=False)
    k = r.shape[0]
    rbar = r[np.triu_indices(k, 1)].mean()
    assert standardized_alpha(r) == pytest.approx(k * rbar / (1 + (k - 1) * rbar), abs=1e-12)
    # standardized alpha is alpha of the z-scored items
    z = (x - x.mean(axis=0)) / x.std(axis=0, ddof=1)
    assert standardized_alpha(r) == pytest.approx(alpha_by_hand(z), abs=1e-12)


def test_one_factor_ml_matches_statsmodels_and_omega() -> None:
    x = simulate(n=400) * np.array([1, 2, 0.5, 1.5, 1, 3, 0.8])  # unequal item variances
    cov = np.cov(x, rowvar=False)
    sd = np.sqrt(np.diag(cov))
    corr = cov / np.outer(sd, sd)
    fa = Factor(corr=corr, n_factor=1, method="ml", nobs=x.shape[0]).fit()
    lam_sm = fa.loadings.ravel() * np.sign(fa.loadings.sum())
    fit = one_factor_ml(cov)
    assert fit.converged and not fit.heywood
    assert_allclose(fit.loadings / sd, lam_sm, atol=1e-4)
    assert_allclose(fit.uniquenesses / sd**2, fa.uniqueness, atol=1e-4)
    lam_cov, psi_cov = lam_sm * sd, np.asarray(fa.uniqueness) * sd**2
    omega = lam_cov.sum() ** 2 / (lam_cov.sum() ** 2 + psi_cov.sum())
    assert omega_total(fit) == pytest.approx(omega, abs=1e-4)
    # the loading vector is oriented to a positive sum
    assert one_factor_ml(cov).loadings.sum() > 0


def test_alpha_with_no_total_variance_is_nan() -> None:
    assert np.isnan(cronbach_alpha(np.zeros((3, 3))))


# ----------------------------------------------------------------------------------------------
# Public analysis


def test_reliability_reverse_keys_first_and_matches_pingouin() -> None:
    """ECR-S: reverse items 1, 5, 8, 9 (instruments.md §3.3) are reversed (8 - x) before alpha."""
    rng = np.random.default_rng(11)
    n = 300
    anx, avo = rng.normal(size=(2, n))
    vals = {}
    for i in range(1, 13):
        trait = anx if i % 2 == 0 else avo
        v = np.clip(np.round(4 + 1.2 * trait + rng.normal(size=n)), 1, 7)
        vals[i] = 8 - v if i in {1, 5, 8, 9} else v
    data = pd.DataFrame({f"ECRS_{i:02d}": vals[i] for i in range(1, 13)})
    res = sciplab.reliability(data, "ECR-S")
    for name, items in {"anxiety": [2, 4, 6, 8, 10, 12], "avoidance": [1, 3, 5, 7, 9, 11]}.items():
        keyed = pd.DataFrame(
            {i: 8 - data[f"ECRS_{i:02d}"] if i in {1, 5, 8, 9} else data[f"ECRS_{i:02d}"] for i in items}
        )
        alpha_pg, ci_pg = pg.cronbach_alpha(data=keyed)
        row = res.table.set_index("scale").loc[name]
        assert row["alpha"] == pytest.approx(alpha_pg, abs=1e-12)
        assert_allclose([row["alpha_lci"], row["alpha_uci"]], ci_pg, atol=5e-4)
        assert row["n"] == n and row["n_items"] == 6 and row["n_dropped"] == 0
        items_tab = res.items[res.items["column"] == f"ECR-S_{name}"]
        assert items_tab["item"].tolist() == items
        assert items_tab["reversed"].tolist() == [i in {1, 5, 8, 9} for i in items]
        assert (items_tab["item_rest_r"] > 0).all()
    assert res.details["notes"] == []
    assert res.details["key_status"] == "verified"


def test_reference_file() -> None:
    ref = json.loads(REFERENCE.read_text())
    assert {"numpy", "pandas", "pingouin", "statsmodels"} <= set(ref["header"]["versions"])
    data = pd.DataFrame(ref["data"], columns=ref["columns"], dtype=float)
    res = sciplab.reliability(data, ref["header"]["instrument"])
    table = res.table.set_index("scale")
    for name, exp in ref["expected"].items():
        row = table.loc[name]
        assert (row["n"], row["n_dropped"]) == (exp["n"], exp["n_dropped"])
        assert_allclose(row["alpha"], exp["alpha"], atol=1e-6)
        assert_allclose([row["alpha_lci"], row["alpha_uci"]], exp["alpha_ci_feldt"], atol=1e-6)
        assert_allclose([row["alpha_lci"], row["alpha_uci"]], exp["alpha_ci_pingouin"], atol=5e-4)
        assert_allclose(row["alpha_std"], exp["alpha_std"], atol=1e-6)
        assert_allclose(row["mean_inter_item_r"], exp["mean_inter_item_r"], atol=1e-6)
        assert_allclose(row["omega_total"], exp["omega_total"], atol=1e-4)
        items = res.items[res.items["column"] == f"ECR-S_{name}"]
        assert_allclose(items["item_rest_r"], exp["item_rest_r"], atol=1e-6)
        assert_allclose(items["alpha_if_deleted"], exp["alpha_if_deleted"], atol=1e-6)
    # the ML kernel against statsmodels' loadings stored in the file
    keyed = data.copy()
    for i in (1, 5, 8, 9):
        keyed[f"ECRS_{i:02d}"] = 8 - keyed[f"ECRS_{i:02d}"]
    for name, items in {"anxiety": [2, 4, 6, 8, 10, 12], "avoidance": [1, 3, 5, 7, 9, 11]}.items():
        sub = keyed[[f"ECRS_{i:02d}" for i in items]].dropna().to_numpy()
        cov = np.cov(sub, rowvar=False)
        sd = np.sqrt(np.diag(cov))
        fit = one_factor_ml(cov)
        assert_allclose(fit.loadings / sd, ref["expected"][name]["loadings_correlation_metric"], atol=1e-4)
        assert_allclose(fit.uniquenesses / sd**2, ref["expected"][name]["uniquenesses_correlation_metric"], atol=1e-4)


def test_negative_item_rest_correlation_is_flagged() -> None:
    res = sciplab.reliability(phq(flip=3), "PHQ-9")
    row = res.items.set_index("item").loc[3]
    assert row["item_rest_r"] < 0
    assert any("item 3 correlates negatively" in n and "check the reverse key" in n for n in res.details["notes"])
    assert "WARNING PHQ-9_total item 3: negative item-rest correlation" in res.summary()


def test_constant_item_warns() -> None:
    data = phq()
    data["PHQ9_4"] = 2
    with pytest.warns(DataWarning, match=r"PHQ-9_total: item\(s\) 4 have no variance"):
        res = sciplab.reliability(data, "PHQ-9")
    row = res.table.iloc[0]
    assert np.isfinite(row["alpha"])
    assert np.isnan(row["alpha_std"]) and np.isnan(row["omega_total"])


def test_listwise_deletion_and_n() -> None:
    data = phq(n=50)
    data.iloc[[0, 5], 2] = np.nan
    res = sciplab.reliability(data, "PHQ-9")
    assert (res.table.loc[0, "n"], res.table.loc[0, "n_dropped"]) == (48, 2)
    x = data.dropna().to_numpy()
    assert res.table.loc[0, "alpha"] == pytest.approx(alpha_by_hand(x), abs=1e-12)
    assert res.details["missing"] == "complete cases per scale (listwise)"


def test_reliability_bad_input() -> None:
    with pytest.raises(DataError, match="only 2 complete response"):
        sciplab.reliability(phq(n=2), "PHQ-9")
    with pytest.raises(InvalidParameterError, match="level must be in"):
        sciplab.reliability(phq(), "PHQ-9", level=95)
    with pytest.raises(DataError, match="must be a pandas DataFrame"):
        sciplab.reliability([[1, 2]], "PHQ-9")  # type: ignore[arg-type]
    bad = phq()
    bad.iloc[0, 0] = 7
    with pytest.raises(DataError, match=r"column 'PHQ9_1' \(item 1\): 7.0"):
        sciplab.reliability(bad, "PHQ-9")
    res = sciplab.reliability(bad, "PHQ-9", on_invalid="missing")
    assert res.table.loc[0, "n_dropped"] == 1


def test_result_output() -> None:
    res = sciplab.reliability(phq(), "PHQ-9")
    d = res.to_dict()
    json.dumps(d, allow_nan=False)
    assert {"table", "items", "details"} <= set(d)
    assert "alpha CI: Feldt, level 0.95" in res.summary()
    assert res.details["alpha_ci"] == "Feldt, Woodruff & Salih (1987)"


def test_heywood_cases_are_flagged_in_the_table() -> None:
    path = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "raw_iipsc.csv"
    if not path.exists():
        pytest.skip(f"reference data not found: {path}")
    res = sciplab.reliability(pd.read_csv(path), "IIP-SC")
    flagged = res.table.loc[res.table["omega_heywood"], "column"].tolist()
    noted = [n.split(":")[0] for n in res.details["notes"] if "Heywood" in n]
    assert res.table["omega_heywood"].dtype == bool
    assert flagged == noted and flagged  # 10 respondents: most one-factor fits hit a bound
    for col in flagged:
        assert f"HEYWOOD {col}:" in res.summary()
    # item statistics stay available for --items
    assert {"item_rest_r", "alpha_if_deleted"} <= set(res.items.columns)
    assert set(res.items["column"]) == set(res.table["column"])


def test_no_heywood_on_a_clean_one_factor_sample() -> None:
    res = sciplab.reliability(phq(), "PHQ-9")
    assert res.table["omega_heywood"].tolist() == [False]
    assert "HEYWOOD" not in res.summary()
