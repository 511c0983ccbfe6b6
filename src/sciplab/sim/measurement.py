"""Measurement: latent states -> questionnaire item responses -> scores, like real data.

For every item of an instrument in the registry that has a scoring key, a latent value is chosen
by the construct of the (smallest) scale the item belongs to, and a response is generated with a
graded-response-style rule (Samejima 1969, normal-ogive form):

    y* = lambda * z + sqrt(1 - lambda^2) * e,   e ~ N(0, 1)
    response = min + #{thresholds tau_c < y*},  tau_c = d_item + linspace(-1.6, 1.6, categories - 1)

``lambda^2`` is the inter-item correlation that gives the scale's reliability target by the
Spearman-Brown formula ``rho = alpha / (k - (k - 1) alpha)`` (the instrument's recorded alpha,
else ``measurement.default_alpha``); item difficulties ``d_item`` are spread over [-0.25, 0.25] so the
scale score resolves the latent finely. Reverse-keyed items answer to ``-z`` (the scorer flips them
back). Without measurement error ``y* = z``. PHQ-9 items follow their symptom node: ``y* =
logit(symptom frequency)`` with the PHQ-9 day-count boundaries (several days / more than half the
days / nearly every day: 1/14, 1/2, 0.8 on the frequency scale) and logit-scale noise (SD 0.9) for
error; CORE-10 items (how often over the last week) follow the mean symptom frequency the same
way, with boundaries 0.12 / 0.33 / 0.6 / 0.85 [inference]. Retrospective PBI care is biased
downward by attachment anxiety ([inference]: working-model bias in retrospective report).

Latent scales (z units: constructs whose natural unit is bounded are centred and scaled by fixed
constants, never by the sample, so waves and runs stay comparable): see :data:`LATENT_OF_CONSTRUCT`.
Instruments without a key (CATS, TDS, SEQ) are refused with :class:`KeyNotVerifiedError`; the
relationship-specific CATS constructs are still output as latent columns. Latent truths leave the
simulation under :data:`LATENT_PREFIX` (``latent_attachment_anxiety``), scale scores under their
scored names (``ECR-S_anxiety``), so neither can be taken for the other.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.special import logit

from sciplab._core.errors import DataError, KeyNotVerifiedError
from sciplab.instruments import Instrument, get_instrument
from sciplab.scoring import score
from sciplab.scoring.columns import default_column_name
from sciplab.sim.distress import SYMPTOMS

__all__ = [
    "DEFAULT_INSTRUMENTS",
    "LATENT_OF_CONSTRUCT",
    "LATENT_PREFIX",
    "generate_items",
    "latent",
    "latent_z",
    "measure",
    "resolve_instruments",
]

LATENT_PREFIX = "latent_"
"""Prefix of every output column that holds the simulation's truth rather than a measurement."""

DEFAULT_INSTRUMENTS = ("ECR-S", "PBI", "TAS-20", "PSSE", "MSPSS", "IIP-32", "PHQ-9", "WAI-SR")

#: construct of a scale -> (latent column, centre, scale, sign). z = sign * (latent - centre) / scale.
LATENT_OF_CONSTRUCT: dict[str, tuple[str, float, float, float]] = {
    "attachment_anxiety": ("attachment_anxiety", 0.0, 1.0, 1.0),
    "attachment_avoidance": ("attachment_avoidance", 0.0, 1.0, 1.0),
    "parental_care": ("recalled_care", 0.0, 1.0, 1.0),
    "parental_overprotection": ("overprotection_z", 0.0, 1.0, 1.0),
    "emotional_awareness": ("emotional_awareness", 0.0, 1.0, 1.0),
    "alexithymia_facet": ("emotional_awareness", 0.0, 1.0, -1.0),
    "social_self_efficacy": ("social_self_efficacy", 0.0, 1.0, 1.0),
    "social_support": ("perceived_support", 0.6, 0.22, 1.0),
    "social_support_facet": ("perceived_support", 0.6, 0.22, 1.0),
    "distress": ("distress", 2.3, 3.0, 1.0),
    "distress_facet": ("distress", 2.3, 3.0, 1.0),
    "interpersonal_problems": ("interpersonal_elevation", 0.0, 1.0, 1.0),
    "alliance": ("alliance", 0.6, 0.15, 1.0),
    "alliance_facet": ("alliance", 0.6, 0.15, 1.0),
}
# PHQ-9 item -> Cramer node (PHQ order: anhedonia, mood, sleep, fatigue, appetite, worthlessness,
# concentration, psychomotor, suicidal ideation)
PHQ9_NODES = ("anhedonia", "depressed_mood", "sleep", "fatigue", "appetite", "worthlessness", "concentration",
              "psychomotor", "suicidal_ideation")  # fmt: skip
_PHQ_CUTS = logit(np.array([1 / 14, 0.5, 0.8]))
_PHQ_NOISE = 0.9
#: CORE-10 answers how often over the last week (not at all / only occasionally / sometimes / often /
#: most or all of the time): items follow the mean symptom frequency (distress / 9) on the logit
#: scale, with category boundaries at these frequencies [inference]
_CORE10_CUTS = logit(np.array([0.12, 0.33, 0.6, 0.85]))


def latent(name: str) -> str:
    """The output column name of latent truth ``name`` (``latent_<name>``).

    No instrument id starts with ``latent``, so no scale-column matcher can take such a column for a
    scale score.

    Examples
    --------
    >>> latent("attachment_anxiety")
    'latent_attachment_anxiety'
    """
    return f"{LATENT_PREFIX}{name}"


def resolve_instruments(instruments: Sequence[str | Instrument]) -> list[Instrument]:
    """Look up instruments; refuse those without a scoring key with a clear error.

    Examples
    --------
    >>> [i.id for i in resolve_instruments(["ecr-s", "PHQ9"])]
    ['ECR-S', 'PHQ-9']
    """
    out = []
    for name in instruments:
        inst = get_instrument(name)
        if not inst.has_key:
            raise KeyNotVerifiedError(
                f"instrument {inst.id} has no verified scoring key in the library, so the simulation cannot "
                f"generate item responses for it (its constructs are output as latent columns, e.g. "
                f"latent_cats_secure); choose instruments with a key"
            )
        if not any(s.items for s in inst.scales):
            raise KeyNotVerifiedError(f"instrument {inst.id} has no item-to-scale key")
        out.append(inst)
    return out


def _octant_z(latents: pd.DataFrame, angle_deg: float) -> np.ndarray:
    dom = latents["dominance"].to_numpy(float)
    warm = latents["warmth"].to_numpy(float)
    theta = np.arctan2(dom, warm)
    amp = 0.6 * np.hypot(dom, warm)
    return latents["interpersonal_elevation"].to_numpy(float) + amp * np.cos(np.deg2rad(angle_deg) - theta)


def latent_z(latents: pd.DataFrame, instrument: Instrument, scale_name: str) -> np.ndarray:
    """The z-scaled latent that drives the items of ``scale_name``."""
    scale = instrument.scale(scale_name)
    if scale.construct == "interpersonal_octant" and scale.angle_deg is not None:
        return _octant_z(latents, scale.angle_deg)
    if scale.construct not in LATENT_OF_CONSTRUCT:
        raise DataError(f"the simulation has no latent state for construct {scale.construct!r} ({instrument.id})")
    col, centre, sd, sign = LATENT_OF_CONSTRUCT[scale.construct]
    if scale.direction == "inverse":
        sign = -sign
    return sign * (latents[col].to_numpy(float) - centre) / sd


def _alpha(instrument: Instrument, scale_name: str, default: float) -> float:
    for rel in instrument.reliability:
        if rel.scale.lower() == scale_name.lower() and rel.alpha:
            return float(rel.alpha)
    return default


def generate_items(
    latents: pd.DataFrame,
    instrument: str | Instrument,
    rng: np.random.Generator,
    *,
    error: bool = True,
    default_alpha: float = 0.85,
) -> pd.DataFrame:
    """Item responses of ``instrument`` for every row of ``latents`` (columns named as the scorer expects).

    Examples
    --------
    >>> lat = pd.DataFrame({"attachment_anxiety": [-2.0, 0.0, 2.0], "attachment_avoidance": [0.0, 0.0, 0.0]})
    >>> items = generate_items(lat, "ECR-S", np.random.default_rng(0), error=False)
    >>> items.shape
    (3, 12)
    >>> score(items, "ECR-S").scores["ECR-S_anxiety"].is_monotonic_increasing
    True
    """
    (inst,) = resolve_instruments([instrument])
    n = len(latents)
    lo, hi = inst.response.min, inst.response.max
    ncat = hi - lo + 1
    reverse = set(inst.key.reverse) if inst.key else set()
    # each item follows the smallest scale that contains it
    owner: dict[int, str] = {}
    for scale in sorted(inst.scales, key=lambda s: len(s.items), reverse=True):
        for item in scale.items:
            owner[item] = scale.name
    cache: dict[str, np.ndarray] = {}
    cols: dict[str, np.ndarray] = {}
    items = [i for i in inst.item_numbers if i in owner]
    for pos, item in enumerate(items):
        name = default_column_name(inst, item)
        if inst.id == "PHQ-9":
            node = PHQ9_NODES[item - 1]
            freq = latents[f"symptom_{node}"].to_numpy(float)
            ystar = logit(np.clip(freq, 1e-3, 1 - 1e-3))
            if error:
                ystar = ystar + _PHQ_NOISE * rng.standard_normal(n)
            cols[name] = (ystar[:, None] > _PHQ_CUTS[None, :]).sum(axis=1) + lo
            continue
        if inst.id == "CORE-10":
            freq = latents["distress"].to_numpy(float) / len(SYMPTOMS)
            ystar = logit(np.clip(freq, 1e-3, 1 - 1e-3)) * (-1 if item in reverse else 1)
            if error:
                ystar = ystar + _PHQ_NOISE * rng.standard_normal(n)
            cols[name] = (ystar[:, None] > _CORE10_CUTS[None, :]).sum(axis=1) + lo
            continue
        sname = owner[item]
        if sname not in cache:
            cache[sname] = latent_z(latents, inst, sname)
        z = cache[sname]
        if item in reverse:
            z = -z
        if error:
            k = len(inst.scale(sname).items)
            alpha = _alpha(inst, sname, default_alpha)
            rho = alpha / (k - (k - 1) * alpha) if k > 1 else alpha
            lam = np.sqrt(min(max(rho, 0.01), 0.99))
            ystar = lam * z + np.sqrt(1 - lam**2) * rng.standard_normal(n)
        else:
            ystar = z
        offset = -0.25 + 0.5 * (pos % 8) / 7
        cuts = offset + np.linspace(-1.6, 1.6, ncat - 1)
        resp = (np.nan_to_num(ystar, nan=-np.inf)[:, None] > cuts[None, :]).sum(axis=1) + lo
        cols[name] = resp.astype(float)
        cols[name][np.isnan(ystar)] = np.nan
    return pd.DataFrame(cols, index=latents.index)


def measure(
    latents: pd.DataFrame,
    instruments: Sequence[str | Instrument],
    rng: np.random.Generator,
    *,
    error: bool = True,
    default_alpha: float = 0.85,
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Generate and score every instrument: ``({id: items}, scores)``.

    Rows whose latent for an instrument is missing (alliance of non-clients) get no items for it.
    """
    items: dict[str, pd.DataFrame] = {}
    scores = []
    for inst in resolve_instruments(instruments):
        needed = {LATENT_OF_CONSTRUCT[s.construct][0] for s in inst.scales if s.construct in LATENT_OF_CONSTRUCT}
        rows = latents.index
        for col in needed:
            if col in latents:
                rows = rows.intersection(latents.index[latents[col].notna()])
        sub = latents.loc[rows]
        if len(sub) == 0:
            continue
        frame = generate_items(sub, inst, rng, error=error, default_alpha=default_alpha)
        items[inst.id] = frame
        scores.append(score(frame, inst).scores)
    scored = pd.concat(scores, axis=1).reindex(latents.index) if scores else pd.DataFrame(index=latents.index)
    return items, scored


def symptom_columns(intensity: np.ndarray) -> dict[str, np.ndarray]:
    """``{symptom_<node>: frequency}`` columns from an ``(n, 9)`` intensity array."""
    return {f"symptom_{name}": intensity[:, k].astype(float) for k, name in enumerate(SYMPTOMS)}
