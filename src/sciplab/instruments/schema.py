"""Schema of an instrument definition file (``definitions/<id>.toml``) as frozen dataclasses.

A definition is data, not code: items, response scale, scales with their items, reverse keys,
scoring rule, missing-data rule, norms, reliability, cut-offs, reliable-change values, licence and a
source for every fact, plus a ``status`` per fact (``verified`` / ``single-source``; see
"Statuses" in ``docs/instrument-format.md``). Instruments whose key is not verified (CATS, TDS,
SEQ) ship their structure only (``key`` table absent, scales without items): scoring them needs a
key file the user supplies in the same format.

:func:`sciplab.instruments.validate.parse_definition` builds these from a parsed file. The format
is documented in ``docs/instrument-format.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sciplab._core.errors import InstrumentDefinitionError, suggest

#: SCIP constructs a scale may measure (see docs/instrument-format.md). Unknown names are rejected on load.
CONSTRUCTS: dict[str, str] = {
    "attachment_anxiety": "Adult attachment anxiety (hyperactivating strategies)",
    "attachment_avoidance": "Adult attachment avoidance (deactivating strategies)",
    "parental_care": "Early caregiving: parental care",
    "parental_overprotection": "Early caregiving: parental overprotection",
    "social_self_efficacy": "Social competency: social self-efficacy",
    "emotional_awareness": "Social competency: emotional awareness (low alexithymia)",
    "alexithymia_facet": "Facet of alexithymia (inverse of emotional awareness)",
    "interpersonal_competence": "Social competency: interpersonal skills",
    "social_support": "Perceived social support",
    "social_support_facet": "Perceived social support from one source or of one provision",
    "interpersonal_problems": "Interpersonal problems (overall elevation)",
    "interpersonal_octant": "Interpersonal problems: one circumplex octant",
    "alliance": "Working alliance with the therapist",
    "alliance_facet": "Working alliance: goal, task or bond",
    "client_attachment_to_therapist": "Client attachment to the therapist",
    "therapeutic_distance": "Therapeutic distance regulation and corrective experience",
    "session_impact": "Session impact (depth, smoothness, mood)",
    "distress": "Psychological distress / outcome",
    "distress_facet": "Facet of distress (wellbeing, problems, functioning, risk)",
}

#: Polarity of each construct: True when higher scores are worse (problems), False when higher scores
#: are better (resources), None when neither applies (e.g. session impact, therapeutic distance).
#: The one home of this fact: reliable change, the formulation profile and the clinic read it here.
#: A scale declared ``direction = "inverse"`` measures its construct reversed (TAS-20 total vs
#: emotional awareness), which flips the polarity of its scores.
CONSTRUCT_HIGHER_IS_WORSE: dict[str, bool | None] = {
    "attachment_anxiety": True,
    "attachment_avoidance": True,
    "parental_care": False,
    "parental_overprotection": True,
    "social_self_efficacy": False,
    "emotional_awareness": False,
    "alexithymia_facet": True,
    "interpersonal_competence": False,
    "social_support": False,
    "social_support_facet": False,
    "interpersonal_problems": True,
    "interpersonal_octant": True,
    "alliance": False,
    "alliance_facet": False,
    "client_attachment_to_therapist": None,
    "therapeutic_distance": None,
    "session_impact": None,
    "distress": True,
    "distress_facet": True,
}
STATUSES = ("verified", "single-source")
SCORING_RULES = ("sum", "mean")
DIRECTIONS = ("positive", "inverse")
POPULATIONS = ("functional", "dysfunctional", "general")
NORM_METRICS = ("score", "item_sum", "item_mean")

NORM_SUFFIXES = ("_z", "_T", "_pct")
MAX_ITEMS = 1000
MAX_ITEM_NUMBER = 100_000
MAX_RESPONSE = 1_000_000
MAX_MULTIPLIER = 1e6
MAX_NORM_MEAN = 1e9
MIN_SD = 1e-9


@dataclass(frozen=True)
class ResponseScale:
    """Allowed responses: integers from ``min`` to ``max`` with optional anchor labels."""

    min: int
    max: int
    anchors: Mapping[int, str]
    source: str


@dataclass(frozen=True)
class MissingRule:
    """Minimum answered items for a valid scale score; prorate sums from the answered items.

    ``min_answered`` equal to the number of items means no missing item is tolerated. For mean
    scoring a valid score is the mean of the answered items; for sum scoring it is the mean of the
    answered items times the number of items (prorated, flagged in the validity report).
    """

    min_answered: int
    prorate: bool
    source: str


@dataclass(frozen=True)
class Scale:
    """One scored scale (subscale or total)."""

    name: str
    label: str
    items: tuple[int, ...]
    scoring: str
    missing: MissingRule
    construct: str | None = None
    direction: str = "positive"
    multiplier: float = 1.0
    angle_deg: float | None = None
    description: str = ""

    @property
    def n_items(self) -> int:
        """Number of items of the scale."""
        return len(self.items)

    def score_range(self, response: ResponseScale) -> tuple[float, float]:
        """Smallest and largest possible score."""
        k = self.n_items if self.scoring == "sum" else 1
        return (response.min * k * self.multiplier, response.max * k * self.multiplier)


@dataclass(frozen=True)
class Key:
    """The scoring key's provenance and reverse-keyed items."""

    status: str
    reverse: tuple[int, ...]
    sources: tuple[str, ...]
    note: str = ""


@dataclass(frozen=True)
class NormValues:
    """Mean and SD of one scale in a norm sample."""

    mean: float
    sd: float


@dataclass(frozen=True)
class Norm:
    """A norm (reference) sample: who, how many, which metric, mean/SD per scale, source."""

    id: str
    sample: str
    n: int | None
    population: str
    metric: str
    scales: Mapping[str, NormValues]
    source: str
    status: str


@dataclass(frozen=True)
class Reliability:
    """Published reliability of one scale."""

    scale: str
    source: str
    status: str
    alpha: float | None = None
    retest: float | None = None
    retest_interval: str = ""
    sample: str = ""
    n: int | None = None


@dataclass(frozen=True)
class Band:
    """A labelled score band (inclusive bounds) for interpretation."""

    label: str
    min: float
    max: float


@dataclass(frozen=True)
class Cutoff:
    """A clinical cut-off and/or interpretive bands for one scale."""

    scale: str
    source: str
    status: str
    value: float | None = None
    higher_is_worse: bool = True
    bands: tuple[Band, ...] = ()
    applies_to: str = ""
    note: str = ""


@dataclass(frozen=True)
class ReliableChangeValue:
    """A published reliable-change value in raw score points."""

    scale: str
    points: float
    source: str
    status: str


@dataclass(frozen=True)
class ItemFlag:
    """A critical-item rule, e.g. PHQ-9 item 9 above 0 raises a risk flag."""

    name: str
    items: tuple[int, ...]
    above: float
    message: str
    source: str


@dataclass(frozen=True)
class Licence:
    """What the licence allows; ``item_text`` says whether item wording may be shipped.

    ``name``/``url`` identify a standard licence (e.g. CC BY-ND 4.0), ``attribution`` is the notice
    its terms require wherever the wording is shown, ``text_source`` says where the shipped wording
    was taken from (required when the definition ships ``[item_text]``).
    """

    item_text: bool
    statement: str
    source: str
    status: str
    name: str = ""
    url: str = ""
    attribution: str = ""
    text_source: str = ""


@dataclass(frozen=True)
class Instrument:
    """A validated instrument definition."""

    id: str
    name: str
    citation: str
    n_items: int
    response: ResponseScale
    scoring: str
    scales: tuple[Scale, ...]
    licence: Licence
    key: Key | None
    item_numbers: tuple[int, ...]
    column_prefixes: tuple[str, ...]
    aliases: tuple[str, ...] = ()
    description: str = ""
    item_text: Mapping[int, str] = field(default_factory=dict)
    norms: tuple[Norm, ...] = ()
    reliability: tuple[Reliability, ...] = ()
    cutoffs: tuple[Cutoff, ...] = ()
    reliable_change: tuple[ReliableChangeValue, ...] = ()
    flags: tuple[ItemFlag, ...] = ()
    structure_source: str = ""
    path: str = ""

    @property
    def has_key(self) -> bool:
        """True when the definition carries a scoring key (item-to-scale map)."""
        return self.key is not None

    @property
    def status(self) -> str:
        """``verified``, ``single-source`` or ``no-key`` (structure only)."""
        return self.key.status if self.key else "no-key"

    def scale(self, name: str) -> Scale:
        """The scale called ``name`` (case-insensitive)."""
        for s in self.scales:
            if s.name.lower() == str(name).lower():
                return s
        names = [s.name for s in self.scales]
        raise InstrumentDefinitionError(
            f"instrument {self.id} has no scale {name!r}{suggest(name, names)}; scales: {', '.join(names)}"
        )

    @property
    def prefix(self) -> str:
        """The canonical prefix of item columns: the id without ``-`` (``ECR-S`` -> ``ECRS``).

        Item *k* is canonically ``<prefix>_<kk>`` (``ECRS_01``); the id as written (``ECR-S_01``)
        and every other entry of ``column_prefixes`` are accepted too (``docs/instrument-format.md``).
        """
        return self.column_prefixes[0]

    def column(self, scale: str) -> str:
        """Name of the score column ``score()`` produces for ``scale``: ``<ID>_<scale>``."""
        return f"{self.id}_{self.scale(scale).name}"

    def norm(self, norm_id: str) -> Norm:
        """The norm sample called ``norm_id``."""
        for n in self.norms:
            if n.id.lower() == str(norm_id).lower():
                return n
        ids = [n.id for n in self.norms]
        if not ids:
            raise InstrumentDefinitionError(f"instrument {self.id} has no published norms recorded")
        raise InstrumentDefinitionError(
            f"instrument {self.id} has no norm {norm_id!r}{suggest(norm_id, ids)}; norms: {', '.join(ids)}"
        )
