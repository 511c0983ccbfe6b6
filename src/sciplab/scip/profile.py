"""The competency and support profile of a formulation: each measured scale against norms.

For each scale: the score, its range and POMP (percent of maximum possible), and -- where the
instrument records one -- z and T against its norm sample (which one is named), else its published
cut-offs, else its score bands. Whether a score is a deficit (resource below the norm) or elevated
(problem above it) follows the construct's polarity (:func:`sciplab.scip.constructs.higher_is_worse`,
from :data:`sciplab.instruments.schema.CONSTRUCT_HIGHER_IS_WORSE`) and the rule file's thresholds
(``[profile]``). Without any norm, cut-off or band the profile says "no norm" and flags nothing.

References
----------
Cohen, P., Cohen, J., Aiken, L. S., & West, S. G. (1999). The problem of units and the circumstance
for POMP. *Multivariate Behavioral Research, 34*, 315-346.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sciplab.instruments.schema import Instrument, Scale
from sciplab.scip.constructs import higher_is_worse
from sciplab.scip.rules import RuleSet
from sciplab.scoring.engine import norm_on_score_metric

__all__ = ["pick_norm", "profile_row", "score_band"]


def pick_norm(inst: Instrument, scale: Scale, norms: Mapping[str, str] | None) -> Any:
    """The norm sample used for ``scale``: the user's choice, else the first community norm, else None."""
    if norms and inst.id in norms:
        return inst.norm(norms[inst.id])
    for n in inst.norms:
        if n.population in ("functional", "general") and scale.name in n.scales:
            return n
    return None


def score_band(inst: Instrument, scale: Scale, x: float) -> tuple[str | None, Any]:
    """The band label of score ``x`` and the cut-off table that defines it (or ``(None, None)``)."""
    for cut in inst.cutoffs:
        if cut.scale != scale.name or not cut.bands or cut.applies_to:
            continue
        ordered = sorted(cut.bands, key=lambda b: b.min)
        if x < ordered[0].min or x > max(b.max for b in ordered):
            continue
        label = [b.label for b in ordered if b.min <= x][-1]  # consecutive intervals [min_i, min_i+1)
        return label, cut
    return None, None


def profile_row(m: Mapping[str, Any], rules: RuleSet, norms: Mapping[str, str] | None) -> dict[str, Any]:
    """One profile row for a measured scale (``column, instrument, scale, value``)."""
    inst, scale, x = m["instrument"], m["scale"], m["value"]
    lo, hi = scale.score_range(inst.response)
    construct = scale.construct
    worse = higher_is_worse(construct)  # the construct's polarity decides the kind of flag
    kind = None if worse is None else ("elevated" if worse else "deficit")
    high_bad = higher_is_worse(construct, scale.direction)  # the scale's scores may run reversed
    row: dict[str, Any] = {
        "construct": construct,
        "column": m["column"],
        "instrument": inst.id,
        "scale": scale.name,
        "label": scale.label,
        "score": x,
        "min": lo,
        "max": hi,
        "pomp": 100 * (x - lo) / (hi - lo) if x is not None else None,
        "direction": scale.direction,
        "polarity": None if high_bad is None else ("higher is worse" if high_bad else "higher is better"),
        "norm": None, "norm_sample": None, "norm_n": None, "norm_population": None, "norm_source": None,
        "z": None, "T": None, "band": None, "cutoff": None, "cutoff_source": None,
        "flag": None, "flag_basis": None, "note": "",
    }  # fmt: skip
    if x is None:
        row["flag"], row["note"] = "missing", "no score (missing value)"
        return row
    norm = pick_norm(inst, scale, norms)
    if norm is not None:
        ms = norm_on_score_metric(norm, scale, scale.name)
        if ms is not None:
            z = (x - ms[0]) / ms[1]
            row.update(norm=norm.id, norm_sample=norm.sample, norm_n=norm.n, norm_population=norm.population,
                       norm_source=norm.source, z=z, T=50 + 10 * z)  # fmt: skip
    band, band_cut = score_band(inst, scale, x)
    row["band"] = band
    valued = [c for c in inst.cutoffs if c.scale == scale.name and c.value is not None]
    if valued:
        row["cutoff"] = "; ".join(
            f"{c.value:g}{' (' + c.applies_to + ')' if c.applies_to else ''}"
            f" ({'higher' if c.higher_is_worse else 'lower'} is worse)"
            for c in valued
        )
        row["cutoff_source"] = "; ".join(sorted({c.source for c in valued}))
    if kind is None:
        row["flag"], row["note"] = "descriptive", "construct is neither a resource nor a problem (no polarity)"
        return row
    if row["z"] is not None:
        t = abs(rules.profile["deficit_z"] if kind == "deficit" else rules.profile["elevated_z"])
        bad = (row["z"] if high_bad else -row["z"]) >= t
        row["flag_basis"] = f"z against norm {norm.id} (|z| >= {t:g})"
    elif valued:
        verdicts = {c.applies_to or "": (x >= c.value if c.higher_is_worse else x < c.value) for c in valued}
        if len(set(verdicts.values())) > 1:
            row["flag"] = "depends on group"
            row["flag_basis"] = "cut-offs differ by group: " + ", ".join(
                f"{g or 'all'}: {'beyond' if v else 'within'}" for g, v in verdicts.items()
            )
            row["note"] = "the cut-off depends on a group the scores do not record (e.g. which parent was rated)"
            return row
        bad = next(iter(verdicts.values()))
        row["flag_basis"] = "published clinical cut-off"
    elif band is not None:
        bands = rules.profile["deficit_bands" if kind == "deficit" else "elevated_bands"]
        bad = band in bands
        row["flag_basis"] = f"band '{band}' ({band_cut.source})"
    else:
        row["flag"] = "no norm"
        row["note"] = f"no norm, cut-off or band recorded for {inst.id} {scale.name}: score shown as POMP only"
        return row
    row["flag"] = kind if bad else "not flagged"
    return row
