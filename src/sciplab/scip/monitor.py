"""Session-by-session monitoring of a caseload: the workflow behind ``sciplab monitor``.

:func:`monitor` runs, on long session data, whichever analyses its arguments ask for and returns
them together in a :class:`MonitorResult`:

* reliable and clinically significant change per client, first vs last session -- with an
  instrument's constants (:func:`sciplab.scoring.change.instrument_client_change`: norms,
  reliability or published points, cut-off, each with its source) or plain constants
  (:func:`sciplab.stats.change.client_change`);
* expected-treatment-response traffic lights against a reference
  (:func:`sciplab.stats.change.expected_response`), using the cut-off and direction of the change
  analysis when there is one;
* alliance rupture-repair episodes (:func:`sciplab.stats.change.detect_ruptures`) and
  client-therapist perspective gaps (:func:`sciplab.stats.change.alliance_gap`).

The command only parses options, calls this function, prints and writes.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd

from sciplab._core.errors import InvalidParameterError
from sciplab._core.results import Result, package_version
from sciplab._core.validation import require_frame
from sciplab.scoring.change import instrument_client_change
from sciplab.stats.change import (
    AllianceGapResult,
    ClientChangeResult,
    ExpectedResponseResult,
    Reference,
    RuptureResult,
    alliance_gap,
    client_change,
    detect_ruptures,
    expected_response,
)

__all__ = ["PARTS", "MonitorResult", "monitor"]

#: The analyses a monitoring result may hold, in reporting order.
PARTS = ("change", "expected", "ruptures", "alliance_gap")


@dataclasses.dataclass(frozen=True)
class MonitorResult(Result):
    """The analyses of one monitoring run; ``.table`` is one overview row per client."""

    change: ClientChangeResult | None = None
    expected: ExpectedResponseResult | None = None
    ruptures: RuptureResult | None = None
    alliance_gap: AllianceGapResult | None = None
    title: ClassVar[str] = "Session-by-session monitoring"

    def parts(self) -> dict[str, Result]:
        """The analyses that were run, by name (``change``, ``expected``, ``ruptures``, ``alliance_gap``)."""
        return {name: getattr(self, name) for name in PARTS if getattr(self, name) is not None}

    def summary(self, *, clients: bool = False) -> str:
        """Each analysis' summary in turn (``clients=True``: the per-client change table too)."""
        texts = []
        for name, part in self.parts().items():
            texts.append(part.summary(clients=clients) if name == "change" else part.summary())  # type: ignore[call-arg]
        return "\n\n".join(texts)

    def to_dict(self) -> dict[str, Any]:
        """``table`` (the overview) and ``details`` as every result, plus each analysis that was run.

        Each analysis appears under its name as ``{"table": ..., "details": ...}``.
        """
        out = super().to_dict()
        out.update({name: part.to_dict() for name, part in self.parts().items()})
        return out


def _overview(data: pd.DataFrame, parts: dict[str, Result]) -> pd.DataFrame:
    clients = pd.Index(pd.unique(data["client"]), name="client")
    table = pd.DataFrame(index=clients)
    table["n_sessions"] = data.groupby("client", sort=False).size().reindex(clients)
    if "change" in parts:
        t = parts["change"].table.set_index("client")
        table["classification"] = t["classification"].reindex(clients)
    if "expected" in parts:
        t = parts["expected"].table
        table["latest_status"] = t.groupby("client", sort=False)["status"].last().astype(object).reindex(clients)
    if "ruptures" in parts:
        t = parts["ruptures"].table
        table["n_ruptures"] = t.groupby("client", sort=False).size().reindex(clients, fill_value=0)
        table["n_unresolved"] = t.groupby("client", sort=False)["escalate"].sum().reindex(clients, fill_value=0)
    if "alliance_gap" in parts:
        t = parts["alliance_gap"].table
        table["n_gaps"] = t.groupby("client", sort=False)["flag"].sum().reindex(clients, fill_value=0)
    return table.reset_index()


def monitor(
    data: pd.DataFrame,
    *,
    measure: str,
    client: str = "client",
    session: str = "session",
    date: str | None = None,
    instrument: str | None = None,
    scale: str | None = None,
    sd: float | None = None,
    rxx: float | None = None,
    rc_points: float | None = None,
    cutoff: float | None = None,
    higher_is_worse: bool | None = None,
    reference: Reference | str | os.PathLike[str] | None = None,
    q_yellow: float = 0.80,
    q_red: float = 0.90,
    alliance: str | None = None,
    therapist_alliance: str | None = None,
    sd_ref: float | None = None,
    repair_within: int = 3,
    instruments_dir: str | None = None,
) -> MonitorResult:
    """Reliable change, expected-response traffic lights and alliance ruptures of a caseload.

    Parameters
    ----------
    data
        Long session data: one row per client and session.
    measure, client, session, date
        Column names (outcome score, client id, session number, optional date).
    instrument, scale
        Take the reliable-change constants from this instrument scale (with their sources);
        ``sd``/``rxx``/``cutoff``/``higher_is_worse`` override the definition's.
    sd, rxx, rc_points, cutoff, higher_is_worse
        Plain reliable-change constants (without ``instrument``): SD and reliability, or a
        published reliable change in points; the clinical cut-off; the direction (default: higher
        is worse).
    reference, q_yellow, q_red
        Expected-response reference (a :class:`~sciplab.stats.change.Reference` or its file) and
        the one-sided quantiles of the yellow and red bounds.
    alliance, therapist_alliance, sd_ref, repair_within
        Client-rated alliance column (rupture detection), therapist-rated column (perspective
        gaps), reference SD of session-to-session alliance changes and ``J`` (sessions allowed
        for a repair).
    instruments_dir
        Folder of user instrument definitions.

    Returns
    -------
    MonitorResult
        ``.change``, ``.expected``, ``.ruptures``, ``.alliance_gap`` (None when not asked for),
        ``.table`` one overview row per client, ``.details`` the settings.

    Examples
    --------
    >>> df = pd.DataFrame({"client": [1, 1, 2, 2], "session": [1, 5, 1, 5], "ORS": [18, 31, 30, 24]})
    >>> r = monitor(df, measure="ORS", rc_points=5, cutoff=25, higher_is_worse=False)
    >>> r.table["classification"].tolist()
    ['recovered', 'deteriorated']
    """
    require_frame(data)
    frame = data
    if (instrument is None) != (scale is None):
        raise InvalidParameterError("--instrument and --scale go together (API: instrument= and scale=)")
    kw = {"client": client, "session": session}
    parts: dict[str, Any] = {}
    worse = True if higher_is_worse is None else bool(higher_is_worse)
    used_cutoff = cutoff
    if instrument is not None and scale is not None:
        change = instrument_client_change(
            frame, **kw, measure=measure, instrument=instrument, scale=scale, sd=sd, rxx=rxx,
            cutoff="auto" if cutoff is None else cutoff, higher_is_worse=higher_is_worse, date=date,
            instruments_dir=instruments_dir,
        )  # fmt: skip
        parts["change"] = change
        used_cutoff, worse = change.details["cutoff"], change.details["higher_is_worse"]
    elif sd is not None or rxx is not None or rc_points is not None:
        parts["change"] = client_change(frame, **kw, measure=measure, sd=sd, rxx=rxx, rc_points=rc_points,
                                        cutoff=cutoff, higher_is_worse=worse, date=date)  # fmt: skip
    if reference is not None:
        ref = reference if isinstance(reference, Reference) else Reference.load(reference)
        if ref.columns["measure"] != measure:
            where = f" {reference}" if not isinstance(reference, Reference) else ""
            raise InvalidParameterError(
                f"the reference{where} was fitted on {ref.columns['measure']!r}, not on measure {measure!r}"
            )
        renamed = frame.rename(columns={client: ref.columns["client"], session: ref.columns["session"]})
        parts["expected"] = expected_response(ref, renamed, q_yellow=q_yellow, q_red=q_red, cutoff=used_cutoff,
                                              higher_is_worse=worse)  # fmt: skip
    if alliance is not None:
        parts["ruptures"] = detect_ruptures(frame, **kw, alliance=alliance, J=repair_within, sd_ref=sd_ref, date=date)
        if therapist_alliance is not None:
            parts["alliance_gap"] = alliance_gap(frame, **kw, client_alliance=alliance,
                                                 therapist_alliance=therapist_alliance)  # fmt: skip
    if not parts:
        raise InvalidParameterError(
            "nothing to do: give reliable-change constants (--instrument/--scale, --sd/--rxx or --rc-points), "
            "--reference and/or --alliance"
        )
    overview = _overview(frame.rename(columns={client: "client"})[["client"]], parts)
    details = {
        "measure": measure,
        "client": client,
        "session": session,
        "analyses": list(parts),
        "cutoff": used_cutoff,
        "higher_is_worse": worse,
        "reference": None if reference is None or isinstance(reference, Reference) else str(Path(reference)),
        "n_clients": int(len(overview)),
        "version": package_version(),
    }
    return MonitorResult(table=overview, details=details, **parts)
