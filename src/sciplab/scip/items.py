"""Raw questionnaire items in a SCIP data set: which instruments are recognised, and scoring them.

:func:`recognised_instruments` finds the instruments whose item columns are in a data frame
(``ECRS_01``, ``PSSE_1``, ``TAS20_05``...: an instrument prefix followed by a valid item number,
separators and case ignored), refusing item columns that fit two instruments (e.g. ECR-R and
ECR-R-interleaved) rather than guessing. :func:`score_recognised` scores them with the one scoring
engine (:func:`sciplab.scoring.engine.score_all`: reverse keys, missing-data rule), so a formulation
(:func:`sciplab.scip.formulate.formulate`) or a SCIP path model
(:func:`sciplab.scip.templates.fit_template` with ``score=True``) can start from raw items.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence

import pandas as pd

from sciplab._core.errors import DataError
from sciplab.instruments.registry import get_instrument, list_instruments
from sciplab.instruments.schema import Instrument
from sciplab.scoring.columns import match_columns
from sciplab.scoring.engine import score_all

__all__ = ["has_items", "instrument_registry", "recognised_instruments", "score_recognised"]


def instrument_registry(instruments_dir: str | None = None) -> list[Instrument]:
    """Every instrument definition: shipped, plus those in ``instruments_dir``."""
    items = list_instruments(instruments_dir=instruments_dir) if instruments_dir else list_instruments()
    return [i if isinstance(i, Instrument) else get_instrument(i, instruments_dir=instruments_dir) for i in items]


def _squash(text: object) -> str:
    return re.sub(r"[^a-z0-9]", "", str(text).lower())


def has_items(frame: pd.DataFrame, inst: Instrument) -> bool:
    """True when at least one column is an item of ``inst`` (prefix + a valid item number)."""
    valid = set(inst.item_numbers)
    prefixes = [_squash(p) for p in inst.column_prefixes]
    for c in frame.columns:
        name = _squash(c)
        for p in prefixes:
            rest = name[len(p) :]
            if name.startswith(p) and rest.isdigit() and int(rest) in valid:
                return True
    return False


def recognised_instruments(
    frame: pd.DataFrame, registry: Iterable[Instrument], *, exclude: Collection[str] = ()
) -> list[Instrument]:
    """Instruments with a scoring key whose item columns are in ``frame`` (ids in ``exclude`` skipped).

    Raises
    ------
    DataError
        Item columns fit two instruments; name the one administered.
    """
    chosen: list[Instrument] = []
    claimed: dict[str, set[str]] = {}
    for inst in registry:
        if not inst.has_key or inst.id in exclude or not has_items(frame, inst):
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
    return chosen


def score_recognised(
    frame: pd.DataFrame,
    registry: Iterable[Instrument] | None = None,
    *,
    exclude: Collection[str] = (),
    instruments: Sequence[str] | None = None,
    instruments_dir: str | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """Score the raw items in ``frame``: the score columns (``Instrument.column()`` names) and the ids scored.

    ``instruments`` names the instruments to score; by default every recognised one
    (:func:`recognised_instruments`) not in ``exclude``.
    """
    if instruments is not None:
        chosen = [get_instrument(i, instruments_dir=instruments_dir) for i in instruments]
    else:
        reg = instrument_registry(instruments_dir) if registry is None else registry
        chosen = recognised_instruments(frame, reg, exclude=exclude)
    if not chosen:
        return pd.DataFrame(index=frame.index), []
    res = score_all(frame, chosen, instruments_dir=instruments_dir)
    return res.scores, [i.id for i in chosen]
