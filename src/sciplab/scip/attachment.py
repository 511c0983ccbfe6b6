r"""The attachment pattern of one client as dimensions with measurement uncertainty.

For anxiety and avoidance: the observed score x, the standard error of measurement
:math:`SEM = SD\sqrt{1 - r_{xx}}` and a 95 % band :math:`x \pm 1.96\,SEM`; and the probability of
each quadrant (:data:`sciplab.scip.constructs.QUADRANTS`) when the true scores are taken as
independent normals around the observed point with SD = SEM:
:math:`P(\text{anxiety high}) = \Phi((x_{anx} - c_{anx}) / SEM_{anx})`, e.g.
:math:`P(\text{fearful}) = P(\text{anx high})\,P(\text{avo high})`. The split point c is the scale
midpoint by default, or user values such as sample medians. The split is a **convention, not a
norm**: adult attachment is dimensional, not a set of types (Fraley & Waller, 1998).

Reliability and SD for the SEM: user values first, then the instrument definition (alpha; a retest
coefficient measures stability, not measurement error, and is not used), then a documented
fallback: r_xx = .80 (lower end of the alphas .77-.88 reported for the ECR-S by Wei, Russell,
Mallinckrodt & Vogel, 2007, as quoted by secondary summaries, UNVERIFIED) and SD = 1.0 scale point
(project convention for 1-7 item-mean scales, no cited norm). Fallbacks are named in the notes.

Measurement errors of the two dimensions are treated as independent and the observed score is the
centre (no regression to the mean, Kelley's true-score estimate not applied); the probabilities are
about measurement uncertainty only, not about a latent typology.

References
----------
Fraley, R. C., & Waller, N. G. (1998). Adult attachment patterns: A test of the typological model.
In J. A. Simpson & W. S. Rholes (Eds.), *Attachment theory and close relationships* (pp. 77-114).
Guilford.
Wei, M., Russell, D. W., Mallinckrodt, B., & Vogel, D. L. (2007). The Experiences in Close
Relationship Scale (ECR)-short form: Reliability, validity, and factor structure. *Journal of
Personality Assessment, 88*, 187-204.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from scipy.special import ndtr

from sciplab._core.errors import InvalidParameterError
from sciplab.scip.constructs import QUADRANTS
from sciplab.scoring.engine import norm_on_score_metric

__all__ = ["FALLBACK_RELIABILITY", "FALLBACK_SD", "describe_attachment", "quadrant_probabilities"]

#: Fallback reliability when neither the user nor the definition gives one (see module docstring).
FALLBACK_RELIABILITY = 0.80
#: Fallback SD (scale points) of a 1-7 attachment dimension when no norm SD is known.
FALLBACK_SD = 1.0
_FALLBACK_REL_NOTE = (
    "no reliability (alpha) recorded for {inst} {scale}: fallback r_xx = .80, the lower end of the alphas "
    "(.77-.88) reported for the ECR-S (Wei, Russell, Mallinckrodt & Vogel, 2007, as quoted by secondary "
    "summaries, UNVERIFIED); pass reliability= with your sample's or the publication's value"
)
_FALLBACK_SD_NOTE = (
    "no norm SD recorded for {inst} {scale}: fallback SD = 1.0 scale point (project convention for 1-7 "
    "item-mean scales, not from a cited norm); pass sd= with your sample's or the publication's value"
)
_SPLIT_NOTE = (
    "Quadrants split at {how}; the split is a convention, not a published norm (attachment is dimensional, "
    "Fraley & Waller, 1998; classification by sample medians or the scale midpoint is a convention)."
)
_Z95 = 1.959963984540054


def quadrant_probabilities(
    anxiety: float, avoidance: float, *, sem_anxiety: float, sem_avoidance: float, split: tuple[float, float]
) -> dict[str, float]:
    r"""Probability of each attachment quadrant given measurement error.

    Parameters
    ----------
    anxiety, avoidance
        Observed scores.
    sem_anxiety, sem_avoidance
        Standard errors of measurement (> 0).
    split
        ``(c_anxiety, c_avoidance)``: the quadrant boundaries.

    Returns
    -------
    dict
        ``secure, preoccupied, dismissing, fearful`` (sum 1).

    Notes
    -----
    True scores :math:`\sim N(x, SEM^2)`, independent across dimensions;
    :math:`p_a = \Phi((x_a - c_a)/SEM_a)`, :math:`p_v = \Phi((x_v - c_v)/SEM_v)`;
    secure :math:`(1-p_a)(1-p_v)`, preoccupied :math:`p_a(1-p_v)`, dismissing :math:`(1-p_a)p_v`,
    fearful :math:`p_a p_v`.

    Examples
    --------
    >>> p = quadrant_probabilities(4.0, 4.0, sem_anxiety=0.5, sem_avoidance=0.5, split=(4.0, 4.0))
    >>> [round(v, 2) for v in p.values()]
    [0.25, 0.25, 0.25, 0.25]
    """
    for name, v in (("sem_anxiety", sem_anxiety), ("sem_avoidance", sem_avoidance)):
        if not (isinstance(v, int | float) and math.isfinite(v) and v > 0):
            raise InvalidParameterError(f"{name} must be a positive number, got {v!r}")
    pa = float(ndtr((anxiety - split[0]) / sem_anxiety))
    pv = float(ndtr((avoidance - split[1]) / sem_avoidance))
    probs = {
        "secure": (1 - pa) * (1 - pv),
        "preoccupied": pa * (1 - pv),
        "dismissing": (1 - pa) * pv,
        "fearful": pa * pv,
    }
    return {q: probs[q] for q in QUADRANTS}


def _param(value: float | Mapping[str, float] | None, dim: str, name: str) -> float | None:
    if value is None:
        return None
    v = value.get(dim) if isinstance(value, Mapping) else value
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise InvalidParameterError(f"{name} for {dim} must be a number, got {v!r}")
    return float(v)


def _split_how(split: str | Mapping[str, float]) -> str:
    if isinstance(split, str):
        if split != "midpoint":
            raise InvalidParameterError(
                f"split must be 'midpoint' or a mapping {{'anxiety': c, 'avoidance': c}}, got {split!r}"
            )
        return "the scale midpoint"
    if isinstance(split, Mapping):
        bad = set(split) - {"anxiety", "avoidance"}
        if bad or len(split) != 2:
            raise InvalidParameterError(
                f"split mapping needs exactly the keys 'anxiety' and 'avoidance', got {sorted(split)}"
            )
        for k, v in split.items():
            _param(v, k, "split")
        return "user-supplied points (e.g. sample medians) " + ", ".join(f"{k} {v:g}" for k, v in split.items())
    raise InvalidParameterError(f"split must be 'midpoint' or a mapping, got {type(split).__name__}")


def _dimension(m: Mapping[str, Any], dim: str, reliability: Any, sd: Any, split: Any, notes: list[str]) -> dict:
    inst, scale, x = m["instrument"], m["scale"], m["value"]
    lo, hi = scale.score_range(inst.response)
    r_user = _param(reliability, dim, "reliability")
    rec = next((r for r in inst.reliability if r.scale == scale.name and r.alpha is not None), None)
    if r_user is not None:
        if not 0 < r_user < 1:
            raise InvalidParameterError(f"reliability for {dim} must be in (0, 1), got {r_user}")
        rxx, r_src = r_user, "user-supplied"
    elif rec is not None:
        rxx, r_src = float(rec.alpha), f"alpha, {rec.source} ({rec.status})"
    else:
        rxx, r_src = FALLBACK_RELIABILITY, "fallback (see notes)"
        notes.append(_FALLBACK_REL_NOTE.format(inst=inst.id, scale=scale.name))
        if any(r.scale == scale.name and r.retest is not None for r in inst.reliability):
            notes.append(
                f"{inst.id} {scale.name} records only a retest (stability) coefficient, which is not a "
                "measure of measurement error: not used for the SEM"
            )
    sd_user = _param(sd, dim, "sd")
    norm = next((n for n in inst.norms if scale.name in n.scales), None)
    ms = norm_on_score_metric(norm, scale, scale.name) if norm is not None else None
    if sd_user is not None:
        if sd_user <= 0:
            raise InvalidParameterError(f"sd for {dim} must be positive, got {sd_user}")
        sdv, sd_src = sd_user, "user-supplied"
    elif ms is not None:
        sdv, sd_src = ms[1], f"norm {norm.id}: {norm.source}"  # type: ignore[union-attr]
    else:
        sdv, sd_src = FALLBACK_SD, "fallback (see notes)"
        notes.append(_FALLBACK_SD_NOTE.format(inst=inst.id, scale=scale.name))
    sem = sdv * math.sqrt(1 - rxx)
    c = (lo + hi) / 2 if isinstance(split, str) else _param(split, dim, "split")
    return {
        "column": m["column"], "score": x, "min": lo, "max": hi, "reliability": rxx,
        "reliability_source": r_src, "sd": sdv, "sd_source": sd_src, "sem": sem,
        "ci95": [x - _Z95 * sem, x + _Z95 * sem], "split": c,
        "p_high": float(ndtr((x - c) / sem)),
    }  # fmt: skip


def describe_attachment(
    measures: list[dict[str, Any]], reliability: Any, sd: Any, split: str | Mapping[str, float]
) -> dict[str, Any]:
    """The attachment block of a formulation from the measured scales (see the module docstring).

    ``measures`` holds one dict per measured scale (``column, instrument, scale, value``). Returns
    ``instrument, anxiety, avoidance, quadrant_probabilities, most_probable, split, available, notes``
    (and ``method`` when both dimensions are measured).
    """
    by_inst: dict[str, dict[str, dict[str, Any]]] = {}
    for m in measures:
        c = m["scale"].construct
        if c in ("attachment_anxiety", "attachment_avoidance") and m["value"] is not None:
            by_inst.setdefault(m["instrument"].id, {})[c.split("_")[1]] = m
    out: dict[str, Any] = dict.fromkeys(["instrument", "anxiety", "avoidance", "quadrant_probabilities",
                                         "most_probable", "split"])  # fmt: skip
    out.update(available=False, notes=[])
    if not by_inst:
        out["notes"].append("no attachment anxiety or avoidance score: no attachment pattern")
        return out
    inst_id = next((k for k, v in by_inst.items() if len(v) == 2), next(iter(by_inst)))
    unused = [k for k in by_inst if k != inst_id]
    if unused:
        out["notes"].append(f"attachment also measured by {', '.join(unused)}: not used (one instrument at a time)")
    out["instrument"] = inst_id
    how = _split_how(split)
    for dim, m in by_inst[inst_id].items():
        out[dim] = _dimension(m, dim, reliability, sd, split, out["notes"])
    out["split"] = {"method": "midpoint" if isinstance(split, str) else "user", "note": _SPLIT_NOTE.format(how=how)}
    if out["anxiety"] is not None and out["avoidance"] is not None:
        a, v = out["anxiety"], out["avoidance"]
        probs = quadrant_probabilities(
            a["score"], v["score"], sem_anxiety=a["sem"], sem_avoidance=v["sem"], split=(a["split"], v["split"])
        )
        out["quadrant_probabilities"] = probs
        best = max(probs, key=probs.__getitem__)
        out["most_probable"] = {"pattern": best, "p": probs[best]}
        out["available"] = True
        out["method"] = (
            "true scores ~ independent normals around the observed scores with SD = SEM = SD x sqrt(1 - r_xx); "
            "P(quadrant) = product of the normal probabilities on each side of the split"
        )
    else:
        have = "anxiety" if out["anxiety"] is not None else "avoidance"
        out["notes"].append(f"only attachment {have} measured: dimension reported, no quadrant probabilities")
    return out
