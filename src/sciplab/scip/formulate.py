r"""SCIP case formulation: from one client's scored measures to hypotheses and a relationship plan.

:func:`formulate` reads one client's scale scores (any subset, column names exactly as
:func:`sciplab.score` writes them, e.g. ``ECR-S_anxiety``; or raw item columns, scored first) and
returns a :class:`Formulation` with

1. the **attachment pattern as dimensions with measurement uncertainty**
   (:mod:`sciplab.scip.attachment`): score, SEM, 95 % band and the probability of each quadrant;
   the split is a convention, not a norm, and the formulation says so;
2. a **competency and support profile** against norms (:mod:`sciplab.scip.profile`);
3. the **interpersonal profile** (Structural Summary Method of the octants,
   :mod:`sciplab.scip.interpersonal`);
4. **hypotheses** and a **relationship plan** (engagement, corrective, markers, cautions) from the
   declarative rule file (:mod:`sciplab.scip.rules`, :mod:`sciplab.scip.plan`); each statement carries
   the data that triggered it, its evidence level and its sources;
5. what is **missing** and what it would add.

The result exposes its report as structured sections (:meth:`Formulation.sections`,
:mod:`sciplab.scip.sections`); ``summary()`` renders them as plain text, and
:mod:`sciplab.reports.formulation` renders them as Markdown and HTML.

References
----------
Mallinckrodt, B. (2000). *Psychotherapy Research, 10*, 239-266.
Daly, K. D., & Mallinckrodt, B. (2009). *Journal of Counseling Psychology, 56*, 549-563.
Mallinckrodt, B., Choi, G., & Daly, K. D. (2015). *Psychotherapy Research, 25*, 505-517.
Further sources in ``scip/rules/formulation.toml``.
"""

from __future__ import annotations

import dataclasses
import functools
import html
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd

from sciplab._core.errors import DataError, suggest
from sciplab._core.results import Result, package_version, to_jsonable
from sciplab.instruments.schema import Instrument, Scale
from sciplab.scip.attachment import FALLBACK_RELIABILITY, FALLBACK_SD, describe_attachment, quadrant_probabilities
from sciplab.scip.constructs import QUADRANTS
from sciplab.scip.interpersonal import interpersonal_profile
from sciplab.scip.items import has_items, instrument_registry, score_recognised
from sciplab.scip.plan import (
    STATEMENT_COLUMNS,
    missing_constructs,
    rule_context,
    rule_context_rows,
    statement_rows,
    statements,
)
from sciplab.scip.profile import profile_row
from sciplab.scip.rules import RuleSet, load_rules
from sciplab.scip.sections import Section, formulation_sections, heading, render_text
from sciplab.stats.circumplex import SSMResult

__all__ = ["FALLBACK_RELIABILITY", "FALLBACK_SD", "ID_COLUMNS", "QUADRANTS", "Formulation", "formulate",
           "quadrant_probabilities"]  # fmt: skip

#: Columns tried, in order, as the client id when ``client`` is given without ``id_col``
#: (true/false columns, such as the simulation's ``client`` flag, are never ids).
ID_COLUMNS = ("client", "id", "client_id", "person_id")


# ---------------------------------------------------------------------------------------------
# Result


@dataclasses.dataclass(frozen=True)
class Formulation(Result):
    """A SCIP case formulation for one client.

    Attributes
    ----------
    table
        The statements, one row each: ``section`` (hypothesis / plan), ``phase`` (plan: engagement,
        corrective, marker, caution), ``id`` (rule), ``pattern``, ``text``, ``evidence``,
        ``sources`` (keys), ``triggered_by`` (the rule variables and their values), ``data``
        (measured columns behind them), ``expected_rupture`` and ``note``.
    profile
        One row per measured scale: construct, score, range, POMP, norm (id, sample, N, source),
        z, T, band, cut-off, flag (deficit / elevated / not flagged / no norm) and its basis.
    attachment
        Anxiety and avoidance (score, reliability, SD, SEM, 95 % band, probability high, sources),
        quadrant probabilities, split point and method notes; ``available`` is false without data.
    interpersonal
        SSM parameters of the octant profile with guards, or ``None`` without octants.
    ssm
        The same as an :class:`~sciplab.stats.circumplex.SSMResult` (one profile, no CIs) for
        :func:`sciplab.plot.circumplex.plot_circle`, or ``None``.
    missing
        Constructs not measured and what each would add; rules that could not be evaluated.
    sources
        Every cited source: key and citation.
    details
        Client id, rule file, split, norms used, columns, version.
    """

    client: Any = None
    attachment: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    profile: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)
    interpersonal: Mapping[str, Any] | None = None
    ssm: SSMResult | None = None
    missing: tuple[Mapping[str, Any], ...] = ()
    sources: tuple[Mapping[str, str], ...] = ()

    title: ClassVar[str] = "SCIP case formulation"

    # -- statements --------------------------------------------------------------------------
    def _statements(self, section: str) -> list[dict[str, Any]]:
        rows = self.table[self.table["section"] == section]
        return [to_jsonable(dict(r)) for _, r in rows.iterrows()]

    @property
    def hypotheses(self) -> list[dict[str, Any]]:
        """Hypothesis statements (JSON-safe dicts)."""
        return self._statements("hypothesis")

    @property
    def plan(self) -> list[dict[str, Any]]:
        """Plan statements in phase order: engagement, corrective, marker, caution."""
        return self._statements("plan")

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary (``attachment, profile, interpersonal, hypotheses, plan, missing, sources``)."""
        return {
            "client": to_jsonable(self.client),
            "attachment": to_jsonable(self.attachment),
            "profile": to_jsonable(self.profile),
            "interpersonal": to_jsonable(self.interpersonal),
            "hypotheses": self.hypotheses,
            "plan": self.plan,
            "missing": to_jsonable(list(self.missing)),
            "sources": to_jsonable(list(self.sources)),
            "details": to_jsonable(self.details),
        }

    # -- report ------------------------------------------------------------------------------
    @property
    def heading(self) -> str:
        """``SCIP case formulation: client <id>`` (the id is user text: renderers escape it)."""
        return heading(self)

    def sections(self) -> tuple[Section, ...]:
        """The report as structured sections (titles, lines, table, statements, entries), numbers formatted.

        Renderers add markup only: :meth:`summary` (plain text), and Markdown and HTML in
        :mod:`sciplab.reports.formulation`.
        """
        return formulation_sections(self)

    def summary(self) -> str:
        """Readable formulation: the plain-text rendering of :meth:`sections` (the only place that rounds)."""
        return render_text(self.heading, self.sections())

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(self.summary())}</pre>" + super()._repr_html_()


# ---------------------------------------------------------------------------------------------
# Input handling


def _as_frame(scores: Any) -> pd.DataFrame:
    if isinstance(scores, pd.DataFrame):
        frame = scores
    elif isinstance(scores, pd.Series):
        frame = scores.to_frame().T
    elif isinstance(scores, Mapping):
        frame = pd.DataFrame([dict(scores)])
    else:
        raise DataError(
            f"scores must be a DataFrame, Series or mapping of column -> score, got {type(scores).__name__}"
        )
    if frame.shape[0] == 0:
        raise DataError("scores has no rows")
    return frame


def _select_client(frame: pd.DataFrame, client: Any, id_col: str | None) -> tuple[pd.DataFrame, Any]:
    where = f"{frame.attrs['source']}: " if frame.attrs.get("source") else ""
    if id_col is not None and id_col not in frame.columns:
        raise DataError(
            f"{where}id_col {id_col!r} not found{suggest(id_col, map(str, frame.columns))}; "
            f"columns: {', '.join(map(str, frame.columns))}"
        )
    if id_col is not None and pd.api.types.is_bool_dtype(frame[id_col]):
        raise DataError(
            f"{where}id_col {id_col!r} holds true/false values, not client ids; name the column with the ids"
        )
    if id_col is None and client is not None:
        id_col = next((c for c in ID_COLUMNS if c in frame.columns and not pd.api.types.is_bool_dtype(frame[c])), None)
        if id_col is None and frame.shape[0] == 1:
            return frame, client  # one row without an id column: ``client`` labels it
    ids = frame[id_col] if id_col is not None else pd.Series(frame.index, index=frame.index)
    if client is None:
        if frame.shape[0] > 1:
            shown = ", ".join(map(str, ids.iloc[:10].tolist()))
            raise DataError(
                f"{where}the scores have {frame.shape[0]} rows; choose one client with client= "
                f"(and id_col=; ids: {shown}{', ...' if frame.shape[0] > 10 else ''})"
            )
        return frame, (None if id_col is None else ids.iloc[0])
    mask = ids.astype(str) == str(client)
    if not mask.any():
        shown = ", ".join(map(str, ids.iloc[:10].tolist()))
        col = f"column {id_col!r}" if id_col else "the row index"
        raise DataError(f"{where}client {client!r} not found in {col}; ids: {shown}{', ...' if len(ids) > 10 else ''}")
    if mask.sum() > 1:
        raise DataError(f"{where}client {client!r} has {int(mask.sum())} rows; formulate needs exactly one")
    return frame.loc[mask.to_numpy()], ids[mask].iloc[0]


def _score_columns(frame: pd.DataFrame, registry: list[Instrument]) -> dict[str, tuple[Instrument, Scale]]:
    """``{column: (instrument, scale)}`` for columns named exactly as ``score()`` names them.

    Only :meth:`Instrument.column` names match (``ECR-S_anxiety``), case included: a latent
    ``cats_secure`` or a construct name is never taken for a scale score.
    """
    lookup = {inst.column(s.name): (inst, s) for inst in registry for s in inst.scales}
    return {str(c): lookup[str(c)] for c in frame.columns if str(c) in lookup}


def _check_value(col: str, value: Any, inst: Instrument, scale: Scale, where: str) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise DataError(f"{where}column {col!r}: value {value!r} is not a number") from None
    if isinstance(value, bool) or not math.isfinite(x):
        raise DataError(f"{where}column {col!r}: value {x!r} is not a finite number")
    lo, hi = scale.score_range(inst.response)
    if not lo - 1e-9 <= x <= hi + 1e-9:
        raise DataError(
            f"{where}column {col!r}: score {x:g} is outside the range of {inst.id} {scale.name} "
            f"({lo:g} to {hi:g}); check the column or the instrument version"
        )
    return x


# ---------------------------------------------------------------------------------------------
# The small case: one client's scores as a mapping of score columns (the clinic's case)


@functools.lru_cache(maxsize=1)
def _shipped_lookup() -> tuple[list[Instrument], dict[str, tuple[Instrument, Scale]]]:
    """The shipped registry and its ``{score column: (instrument, scale)}``, built once per process."""
    registry = instrument_registry(None)
    return registry, {inst.column(s.name): (inst, s) for inst in registry for s in inst.scales}


@functools.lru_cache(maxsize=256)
def _no_item_columns(keys: tuple[str, ...]) -> bool:
    """True when no column of ``keys`` is an item column of a shipped instrument with a key."""
    frame = pd.DataFrame(columns=list(keys))
    return not any(inst.has_key and has_items(frame, inst) for inst in _shipped_lookup()[0])


def _frame(rows: list[dict[str, Any]], columns: Sequence[str]) -> pd.DataFrame:
    """``pd.DataFrame(rows, columns=columns)`` built column by column (a third of the cost on a few rows)."""
    if not rows:
        return pd.DataFrame(rows, columns=list(columns))
    return pd.DataFrame({c: [r[c] for r in rows] for c in columns})


def _plain_scores(scores: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    """The measures of a mapping of score columns, or None when the general route is needed.

    The small case: text keys, every value a Python ``int``/``float`` (not ``bool``) or ``None``, no
    raw item column of any shipped instrument. Exactly what :func:`formulate`'s general route does
    with the one-row frame of such a mapping (the same columns in the same order, the same values
    and range checks), without the frame.
    """
    if not scores or not all(type(k) is str for k in scores):
        return None
    if not all(v is None or type(v) in (int, float) for v in scores.values()):
        return None
    keys = tuple(scores)
    if not _no_item_columns(keys):
        return None
    lookup = _shipped_lookup()[1]
    measures = []
    for col in keys:
        found = lookup.get(col)
        if found is not None:
            inst, scale = found
            value = _check_value(col, scores[col], inst, scale, "")
            measures.append({"column": col, "instrument": inst, "scale": scale, "value": value, "from_items": False})
    return measures


# ---------------------------------------------------------------------------------------------
# Public function


def formulate(
    scores: pd.DataFrame | pd.Series | Mapping[str, Any],
    *,
    client: Any = None,
    id_col: str | None = None,
    instruments: Sequence[str] | None = None,
    instruments_dir: str | None = None,
    rules: str | Path | RuleSet | None = None,
    reliability: float | Mapping[str, float] | None = None,
    sd: float | Mapping[str, float] | None = None,
    split: str | Mapping[str, float] = "midpoint",
    norms: Mapping[str, str] | None = None,
    standardize_octants: bool = True,
) -> Formulation:
    """Formulate one client's case in SCIP terms from their scored measures.

    Parameters
    ----------
    scores
        One client's scores: a DataFrame (one row, or choose with ``client``), a Series or a
        mapping. Columns named as :func:`sciplab.score` writes them (``ECR-S_anxiety``,
        ``MSPSS_total``, ``IIP-SC_PA`` ...), or raw item columns (``ECRS_01`` ...), scored first.
        Any subset; other columns are ignored.
    client, id_col
        The client to use when ``scores`` has several rows: value of ``id_col`` (default: a column
        ``client``, ``id`` or ``client_id``, else the row index).
    instruments
        Instruments whose raw items are in ``scores``; default: detected from the column names
        (an error if item columns fit two instruments, e.g. ECR-R and ECR-R-interleaved).
    instruments_dir
        Folder of user instrument definitions.
    rules
        Rule file (path) or a loaded :class:`~sciplab.scip.rules.RuleSet`; default: the shipped
        ``scip/rules/formulation.toml``.
    reliability, sd
        Reliability (in (0, 1)) and SD of the attachment dimensions for the SEM: one value for both
        or ``{"anxiety": ..., "avoidance": ...}``; default: the definition, else the fallbacks
        :data:`FALLBACK_RELIABILITY`, :data:`FALLBACK_SD` (named in the notes).
    split
        Quadrant boundaries: ``"midpoint"`` (scale midpoint, default) or
        ``{"anxiety": c, "avoidance": c}`` (e.g. sample medians). A convention, not a norm.
    norms
        ``{instrument id: norm id}`` choosing the norm sample per instrument; default: the first
        community (functional/general) norm of the definition.
    standardize_octants
        z-standardise octants against the norm before the SSM (default True when a norm exists).

    Returns
    -------
    Formulation

    Raises
    ------
    DataError
        Not one client, a score out of its instrument's range (naming column and value), a
        non-numeric score, ambiguous or incomplete item columns, no usable score at all.
    RuleFileError
        The rule file is invalid (file, line, problem).

    Examples
    --------
    >>> f = formulate({"ECR-S_anxiety": 4.9, "ECR-S_avoidance": 3.2, "MSPSS_total": 2.4})
    >>> f.attachment["most_probable"]["pattern"]
    'preoccupied'
    >>> round(f.attachment["quadrant_probabilities"]["preoccupied"], 3)
    0.942
    >>> "hyperactivating-engage" in set(f.table["id"])
    True
    >>> f.profile.set_index("column").loc["MSPSS_total", "flag"]
    'deficit'
    """
    small = None
    if isinstance(scores, Mapping) and client is None and id_col is None and instruments is None:
        small = None if instruments_dir is not None else _plain_scores(scores)
    if small:  # the small case (see _plain_scores): no frame, the same result
        ruleset = rules if isinstance(rules, RuleSet) else load_rules(rules)
        return _formulation(small, ruleset, _shipped_lookup()[0], None, None, [], reliability, sd, split, norms,
                            standardize_octants, small=True)  # fmt: skip
    frame = _as_frame(scores)
    where = f"{frame.attrs['source']}: " if frame.attrs.get("source") else ""
    frame, client_id = _select_client(frame, client, id_col)
    ruleset = rules if isinstance(rules, RuleSet) else load_rules(rules)
    registry = instrument_registry(instruments_dir)
    found = _score_columns(frame, registry)
    present = {inst.id for inst, _ in found.values()}
    item_scores, scored_instruments = score_recognised(
        frame, registry, exclude=present, instruments=instruments, instruments_dir=instruments_dir
    )
    measures: list[dict[str, Any]] = []
    seen_cols: set[str] = set()
    for col, (inst, scale) in found.items():
        value = frame[col].iloc[0]
        measures.append({"column": col, "instrument": inst, "scale": scale,
                         "value": _check_value(col, value, inst, scale, where), "from_items": False})  # fmt: skip
        seen_cols.add(col)
    for col in item_scores.columns:
        if str(col) in seen_cols:
            continue
        match = _score_columns(item_scores[[col]], registry).get(str(col))
        if match is None:
            continue
        inst, scale = match
        measures.append({"column": str(col), "instrument": inst, "scale": scale,
                         "value": _check_value(str(col), item_scores[col].iloc[0], inst, scale, where),
                         "from_items": True})  # fmt: skip
    if not measures:
        raise DataError(
            f"{where}no scale score or raw item column of a known instrument found; columns: "
            f"{', '.join(map(str, frame.columns))}; expected score columns named exactly as sciplab score writes "
            "them (ECR-S_anxiety, MSPSS_total, IIP-SC_PA) or raw item columns (ECRS_01, ...)"
        )
    return _formulation(measures, ruleset, registry, client_id, id_col, scored_instruments, reliability, sd, split,
                        norms, standardize_octants, small=False)  # fmt: skip


def _formulation(
    measures: list[dict[str, Any]],
    ruleset: RuleSet,
    registry: list[Instrument],
    client_id: Any,
    id_col: str | None,
    scored_instruments: list[str],
    reliability: Any,
    sd: Any,
    split: Any,
    norms: Mapping[str, str] | None,
    standardize_octants: bool,
    *,
    small: bool,
) -> Formulation:
    """The formulation of the measured scales (``small``: tables built column by column, same frames)."""
    profile_rows = [profile_row(m, ruleset, norms) for m in measures]
    attachment = describe_attachment(measures, reliability, sd, split)
    interpersonal, ssm_res = interpersonal_profile(measures, norms, standardize_octants)
    values = {m["column"]: m["value"] for m in measures}
    if small:
        profile = _frame(profile_rows, list(profile_rows[0]))
        ctx, columns = rule_context_rows(profile_rows, attachment, interpersonal)
        rows, cited, not_evaluated = statement_rows(ruleset, ctx, columns, values)
        table = _frame(rows, STATEMENT_COLUMNS)
    else:
        profile = pd.DataFrame(profile_rows)
        ctx, columns = rule_context(profile, attachment, interpersonal)
        table, cited, not_evaluated = statements(ruleset, ctx, columns, values)
    incomplete = interpersonal is None and bool(ctx.get("interpersonal_octant.present"))
    missing = missing_constructs(ruleset, ctx, registry, not_evaluated, incomplete)

    sources = tuple({"key": k, "citation": ruleset.sources[k]} for k in cited)
    details = {
        "client": client_id,
        "id_col": id_col,
        "rules": ruleset.path,
        "rules_title": ruleset.title,
        "rules_version": ruleset.version,
        "n_rules": len(ruleset.rules),
        "n_fired": len(table),
        "not_evaluated": not_evaluated,
        "columns_used": [m["column"] for m in measures],
        "scored_from_items": scored_instruments,
        "split": attachment.get("split"),
        "norms": norms or {},
        "profile_thresholds": {k: ruleset.profile[k] for k in ("deficit_z", "elevated_z")},
        "version": package_version(),
    }
    return Formulation(
        table=table,
        details=details,
        client=client_id,
        attachment=attachment,
        profile=profile,
        interpersonal=interpersonal,
        ssm=ssm_res,
        missing=tuple(missing),
        sources=sources,
    )
