"""Reliable and clinically significant change (Jacobson & Truax 1991; analysis-methods.md §5).

``SE_m = SD sqrt(1 - r_xx)``, ``S_diff = sqrt(2 SE_m^2)``, ``RC = (post - pre) / S_diff``; reliable
when ``|RC| > z_(1 - (1 - level)/2)`` (1.96 at .95). Cut-offs (higher = worse; flipped otherwise):
``a = M_dys - 2 SD_dys``, ``b = M_func + 2 SD_func``,
``c = (SD_func M_dys + SD_dys M_func) / (SD_func + SD_dys)``. Classes: recovered (reliable
improvement and crossed the cut-off), improved, unchanged, deteriorated.

SD and r_xx come from the instrument definition (a cited norm sample and a cited reliability),
from the user (``sd=``, ``rxx=``) or, for SD, from the pre-treatment scores (``sd="pre"``); where
the definition publishes a reliable-change value in raw points (CORE-10: 6) and no SD/r_xx is
available, that value is the threshold. Every result records what was used and its source.

This module finds the constants (norms, reliabilities, cut-offs: instrument facts); the arithmetic
and classification are the pure kernel ``sciplab.stats._formulas.jt_classify``, shared with the
session-level ``sciplab.stats.change.client_change``.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
from scipy import stats as st

from sciplab._core.errors import DataError, InvalidParameterError
from sciplab._core.results import Result, package_version
from sciplab._core.validation import check_level
from sciplab.instruments.registry import get_instrument
from sciplab.instruments.schema import Instrument, Norm, Scale
from sciplab.scoring.engine import norm_on_score_metric
from sciplab.stats._formulas import jt_classify

#: Constructs whose high scores are desirable (a high TAS-20 total is undesirable: its scale is
#: declared ``direction = "inverse"`` to emotional awareness, which flips this).
HIGHER_IS_BETTER = {
    "social_self_efficacy",
    "emotional_awareness",
    "interpersonal_competence",
    "social_support",
    "social_support_facet",
    "alliance",
    "alliance_facet",
    "parental_care",
}
HIGHER_IS_WORSE = {
    "attachment_anxiety",
    "attachment_avoidance",
    "parental_overprotection",
    "alexithymia_facet",
    "interpersonal_problems",
    "interpersonal_octant",
    "distress",
    "distress_facet",
}
CLASSES = ("recovered", "improved", "unchanged", "deteriorated")


@dataclasses.dataclass(frozen=True)
class ChangeResult(Result):
    """Per-person reliable change (``.table``) with the constants used (``.details``)."""

    title: ClassVar[str] = "Reliable and clinically significant change (Jacobson & Truax 1991)"

    def summary(self) -> str:
        """Counts per class and the constants with their sources."""
        d = self.details
        counts = self.table["classification"].value_counts().reindex(CLASSES, fill_value=0)
        lines = [self.title, "=" * len(self.title)]
        lines.append(
            f"{d['instrument']} {d['scale']}: n = {len(self.table)} "
            f"({'higher' if d['higher_is_worse'] else 'lower'} scores are worse)"
        )
        if d["method"] == "jacobson-truax":
            lines.append(f"SD = {d['sd']:.3f} ({d['sd_source']}); r_xx = {d['rxx']:.3f} ({d['rxx_source']})")
            lines.append(
                f"S_diff = {d['s_diff']:.3f}; reliable change needs |change| >= {d['min_reliable_change']:.3f}"
            )
        else:
            lines.append(f"published reliable change: {d['min_reliable_change']:g} points ({d['rc_source']})")
        if d["cutoff"] is not None:
            lines.append(f"cut-off {d['cutoff_type']} = {d['cutoff']:.3f} ({d['cutoff_source']})")
        else:
            lines.append("no cut-off available: 'recovered' cannot be assigned")
        for cls in CLASSES:
            lines.append(f"  {cls:<13}{counts[cls]:>6}")
        return "\n".join(lines)


def _series(x: Any, name: str) -> pd.Series:
    if isinstance(x, pd.DataFrame):
        if x.shape[1] != 1:
            raise DataError(f"{name}: expected one column of scale scores, got {x.shape[1]} columns")
        x = x.iloc[:, 0]
    s = x if isinstance(x, pd.Series) else pd.Series(np.asarray(x, dtype=object))
    num = pd.to_numeric(s, errors="coerce")
    bad = s.notna() & num.isna()
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(f"{name}: row {i + 1} (index {s.index[i]!r}) is not a number: {s.iloc[i]!r}")
    return num.astype(float)


def _direction(scale: Scale, inst: Instrument, higher_is_worse: bool | None) -> bool:
    if higher_is_worse is not None:
        return bool(higher_is_worse)
    for cut in inst.cutoffs:
        if cut.scale == scale.name:
            return cut.higher_is_worse
    if scale.construct in HIGHER_IS_WORSE or scale.construct in HIGHER_IS_BETTER:
        worse = scale.construct in HIGHER_IS_WORSE
        return worse if scale.direction == "positive" else not worse
    raise InvalidParameterError(
        f"{inst.id} {scale.name}: cannot tell whether higher scores are worse; pass higher_is_worse"
    )


def _pick_norm(inst: Instrument, scale: Scale, population: str) -> Norm | None:
    for n in inst.norms:
        if n.population == population and scale.name in n.scales:
            return n
    return None


def reliable_change(
    pre: Any,
    post: Any,
    *,
    instrument: str | Instrument,
    scale: str,
    sd: float | Literal["pre"] | None = None,
    rxx: float | None = None,
    reliability: Literal["alpha", "retest"] | None = None,
    cutoff: Literal["auto", "a", "b", "c", "published"] | float | None = "auto",
    higher_is_worse: bool | None = None,
    level: float = 0.95,
    instruments_dir: str | None = None,
) -> ChangeResult:
    """Jacobson & Truax reliable change index and clinical-significance classification.

    Parameters
    ----------
    pre, post
        Scale scores before and after (Series aligned by index, or arrays of equal length), on the
        metric :func:`sciplab.score` produces for ``instrument``/``scale``.
    instrument, scale
        Which scale the scores are; supplies norms, reliability, cut-offs and their sources.
    sd
        SD for the standard error: a number (user-supplied), ``"pre"`` (SD of the pre scores), or
        ``None``: the definition's dysfunctional norm, else its general norm.
    rxx
        Reliability: a number, or ``None`` for the definition's value.
    reliability
        Which published reliability to use when ``rxx`` is None: ``"alpha"`` or ``"retest"``
        (default: alpha when published, else retest).
    cutoff
        ``"auto"`` (c when functional and dysfunctional norms exist, else the published clinical
        cut-off, else a or b from the one norm available), ``"a"``, ``"b"``, ``"c"``,
        ``"published"``, a number, or ``None`` (no recovery classification).
    higher_is_worse
        Direction; default from the definition's cut-off or the scale's SCIP construct.
    level
        Two-sided level for the reliability criterion (0.95 -> 1.96).
    instruments_dir
        Folder of user instrument definitions.

    Returns
    -------
    ChangeResult
        ``.table`` per person: pre, post, change, rc, reliable, improvement, crossed_cutoff,
        classification; ``.details``: SD, r_xx, S_diff, cut-off and every source.

    References
    ----------
    Jacobson, N. S., & Truax, P. (1991). Clinical significance: A statistical approach to defining
    meaningful change in psychotherapy research. JCCP, 59(1), 12-19.

    Examples
    --------
    >>> r = reliable_change([20, 20], [8, 19], instrument="PHQ-9", scale="total", sd=5.0, rxx=0.85)
    >>> r.table["classification"].tolist()
    ['recovered', 'unchanged']
    """
    inst = get_instrument(instrument, instruments_dir=instruments_dir)
    sc = inst.scale(scale)
    level = check_level(level)
    a, b = _series(pre, "pre"), _series(post, "post")
    if isinstance(pre, pd.Series) and isinstance(post, pd.Series):
        if not a.index.equals(b.index):
            raise DataError("pre and post have different indexes; align them (same clients) first")
    elif len(a) != len(b):
        raise DataError(f"pre has {len(a)} scores but post has {len(b)}")
    else:
        b.index = a.index
    if len(a) == 0:
        raise DataError("no scores given")
    lo_r, hi_r = sc.score_range(inst.response)
    for name, s in (("pre", a), ("post", b)):
        out = s[(s < lo_r - 1e-9) | (s > hi_r + 1e-9)]
        if len(out):
            label = out.index[0].item() if isinstance(out.index[0], np.generic) else out.index[0]
            raise DataError(
                f"{name}: score {float(out.iloc[0])!r} at index {label!r} is outside the "
                f"possible range {lo_r:g}-{hi_r:g} of {inst.id} {sc.name}"
            )
    worse_high = _direction(sc, inst, higher_is_worse)
    z = float(st.norm.ppf(1 - (1 - level) / 2))
    dys, func = _pick_norm(inst, sc, "dysfunctional"), _pick_norm(inst, sc, "functional")
    general = _pick_norm(inst, sc, "general")

    # --- SD
    sd_val: float | None
    sd_source = ""
    if isinstance(sd, str):
        if sd != "pre":
            raise InvalidParameterError(f"sd must be a number, 'pre' or None, got {sd!r}")
        sd_val = float(a.std(ddof=1))
        sd_source = f"SD of the pre-treatment scores (n = {int(a.notna().sum())})"
    elif sd is not None:
        sd_val = float(sd)
        if not sd_val > 0:
            raise InvalidParameterError(f"sd must be positive, got {sd!r}")
        sd_source = "user-supplied"
    else:
        sd_val = None
        for nrm in (dys, general):
            if nrm is not None:
                sd_val = norm_on_score_metric(nrm, sc, sc.name)[1]  # type: ignore[index]
                sd_source = f"norm {nrm.id!r}: {nrm.sample} (N = {nrm.n}); {nrm.source}"
                break

    # --- reliability
    rxx_val: float | None = None
    rxx_source = ""
    if rxx is not None:
        rxx_val = float(rxx)
        if not 0 < rxx_val < 1:
            raise InvalidParameterError(f"rxx must be in (0, 1), got {rxx!r}")
        rxx_source = "user-supplied"
    else:
        recs = [r for r in inst.reliability if r.scale == sc.name]
        kinds = [reliability] if reliability else ["alpha", "retest"]
        for kind in kinds:
            rec = next((r for r in recs if getattr(r, kind) is not None), None)
            if rec is not None:
                rxx_val = float(getattr(rec, kind))
                rxx_source = f"{kind} = {rxx_val} ({rec.sample or 'sample not recorded'}); {rec.source}"
                break

    published = next((r for r in inst.reliable_change if r.scale == sc.name), None)
    if sd_val is not None and rxx_val is not None:
        method = "jacobson-truax"
        s_diff = sd_val * np.sqrt(2.0) * np.sqrt(1.0 - rxx_val)
        min_change = z * s_diff
        rc_source = "Jacobson & Truax (1991)"
    elif published is not None and sd is None and rxx is None:
        method = "published-points"
        s_diff = np.nan
        min_change = published.points
        rc_source = f"{published.source} ({published.status})"
    else:
        lacking = []
        if sd_val is None:
            lacking.append(
                "an SD (no dysfunctional or general norm for this scale in the definition; pass sd=NUMBER or sd='pre')"
            )
        if rxx_val is None:
            lacking.append(
                "a reliability (none recorded for this scale; pass rxx=NUMBER with its source in your report)"
            )
        raise InvalidParameterError(f"{inst.id} {sc.name}: reliable change needs " + " and ".join(lacking))

    # --- cut-off
    cut_val: float | None = None
    cut_type = None
    cut_source = ""
    published_cut = next(
        (c for c in inst.cutoffs if c.scale == sc.name and c.value is not None and not c.applies_to), None
    )
    sign = 1.0 if worse_high else -1.0
    ms_d = norm_on_score_metric(dys, sc, sc.name) if dys else None
    ms_f = norm_on_score_metric(func, sc, sc.name) if func else None
    wanted = cutoff
    if isinstance(wanted, int | float) and not isinstance(wanted, bool):
        cut_val, cut_type, cut_source = float(wanted), "user", "user-supplied"
    elif wanted is not None:
        if wanted not in ("auto", "a", "b", "c", "published"):
            raise InvalidParameterError(
                f"cutoff must be 'auto', 'a', 'b', 'c', 'published', a number or None, got {wanted!r}"
            )
        if wanted == "auto":
            order = ["c", "published", "a", "b"]
        else:
            order = [wanted]
        for kind in order:
            if kind == "c" and ms_d and ms_f:
                cut_val = (ms_f[1] * ms_d[0] + ms_d[1] * ms_f[0]) / (ms_f[1] + ms_d[1])
                cut_source = f"c from {dys.id!r} ({dys.source}) and {func.id!r} ({func.source})"  # type: ignore[union-attr]
            elif kind == "a" and ms_d:
                cut_val = ms_d[0] - sign * 2 * ms_d[1]
                cut_source = f"a from {dys.id!r} ({dys.source})"  # type: ignore[union-attr]
            elif kind == "b" and ms_f:
                cut_val = ms_f[0] + sign * 2 * ms_f[1]
                cut_source = f"b from {func.id!r} ({func.source})"  # type: ignore[union-attr]
            elif kind == "published" and published_cut is not None:
                cut_val = published_cut.value
                cut_source = f"published clinical cut-off ({published_cut.source}; {published_cut.status})"
            if cut_val is not None:
                cut_type = kind
                break
        if cut_val is None and wanted != "auto":
            raise InvalidParameterError(
                f"{inst.id} {sc.name}: cut-off {wanted!r} cannot be computed: "
                "the definition lacks the norms or published value it needs"
            )

    k = jt_classify(
        a.to_numpy(float), b.to_numpy(float), s_diff=s_diff if method == "jacobson-truax" else None,
        rc_points=min_change, z=z, cutoff=cut_val, higher_is_worse=worse_high,
    )  # fmt: skip
    change, improvement = pd.Series(k["change"], index=a.index), pd.Series(k["improvement"], index=a.index)
    rc, reliable = pd.Series(k["rc"], index=a.index), pd.Series(k["reliable"], index=a.index)
    crossed, cls = pd.Series(k["crossed"], index=a.index), k["cls"]
    valid = a.notna() & b.notna()
    cls = np.where(valid.to_numpy(), cls.astype(object), np.array(None, dtype=object))
    table = pd.DataFrame(
        {
            "pre": a,
            "post": b,
            "change": change,
            "rc": rc,
            "reliable": reliable.where(valid),
            "improvement": improvement,
            "crossed_cutoff": crossed.where(valid) if cut_val is not None else np.nan,
            "classification": pd.Categorical(cls, categories=list(CLASSES)),
        },
        index=a.index,
    )
    details = {
        "instrument": inst.id,
        "scale": sc.name,
        "method": method,
        "higher_is_worse": worse_high,
        "level": level,
        "z": z,
        "sd": sd_val,
        "sd_source": sd_source,
        "rxx": rxx_val,
        "rxx_source": rxx_source,
        "s_diff": float(s_diff),
        "min_reliable_change": float(min_change),
        "rc_source": rc_source,
        "cutoff": cut_val,
        "cutoff_type": cut_type,
        "cutoff_source": cut_source,
        "published_reliable_change": None
        if published is None
        else {"points": published.points, "source": published.source, "status": published.status},
        "n": int(len(a)),
        "n_incomplete": int((~valid).sum()),
        "recovered_rule": "reliable improvement and post score on the functional side of the cut-off",
        "version": package_version(),
    }
    return ChangeResult(table=table.reset_index(names="id"), details=details)
