"""Reliable and clinically significant change (Jacobson & Truax 1991): the one home of the rule.

Implements
----------
* :func:`reliable_change_criterion` -- when a change is reliable: ``S_diff = SD sqrt(2 (1 - r_xx))``,
  ``RC = (post - pre) / S_diff``, reliable when ``|RC| > z_(1 - (1 - level)/2)`` (1.96 at .95); or a
  published reliable-change value in raw points (``rc_points``): reliable when ``|change| >= points``.
* :func:`classify_change` -- the kernel (arrays in, arrays out) every caller uses:
  :func:`client_change` (first vs last session per client), :func:`sciplab.scoring.reliable_change`
  (an instrument's constants bound to it) and ``sciplab monitor``. Classes (:data:`CLASSES`):

  - *recovered*: reliable improvement **and** passing from the dysfunctional side of the cut-off
    (pre) to the functional side (post). Jacobson & Truax (1991) define clinically significant
    change as the movement of a client *from* the dysfunctional population *to* the functional
    one, and require it to be reliable; a post score on the functional side alone is not enough;
  - *improved*: reliable improvement without that passage -- including a client who already
    started on the functional side (nothing to recover from: a reliable improvement, not a
    recovery), or any reliable improvement when no cut-off is given;
  - *unchanged*: no reliable change; *deteriorated*: reliable change for the worse.

  A score exactly at the cut-off counts as dysfunctional (conservative), before and after.
* :func:`client_change` -- the classes per client, first vs last scored session. Constants come in
  as arguments: this layer never reads instrument files (``sciplab.scoring.change`` binds them).

Reliable change is classified once per client (first vs last session), never per session:
a test repeated every session multiplies false alarms; in-treatment signals come from the expected
course instead (:func:`sciplab.stats.change.expected_response`; Finch, Lambert & Schaalje 2001).

Sources
-------
Jacobson, N. S., & Truax, P. (1991). Clinical significance: A statistical approach to defining
meaningful change in psychotherapy research. *JCCP, 59*, 12-19.
https://doi.org/10.1037/0022-006X.59.1.12
Finch, A. E., Lambert, M. J., & Schaalje, B. G. (2001). Psychotherapy quality control: The
statistical generation of expected recovery curves for integration into an early warning system.
*Clinical Psychology & Psychotherapy, 8*, 231-242.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import stats as st

from sciplab._core.errors import DataError, DataWarning, InvalidParameterError
from sciplab._core.results import Result, package_version
from sciplab._core.validation import check_finite, check_level
from sciplab.stats.change.sessions import _long, first_last

__all__ = [
    "CLASSES",
    "RECOVERED_RULE",
    "ChangeCriterion",
    "ClientChangeResult",
    "change_report",
    "classify_change",
    "client_change",
    "reliable_change_criterion",
]

#: Jacobson & Truax classes, in reporting order.
CLASSES = ("recovered", "improved", "unchanged", "deteriorated")
RECOVERED_RULE = (
    "reliable improvement from the dysfunctional side of the cut-off (pre) to the functional side (post); "
    "a reliable improvement that starts on the functional side is 'improved'"
)


@dataclasses.dataclass(frozen=True)
class ChangeCriterion:
    """When a change counts as reliable: Jacobson-Truax ``|RC| > z`` or published points ``|change| >= points``."""

    method: str
    min_reliable_change: float
    z: float
    level: float
    sd: float | None = None
    rxx: float | None = None
    s_diff: float | None = None
    rc_points: float | None = None

    @property
    def comparison(self) -> str:
        """``">"`` (Jacobson-Truax, strict) or ``">="`` (published points)."""
        return ">" if self.method == "jacobson-truax" else ">="

    def reliable(self, change: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(rc, reliable)`` for an array of raw changes (``rc`` is NaN for published points)."""
        change = np.asarray(change, float)
        if self.s_diff is not None:
            rc = change / self.s_diff
            return rc, np.abs(rc) > self.z
        return np.full(change.shape, np.nan), np.abs(change) >= self.min_reliable_change

    def to_details(self) -> dict[str, Any]:
        """The constants as ``details`` entries."""
        return {
            "method": self.method,
            "sd": self.sd,
            "rxx": self.rxx,
            "s_diff": self.s_diff,
            "rc_points": self.rc_points,
            "min_reliable_change": self.min_reliable_change,
            "z": self.z,
            "level": self.level,
        }


def reliable_change_criterion(
    *, sd: float | None = None, rxx: float | None = None, rc_points: float | None = None, level: float = 0.95
) -> ChangeCriterion:
    """Validate the reliable-change constants and return the criterion.

    Parameters
    ----------
    sd, rxx
        SD and reliability for ``S_diff = sd * sqrt(2 * (1 - rxx))`` (give both); reliable when
        ``|RC| > z``.
    rc_points
        A published reliable-change value in raw points, used when ``sd``/``rxx`` are not given;
        reliable when ``|change| >= rc_points``.
    level
        Two-sided level (0.95 -> z = 1.96).

    Examples
    --------
    >>> c = reliable_change_criterion(sd=7.5, rxx=0.88)
    >>> round(c.s_diff, 4), round(c.min_reliable_change, 3), c.comparison
    (3.6742, 7.201, '>')
    """
    level = check_level(level)
    z = float(st.norm.ppf(1 - (1 - level) / 2))
    if sd is not None or rxx is not None:
        if sd is None or rxx is None:
            raise InvalidParameterError("give both sd and rxx for the Jacobson-Truax index (or rc_points alone)")
        sd_v = check_finite(sd, name="sd")
        if not sd_v > 0:
            raise InvalidParameterError(f"sd must be positive, got {sd!r}")
        rxx_v = check_finite(rxx, name="rxx")
        if not 0 < rxx_v < 1:
            raise InvalidParameterError(f"rxx must be in (0, 1), got {rxx!r}")
        s_diff = sd_v * math.sqrt(2.0 * (1.0 - rxx_v))
        return ChangeCriterion("jacobson-truax", z * s_diff, z, level, sd=sd_v, rxx=rxx_v, s_diff=s_diff)
    if rc_points is not None:
        pts = check_finite(rc_points, name="rc_points")
        if not pts > 0:
            raise InvalidParameterError(f"rc_points must be positive, got {rc_points!r}")
        return ChangeCriterion("published-points", pts, z, level, rc_points=pts)
    raise InvalidParameterError("reliable change needs sd and rxx, or a published rc_points value")


def classify_change(
    pre: np.ndarray,
    post: np.ndarray,
    *,
    criterion: ChangeCriterion,
    cutoff: float | None,
    higher_is_worse: bool,
) -> dict[str, np.ndarray]:
    """Kernel: change, reliability and Jacobson & Truax class of arrays of pre and post scores.

    Returns ``change, improvement, rc, reliable, crossed, cls``; ``crossed`` is the passage from the
    dysfunctional side (pre; a score at the cut-off counts as dysfunctional) to the functional side
    (post), False everywhere without a cut-off. NaN scores give class ``"unchanged"``: callers mask
    incomplete pairs.

    Examples
    --------
    >>> crit = reliable_change_criterion(rc_points=6)
    >>> classify_change(np.array([22.0, 9.0]), np.array([9.0, 2.0]), criterion=crit, cutoff=10,
    ...                 higher_is_worse=True)["cls"].tolist()
    ['recovered', 'improved']
    """
    pre, post = np.asarray(pre, float), np.asarray(post, float)
    change = post - pre
    improvement = -change if higher_is_worse else change
    rc, reliable = criterion.reliable(change)
    if cutoff is None:
        crossed = np.zeros(change.shape, dtype=bool)
    elif higher_is_worse:
        crossed = (pre >= cutoff) & (post < cutoff)
    else:
        crossed = (pre <= cutoff) & (post > cutoff)
    cls = np.where(
        ~reliable, "unchanged", np.where(improvement > 0, np.where(crossed, "recovered", "improved"), "deteriorated")
    )
    return {"change": change, "improvement": improvement, "rc": rc, "reliable": reliable, "crossed": crossed,
            "cls": cls}  # fmt: skip


def change_report(
    title: str, header: str, details: Mapping[str, Any], table: pd.DataFrame, *, id_col: str, clients: bool = False
) -> str:
    """Text of a reliable-change result: constants (with sources when recorded), counts, notes, clients.

    Shared by :class:`ClientChangeResult` and :class:`sciplab.scoring.ChangeResult`, so the rule is
    printed the same way everywhere.
    """
    d = details
    lines = [title, "=" * len(title), header]
    if d["method"] == "jacobson-truax":
        sd_src = f" ({d['sd_source']})" if d.get("sd_source") else ""
        rxx_src = f" ({d['rxx_source']})" if d.get("rxx_source") else ""
        lines.append(f"SD = {d['sd']:.3f}{sd_src}; r_xx = {d['rxx']:.3f}{rxx_src}; S_diff = {d['s_diff']:.3f}")
    elif d.get("rc_source"):
        lines.append(f"published reliable change: {d['min_reliable_change']:g} points ({d['rc_source']})")
    comparison = ">" if d["method"] == "jacobson-truax" else ">="
    lines.append(f"reliable change needs |change| {comparison} {d['min_reliable_change']:.3f} points")
    if d["cutoff"] is None:
        lines.append("no cut-off available: 'recovered' cannot be assigned")
    else:
        src = f" ({d['cutoff_source']})" if d.get("cutoff_source") else ""
        kind = f" {d['cutoff_type']}" if d.get("cutoff_type") else ""
        lines.append(f"cut-off{kind} = {d['cutoff']:g}{src}")
    counts = table["classification"].value_counts().reindex(CLASSES, fill_value=0)
    for cls in CLASSES:
        lines.append(f"  {cls:<13}{counts[cls]:>6}")
    if "note" in table.columns:
        for _, row in table.loc[table["note"].notna(), [id_col, "note"]].iterrows():
            lines.append(f"  client {row[id_col]}: {row['note']}")
    if clients:
        lines.append("")
        lines.append(_client_rows(table, id_col))
    return "\n".join(lines)


def _client_rows(table: pd.DataFrame, id_col: str) -> str:
    """Per-client table (plain text; the ids are printed as given, never as markup)."""

    def num(v: Any, fmt: str) -> str:
        return "-" if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA else format(v, fmt)

    head = ["client", "pre", "post", "change", "RC", "reliable", "class"]
    rows = []
    for _, r in table.iterrows():
        rel = r.get("reliable")
        rows.append([
            str(r[id_col]), num(r["pre"], ".2f"), num(r["post"], ".2f"), num(r["change"], "+.2f"),
            num(r["rc"], "+.2f"), "-" if rel is None or rel is pd.NA else ("yes" if rel else "no"),
            "-" if pd.isna(r["classification"]) else str(r["classification"]),
        ])  # fmt: skip
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h) for i, h in enumerate(head)]
    fmt = lambda cells: "  ".join(c.ljust(w) if i in (0, 5, 6) else c.rjust(w)  # noqa: E731
                                  for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()  # fmt: skip
    return "\n".join([fmt(head), *(fmt(row) for row in rows)])


@dataclasses.dataclass(frozen=True)
class ClientChangeResult(Result):
    """Per-client reliable change, first vs last session (``.table``), constants in ``.details``."""

    title: ClassVar[str] = "Reliable and clinically significant change per client (Jacobson & Truax 1991)"

    def summary(self, *, clients: bool = False) -> str:
        """Counts per class, constants, clients that could not be classified (and every client)."""
        d = self.details
        worse = "higher" if d["higher_is_worse"] else "lower"
        header = f"{d['measure']}: {d['n_clients']} clients ({worse} scores are worse)"
        return change_report(self.title, header, d, self.table, id_col="client", clients=clients)


def client_change(
    data: pd.DataFrame,
    *,
    client: str,
    session: str,
    measure: str,
    sd: float | None = None,
    rxx: float | None = None,
    rc_points: float | None = None,
    cutoff: float | None = None,
    higher_is_worse: bool = True,
    level: float = 0.95,
    date: str | None = None,
) -> ClientChangeResult:
    """Reliable change and clinical significance of every client, first vs last session.

    Parameters
    ----------
    data
        Long data, one row per client and session.
    client, session, measure
        Column names (client id, session number, outcome score).
    sd, rxx
        SD of the normative or pre-treatment sample and the reliability, for
        ``S_diff = sd * sqrt(2 * (1 - rxx))``. Give both, or give ``rc_points`` instead.
    rc_points
        A published reliable-change value in raw points (e.g. CORE-10: 6; ORS: 5); used when
        ``sd``/``rxx`` are not given. Reliable when ``|change| >= rc_points``.
    cutoff
        Clinical cut-off on the score metric (a, b, c or a published value), or None (no
        "recovered" class).
    higher_is_worse
        Direction of the scale (ORS: False).
    level
        Two-sided level of the reliability criterion (0.95 -> 1.96).
    date
        Optional date column; dates must not go backwards as sessions go up.

    Returns
    -------
    ClientChangeResult
        ``.table`` per client: ``client, n_sessions, first_session, last_session, pre, post,
        change, improvement, rc, reliable, crossed_cutoff, classification, note``. A client with
        one scored session gets no classification and a note (and a :class:`DataWarning`).

    Raises
    ------
    DataError
        Missing columns (with close-name suggestions), duplicate sessions, dates out of order,
        no client with two scored sessions.

    Notes
    -----
    ``RC = (x_last - x_first) / S_diff``; reliable when ``|RC| > z`` (:func:`classify_change`).
    Recovered = reliable improvement from the dysfunctional side of the cut-off (first score) to
    the functional side (last score) (Jacobson & Truax 1991); a client who starts on the
    functional side and improves reliably is "improved".

    References
    ----------
    Jacobson, N. S., & Truax, P. (1991). *JCCP, 59*, 12-19.

    Examples
    --------
    ORS (higher is better; reliable change 5 points, adult cut-off 25, as published by OpenFIT's
    knowledge base, https://support.openfit.care):

    >>> df = pd.DataFrame({"id": [1, 1, 2, 2], "s": [1, 4, 1, 5], "ors": [18.0, 27.0, 20.0, 22.0]})
    >>> r = client_change(df, client="id", session="s", measure="ors", rc_points=5, cutoff=25, higher_is_worse=False)
    >>> r.table["classification"].tolist()
    ['recovered', 'unchanged']
    """
    crit = reliable_change_criterion(sd=sd, rxx=rxx, rc_points=rc_points, level=level)
    cut = None if cutoff is None else check_finite(cutoff, name="cutoff")
    long = _long(data, client=client, session=session, values=[measure], date=date)
    n_missing = int(long[measure].isna().sum())
    fl = first_last(long, client="client", session="session", measure=measure)
    two = fl["n_sessions"] >= 2
    if not two.any():
        raise DataError(f"no client has two scored sessions of {measure!r}: change needs a first and a last session")
    k = classify_change(fl["pre"].to_numpy(float), fl["post"].to_numpy(float), criterion=crit, cutoff=cut,
                        higher_is_worse=higher_is_worse)  # fmt: skip
    valid = two.to_numpy()
    table = fl.copy()
    table["change"] = k["change"]
    table["improvement"] = k["improvement"]
    table["rc"] = k["rc"]
    table["reliable"] = pd.Series(k["reliable"], dtype="boolean").where(valid)
    table["crossed_cutoff"] = pd.Series(k["crossed"], dtype="boolean").where(valid) if cutoff is not None else pd.NA
    table["classification"] = pd.Categorical(np.where(valid, k["cls"], None), categories=list(CLASSES))
    table["note"] = np.where(valid, None, "only one scored session: change needs at least two")
    single = table.loc[~valid, "client"].tolist()
    if single:
        warnings.warn(
            f"{len(single)} client(s) with only one scored session of {measure!r} left unclassified: "
            f"{', '.join(map(str, single[:10]))}{' ...' if len(single) > 10 else ''}",
            DataWarning,
            stacklevel=2,
        )
    details = {
        "measure": measure,
        **crit.to_details(),
        "cutoff": cut,
        "higher_is_worse": bool(higher_is_worse),
        "comparison": "first vs last scored session per client",
        "n_clients": int(len(table)),
        "n_classified": int(valid.sum()),
        "n_single_session": len(single),
        "n_missing_scores": n_missing,
        "recovered_rule": RECOVERED_RULE,
        "sources": ["Jacobson & Truax (1991)"],
        "version": package_version(),
    }
    return ClientChangeResult(table=table, details=details)
