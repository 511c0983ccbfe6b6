"""Named SCIP path models (lavaan syntax) and their binding to data.

Each template names the SCIP constructs it uses, their role (predictor, mediator, outcome) and the
source of the paths (the papers below). Variables in the syntax are construct names
(``attachment_anxiety``, ``social_self_efficacy``, ...). :func:`bind` finds a column for each
construct, in this order:

1. a user mapping ``{construct: column}``;
2. a column literally named after the construct;
3. a scale score column produced by ``sciplab.score`` (named by :meth:`Instrument.column`, e.g.
   ``ECR_anxiety``) whose scale measures the construct in the instrument registry.

Raw questionnaire items can be scored first: ``fit_template(data, name, score=True)`` scores every
recognised instrument (:func:`sciplab.scip.items.score_recognised`) and then binds.

A scale with ``direction = "inverse"`` (higher score = less of the construct, e.g. TAS-20 total for
emotional awareness) is negated into a column named after the construct, in a copy of the data,
and the binding says so. Constructs without a column are listed in one error, each with the
scales that would measure it.

References
----------
Mallinckrodt, B. (1991). Clients' representations of childhood emotional bonds with parents,
social support, and formation of the working alliance. *Journal of Counseling Psychology, 38*,
401-409.
Mallinckrodt, B. (2000). Attachment, social competencies, social support, and interpersonal
process in psychotherapy. *Psychotherapy Research, 10*, 239-266.
Mallinckrodt, B., & Wei, M. (2005). Attachment, social competencies, social support, and
psychological distress. *Journal of Counseling Psychology, 52*, 358-367.
Wei, M., Russell, D. W., & Zakalik, R. A. (2005). Adult attachment, social self-efficacy,
self-disclosure, loneliness, and subsequent depression for freshman college students. *Journal of
Counseling Psychology, 52*, 602-614.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from sciplab._core.errors import DataError, InvalidParameterError, suggest
from sciplab._core.validation import require_frame
from sciplab.scip.items import has_items, instrument_registry, score_recognised
from sciplab.scip.latent import LATENT_TEMPLATES, LatentTemplate, fit_latent_template
from sciplab.stats.paths import paths
from sciplab.stats.syntax import parse_model

__all__ = ["TEMPLATES", "Binding", "Template", "bind", "fit_template", "get_template", "list_templates"]


@dataclass(frozen=True)
class Template:
    """A named SCIP path model."""

    name: str
    title: str
    syntax: str
    roles: Mapping[str, str]  # construct -> predictor / mediator / outcome
    citation: str
    description: str = ""
    status: str = "stated"  # "stated" by the source, or "[inference]"

    @property
    def constructs(self) -> list[str]:
        """Constructs used by the model, in role order."""
        return list(self.roles)


_ATT = {"attachment_anxiety": "predictor", "attachment_avoidance": "predictor"}

TEMPLATES: dict[str, Template] = {
    t.name: t
    for t in [
        Template(
            name="scip-core",
            title="SCIP core: attachment -> social competencies -> support and distress",
            syntax="""\
# Mallinckrodt & Wei (2005): both attachment dimensions -> both competencies -> support, distress
social_self_efficacy ~ attachment_anxiety + attachment_avoidance
emotional_awareness ~ attachment_anxiety + attachment_avoidance
social_support ~ social_self_efficacy + emotional_awareness + attachment_anxiety + attachment_avoidance
distress ~ social_self_efficacy + emotional_awareness + attachment_anxiety + attachment_avoidance
social_self_efficacy ~~ emotional_awareness
social_support ~~ distress
""",
            roles={
                **_ATT,
                "social_self_efficacy": "mediator",
                "emotional_awareness": "mediator",
                "social_support": "outcome",
                "distress": "outcome",
            },
            citation="Mallinckrodt, B., & Wei, M. (2005). Journal of Counseling Psychology, 52, 358-367.",
            description=(
                "Social self-efficacy and emotional awareness mediate the links of attachment anxiety "
                "and avoidance with perceived social support and psychological distress; direct "
                "paths from attachment to both outcomes are kept (partial mediation). Residual "
                "covariances between the two mediators and between the two outcomes."
            ),
        ),
        Template(
            name="scip-alliance",
            title="SCIP alliance: social competencies and support -> client-rated alliance",
            syntax="""\
# Mallinckrodt (1991): perceived support -> client-rated working alliance;
# competencies -> support (Mallinckrodt 2000) with direct paths to the alliance
social_support ~ social_self_efficacy + emotional_awareness
alliance ~ social_support + social_self_efficacy + emotional_awareness
""",
            roles={
                "social_self_efficacy": "predictor",
                "emotional_awareness": "predictor",
                "social_support": "mediator",
                "alliance": "outcome",
            },
            citation=(
                "Mallinckrodt, B. (1991). Journal of Counseling Psychology, 38, 401-409; "
                "Mallinckrodt, B. (2000). Psychotherapy Research, 10, 239-266."
            ),
            description=(
                "Perceived social support predicts the client-rated working alliance (Mallinckrodt "
                "1991); social competencies feed support and need a broad range of skills in the "
                "therapy relationship (Mallinckrodt 2000, claims 4-5)."
            ),
        ),
        Template(
            name="scip-serial",
            title="SCIP serial chain: attachment -> competency -> support -> distress",
            syntax="""\
# Serial mediation (Hayes model 6): attachment -> social self-efficacy -> support -> distress
social_self_efficacy ~ attachment_anxiety + attachment_avoidance
social_support ~ social_self_efficacy + attachment_anxiety + attachment_avoidance
distress ~ social_support + social_self_efficacy + attachment_anxiety + attachment_avoidance
""",
            roles={
                **_ATT,
                "social_self_efficacy": "mediator",
                "social_support": "mediator",
                "distress": "outcome",
            },
            citation=(
                "Mallinckrodt, B. (2000). Psychotherapy Research, 10, 239-266; Wei, M., Russell, "
                "D. W., & Zakalik, R. A. (2005). Journal of Counseling Psychology, 52, 602-614."
            ),
            description=(
                "The SCIP chain read as a serial process: attachment insecurity lowers social "
                "self-efficacy, which lowers perceived support, which raises distress. The serial "
                "ordering is our reading of the model ([inference]); M&W (2005) tested parallel "
                "paths."
            ),
            status="[inference]",
        ),
    ]
}


def list_templates() -> list[Template]:
    """All SCIP model templates.

    Examples
    --------
    >>> [t.name for t in list_templates()]
    ['scip-core', 'scip-alliance', 'scip-serial']
    """
    return list(TEMPLATES.values())


def get_template(name: str | Template) -> Template:
    """Look up a template by name (``scip-core``, ``scip-alliance``, ``scip-serial``).

    Examples
    --------
    >>> get_template("scip-core").roles["emotional_awareness"]
    'mediator'
    """
    if isinstance(name, Template):
        return name
    key = str(name).strip().lower().replace("_", "-")
    if key in TEMPLATES:
        return TEMPLATES[key]
    raise InvalidParameterError(
        f"unknown model template {name!r}{suggest(str(name), TEMPLATES)}; available: {', '.join(TEMPLATES)}"
    )


@dataclass(frozen=True)
class Binding:
    """Data prepared for a template: a copy with one column per construct, and what was used."""

    template: Template
    data: pd.DataFrame
    columns: Mapping[str, str]  # construct -> source column
    notes: tuple[str, ...]

    def describe(self) -> str:
        """One line per construct: ``construct <- column (how)``."""
        return "\n".join(self.notes)


@dataclass(frozen=True)
class _ScoreScale:
    column: str
    construct: str
    direction: str


def _default_scales() -> list[_ScoreScale]:
    from sciplab.instruments.registry import list_instruments

    return _scales_from(list_instruments())


def _scales_from(instruments: Iterable[Any]) -> list[_ScoreScale]:
    out = []
    for inst in instruments:
        for scale in inst.scales:
            if getattr(scale, "construct", None):
                out.append(
                    _ScoreScale(inst.column(scale.name), scale.construct, getattr(scale, "direction", "positive"))
                )
    return out


def bind(
    data: pd.DataFrame,
    template: str | Template,
    mapping: Mapping[str, str] | None = None,
    *,
    instruments: Iterable[Any] | None = None,
    raw_items: Sequence[str] = (),
) -> Binding:
    """Find a column for every construct of ``template``.

    Parameters
    ----------
    data
        Raw construct columns and/or scale scores from ``sciplab.score``.
    template
        Template name or :class:`Template`.
    mapping
        Optional ``{construct: column}``; wins over the other rules.
    instruments
        Instruments to search for score columns (default: the instrument registry).
    raw_items
        Ids of instruments whose raw items are in ``data`` (named in the error as scorable).

    Returns
    -------
    Binding
        ``data`` is a copy with a column named after each construct (inverse scales negated).

    Raises
    ------
    DataError
        Naming every construct without a column and the score columns that would measure it.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"SSE": [1.0, 2.0], "support": [3.0, 1.0], "alliance": [2.0, 5.0],
    ...                    "emotional_awareness": [0.0, 1.0]})
    >>> b = bind(df, "scip-alliance", {"social_self_efficacy": "SSE", "social_support": "support"},
    ...          instruments=[])
    >>> dict(b.columns)["social_support"]
    'support'
    """
    tmpl = get_template(template)
    require_frame(data)
    mapping = dict(mapping or {})
    unknown = [k for k in mapping if k not in tmpl.roles]
    if unknown:
        raise InvalidParameterError(
            "mapping names construct(s) not in template "
            f"{tmpl.name!r}: "
            + "; ".join(f"{k!r}{suggest(k, tmpl.roles)}" for k in unknown)
            + f" (constructs: {', '.join(tmpl.roles)})"
        )
    scales = _default_scales() if instruments is None else _scales_from(instruments)
    by_column = {s.column: s for s in scales}
    cols = [str(c) for c in data.columns]
    out = data.copy()
    used: dict[str, str] = {}
    notes: list[str] = []
    missing: list[str] = []
    for construct in tmpl.roles:
        source: str | None = None
        how = ""
        if construct in mapping:
            source = str(mapping[construct])
            if source not in cols:
                raise DataError(
                    f"mapping {construct!r} -> {source!r}: column not found in the data{suggest(source, cols)}"
                )
            how = "mapping"
        elif construct in cols:
            source, how = construct, "column named after the construct"
        else:
            candidates = [s.column for s in scales if s.construct == construct and s.column in cols]
            totals = [c for c in candidates if c.endswith("_total")]
            if len(candidates) > 1 and len(totals) == 1:
                others = ", ".join(c for c in candidates if c != totals[0])
                notes.append(f"{construct}: chose {totals[0]} over {others} (use a mapping to change)")
                candidates = totals
            if len(candidates) > 1:
                raise DataError(
                    f"several score columns measure {construct!r}: {', '.join(candidates)}; "
                    f"choose one with a mapping, e.g. {{'{construct}': '{candidates[0]}'}}"
                )
            if candidates:
                source, how = candidates[0], "scale score"
        if source is None:
            missing.append(construct)
            continue
        scale = by_column.get(source)
        if scale is not None and scale.direction == "inverse":
            out[construct] = -pd.to_numeric(out[source], errors="coerce") if _numeric(out[source]) else out[source]
            notes.append(f"{construct} <- {source} reversed (inverse scale: higher score = less {construct})")
        else:
            out[construct] = out[source]
            notes.append(f"{construct} <- {source} ({how})")
        used[construct] = source
    if missing:
        parts = []
        for c in missing:
            options = sorted({s.column for s in scales if s.construct == c})
            hint = f"no scored scale such as {', '.join(options[:4])}" if options else "no scored scale"
            parts.append(f"'{c}' (no column named '{c}' and {hint} in the data)")
        raise DataError(
            f"template {tmpl.name!r}: no column for construct{'s' if len(missing) > 1 else ''} "
            + "; ".join(parts)
            + "; pass a mapping {construct: column} (CLI: --map FILE)"
            + (
                f", or score the raw items ({', '.join(raw_items)}) first with score=True (CLI: add --score)"
                if raw_items
                else ""
            )
        )
    return Binding(tmpl, out, used, tuple(notes))


def _numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series)


def fit_template(
    data: pd.DataFrame,
    template: str | Template | LatentTemplate,
    mapping: Mapping[str, str] | None = None,
    *,
    score: bool = False,
    instruments: Iterable[Any] | None = None,
    instruments_dir: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    **kwargs: Any,
) -> Any:
    """Bind ``template`` to ``data`` and fit it with :func:`sciplab.stats.paths.paths`.

    The latent templates (``scip-core-latent``, ``scip-core-invariance``) are fitted by
    :func:`sciplab.scip.latent.fit_latent_template` (parcels and :func:`sciplab.stats.sem.sem`).

    Parameters
    ----------
    data
        Construct columns, scale scores from ``sciplab.score``, or (with ``score=True``) raw items.
    template
        Template name or :class:`Template`.
    mapping
        Optional ``{construct: column}``; wins over the other rules.
    score
        Score every recognised instrument's raw items first (:func:`sciplab.scip.items.score_recognised`;
        instruments whose score columns are already in ``data`` are not scored again), then bind.
    instruments
        Instruments to search for score columns (default: the instrument registry).
    instruments_dir
        Folder of user instrument definitions (with ``score=True``).
    progress
        Bootstrap progress callback ``(done, total)``.
    **kwargs
        Passed to ``paths`` (``bootstrap``, ``ci``, ``seed``...).

    Returns
    -------
    PathResult
        (an ``SEMResult`` for a latent template). The binding is recorded in
        ``details["template"]`` and ``details["binding"]``; the instruments scored in
        ``details["scored_from_items"]``.

    Raises
    ------
    DataError
        A construct has no column; when raw items of known instruments are present the message
        says to pass ``score=True`` (CLI: ``--score``).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> cols = get_template("scip-core").constructs
    >>> df = pd.DataFrame(rng.normal(size=(100, len(cols))), columns=cols)
    >>> res = fit_template(df, "scip-core", ci="none", instruments=[])
    >>> res.details["template"]
    'scip-core'
    """
    if isinstance(template, LatentTemplate) or (
        isinstance(template, str) and template.strip().lower().replace("_", "-") in LATENT_TEMPLATES
    ):
        return fit_latent_template(data, template, mapping, score=score, instruments_dir=instruments_dir, **kwargs)
    require_frame(data)
    scored: list[str] = []
    registry = instrument_registry(instruments_dir)
    present = {i.id for i in registry for s in i.scales if i.column(s.name) in data.columns}
    if score:
        scores, scored = score_recognised(data, registry, exclude=present, instruments_dir=instruments_dir)
        new = [c for c in scores.columns if c not in data.columns]
        if not scored:
            raise DataError(
                "score=True (--score): no raw item columns of a known instrument found; expected names such as "
                "ECRS_01, PSSE_01, TAS20_01, MSPSS_01, PHQ9_01"
            )
        data = pd.concat([data, scores[new]], axis=1)
        raw = []
    else:
        raw = [i.id for i in registry if i.has_key and i.id not in present and has_items(data, i)]
    binding = bind(data, template, mapping, instruments=instruments, raw_items=raw)
    res = paths(binding.data, binding.template.syntax, progress=progress, **kwargs)
    details = {
        **res.details,
        "template": binding.template.name,
        "template_citation": binding.template.citation,
        "binding": list(binding.notes),
        "scored_from_items": scored,
    }
    return dataclasses.replace(res, details=details)


def _check_templates(templates: Sequence[Template]) -> None:
    """Every template parses and uses exactly the constructs it declares (run by the tests)."""
    for t in templates:
        table = parse_model(t.syntax).table
        names = set(table["lhs"]) | set(table["rhs"])
        if names - {""} != set(t.roles):
            raise InvalidParameterError(f"template {t.name}: syntax and roles disagree")
