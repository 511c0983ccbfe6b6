"""Therapy sessions as a clinic records them: outcome and alliance questionnaires, therapist rating.

After every session each client in therapy fills in the session instruments (default CORE-10 for the
outcome and the WAI-SR client form for the alliance). Their items are generated from the session's
latent distress (the summed symptom intensities) and latent alliance by the same measurement path as
the baseline instruments (:func:`sciplab.sim.measurement.measure`: latent -> item responses ->
:func:`sciplab.score`), so ``sciplab monitor sessions.parquet --client-col person_id --measure
CORE-10_total --alliance WAI-SR_total`` runs on simulated clients exactly as on real ones.

The therapist rates the session's distance against what the client needed, on a 1-7 scale
(1 = much too close, 4 = about right, 7 = much too distant) [inference]:

    therapist_distance_rating = clip(round(4 + s (D_t - D*_c) + e), 1, 7),  e ~ N(0, sd^2)

with ``D_t`` the therapist's distance and ``D*_c`` the client's preferred distance that session
(``s = measurement.rating_slope``, ``sd = measurement.rating_noise_sd``; ``e = 0`` without
measurement error).

Everything else in the session record is the simulation's truth and carries the ``latent_`` prefix
(``latent_alliance``, ``latent_distress``, ``latent_rupture``, ...); ``person_id``, ``session``,
``policy`` and ``dropped_out`` are what a clinic knows without a questionnaire.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from sciplab._core.errors import InvalidParameterError
from sciplab.instruments import Instrument
from sciplab.sim.measurement import LATENT_OF_CONSTRUCT, latent, measure, resolve_instruments
from sciplab.sim.params import MeasurementParams

__all__ = ["SESSION_INSTRUMENTS", "resolve_session_instruments", "session_records"]

SESSION_INSTRUMENTS = ("CORE-10", "WAI-SR")
"""Instruments every client fills in after each session (outcome, alliance)."""

#: latent states recorded per session that session instruments can measure
SESSION_LATENTS = ("distress", "alliance")
#: session-record columns a clinic knows without a questionnaire (everything else is latent truth)
OBSERVED = ("person_id", "session", "policy", "dropped_out")


def resolve_session_instruments(instruments: Sequence[str | Instrument] | None) -> list[Instrument]:
    """Look up session instruments; each scale must measure distress or the alliance.

    Examples
    --------
    >>> [i.id for i in resolve_session_instruments(["core-10", "WAI-SR"])]
    ['CORE-10', 'WAI-SR']
    """
    insts = resolve_instruments(list(instruments or ()))
    for inst in insts:
        bad = [
            f"{s.name} ({s.construct})"
            for s in inst.scales
            if LATENT_OF_CONSTRUCT.get(s.construct, ("",))[0] not in SESSION_LATENTS
        ]
        if bad or inst.id == "PHQ-9":
            raise InvalidParameterError(
                f"session_instruments: {inst.id} cannot be given after each session: the simulation records "
                f"distress (summed symptom intensity) and the alliance per session, and "
                f"{inst.id} measures {', '.join(bad) or 'single symptom nodes'}; choose instruments whose "
                f"scales measure distress or alliance, e.g. {', '.join(SESSION_INSTRUMENTS)}"
            )
    return insts


def session_records(
    records: pd.DataFrame,
    policy_name: str,
    instruments: Sequence[Instrument],
    rng: np.random.Generator,
    measurement: MeasurementParams,
) -> pd.DataFrame:
    """The clinic's session table from the therapy records (one row per client-session).

    Columns: ``person_id``, ``session``, ``policy``, ``dropped_out``, the item columns and scale scores
    of every session instrument (``CORE10_01`` ... ``CORE-10_total``, ``WAI-SR_task`` ...),
    ``therapist_distance_rating`` and the latent truths (``latent_*``).
    """
    out = records.copy()
    if len(out) == 0:
        return pd.DataFrame(columns=["person_id", "session", "policy"])
    out.insert(2, "policy", policy_name)
    observed = out[[c for c in OBSERVED if c in out]]
    blocks = [observed.reset_index(drop=True)]
    if instruments:
        lat = pd.DataFrame({k: out[k].to_numpy(float) for k in SESSION_LATENTS})
        items, scores = measure(lat, instruments, rng, error=measurement.error, default_alpha=measurement.default_alpha)
        for inst in instruments:
            if inst.id in items:
                blocks.append(items[inst.id].reset_index(drop=True))
                blocks.append(scores[[c for c in scores.columns if c.startswith(f"{inst.id}_")]].reset_index(drop=True))
    gap = out["therapist_distance"].to_numpy(float) - out["preferred_distance"].to_numpy(float)
    noise = measurement.rating_noise_sd * rng.standard_normal(len(out)) if measurement.error else 0.0
    rating = np.clip(np.rint(4 + measurement.rating_slope * gap + noise), 1, 7).astype(np.int64)
    blocks.append(pd.DataFrame({"therapist_distance_rating": rating}))
    truth = out[[c for c in out.columns if c not in OBSERVED]]
    blocks.append(truth.rename(columns=latent).reset_index(drop=True))
    return pd.concat(blocks, axis=1)
