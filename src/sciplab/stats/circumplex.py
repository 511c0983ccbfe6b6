"""Structural Summary Method (SSM) for circumplex profiles, with vectorised bootstrap CIs.

Implements
----------
* :func:`ssm` -- mean-based profiles (scale means per group) and correlation-based profiles
  (Pearson r of each external measure with each scale, listwise or pairwise deletion) for any
  number of groups and measures; SSM parameters elevation (e), x, y, amplitude (a),
  displacement (d) and fit (R^2); group or measure contrasts; case-resampling bootstrap CIs,
  stratified by group.
* :func:`ssm_scores` -- SSM parameters of every row (person) at once.

Formulas (``_formulas.ssm_parameters``; Zimmermann & Wright 2017): e = mean(s),
x = (2/m) sum s_i cos theta_i, y = (2/m) sum s_i sin theta_i, a = sqrt(x^2 + y^2),
d = atan2(y, x) mod 360 deg, fit = 1 - SS_res / SS_tot of the cosine curve e + a cos(theta - d).

Sources
-------
Gurtman, M. B. (1992). Construct validity of interpersonal personality measures: The
interpersonal circumplex as a nomological net. *JPSP, 63*, 105-118.
Gurtman, M. B., & Balakrishnan, J. D. (1998). Circular measurement redux: The analysis and
interpretation of interpersonal circle profiles. *Clin Psychol Sci Pract, 5*, 344-360.
Wright, A. G. C., Pincus, A. L., Conroy, D. E., & Hilsenroth, M. J. (2009). Integrating methods to
optimize circumplex description and comparison of groups. *J Pers Assess, 91*, 311-322.
Zimmermann, J., & Wright, A. G. C. (2017). Beyond description in interpersonal construct
validation: Methodological advances in the circumplex Structural Summary Approach.
*Assessment, 24*, 3-23.
Girard, Zimmermann & Wright: R package ``circumplex`` (``ssm_analyze``), whose conventions
(column names, contrast = second minus first, degenerate-profile rules of version >= 1.2.0) we
follow; re-implemented from the formulas, no code taken.

Deliberate differences from R ``circumplex``
-------------------------------------------
* Bootstrap: numpy PCG64 streams from :mod:`sciplab.stats._bootstrap`, not R's RNG through
  ``boot::boot``; CIs agree within Monte Carlo error, not digit for digit. All replicates are
  evaluated in one vectorised pass (weighted sums from resampling counts), chunked for memory.
* Displacement CI: circular percentile interval centred on the circular mean of the replicates
  (R centres on a circular median). Replicates with a degenerate profile (flat or zero
  amplitude) are dropped from the displacement quantiles and counted in ``details``.
* Contrast displacement CI is reported on the branch of the estimate (endpoints may pass
  +-180 deg) instead of reduced mod 360, so the estimate lies inside its interval.
* ``contrast="pairwise"`` gives all pairwise contrasts among k >= 2 groups (or measures);
  R allows exactly two.
* Angles: 360 is accepted as a synonym of 0 (R's ``octants()`` writes LM as 360); any other
  angle outside [0, 360) is an error.
* Missing values never pass silently: dropped rows and per-scale n are reported (warning and
  ``details``).
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from sciplab._core.angles import degrees_0_360, wrap_pi
from sciplab._core.errors import DataError, DataWarning, InvalidParameterError, suggest
from sciplab._core.random import SeedLike
from sciplab._core.results import Result, package_version
from sciplab._core.validation import check_level, check_replicates
from sciplab.stats._bootstrap import (
    Resampler,
    auto_chunk,
    check_memory,
    circular_percentile_ci,
    resampling_seed,
)
from sciplab.stats._formulas import ssm_parameters
from sciplab.stats._ssm_core import (
    _ALL,
    _check_angles,
    _check_columns,
    _check_frame,
    _check_point_correlations,
    _column_list,
    _contrast_angle_ci,
    _contrast_pairs,
    _linear_ci,
    _prepare,
    _Prepared,
    _profile_labels,
    _profiles,
    _where,
)

__all__ = ["OCTANTS", "OCTANT_CODES", "SSMResult", "ssm", "ssm_scores"]

OCTANT_CODES: tuple[str, ...] = ("PA", "BC", "DE", "FG", "HI", "JK", "LM", "NO")
"""The eight octant codes of the interpersonal circumplex, in R ``circumplex`` order (the one home)."""

OCTANTS: tuple[float, ...] = (90.0, 135.0, 180.0, 225.0, 270.0, 315.0, 360.0, 45.0)
"""Octant angles in degrees for :data:`OCTANT_CODES` (PA ... NO; R ``circumplex::octants()``)."""

_PARAMS = ("e", "x", "y", "a", "d")
_NAMES = {
    "e": "Elevation",
    "x": "X-Value",
    "y": "Y-Value",
    "a": "Amplitude",
    "d": "Displacement",
    "fit": "Fit",
}
_TABLE_COLUMNS = (
    ["label", "group", "measure"] + [f"{p}_{s}" for p in _PARAMS for s in ("est", "lci", "uci")] + ["fit_est"]
)


# ---------------------------------------------------------------------------------------------
# Result


@dataclasses.dataclass(frozen=True)
class SSMResult(Result):
    """Result of :func:`ssm`.

    Attributes
    ----------
    table
        One row per profile, then one per contrast, with R ``circumplex`` column names: ``label,
        group, measure, e_est, e_lci, e_uci, x_*, y_*, a_*, d_est, d_lci, d_uci, fit_est``.
        Displacement in degrees: profiles in [0, 360), contrasts in (-180, 180].
    scores
        The profiles analysed (``label, group, measure`` and one column per scale): scale means
        or correlations; contrast rows hold differences of scale scores.
    details
        Settings and bookkeeping: n per group, rows dropped, missing-data rule, bootstrap, level,
        seed used, angles, degenerate replicates, version.
    """

    scores: pd.DataFrame
    title: ClassVar[str] = "Structural Summary Method"

    def summary(self) -> str:
        """Readable report with interpretation guards (the only place that rounds)."""
        det = self.details
        corr = det["score_type"] == "correlation"
        head = f"{self.title}: {'correlation' if corr else 'mean'}-based profiles"
        lines = [head, "=" * len(head)]
        angles = ", ".join(f"{s} {_fmt_num(a, 0)}°" for s, a in zip(det["scales"], det["angles_deg"], strict=True))
        lines.append(f"Scales: {angles}")
        if corr:
            lines.append(f"Measures: {', '.join(det['measures'])}")
        by_group = det["n_by_group"]
        if det["group"] is None:
            lines.append(f"Sample: n = {det['n']}")
        else:
            groups = ", ".join(f"{g} {n}" for g, n in by_group.items())
            lines.append(f"Sample: n = {det['n']} ({det['group']}: {groups})")
        lines.append(f"Missing data: {det['missing']} deletion, {det['rows_dropped']} row(s) dropped")
        B = det.get("bootstrap", 0)
        if B > 0:
            strat = f", stratified by {det['group']}" if det["group"] is not None else ""
            seed = det["seed"]
            lines.append(
                f"Bootstrap: {B} case resamples{strat}; {_fmt_num(100 * det['level'], 0)}% "
                f"percentile CIs (displacement: circular); seed {seed}"
            )
        else:
            lines.append("Bootstrap: none (bootstrap = 0); no confidence intervals")
        contrast_labels = set(det["contrast_labels"])
        for row in self.table.itertuples(index=False):
            is_contrast = row.label in contrast_labels
            lines.append("")
            if is_contrast:
                lines.append(f"{row.label}  (contrast: second minus first)")
            else:
                n_txt = by_group.get(row.group if det["group"] is not None else _ALL)
                lines.append(f"{row.label}  (n = {n_txt})")
            for p in _PARAMS:
                est, lo, hi = (getattr(row, f"{p}_{s}") for s in ("est", "lci", "uci"))
                digits = 1 if p == "d" else 3
                unit = "°" if p == "d" else ""
                ci = "" if B == 0 else f"  [{_fmt_num(lo, digits)}{unit}, {_fmt_num(hi, digits)}{unit}]"
                lines.append(f"  {_NAMES[p]:<13}{_fmt_num(est, digits):>8}{unit}{ci}")
            lines.append(f"  {'Fit':<13}{_fmt_num(row.fit_est, 3):>8}")
            if not is_contrast:
                lines.extend(f"  - {msg}" for msg in _interpretation(row, corr, B > 0))
        lines.append("")
        lines.append(
            "Note: displacement has no null-hypothesis test (0° is an arbitrary reference);\n"
            "an interval written [hi, lo] with hi > lo passes through 0°."
        )
        degenerate = {k: v for k, v in det.get("degenerate_replicates", {}).items() if v}
        if degenerate:
            txt = ", ".join(f"{k}: {v}" for k, v in degenerate.items())
            lines.append(f"Degenerate bootstrap replicates dropped from displacement CIs: {txt}")
        return "\n".join(lines)


def _fmt_num(value: float, digits: int) -> str:
    if value is None or not np.isfinite(value):
        return "NA"
    out = f"{value:.{digits}f}"
    return "0" + out[2:] if out.startswith("-0") and float(out) == 0 else out


def _interpretation(row: Any, corr: bool, has_ci: bool) -> list[str]:
    msgs: list[str] = []
    fit = row.fit_est
    if not np.isfinite(fit):
        msgs.append("flat profile: displacement and fit undefined; interpret elevation only")
        return msgs
    if fit < 0.70:
        msgs.append("fit < .70 (unacceptable): profile not prototypical; interpret elevation only")
    elif fit < 0.80:
        msgs.append("fit .70-.80 (adequate): all parameters interpretable")
    else:
        msgs.append("fit >= .80 (good): all parameters interpretable")
    if has_ci and np.isfinite(row.a_lci):
        if row.a_lci <= 0:
            msgs.append("amplitude CI includes 0: displacement not interpretable")
        elif row.a_lci < 0.35 * (row.a_uci - row.a_lci):
            # stricter rule of R circumplex development code (github.com/jmgirard/circumplex), not yet released
            msgs.append("amplitude CI lower bound < .35 CI widths above 0: interpret displacement with caution")
    if corr:
        e_word = "marked" if abs(row.e_est) >= 0.15 else "modest"
        a_word = "marked" if row.a_est >= 0.15 else "modest"
        msgs.append(
            f"elevation {e_word} (|e| {'>=' if e_word == 'marked' else '<'} .15), "
            f"amplitude {a_word} (a {'>=' if a_word == 'marked' else '<'} .15)"
        )
    return msgs


# ---------------------------------------------------------------------------------------------
# Public API


def ssm(
    data: pd.DataFrame,
    scales: Sequence[str],
    *,
    angles_deg: Sequence[float] = OCTANTS,
    measures: Sequence[str] | str | None = None,
    group: str | None = None,
    contrast: bool | str = False,
    bootstrap: int = 2000,
    level: float = 0.95,
    seed: SeedLike = None,
    listwise: bool = True,
    chunk_size: int | None = None,
) -> SSMResult:
    r"""Structural Summary Method with bootstrap confidence intervals.

    Parameters
    ----------
    data
        One row per respondent; never modified.
    scales
        Circumplex scale columns (at least 3), in the order of ``angles_deg``.
    angles_deg
        Angle of each scale in degrees, in [0, 360) (360 is read as 0). Default: :data:`OCTANTS`
        (PA 90, BC 135, DE 180, FG 225, HI 270, JK 315, LM 360, NO 45).
    measures
        External measure column(s). ``None``: mean-based profiles (scale means); otherwise
        correlation-based profiles (Pearson r of each measure with each scale).
    group
        Optional grouping column; one profile per level (levels sorted, or in categorical order),
        and bootstrap resampling within each level (group sizes fixed). Rows with a missing group
        are left out with a warning.
    contrast
        ``False``; ``True`` for R's contrast of exactly two groups (with at most one measure) or two
        measures (one group): every parameter of the second minus the first; or ``"pairwise"`` for
        all pairwise contrasts among k >= 2 groups (within each measure) or, with one group, among
        measures. Contrast rows are labelled ``"B - A"`` (``"M: B - A"`` with measures).
    bootstrap
        Bootstrap replicates (0: no CIs).
    level
        Confidence level of the intervals.
    seed
        Integer, ``numpy.random.Generator`` or ``None``; the integer that seeds the resampling is
        recorded in ``details["seed"]`` (drawn from a Generator, fresh entropy for ``None``).
    listwise
        ``True``: complete cases on all scales (and measures). ``False``: pairwise -- each mean
        or correlation uses the rows where its own variables are present.
    chunk_size
        Replicates evaluated per vectorised block (memory bound); results do not depend on it.
        ``None`` chooses a block of about 500 MB.

    Returns
    -------
    SSMResult
        ``.table`` (R column names), ``.scores`` (profiles), ``.details``, ``.summary()``,
        ``.to_dict()``.

    Raises
    ------
    DataError
        Missing or non-numeric columns (named, with close matches), a group with fewer than 2
        rows, a constant measure or scale (correlation undefined).
    InvalidParameterError
        Angles not matching the scales or outside [0, 360), a bad ``contrast`` request (for
        example ``True`` with three groups), bad ``bootstrap``/``level``/``seed``.

    Warns
    -----
    DataWarning
        Rows dropped or values missing (with counts per column and the n each profile used); a
        degenerate profile (flat or zero amplitude: displacement NaN, fit NaN or 0); bootstrap
        replicates with degenerate profiles (dropped from the displacement CI and counted).

    Notes
    -----
    For scores :math:`s_i` at angles :math:`\theta_i` (:math:`i = 1..m`):

    .. math::

        e = \bar s,\quad x = \tfrac{2}{m}\sum s_i\cos\theta_i,\quad
        y = \tfrac{2}{m}\sum s_i\sin\theta_i,\quad a = \sqrt{x^2 + y^2},\quad
        d = \operatorname{atan2}(y, x),

        \mathrm{fit} = 1 - \frac{\sum (s_i - e - a\cos(\theta_i - d))^2}{\sum (s_i - \bar s)^2}.

    CIs: percentile (type 7) for e, x, y, a; circular percentile for d (centred on the circular
    mean of the replicates); none for fit. Contrasts: :math:`\Delta = p_2 - p_1`, and
    :math:`\Delta d = ((d_2 - d_1 + \pi) \bmod 2\pi) - \pi`, whose CI is the percentile interval
    of the replicates' :math:`\Delta d^*` around their circular mean, placed on the estimate's
    branch. Matches R: ``circumplex::ssm_analyze(data, scales, angles, measures, grouping,
    contrast)`` point estimates exactly and CIs within Monte Carlo error.

    References
    ----------
    Gurtman & Balakrishnan (1998), *Clin Psychol Sci Pract, 5*, 344-360.
    Wright et al. (2009), *J Pers Assess, 91*, 311-322.
    Zimmermann & Wright (2017), *Assessment, 24*, 3-23.

    Examples
    --------
    A perfectly prototypical profile: elevation .5, amplitude .8, peak at 315 degrees.

    >>> import numpy as np, pandas as pd
    >>> from sciplab.stats.circumplex import OCTANTS, ssm
    >>> names = ["PA", "BC", "DE", "FG", "HI", "JK", "LM", "NO"]
    >>> theta = np.radians(OCTANTS)
    >>> rng = np.random.default_rng(1)
    >>> noise = rng.normal(0, 0.3, size=(50, 8))
    >>> df = pd.DataFrame(0.5 + 0.8 * np.cos(theta - np.radians(315)) + noise, columns=names)
    >>> res = ssm(df, names, bootstrap=200, seed=1)
    >>> print(res.table[["label", "e_est", "a_est", "d_est"]].round(1).to_string(index=False))
    label  e_est  a_est  d_est
      All    0.5    0.8  315.1
    >>> res.details["n"], res.details["bootstrap"], bool(res.table.loc[0, "d_lci"] < 315 < res.table.loc[0, "d_uci"])
    (50, 200, True)
    """
    data = _check_frame(data)
    scales = _column_list(scales, "scales")
    if len(scales) < 3:
        raise InvalidParameterError(f"scales: SSM needs at least 3 scales, got {len(scales)}")
    _check_columns(data, scales, "scales")
    ang_deg = _check_angles(angles_deg, len(scales))
    theta = np.radians(np.mod(ang_deg, 360.0))
    measure_cols: list[Any] = [] if measures is None else _column_list(measures, "measures")
    if measure_cols:
        _check_columns(data, measure_cols, "measures")
        overlap = [str(c) for c in measure_cols if c in scales]
        if overlap:
            raise InvalidParameterError(f"measures also listed as scales: {', '.join(overlap)}")
    if group is not None:
        if group not in data.columns:
            raise DataError(
                f"{_where(data)}group: column '{group}' not found in the data"
                f"{suggest(str(group), map(str, data.columns))}"
            )
        if group in scales or group in measure_cols:
            raise InvalidParameterError(f"group column '{group}' is also a scale or measure")
    if not (isinstance(contrast, bool) or (isinstance(contrast, str) and contrast == "pairwise")):
        raise InvalidParameterError(f"contrast must be False, True or 'pairwise', got {contrast!r}")
    bootstrap = check_replicates(bootstrap, name="bootstrap")
    level = check_level(level)
    if not isinstance(listwise, bool | np.bool_):
        raise InvalidParameterError(f"listwise must be True or False, got {listwise!r}")
    if chunk_size is not None and (isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1):
        raise InvalidParameterError(f"chunk_size must be a positive integer or None, got {chunk_size!r}")
    recorded_seed = resampling_seed(seed)

    prep = _prepare(data, scales, measure_cols, group, bool(listwise))
    G, M, m = len(prep.groups), max(len(measure_cols), 1), len(scales)
    contrasts = _contrast_pairs(contrast, prep.groups, measure_cols, group)

    # ---- point estimates
    profiles = _profiles(prep, np.ones((1, prep.n)))[0]  # (G, M, m)
    labels, groups_col, measures_col = _profile_labels(prep, measure_cols, group)
    if measure_cols:
        _check_point_correlations(profiles, prep, measure_cols, scales, group)
    est = ssm_parameters(profiles, theta)
    flat_profiles = [labels[i] for i in np.flatnonzero(est["flat"].ravel())]
    zero_profiles = [labels[i] for i in np.flatnonzero(est["zero_amplitude"].ravel())]
    if flat_profiles:
        warnings.warn(
            f"flat profile (all scale scores equal) for {', '.join(flat_profiles)}: "
            "displacement and fit are undefined (NaN)",
            DataWarning,
            stacklevel=2,
        )
    if zero_profiles:
        warnings.warn(
            f"zero amplitude for {', '.join(zero_profiles)}: displacement undefined (NaN), fit 0",
            DataWarning,
            stacklevel=2,
        )

    # ---- bootstrap: all replicates through the same kernels, in chunks
    P = G * M
    check_memory(bootstrap, P, arrays=len(_PARAMS) + 1)  # five parameters, one contrast/sort temporary
    reps = {p: np.full((bootstrap, P), np.nan) for p in _PARAMS}
    failed = np.zeros(P, dtype=int)
    if bootstrap > 0:
        strata = prep.codes if G > 1 else None
        sampler = Resampler(prep.n, bootstrap, recorded_seed, strata)
        # per replicate: one row of counts (n floats) plus the weighted sums (small)
        size = chunk_size or auto_chunk(prep.n, bootstrap, floats_per_row=2)
        for start, stop, prof in _replicate_profiles(prep, sampler, size):
            par = ssm_parameters(prof.reshape(stop - start, P, m), theta)
            for p in _PARAMS:
                reps[p][start:stop] = par[p]
            failed += (~np.isfinite(par["e"])).sum(axis=0)

    # ---- assemble profile rows
    rows: list[dict[str, Any]] = []
    degenerate: dict[str, int] = {}
    flat_est = {p: np.asarray(est[p]).ravel() for p in (*_PARAMS, "fit")}
    for i in range(P):
        row: dict[str, Any] = {"label": labels[i], "group": groups_col[i], "measure": measures_col[i]}
        for p in ("e", "x", "y", "a"):
            lo, hi = _linear_ci(reps[p][:, i], level, bootstrap)
            row.update({f"{p}_est": flat_est[p][i], f"{p}_lci": lo, f"{p}_uci": hi})
        d_est = float(degrees_0_360(flat_est["d"][i]))
        d_lo = d_hi = np.nan
        if bootstrap > 0 and np.isfinite(d_est):
            d_reps = reps["d"][:, i]
            ok = np.isfinite(d_reps)
            degenerate[labels[i]] = int(np.isfinite(reps["e"][:, i]).sum() - ok.sum())
            if ok.sum() >= 2:
                ci = circular_percentile_ci(d_reps[ok][:, None], level)[:, 0]
                d_lo, d_hi = float(degrees_0_360(ci[0])), float(degrees_0_360(ci[1]))
        row.update({"d_est": d_est, "d_lci": d_lo, "d_uci": d_hi, "fit_est": flat_est["fit"][i]})
        rows.append(row)

    # ---- contrasts
    score_rows = [profiles.reshape(P, m)[i] for i in range(P)]
    contrast_labels: list[str] = []
    for c in contrasts:
        i1, i2 = c["first"], c["second"]
        row = {"label": c["label"], "group": c["group"], "measure": c["measure"]}
        for p in ("e", "x", "y", "a"):
            diff = reps[p][:, i2] - reps[p][:, i1]
            lo, hi = _linear_ci(diff, level, bootstrap)
            row.update({f"{p}_est": flat_est[p][i2] - flat_est[p][i1], f"{p}_lci": lo, f"{p}_uci": hi})
        d_est = float(wrap_pi(flat_est["d"][i2] - flat_est["d"][i1]))
        d_lo = d_hi = np.nan
        if bootstrap > 0 and np.isfinite(d_est):
            dd = wrap_pi(reps["d"][:, i2] - reps["d"][:, i1])
            ok = np.isfinite(dd)
            degenerate[c["label"]] = int(
                (np.isfinite(reps["e"][:, i2]) & np.isfinite(reps["e"][:, i1])).sum() - ok.sum()
            )
            if ok.sum() >= 2:
                d_lo, d_hi = _contrast_angle_ci(dd[ok], d_est, level)
        row.update(
            {
                "d_est": math.degrees(d_est) if np.isfinite(d_est) else np.nan,
                "d_lci": d_lo,
                "d_uci": d_hi,
                "fit_est": flat_est["fit"][i2] - flat_est["fit"][i1],
            }
        )
        rows.append(row)
        score_rows.append(score_rows[i2] - score_rows[i1])
        labels_all = c["label"]
        contrast_labels.append(labels_all)
    bad_d = {k: v for k, v in degenerate.items() if v}
    if bad_d:
        txt = ", ".join(f"{k} {v} of {bootstrap}" for k, v in bad_d.items())
        warnings.warn(
            f"bootstrap replicates with a degenerate profile (flat or zero amplitude) were dropped "
            f"from the displacement CI: {txt}",
            DataWarning,
            stacklevel=2,
        )

    table = pd.DataFrame(rows, columns=_TABLE_COLUMNS)
    score_labels = pd.DataFrame(
        {
            "label": [r["label"] for r in rows],
            "group": [r["group"] for r in rows],
            "measure": [r["measure"] for r in rows],
        }
    )
    scores_df = pd.concat([score_labels, pd.DataFrame(np.vstack(score_rows), columns=[str(s) for s in scales])], axis=1)
    details = {
        "score_type": "correlation" if measure_cols else "mean",
        "results_type": "contrast" if contrasts else "profile",
        "scales": [str(s) for s in scales],
        "angles_deg": [float(a) for a in ang_deg],
        "measures": [str(c) for c in measure_cols],
        "group": None if group is None else str(group),
        "contrast": contrast,
        "contrast_labels": contrast_labels,
        "profile_labels": labels,
        "n": prep.n,
        "n_by_group": {str(g): int(k) for g, k in zip(prep.group_names, prep.group_sizes, strict=True)},
        "n_input_rows": int(data.shape[0]),
        "rows_dropped": prep.rows_dropped,
        "rows_dropped_by_reason": prep.drop_reasons,
        "missing": "listwise" if listwise else "pairwise",
        "n_used": prep.n_used(labels),
        "bootstrap": bootstrap,
        "level": level,
        "ci_method": {"e,x,y,a": "percentile (type 7)", "d": "circular percentile", "fit": None},
        "resampling": "case resampling" + (f", stratified by {group}" if group is not None else ""),
        "seed": recorded_seed,
        "degenerate_replicates": degenerate,
        "failed_replicates": {labels[i]: int(failed[i]) for i in range(P)},
        "version": package_version(),
    }
    return SSMResult(table=table, details=details, scores=scores_df)


def _replicate_profiles(prep: _Prepared, sampler: Resampler, size: int) -> Iterator[tuple[int, int, np.ndarray]]:
    """``(start, stop, profiles (reps, G, M, m))`` of the bootstrap replicates, chunk by chunk.

    Mean-based profiles of complete data come from :meth:`Resampler.weighted_sums` (each
    replicate's counts multiplied by the group-blocked scores as they are drawn, no ``(B, n)``
    count matrix); resampling is within groups, so each group's weight total is its size.
    Correlation-based or pairwise-missing profiles use a block of counts (:func:`_profiles`).
    """
    if prep.corr or prep.VX is not None:
        for start in range(0, sampler.B, size):
            stop = min(start + size, sampler.B)
            yield start, stop, _profiles(prep, sampler.counts(start, stop))
        return
    G, m = len(prep.members), prep.X.shape[1]
    table = np.zeros((prep.n, G * m))
    sizes = np.empty(G * m)
    for g, mem in enumerate(prep.members):
        table[mem, g * m : (g + 1) * m] = prep.X[mem]
        sizes[g * m : (g + 1) * m] = mem.size
    for start, stop, sums in sampler.weighted_sums(table, size):
        yield start, stop, (sums / sizes).reshape(stop - start, G, 1, m)


def ssm_scores(data: pd.DataFrame, scales: Sequence[str], *, angles_deg: Sequence[float] = OCTANTS) -> pd.DataFrame:
    r"""SSM parameters of every row (person), vectorised.

    Parameters
    ----------
    data
        One row per person; never modified.
    scales
        Scale columns in the order of ``angles_deg``.
    angles_deg
        Scale angles in degrees in [0, 360) (360 read as 0); default :data:`OCTANTS`.

    Returns
    -------
    pandas.DataFrame
        Same index as ``data``; columns ``elevation, x_value, y_value, amplitude, displacement``
        (degrees in [0, 360)) and ``fit``. Rows with a missing scale score are all NaN; flat rows
        have NaN displacement and fit; zero-amplitude rows NaN displacement and fit 0.

    Warns
    -----
    DataWarning
        How many rows had missing scale scores or degenerate profiles.

    Notes
    -----
    Same estimator as :func:`ssm` applied to each row's scores :math:`s_i`:
    :math:`e = \bar s`, :math:`x = \tfrac{2}{m}\sum s_i\cos\theta_i`,
    :math:`y = \tfrac{2}{m}\sum s_i\sin\theta_i`, :math:`a = \sqrt{x^2+y^2}`,
    :math:`d = \operatorname{atan2}(y, x)`, fit = :math:`R^2` of the cosine curve.
    Matches R: ``circumplex::ssm_score``.

    References
    ----------
    Zimmermann & Wright (2017), *Assessment, 24*, 3-23.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sciplab.stats.circumplex import OCTANTS, ssm_scores
    >>> names = ["PA", "BC", "DE", "FG", "HI", "JK", "LM", "NO"]
    >>> row = 1 + 2 * np.cos(np.radians(OCTANTS) - np.radians(90))
    >>> ssm_scores(pd.DataFrame([row], columns=names), names).round(3).to_dict("records")
    [{'elevation': 1.0, 'x_value': 0.0, 'y_value': 2.0, 'amplitude': 2.0, 'displacement': 90.0, 'fit': 1.0}]
    """
    data = _check_frame(data)
    scales = _column_list(scales, "scales")
    if len(scales) < 3:
        raise InvalidParameterError(f"scales: SSM needs at least 3 scales, got {len(scales)}")
    _check_columns(data, scales, "scales")
    ang = _check_angles(angles_deg, len(scales))
    X = data[scales].to_numpy(dtype=float)
    par = ssm_parameters(X, np.radians(np.mod(ang, 360.0)))
    missing = int((~np.isfinite(X)).any(axis=1).sum())
    if missing:
        warnings.warn(
            f"{missing} of {X.shape[0]} rows have missing scale scores; their SSM scores are NaN",
            DataWarning,
            stacklevel=2,
        )
    n_flat, n_zero = int(par["flat"].sum()), int(par["zero_amplitude"].sum())
    if n_flat or n_zero:
        warnings.warn(
            f"{n_flat} flat row(s) (displacement and fit NaN) and {n_zero} zero-amplitude row(s) "
            "(displacement NaN, fit 0)",
            DataWarning,
            stacklevel=2,
        )
    return pd.DataFrame(
        {
            "elevation": par["e"],
            "x_value": par["x"],
            "y_value": par["y"],
            "amplitude": par["a"],
            "displacement": degrees_0_360(par["d"]),
            "fit": par["fit"],
        },
        index=data.index,
    )
