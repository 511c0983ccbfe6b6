"""Hypotheses and the relationship plan: the rule file evaluated on one client's measures.

:func:`rule_context` turns the profile, the attachment block and the interpersonal block into the
variables the rule conditions read (``<construct>.<attribute>``, ``attachment.*``,
``interpersonal.*``; :mod:`sciplab.scip.rules`); :func:`statements` evaluates the rules and returns
one row per statement that fired -- with the values that triggered it, the measured data behind
them, its evidence level and sources -- in order (hypotheses, then the plan by phase: engagement,
corrective, marker, caution), and :func:`missing_constructs` says what each unmeasured construct
would add. The statements are the rule file's; this module adds no clinical content.

References
----------
Daly, K. D., & Mallinckrodt, B. (2009). Experienced therapists' approach to psychotherapy for adults
with attachment avoidance or attachment anxiety. *Journal of Counseling Psychology, 56*, 549-563.
Mallinckrodt, B. (2000). Attachment, social competencies, social support, and interpersonal process
in psychotherapy. *Psychotherapy Research, 10*, 239-266.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from sciplab.instruments.schema import CONSTRUCTS, Instrument
from sciplab.scip.relationship import expected_rupture_type
from sciplab.scip.rules import EVIDENCE_LEVELS, PHASES, RuleSet

__all__ = [
    "STATEMENT_COLUMNS", "missing_constructs", "rule_context", "rule_context_rows", "statement_rows", "statements",
]  # fmt: skip

#: Columns of a formulation's statement table.
STATEMENT_COLUMNS = [
    "section", "phase", "id", "pattern", "text", "evidence", "evidence_meaning", "sources",
    "triggered_by", "condition", "data", "expected_rupture", "note",
]  # fmt: skip
_BLOCK_CONSTRUCTS = {
    "attachment": ("attachment_anxiety", "attachment_avoidance"),
    "interpersonal": ("interpersonal_octant",),
}


def _none(v: Any) -> Any:
    """NaN (pandas' missing float) -> None."""
    return None if isinstance(v, float) and math.isnan(v) else v


def rule_context(
    profile: pd.DataFrame, att: Mapping[str, Any], ip: Mapping[str, Any] | None
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The rule variables and, per construct or block, the data columns behind them."""
    return rule_context_rows([{k: _none(v) for k, v in r.items()} for r in profile.to_dict("records")], att, ip)


def rule_context_rows(
    rows: list[dict[str, Any]], att: Mapping[str, Any], ip: Mapping[str, Any] | None
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """:func:`rule_context` from the profile's rows (dicts, missing as None) instead of its DataFrame."""
    ctx: dict[str, Any] = {}
    columns: dict[str, list[str]] = {}
    for c in CONSTRUCTS:
        mine = [r for r in rows if r["construct"] == c and r["score"] is not None]
        ctx[f"{c}.present"] = bool(mine)
        columns[c] = [r["column"] for r in mine]
        if not mine:
            continue
        first = mine[0]
        for attr in ("score", "pomp", "z", "T", "band"):
            ctx[f"{c}.{attr}"] = first[attr]
        flags = [r["flag"] for r in mine]
        for kind in ("deficit", "elevated"):
            # known true if any scale is flagged, known false if at least one scale could be judged
            ctx[f"{c}.{kind}"] = True if kind in flags else False if "not flagged" in flags else None
    for dim in ("anxiety", "avoidance"):
        if att.get(dim):
            ctx[f"attachment.p_{dim}_high"] = att[dim]["p_high"]
    columns["attachment"] = [att[d]["column"] for d in ("anxiety", "avoidance") if att.get(d)]
    if att.get("quadrant_probabilities"):
        for q, p in att["quadrant_probabilities"].items():
            ctx[f"attachment.p_{q}"] = p
        ctx["attachment.pattern"] = att["most_probable"]["pattern"]
        ctx["attachment.pattern_p"] = att["most_probable"]["p"]
    if ip is not None and "elevation" in ip:
        for k in ("elevation", "elevation_z", "amplitude", "displacement", "fit", "interpretable", "octant"):
            ctx[f"interpersonal.{k}"] = ip.get(k)
        ctx["interpersonal.standardized"] = ip.get("standardized")
        columns["interpersonal"] = columns.get("interpersonal_octant", [])
    return ctx, columns


def statements(
    ruleset: RuleSet, ctx: Mapping[str, Any], columns: Mapping[str, list[str]], values: Mapping[str, Any]
) -> tuple[pd.DataFrame, list[str], list[dict[str, Any]]]:
    """The statement table, the source keys cited (first-use order) and the rules not evaluable."""
    rows, cited, not_evaluated = statement_rows(ruleset, ctx, columns, values)
    return pd.DataFrame(rows, columns=STATEMENT_COLUMNS), cited, not_evaluated


def statement_rows(
    ruleset: RuleSet, ctx: Mapping[str, Any], columns: Mapping[str, list[str]], values: Mapping[str, Any]
) -> tuple[list[dict[str, Any]], list[str], list[dict[str, Any]]]:
    """:func:`statements` with the table as its rows (dicts keyed by :data:`STATEMENT_COLUMNS`)."""
    fired, unknown = ruleset.evaluate(ctx)
    rows = []
    cited: list[str] = []
    for rule, trig in fired:
        blocks = list(dict.fromkeys(v.split(".", 1)[0] for v in trig))
        rows.append(
            {
                "section": rule.section,
                "phase": rule.phase,
                "id": rule.id,
                "pattern": rule.pattern,
                "text": rule.text,
                "evidence": rule.evidence,
                "evidence_meaning": EVIDENCE_LEVELS[rule.evidence],
                "sources": list(rule.sources),
                "triggered_by": trig,
                "condition": rule.when.source,
                "data": {c: values.get(c) for b in blocks for c in columns.get(b, [])},
                "expected_rupture": expected_rupture_type(rule.rupture) if rule.rupture else None,
                "note": rule.note or None,
            }
        )
        cited.extend(s for s in rule.sources if s not in cited)
    order = {p: i for i, p in enumerate(PHASES)}
    rows.sort(key=lambda r: (r["section"] != "hypothesis", order.get(r["phase"], -1)))  # stable: file order kept
    not_evaluated = [
        {"rule": r.id, "section": r.section,
         "needs": sorted({v.split(".", 1)[0] for v in r.when.variables if ctx.get(v) is None})}
        for r in unknown
    ]  # fmt: skip
    return rows, cited, not_evaluated


def missing_constructs(
    ruleset: RuleSet,
    ctx: Mapping[str, Any],
    registry: Iterable[Instrument],
    not_evaluated: list[dict[str, Any]],
    octants_incomplete: bool,
) -> list[dict[str, Any]]:
    """What each unmeasured construct of the rule file would add, the scales that measure it, the rules waiting."""
    registry = list(registry)
    missing: list[dict[str, Any]] = []
    for construct, adds in ruleset.missing.items():
        if not ctx.get(f"{construct}.present", False):
            measured_by = [i.column(s.name) for i in registry for s in i.scales if s.construct == construct]
            waiting = [n["rule"] for n in not_evaluated
                       if any(construct in _BLOCK_CONSTRUCTS.get(b, (b,)) for b in n["needs"])]  # fmt: skip
            missing.append({"construct": construct, "adds": adds, "measured_by": measured_by[:8],
                            "would_evaluate": waiting})  # fmt: skip
    if octants_incomplete:
        missing.append({"construct": "interpersonal_octant", "adds": "all eight octants of one instrument are "
                        "needed for the SSM profile", "measured_by": [], "would_evaluate": []})  # fmt: skip
    return missing
