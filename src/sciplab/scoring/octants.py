"""Circumplex octant scores from item responses (IIP-32, IIP-SC, or any instrument with angled scales).

``octant_scores`` scores the items through :func:`sciplab.score`, then optionally

* **standardizes** each octant against a norm sample of the definition (z = (s - M) / SD on the
  score's metric; e.g. IIP-SC ``students`` or ``outpatients``; record of which norm is kept), and
* **ipsatizes** (deviation scoring): subtracts each respondent's mean across the octants, removing
  the general complaint factor (elevation) so the profile shows its shape only. With complete data
  and equal item counts per octant this equals item-level deviation scoring (the person's mean over
  all items subtracted from each item before scoring).

The result's ``scores`` are named by octant code (``PA`` ... ``NO``) with ``angles_deg`` from the
definition, ready for :func:`sciplab.stats.circumplex.ssm`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from sciplab._core.errors import InstrumentDefinitionError
from sciplab.instruments.registry import get_instrument
from sciplab.instruments.schema import Instrument
from sciplab.scoring.engine import OnInvalid, ScoreResult, score


@dataclasses.dataclass(frozen=True)
class OctantScores:
    """Octant scores ready for SSM: ``scores`` (columns = octant codes), ``angles_deg``, ``details``."""

    scores: pd.DataFrame
    angles_deg: tuple[float, ...]
    details: Mapping[str, Any]
    scored: ScoreResult

    @property
    def scales(self) -> list[str]:
        """Octant column names in definition order."""
        return list(self.scores.columns)


def octant_scales(instrument: str | Instrument) -> tuple[list[str], tuple[float, ...]]:
    """Names and angles (degrees) of the angled scales of an instrument, in definition order."""
    inst = get_instrument(instrument)
    angled = [s for s in inst.scales if s.angle_deg is not None]
    if not angled:
        raise InstrumentDefinitionError(f"{inst.id} has no circumplex scales (no scale declares angle_deg)")
    return [s.name for s in angled], tuple(float(s.angle_deg) for s in angled)  # type: ignore[arg-type]


def octant_scores(
    data: pd.DataFrame,
    instrument: str | Instrument = "IIP-SC",
    *,
    ipsatize: bool = False,
    norm: str | None = None,
    columns: Mapping[int | str, str] | Sequence[str] | None = None,
    min_answered: int | float | None = None,
    on_invalid: OnInvalid = "error",
) -> OctantScores:
    """Score circumplex octants, optionally standardized against a norm and/or ipsatized.

    Parameters
    ----------
    data
        Item responses (e.g. ``IIP01`` ... ``IIP32``).
    instrument
        ``"IIP-SC"`` (default), ``"IIP-32"`` or any definition whose scales carry ``angle_deg``.
    ipsatize
        Subtract each respondent's mean across octants (after standardizing, if ``norm``).
    norm
        Norm sample id in the definition (e.g. ``"students"``): octants become z-scores.
    columns, min_answered, on_invalid
        As in :func:`sciplab.score`.

    Returns
    -------
    OctantScores

    Examples
    --------
    >>> import pandas as pd
    >>> second = [1 if (i - 1) % 8 < 4 else 3 for i in range(1, 33)]  # PA-FG items 1, HI-NO items 3
    >>> df = pd.DataFrame([[2] * 32, second], columns=[f"IIP{i:02d}" for i in range(1, 33)])
    >>> oc = octant_scores(df, "IIP-SC", ipsatize=True)
    >>> oc.scores.round(2).iloc[1].tolist()
    [-1.0, -1.0, -1.0, -1.0, 1.0, 1.0, 1.0, 1.0]
    """
    inst = get_instrument(instrument)
    names, angles = octant_scales(inst)
    res = score(data, inst, columns=columns, min_answered=min_answered, on_invalid=on_invalid, scales=names, norm=norm)
    suffix = "_z" if norm else ""
    frame = pd.DataFrame({n: res.scores[inst.column(n) + suffix] for n in names}, index=data.index)
    if ipsatize:
        frame = frame.sub(frame.mean(axis=1, skipna=False), axis=0)
    norm_info = res.details["instruments"][0]["norm"] if norm else None
    details = {
        "instrument": inst.id,
        "key_status": inst.status,
        "angles_deg": dict(zip(names, angles, strict=True)),
        "norm": None if norm_info is None else norm_info["id"],
        "ipsatize": bool(ipsatize),
        "standardized": norm_info,
        "ipsatized": bool(ipsatize),
        "ipsatization": "respondent's mean across octants subtracted (deviation scoring)" if ipsatize else None,
        "scoring": _describe_scoring(inst.id, norm_info, ipsatize),
        "n_complete_profiles": int(np.isfinite(frame.to_numpy()).all(axis=1).sum()),
    }
    # carried with the scores, so whoever passes only the DataFrame on (e.g. to ssm) keeps the record
    frame.attrs["octant_scoring"] = details["scoring"]
    return OctantScores(scores=frame, angles_deg=angles, details=details, scored=res)


def _describe_scoring(inst_id: str, norm_info: Mapping[str, Any] | None, ipsatize: bool) -> str:
    """One line saying how the octants were scored: raw, standardized (which norm) and/or ipsatized."""
    text = f"{inst_id} octant scores"
    if norm_info is not None:
        n = f", N = {norm_info['n']}" if norm_info.get("n") else ""
        text += f", standardized against norm {norm_info['id']!r} ({norm_info['sample']}{n}; {norm_info['source']})"
    else:
        text += ", raw (not standardized)"
    if ipsatize:
        text += ", ipsatized (each respondent's mean across octants subtracted)"
    return text
