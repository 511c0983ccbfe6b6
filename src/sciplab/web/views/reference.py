"""Which expected-treatment-response reference a client's traffic light uses, and the shipped default.

A clinic's own closed cases make the best reference (Finch, Lambert & Schaalje 2001 fitted theirs
on the service's own clients). Once the clinic has at least :data:`MIN_CLINIC_CASES` closed
episodes with two or more scores of the outcome measure, :func:`reference_for` fits one with
:func:`sciplab.stats.change.fit_reference` (``method="hlm"``) on them, cached in the process until
another case closes. Before that it uses the **default reference** shipped with SCIP Lab
(``default_reference_CORE-10.json``): the same model fitted on a SCIP simulation caseload
(:func:`build_default_reference`; seed, size and version recorded in the file). The default is
simulated data, not a clinical norm: every page that shows a traffic light says which reference
it used. Regenerate the file with ``python -m sciplab.web.views.reference``.
"""

from __future__ import annotations

import dataclasses
import threading
import warnings
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
#: Closed episodes (each with two or more scores of the measure) before the clinic's own reference is used.
MIN_CLINIC_CASES = 30
#: Outcome measures with a shipped default reference: score column -> file.
DEFAULT_FILES = {"CORE-10_total": HERE / "default_reference_CORE-10.json"}
#: Settings of the simulation the default reference is fitted on.
DEFAULT_SIMULATION = {"n_agents": 800, "years": 1.0, "seed": 20261130, "instruments": ["CORE-10"]}

_lock = threading.Lock()
_clinic_cache: dict[tuple[Any, ...], Any] = {}
_default_cache: dict[str, Any] = {}


@dataclasses.dataclass(frozen=True)
class ChosenReference:
    """A reference and where it came from (``source``: ``"clinic"`` or ``"default"``), in words for the page."""

    reference: Any
    source: str
    description: str


def default_reference(measure: str) -> ChosenReference | None:
    """The shipped default reference of ``measure`` (None when SCIP Lab ships none for it)."""
    from sciplab.stats.change import Reference

    path = DEFAULT_FILES.get(measure)
    if path is None:
        return None
    with _lock:
        ref = _default_cache.get(measure)
        if ref is None:
            ref = _default_cache[measure] = Reference.load(path)
    fit = ref.fit
    return ChosenReference(
        ref,
        "default",
        f"SCIP Lab's default reference for {measure}: a growth model (Finch, Lambert & Schaalje 2001) fitted on "
        f"{fit['n_clients']} simulated clients of the SCIP simulation (seed {DEFAULT_SIMULATION['seed']}); "
        f"the clinic has fewer than {MIN_CLINIC_CASES} closed cases of its own. Simulated, not a clinical norm.",
    )


def clinic_reference(long: Any, measure: str, key: tuple[Any, ...]) -> ChosenReference:
    """Fit (or reuse) the clinic's own reference from ``long`` (client, session, ``measure``) of closed cases."""
    from sciplab.stats.change import fit_reference

    with _lock:
        cached = _clinic_cache.get(key)
    if cached is None:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ref = fit_reference(long, client="client", session="session", measure=measure, method="hlm", min_clients=20)
        notes = sorted({str(w.message) for w in caught})
        cached = (ref, notes)
        with _lock:
            _clinic_cache.clear()  # one fitted reference per measure and case mix is enough
            _clinic_cache[key] = cached
    ref, notes = cached
    return ChosenReference(
        ref,
        "clinic",
        f"the clinic's own reference: a growth model (Finch, Lambert & Schaalje 2001) fitted on "
        f"{ref.fit['n_clients']} closed episodes of this clinic."
        + (f" The fit reported: {'; '.join(notes)}." if notes else ""),
    )


def build_default_reference(measure: str = "CORE-10_total", **simulation: Any) -> Any:
    """Fit the default reference on a SCIP simulation caseload (intake at session 0, then every session)."""
    import pandas as pd

    from sciplab.sim import simulate
    from sciplab.stats.change import fit_reference

    opts = {**DEFAULT_SIMULATION, **simulation}
    sim = simulate(opts["n_agents"], years=opts["years"], seed=opts["seed"], instruments=opts["instruments"])
    persons = sim.persons[sim.persons["in_therapy"].astype(bool)]
    intake = pd.DataFrame({"client": persons["person_id"], "session": 0, measure: persons[measure]})
    sessions = sim.sessions[["person_id", "session", measure]].rename(columns={"person_id": "client"})
    long = pd.concat([intake, sessions], ignore_index=True).dropna(subset=[measure])
    long = long.sort_values(["client", "session"], kind="mergesort")
    return fit_reference(long, client="client", session="session", measure=measure, method="hlm", min_clients=20)


def main() -> None:  # pragma: no cover - regenerates the shipped file
    """Regenerate the shipped default reference file(s)."""
    for measure, path in DEFAULT_FILES.items():
        ref = build_default_reference(measure)
        ref.save(path, overwrite=True)
        print(f"wrote {path}: {ref.fit['n_clients']} clients, {ref.fit['n_obs']} observations")


if __name__ == "__main__":  # pragma: no cover
    main()
