"""After the fit: starting values, identification, standardized solutions, R², modification indices.

Sources
-------
* Starting values: loadings from Bollen's triad rule (``psi = s_mj s_mk / s_jk`` for the marker
  m), variances half the observed variance (lavaan's ``start = "simple"`` for the rest).
* Identification: t-rule (free parameters <= sample moments) and the rank of the Jacobian of the
  implied moments with respect to the free parameters at a generic point (Rothenberg 1971;
  Bekker, Merckens & Wansbeek 1994); parameters in the Jacobian's null space are named.
* Standardized solutions (lavaan's ``std.lv``, ``std.all``) from the model-implied variances;
  delta-method SEs with a central-difference Jacobian.
* Modification indices: score test of one fixed-at-zero parameter,
  ``MI = N g_c^2 / (2 h_c)``, ``h_c = H_cc - H_c. H^-1 H_.c`` (expected information), expected
  parameter change ``EPC = -g_c / h_c`` (Sorbom 1989; Saris, Satorra & Sorbom 1987).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from sciplab._core.errors import InvalidParameterError
from sciplab.stats.sem import _ml
from sciplab.stats.sem._spec import Design, Spec


def starts(spec: Spec, means: list[np.ndarray], covs: list[np.ndarray]) -> np.ndarray:
    """Starting values of ``phi``."""
    theta = np.full(spec.n_theta, np.nan)
    obs = {v: i for i, v in enumerate(spec.observed)}
    recs = spec.records
    lat = set(spec.latent)
    indicators = {r["rhs"] for r in recs if r["op"] == "=~"}
    outcomes = {r["lhs"] for r in recs if r["op"] == "~"}
    for g in range(len(spec.groups)):
        cov, mean = covs[g], means[g]
        rg = [r for r in recs if r["group"] == g + 1]
        psi: dict[str, float] = {}
        lam: dict[tuple[str, str], float] = {}
        for f in spec.latent:
            rows = [r for r in rg if r["op"] == "=~" and r["lhs"] == f]
            ind = [r["rhs"] for r in rows if r["rhs"] in obs]
            marker = next((r for r in rows if r["free"] == 0 and r["value"] != 0 and r["rhs"] in obs), None)
            if marker is None or len(ind) < 2:
                continue
            mval, m = float(marker["value"]), obs[marker["rhs"]]
            others = [obs[v] for v in ind if v != marker["rhs"]]
            est = [
                cov[m, j] * cov[m, k] / cov[j, k]
                for a, j in enumerate(others)
                for k in others[a + 1 :]
                if abs(cov[j, k]) > 1e-12
            ]
            val = (float(np.median(est)) if est else float(cov[m, others[0]])) / mval**2
            psi[f] = val if val > 0 else 0.05
            for v in ind:
                lam[(f, v)] = cov[obs[v], m] / (psi[f] * mval) if v != marker["rhs"] else mval
        for r in rg:
            if r["free"] == 0 or not math.isnan(theta[r["free"] - 1]):
                continue
            k, op, lhs, rhs = r["free"] - 1, r["op"], r["lhs"], r["rhs"]
            if not math.isnan(r["start"]):
                theta[k] = r["start"]
            elif op == "=~":
                theta[k] = lam.get((lhs, rhs), 1.0)
            elif op == "~~" and lhs == rhs:
                if lhs in lat:
                    theta[k] = psi.get(lhs, 0.05)
                else:
                    exo = lhs not in indicators and lhs not in outcomes
                    theta[k] = cov[obs[lhs], obs[lhs]] * (1.0 if exo else 0.5)
            elif op == "~~" and lhs in obs and rhs in obs:
                exo = not ({lhs, rhs} & (indicators | outcomes))
                theta[k] = cov[obs[lhs], obs[rhs]] if exo else 0.0
            elif op == "~1":
                theta[k] = mean[obs[lhs]] if lhs in obs else 0.0
            else:
                theta[k] = 0.0
    theta = np.where(np.isnan(theta), 0.0, theta)
    phi, *_ = np.linalg.lstsq(spec.K, theta - spec.theta0, rcond=None)
    return phi


def moment_jacobian(spec: Spec, phi: np.ndarray) -> np.ndarray:
    """Jacobian of (vech Sigma_g, mu_g) over groups w.r.t. phi, fixed.x moments left out."""
    parts = []
    xs = [spec.observed.index(v) for v in spec.fixed_x]
    for d in spec.designs:
        m = _ml.moments(d, phi[None])
        iu = np.triu_indices(d.p)
        keep = np.array([not (i in xs and j in xs) for i, j in zip(*iu, strict=True)], dtype=bool)
        J = m.dsigma[0][:, iu[0], iu[1]][:, keep]
        parts.append(J)
        if spec.meanstructure:
            keep_m = np.array([i not in xs for i in range(d.p)], dtype=bool)
            parts.append(m.dmu[0][:, keep_m])
    return np.concatenate(parts, axis=1).T


def ndat(spec: Spec) -> int:
    p, px = len(spec.observed), len(spec.fixed_x)
    per = p * (p + 1) // 2 - px * (px + 1) // 2
    if spec.meanstructure:
        per += p - px
    return per * len(spec.groups)


def check_identified(spec: Spec, phi0: np.ndarray) -> None:
    """t-rule and Jacobian rank; raise naming the parameters that cannot be identified."""
    q, nd = spec.q, ndat(spec)
    if q > nd:
        raise InvalidParameterError(
            f"the model is not identified: it has {q} free parameters but the data give only {nd} "
            "sample moments (t-rule); fix parameters (a marker loading per latent variable, "
            "covariances) or add indicators"
        )
    if q == 0:
        return
    rng = np.random.default_rng(20240601)
    J = moment_jacobian(spec, phi0 + 0.05 * rng.standard_normal(q) * (1 + np.abs(phi0)))
    s, vt = np.linalg.svd(J, full_matrices=True)[1:]
    tol = max(J.shape) * np.finfo(float).eps * 1e4 * (s.max() if len(s) else 1.0)
    rank = int((s > tol).sum())
    if rank < q:
        null = vt[rank:]
        weight = np.abs(null).max(axis=0)
        theta_k = np.abs(spec.K) @ weight
        names = [spec.theta_labels[k] for k in np.argsort(-theta_k) if theta_k[k] > 1e-3]
        raise InvalidParameterError(
            f"the model is not identified ({q - rank} parameter direction{'s' if q - rank > 1 else ''} "
            f"cannot be estimated from the data): {', '.join(_pretty(n) for n in names[:12])}"
            f"{' ...' if len(names) > 12 else ''}; fix a marker loading (1*x) or the latent variance "
            "(f ~~ 1*f) for each latent variable, or drop free parameters among these"
        )


def _pretty(name: str) -> str:
    for op in ("=~", "~~", "~1", "~"):
        if op in name and not name.startswith("."):
            lhs, rhs = name.split(op, 1)
            return f"{lhs} {op} {rhs}".strip()
    return name


def std_values(spec: Spec, phi: np.ndarray, table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """std.lv and std.all of every row of ``table`` (rows ``=~ ~ ~~ ~1``), for each row of ``phi``.

    Returns two ``(R, rows)`` arrays.
    """
    R = phi.shape[0]
    theta = spec.theta(phi)
    index = {v: i for i, v in enumerate(spec.observed + spec.latent)}
    lat = np.array([v in set(spec.latent) for v in spec.observed + spec.latent])
    sds, rsds = [], []
    for d in spec.designs:
        C = _ml.moments(d, phi, jac=False).C
        sd = np.sqrt(np.abs(np.diagonal(C, axis1=1, axis2=2)))
        sds.append(sd)
        # (residual) variance parameters: covariances are standardized by them (lavaan: a residual
        # covariance becomes a residual correlation)
        Sd = np.diagonal(d.S0, axis1=-2, axis2=-1) + phi @ np.diagonal(d.DS, axis1=1, axis2=2)
        rsds.append(np.sqrt(np.abs(np.broadcast_to(Sd, sd.shape))))
    lv = np.zeros((R, len(table)))
    al = np.zeros((R, len(table)))
    sdls = [np.where(lat[None, :], sd, 1.0) for sd in sds]
    cols = zip(table["lhs"], table["op"], table["rhs"], table["group"], table["free"], table["value"], strict=True)
    for i, (lhs, op, rhs, group, free, value) in enumerate(cols):
        est = theta[:, free - 1] if free > 0 else np.full(R, value)
        sd, sdl, rsd = sds[group - 1], sdls[group - 1], rsds[group - 1]
        a = index[lhs]
        if op == "=~":
            b = index[rhs]
            lv[:, i] = est * sdl[:, a] / sdl[:, b]
            al[:, i] = est * sd[:, a] / sd[:, b]
        elif op == "~":
            b = index[rhs]
            lv[:, i] = est * sdl[:, b] / sdl[:, a]
            al[:, i] = est * sd[:, b] / sd[:, a]
        elif op == "~~" and lhs != rhs:
            b = index[rhs]
            den = rsd[:, a] * rsd[:, b]
            al[:, i] = est / den
            lv[:, i] = est / den if lat[a] and lat[b] else est / (sdl[:, a] * sdl[:, b])
        elif op == "~~":
            lv[:, i] = est / sdl[:, a] ** 2
            al[:, i] = est / sd[:, a] ** 2
        else:
            lv[:, i] = est / sdl[:, a]
            al[:, i] = est / sd[:, a]
    return lv, al


def numeric_jacobian(fun: Any, phi: np.ndarray) -> np.ndarray:
    """Central-difference Jacobian of ``fun`` (R, q) -> (R, m) at ``phi`` (q,): (m, q), all steps at once."""
    q = len(phi)
    h = 1e-6 * np.maximum(1.0, np.abs(phi))
    pts = np.concatenate([phi + np.diag(h), phi - np.diag(h)])
    out = fun(pts)
    return ((out[:q] - out[q:]) / (2 * h)[:, None]).T


def r_squared(spec: Spec, phi: np.ndarray) -> pd.DataFrame:
    """R² of every endogenous variable (indicators and outcomes) per group."""
    recs = spec.records
    endo = set([r["rhs"] for r in recs if r["op"] == "=~"] + [r["lhs"] for r in recs if r["op"] == "~"])
    index = {v: i for i, v in enumerate(spec.observed + spec.latent)}
    theta = spec.theta(phi[None])[0]
    Cs = [np.asarray(_ml.moments(d, phi[None], jac=False).C[0]) for d in spec.designs]
    rows = []
    for r in recs:
        if r["op"] == "~~" and r["lhs"] == r["rhs"] and r["lhs"] in endo:
            resid = theta[r["free"] - 1] if r["free"] > 0 else r["value"]
            i = index[r["lhs"]]
            C = Cs[r["group"] - 1]
            rows.append(
                {"lhs": r["lhs"], "op": "r2", "rhs": r["lhs"], "group": r["group"], "est": 1.0 - resid / C[i, i]}
            )
    return pd.DataFrame(rows, columns=["lhs", "op", "rhs", "group", "est"])


def candidates(spec: Spec) -> list[tuple[int, str, str, str]]:
    """Fixed-at-zero parameters to score: loadings, covariances and regressions (lavaan's candidates)."""
    out = []
    lat = spec.latent
    fixed_x = set(spec.fixed_x)
    ov = [v for v in spec.observed if v not in fixed_x]
    for g in range(len(spec.groups)):
        tg = [r for r in spec.records if r["group"] == g + 1]
        have = {(r["lhs"], r["op"], r["rhs"]) for r in tg}
        have |= {(r["rhs"], r["op"], r["lhs"]) for r in tg if r["op"] == "~~"}
        for f in lat:
            for v in ov:
                if (f, "=~", v) not in have:
                    out.append((g, f, "=~", v))
        for group_vars in (ov, lat):
            for i, a in enumerate(group_vars):
                for b in group_vars[i + 1 :]:
                    if (a, "~~", b) not in have:
                        out.append((g, a, "~~", b))
        # regressions among latent variables and observed variables of the structural part (as
        # lavaan); skipped: existing paths, their reverse (a two-variable loop), and pairs of
        # exogenous variables whose covariance is free (the regression is the same model, MI = 0)
        structural = {r["lhs"] for r in tg if r["op"] == "~"} | {r["rhs"] for r in tg if r["op"] == "~"}
        pool = lat + [v for v in spec.observed if v in structural]
        endo = {r["lhs"] for r in tg if r["op"] == "~"}
        for y in pool:
            if y in fixed_x:
                continue
            for x in pool:
                if x == y or (y, "~", x) in have or (x, "~", y) in have:
                    continue
                if y not in endo and x not in endo and (y, "~~", x) in have:
                    continue
                out.append((g, y, "~", x))
    return out


def modindices(spec: Spec, phi: np.ndarray, blocks: list[_ml.Block], ntotal: int) -> pd.DataFrame:
    """MI, EPC and standardized EPC (``sepc.all``) of every candidate parameter."""
    cands = candidates(spec)
    cols = ["lhs", "op", "rhs", "group", "mi", "epc", "sepc.lv", "sepc.all"]
    if not cands:
        return pd.DataFrame(columns=cols)
    index = {v: i for i, v in enumerate(spec.observed + spec.latent)}
    q = spec.q
    c = len(cands)
    designs = []
    for g, d in enumerate(spec.designs):
        DA = np.zeros((q + c, d.n, d.n))
        DS = np.zeros((q + c, d.n, d.n))
        Dm = np.zeros((q + c, d.n))
        DA[:q], DS[:q], Dm[:q] = d.DA, d.DS, d.Dm
        for k, (gg, lhs, op, rhs) in enumerate(cands):
            if gg != g:
                continue
            if op == "=~":
                DA[q + k, index[rhs], index[lhs]] = 1.0
            elif op == "~":
                DA[q + k, index[lhs], index[rhs]] = 1.0
            else:
                DS[q + k, index[lhs], index[rhs]] = DS[q + k, index[rhs], index[lhs]] = 1.0
        designs.append(Design(d.p, d.n, d.A0, d.S0, d.m0, DA, DS, Dm))
    ext = np.concatenate([phi, np.zeros(c)])[None]
    _, g_all, H_all = _ml.evaluate(designs, blocks, ext, meanstructure=spec.meanstructure)
    assert g_all is not None and H_all is not None
    g, H = g_all[0], H_all[0]
    Hqq = H[:q, :q]
    Hcq = H[q:, :q]
    h = np.diag(H[q:, q:]) - np.einsum("ij,ji->i", Hcq, np.linalg.solve(Hqq, Hcq.T)) if q else np.diag(H[q:, q:])
    gc = g[q:]
    with np.errstate(divide="ignore", invalid="ignore"):
        mi = ntotal * gc**2 / (2 * h)
        epc = -gc / h
    sds = []
    lat = np.array([v in set(spec.latent) for v in spec.observed + spec.latent])
    for d in spec.designs:
        C = _ml.moments(d, phi[None], jac=False).C[0]
        sds.append(np.sqrt(np.abs(np.diag(C))))
    rows = []
    for k, (gg, lhs, op, rhs) in enumerate(cands):
        sd = sds[gg]
        sdl = np.where(lat, sd, 1.0)
        a, b = index[lhs], index[rhs]
        if op == "=~":
            slv, sall = epc[k] * sdl[a] / sdl[b], epc[k] * sd[a] / sd[b]
        elif op == "~":
            slv, sall = epc[k] * sdl[b] / sdl[a], epc[k] * sd[b] / sd[a]
        else:
            slv, sall = epc[k] / (sdl[a] * sdl[b]), epc[k] / (sd[a] * sd[b])
        rows.append([lhs, op, rhs, gg + 1, mi[k], epc[k], slv, sall])
    out = pd.DataFrame(rows, columns=cols)
    return out.sort_values("mi", ascending=False, kind="stable").reset_index(drop=True)
