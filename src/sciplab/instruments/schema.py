"""Schema of an instrument definition file (``definitions/<id>.toml``) as frozen dataclasses.

A definition is data, not code: items, response scale, scales with their items, reverse keys,
scoring rule, missing-data rule, norms, reliability, cut-offs, reliable-change values, licence and a
source for every fact, plus a ``status`` per key (``verified`` / ``single-source``; see
``../shared/docs/instruments.md``). Instruments whose key is not verified (CATS, TDS, SEQ) ship
their structure only (``key`` table absent, scales without items): scoring them needs a key file
the user supplies in the same format.

:func:`parse_definition` validates a mapping (the parsed TOML) and raises
:class:`~sciplab._core.errors.InstrumentDefinitionError` naming the file, the field and the problem.
The format is documented in ``docs/instrument-format.md``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sciplab._core.errors import InstrumentDefinitionError, suggest

#: SCIP constructs a scale may measure (scip-model.md). Unknown names are rejected on load.
CONSTRUCTS: dict[str, str] = {
    "attachment_anxiety": "Adult attachment anxiety (hyperactivating strategies)",
    "attachment_avoidance": "Adult attachment avoidance (deactivating strategies)",
    "parental_care": "Early caregiving: parental care",
    "parental_overprotection": "Early caregiving: parental overprotection",
    "social_self_efficacy": "Social competency: social self-efficacy",
    "emotional_awareness": "Social competency: emotional awareness (low alexithymia)",
    "alexithymia_facet": "Facet of alexithymia (inverse of emotional awareness)",
    "interpersonal_competence": "Social competency: interpersonal skills",
    "social_support": "Perceived social support",
    "social_support_facet": "Perceived social support from one source or of one provision",
    "interpersonal_problems": "Interpersonal problems (overall elevation)",
    "interpersonal_octant": "Interpersonal problems: one circumplex octant",
    "alliance": "Working alliance with the therapist",
    "alliance_facet": "Working alliance: goal, task or bond",
    "client_attachment_to_therapist": "Client attachment to the therapist",
    "therapeutic_distance": "Therapeutic distance regulation and corrective experience",
    "session_impact": "Session impact (depth, smoothness, mood)",
    "distress": "Psychological distress / outcome",
    "distress_facet": "Facet of distress (wellbeing, problems, functioning, risk)",
}

#: Polarity of each construct: True when higher scores are worse (problems), False when higher scores
#: are better (resources), None when neither applies (e.g. session impact, therapeutic distance).
#: The one home of this fact: reliable change, the formulation profile and the clinic read it here.
#: A scale declared ``direction = "inverse"`` measures its construct reversed (TAS-20 total vs
#: emotional awareness), which flips the polarity of its scores.
CONSTRUCT_HIGHER_IS_WORSE: dict[str, bool | None] = {
    "attachment_anxiety": True,
    "attachment_avoidance": True,
    "parental_care": False,
    "parental_overprotection": True,
    "social_self_efficacy": False,
    "emotional_awareness": False,
    "alexithymia_facet": True,
    "interpersonal_competence": False,
    "social_support": False,
    "social_support_facet": False,
    "interpersonal_problems": True,
    "interpersonal_octant": True,
    "alliance": False,
    "alliance_facet": False,
    "client_attachment_to_therapist": None,
    "therapeutic_distance": None,
    "session_impact": None,
    "distress": True,
    "distress_facet": True,
}
STATUSES = ("verified", "single-source")
SCORING_RULES = ("sum", "mean")
DIRECTIONS = ("positive", "inverse")
POPULATIONS = ("functional", "dysfunctional", "general")
NORM_METRICS = ("score", "item_sum", "item_mean")

_ID_RE = re.compile(r"^[A-Za-z][A-Za-z0-9-]*$")
_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class ResponseScale:
    """Allowed responses: integers from ``min`` to ``max`` with optional anchor labels."""

    min: int
    max: int
    anchors: Mapping[int, str]
    source: str


@dataclass(frozen=True)
class MissingRule:
    """Minimum answered items for a valid scale score; prorate sums from the answered items.

    ``min_answered`` equal to the number of items means no missing item is tolerated. For mean
    scoring a valid score is the mean of the answered items; for sum scoring it is the mean of the
    answered items times the number of items (prorated, flagged in the validity report).
    """

    min_answered: int
    prorate: bool
    source: str


@dataclass(frozen=True)
class Scale:
    """One scored scale (subscale or total)."""

    name: str
    label: str
    items: tuple[int, ...]
    scoring: str
    missing: MissingRule
    construct: str | None = None
    direction: str = "positive"
    multiplier: float = 1.0
    angle_deg: float | None = None
    description: str = ""

    @property
    def n_items(self) -> int:
        """Number of items of the scale."""
        return len(self.items)

    def score_range(self, response: ResponseScale) -> tuple[float, float]:
        """Smallest and largest possible score."""
        k = self.n_items if self.scoring == "sum" else 1
        return (response.min * k * self.multiplier, response.max * k * self.multiplier)


@dataclass(frozen=True)
class Key:
    """The scoring key's provenance and reverse-keyed items."""

    status: str
    reverse: tuple[int, ...]
    sources: tuple[str, ...]
    note: str = ""


@dataclass(frozen=True)
class NormValues:
    """Mean and SD of one scale in a norm sample."""

    mean: float
    sd: float


@dataclass(frozen=True)
class Norm:
    """A norm (reference) sample: who, how many, which metric, mean/SD per scale, source."""

    id: str
    sample: str
    n: int | None
    population: str
    metric: str
    scales: Mapping[str, NormValues]
    source: str
    status: str


@dataclass(frozen=True)
class Reliability:
    """Published reliability of one scale."""

    scale: str
    source: str
    status: str
    alpha: float | None = None
    retest: float | None = None
    retest_interval: str = ""
    sample: str = ""
    n: int | None = None


@dataclass(frozen=True)
class Band:
    """A labelled score band (inclusive bounds) for interpretation."""

    label: str
    min: float
    max: float


@dataclass(frozen=True)
class Cutoff:
    """A clinical cut-off and/or interpretive bands for one scale."""

    scale: str
    source: str
    status: str
    value: float | None = None
    higher_is_worse: bool = True
    bands: tuple[Band, ...] = ()
    applies_to: str = ""
    note: str = ""


@dataclass(frozen=True)
class ReliableChangeValue:
    """A published reliable-change value in raw score points."""

    scale: str
    points: float
    source: str
    status: str


@dataclass(frozen=True)
class ItemFlag:
    """A critical-item rule, e.g. PHQ-9 item 9 above 0 raises a risk flag."""

    name: str
    items: tuple[int, ...]
    above: float
    message: str
    source: str


@dataclass(frozen=True)
class Licence:
    """What the licence allows; ``item_text`` says whether item wording may be shipped."""

    item_text: bool
    statement: str
    source: str
    status: str


@dataclass(frozen=True)
class Instrument:
    """A validated instrument definition."""

    id: str
    name: str
    citation: str
    n_items: int
    response: ResponseScale
    scoring: str
    scales: tuple[Scale, ...]
    licence: Licence
    key: Key | None
    item_numbers: tuple[int, ...]
    column_prefixes: tuple[str, ...]
    aliases: tuple[str, ...] = ()
    description: str = ""
    item_text: Mapping[int, str] = field(default_factory=dict)
    norms: tuple[Norm, ...] = ()
    reliability: tuple[Reliability, ...] = ()
    cutoffs: tuple[Cutoff, ...] = ()
    reliable_change: tuple[ReliableChangeValue, ...] = ()
    flags: tuple[ItemFlag, ...] = ()
    structure_source: str = ""
    path: str = ""

    @property
    def has_key(self) -> bool:
        """True when the definition carries a scoring key (item-to-scale map)."""
        return self.key is not None

    @property
    def status(self) -> str:
        """``verified``, ``single-source`` or ``no-key`` (structure only)."""
        return self.key.status if self.key else "no-key"

    def scale(self, name: str) -> Scale:
        """The scale called ``name`` (case-insensitive)."""
        for s in self.scales:
            if s.name.lower() == str(name).lower():
                return s
        names = [s.name for s in self.scales]
        raise InstrumentDefinitionError(
            f"instrument {self.id} has no scale {name!r}{suggest(name, names)}; scales: {', '.join(names)}"
        )

    @property
    def prefix(self) -> str:
        """The canonical prefix of item columns: the id without ``-`` (``ECR-S`` -> ``ECRS``).

        Item *k* is canonically ``<prefix>_<kk>`` (``ECRS_01``); the id as written (``ECR-S_01``)
        and every other entry of ``column_prefixes`` are accepted too (``docs/instrument-format.md``).
        """
        return self.column_prefixes[0]

    def column(self, scale: str) -> str:
        """Name of the score column ``score()`` produces for ``scale``: ``<ID>_<scale>``."""
        return f"{self.id}_{self.scale(scale).name}"

    def norm(self, norm_id: str) -> Norm:
        """The norm sample called ``norm_id``."""
        for n in self.norms:
            if n.id.lower() == str(norm_id).lower():
                return n
        ids = [n.id for n in self.norms]
        if not ids:
            raise InstrumentDefinitionError(f"instrument {self.id} has no published norms recorded")
        raise InstrumentDefinitionError(
            f"instrument {self.id} has no norm {norm_id!r}{suggest(norm_id, ids)}; norms: {', '.join(ids)}"
        )


# ----------------------------------------------------------------------------------------------
# Validation


class _Ctx:
    """Carries the file name so every message names file and field."""

    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, fieldname: str, problem: str) -> InstrumentDefinitionError:
        return InstrumentDefinitionError(f"{self.where}: field '{fieldname}': {problem}")


def _get(
    ctx: _Ctx, table: Mapping[str, Any], key: str, path: str, kind: Any, required: bool = True, default: Any = None
) -> Any:
    full = f"{path}.{key}" if path else key
    if key not in table:
        if required:
            raise ctx.fail(full, "is required but missing")
        return default
    value = table[key]
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, int | float) or abs(value) > 1e300:
            raise ctx.fail(full, f"must be a (finite) number, got {value!r}")
        if not math.isfinite(value):
            raise ctx.fail(full, f"must be a finite number, got {value!r}")
        return float(value)
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ctx.fail(full, f"must be a whole number, got {value!r}")
        return value
    if kind is str:
        if not isinstance(value, str) or not value.strip():
            raise ctx.fail(full, f"must be a non-empty text, got {value!r}")
        return value.strip()
    if kind is bool:
        if not isinstance(value, bool):
            raise ctx.fail(full, f"must be true or false, got {value!r}")
        return value
    if kind is list:
        if not isinstance(value, list):
            raise ctx.fail(full, f"must be a list, got {value!r}")
        return value
    if kind is dict:
        if not isinstance(value, Mapping):
            raise ctx.fail(full, f"must be a table, got {value!r}")
        return value
    raise TypeError(kind)  # pragma: no cover - programming error


def _text(ctx: _Ctx, table: Mapping[str, Any], key: str, path: str) -> str:
    """An optional free-text field (may be empty); must be a string when present."""
    value = table.get(key, "")
    if not isinstance(value, str):
        full = f"{path}.{key}" if path else key
        raise ctx.fail(full, f"must be a text, got {value!r}")
    return value.strip()


def _choice(ctx: _Ctx, value: str, allowed: tuple[str, ...], full: str) -> str:
    if value not in allowed:
        raise ctx.fail(full, f"must be one of {', '.join(allowed)}, got {value!r}{suggest(value, allowed)}")
    return value


def _unknown_keys(ctx: _Ctx, table: Mapping[str, Any], allowed: set[str], path: str) -> None:
    if not isinstance(table, Mapping):
        raise ctx.fail(path or "(top level)", f"must be a table, got {table!r}")
    for key in table:
        if key not in allowed:
            full = f"{path}.{key}" if path else key
            raise ctx.fail(full, f"unknown field{suggest(key, allowed)}; allowed: {', '.join(sorted(allowed))}")


def _int_list(ctx: _Ctx, values: list[Any], full: str, valid: set[int] | None) -> tuple[int, ...]:
    out: list[int] = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int):
            raise ctx.fail(full, f"item numbers must be whole numbers, got {v!r}")
        if valid is not None and not valid:
            raise ctx.fail(full, f"item {v}: this definition has no items (items = 0)")
        if valid is not None and v not in valid:
            lo, hi = min(valid), max(valid)
            raise ctx.fail(full, f"item {v} is not an item of this instrument (items {lo}-{hi})")
        if v in out:
            raise ctx.fail(full, f"item {v} is listed twice")
        out.append(v)
    return tuple(out)


_TOP = {
    "id",
    "name",
    "citation",
    "aliases",
    "description",
    "items",
    "item_numbers",
    "column_prefixes",
    "scoring",
    "response",
    "licence",
    "key",
    "scales",
    "item_text",
    "norms",
    "reliability",
    "cutoffs",
    "reliable_change",
    "flags",
    "structure_source",
    "format",
}


def parse_definition(raw: Mapping[str, Any], where: str) -> Instrument:
    """Validate a parsed definition (e.g. from TOML) and build an :class:`Instrument`.

    Raises
    ------
    InstrumentDefinitionError
        Naming ``where`` (the file), the field (dotted path) and the problem.
    """
    ctx = _Ctx(where)
    _unknown_keys(ctx, raw, _TOP, "")
    fmt = raw.get("format", 1)
    if isinstance(fmt, bool) or fmt != 1:
        raise ctx.fail("format", f"unsupported definition format {fmt!r}; this version reads format 1")
    iid = _get(ctx, raw, "id", "", str)
    if not _ID_RE.match(iid):
        raise ctx.fail("id", f"must start with a letter and contain letters, digits and '-', got {iid!r}")
    name = _get(ctx, raw, "name", "", str)
    citation = _get(ctx, raw, "citation", "", str)
    n_items = _get(ctx, raw, "items", "", int)
    if n_items == 0 and "key" not in raw:
        pass  # structure only with an unverified item count: a user key file supplies it
    elif not 1 <= n_items <= 1000:
        raise ctx.fail(
            "items",
            f"must be between 1 and 1000, got {n_items} (0 = item count unverified "
            "is allowed only in a structure-only definition without a [key] table)",
        )
    numbers_raw = _get(ctx, raw, "item_numbers", "", list, required=False)
    if numbers_raw is None:
        item_numbers = tuple(range(1, n_items + 1))
    else:
        item_numbers = _int_list(ctx, numbers_raw, "item_numbers", None)
        if len(item_numbers) != n_items:
            raise ctx.fail("item_numbers", f"lists {len(item_numbers)} numbers but items = {n_items}")
        if any(i < 1 for i in item_numbers):
            raise ctx.fail("item_numbers", "item numbers must be >= 1")
    valid = set(item_numbers)

    # response scale
    resp = _get(ctx, raw, "response", "", dict)
    _unknown_keys(ctx, resp, {"min", "max", "anchors", "source"}, "response")
    rmin = _get(ctx, resp, "min", "response", int)
    rmax = _get(ctx, resp, "max", "response", int)
    if rmax <= rmin:
        raise ctx.fail("response.max", f"must be greater than response.min ({rmin}), got {rmax}")
    anchors_raw = _get(ctx, resp, "anchors", "response", dict, required=False, default={})
    anchors: dict[int, str] = {}
    for k, v in anchors_raw.items():
        try:
            point = int(k)
        except ValueError:
            raise ctx.fail(f"response.anchors.{k}", "anchor keys must be response values") from None
        if not rmin <= point <= rmax:
            raise ctx.fail(f"response.anchors.{k}", f"is outside the response range {rmin}-{rmax}")
        if not isinstance(v, str):
            raise ctx.fail(f"response.anchors.{k}", "must be a text label")
        anchors[point] = v
    response = ResponseScale(rmin, rmax, anchors, _get(ctx, resp, "source", "response", str))

    scoring = _choice(ctx, _get(ctx, raw, "scoring", "", str), SCORING_RULES, "scoring")

    # licence
    lic = _get(ctx, raw, "licence", "", dict)
    _unknown_keys(ctx, lic, {"item_text", "statement", "source", "status"}, "licence")
    licence = Licence(
        item_text=_get(ctx, lic, "item_text", "licence", bool),
        statement=_get(ctx, lic, "statement", "licence", str),
        source=_get(ctx, lic, "source", "licence", str),
        status=_choice(ctx, _get(ctx, lic, "status", "licence", str), (*STATUSES, "unverified"), "licence.status"),
    )

    # key (absent = structure only)
    key_raw = _get(ctx, raw, "key", "", dict, required=False)
    key: Key | None = None
    if key_raw is not None:
        _unknown_keys(ctx, key_raw, {"status", "reverse", "sources", "note"}, "key")
        status = _choice(ctx, _get(ctx, key_raw, "status", "key", str), STATUSES, "key.status")
        reverse = _int_list(ctx, _get(ctx, key_raw, "reverse", "key", list), "key.reverse", valid)
        sources = _get(ctx, key_raw, "sources", "key", list)
        if not sources or not all(isinstance(s, str) and s.strip() for s in sources):
            raise ctx.fail("key.sources", "must list at least one source (citation or URL)")
        key = Key(status, tuple(sorted(reverse)), tuple(sources), _text(ctx, key_raw, "note", "key"))

    # scales
    scales_raw = _get(ctx, raw, "scales", "", list)
    if not scales_raw:
        raise ctx.fail("scales", "must define at least one scale")
    scales: list[Scale] = []
    seen: set[str] = set()
    for i, sraw in enumerate(scales_raw):
        path = f"scales[{i}]"
        if not isinstance(sraw, Mapping):
            raise ctx.fail(path, "must be a table")
        _unknown_keys(
            ctx,
            sraw,
            {
                "name",
                "label",
                "items",
                "scoring",
                "missing",
                "construct",
                "direction",
                "multiplier",
                "angle_deg",
                "description",
            },
            path,
        )
        sname = _get(ctx, sraw, "name", path, str)
        if not _NAME_RE.match(sname):
            raise ctx.fail(f"{path}.name", f"must be letters, digits and '_' (a column suffix), got {sname!r}")
        if sname.lower() in seen:
            raise ctx.fail(f"{path}.name", f"scale {sname!r} is defined twice")
        seen.add(sname.lower())
        items_raw = _get(ctx, sraw, "items", path, list, required=False, default=[])
        items = _int_list(ctx, items_raw, f"{path}.items", valid)
        if key is not None and not items:
            raise ctx.fail(f"{path}.items", "a keyed instrument must list the items of every scale")
        if key is None and items:
            raise ctx.fail(
                f"{path}.items",
                "item lists are a scoring key: a definition without a [key] table (structure only) "
                "must not assign items to scales",
            )
        sscoring = _choice(
            ctx,
            _get(ctx, sraw, "scoring", path, str, required=False, default=scoring),
            SCORING_RULES,
            f"{path}.scoring",
        )
        construct = _get(ctx, sraw, "construct", path, str, required=False)
        if construct is not None and construct not in CONSTRUCTS:
            raise ctx.fail(
                f"{path}.construct",
                f"unknown SCIP construct {construct!r}{suggest(construct, CONSTRUCTS)}; known: {', '.join(CONSTRUCTS)}",
            )
        direction = _choice(
            ctx,
            _get(ctx, sraw, "direction", path, str, required=False, default="positive"),
            DIRECTIONS,
            f"{path}.direction",
        )
        multiplier = _get(ctx, sraw, "multiplier", path, float, required=False, default=1.0)
        if multiplier <= 0:
            raise ctx.fail(f"{path}.multiplier", f"must be positive, got {multiplier}")
        angle = _get(ctx, sraw, "angle_deg", path, float, required=False)
        if angle is not None and not 0 <= angle <= 360:
            raise ctx.fail(f"{path}.angle_deg", f"must be in [0, 360], got {angle}")
        miss_raw = _get(ctx, sraw, "missing", path, dict, required=items != ())
        if miss_raw is None:
            missing = MissingRule(0, False, "")
        else:
            mp = f"{path}.missing"
            _unknown_keys(ctx, miss_raw, {"min_answered", "prorate", "source"}, mp)
            min_answered = _get(ctx, miss_raw, "min_answered", mp, int)
            if items and not 1 <= min_answered <= len(items):
                raise ctx.fail(
                    f"{mp}.min_answered",
                    f"must be between 1 and the {len(items)} items of the scale, got {min_answered}",
                )
            missing = MissingRule(
                min_answered, _get(ctx, miss_raw, "prorate", mp, bool), _get(ctx, miss_raw, "source", mp, str)
            )
            if sscoring == "sum" and items and min_answered < len(items) and not missing.prorate:
                raise ctx.fail(
                    f"{mp}.prorate",
                    "a sum scale that accepts missing items must prorate (mean of the answered "
                    "items times the number of items); otherwise its sums would silently shrink",
                )
        scales.append(
            Scale(
                name=sname,
                label=_get(ctx, sraw, "label", path, str),
                items=items,
                scoring=sscoring,
                missing=missing,
                construct=construct,
                direction=direction,
                multiplier=multiplier,
                angle_deg=angle,
                description=_text(ctx, sraw, "description", path),
            )
        )
    scale_names = {s.name for s in scales}

    def scale_ref(value: str, full: str) -> str:
        if value not in scale_names:
            raise ctx.fail(full, f"refers to unknown scale {value!r}{suggest(value, scale_names)}")
        return value

    # item text: only where the licence allows
    text_raw = _get(ctx, raw, "item_text", "", dict, required=False, default={})
    if text_raw and not licence.item_text:
        raise ctx.fail(
            "item_text", "item wording is present but licence.item_text = false: the licence does not allow shipping it"
        )
    item_text: dict[int, str] = {}
    for k, v in text_raw.items():
        try:
            num = int(k)
        except ValueError:
            raise ctx.fail(f"item_text.{k}", "keys must be item numbers") from None
        if num not in valid:
            raise ctx.fail(f"item_text.{k}", "is not an item of this instrument")
        if not isinstance(v, str) or not v.strip():
            raise ctx.fail(f"item_text.{k}", f"must be a non-empty text, got {v!r}")
        item_text[num] = v

    # norms
    norms: list[Norm] = []
    for i, nraw in enumerate(_get(ctx, raw, "norms", "", list, required=False, default=[])):
        path = f"norms[{i}]"
        _unknown_keys(ctx, nraw, {"id", "sample", "n", "population", "metric", "scales", "source", "status"}, path)
        values: dict[str, NormValues] = {}
        for sname, v in _get(ctx, nraw, "scales", path, dict).items():
            sp = f"{path}.scales.{sname}"
            scale_ref(sname, sp)
            _unknown_keys(ctx, v, {"mean", "sd"}, sp)
            mean = _get(ctx, v, "mean", sp, float)
            sd = _get(ctx, v, "sd", sp, float)
            if sd <= 0:
                raise ctx.fail(f"{sp}.sd", f"must be positive, got {sd}")
            values[sname] = NormValues(mean, sd)
        n = _get(ctx, nraw, "n", path, int, required=False)
        norms.append(
            Norm(
                id=_get(ctx, nraw, "id", path, str),
                sample=_get(ctx, nraw, "sample", path, str),
                n=n,
                population=_choice(ctx, _get(ctx, nraw, "population", path, str), POPULATIONS, f"{path}.population"),
                metric=_choice(
                    ctx,
                    _get(ctx, nraw, "metric", path, str, required=False, default="score"),
                    NORM_METRICS,
                    f"{path}.metric",
                ),
                scales=values,
                source=_get(ctx, nraw, "source", path, str),
                status=_choice(ctx, _get(ctx, nraw, "status", path, str), STATUSES, f"{path}.status"),
            )
        )

    reliability: list[Reliability] = []
    for i, rraw in enumerate(_get(ctx, raw, "reliability", "", list, required=False, default=[])):
        path = f"reliability[{i}]"
        _unknown_keys(
            ctx, rraw, {"scale", "alpha", "retest", "retest_interval", "sample", "n", "source", "status"}, path
        )
        rec = Reliability(
            scale=scale_ref(_get(ctx, rraw, "scale", path, str), f"{path}.scale"),
            source=_get(ctx, rraw, "source", path, str),
            status=_choice(ctx, _get(ctx, rraw, "status", path, str), STATUSES, f"{path}.status"),
            alpha=_get(ctx, rraw, "alpha", path, float, required=False),
            retest=_get(ctx, rraw, "retest", path, float, required=False),
            retest_interval=_text(ctx, rraw, "retest_interval", path),
            sample=_text(ctx, rraw, "sample", path),
            n=_get(ctx, rraw, "n", path, int, required=False),
        )
        for fname in ("alpha", "retest"):
            val = getattr(rec, fname)
            if val is not None and not 0 < val < 1:
                raise ctx.fail(f"{path}.{fname}", f"must be in (0, 1), got {val}")
        if rec.alpha is None and rec.retest is None:
            raise ctx.fail(path, "must give alpha or retest")
        reliability.append(rec)

    cutoffs: list[Cutoff] = []
    for i, craw in enumerate(_get(ctx, raw, "cutoffs", "", list, required=False, default=[])):
        path = f"cutoffs[{i}]"
        _unknown_keys(
            ctx, craw, {"scale", "value", "higher_is_worse", "bands", "applies_to", "note", "source", "status"}, path
        )
        bands: list[Band] = []
        for j, braw in enumerate(_get(ctx, craw, "bands", path, list, required=False, default=[])):
            bp = f"{path}.bands[{j}]"
            _unknown_keys(ctx, braw, {"label", "min", "max"}, bp)
            band = Band(
                _get(ctx, braw, "label", bp, str), _get(ctx, braw, "min", bp, float), _get(ctx, braw, "max", bp, float)
            )
            if band.max < band.min:
                raise ctx.fail(bp, f"max {band.max} is below min {band.min}")
            bands.append(band)
        cut = Cutoff(
            scale=scale_ref(_get(ctx, craw, "scale", path, str), f"{path}.scale"),
            source=_get(ctx, craw, "source", path, str),
            status=_choice(ctx, _get(ctx, craw, "status", path, str), STATUSES, f"{path}.status"),
            value=_get(ctx, craw, "value", path, float, required=False),
            higher_is_worse=_get(ctx, craw, "higher_is_worse", path, bool, required=False, default=True),
            bands=tuple(bands),
            applies_to=_text(ctx, craw, "applies_to", path),
            note=_text(ctx, craw, "note", path),
        )
        if cut.value is None and not cut.bands:
            raise ctx.fail(path, "must give a cut-off value or bands")
        cutoffs.append(cut)

    rc_values: list[ReliableChangeValue] = []
    for i, rraw in enumerate(_get(ctx, raw, "reliable_change", "", list, required=False, default=[])):
        path = f"reliable_change[{i}]"
        _unknown_keys(ctx, rraw, {"scale", "points", "source", "status"}, path)
        points = _get(ctx, rraw, "points", path, float)
        if points <= 0:
            raise ctx.fail(f"{path}.points", f"must be positive, got {points}")
        rc_values.append(
            ReliableChangeValue(
                scale_ref(_get(ctx, rraw, "scale", path, str), f"{path}.scale"),
                points,
                _get(ctx, rraw, "source", path, str),
                _choice(ctx, _get(ctx, rraw, "status", path, str), STATUSES, f"{path}.status"),
            )
        )

    flags: list[ItemFlag] = []
    for i, fraw in enumerate(_get(ctx, raw, "flags", "", list, required=False, default=[])):
        path = f"flags[{i}]"
        _unknown_keys(ctx, fraw, {"name", "items", "above", "message", "source"}, path)
        flags.append(
            ItemFlag(
                _get(ctx, fraw, "name", path, str),
                _int_list(ctx, _get(ctx, fraw, "items", path, list), f"{path}.items", valid),
                _get(ctx, fraw, "above", path, float),
                _get(ctx, fraw, "message", path, str),
                _get(ctx, fraw, "source", path, str),
            )
        )

    aliases_raw = _get(ctx, raw, "aliases", "", list, required=False, default=[])
    prefixes = _get(ctx, raw, "column_prefixes", "", list, required=False, default=[])
    for fname, values in (("aliases", aliases_raw), ("column_prefixes", prefixes)):
        for v in values:
            if not isinstance(v, str) or not re.match(r"^[A-Za-z][A-Za-z0-9_-]*$", v):
                raise ctx.fail(fname, f"entries must start with a letter, then letters, digits, '-' or '_'; got {v!r}")
    aliases = tuple(aliases_raw)
    default_prefix = re.sub(r"[^A-Za-z0-9]", "", iid)
    all_prefixes = [default_prefix] + [str(p) for p in prefixes if str(p) != default_prefix]
    return Instrument(
        id=iid,
        name=name,
        citation=citation,
        n_items=n_items,
        response=response,
        scoring=scoring,
        scales=tuple(scales),
        licence=licence,
        key=key,
        item_numbers=item_numbers,
        column_prefixes=tuple(all_prefixes),
        aliases=aliases,
        description=_text(ctx, raw, "description", ""),
        item_text=item_text,
        norms=tuple(norms),
        reliability=tuple(reliability),
        cutoffs=tuple(cutoffs),
        reliable_change=tuple(rc_values),
        flags=tuple(flags),
        structure_source=_text(ctx, raw, "structure_source", ""),
        path=where,
    )
