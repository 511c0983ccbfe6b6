"""SCIP templates as population models for power analysis, with literature effect sizes.

:func:`template_population` turns a template name (:mod:`sciplab.scip.templates`) into
population syntax for :func:`sciplab.stats.power.power`: every path gets a standardized
coefficient, every variance is solved so the variables have unit variance. The defaults below
are a documented starting point, not estimates from one study: where a published number pins a
value it is cited; the rest are marked **[inference]** (our choice within the published range of
adult-block correlations, |r| about .15-.60). Give your own values with ``effects=``.

Sources of the defaults
-----------------------
* ``attachment_anxiety ~~ .39 attachment_avoidance``: r = .39 (Li, Sun & Li, 2022, N = 672).
* ``social_self_efficacy ~ -.17 anxiety - .10 avoidance``: with r(anxiety, avoidance) = .39 these
  reproduce the zero-order correlations SSE-anxiety = -.21 and SSE-avoidance = -.17 of 863 college
  students (Brown-Smythe & Sultana, 2023, p. 46); signs as Mallinckrodt & Wei (2005) and Wei,
  Russell & Zakalik (2005).
* ``social_support ~ .25 SSE + .15 awareness + 0 anxiety - .47 avoidance``: the competency paths are
  [inference] (positive per Mallinckrodt & Wei, 2005); the direct paths are then solved so the model
  implies the zero-order correlations anxiety-support = -.28 and avoidance-support = -.56 of Li,
  Sun & Li (2022). The anxiety path comes out 0: its rejection rate is a Type I error.
* ``emotional_awareness`` paths (-.20 anxiety, -.25 avoidance), the ``distress`` equation
  (-.25 SSE, -.15 awareness, .30 anxiety, .10 avoidance: R^2 about .27, below the R^2 = .42-.55 of
  Wei, Russell & Zakalik 2005 and Wei, Mallinckrodt et al. 2005 for fuller models) and the residual
  correlations (.20 between the competencies, -.20 between support and distress): [inference].
* scip-alliance and scip-serial reuse these values; the alliance paths (.20 support, .10 each
  competency) are [inference], of the size of the security-alliance correlation r = .17 (Diener &
  Monroe, 2011).

References
----------
Brown-Smythe, C., & Sultana, S. (2023). Examining social self-efficacy as a mediator for insecure
attachment and loneliness. *The Professional Counselor, 13*(1), 39-54.
https://doi.org/10.15241/cbs.13.1.39 (N = 863 college students; SSE-anxiety r = -.21,
SSE-avoidance r = -.17, p. 46.)
Diener, M. J., & Monroe, J. M. (2011). The relationship between adult attachment style and
therapeutic alliance in individual psychotherapy: A meta-analytic review. *Psychotherapy, 48*,
237-248.
Li, X., Sun, P., & Li, L. (2022). Adult attachment and trait anxiety among Chinese college
students: A multiple mediation model. *Frontiers in Public Health, 10*, 912128.
https://doi.org/10.3389/fpubh.2022.912128 (N = 672; zero-order correlations in its table of
descriptive statistics: anxiety-avoidance .39, anxiety-perceived social support -.28,
avoidance-support -.56.)
Mallinckrodt, B., & Wei, M. (2005). Attachment, social competencies, social support, and
psychological distress. *Journal of Counseling Psychology, 52*, 358-367.
Wei, M., Russell, D. W., & Zakalik, R. A. (2005). Adult attachment, social self-efficacy,
self-disclosure, loneliness, and subsequent depression for freshman college students. *Journal of
Counseling Psychology, 52*, 602-614.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sciplab._core.errors import InvalidParameterError, suggest
from sciplab._core.validation import check_finite
from sciplab.scip.templates import TEMPLATES, get_template
from sciplab.stats.syntax import parse_model

__all__ = ["DEFAULT_EFFECTS", "power", "resolve_model", "sample_size", "template_population"]

_ANX, _AVO = "attachment_anxiety", "attachment_avoidance"
_SSE, _EA, _SUP, _DIS, _ALL = "social_self_efficacy", "emotional_awareness", "social_support", "distress", "alliance"

_SHARED: dict[str, float] = {
    f"{_ANX}~~{_AVO}": 0.39,
    f"{_SSE}~{_ANX}": -0.17,
    f"{_SSE}~{_AVO}": -0.10,
    f"{_EA}~{_ANX}": -0.20,
    f"{_EA}~{_AVO}": -0.25,
    f"{_SUP}~{_SSE}": 0.25,
    f"{_SUP}~{_EA}": 0.15,
    f"{_SUP}~{_ANX}": 0.0,
    f"{_SUP}~{_AVO}": -0.47,
    f"{_DIS}~{_SSE}": -0.25,
    f"{_DIS}~{_EA}": -0.15,
    f"{_DIS}~{_ANX}": 0.30,
    f"{_DIS}~{_AVO}": 0.10,
    f"{_DIS}~{_SUP}": -0.30,
    f"{_SSE}~~{_EA}": 0.20,
    f"{_SUP}~~{_DIS}": -0.20,
    f"{_ALL}~{_SUP}": 0.20,
    f"{_ALL}~{_SSE}": 0.10,
    f"{_ALL}~{_EA}": 0.10,
}

DEFAULT_EFFECTS: dict[str, dict[str, float]] = {name: dict(_SHARED) for name in TEMPLATES}
"""Standardized default values per template; keys ``"y~x"`` (paths) and ``"a~~b"`` (correlations)."""


def _key(lhs: str, op: str, rhs: str) -> str:
    return f"{lhs}{op}{rhs}"


def template_population(name: str, effects: Mapping[str, float] | None = None) -> str:
    """Population syntax of a SCIP template with default (or the user's) standardized values.

    Parameters
    ----------
    name
        Template name (``scip-core``, ``scip-alliance``, ``scip-serial``).
    effects
        Values replacing the defaults: ``{"social_self_efficacy~attachment_anxiety": -0.3}`` for a
        path, ``{"attachment_anxiety~~attachment_avoidance": 0.5}`` for a correlation.

    Examples
    --------
    >>> print(template_population("scip-serial").splitlines()[1])
    social_self_efficacy ~ -0.17*attachment_anxiety + -0.1*attachment_avoidance
    """
    template = get_template(name)
    parsed = parse_model(template.syntax)
    t = parsed.table
    defaults = DEFAULT_EFFECTS[template.name]
    values = dict(defaults)
    known: dict[str, str] = {}
    for _, r in t[t["op"].isin(["~", "~~"])].iterrows():
        known[_key(r["lhs"], r["op"], r["rhs"])] = r["op"]
        if r["op"] == "~~":
            known[_key(r["rhs"], "~~", r["lhs"])] = "~~"
    roles = template.roles
    predictors = [c for c, role in roles.items() if role == "predictor"]
    for i, a in enumerate(predictors):
        for b in predictors[i + 1 :]:
            known.setdefault(_key(a, "~~", b), "~~")
            known.setdefault(_key(b, "~~", a), "~~")
    for key, value in dict(effects or {}).items():
        k = str(key).replace(" ", "")
        if k not in known:
            raise InvalidParameterError(
                f"template {template.name!r} has no path or correlation {key!r}{suggest(k, known)}; "
                f"write paths as 'outcome~predictor' and correlations as 'a~~b'"
            )
        v = check_finite(value, name=f"effect {key!r}")
        values[k] = v
        if "~~" in k:
            a, b = k.split("~~")
            values[_key(b, "~~", a)] = v
    lines = [f"# population model for {template.name} (standardized; sciplab.scip.population defaults)"]
    for y in dict.fromkeys(t[t["op"] == "~"]["lhs"]):
        rows = t[(t["op"] == "~") & (t["lhs"] == y)]
        terms = [f"{values.get(_key(y, '~', x), 0.0):g}*{x}" for x in rows["rhs"]]
        lines.append(f"{y} ~ " + " + ".join(terms))
    pairs = [(r["lhs"], r["rhs"]) for _, r in t[(t["op"] == "~~") & (t["lhs"] != t["rhs"])].iterrows()]
    for i, a in enumerate(predictors):
        for b in predictors[i + 1 :]:
            pairs.append((a, b))
    for a, b in pairs:
        v = values.get(_key(a, "~~", b), values.get(_key(b, "~~", a), 0.0))
        lines.append(f"{a} ~~ {v:g}*{b}")
    return "\n".join(lines) + "\n"


LATENT_POWER_TEMPLATES = {"scip-core-latent": "scip-core"}
"""Latent templates with a power population: their structural values are those of the observed template."""
DEFAULT_LOADING = 0.7
"""Standardized loading of every parcel in a latent power template **[inference]** (a parcel of a
reliable scale; give ``effects={"loading": 0.8}`` for another value)."""


def latent_template_population(name: str, effects: Mapping[str, float] | None = None) -> str:
    """Population syntax of a latent SCIP template: parcels loading ``loading`` on each construct.

    The structural part (paths, correlations) is :func:`template_population` of the matching
    observed template, now among latent variables; every construct is measured by its three
    parcels (``<construct>_p1 .. _p3``) with the standardized loading ``effects["loading"]``
    (default :data:`DEFAULT_LOADING`).

    Examples
    --------
    >>> print(latent_template_population("scip-core-latent").splitlines()[1])
    attachment_anxiety =~ 0.7*attachment_anxiety_p1 + 0.7*attachment_anxiety_p2 + 0.7*attachment_anxiety_p3
    """
    from sciplab.scip.latent import get_latent_template

    template = get_latent_template(name)
    values = dict(effects or {})
    loading = check_finite(values.pop("loading", DEFAULT_LOADING), name="loading", low=-0.999, high=0.999)
    if loading == 0:
        raise InvalidParameterError("the parcels' loading must not be 0 (the constructs would not be measured)")
    structural = template_population(LATENT_POWER_TEMPLATES[template.name], values)
    lines = [f"# population model for {template.name}: standardized loadings {loading:g} (parcels)"]
    for c in template.constructs:
        lines.append(f"{c} =~ " + " + ".join(f"{loading:g}*{p}" for p in template.indicator_names(c)))
    return "\n".join(lines) + "\n" + _labelled(structural)


def _labelled(structural: str) -> str:
    """Structural syntax with every path labelled (``p1``, ``p2``, ...) and its indirect effects defined.

    The effects ``ind1, ind2, ...`` are the specific indirect paths of the observed template, in its
    order (:func:`sciplab.stats.power.model.analysis_model`), so ``ind1`` names the same path in
    ``scip-core`` and ``scip-core-latent``.
    """
    from sciplab.stats.power.model import analysis_model, population

    am = analysis_model(population(structural))
    table = parse_model(structural).table
    paths = [f"{r['lhs']}~{r['rhs']}" for _, r in table.iterrows() if r["op"] == "~"]
    label = {path: f"p{k}" for k, path in enumerate(paths, start=1)}
    lines: dict[str, list[str]] = {}
    others = []
    for _, r in table.iterrows():
        if r["op"] == "~":
            lines.setdefault(r["lhs"], []).append(f"{r['ustart']!r}*{label[r['lhs'] + '~' + r['rhs']]}*{r['rhs']}")
        elif r["op"] == "~~":
            others.append(f"{r['lhs']} ~~ {r['ustart']!r}*{r['rhs']}")
    out = [f"{y} ~ " + " + ".join(terms) for y, terms in lines.items()] + others
    for name, expr in am.effects.items():
        out.append(f"{name} := " + "*".join(label[c] for c in expr.names))
    return "\n".join(out)


def resolve_model(model: Any, effects: Mapping[str, float] | None = None) -> Any:
    """A template name becomes its population syntax; anything else is returned unchanged."""
    if isinstance(model, str):
        key = model.strip().lower().replace("_", "-")
        if key in TEMPLATES:
            return template_population(key, effects)
        if key in LATENT_POWER_TEMPLATES:
            return latent_template_population(key, effects)
    if effects:
        raise InvalidParameterError("effects= sets the values of a SCIP template; give the model as a template name")
    return model


def power(model: Any, *, effects: Mapping[str, float] | None = None, **kwargs: Any) -> Any:
    """:func:`sciplab.stats.power.power` that also accepts a SCIP template name (``"scip-core"``).

    Examples
    --------
    >>> res = power("scip-core", n=[100], reps=100, seed=1, threads=1)
    >>> res.table["name"].iloc[-1]
    'ind8'
    """
    from sciplab.stats.power import power as _power

    return _power(resolve_model(model, effects), **kwargs)


def sample_size(model: Any, *, effects: Mapping[str, float] | None = None, **kwargs: Any) -> Any:
    """:func:`sciplab.stats.power.sample_size` that also accepts a SCIP template name."""
    from sciplab.stats.power import sample_size as _sample_size

    return _sample_size(resolve_model(model, effects), **kwargs)
