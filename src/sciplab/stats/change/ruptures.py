"""Alliance rupture-repair episodes and client-therapist perspective gaps.

Implements
----------
* :func:`detect_ruptures` -- rupture-repair episodes in session alliance series
  (Stiles et al. 2004; Strauss et al. 2006; Gumz et al. 2012): V-shaped deflections by the lenient
  (1 SD, Strauss-type) and strict (2 SD, Stiles-type) rule, using the stricter (larger) of intra-
  and inter-individual variability of session-to-session differences; repair within ``J``
  sessions; unresolved episodes escalated. Generic: which rupture type to expect by attachment pattern is SCIP's, in
  :mod:`sciplab.scip.relationship`.
* :func:`alliance_gap` -- client-therapist perspective gaps.

Our operationalisation of the rupture detector (a design choice, not a published rule)
--------------------------------------------------------------------------------------
The baseline of session ``t`` is the mean of the ``k`` sessions ending at the last local peak
before ``t`` (the start of the current run of strict declines, at most ``max_decline`` sessions
back), so a multi-session decline counts against the pre-decline level; for a one-session drop this
is the usual ``mean(a_{t-k..t-1})``. ``sd_in`` is the SD of the client's session-to-session
differences before the decline started (needs at least 3 differences). Repair is looked for in
the ``J`` sessions after the trough (the lowest session of the decline): the first later session
back at ``baseline - threshold / 2`` or above, found with one vectorised search over the rest of
the series (never a loop over ``J``, which may be huge). Pattern ``"V"`` is a one-session drop
repaired at the next session, ``"decline-sudden-repair"`` a multi-session decline repaired at once,
``"U/slow"`` a repair taking more than one session. Episodes whose series ends before ``J``
sessions after the trough are ``"pending"``, not ``"unresolved"``. The exact Stiles and Strauss
rules have not been checked against the papers: no equivalence is claimed.

Sources
-------
Stiles, W. B., et al. (2004). Patterns of alliance development and the rupture-repair hypothesis.
*J Couns Psychol, 51*, 81-92.
Strauss, J. L., et al. (2006). Early alliance, alliance ruptures, and symptom change in a
nonrandomized trial of cognitive therapy for avoidant and obsessive-compulsive personality
disorders. *JCCP, 74*, 337-345.
Gumz, A., et al. (2012). Crisis-repair sequences -- considerations on the classification and
assessment of breaches in the therapeutic relationship. *BMC Medical Research Methodology, 12*, 10.
https://doi.org/10.1186/1471-2288-12-10 (1 SD and 2 SD rules, the stricter of intra- and
inter-individual variability; the longest decline lasted six sessions)
Eubanks, C. F., Muran, J. C., & Safran, J. D. (2018). Alliance rupture repair: A meta-analysis.
*Psychotherapy, 55*, 508-519.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from sciplab._core.errors import DataError, InvalidParameterError
from sciplab._core.results import Result, package_version
from sciplab._core.validation import check_finite
from sciplab.stats.change.sessions import _long

__all__ = ["MAX_DECLINE", "MAX_WINDOW", "AllianceGapResult", "RuptureResult", "alliance_gap", "detect_ruptures",
           "rupture_episodes"]  # fmt: skip

#: The longest decline seen in rupture-repair sequences lasted 6 sessions (Gumz et al. 2012).
MAX_DECLINE = 6
#: Upper bound of the session windows ``k``, ``J`` and ``max_decline``: far beyond any course of
#: therapy, it only turns absurd values (a typo, an overflow) into a clear error.
MAX_WINDOW = 1000


def rupture_episodes(
    a: np.ndarray, *, m: float, sd_ref: float, k: int, J: int, max_decline: int = MAX_DECLINE
) -> list[dict[str, Any]]:
    """Kernel: rupture-repair episodes in one alliance series ``a`` (positions, higher = better)."""
    n = len(a)
    events: list[dict[str, Any]] = []
    i = 1
    while i < n:
        # start of the current run of strict declines ending at i (the last local peak)
        p = i
        while p > 0 and a[p - 1] > a[p] and i - (p - 1) <= max_decline:
            p -= 1
        if p == i:  # no decline into i
            i += 1
            continue
        base = float(np.mean(a[max(0, p - k + 1) : p + 1]))
        diffs = np.diff(a[: p + 1])
        sd_in = float(np.std(diffs, ddof=1)) if len(diffs) >= 3 else math.nan
        if not math.isnan(sd_in) and sd_in > sd_ref:
            sd_used, which = sd_in, "intra-individual"
        else:
            sd_used, which = sd_ref, "inter-individual"
        thr = m * sd_used
        if not (thr > 0 and base - a[i] >= thr):
            i += 1
            continue
        trough = i
        while trough + 1 < n and a[trough + 1] < a[trough] and trough + 1 - p <= max_decline:
            trough += 1
        # first session within J after the trough back at baseline - thr/2: one search, no loop over J
        window = a[trough + 1 : min(n, trough + 1 + J)]
        hits = np.flatnonzero(window >= base - thr / 2)
        repair = trough + 1 + int(hits[0]) if hits.size else None
        if repair is not None:
            j = repair - trough
            pattern = "U/slow" if j > 1 else ("V" if trough - p == 1 else "decline-sudden-repair")
            status = "repaired"
        else:
            pattern = None
            status = "unresolved" if trough + J < n else "pending"
        events.append(
            {
                "start": p + 1,
                "onset": i,
                "trough": trough,
                "repair": repair,
                "baseline": base,
                "trough_value": float(a[trough]),
                "depth": base - float(a[trough]),
                "depth_sd": (base - float(a[trough])) / sd_used,
                "threshold": thr,
                "sd_used": sd_used,
                "sd_source": which,
                "sd_intra": sd_in,
                "decline_length": trough - p,
                "repair_length": None if repair is None else repair - trough,
                "pattern": pattern,
                "status": status,
            }
        )
        i = (repair + 1) if repair is not None else (trough + J + 1)
    return events


@dataclasses.dataclass(frozen=True)
class RuptureResult(Result):
    """Rupture-repair episodes (``.table``, one row per episode and rule) and the alliance series."""

    series: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)
    title: ClassVar[str] = "Alliance rupture-repair episodes"

    def summary(self) -> str:
        """Episodes per client and rule."""
        d = self.details
        lines = [self.title, "=" * len(self.title)]
        lines.append(
            f"{d['alliance']}: {d['n_clients']} clients; k = {d['k']}, J = {d['J']}; rules {d['rules']} SD; "
            f"sd_ref = {d['sd_ref']:.3f} ({d['sd_ref_source']})"
        )
        t = self.table
        if t.empty:
            lines.append("no ruptures detected")
        for _, e in t.iterrows():
            rep = (
                f"repaired at session {e['repair_session']:g} ({e['pattern']})"
                if e["status"] == "repaired"
                else e["status"]
            )
            lines.append(
                f"  client {e['client']} [{e['rule']}]: sessions {e['start_session']:g}-{e['trough_session']:g}, "
                f"depth {e['depth_sd']:.2f} SD -> {rep}" + (" ESCALATE" if e["escalate"] else "")
            )
        return "\n".join(lines)


_RULE_NAMES = {1: "lenient (1 SD)", 2: "strict (2 SD)"}
_EVENT_COLUMNS = [
    "client", "rule", "m", "start_session", "onset_session", "trough_session", "repair_session", "baseline",
    "trough_value", "depth", "depth_sd", "threshold", "sd_used", "sd_source", "decline_length", "repair_length",
    "pattern", "status", "escalate",
]  # fmt: skip


def detect_ruptures(
    data: pd.DataFrame,
    *,
    client: str,
    session: str,
    alliance: str,
    k: int = 3,
    J: int = 3,
    sd_ref: float | None = None,
    rules: Sequence[float] = (1, 2),
    max_decline: int = MAX_DECLINE,
    date: str | None = None,
) -> RuptureResult:
    """Detect rupture-repair episodes (V-shaped deflections) in session-by-session alliance ratings.

    Parameters
    ----------
    data
        Long data, one row per client and session; higher alliance = better.
    client, session, alliance
        Column names.
    k
        Sessions averaged for the baseline (ending at the last peak before the drop).
    J
        A rupture is repaired when the alliance returns to ``baseline - threshold / 2`` within
        ``J`` sessions after the trough; else unresolved (escalate). ``k``, ``J`` and
        ``max_decline`` are whole numbers from 1 to :data:`MAX_WINDOW`.
    sd_ref
        Inter-individual SD of session-to-session differences from a reference sample. Default:
        pooled SD of the differences in ``data`` (recorded in ``details``).
    rules
        Multipliers of the SD: 1 (lenient, Strauss-type) and 2 (strict, Stiles-type); both reported.
    max_decline
        Longest decline (sessions) counted as one episode (6: longest seen, Gumz et al. 2012).
    date
        Optional date column (checked for order).

    Returns
    -------
    RuptureResult
        ``.table`` one row per episode and rule: sessions of start, onset (threshold crossed),
        trough and repair, depth (raw and in SD units), threshold, which SD was used, pattern,
        status (repaired, unresolved, pending) and ``escalate`` (unresolved); ``.series`` the
        alliance series.

    Notes
    -----
    ``thr = m * max(sd_in, sd_ref)``; rupture at ``t`` if ``baseline - a_t >= thr``; see the module
    docstring for the operationalisation. Repaired ruptures go with better outcome (Eubanks, Muran
    & Safran 2018); unresolved ones are escalated.

    Examples
    --------
    >>> df = pd.DataFrame({"id": 1, "s": range(1, 9), "wai": [5.0, 5.1, 5.0, 5.1, 3.6, 5.0, 5.1, 5.0]})
    >>> r = detect_ruptures(df, client="id", session="s", alliance="wai", sd_ref=0.3)
    >>> r.table[["rule", "trough_session", "repair_session", "pattern"]].to_numpy().tolist()
    [['lenient (1 SD)', 5.0, 6.0, 'V'], ['strict (2 SD)', 5.0, 6.0, 'V']]
    """
    for name, val in (("k", k), ("J", J), ("max_decline", max_decline)):
        if not isinstance(val, int | np.integer) or isinstance(val, bool) or not 1 <= val <= MAX_WINDOW:
            raise InvalidParameterError(
                f"{name} must be an integer from 1 to {MAX_WINDOW} (sessions), got {val!r}"
            )
    rules = tuple(rules)
    if not rules or any(
        isinstance(m, bool) or not isinstance(m, int | float) or not math.isfinite(m) or m <= 0 for m in rules
    ):
        raise InvalidParameterError(f"rules must be positive, finite SD multipliers such as (1, 2), got {rules!r}")
    long = _long(data, client=client, session=session, values=[alliance], date=date)
    n_missing = int(long[alliance].isna().sum())
    long = long.dropna(subset=[alliance])
    diffs = long.groupby("client", sort=False)[alliance].diff().dropna()
    if sd_ref is None:
        if len(diffs) < 3:
            raise DataError(
                "sd_ref is not given and the data hold fewer than 3 session-to-session differences to estimate it"
            )
        sd_ref_val, sd_src = (
            float(diffs.std(ddof=1)),
            f"pooled SD of session-to-session differences in the data (n = {len(diffs)})",
        )
    else:
        if not check_finite(sd_ref, name="sd_ref") > 0:
            raise InvalidParameterError(f"sd_ref must be positive, got {sd_ref!r}")
        sd_ref_val, sd_src = float(sd_ref), "user-supplied reference sample"
    rows = []
    notes: dict[str, str] = {}
    for cid, grp in long.groupby("client", sort=False):
        a = grp[alliance].to_numpy(float)
        s = grp["session"].to_numpy(float)
        if len(a) < 2:
            notes[str(cid)] = "only one alliance rating: no rupture can be detected"
            continue
        for m in rules:
            for e in rupture_episodes(a, m=float(m), sd_ref=sd_ref_val, k=k, J=J, max_decline=max_decline):
                rows.append(
                    {
                        "client": cid,
                        "rule": _RULE_NAMES.get(m, f"{m:g} SD"),  # type: ignore[call-overload]
                        "m": float(m),
                        "start_session": s[e["start"]],
                        "onset_session": s[e["onset"]],
                        "trough_session": s[e["trough"]],
                        "repair_session": np.nan if e["repair"] is None else s[e["repair"]],
                        **{
                            c: e[c]
                            for c in (
                                "baseline",
                                "trough_value",
                                "depth",
                                "depth_sd",
                                "threshold",
                                "sd_used",
                                "sd_source",
                            )
                        },
                        "decline_length": e["decline_length"],
                        "repair_length": np.nan if e["repair_length"] is None else e["repair_length"],
                        "pattern": e["pattern"],
                        "status": e["status"],
                        "escalate": e["status"] == "unresolved",
                    }
                )
    table = pd.DataFrame(rows, columns=_EVENT_COLUMNS)
    if not table.empty:
        table = table.sort_values(["client", "m", "onset_session"], kind="mergesort").reset_index(drop=True)
    details = {
        "alliance": alliance,
        "k": k,
        "J": J,
        "rules": list(rules),
        "max_decline": max_decline,
        "sd_ref": sd_ref_val,
        "sd_ref_source": sd_src,
        "n_clients": int(long["client"].nunique()),
        "n_sessions": int(len(long)),
        "n_missing": n_missing,
        "n_ruptures": {(_RULE_NAMES.get(m) or f"{m:g} SD"): int((table["m"] == m).sum()) for m in rules},  # type: ignore[call-overload]
        "n_unresolved": int(table["escalate"].sum()) if not table.empty else 0,
        "notes": notes,
        "method": "V-shaped deflections; threshold m * max(intra SD, reference SD) of session-to-session differences",
        "sources": [
            "Stiles et al. (2004)",
            "Strauss et al. (2006)",
            "Gumz et al. (2012)",
            "Eubanks, Muran & Safran (2018)",
        ],
        "version": package_version(),
    }
    series = long[["client", "session", alliance]].reset_index(drop=True)
    return RuptureResult(table=table, details=details, series=series)


@dataclasses.dataclass(frozen=True)
class AllianceGapResult(Result):
    """Client-therapist alliance discrepancy per session with perspective-gap flags."""

    title: ClassVar[str] = "Client-therapist alliance perspective gap"

    def summary(self) -> str:
        """Flagged sessions per client."""
        d = self.details
        lines = [self.title, "=" * len(self.title)]
        lines.append(
            f"gap = {d['client_alliance']} - {d['therapist_alliance']}; flagged when |gap| >= {d['threshold']:.3f} "
            f"({d['threshold_source']})"
        )
        flagged = self.table[self.table["flag"]]
        if flagged.empty:
            lines.append("no perspective gaps flagged")
        for _, r in flagged.iterrows():
            lines.append(f"  client {r['client']} session {r['session']:g}: gap {r['gap']:+.2f} ({r['direction']})")
        return "\n".join(lines)


def alliance_gap(
    data: pd.DataFrame,
    *,
    client: str,
    session: str,
    client_alliance: str,
    therapist_alliance: str,
    threshold: float | None = None,
    threshold_sd: float = 1.0,
) -> AllianceGapResult:
    """Flag sessions where client- and therapist-rated alliance diverge (perspective gap).

    Parameters
    ----------
    data
        Long data, one row per client and session.
    client, session, client_alliance, therapist_alliance
        Column names.
    threshold
        Flag when ``|client - therapist| >= threshold`` (raw points). Default:
        ``threshold_sd`` times the pooled SD of the client ratings (a design choice: no published
        threshold for a client-therapist gap was found).
    threshold_sd
        Multiplier for the default threshold.

    Returns
    -------
    AllianceGapResult
        ``.table``: client, session, client and therapist rating, gap, flag, direction.

    Examples
    --------
    >>> df = pd.DataFrame({"id": 1, "s": [1, 2, 3], "c": [5.0, 5.5, 6.0], "t": [4.9, 5.4, 4.0]})
    >>> r = alliance_gap(df, client="id", session="s", client_alliance="c", therapist_alliance="t", threshold=1)
    >>> r.table["flag"].tolist()
    [False, False, True]
    """
    long = _long(data, client=client, session=session, values=[client_alliance, therapist_alliance])
    both = long.dropna(subset=[client_alliance, therapist_alliance])
    if both.empty:
        raise DataError(f"no session has both {client_alliance!r} and {therapist_alliance!r}")
    gap = both[client_alliance] - both[therapist_alliance]
    if threshold is None:
        if not threshold_sd > 0:
            raise InvalidParameterError(f"threshold_sd must be positive, got {threshold_sd!r}")
        sd = float(long[client_alliance].std(ddof=1))
        if not sd > 0:
            raise DataError(f"cannot derive a threshold: the SD of {client_alliance!r} is {sd}; pass threshold=")
        thr, src = threshold_sd * sd, f"{threshold_sd:g} x pooled SD of {client_alliance!r} [inference]"
    else:
        if not threshold > 0:
            raise InvalidParameterError(f"threshold must be positive, got {threshold!r}")
        thr, src = float(threshold), "user-supplied"
    flag = gap.abs() >= thr
    table = pd.DataFrame(
        {
            "client": both["client"],
            "session": both["session"],
            "client_rating": both[client_alliance],
            "therapist_rating": both[therapist_alliance],
            "gap": gap,
            "flag": flag,
            "direction": pd.Series(np.where(gap > 0, "client higher", "therapist higher"), index=gap.index).where(
                flag, None
            ),
        }
    ).reset_index(drop=True)
    details = {
        "client_alliance": client_alliance,
        "therapist_alliance": therapist_alliance,
        "threshold": thr,
        "threshold_source": src,
        "n_sessions": int(len(table)),
        "n_flagged": int(flag.sum()),
        "sources": ["design choice: no published threshold for a client-therapist alliance gap"],
        "version": package_version(),
    }
    return AllianceGapResult(table=table, details=details)
