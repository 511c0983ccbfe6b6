"""The interpersonal profile of a formulation: the Structural Summary Method of one octant profile.

The eight octant scores of one instrument (IIP-SC, IIP-32) are z-standardised against the
instrument's norm sample when it has one (Wright et al., 2009), and summarised by elevation,
amplitude, displacement and fit (:func:`sciplab.stats.circumplex.ssm_scores`). The interpretation
guards follow Zimmermann & Wright (2017): the shape is interpretable only with fit >= .70; with a
single profile there are no confidence intervals, so displacement is descriptive.

References
----------
Wright, A. G. C., Pincus, A. L., Conroy, D. E., & Hilsenroth, M. J. (2009). Integrating methods to
optimize circumplex description and comparison of groups. *Journal of Personality Assessment, 91*,
311-322.
Zimmermann, J., & Wright, A. G. C. (2017). Beyond description in interpersonal construct validation:
Methodological advances in the circumplex Structural Summary Approach. *Assessment, 24*, 3-23.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from sciplab._core.results import package_version
from sciplab.scoring.engine import norm_on_score_metric
from sciplab.stats.circumplex import SSMResult, ssm_scores

__all__ = ["interpersonal_profile"]

_SSM_COLUMNS = (
    ["label", "group", "measure"] + [f"{p}_{s}" for p in "exyad" for s in ("est", "lci", "uci")] + ["fit_est"]
)


def _guards(fit: float, amplitude: float, standardized: bool) -> tuple[list[str], bool]:
    interpretable = math.isfinite(fit) and fit >= 0.70 and amplitude > 0
    if not math.isfinite(fit):
        guards = ["flat profile: displacement and fit undefined; interpret elevation only"]
    elif fit < 0.70:
        guards = ["fit < .70 (unacceptable): profile not prototypical; interpret elevation only"]
    else:
        guards = [f"fit >= .70 ({'good' if fit >= 0.80 else 'adequate'}): all parameters interpretable"]
    guards.append(
        "single profile: no confidence intervals, so whether the amplitude differs from 0 cannot be tested; "
        "read displacement as descriptive"
    )
    if not standardized:
        guards.append("octants not standardised (no norm): elevation is on the raw item metric")
    return guards, interpretable


def _ssm_result(out: Mapping[str, Any], names: list[str], angles: list[float]) -> SSMResult:
    """The profile as a one-row :class:`SSMResult` (no CIs) for :func:`sciplab.plot.circumplex.plot_circle`."""
    row = {c: np.nan for c in _SSM_COLUMNS}
    row.update(label=f"client ({'z' if out['standardized'] else 'raw'})", group="All", measure=None,
               e_est=out["elevation"], x_est=out["x_value"], y_est=out["y_value"], a_est=out["amplitude"],
               d_est=np.nan if out["displacement"] is None else out["displacement"],
               fit_est=np.nan if out["fit"] is None else out["fit"])  # fmt: skip
    scores = pd.DataFrame([{"label": row["label"], "group": "All", "measure": None, **out["profile"]}])
    return SSMResult(
        table=pd.DataFrame([row], columns=_SSM_COLUMNS),
        details={
            "score_type": "mean",
            "scales": names,
            "angles_deg": angles,
            "contrast_labels": [],
            "profile_labels": [row["label"]],
            "n": 1,
            "bootstrap": 0,
            "group": None,
            "measures": [],
            "n_by_group": {"All": 1},
            "missing": "listwise",
            "rows_dropped": 0,
            "level": 0.95,
            "standardized": out["norm"],
            "version": package_version(),
        },  # fmt: skip
        scores=scores,
    )


def interpersonal_profile(
    measures: list[dict[str, Any]], norms: Mapping[str, str] | None, standardize: bool
) -> tuple[dict[str, Any] | None, SSMResult | None]:
    """The interpersonal block (or None without all eight octants of one instrument) and its SSM result."""
    by_inst: dict[str, dict[str, dict[str, Any]]] = {}
    for m in measures:
        s = m["scale"]
        if s.construct == "interpersonal_octant" and s.angle_deg is not None:
            by_inst.setdefault(m["instrument"].id, {})[s.name] = m
    full = [k for k, v in by_inst.items() if len(v) >= 8]
    if not full:
        return None, None
    octs = by_inst[full[0]]
    inst = octs[next(iter(octs))]["instrument"]
    names = [s.name for s in inst.scales if s.angle_deg is not None and s.name in octs]
    angles = [float(inst.scale(n).angle_deg) for n in names]
    raw = [octs[n]["value"] for n in names]
    out: dict[str, Any] = {"instrument": inst.id, "octants": dict(zip(names, raw, strict=True)), "guards": []}
    if any(v is None for v in raw):
        out["guards"].append("an octant score is missing: no SSM")
        return out, None
    norm = None
    if standardize:
        if norms and inst.id in norms:
            norm = inst.norm(norms[inst.id])
        else:
            norm = next((n for n in inst.norms if n.population in ("functional", "general")), None)
    values = np.asarray(raw, float)
    if norm is not None:
        ms = [norm_on_score_metric(norm, inst.scale(n), n) for n in names]
        if all(v is not None for v in ms):
            values = np.array([(x - m[0]) / m[1] for x, m in zip(raw, ms, strict=True)])
        else:
            norm = None
    out["standardized"] = norm is not None
    out["norm"] = None if norm is None else {"id": norm.id, "sample": norm.sample, "n": norm.n, "source": norm.source}
    out["profile"] = dict(zip(names, values.tolist(), strict=True))
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        par = ssm_scores(pd.DataFrame([values], columns=names), names, angles_deg=angles).iloc[0]
    e, a, d, fit = (float(par[k]) for k in ("elevation", "amplitude", "displacement", "fit"))
    out.update(elevation=e, x_value=float(par["x_value"]), y_value=float(par["y_value"]), amplitude=a,
               displacement=d if math.isfinite(d) else None, fit=fit if math.isfinite(fit) else None)  # fmt: skip
    out["elevation_z"] = e if norm is not None else None
    guards, interpretable = _guards(fit, a, norm is not None)
    out["guards"] += guards
    out["interpretable"] = interpretable
    if interpretable and math.isfinite(d):
        out["octant"] = min(zip(names, angles, strict=True), key=lambda t: abs((d - t[1] + 180) % 360 - 180))[0]
    else:
        out["octant"] = None
    return out, _ssm_result(out, names, angles)
