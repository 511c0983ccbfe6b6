r"""SCIP case formulation: from one client's scored measures to hypotheses and a relationship plan.

:func:`formulate` reads one client's scale scores (any subset, column names as
:func:`sciplab.score` writes them, e.g. ``ECR-S_anxiety``; or raw item columns, scored first) and
returns a :class:`Formulation` with

1. the **attachment pattern as dimensions with measurement uncertainty**: for anxiety and
   avoidance the observed score x, the standard error of measurement
   :math:`SEM = SD\sqrt{1 - r_{xx}}` and a 95 % band :math:`x \pm 1.96\,SEM`; and the probability
   of each quadrant (secure, preoccupied, dismissing, fearful) when the true scores are taken as
   independent normals around the observed point with SD = SEM:
   :math:`P(\text{anxiety high}) = \Phi((x_{anx} - c_{anx}) / SEM_{anx})`, e.g.
   :math:`P(\text{fearful}) = P(\text{anx high})\,P(\text{avo high})`. The split point c is the scale
   midpoint by default, or user values such as sample medians. The split is a **convention, not a
   norm** (instruments.md section 3.1) and the formulation says so;
2. a **competency and support profile** against norms: z and T against the instrument's norm
   sample (which one is named), else published cut-offs or bands; deficits are flagged only where
   one of these exists, otherwise the profile says "no norm";
3. the **interpersonal profile** (Structural Summary Method of the octants, norm-standardised when
   the instrument has a norm) with the interpretation guards of :mod:`sciplab.stats.circumplex`;
4. **hypotheses** and a **relationship plan** (engagement, corrective, markers, cautions) from the
   declarative rule file (:mod:`sciplab.scip.rules`); each statement carries the data that
   triggered it, its evidence level and its sources;
5. what is **missing** and what it would add.

Reliability and SD for the SEM: user values first, then the instrument definition (alpha; a
retest coefficient measures stability, not measurement error, and is not used), then a documented
fallback: r_xx = .80 (lower end of the alpha range .77-.88 that secondary summaries give for the
ECR-S, instruments.md section 3.3, UNVERIFIED) and SD = 1.0 scale point (project convention for
1-7 item-mean scales, no cited norm). Fallbacks are named in ``attachment["notes"]``.

Measurement errors of the two dimensions are treated as independent and the observed score is
the centre (no regression to the mean, Kelley's true-score estimate not applied); the probabilities
are about measurement uncertainty only, not about a latent typology.

References
----------
Mallinckrodt, B. (2000). *Psychotherapy Research, 10*, 239-266.
Daly, K. D., & Mallinckrodt, B. (2009). *Journal of Counseling Psychology, 56*, 549-563.
Mallinckrodt, B., Choi, G., & Daly, K. D. (2015). *Psychotherapy Research, 25*, 505-517.
Further sources in ``scip/rules/formulation.toml``.
"""

from __future__ import annotations

import dataclasses
import html
import math
import re
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy.special import ndtr

from sciplab._core.errors import DataError, InvalidParameterError, suggest
from sciplab._core.results import Result, package_version, to_jsonable
from sciplab.instruments.registry import get_instrument, list_instruments
from sciplab.instruments.schema import CONSTRUCTS, Instrument, Scale
from sciplab.scip.rules import EVIDENCE_LEVELS, RuleSet, load_rules
from sciplab.scoring.columns import match_columns
from sciplab.scoring.engine import norm_on_score_metric, score_all
from sciplab.stats.change import expected_rupture_type
from sciplab.stats.circumplex import SSMResult, ssm_scores

__all__ = ["FALLBACK_RELIABILITY", "FALLBACK_SD", "QUADRANTS", "Formulation", "formulate", "quadrant_probabilities"]

QUADRANTS = ("secure", "preoccupied", "dismissing", "fearful")
#: Fallback reliability when neither the user nor the definition gives one (see module docstring).
FALLBACK_RELIABILITY = 0.80
#: Fallback SD (scale points) of a 1-7 attachment dimension when no norm SD is known.
FALLBACK_SD = 1.0
_FALLBACK_REL_NOTE = (
    "no reliability (alpha) recorded for {inst} {scale}: fallback r_xx = .80, the lower end of the alpha "
    "range (.77-.88) secondary summaries give for the ECR-S (instruments.md section 3.3, UNVERIFIED); "
    "pass reliability= with your sample's or the publication's value"
)
_FALLBACK_SD_NOTE = (
    "no norm SD recorded for {inst} {scale}: fallback SD = 1.0 scale point (project convention for 1-7 "
    "item-mean scales, not from a cited norm); pass sd= with your sample's or the publication's value"
)
_SPLIT_NOTE = (
    "Quadrants split at {how}; the split is a convention, not a published norm (instruments.md section 3.1: "
    "classification by sample medians or the scale midpoint is a convention)."
)
_OCTANT_CODES = ("PA", "BC", "DE", "FG", "HI", "JK", "LM", "NO")
_SSM_COLUMNS = (
    ["label", "group", "measure"] + [f"{p}_{s}" for p in "exyad" for s in ("est", "lci", "uci")] + ["fit_est"]
)
_BLOCK_CONSTRUCTS = {
    "attachment": ("attachment_anxiety", "attachment_avoidance"),
    "interpersonal": ("interpersonal_octant",),
}
_PHASE_ORDER = {"engagement": 0, "corrective": 1, "marker": 2, "caution": 3}


# ---------------------------------------------------------------------------------------------
# Kernel


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
    return {
        "secure": (1 - pa) * (1 - pv),
        "preoccupied": pa * (1 - pv),
        "dismissing": (1 - pa) * pv,
        "fearful": pa * pv,
    }


# ---------------------------------------------------------------------------------------------
# Result


@dataclasses.dataclass(frozen=True)
class Formulation(Result):
    """A SCIP case formulation for one client.

    Attributes
    ----------
    table
        The statements, one row each: ``section`` (hypothesis / plan), ``phase`` (plan: engagement,
        corrective, marker, caution), ``id`` (rule), ``pattern``, ``text``, ``evidence``,
        ``sources`` (keys), ``triggered_by`` (the rule variables and their values), ``data``
        (measured columns behind them), ``expected_rupture`` and ``note``.
    profile
        One row per measured scale: construct, score, range, POMP, norm (id, sample, N, source),
        z, T, band, cut-off, flag (deficit / elevated / not flagged / no norm) and its basis.
    attachment
        Anxiety and avoidance (score, reliability, SD, SEM, 95 % band, probability high, sources),
        quadrant probabilities, split point and method notes; ``available`` is false without data.
    interpersonal
        SSM parameters of the octant profile with guards, or ``None`` without octants.
    ssm
        The same as an :class:`~sciplab.stats.circumplex.SSMResult` (one profile, no CIs) for
        :func:`sciplab.plot.circumplex.plot_circle`, or ``None``.
    missing
        Constructs not measured and what each would add; rules that could not be evaluated.
    sources
        Every cited source: key and citation.
    details
        Client id, rule file, split, norms used, columns, version.
    """

    client: Any = None
    attachment: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    profile: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)
    interpersonal: Mapping[str, Any] | None = None
    ssm: SSMResult | None = None
    missing: tuple[Mapping[str, Any], ...] = ()
    sources: tuple[Mapping[str, str], ...] = ()

    title: ClassVar[str] = "SCIP case formulation"

    # -- statements --------------------------------------------------------------------------
    def _statements(self, section: str) -> list[dict[str, Any]]:
        rows = self.table[self.table["section"] == section]
        return [to_jsonable(dict(r)) for _, r in rows.iterrows()]

    @property
    def hypotheses(self) -> list[dict[str, Any]]:
        """Hypothesis statements (JSON-safe dicts)."""
        return self._statements("hypothesis")

    @property
    def plan(self) -> list[dict[str, Any]]:
        """Plan statements in phase order: engagement, corrective, marker, caution."""
        return self._statements("plan")

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary (``attachment, profile, interpersonal, hypotheses, plan, missing, sources``)."""
        return {
            "client": to_jsonable(self.client),
            "attachment": to_jsonable(self.attachment),
            "profile": to_jsonable(self.profile),
            "interpersonal": to_jsonable(self.interpersonal),
            "hypotheses": self.hypotheses,
            "plan": self.plan,
            "missing": to_jsonable(list(self.missing)),
            "sources": to_jsonable(list(self.sources)),
            "details": to_jsonable(self.details),
        }

    # -- text --------------------------------------------------------------------------------
    def summary(self) -> str:
        """Readable formulation (the only place that rounds)."""
        head = self.title + ("" if self.client is None else f": client {self.client}")
        lines = [head, "=" * len(head), ""]
        lines += _attachment_lines(self.attachment)
        lines += ["", "Competency and support profile"]
        lines += [f"  {_profile_line(r)}" for r in _records(self.profile)] or ["  (no scale scores)"]
        if self.interpersonal is not None:
            lines += ["", "Interpersonal profile (SSM)"]
            lines += [f"  {x}" for x in _interpersonal_lines(self.interpersonal)]
        for title, items in (("Hypotheses", self.hypotheses), ("Relationship plan", self.plan)):
            lines += ["", title]
            if not items:
                lines.append("  (none triggered)")
            for s in items:
                tag = f"[{s['phase']}] " if s.get("phase") else ""
                lines.append(f"  - {tag}{s['text']}")
                lines.append(f"      evidence: {s['evidence']}; sources: {', '.join(s['sources'])}")
                lines.append(f"      because: {_because(s['triggered_by'])}")
                if s.get("expected_rupture"):
                    er = s["expected_rupture"]
                    lines.append(f"      expected rupture: {er['expected_rupture']} ({er['when']})")
        lines += ["", "Missing"]
        lines += [f"  - {m['construct']}: {m['adds']}" for m in self.missing] or ["  (nothing)"]
        return "\n".join(lines)

    def to_markdown(self, *, figures: Mapping[str, str] | None = None) -> str:
        """The formulation as Markdown.

        Parameters
        ----------
        figures
            Optional ready-made figure markup (e.g. image links) keyed ``"attachment"`` and
            ``"circumplex"``; :func:`sciplab.reports.formulation.write_report` draws the figures.
        """
        return _markdown(self, figures)

    def to_html(self, *, figures: Mapping[str, str] | None = None) -> str:
        """The formulation as an HTML fragment.

        Parameters
        ----------
        figures
            Optional ready-made figure markup (e.g. inline SVG) keyed ``"attachment"`` and
            ``"circumplex"``, inserted in those sections. :func:`sciplab.reports.formulation.to_html`
            draws them (the ``scip`` layer does not import plotting code).
        """
        return _html(self, figures or {})

    def _repr_html_(self) -> str:
        return self.to_html()


# ---------------------------------------------------------------------------------------------
# Input handling


def _as_frame(scores: Any) -> pd.DataFrame:
    if isinstance(scores, pd.DataFrame):
        frame = scores
    elif isinstance(scores, pd.Series):
        frame = scores.to_frame().T
    elif isinstance(scores, Mapping):
        frame = pd.DataFrame([dict(scores)])
    else:
        raise DataError(
            f"scores must be a DataFrame, Series or mapping of column -> score, got {type(scores).__name__}"
        )
    if frame.shape[0] == 0:
        raise DataError("scores has no rows")
    return frame


def _select_client(frame: pd.DataFrame, client: Any, id_col: str | None) -> tuple[pd.DataFrame, Any]:
    where = f"{frame.attrs['source']}: " if frame.attrs.get("source") else ""
    if id_col is not None and id_col not in frame.columns:
        raise DataError(
            f"{where}id_col {id_col!r} not found{suggest(id_col, map(str, frame.columns))}; "
            f"columns: {', '.join(map(str, frame.columns))}"
        )
    if id_col is None and client is not None:
        id_col = next((c for c in ("client", "id", "client_id") if c in frame.columns), None)
        if id_col is None and frame.shape[0] == 1:
            return frame, client  # one row without an id column: ``client`` labels it
    ids = frame[id_col] if id_col is not None else pd.Series(frame.index, index=frame.index)
    if client is None:
        if frame.shape[0] > 1:
            shown = ", ".join(map(str, ids.iloc[:10].tolist()))
            raise DataError(
                f"{where}the scores have {frame.shape[0]} rows; choose one client with client= "
                f"(and id_col=; ids: {shown}{', ...' if frame.shape[0] > 10 else ''})"
            )
        return frame, (None if id_col is None else ids.iloc[0])
    mask = ids.astype(str) == str(client)
    if not mask.any():
        shown = ", ".join(map(str, ids.iloc[:10].tolist()))
        col = f"column {id_col!r}" if id_col else "the row index"
        raise DataError(f"{where}client {client!r} not found in {col}; ids: {shown}{', ...' if len(ids) > 10 else ''}")
    if mask.sum() > 1:
        raise DataError(f"{where}client {client!r} has {int(mask.sum())} rows; formulate needs exactly one")
    return frame.loc[mask.to_numpy()], ids[mask].iloc[0]


def _registry(instruments_dir: str | None) -> list[Instrument]:
    out = []
    for item in list_instruments(instruments_dir=instruments_dir) if instruments_dir else list_instruments():
        out.append(item if isinstance(item, Instrument) else get_instrument(item, instruments_dir=instruments_dir))
    return out


def _score_columns(frame: pd.DataFrame, registry: list[Instrument]) -> dict[str, tuple[Instrument, Scale]]:
    """``{column: (instrument, scale)}`` for columns named ``<ID>_<scale>`` (case-insensitive)."""
    lookup = {f"{inst.id}_{s.name}".lower(): (inst, s) for inst in registry for s in inst.scales}
    return {str(c): lookup[str(c).lower()] for c in frame.columns if str(c).lower() in lookup}


def _item_hits(frame: pd.DataFrame, inst: Instrument) -> bool:
    valid = set(inst.item_numbers)
    for c in frame.columns:
        name = re.sub(r"[^a-z0-9]", "", str(c).lower())
        for prefix in inst.column_prefixes:
            p = re.sub(r"[^a-z0-9]", "", prefix.lower())
            if name.startswith(p) and name[len(p) :].isdigit() and int(name[len(p) :]) in valid:
                return True
    return False


def _score_items(
    frame: pd.DataFrame, registry: list[Instrument], present: set[str], instruments: Sequence[str] | None,
    instruments_dir: str | None,
) -> tuple[pd.DataFrame, list[str]]:  # fmt: skip
    """Score raw item columns; returns the score columns and the instruments scored."""
    if instruments is not None:
        chosen = [get_instrument(i, instruments_dir=instruments_dir) for i in instruments]
    else:
        chosen, claimed = [], {}
        for inst in registry:
            if not inst.has_key or inst.id in present or not _item_hits(frame, inst):
                continue
            cols = set(match_columns(frame, inst).values())
            for other, other_cols in claimed.items():
                if cols & other_cols:
                    raise DataError(
                        f"item columns fit both {other} and {inst.id} (e.g. {sorted(cols & other_cols)[0]}); "
                        "say which was administered with instruments=[...] (CLI --instruments)"
                    )
            claimed[inst.id] = cols
            chosen.append(inst)
    if not chosen:
        return pd.DataFrame(index=frame.index), []
    res = score_all(frame, chosen, instruments_dir=instruments_dir)
    return res.scores, [i.id for i in chosen]


def _check_value(col: str, value: Any, inst: Instrument, scale: Scale, where: str) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise DataError(f"{where}column {col!r}: value {value!r} is not a number") from None
    if isinstance(value, bool) or not math.isfinite(x):
        raise DataError(f"{where}column {col!r}: value {x!r} is not a finite number")
    lo, hi = scale.score_range(inst.response)
    if not lo - 1e-9 <= x <= hi + 1e-9:
        raise DataError(
            f"{where}column {col!r}: score {x:g} is outside the range of {inst.id} {scale.name} "
            f"({lo:g} to {hi:g}); check the column or the instrument version"
        )
    return x


# ---------------------------------------------------------------------------------------------
# Profile


def _pick_norm(inst: Instrument, scale: Scale, norms: Mapping[str, str] | None) -> Any:
    if norms and inst.id in norms:
        return inst.norm(norms[inst.id])
    for n in inst.norms:
        if n.population in ("functional", "general") and scale.name in n.scales:
            return n
    return None


def _band(inst: Instrument, scale: Scale, x: float) -> tuple[str | None, Any]:
    for cut in inst.cutoffs:
        if cut.scale != scale.name or not cut.bands or cut.applies_to:
            continue
        ordered = sorted(cut.bands, key=lambda b: b.min)
        if x < ordered[0].min or x > max(b.max for b in ordered):
            continue
        label = [b.label for b in ordered if b.min <= x][-1]  # consecutive intervals [min_i, min_i+1)
        return label, cut
    return None, None


def _profile_row(m: Mapping[str, Any], rules: RuleSet, norms: Mapping[str, str] | None) -> dict[str, Any]:
    inst, scale, x = m["instrument"], m["scale"], m["value"]
    lo, hi = scale.score_range(inst.response)
    construct = scale.construct
    better, worse = rules.profile["higher_is_better"], rules.profile["higher_is_worse"]
    kind = "deficit" if construct in better else "elevated" if construct in worse else None
    high_bad = None if kind is None else ((kind == "elevated") == (scale.direction == "positive"))
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
    norm = _pick_norm(inst, scale, norms)
    if norm is not None:
        ms = norm_on_score_metric(norm, scale, scale.name)
        if ms is not None:
            z = (x - ms[0]) / ms[1]
            row.update(norm=norm.id, norm_sample=norm.sample, norm_n=norm.n, norm_population=norm.population,
                       norm_source=norm.source, z=z, T=50 + 10 * z)  # fmt: skip
    band, band_cut = _band(inst, scale, x)
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
        row["flag"], row["note"] = "descriptive", "construct not rated as a resource or a problem in the rule file"
        return row
    if row["z"] is not None:
        t = abs(rules.profile["deficit_z"] if kind == "deficit" else rules.profile["elevated_z"])
        bad = (row["z"] if high_bad else -row["z"]) >= t
        row["flag_basis"] = f"z against norm {norm.id} (|z| >= {t:g})"  # type: ignore[union-attr]
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


# ---------------------------------------------------------------------------------------------
# Attachment


def _param(value: float | Mapping[str, float] | None, dim: str, name: str) -> float | None:
    if value is None:
        return None
    v = value.get(dim) if isinstance(value, Mapping) else value
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise InvalidParameterError(f"{name} for {dim} must be a number, got {v!r}")
    return float(v)


def _attachment(
    measures: list[dict[str, Any]], reliability: Any, sd: Any, split: str | Mapping[str, float],
) -> tuple[dict[str, Any], list[str]]:  # fmt: skip
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
        return out, []
    inst_id = next((k for k, v in by_inst.items() if len(v) == 2), next(iter(by_inst)))
    unused = [k for k in by_inst if k != inst_id]
    if unused:
        out["notes"].append(f"attachment also measured by {', '.join(unused)}: not used (one instrument at a time)")
    chosen = by_inst[inst_id]
    out["instrument"] = inst_id
    if isinstance(split, str):
        if split != "midpoint":
            raise InvalidParameterError(
                f"split must be 'midpoint' or a mapping {{'anxiety': c, 'avoidance': c}}, got {split!r}"
            )
        how = "the scale midpoint"
    elif isinstance(split, Mapping):
        bad = set(split) - {"anxiety", "avoidance"}
        if bad or len(split) != 2:
            raise InvalidParameterError(
                f"split mapping needs exactly the keys 'anxiety' and 'avoidance', got {sorted(split)}"
            )
        how = "user-supplied points (e.g. sample medians) " + ", ".join(f"{k} {v:g}" for k, v in split.items())
    else:
        raise InvalidParameterError(f"split must be 'midpoint' or a mapping, got {type(split).__name__}")
    used_cols = []
    for dim, m in chosen.items():
        inst, scale, x = m["instrument"], m["scale"], m["value"]
        lo, hi = scale.score_range(inst.response)
        r_user = _param(reliability, dim, "reliability")
        rec = next((r for r in inst.reliability if r.scale == scale.name and r.alpha is not None), None)
        if r_user is not None:
            if not 0 < r_user < 1:
                raise InvalidParameterError(f"reliability for {dim} must be in (0, 1), got {r_user}")
            rxx, r_src = r_user, "user-supplied"
        elif rec is not None:
            rxx, r_src = float(rec.alpha), f"alpha, {rec.source} ({rec.status})"  # type: ignore[arg-type]
        else:
            rxx, r_src = FALLBACK_RELIABILITY, "fallback (see notes)"
            out["notes"].append(_FALLBACK_REL_NOTE.format(inst=inst.id, scale=scale.name))
            if any(r.scale == scale.name and r.retest is not None for r in inst.reliability):
                out["notes"].append(
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
            out["notes"].append(_FALLBACK_SD_NOTE.format(inst=inst.id, scale=scale.name))
        sem = sdv * math.sqrt(1 - rxx)
        c = (lo + hi) / 2 if isinstance(split, str) else _param(split, dim, "split")
        out[dim] = {
            "column": m["column"], "score": x, "min": lo, "max": hi, "reliability": rxx,
            "reliability_source": r_src, "sd": sdv, "sd_source": sd_src, "sem": sem,
            "ci95": [x - 1.959963984540054 * sem, x + 1.959963984540054 * sem], "split": c,
            "p_high": float(ndtr((x - c) / sem)),  # type: ignore[operator]
        }  # fmt: skip
        used_cols.append(m["column"])
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
    return out, used_cols


# ---------------------------------------------------------------------------------------------
# Interpersonal profile


def _interpersonal(
    measures: list[dict[str, Any]], norms: Mapping[str, str] | None, standardize: bool
) -> tuple[dict[str, Any] | None, SSMResult | None, list[str]]:
    by_inst: dict[str, dict[str, dict[str, Any]]] = {}
    for m in measures:
        s = m["scale"]
        if s.construct == "interpersonal_octant" and s.angle_deg is not None:
            by_inst.setdefault(m["instrument"].id, {})[s.name] = m
    full = [k for k, v in by_inst.items() if len(v) >= 8]
    if not full:
        return None, None, []
    inst_id = full[0]
    octs = by_inst[inst_id]
    inst = octs[next(iter(octs))]["instrument"]
    names = [s.name for s in inst.scales if s.angle_deg is not None and s.name in octs]
    angles = [float(inst.scale(n).angle_deg) for n in names]  # type: ignore[arg-type]
    raw = [octs[n]["value"] for n in names]
    out: dict[str, Any] = {"instrument": inst_id, "octants": dict(zip(names, raw, strict=True)), "guards": []}
    if any(v is None for v in raw):
        out["guards"].append("an octant score is missing: no SSM")
        return out, None, [octs[n]["column"] for n in names]
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
            values = np.array([(x - m[0]) / m[1] for x, m in zip(raw, ms, strict=True)])  # type: ignore[index]
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
    interpretable = math.isfinite(fit) and fit >= 0.70 and a > 0
    out["interpretable"] = interpretable
    if not math.isfinite(fit):
        out["guards"].append("flat profile: displacement and fit undefined; interpret elevation only")
    elif fit < 0.70:
        out["guards"].append("fit < .70 (unacceptable): profile not prototypical; interpret elevation only")
    else:
        out["guards"].append(f"fit >= .70 ({'good' if fit >= 0.80 else 'adequate'}): all parameters interpretable")
    out["guards"].append(
        "single profile: no confidence intervals, so whether the amplitude differs from 0 cannot be tested; "
        "read displacement as descriptive"
    )
    if norm is None:
        out["guards"].append("octants not standardised (no norm): elevation is on the raw item metric")
    if interpretable and d is not None and math.isfinite(d):
        out["octant"] = min(zip(names, angles, strict=True), key=lambda t: abs((d - t[1] + 180) % 360 - 180))[0]
    else:
        out["octant"] = None
    row = {c: np.nan for c in _SSM_COLUMNS}
    row.update(label=f"client ({'z' if norm is not None else 'raw'})", group="All", measure=None, e_est=e,
               x_est=out["x_value"], y_est=out["y_value"], a_est=a, d_est=d, fit_est=fit)  # fmt: skip
    scores = pd.DataFrame([{"label": row["label"], "group": "All", "measure": None, **out["profile"]}])
    ssm_res = SSMResult(
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
    return out, ssm_res, [octs[n]["column"] for n in names]


# ---------------------------------------------------------------------------------------------
# Rule context


def _context(
    profile: pd.DataFrame, att: Mapping[str, Any], ip: Mapping[str, Any] | None
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    ctx: dict[str, Any] = {}
    columns: dict[str, list[str]] = {}
    rows = _records(profile)
    for c in CONSTRUCTS:
        mine = [r for r in rows if r["construct"] == c and r["score"] is not None]
        ctx[f"{c}.present"] = bool(mine)
        columns[c] = [r["column"] for r in mine]
        if not mine:
            continue
        first = mine[0]
        for attr in ("score", "pomp", "z", "T", "band"):
            ctx[f"{c}.{attr}"] = first[attr]
        flags = [r["flag"] for r in mine]
        for kind in ("deficit", "elevated"):
            # known true if any scale is flagged, known false if at least one scale could be judged
            ctx[f"{c}.{kind}"] = True if kind in flags else False if "not flagged" in flags else None
    for dim in ("anxiety", "avoidance"):
        if att.get(dim):
            ctx[f"attachment.p_{dim}_high"] = att[dim]["p_high"]
    columns["attachment"] = [att[d]["column"] for d in ("anxiety", "avoidance") if att.get(d)]
    if att.get("quadrant_probabilities"):
        for q, p in att["quadrant_probabilities"].items():
            ctx[f"attachment.p_{q}"] = p
        ctx["attachment.pattern"] = att["most_probable"]["pattern"]
        ctx["attachment.pattern_p"] = att["most_probable"]["p"]
    if ip is not None and "elevation" in ip:
        for k in ("elevation", "elevation_z", "amplitude", "displacement", "fit", "interpretable", "octant"):
            ctx[f"interpersonal.{k}"] = ip.get(k)
        ctx["interpersonal.standardized"] = ip.get("standardized")
        columns["interpersonal"] = columns.get("interpersonal_octant", [])
    return ctx, columns


# ---------------------------------------------------------------------------------------------
# Public function


def formulate(
    scores: pd.DataFrame | pd.Series | Mapping[str, Any],
    *,
    client: Any = None,
    id_col: str | None = None,
    instruments: Sequence[str] | None = None,
    instruments_dir: str | None = None,
    rules: str | Path | RuleSet | None = None,
    reliability: float | Mapping[str, float] | None = None,
    sd: float | Mapping[str, float] | None = None,
    split: str | Mapping[str, float] = "midpoint",
    norms: Mapping[str, str] | None = None,
    standardize_octants: bool = True,
) -> Formulation:
    """Formulate one client's case in SCIP terms from their scored measures.

    Parameters
    ----------
    scores
        One client's scores: a DataFrame (one row, or choose with ``client``), a Series or a
        mapping. Columns named as :func:`sciplab.score` writes them (``ECR-S_anxiety``,
        ``MSPSS_total``, ``IIP-SC_PA`` ...), or raw item columns (``ECRS_01`` ...), scored first.
        Any subset; other columns are ignored.
    client, id_col
        The client to use when ``scores`` has several rows: value of ``id_col`` (default: a column
        ``client``, ``id`` or ``client_id``, else the row index).
    instruments
        Instruments whose raw items are in ``scores``; default: detected from the column names
        (an error if item columns fit two instruments, e.g. ECR-R and ECR-R-interleaved).
    instruments_dir
        Folder of user instrument definitions.
    rules
        Rule file (path) or a loaded :class:`~sciplab.scip.rules.RuleSet`; default: the shipped
        ``scip/rules/formulation.toml``.
    reliability, sd
        Reliability (in (0, 1)) and SD of the attachment dimensions for the SEM: one value for both
        or ``{"anxiety": ..., "avoidance": ...}``; default: the definition, else the fallbacks
        :data:`FALLBACK_RELIABILITY`, :data:`FALLBACK_SD` (named in the notes).
    split
        Quadrant boundaries: ``"midpoint"`` (scale midpoint, default) or
        ``{"anxiety": c, "avoidance": c}`` (e.g. sample medians). A convention, not a norm.
    norms
        ``{instrument id: norm id}`` choosing the norm sample per instrument; default: the first
        community (functional/general) norm of the definition.
    standardize_octants
        z-standardise octants against the norm before the SSM (default True when a norm exists).

    Returns
    -------
    Formulation

    Raises
    ------
    DataError
        Not one client, a score out of its instrument's range (naming column and value), a
        non-numeric score, ambiguous or incomplete item columns, no usable score at all.
    RuleFileError
        The rule file is invalid (file, line, problem).

    Examples
    --------
    >>> f = formulate({"ECR-S_anxiety": 4.9, "ECR-S_avoidance": 3.2, "MSPSS_total": 2.4})
    >>> f.attachment["most_probable"]["pattern"]
    'preoccupied'
    >>> round(f.attachment["quadrant_probabilities"]["preoccupied"], 3)
    0.942
    >>> "hyperactivating-engage" in set(f.table["id"])
    True
    >>> f.profile.set_index("column").loc["MSPSS_total", "flag"]
    'deficit'
    """
    frame = _as_frame(scores)
    where = f"{frame.attrs['source']}: " if frame.attrs.get("source") else ""
    frame, client_id = _select_client(frame, client, id_col)
    ruleset = rules if isinstance(rules, RuleSet) else load_rules(rules)
    registry = _registry(instruments_dir)
    found = _score_columns(frame, registry)
    present = {inst.id for inst, _ in found.values()}
    item_scores, scored_instruments = _score_items(frame, registry, present, instruments, instruments_dir)
    measures: list[dict[str, Any]] = []
    seen_cols: set[str] = set()
    for col, (inst, scale) in found.items():
        value = frame[col].iloc[0]
        measures.append({"column": col, "instrument": inst, "scale": scale,
                         "value": _check_value(col, value, inst, scale, where), "from_items": False})  # fmt: skip
        seen_cols.add(col.lower())
    for col in item_scores.columns:
        if str(col).lower() in seen_cols:
            continue
        match = _score_columns(item_scores[[col]], registry).get(str(col))
        if match is None:
            continue
        inst, scale = match
        measures.append({"column": str(col), "instrument": inst, "scale": scale,
                         "value": _check_value(str(col), item_scores[col].iloc[0], inst, scale, where),
                         "from_items": True})  # fmt: skip
    if not measures:
        raise DataError(
            f"{where}no scale score or raw item column of a known instrument found; columns: "
            f"{', '.join(map(str, frame.columns))}; expected names such as ECR-S_anxiety, MSPSS_total, IIP-SC_PA"
        )

    profile = pd.DataFrame([_profile_row(m, ruleset, norms) for m in measures])
    attachment, _ = _attachment(measures, reliability, sd, split)
    interpersonal, ssm_res, _ = _interpersonal(measures, norms, standardize_octants)
    ctx, columns = _context(profile, attachment, interpersonal)
    fired, unknown = ruleset.evaluate(ctx)
    values = {m["column"]: m["value"] for m in measures}

    rows = []
    cited: list[str] = []
    for rule, trig in fired:
        blocks = list(dict.fromkeys(v.split(".", 1)[0] for v in trig))
        data = {c: values.get(c) for b in blocks for c in columns.get(b, [])}
        rows.append(
            {
                "section": rule.section,
                "phase": rule.phase,
                "id": rule.id,
                "pattern": rule.pattern,
                "text": rule.text,
                "evidence": rule.evidence,
                "evidence_meaning": EVIDENCE_LEVELS[rule.evidence],
                "sources": list(rule.sources),
                "triggered_by": trig,
                "condition": rule.when.source,
                "data": data,
                "expected_rupture": expected_rupture_type(rule.rupture) if rule.rupture else None,
                "note": rule.note or None,
            }
        )
        cited.extend(s for s in rule.sources if s not in cited)
    table = pd.DataFrame(
        rows,
        columns=["section", "phase", "id", "pattern", "text", "evidence", "evidence_meaning", "sources",
                 "triggered_by", "condition", "data", "expected_rupture", "note"],
    )  # fmt: skip
    if len(table):
        order = table.apply(lambda r: (r["section"] != "hypothesis", _PHASE_ORDER.get(r["phase"], -1)), axis=1)
        table = table.iloc[sorted(range(len(table)), key=lambda i: order.iloc[i])].reset_index(drop=True)

    not_evaluated = [
        {"rule": r.id, "section": r.section,
         "needs": sorted({v.split(".", 1)[0] for v in r.when.variables if ctx.get(v) is None})}
        for r in unknown
    ]  # fmt: skip
    missing: list[dict[str, Any]] = []
    for construct, adds in ruleset.missing.items():
        if not ctx.get(f"{construct}.present", False):
            measured_by = [f"{i.id}_{s.name}" for i in registry for s in i.scales if s.construct == construct]
            waiting = [n["rule"] for n in not_evaluated
                       if any(construct in _BLOCK_CONSTRUCTS.get(b, (b,)) for b in n["needs"])]  # fmt: skip
            missing.append({"construct": construct, "adds": adds, "measured_by": measured_by[:8],
                            "would_evaluate": waiting})  # fmt: skip
    if interpersonal is None and ctx.get("interpersonal_octant.present"):
        missing.append({"construct": "interpersonal_octant", "adds": "all eight octants of one instrument are "
                        "needed for the SSM profile", "measured_by": [], "would_evaluate": []})  # fmt: skip
    sources = tuple({"key": k, "citation": ruleset.sources[k]} for k in cited)
    details = {
        "client": client_id,
        "id_col": id_col,
        "rules": ruleset.path,
        "rules_title": ruleset.title,
        "rules_version": ruleset.version,
        "n_rules": len(ruleset.rules),
        "n_fired": len(rows),
        "not_evaluated": not_evaluated,
        "columns_used": [m["column"] for m in measures],
        "scored_from_items": scored_instruments,
        "split": attachment.get("split"),
        "norms": norms or {},
        "profile_thresholds": {k: ruleset.profile[k] for k in ("deficit_z", "elevated_z")},
        "version": package_version(),
    }
    return Formulation(
        table=table,
        details=details,
        client=client_id,
        attachment=attachment,
        profile=profile,
        interpersonal=interpersonal,
        ssm=ssm_res,
        missing=tuple(missing),
        sources=sources,
    )


# ---------------------------------------------------------------------------------------------
# Text rendering (used by summary, Markdown and HTML; figures are added by sciplab.reports)


def _none(v: Any) -> Any:
    """NaN (pandas' missing float) -> None."""
    return None if isinstance(v, float) and math.isnan(v) else v


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: _none(v) for k, v in r.items()} for r in frame.to_dict("records")]


def _f(v: Any, digits: int = 2) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "NA"
    if isinstance(v, int | float) and not isinstance(v, bool):
        return f"{v:.{digits}f}"
    return str(v)


def _attachment_lines(att: Mapping[str, Any]) -> list[str]:
    lines = ["Attachment" + (f" ({att['instrument']})" if att.get("instrument") else "")]
    for dim in ("anxiety", "avoidance"):
        d = att.get(dim)
        if d is None:
            lines.append(f"  {dim}: not measured")
            continue
        lines.append(
            f"  {dim}: {_f(d['score'])} (range {d['min']:g}-{d['max']:g}), SEM {_f(d['sem'], 3)} "
            f"[95% {_f(d['ci95'][0])}, {_f(d['ci95'][1])}]; r_xx {_f(d['reliability'])} ({d['reliability_source']}); "
            f"P(above split {d['split']:g}) = {_f(d['p_high'], 3)}"
        )
    qp = att.get("quadrant_probabilities")
    if qp:
        lines.append("  quadrant probabilities: " + ", ".join(f"{q} {_f(p, 3)}" for q, p in qp.items()))
        mp = att["most_probable"]
        lines.append(f"  most probable: {mp['pattern']} (p = {_f(mp['p'], 3)}), not a bare label")
    if att.get("split"):
        lines.append(f"  {att['split']['note']}")
    lines += [f"  note: {n}" for n in att.get("notes", [])]
    return lines


def _profile_line(r: Mapping[str, Any]) -> str:
    parts = [f"{r['column']} ({r['construct']}): {_f(r['score'])}"]
    if r.get("z") is not None:
        parts.append(f"z {_f(r['z'])}, T {_f(r['T'], 1)} vs norm {r['norm']} ({r['norm_sample']})")
    if r.get("band"):
        parts.append(f"band {r['band']}")
    if r.get("cutoff"):
        parts.append(f"cut-off {r['cutoff']}")
    parts.append(f"-> {r['flag']}")
    text = "; ".join(parts)
    return text + (f" [{r['note']}]" if r.get("note") else "")


def _interpersonal_lines(ip: Mapping[str, Any]) -> list[str]:
    if "elevation" not in ip:
        return list(ip.get("guards", []))
    norm = ip.get("norm")
    lines = [
        f"{ip['instrument']} octants " + (f"standardised against {norm['id']} ({norm['sample']})" if norm else "raw"),
        f"elevation {_f(ip['elevation'], 3)}, amplitude {_f(ip['amplitude'], 3)}, displacement "
        f"{_f(ip['displacement'], 1)} deg (nearest octant {ip.get('octant') or 'NA'}), fit {_f(ip['fit'], 3)}",
    ]
    return lines + [f"guard: {g}" for g in ip.get("guards", [])]


def _because(trig: Mapping[str, Any]) -> str:
    return ", ".join(f"{k} = {_f(v, 3)}" for k, v in trig.items()) or "unconditional"


def _markdown(f: Formulation, figures: Mapping[str, str] | None = None) -> str:
    figures = figures or {}
    out = [f"# {f.title}" + ("" if f.client is None else f": client {f.client}"), ""]
    out += ["## Attachment pattern", ""]
    out += [ln.strip() if i == 0 else "- " + ln.strip() for i, ln in enumerate(_attachment_lines(f.attachment)[1:], 1)]
    if "attachment" in figures:
        out += ["", figures["attachment"]]
    out += ["", "## Competency and support profile", ""]
    if len(f.profile):
        cols = ["column", "construct", "score", "pomp", "norm", "z", "T", "band", "cutoff", "flag"]
        out.append("| " + " | ".join(cols) + " |")
        out.append("| " + " | ".join("---" for _ in cols) + " |")
        for r in _records(f.profile):
            out.append("| " + " | ".join(_f(r[c], 2 if c != "pomp" else 0).replace("|", "\\|") for c in cols) + " |")
        notes = [f"{r['column']}: {r['note']}" for r in _records(f.profile) if r.get("note")]
        out += [""] + [f"- {n}" for n in notes]
    if f.interpersonal is not None:
        out += ["", "## Interpersonal profile (SSM)", ""] + [f"- {x}" for x in _interpersonal_lines(f.interpersonal)]
        if "circumplex" in figures:
            out += ["", figures["circumplex"]]
    for title, items in (("Hypotheses", f.hypotheses), ("Relationship plan", f.plan)):
        out += ["", f"## {title}", ""]
        if not items:
            out.append("(none triggered)")
        for s in items:
            tag = f"**{s['phase']}**: " if s.get("phase") else ""
            out.append(f"- {tag}{s['text']}")
            out.append(f"  - evidence: {s['evidence']} ({s['evidence_meaning']}); sources: {', '.join(s['sources'])}")
            out.append(f"  - because: {_because(s['triggered_by'])}")
            if s.get("data"):
                out.append("  - data: " + ", ".join(f"{k} = {_f(v)}" for k, v in s["data"].items()))
            if s.get("expected_rupture"):
                er = s["expected_rupture"]
                out.append(f"  - expected rupture: {er['expected_rupture']}; {er['when']}; watch: {er['watch']}")
            if s.get("note"):
                out.append(f"  - note: {s['note']}")
    out += ["", "## Missing", ""]
    out += [f"- **{m['construct']}**: {m['adds']}" for m in f.missing] or ["(nothing)"]
    out += ["", "## Sources", ""] + [f"- [{s['key']}] {s['citation']}" for s in f.sources]
    return "\n".join(out) + "\n"


def _html(f: Formulation, figures: Mapping[str, str]) -> str:
    e = html.escape
    out = [f"<h2>{e(f.title)}{'' if f.client is None else ': client ' + e(str(f.client))}</h2>"]
    out.append("<h3>Attachment pattern</h3><ul>")
    out += [f"<li>{e(ln.strip())}</li>" for ln in _attachment_lines(f.attachment)[1:]]
    out.append("</ul>")
    if "attachment" in figures:
        out.append(f"<figure>{figures['attachment']}</figure>")
    out.append("<h3>Competency and support profile</h3>")
    if len(f.profile):
        cols = ["column", "construct", "score", "pomp", "norm", "z", "T", "band", "cutoff", "flag", "note"]
        head = "".join(f"<th>{e(c)}</th>" for c in cols)
        body = "".join(
            "<tr>" + "".join(f"<td>{e(_f(r[c], 2 if c != 'pomp' else 0) if r[c] not in ('', None) else '')}</td>"
                             for c in cols) + "</tr>"
            for r in _records(f.profile)
        )  # fmt: skip
        out.append(f"<table class='apa'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
    if f.interpersonal is not None:
        out.append("<h3>Interpersonal profile (SSM)</h3><ul>")
        out += [f"<li>{e(x)}</li>" for x in _interpersonal_lines(f.interpersonal)]
        out.append("</ul>")
        if "circumplex" in figures:
            out.append(f"<figure>{figures['circumplex']}</figure>")
    for title, items in (("Hypotheses", f.hypotheses), ("Relationship plan", f.plan)):
        out.append(f"<h3>{title}</h3><ul>")
        for s in items:
            tag = f"<b>{e(s['phase'])}</b>: " if s.get("phase") else ""
            extra = [f"evidence: {s['evidence']} ({s['evidence_meaning']}); sources: {', '.join(s['sources'])}",
                     f"because: {_because(s['triggered_by'])}"]  # fmt: skip
            if s.get("expected_rupture"):
                er = s["expected_rupture"]
                extra.append(f"expected rupture: {er['expected_rupture']}; {er['when']}")
            if s.get("note"):
                extra.append(f"note: {s['note']}")
            out.append(
                f"<li>{tag}{e(s['text'])}<ul class='details'>"
                + "".join(f"<li>{e(x)}</li>" for x in extra)
                + "</ul></li>"
            )
        if not items:
            out.append("<li>(none triggered)</li>")
        out.append("</ul>")
    out.append("<h3>Missing</h3><ul>")
    out += [f"<li><b>{e(m['construct'])}</b>: {e(m['adds'])}</li>" for m in f.missing] or ["<li>(nothing)</li>"]
    out.append("</ul><h3>Sources</h3><ul class='details'>")
    out += [f"<li>[{e(s['key'])}] {e(s['citation'])}</li>" for s in f.sources]
    out.append("</ul>")
    return "\n".join(out)
