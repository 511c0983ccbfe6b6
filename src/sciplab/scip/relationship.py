"""SCIP's therapy-relationship expectations: which alliance rupture to watch for, by attachment pattern.

SCIP-specific (the generic rupture detector, :func:`sciplab.stats.change.detect_ruptures`, knows
nothing of attachment): :func:`expected_rupture_type` maps an attachment pattern to the rupture
type to watch for, and :func:`detect_ruptures_by_attachment` runs the detector and attaches that
expectation to each client's episodes. The mapping is data with its sources (:data:`RUPTURE_TYPES`);
it is an inference to test, not an established finding.

Sources
-------
Eubanks, C. F., Muran, J. C., & Safran, J. D. (2018). Alliance rupture repair: A meta-analysis.
*Psychotherapy, 55*(4), 508-519. https://doi.org/10.1037/pst0000185 (what a rupture is).
Safran, J. D., & Muran, J. C. (2000). *Negotiating the therapeutic alliance: A relational treatment
guide*. Guilford Press (withdrawal and confrontation ruptures).
Schenk, N., Fuerer, L., Zimmermann, R., Steppan, M., & Schmeck, K. (2020). Alliance ruptures and
resolutions in personality disorders. *Current Psychiatry Reports, 23*, 1.
Miller-Bottome, M., Talia, A., Safran, J. D., & Muran, J. C. (2018). Resolving alliance ruptures
from an attachment-informed perspective. *Psychoanalytic Psychology, 35*, 175-183.
Mallinckrodt, B., Choi, G., & Daly, K. D. (2015). Pilot test of a measure to assess therapeutic
distance and its association with client attachment and corrective experience in therapy.
*Psychotherapy Research, 25*(5), 505-517. https://doi.org/10.1080/10503307.2014.928755 (attachment
avoidance goes with experiencing the therapist as too close, anxiety with too distant).
No study located measured both attachment and rupture type: the mapping from a pattern to a rupture
type is SCIP Lab's inference, to be tested.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from sciplab._core.errors import InvalidParameterError, suggest
from sciplab.stats.change import RuptureResult, detect_ruptures

__all__ = ["PATTERN_ALIASES", "RUPTURE_TYPES", "AttachmentRuptureResult", "detect_ruptures_by_attachment",
           "expected_rupture_type"]  # fmt: skip

#: Rupture type to watch for per attachment pattern, with when, what to watch and the sources.
RUPTURE_TYPES: dict[str, dict[str, Any]] = {
    "preoccupied": {
        "expected_rupture": "confrontation",
        "also": "deferential withdrawal",
        "when": "when the therapist increases distance (experienced as too distant)",
        "watch": "moving against the therapist; preoccupied clients minimise the therapist's contribution "
        "in resolution",
        "sources": [
            "Safran & Muran (2000) and Schenk et al. (2020): withdrawal vs confrontation ruptures; Mallinckrodt, "
            "Choi & Daly (2015): avoidance ~ therapist too close, anxiety ~ too distant; Miller-Bottome et al. (2018): "
            "resolution by attachment",
        ],
    },
    "dismissing": {
        "expected_rupture": "withdrawal",
        "also": None,
        "when": "when distance shrinks faster than tolerated (experienced as too close)",
        "watch": "quiet, easy to miss: use the lenient rule and check client-therapist perspective gaps; avoidant "
        "clients minimise their own contribution in resolution",
        "sources": [
            "Safran & Muran (2000) and Schenk et al. (2020): withdrawal vs confrontation ruptures; Mallinckrodt, "
            "Choi & Daly (2015): avoidance ~ therapist too close, anxiety ~ too distant; Miller-Bottome et al. (2018): "
            "resolution by attachment",
        ],
    },
    "fearful": {
        "expected_rupture": "withdrawal or confrontation",
        "also": None,
        "when": "unknown: both hyperactivating and deactivating strategies are possible",
        "watch": "both rupture types; no specific evidence located",
        "sources": [
            "Safran & Muran (2000); Schenk et al. (2020): rupture types (no source states a mapping for "
            "fearful clients)"
        ],
    },
    "secure": {
        "expected_rupture": None,
        "also": None,
        "when": "no pattern-specific expectation",
        "watch": "secure clients rupture too but take part in resolution more readily (Miller-Bottome et al. 2018)",
        "sources": ["Miller-Bottome et al. (2018)"],
    },
}
#: Names users write for the four patterns (dimensions and strategies included).
PATTERN_ALIASES = {
    "anxious": "preoccupied",
    "preoccupied": "preoccupied",
    "hyperactivating": "preoccupied",
    "avoidant": "dismissing",
    "dismissing": "dismissing",
    "dismissive": "dismissing",
    "deactivating": "dismissing",
    "fearful": "fearful",
    "fearful-avoidant": "fearful",
    "secure": "secure",
}


def expected_rupture_type(pattern: str) -> dict[str, Any]:
    """Rupture type to watch for given a client's attachment pattern [inference, to test].

    Parameters
    ----------
    pattern
        ``"preoccupied"``/``"anxious"``, ``"dismissing"``/``"avoidant"``, ``"fearful"`` or ``"secure"``.

    Returns
    -------
    dict
        ``pattern, expected_rupture, also, when, watch, evidence, sources``.

    Notes
    -----
    Anxious -> confrontation ruptures (and deferential withdrawal) when the therapist increases
    distance; avoidant -> withdrawal ruptures when distance shrinks faster than tolerated. Rupture
    types after Safran & Muran (2000) and Schenk et al. (2020); distance misfit by attachment after
    Mallinckrodt, Choi & Daly (2015); resolution differences after Miller-Bottome et al. (2018). The
    mapping itself is an inference to test, not an established finding: no study located measured
    both attachment and rupture type.

    Examples
    --------
    >>> expected_rupture_type("avoidant")["expected_rupture"]
    'withdrawal'
    """
    key = PATTERN_ALIASES.get(str(pattern).strip().lower())
    if key is None:
        raise InvalidParameterError(
            f"unknown attachment pattern {pattern!r}{suggest(str(pattern), PATTERN_ALIASES)}; "
            f"allowed: {', '.join(sorted(PATTERN_ALIASES))}"
        )
    evidence = "[inference] mapping to test; no study located measured attachment and rupture type together"
    return {"pattern": key, **RUPTURE_TYPES[key], "evidence": evidence}


@dataclasses.dataclass(frozen=True)
class AttachmentRuptureResult(RuptureResult):
    """Rupture-repair episodes with the rupture type expected from each client's attachment pattern."""

    def summary(self) -> str:
        """Episodes per client and rule, then the expected rupture type per client."""
        lines = [super().summary()]
        for cid, info in self.details.get("expected_rupture_types", {}).items():
            lines.append(f"  client {cid}: attachment {info['pattern']} -> watch for {info['expected_rupture']}")
        return "\n".join(lines)


def detect_ruptures_by_attachment(
    data: Any, *, client: str, session: str, alliance: str, attachment: str | Mapping[Any, str], **options: Any
) -> AttachmentRuptureResult:
    """Detect rupture-repair episodes and attach the rupture type expected from the attachment pattern.

    Parameters
    ----------
    data, client, session, alliance
        As :func:`sciplab.stats.change.detect_ruptures` (long data; column names).
    attachment
        A column holding each client's pattern (empty cells: no expectation) or a mapping
        client -> pattern; patterns as :func:`expected_rupture_type` accepts them.
    **options
        Further options of :func:`~sciplab.stats.change.detect_ruptures` (``k``, ``J``, ``sd_ref``,
        ``rules``, ``max_decline``, ``date``).

    Returns
    -------
    AttachmentRuptureResult
        The detector's table with an ``expected_rupture`` column; ``details["expected_rupture_types"]``
        per client.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"id": 1, "s": range(1, 9), "wai": [5.0, 5.1, 5.0, 5.1, 3.6, 5.0, 5.1, 5.0]})
    >>> r = detect_ruptures_by_attachment(df, client="id", session="s", alliance="wai", sd_ref=0.3,
    ...                                   attachment={1: "avoidant"})
    >>> r.table["expected_rupture"].tolist()
    ['withdrawal', 'withdrawal']
    """
    base = detect_ruptures(data, client=client, session=session, alliance=alliance, **options)
    patterns: dict[Any, dict[str, Any]] = {}
    if isinstance(attachment, str):
        if attachment not in data.columns:
            raise InvalidParameterError(
                f"attachment column {attachment!r} not found{suggest(attachment, data.columns)}"
            )
        firsts = data.groupby(client, sort=False)[attachment].first()
        for cid, val in firsts.items():
            if isinstance(val, str) and val.strip():
                patterns[cid] = expected_rupture_type(val)
    elif isinstance(attachment, Mapping):
        patterns = {cid: expected_rupture_type(p) for cid, p in attachment.items()}
    else:
        raise InvalidParameterError(
            f"attachment must be a column name or a mapping client -> pattern, got {attachment!r}"
        )
    table = base.table.copy()
    table["expected_rupture"] = [patterns[c]["expected_rupture"] if c in patterns else None for c in table["client"]]
    details = {**base.details, "expected_rupture_types": {str(c): p for c, p in patterns.items()},
               "attachment": attachment if isinstance(attachment, str) else "mapping"}  # fmt: skip
    return AttachmentRuptureResult(table=table, details=details, series=base.series)
