"""A few respondents' answers scored one by one: the same numbers as :func:`sciplab.scoring.engine.score`, no frames.

A clinic scores one questionnaire at a time; :func:`score` builds five DataFrames around a one-row
result, which costs more than the arithmetic. :func:`score_answers` takes the answers as
``{item number: value}`` mappings and returns, per respondent, each scale's score, answered items,
status and bands and the item flags, with plain Python floats.

It is the same engine, not a second one: the frame it stands for is the one
:func:`score` would get (``columns`` names the item columns, default ``item_<n>``, one row per
mapping, NaN for a missing answer) and the rules are the definition's (reverse keys ``min + max - x``,
the missing-data rule, prorating, multiplier, flags on the answers as given, bands as consecutive
intervals). Every answer is an integer within the response scale (checked), so every sum is exact
and each score is computed with the same floating-point operations as :func:`score`'s: identical
values. Anything else (text, booleans, an answer outside the scale, a non-integer) goes to
:func:`score` on that frame, so a refusal is :func:`score`'s own error, word for word.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

from sciplab.instruments.registry import get_instrument, require_key
from sciplab.instruments.schema import Instrument
from sciplab.scoring.engine import STATUS_CODES, ScoreResult, score

__all__ = ["ScaleScore", "ScoredAnswers", "score_answers"]


@dataclasses.dataclass(frozen=True)
class ScaleScore:
    """One scale of one respondent: ``value`` (NaN when too few items were answered), as :func:`score` gives it."""

    value: float
    answered: int
    status: str  # complete / prorated / too_few_items
    bands: Mapping[str, str | None]  # ``<column>_band`` (``_band2`` ... for a second band set): label or None


@dataclasses.dataclass(frozen=True)
class ScoredAnswers:
    """One respondent: scales by score column (``<ID>_<scale>``) and the item flags (``<ID>_<flag>``)."""

    scales: Mapping[str, ScaleScore]
    flags: Mapping[str, bool]


def _plain(value: Any) -> bool:
    return value is None or type(value) in (int, float)


def score_answers(
    answers: Sequence[Mapping[int, Any]],
    instrument: str | Instrument,
    *,
    columns: Mapping[int, str] | None = None,
) -> list[ScoredAnswers]:
    """Score each mapping of ``{item number: answer}`` (None or NaN: not answered) with ``instrument``'s rules.

    Parameters
    ----------
    answers
        One mapping per respondent; items not in a mapping are missing.
    instrument
        Instrument id or :class:`~sciplab.instruments.schema.Instrument` (with a scoring key).
    columns
        Names of the item columns in the frame the answers stand for (default ``item_<n>``): they
        appear in :func:`score`'s error messages.

    Returns
    -------
    list of ScoredAnswers
        In the order of ``answers``; equal to what :func:`score` gives for the frame (see the module).

    Raises
    ------
    DataError
        What :func:`score` raises for the frame: an invalid answer (row, column, item, value, range),
        no rows.
    """
    inst = require_key(get_instrument(instrument))
    numbers = list(inst.item_numbers)
    names = {n: (columns or {}).get(n, f"item_{n}") for n in numbers}
    lo, hi = inst.response.min, inst.response.max
    rows: list[dict[int, float]] = []
    for given in answers:
        row: dict[int, float] = {}
        for n, v in given.items():
            if n not in names:  # not an item of the instrument: not in the frame either
                continue
            if not _plain(v):
                return _general(answers, inst, names)
            if v is None or (type(v) is float and math.isnan(v)):
                continue
            if not lo <= v <= hi or v != math.floor(v):
                return _general(answers, inst, names)
            row[n] = float(v)
        rows.append(row)
    if not rows:
        return _general(answers, inst, names)
    return [_score_row(inst, row) for row in rows]


def _score_row(inst: Instrument, row: Mapping[int, float]) -> ScoredAnswers:
    lo, hi = inst.response.min, inst.response.max
    reverse = set(inst.key.reverse if inst.key else ())
    scales: dict[str, ScaleScore] = {}
    for sc in inst.scales:
        k = len(sc.items)
        given = [(i, row[i]) for i in sc.items if i in row]
        answered = len(given)
        total = 0.0
        for i, x in given:  # integers: exact in any order, as score()'s matrix sums
            total += (lo + hi) - x if i in reverse else x
        if answered:
            mean = total / answered
            value = (mean * k if sc.scoring == "sum" else mean) * sc.multiplier
        else:
            value = math.nan
        ok = answered >= sc.missing.min_answered
        if not ok:
            value = math.nan
        status = STATUS_CODES[2 if not ok else 1 if answered < k else 0]
        scales[inst.column(sc.name)] = ScaleScore(value, answered, status, _bands(inst, sc.name, value))
    needed = {i for sc in inst.scales for i in sc.items}
    flags = {}
    for fl in inst.flags:
        items = [i for i in fl.items if i in needed]
        if items:  # the answers as given (not reverse-keyed); a missing answer never raises a flag
            flags[f"{inst.id}_{fl.name}"] = max(row.get(i, -math.inf) for i in items) > fl.above
    return ScoredAnswers(scales, flags)


def _bands(inst: Instrument, scale: str, value: float) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    col = inst.column(scale)
    for cut in inst.cutoffs:
        if not cut.bands or cut.applies_to or cut.scale != scale:
            continue
        ordered = sorted(cut.bands, key=lambda b: b.min)
        label = None
        if not math.isnan(value) and value <= max(b.max for b in ordered):
            below = [b.label for b in ordered if b.min <= value]  # consecutive intervals [min_i, min_i+1)
            label = below[-1] if below else None
        name, n = f"{col}_band", 2
        while name in out:
            name, n = f"{col}_band{n}", n + 1
        out[name] = label
    return out


def _general(answers: Sequence[Mapping[int, Any]], inst: Instrument, names: Mapping[int, str]) -> list[ScoredAnswers]:
    """:func:`score` on the frame the answers stand for (its errors as they are), read back row by row."""
    import pandas as pd

    data = {names[n]: [math.nan if given.get(n) is None else given[n] for given in answers] for n in inst.item_numbers}
    frame = pd.DataFrame(data, columns=list(data))
    columns: dict[int | str, str] = dict(names.items())
    return from_result(score(frame, inst, columns=columns), inst)


def from_result(result: ScoreResult, inst: Instrument) -> list[ScoredAnswers]:
    """The rows of a one-instrument :class:`ScoreResult` as :class:`ScoredAnswers` (scores and labels as given)."""
    out = []
    band_cols = list(result.bands.columns)
    for r in range(result.scores.shape[0]):
        scales = {}
        for sc in inst.scales:
            col = inst.column(sc.name)
            if col not in result.scores:
                continue
            raw_band = {
                b: result.bands[b].iloc[r]
                for b in band_cols
                if b == f"{col}_band" or b.startswith(f"{col}_band") and b[len(col) + 5 :].isdigit()
            }
            scales[col] = ScaleScore(
                float(result.scores[col].iloc[r]),
                int(result.validity[f"{col}_answered"].iloc[r]),
                str(result.validity[f"{col}_status"].iloc[r]),
                {b: None if _missing(v) else str(v) for b, v in raw_band.items()},
            )
        flags = {f: bool(result.flags[f].iloc[r]) for f in result.flags.columns}
        out.append(ScoredAnswers(scales, flags))
    return out


def _missing(value: Any) -> bool:
    """True for a missing band label (NaN from a categorical)."""
    return value is None or (isinstance(value, float) and math.isnan(value))
