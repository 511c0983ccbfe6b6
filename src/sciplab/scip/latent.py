"""Latent-variable SCIP templates: constructs as factors measured by item parcels.

``scip-core-latent`` is the structure Mallinckrodt & Wei (2005) tested: attachment anxiety and
avoidance, social self-efficacy, emotional awareness, perceived social support and psychological
distress as latent factors, each measured by three parcels; the structural paths are those of the
``scip-core`` path template (both competencies mediate attachment -> support and distress, with
direct paths kept). ``scip-core-invariance`` is its measurement model alone (six correlated
factors), fitted in two or more groups (e.g. clinical vs non-clinical samples) up the
measurement-invariance ladder configural -> metric -> scalar -> strict.

Binding uses the same construct mapping as the path templates (:mod:`sciplab.scip.templates`):
a construct's scale comes from the instrument registry (the scale whose ``construct`` it is, an
inverse scale reflected). Indicators of construct ``c`` are the columns ``c_p1 ... c_pk``, found
in this order:

1. a user mapping: ``{"c_p1": column, ...}`` for ready-made indicators, or ``{"c": "ID:scale"}``
   to parcel that instrument scale;
2. columns already named ``c_p1 ... c_pk`` in the data;
3. with ``score=True``: parcels built from the raw items of the recognised instrument whose scale
   measures ``c`` (:func:`sciplab.scoring.parcels.build_parcels`, item-to-construct balance,
   Little et al. 2002).

References
----------
Little, T. D., Cunningham, W. A., Shahar, G., & Widaman, K. F. (2002). To parcel or not to
parcel. *Structural Equation Modeling, 9*, 151-173.
Mallinckrodt, B., & Wei, M. (2005). Attachment, social competencies, social support, and
psychological distress. *Journal of Counseling Psychology, 52*, 358-367.
Meredith, W. (1993). Measurement invariance, factor analysis and factorial invariance.
*Psychometrika, 58*, 525-543.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from sciplab._core.errors import DataError, InvalidParameterError, suggest
from sciplab._core.validation import require_frame
from sciplab.scip.items import instrument_registry, recognised_instruments
from sciplab.scoring.parcels import ParcelResult, build_parcels

__all__ = [
    "LATENT_TEMPLATES",
    "LatentBinding",
    "LatentTemplate",
    "bind_latent",
    "fit_latent_template",
    "get_latent_template",
]

_CORE_CONSTRUCTS = (
    "attachment_anxiety",
    "attachment_avoidance",
    "social_self_efficacy",
    "emotional_awareness",
    "social_support",
    "distress",
)

_CORE_STRUCTURE = """\
# Mallinckrodt & Wei (2005): attachment -> social competencies -> perceived support and distress
social_self_efficacy ~ attachment_anxiety + attachment_avoidance
emotional_awareness ~ attachment_anxiety + attachment_avoidance
social_support ~ social_self_efficacy + emotional_awareness + attachment_anxiety + attachment_avoidance
distress ~ social_self_efficacy + emotional_awareness + attachment_anxiety + attachment_avoidance
social_self_efficacy ~~ emotional_awareness
social_support ~~ distress
"""


@dataclass(frozen=True)
class LatentTemplate:
    """A latent-variable SCIP model: constructs measured by ``n_parcels`` parcels each."""

    name: str
    title: str
    structure: str  # structural part in lavaan syntax over the construct names ("" = measurement only)
    constructs: tuple[str, ...]
    citation: str
    description: str = ""
    n_parcels: int = 3
    invariance: bool = False  # fitted across groups up the invariance ladder
    status: str = "stated"

    def indicator_names(self, construct: str, n_parcels: int | None = None) -> list[str]:
        """Default indicator columns of ``construct``: ``<construct>_p1 ... _pk``."""
        return [f"{construct}_p{k}" for k in range(1, (n_parcels or self.n_parcels) + 1)]

    def syntax(self, indicators: Mapping[str, Sequence[str]] | None = None) -> str:
        """Lavaan syntax: one ``=~`` line per construct, then the structural part."""
        lines = ["# measurement model: each construct measured by its parcels"]
        for c in self.constructs:
            names = list(indicators[c]) if indicators and c in indicators else self.indicator_names(c)
            lines.append(f"{c} =~ {' + '.join(names)}")
        return "\n".join(lines) + ("\n" + self.structure if self.structure else "\n")


LATENT_TEMPLATES: dict[str, LatentTemplate] = {
    t.name: t
    for t in [
        LatentTemplate(
            name="scip-core-latent",
            title="SCIP core, latent: attachment -> social competencies -> support and distress (parcels)",
            structure=_CORE_STRUCTURE,
            constructs=_CORE_CONSTRUCTS,
            citation="Mallinckrodt, B., & Wei, M. (2005). Journal of Counseling Psychology, 52, 358-367.",
            description=(
                "The six SCIP constructs as latent factors measured by three parcels each (item-to-"
                "construct balance, Little et al. 2002); structural paths as in scip-core: social "
                "self-efficacy and emotional awareness mediate attachment anxiety and avoidance -> "
                "perceived support and distress, direct paths kept; residual covariances between the "
                "mediators and between the outcomes."
            ),
        ),
        LatentTemplate(
            name="scip-core-invariance",
            title="SCIP core measurement model across groups: configural -> metric -> scalar -> strict",
            structure="",
            constructs=_CORE_CONSTRUCTS,
            citation=(
                "Mallinckrodt, B., & Wei, M. (2005). Journal of Counseling Psychology, 52, 358-367; "
                "Meredith, W. (1993). Psychometrika, 58, 525-543."
            ),
            description=(
                "The measurement model of scip-core-latent (six correlated factors, three parcels "
                "each) fitted in every group (e.g. clinical vs non-clinical) with loadings, then "
                "intercepts, then residual variances held equal; compare the steps by the change in "
                "chi-square, CFI and RMSEA before comparing latent means or paths across groups."
            ),
            invariance=True,
        ),
    ]
}


def get_latent_template(name: str | LatentTemplate) -> LatentTemplate:
    """Look up a latent template (``scip-core-latent``, ``scip-core-invariance``).

    Examples
    --------
    >>> get_latent_template("scip_core_latent").constructs[0]
    'attachment_anxiety'
    """
    if isinstance(name, LatentTemplate):
        return name
    key = str(name).strip().lower().replace("_", "-")
    if key in LATENT_TEMPLATES:
        return LATENT_TEMPLATES[key]
    raise InvalidParameterError(
        f"unknown latent template {name!r}{suggest(str(name), LATENT_TEMPLATES)}; "
        f"available: {', '.join(LATENT_TEMPLATES)}"
    )


@dataclass(frozen=True)
class LatentBinding:
    """Data prepared for a latent template: indicator columns per construct and how they were found."""

    template: LatentTemplate
    data: pd.DataFrame
    indicators: Mapping[str, list[str]]
    notes: tuple[str, ...]
    parcels: ParcelResult | None
    syntax: str


def _scale_choices(construct: str, registry: Iterable[Any], present: set[str]) -> list[str]:
    """``"ID:scale"`` of the recognised instruments' scales that measure ``construct``."""
    return [f"{i.id}:{s.name}" for i in registry if i.id in present for s in i.scales if s.construct == construct]


def bind_latent(
    data: pd.DataFrame,
    template: str | LatentTemplate,
    mapping: Mapping[str, str] | None = None,
    *,
    score: bool = False,
    n_parcels: int | None = None,
    instruments_dir: str | None = None,
) -> LatentBinding:
    """Find (or build from items) the indicators of every construct of a latent template.

    Parameters
    ----------
    data
        Parcel columns (``<construct>_p1`` ...) and/or raw items of the SCIP instruments.
    template
        Latent template name or :class:`LatentTemplate`.
    mapping
        ``{"<construct>_p<k>": column}`` for given indicators, or ``{construct: "ID:scale"}`` to
        parcel that instrument scale.
    score
        Build parcels from the raw items of the recognised instruments.
    n_parcels
        Parcels per construct (default: the template's, 3).
    instruments_dir
        Folder of user instrument definitions.

    Raises
    ------
    DataError
        Naming every construct without indicators and the items or columns that would give them.
    """
    tmpl = get_latent_template(template)
    require_frame(data)
    k = tmpl.n_parcels if n_parcels is None else n_parcels
    mapping = dict(mapping or {})
    indicator_keys = {name for c in tmpl.constructs for name in tmpl.indicator_names(c, k)}
    unknown = [key for key in mapping if key not in tmpl.constructs and key not in indicator_keys]
    if unknown:
        raise InvalidParameterError(
            f"mapping names neither a construct nor an indicator of {tmpl.name!r}: "
            + "; ".join(f"{u!r}{suggest(u, [*tmpl.constructs, *sorted(indicator_keys)])}" for u in unknown)
            + f" (constructs: {', '.join(tmpl.constructs)}; indicators such as {tmpl.constructs[0]}_p1)"
        )
    cols = [str(c) for c in data.columns]
    out = data.copy()
    indicators: dict[str, list[str]] = {}
    notes: list[str] = []
    to_parcel: dict[str, str] = {}
    missing: list[str] = []
    registry = instrument_registry(instruments_dir)
    try:
        present = {i.id for i in recognised_instruments(data, registry)}
    except DataError:
        if score:
            raise
        present = set()  # only used for hints without score=True
    for c in tmpl.constructs:
        names = tmpl.indicator_names(c, k)
        given = {n: mapping[n] for n in names if n in mapping}
        if c in mapping:
            spec = mapping[c]
            if ":" not in spec:
                raise InvalidParameterError(
                    f"mapping {c!r} -> {spec!r}: a construct maps to an instrument scale 'ID:scale' "
                    f"(e.g. 'PHQ-9:total') to parcel; map indicators one by one as {names[0]!r} -> column"
                )
            to_parcel[c] = spec
            notes.append(f"{c} <- {k} parcels of {spec} (mapping)")
        elif given:
            absent = [v for v in given.values() if v not in cols]
            if absent:
                raise DataError(
                    f"mapping for {c}: column(s) not found in the data: "
                    + "; ".join(f"{a!r}{suggest(a, cols)}" for a in absent)
                )
            if len(given) < 2:
                raise DataError(
                    f"{c}: the mapping gives {len(given)} indicator; a latent construct needs at least two "
                    f"(map {', '.join(names)})"
                )
            indicators[c] = list(given.values())
            notes.append(f"{c} <- {', '.join(given.values())} (mapping)")
        elif all(n in cols for n in names):
            indicators[c] = names
            notes.append(f"{c} <- {', '.join(names)} (columns named after the construct)")
        elif score:
            choices = _scale_choices(c, registry, present)
            if len(choices) > 1:
                totals = [ch for ch in choices if ch.endswith(":total")]
                choices = totals if len(totals) == 1 else choices
            if len(choices) > 1:
                raise DataError(
                    f"several scales measure {c!r}: {', '.join(choices)}; choose one with a mapping, "
                    f"e.g. {{'{c}': '{choices[0]}'}}"
                )
            if choices:
                to_parcel[c] = choices[0]
                notes.append(f"{c} <- {k} parcels of {choices[0]} items (item-to-construct balance)")
            else:
                missing.append(c)
        else:
            missing.append(c)
    if missing:
        scales = {
            c: sorted({f"{i.id}:{s.name}" for i in registry for s in i.scales if s.construct == c}) for c in missing
        }
        parts = [
            f"'{c}' (no columns {c}_p1..{c}_p{k}"
            + (f"; items of a scale such as {', '.join(scales[c][:3])}" if scales[c] else "")
            + (" not found)" if score else ")")
            for c in missing
        ]
        can_score = [c for c in missing if _scale_choices(c, registry, present)]
        raise DataError(
            f"template {tmpl.name!r}: no indicators for construct{'s' if len(missing) > 1 else ''} "
            + "; ".join(parts)
            + "; pass a mapping (CLI: --map FILE)"
            + (
                ", or build parcels from the raw items with score=True (CLI: add --score)"
                if can_score and not score
                else ""
            )
        )
    parcels = None
    if to_parcel:
        parcels = build_parcels(data, to_parcel, n_parcels=k, instruments_dir=instruments_dir)
        clash = [p for p in parcels.parcels.columns if p in cols]
        if clash:
            raise DataError(
                f"parcel column(s) {', '.join(clash)} already in the data; rename them or map them as indicators"
            )
        out = pd.concat([out, parcels.parcels], axis=1)
        indicators.update(parcels.indicators())
        directions = parcels.details["scales"]
        for c, info in directions.items():
            if info["direction"] == "inverse":
                notes.append(
                    f"{c}: {info['instrument']} {info['scale']} reflected (inverse scale: higher score = less {c})"
                )
    ordered = {c: indicators[c] for c in tmpl.constructs}
    return LatentBinding(tmpl, out, ordered, tuple(notes), parcels, tmpl.syntax(ordered))


def fit_latent_template(
    data: pd.DataFrame,
    template: str | LatentTemplate,
    mapping: Mapping[str, str] | None = None,
    *,
    score: bool = False,
    n_parcels: int | None = None,
    instruments_dir: str | None = None,
    group: str | None = None,
    **kwargs: Any,
) -> Any:
    """Bind a latent template and fit it with :func:`sciplab.stats.sem.sem`.

    For ``scip-core-invariance`` a ``group`` column is required and the invariance ladder is
    fitted (:func:`sciplab.stats.sem.invariance`); otherwise one :class:`~sciplab.stats.sem.SEMResult`.

    Parameters
    ----------
    data, template, mapping, score, n_parcels, instruments_dir
        As :func:`bind_latent`.
    group
        Group column (multigroup model; required for the invariance template).
    **kwargs
        Passed to ``sem`` (``estimator``, ``missing``, ``group_equal``, ``se``, ``bootstrap``,
        ``level``, ``seed``...).

    Returns
    -------
    SEMResult or InvarianceResult
        The binding in ``details["template"]``, ``details["binding"]``, ``details["parcels"]``
        (the item-to-parcel allocation).

    Examples
    --------
    >>> from sciplab.datasets import load_example
    >>> res = fit_latent_template(load_example(), "scip-core-latent", score=True)
    >>> res.details["template"], int(res.fit["df"].iloc[0])
    ('scip-core-latent', 120)
    """
    from sciplab.stats.sem import sem

    binding = bind_latent(data, template, mapping, score=score, n_parcels=n_parcels, instruments_dir=instruments_dir)
    tmpl = binding.template
    extra = {
        "template": tmpl.name,
        "template_citation": tmpl.citation,
        "model": binding.syntax,
        "binding": list(binding.notes),
        "parcels": binding.parcels.table.to_dict(orient="records") if binding.parcels is not None else [],
        "parcel_rule": binding.parcels.details["rule"] if binding.parcels is not None else "given indicators",
    }
    if tmpl.invariance:
        if group is None:
            raise InvalidParameterError(
                f"template {tmpl.name!r} compares groups: name the group column (group=..., CLI --group COL)"
            )
        from sciplab.stats.sem import invariance

        ladder = invariance(binding.data, binding.syntax, group=group, **kwargs)
        return dataclasses.replace(ladder, details={**ladder.details, **extra})
    res = sem(binding.data, binding.syntax, group=group, **kwargs)
    return dataclasses.replace(res, details={**res.details, **extra})
