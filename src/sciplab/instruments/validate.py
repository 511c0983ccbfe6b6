"""Validation of instrument definitions: a parsed TOML mapping -> a frozen :class:`Instrument`.

:func:`parse_definition` checks every section of a definition (one helper per section) and raises
:class:`~sciplab._core.errors.InstrumentDefinitionError` naming the file, the field (dotted path)
and the problem. Everything scoring relies on is checked here, so a definition that loads always
scores (a Hypothesis fuzz of mutated definitions in ``tests/instruments/test_validate.py`` keeps
that true). The format is documented in ``docs/instrument-format.md``.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping
from typing import Any

from sciplab._core.errors import InstrumentDefinitionError, suggest
from sciplab.instruments.schema import (
    CONSTRUCTS,
    DIRECTIONS,
    MAX_ITEM_NUMBER,
    MAX_ITEMS,
    MAX_MULTIPLIER,
    MAX_NORM_MEAN,
    MAX_RESPONSE,
    MIN_SD,
    NORM_METRICS,
    NORM_SUFFIXES,
    POPULATIONS,
    SCORING_RULES,
    STATUSES,
    Band,
    Cutoff,
    Instrument,
    ItemFlag,
    Key,
    Licence,
    MissingRule,
    Norm,
    NormValues,
    Reliability,
    ReliableChangeValue,
    ResponseScale,
    Scale,
)

_ID_RE = re.compile(r"^[A-Za-z][A-Za-z0-9-]*$")
_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_ALIAS_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
_LICENCE_FIELDS = ("item_text", "statement", "source", "status", "name", "url", "attribution", "text_source")


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

    Every check that scoring relies on happens here, so a definition that loads always scores:
    one section of the file per helper below, each naming the field it rejects.

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
    n_items, item_numbers = _parse_item_count(ctx, raw)
    valid = set(item_numbers)
    response = _parse_response(ctx, raw)
    scoring = _choice(ctx, _get(ctx, raw, "scoring", "", str), SCORING_RULES, "scoring")
    licence = _parse_licence(ctx, raw)
    key = _parse_key(ctx, raw, valid)
    scales = _parse_scales(ctx, raw, valid, key, scoring)
    names = {s.name for s in scales}
    aliases, prefixes = _parse_names(ctx, raw, iid)
    return Instrument(
        id=iid,
        name=_get(ctx, raw, "name", "", str),
        citation=_get(ctx, raw, "citation", "", str),
        n_items=n_items,
        response=response,
        scoring=scoring,
        scales=scales,
        licence=licence,
        key=key,
        item_numbers=item_numbers,
        column_prefixes=prefixes,
        aliases=aliases,
        description=_text(ctx, raw, "description", ""),
        item_text=_parse_item_text(ctx, raw, valid, licence),
        norms=_parse_norms(ctx, raw, names),
        reliability=_parse_reliability(ctx, raw, names),
        cutoffs=_parse_cutoffs(ctx, raw, names),
        reliable_change=_parse_reliable_change(ctx, raw, names),
        flags=_parse_flags(ctx, raw, valid),
        structure_source=_text(ctx, raw, "structure_source", ""),
        path=where,
    )


def _parse_item_count(ctx: _Ctx, raw: Mapping[str, Any]) -> tuple[int, tuple[int, ...]]:
    n_items = _get(ctx, raw, "items", "", int)
    if n_items == 0 and "key" not in raw:
        pass  # structure only with an unverified item count: a user key file supplies it
    elif not 1 <= n_items <= MAX_ITEMS:
        raise ctx.fail(
            "items",
            f"must be between 1 and {MAX_ITEMS}, got {n_items} (0 = item count unverified "
            "is allowed only in a structure-only definition without a [key] table)",
        )
    numbers_raw = _get(ctx, raw, "item_numbers", "", list, required=False)
    if numbers_raw is None:
        return n_items, tuple(range(1, n_items + 1))
    item_numbers = _int_list(ctx, numbers_raw, "item_numbers", None)
    if len(item_numbers) != n_items:
        raise ctx.fail("item_numbers", f"lists {len(item_numbers)} numbers but items = {n_items}")
    if any(not 1 <= i <= MAX_ITEM_NUMBER for i in item_numbers):
        raise ctx.fail("item_numbers", f"item numbers must be between 1 and {MAX_ITEM_NUMBER}")
    return n_items, item_numbers


def _parse_response(ctx: _Ctx, raw: Mapping[str, Any]) -> ResponseScale:
    resp = _get(ctx, raw, "response", "", dict)
    _unknown_keys(ctx, resp, {"min", "max", "anchors", "source"}, "response")
    rmin = _get(ctx, resp, "min", "response", int)
    rmax = _get(ctx, resp, "max", "response", int)
    for fname, v in (("min", rmin), ("max", rmax)):
        if abs(v) > MAX_RESPONSE:
            raise ctx.fail(f"response.{fname}", f"must be between -{MAX_RESPONSE} and {MAX_RESPONSE}, got {v}")
    if rmax <= rmin:
        raise ctx.fail("response.max", f"must be greater than response.min ({rmin}), got {rmax}")
    anchors: dict[int, str] = {}
    for k, v in _get(ctx, resp, "anchors", "response", dict, required=False, default={}).items():
        point = _int_key(ctx, k, f"response.anchors.{k}", "anchor keys must be response values")
        if not rmin <= point <= rmax:
            raise ctx.fail(f"response.anchors.{k}", f"is outside the response range {rmin}-{rmax}")
        if not isinstance(v, str):
            raise ctx.fail(f"response.anchors.{k}", "must be a text label")
        anchors[point] = v
    return ResponseScale(rmin, rmax, anchors, _get(ctx, resp, "source", "response", str))


def _parse_licence(ctx: _Ctx, raw: Mapping[str, Any]) -> Licence:
    lic = _get(ctx, raw, "licence", "", dict)
    _unknown_keys(ctx, lic, set(_LICENCE_FIELDS), "licence")
    return Licence(
        item_text=_get(ctx, lic, "item_text", "licence", bool),
        statement=_get(ctx, lic, "statement", "licence", str),
        source=_get(ctx, lic, "source", "licence", str),
        status=_choice(ctx, _get(ctx, lic, "status", "licence", str), (*STATUSES, "unverified"), "licence.status"),
        name=_text(ctx, lic, "name", "licence"),
        url=_text(ctx, lic, "url", "licence"),
        attribution=_text(ctx, lic, "attribution", "licence"),
        text_source=_text(ctx, lic, "text_source", "licence"),
    )


def _parse_key(ctx: _Ctx, raw: Mapping[str, Any], valid: set[int]) -> Key | None:
    key_raw = _get(ctx, raw, "key", "", dict, required=False)
    if key_raw is None:  # structure only
        return None
    _unknown_keys(ctx, key_raw, {"status", "reverse", "sources", "note"}, "key")
    status = _choice(ctx, _get(ctx, key_raw, "status", "key", str), STATUSES, "key.status")
    reverse = _int_list(ctx, _get(ctx, key_raw, "reverse", "key", list), "key.reverse", valid)
    sources = _get(ctx, key_raw, "sources", "key", list)
    if not sources or not all(isinstance(s, str) and s.strip() for s in sources):
        raise ctx.fail("key.sources", "must list at least one source (citation or URL)")
    return Key(status, tuple(sorted(reverse)), tuple(sources), _text(ctx, key_raw, "note", "key"))


_SCALE_FIELDS = {
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
}


def _parse_scales(
    ctx: _Ctx, raw: Mapping[str, Any], valid: set[int], key: Key | None, scoring: str
) -> tuple[Scale, ...]:
    scales_raw = _get(ctx, raw, "scales", "", list)
    if not scales_raw:
        raise ctx.fail("scales", "must define at least one scale")
    scales: list[Scale] = []
    seen: dict[str, str] = {}
    for i, sraw in enumerate(scales_raw):
        scale = _parse_scale(ctx, sraw, f"scales[{i}]", valid, key, scoring)
        lower = scale.name.lower()
        if lower in seen:
            raise ctx.fail(f"scales[{i}].name", f"scale {scale.name!r} is defined twice")
        seen[lower] = f"scales[{i}]"
        scales.append(scale)
    # score columns <ID>_<scale> and their norm columns _z/_T/_pct must not collide
    for s in scales:
        for suffix in NORM_SUFFIXES:
            other = seen.get(f"{s.name}{suffix}".lower())
            if other is not None:
                raise ctx.fail(
                    f"{other}.name",
                    f"scale name {s.name + suffix!r} collides with the {suffix} column of scale {s.name!r}",
                )
    return tuple(scales)


def _parse_scale(ctx: _Ctx, sraw: Any, path: str, valid: set[int], key: Key | None, scoring: str) -> Scale:
    if not isinstance(sraw, Mapping):
        raise ctx.fail(path, "must be a table")
    _unknown_keys(ctx, sraw, _SCALE_FIELDS, path)
    sname = _get(ctx, sraw, "name", path, str)
    if not _NAME_RE.match(sname):
        raise ctx.fail(f"{path}.name", f"must be letters, digits and '_' (a column suffix), got {sname!r}")
    items = _int_list(ctx, _get(ctx, sraw, "items", path, list, required=False, default=[]), f"{path}.items", valid)
    if key is not None and not items:
        raise ctx.fail(f"{path}.items", "a keyed instrument must list the items of every scale")
    if key is None and items:
        raise ctx.fail(
            f"{path}.items",
            "item lists are a scoring key: a definition without a [key] table (structure only) "
            "must not assign items to scales",
        )
    sscoring = _choice(
        ctx, _get(ctx, sraw, "scoring", path, str, required=False, default=scoring), SCORING_RULES, f"{path}.scoring"
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
    if not 0 < multiplier <= MAX_MULTIPLIER:
        raise ctx.fail(f"{path}.multiplier", f"must be positive and at most {MAX_MULTIPLIER:g}, got {multiplier}")
    angle = _get(ctx, sraw, "angle_deg", path, float, required=False)
    if angle is not None and not 0 <= angle <= 360:
        raise ctx.fail(f"{path}.angle_deg", f"must be in [0, 360], got {angle}")
    return Scale(
        name=sname,
        label=_get(ctx, sraw, "label", path, str),
        items=items,
        scoring=sscoring,
        missing=_parse_missing(ctx, sraw, path, items, sscoring),
        construct=construct,
        direction=direction,
        multiplier=multiplier,
        angle_deg=angle,
        description=_text(ctx, sraw, "description", path),
    )


def _parse_missing(ctx: _Ctx, sraw: Mapping[str, Any], path: str, items: tuple[int, ...], scoring: str) -> MissingRule:
    miss_raw = _get(ctx, sraw, "missing", path, dict, required=items != ())
    if miss_raw is None:
        return MissingRule(0, False, "")
    mp = f"{path}.missing"
    _unknown_keys(ctx, miss_raw, {"min_answered", "prorate", "source"}, mp)
    min_answered = _get(ctx, miss_raw, "min_answered", mp, int)
    if items and not 1 <= min_answered <= len(items):
        raise ctx.fail(
            f"{mp}.min_answered", f"must be between 1 and the {len(items)} items of the scale, got {min_answered}"
        )
    missing = MissingRule(
        min_answered, _get(ctx, miss_raw, "prorate", mp, bool), _get(ctx, miss_raw, "source", mp, str)
    )
    if scoring == "sum" and items and min_answered < len(items) and not missing.prorate:
        raise ctx.fail(
            f"{mp}.prorate",
            "a sum scale that accepts missing items must prorate (mean of the answered "
            "items times the number of items); otherwise its sums would silently shrink",
        )
    return missing


def _scale_ref(ctx: _Ctx, value: str, full: str, names: set[str]) -> str:
    if value not in names:
        raise ctx.fail(full, f"refers to unknown scale {value!r}{suggest(value, names)}")
    return value


def _int_key(ctx: _Ctx, key: Any, full: str, problem: str) -> int:
    """A table key that must be a whole number written in ASCII digits (``"1"``, not ``"١"``)."""
    text = str(key).strip()
    if not re.fullmatch(r"[+-]?[0-9]+", text, flags=re.ASCII):
        raise ctx.fail(full, problem)
    return int(text)


def _parse_item_text(ctx: _Ctx, raw: Mapping[str, Any], valid: set[int], licence: Licence) -> dict[int, str]:
    text_raw = _get(ctx, raw, "item_text", "", dict, required=False, default={})
    if text_raw and not licence.item_text:
        raise ctx.fail(
            "item_text", "item wording is present but licence.item_text = false: the licence does not allow shipping it"
        )
    item_text: dict[int, str] = {}
    for k, v in text_raw.items():
        num = _int_key(ctx, k, f"item_text.{k}", "keys must be item numbers")
        if num not in valid:
            raise ctx.fail(f"item_text.{k}", "is not an item of this instrument")
        if num in item_text:
            raise ctx.fail(f"item_text.{k}", f"item {num} has two texts")
        if not isinstance(v, str) or not v.strip():
            raise ctx.fail(f"item_text.{k}", f"must be a non-empty text, got {v!r}")
        item_text[num] = v
    if item_text and not licence.text_source:
        raise ctx.fail("licence.text_source", "shipped item wording must say where the text comes from")
    return item_text


def _positive_n(ctx: _Ctx, table: Mapping[str, Any], path: str) -> int | None:
    n = _get(ctx, table, "n", path, int, required=False)
    if n is not None and n < 1:
        raise ctx.fail(f"{path}.n", f"must be a positive sample size, got {n}")
    return n


def _tables(ctx: _Ctx, raw: Mapping[str, Any], name: str) -> list[tuple[str, Mapping[str, Any]]]:
    """``[[name]]`` entries with their paths; each must be a table."""
    out = []
    for i, entry in enumerate(_get(ctx, raw, name, "", list, required=False, default=[])):
        path = f"{name}[{i}]"
        if not isinstance(entry, Mapping):
            raise ctx.fail(path, f"must be a table, got {entry!r}")
        out.append((path, entry))
    return out


def _parse_norms(ctx: _Ctx, raw: Mapping[str, Any], names: set[str]) -> tuple[Norm, ...]:
    norms: list[Norm] = []
    ids: set[str] = set()
    for path, nraw in _tables(ctx, raw, "norms"):
        _unknown_keys(ctx, nraw, {"id", "sample", "n", "population", "metric", "scales", "source", "status"}, path)
        nid = _get(ctx, nraw, "id", path, str)
        if nid.lower() in ids:
            raise ctx.fail(f"{path}.id", f"norm {nid!r} is defined twice")
        ids.add(nid.lower())
        values: dict[str, NormValues] = {}
        for sname, v in _get(ctx, nraw, "scales", path, dict).items():
            sp = f"{path}.scales.{sname}"
            _scale_ref(ctx, sname, sp, names)
            _unknown_keys(ctx, v, {"mean", "sd"}, sp)
            mean = _get(ctx, v, "mean", sp, float)
            sd = _get(ctx, v, "sd", sp, float)
            if not MIN_SD <= sd:
                raise ctx.fail(f"{sp}.sd", f"must be positive (at least {MIN_SD:g}), got {sd}")
            if abs(mean) > MAX_NORM_MEAN:
                raise ctx.fail(f"{sp}.mean", f"must be between -{MAX_NORM_MEAN:g} and {MAX_NORM_MEAN:g}, got {mean}")
            values[sname] = NormValues(mean, sd)
        norms.append(
            Norm(
                id=nid,
                sample=_get(ctx, nraw, "sample", path, str),
                n=_positive_n(ctx, nraw, path),
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
    return tuple(norms)


def _scale_fact(ctx: _Ctx, table: Mapping[str, Any], path: str, names: set[str]) -> dict[str, str]:
    """The ``scale``, ``source`` and ``status`` every published value about one scale carries."""
    return {
        "scale": _scale_ref(ctx, _get(ctx, table, "scale", path, str), f"{path}.scale", names),
        "source": _get(ctx, table, "source", path, str),
        "status": _choice(ctx, _get(ctx, table, "status", path, str), STATUSES, f"{path}.status"),
    }


def _parse_reliability(ctx: _Ctx, raw: Mapping[str, Any], names: set[str]) -> tuple[Reliability, ...]:
    out: list[Reliability] = []
    for path, rraw in _tables(ctx, raw, "reliability"):
        _unknown_keys(
            ctx, rraw, {"scale", "alpha", "retest", "retest_interval", "sample", "n", "source", "status"}, path
        )
        rec = Reliability(
            **_scale_fact(ctx, rraw, path, names),
            alpha=_get(ctx, rraw, "alpha", path, float, required=False),
            retest=_get(ctx, rraw, "retest", path, float, required=False),
            retest_interval=_text(ctx, rraw, "retest_interval", path),
            sample=_text(ctx, rraw, "sample", path),
            n=_positive_n(ctx, rraw, path),
        )
        for fname in ("alpha", "retest"):
            val = getattr(rec, fname)
            if val is not None and not 0 < val < 1:
                raise ctx.fail(f"{path}.{fname}", f"must be in (0, 1), got {val}")
        if rec.alpha is None and rec.retest is None:
            raise ctx.fail(path, "must give alpha or retest")
        out.append(rec)
    return tuple(out)


def _parse_bands(ctx: _Ctx, craw: Mapping[str, Any], path: str) -> tuple[Band, ...]:
    bands: list[Band] = []
    for j, braw in enumerate(_get(ctx, craw, "bands", path, list, required=False, default=[])):
        bp = f"{path}.bands[{j}]"
        _unknown_keys(ctx, braw, {"label", "min", "max"}, bp)
        band = Band(
            _get(ctx, braw, "label", bp, str), _get(ctx, braw, "min", bp, float), _get(ctx, braw, "max", bp, float)
        )
        if band.max < band.min:
            raise ctx.fail(bp, f"max {band.max} is below min {band.min}")
        if any(b.label == band.label for b in bands):
            raise ctx.fail(f"{bp}.label", f"band label {band.label!r} is used twice in this table")
        bands.append(band)
    ordered = sorted(bands, key=lambda b: b.min)
    for lower, upper in itertools.pairwise(ordered):
        if upper.min <= lower.max:  # inclusive bounds
            raise ctx.fail(
                f"{path}.bands",
                f"bands {lower.label!r} ({lower.min:g}-{lower.max:g}) and {upper.label!r} "
                f"({upper.min:g}-{upper.max:g}) overlap; a score must fall in one band",
            )
    return tuple(bands)


def _parse_cutoffs(ctx: _Ctx, raw: Mapping[str, Any], names: set[str]) -> tuple[Cutoff, ...]:
    out: list[Cutoff] = []
    for path, craw in _tables(ctx, raw, "cutoffs"):
        _unknown_keys(
            ctx, craw, {"scale", "value", "higher_is_worse", "bands", "applies_to", "note", "source", "status"}, path
        )
        cut = Cutoff(
            **_scale_fact(ctx, craw, path, names),
            value=_get(ctx, craw, "value", path, float, required=False),
            higher_is_worse=_get(ctx, craw, "higher_is_worse", path, bool, required=False, default=True),
            bands=_parse_bands(ctx, craw, path),
            applies_to=_text(ctx, craw, "applies_to", path),
            note=_text(ctx, craw, "note", path),
        )
        if cut.value is None and not cut.bands:
            raise ctx.fail(path, "must give a cut-off value or bands")
        out.append(cut)
    return tuple(out)


def _parse_reliable_change(ctx: _Ctx, raw: Mapping[str, Any], names: set[str]) -> tuple[ReliableChangeValue, ...]:
    out: list[ReliableChangeValue] = []
    for path, rraw in _tables(ctx, raw, "reliable_change"):
        _unknown_keys(ctx, rraw, {"scale", "points", "source", "status"}, path)
        points = _get(ctx, rraw, "points", path, float)
        if points <= 0:
            raise ctx.fail(f"{path}.points", f"must be positive, got {points}")
        out.append(ReliableChangeValue(points=points, **_scale_fact(ctx, rraw, path, names)))
    return tuple(out)


def _parse_flags(ctx: _Ctx, raw: Mapping[str, Any], valid: set[int]) -> tuple[ItemFlag, ...]:
    out: list[ItemFlag] = []
    for path, fraw in _tables(ctx, raw, "flags"):
        _unknown_keys(ctx, fraw, {"name", "items", "above", "message", "source"}, path)
        name = _get(ctx, fraw, "name", path, str)
        if not _NAME_RE.match(name):
            raise ctx.fail(f"{path}.name", f"must be letters, digits and '_' (a column suffix), got {name!r}")
        if any(f.name.lower() == name.lower() for f in out):
            raise ctx.fail(f"{path}.name", f"flag {name!r} is defined twice")
        items = _int_list(ctx, _get(ctx, fraw, "items", path, list), f"{path}.items", valid)
        if not items:
            raise ctx.fail(f"{path}.items", "must list at least one item")
        out.append(
            ItemFlag(
                name,
                items,
                _get(ctx, fraw, "above", path, float),
                _get(ctx, fraw, "message", path, str),
                _get(ctx, fraw, "source", path, str),
            )
        )
    return tuple(out)


def _parse_names(ctx: _Ctx, raw: Mapping[str, Any], iid: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``aliases`` and ``column_prefixes`` (the id without ``-`` is always the first prefix)."""
    aliases = _get(ctx, raw, "aliases", "", list, required=False, default=[])
    prefixes = _get(ctx, raw, "column_prefixes", "", list, required=False, default=[])
    for fname, values in (("aliases", aliases), ("column_prefixes", prefixes)):
        for v in values:
            if not isinstance(v, str) or not _ALIAS_RE.match(v):
                raise ctx.fail(fname, f"entries must start with a letter, then letters, digits, '-' or '_'; got {v!r}")
    default_prefix = re.sub(r"[^A-Za-z0-9]", "", iid)
    return tuple(aliases), (default_prefix, *(p for p in prefixes if p != default_prefix))
