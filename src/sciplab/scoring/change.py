"""Reliable and clinically significant change with an instrument's constants (Jacobson & Truax 1991).

This module only *binds* an instrument's facts to the one reliable-change rule of
:mod:`sciplab.stats.change` (criterion, classes and kernel live there): the SD, the reliability,
a published reliable-change value and the clinical cut-off, each with its source.

* **SD**: the user's (``sd=``), the SD of the pre scores (``sd="pre"``) or the definition's
  dysfunctional norm, else its general norm.
* **Reliability**: the user's (``rxx=``) or the definition's internal consistency (alpha). A
  retest coefficient is trait *stability*, not measurement error (the ECR's .50-.60 spans two weeks
  to two decades), so it is never used by default; ``reliability="retest"`` uses it on request.
  Without either, a published reliable-change value in raw points (CORE-10: 6) is the threshold;
  else the call is refused, saying what to pass (API ``rxx=``, CLI ``--rxx``).
* **Cut-offs** (higher = worse; flipped otherwise): ``a = M_dys - 2 SD_dys``, ``b = M_func + 2 SD_func``,
  ``c = (SD_func M_dys + SD_dys M_func) / (SD_func + SD_dys)``, or the published clinical cut-off.
* **Direction**: the definition's cut-off, else the scale's construct polarity
  (:data:`sciplab.instruments.schema.CONSTRUCT_HIGHER_IS_WORSE`, flipped for ``direction = "inverse"``).

:func:`reliable_change` classifies pre/post scores (or item responses, scored first);
:func:`instrument_client_change` classifies long session data, first vs last session per client.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd

from sciplab._core.errors import DataError, InvalidParameterError
from sciplab._core.results import Result, package_version
from sciplab._core.validation import check_finite
from sciplab.instruments.registry import get_instrument
from sciplab.instruments.schema import CONSTRUCT_HIGHER_IS_WORSE, Instrument, Norm, Scale
from sciplab.scoring.engine import norm_on_score_metric, score
from sciplab.stats.change import (
    CLASSES,
    RECOVERED_RULE,
    ChangeCriterion,
    ClientChangeResult,
    change_report,
    classify_change,
    client_change,
    first_last,
    reliable_change_criterion,
)

__all__ = ["ChangeConstants", "ChangeResult", "change_constants", "instrument_client_change", "reliable_change"]

CutoffKind = Literal["auto", "a", "b", "c", "published"]


@dataclasses.dataclass(frozen=True)
class ChangeResult(Result):
    """Per-person reliable change (``.table``) with the constants used (``.details``)."""

    title: ClassVar[str] = "Reliable and clinically significant change (Jacobson & Truax 1991)"

    def summary(self, *, clients: bool = False) -> str:
        """Counts per class and the constants with their sources (``clients=True``: every person too)."""
        d = self.details
        worse = "higher" if d["higher_is_worse"] else "lower"
        header = f"{d['instrument']} {d['scale']}: n = {len(self.table)} ({worse} scores are worse)"
        return change_report(self.title, header, d, self.table, id_col="id", clients=clients)


@dataclasses.dataclass(frozen=True)
class ChangeConstants:
    """An instrument scale's reliable-change constants, each with its source."""

    instrument: str
    scale: str
    criterion: ChangeCriterion
    higher_is_worse: bool
    cutoff: float | None
    cutoff_type: str | None
    sources: dict[str, str]
    published: dict[str, Any] | None

    def to_details(self) -> dict[str, Any]:
        """``details`` entries: the criterion, the cut-off, the direction and every source."""
        crit = self.criterion.to_details()
        if crit["s_diff"] is None:
            crit["s_diff"] = float("nan")
        return {
            "instrument": self.instrument,
            "scale": self.scale,
            **crit,
            "higher_is_worse": self.higher_is_worse,
            **self.sources,
            "cutoff": self.cutoff,
            "cutoff_type": self.cutoff_type,
            "published_reliable_change": self.published,
        }


def _direction(scale: Scale, inst: Instrument, higher_is_worse: bool | None) -> bool:
    if higher_is_worse is not None:
        return bool(higher_is_worse)
    for cut in inst.cutoffs:
        if cut.scale == scale.name:
            return cut.higher_is_worse
    worse = CONSTRUCT_HIGHER_IS_WORSE.get(scale.construct) if scale.construct else None
    if worse is None:
        raise InvalidParameterError(
            f"{inst.id} {scale.name}: cannot tell whether higher scores are worse; "
            "pass higher_is_worse (CLI: --higher-is-better when they are better)"
        )
    return worse if scale.direction == "positive" else not worse


def _pick_norm(inst: Instrument, scale: Scale, population: str) -> Norm | None:
    for n in inst.norms:
        if n.population == population and scale.name in n.scales:
            return n
    return None


def _reliability(inst: Instrument, sc: Scale, rxx: float | None, kind: str | None) -> tuple[float | None, str, str]:
    """``(r_xx, source, why none)``: the user's value or the definition's internal consistency."""
    if rxx is not None:
        value = check_finite(rxx, name="rxx")
        if not 0 < value < 1:
            raise InvalidParameterError(f"rxx must be in (0, 1), got {rxx!r}")
        return value, "user-supplied", ""
    if kind not in (None, "alpha", "retest"):
        raise InvalidParameterError(f"reliability must be 'alpha', 'retest' or None, got {kind!r}")
    recs = [r for r in inst.reliability if r.scale == sc.name]
    if kind == "retest":
        rec = next((r for r in recs if r.retest is not None), None)
        if rec is not None and rec.retest is not None:
            interval = f", interval {rec.retest_interval}" if rec.retest_interval else ""
            return float(rec.retest), f"retest = {rec.retest} (asked for{interval}); {rec.source}", ""
        return None, "", " (no retest coefficient recorded for this scale"
    rec = next((r for r in recs if r.alpha is not None), None)
    if rec is not None and rec.alpha is not None:
        return float(rec.alpha), f"alpha = {rec.alpha} ({rec.sample or 'sample not recorded'}); {rec.source}", ""
    retest = next((r for r in recs if r.retest is not None), None)
    why = " (none recorded for this scale as internal consistency"
    if retest is not None:
        why += (
            f"; the definition's retest coefficient {retest.retest} is trait stability, not measurement error, "
            "and is not used"
        )
    return None, "", why


def change_constants(
    instrument: str | Instrument,
    scale: str,
    *,
    pre: Any = None,
    sd: float | Literal["pre"] | None = None,
    rxx: float | None = None,
    reliability: Literal["alpha", "retest"] | None = None,
    cutoff: CutoffKind | float | None = "auto",
    higher_is_worse: bool | None = None,
    level: float = 0.95,
    instruments_dir: str | None = None,
) -> ChangeConstants:
    """Find an instrument scale's reliable-change constants (SD, r_xx or published points, cut-off).

    Parameters are those of :func:`reliable_change`; ``pre`` (the pre-treatment scores) is needed
    only for ``sd="pre"``.

    Examples
    --------
    >>> c = change_constants("CORE-10", "total")
    >>> c.criterion.method, c.criterion.min_reliable_change, c.cutoff, c.higher_is_worse
    ('published-points', 6.0, 10.0, True)
    """
    inst = get_instrument(instrument, instruments_dir=instruments_dir)
    sc = inst.scale(scale)
    worse_high = _direction(sc, inst, higher_is_worse)
    dys, func = _pick_norm(inst, sc, "dysfunctional"), _pick_norm(inst, sc, "functional")
    general = _pick_norm(inst, sc, "general")

    # --- SD
    sd_val: float | None = None
    sd_source = ""
    if isinstance(sd, str):
        if sd != "pre":
            raise InvalidParameterError(f"sd must be a number, 'pre' or None, got {sd!r}")
        scores = pd.Series(np.asarray(pre, float)).dropna() if pre is not None else pd.Series(dtype=float)
        if len(scores) < 2:
            raise DataError(f"sd='pre' needs at least 2 pre-treatment scores, got {len(scores)}")
        sd_val = float(scores.std(ddof=1))
        sd_source = f"SD of the pre-treatment scores (n = {len(scores)})"
    elif sd is not None:
        sd_val = check_finite(sd, name="sd")
        if not sd_val > 0:
            raise InvalidParameterError(f"sd must be positive, got {sd!r}")
        sd_source = "user-supplied"
    else:
        for nrm in (dys, general):
            if nrm is not None:
                sd_val = norm_on_score_metric(nrm, sc, sc.name)[1]  # type: ignore[index]
                sd_source = f"norm {nrm.id!r}: {nrm.sample} (N = {nrm.n}); {nrm.source}"
                break

    rxx_val, rxx_source, no_rxx = _reliability(inst, sc, rxx, reliability)
    published = next((r for r in inst.reliable_change if r.scale == sc.name), None)
    if sd_val is not None and rxx_val is not None:
        crit = reliable_change_criterion(sd=sd_val, rxx=rxx_val, level=level)
        rc_source = "Jacobson & Truax (1991)"
    elif published is not None and sd is None and rxx is None:
        crit = reliable_change_criterion(rc_points=published.points, level=level)
        rc_source = f"{published.source} ({published.status})"
    else:
        lacking = []
        if sd_val is None:
            lacking.append(
                "an SD (no dysfunctional or general norm for this scale in the definition; "
                "pass sd=NUMBER or sd='pre' (CLI: --sd))"
            )
        if rxx_val is None:
            lacking.append(
                f"a reliability{no_rxx or ' (none found'}; pass rxx=NUMBER (CLI: --rxx) with its source in your report)"
            )
        raise InvalidParameterError(f"{inst.id} {sc.name}: reliable change needs " + " and ".join(lacking))

    cut_val, cut_type, cut_source = _cutoff(inst, sc, cutoff, worse_high, dys, func)
    return ChangeConstants(
        instrument=inst.id,
        scale=sc.name,
        criterion=crit,
        higher_is_worse=worse_high,
        cutoff=cut_val,
        cutoff_type=cut_type,
        sources={
            "sd_source": sd_source,
            "rxx_source": rxx_source,
            "rc_source": rc_source,
            "cutoff_source": cut_source,
        },  # fmt: skip
        published=None
        if published is None
        else {"points": published.points, "source": published.source, "status": published.status},
    )


def _cutoff(
    inst: Instrument, sc: Scale, wanted: Any, worse_high: bool, dys: Norm | None, func: Norm | None
) -> tuple[float | None, str | None, str]:
    if wanted is None:
        return None, None, ""
    if isinstance(wanted, int | float | np.integer | np.floating) and not isinstance(wanted, bool):
        return check_finite(float(wanted), name="cutoff"), "user", "user-supplied"
    if wanted not in ("auto", "a", "b", "c", "published"):
        raise InvalidParameterError(
            f"cutoff must be 'auto', 'a', 'b', 'c', 'published', a number or None, got {wanted!r}"
        )
    published_cut = next(
        (c for c in inst.cutoffs if c.scale == sc.name and c.value is not None and not c.applies_to), None
    )
    sign = 1.0 if worse_high else -1.0
    ms_d = norm_on_score_metric(dys, sc, sc.name) if dys else None
    ms_f = norm_on_score_metric(func, sc, sc.name) if func else None
    for kind in ["c", "published", "a", "b"] if wanted == "auto" else [wanted]:
        if kind == "c" and ms_d and ms_f:
            value = (ms_f[1] * ms_d[0] + ms_d[1] * ms_f[0]) / (ms_f[1] + ms_d[1])
            return value, kind, f"c from {dys.id!r} ({dys.source}) and {func.id!r} ({func.source})"  # type: ignore[union-attr]
        if kind == "a" and ms_d:
            return ms_d[0] - sign * 2 * ms_d[1], kind, f"a from {dys.id!r} ({dys.source})"  # type: ignore[union-attr]
        if kind == "b" and ms_f:
            return ms_f[0] + sign * 2 * ms_f[1], kind, f"b from {func.id!r} ({func.source})"  # type: ignore[union-attr]
        if kind == "published" and published_cut is not None and published_cut.value is not None:
            src = f"published clinical cut-off ({published_cut.source}; {published_cut.status})"
            return float(published_cut.value), kind, src
    if wanted != "auto":
        raise InvalidParameterError(
            f"{inst.id} {sc.name}: cut-off {wanted!r} cannot be computed: "
            "the definition lacks the norms or published value it needs"
        )
    return None, None, ""


def _scores(x: Any, name: str, inst: Instrument, sc: Scale, instruments_dir: str | None) -> pd.Series:
    """Scale scores from a Series/array, a one-column frame, the score column, or item responses."""
    if isinstance(x, pd.DataFrame):
        col = inst.column(sc.name)
        if col in x.columns:
            x = x[col]
        elif x.shape[1] == 1:
            x = x.iloc[:, 0]
        else:
            try:
                x = score(x, inst, scales=[sc.name], instruments_dir=instruments_dir).scores[col]
            except DataError as exc:
                raise DataError(
                    f"{name}: expected one column of scale scores, the column {col!r}, or the item columns of "
                    f"{inst.id} to score ({exc})"
                ) from None
    s = x if isinstance(x, pd.Series) else pd.Series(np.asarray(x, dtype=object))
    num = pd.to_numeric(s, errors="coerce")
    bad = s.notna() & num.isna()
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(f"{name}: row {i + 1} (index {s.index[i]!r}) is not a number: {s.iloc[i]!r}")
    return num.astype(float)


def _check_range(s: pd.Series, name: str, inst: Instrument, sc: Scale) -> None:
    lo, hi = sc.score_range(inst.response)
    out = s[(s < lo - 1e-9) | (s > hi + 1e-9) | np.isinf(s)]
    if len(out):
        label = out.index[0].item() if isinstance(out.index[0], np.generic) else out.index[0]
        raise DataError(
            f"{name}: score {float(out.iloc[0])!r} at index {label!r} is outside the "
            f"possible range {lo:g}-{hi:g} of {inst.id} {sc.name}"
        )


def _align(a: pd.Series, b: pd.Series, pre: Any, post: Any) -> pd.Series:
    """``post`` on ``pre``'s index: by label for pandas inputs (same clients, any order), else by position."""
    if isinstance(pre, pd.Series | pd.DataFrame) and isinstance(post, pd.Series | pd.DataFrame):
        if a.index.equals(b.index):
            return b
        if a.index.has_duplicates or b.index.has_duplicates:
            raise DataError("pre and post have different indexes with duplicated labels; give each client one row")
        missing = a.index.symmetric_difference(b.index)
        if len(missing):
            shown = ", ".join(map(str, missing[:10])) + (" ..." if len(missing) > 10 else "")
            raise DataError(f"pre and post have different indexes; clients not in both: {shown}")
        return b.loc[a.index]
    if len(a) != len(b):
        raise DataError(f"pre has {len(a)} scores but post has {len(b)}")
    b.index = a.index
    return b


def reliable_change(
    pre: Any,
    post: Any,
    *,
    instrument: str | Instrument,
    scale: str,
    sd: float | Literal["pre"] | None = None,
    rxx: float | None = None,
    reliability: Literal["alpha", "retest"] | None = None,
    cutoff: CutoffKind | float | None = "auto",
    higher_is_worse: bool | None = None,
    level: float = 0.95,
    instruments_dir: str | None = None,
) -> ChangeResult:
    """Jacobson & Truax reliable change index and clinical-significance classification.

    Parameters
    ----------
    pre, post
        Before and after: scale scores on the metric :func:`sciplab.score` produces (Series
        aligned by index -- same clients in any order -- or arrays of equal length), or DataFrames
        holding the ``<ID>_<scale>`` score column or the instrument's item responses (scored first
        with :func:`sciplab.score`, as the ``change`` command does).
    instrument, scale
        Which scale the scores are; supplies norms, reliability, cut-offs and their sources.
    sd
        SD for the standard error: a number (user-supplied), ``"pre"`` (SD of the pre scores), or
        ``None``: the definition's dysfunctional norm, else its general norm.
    rxx
        Reliability: a number, or ``None`` for the definition's internal consistency (alpha).
    reliability
        ``"retest"`` to use the definition's retest coefficient instead of alpha (only on request:
        stability over an interval is not measurement error); ``None``/``"alpha"``: alpha.
    cutoff
        ``"auto"`` (c when functional and dysfunctional norms exist, else the published clinical
        cut-off, else a or b from the one norm available), ``"a"``, ``"b"``, ``"c"``,
        ``"published"``, a finite number, or ``None`` (no recovery classification).
    higher_is_worse
        Direction; default from the definition's cut-off or the scale's construct polarity.
    level
        Two-sided level for the reliability criterion (0.95 -> 1.96).
    instruments_dir
        Folder of user instrument definitions.

    Returns
    -------
    ChangeResult
        ``.table`` per person: pre, post, change, rc, reliable, improvement, crossed_cutoff,
        classification; ``.details``: SD, r_xx, S_diff, cut-off and every source.

    Notes
    -----
    Criterion, classes and kernel: :mod:`sciplab.stats.change.reliable`. Recovered = reliable
    improvement from the dysfunctional side of the cut-off (pre) to the functional side (post); a
    reliable improvement that starts on the functional side is "improved".

    References
    ----------
    Jacobson, N. S., & Truax, P. (1991). Clinical significance: A statistical approach to defining
    meaningful change in psychotherapy research. JCCP, 59(1), 12-19.

    Examples
    --------
    >>> r = reliable_change([20, 20, 9], [8, 19, 2], instrument="PHQ-9", scale="total", sd=5.0, rxx=0.85)
    >>> r.table["classification"].tolist()
    ['recovered', 'unchanged', 'improved']
    """
    inst = get_instrument(instrument, instruments_dir=instruments_dir)
    sc = inst.scale(scale)
    a = _scores(pre, "pre", inst, sc, instruments_dir)
    b = _align(a, _scores(post, "post", inst, sc, instruments_dir), pre, post)
    if len(a) == 0:
        raise DataError("no scores given")
    _check_range(a, "pre", inst, sc)
    _check_range(b, "post", inst, sc)
    const = change_constants(inst, sc.name, pre=a, sd=sd, rxx=rxx, reliability=reliability, cutoff=cutoff,
                             higher_is_worse=higher_is_worse, level=level)  # fmt: skip
    k = classify_change(a.to_numpy(float), b.to_numpy(float), criterion=const.criterion, cutoff=const.cutoff,
                        higher_is_worse=const.higher_is_worse)  # fmt: skip
    valid = a.notna() & b.notna()
    cls = np.where(valid.to_numpy(), k["cls"].astype(object), np.array(None, dtype=object))
    table = pd.DataFrame(
        {
            "pre": a,
            "post": b,
            "change": k["change"],
            "rc": k["rc"],
            "reliable": pd.Series(k["reliable"], index=a.index).where(valid),
            "improvement": k["improvement"],
            "crossed_cutoff": pd.Series(k["crossed"], index=a.index).where(valid)
            if const.cutoff is not None
            else np.nan,
            "classification": pd.Categorical(cls, categories=list(CLASSES)),
        },
        index=a.index,
    )
    details = {
        **const.to_details(),
        "n": int(len(a)),
        "n_incomplete": int((~valid).sum()),
        "recovered_rule": RECOVERED_RULE,
        "version": package_version(),
    }
    return ChangeResult(table=table.reset_index(names="id"), details=details)


def instrument_client_change(
    data: pd.DataFrame,
    *,
    client: str,
    session: str,
    instrument: str | Instrument,
    scale: str,
    measure: str | None = None,
    sd: float | Literal["pre"] | None = None,
    rxx: float | None = None,
    reliability: Literal["alpha", "retest"] | None = None,
    cutoff: CutoffKind | float | None = "auto",
    higher_is_worse: bool | None = None,
    level: float = 0.95,
    date: str | None = None,
    instruments_dir: str | None = None,
) -> ClientChangeResult:
    """Reliable change per client, first vs last session, with an instrument scale's constants.

    :func:`sciplab.stats.change.client_change` with the SD, reliability (or published points),
    cut-off and direction found as :func:`reliable_change` finds them; ``details`` records each
    source. ``measure`` defaults to the ``<ID>_<scale>`` score column; ``sd="pre"`` is the SD of the
    clients' first scores.

    Examples
    --------
    >>> df = pd.DataFrame({"id": [1, 1, 2, 2], "s": [1, 5, 1, 5], "CORE-10_total": [22, 9, 22, 20]})
    >>> r = instrument_client_change(df, client="id", session="s", instrument="CORE-10", scale="total")
    >>> r.table["classification"].tolist(), r.details["min_reliable_change"]
    (['recovered', 'unchanged'], 6.0)
    """
    inst = get_instrument(instrument, instruments_dir=instruments_dir)
    sc = inst.scale(scale)
    measure = inst.column(sc.name) if measure is None else measure
    pre = None
    if sd == "pre":
        pre = first_last(data, client=client, session=session, measure=measure, date=date)["pre"]
    const = change_constants(inst, sc.name, pre=pre, sd=sd, rxx=rxx, reliability=reliability, cutoff=cutoff,
                             higher_is_worse=higher_is_worse, level=level)  # fmt: skip
    crit = const.criterion
    res = client_change(
        data, client=client, session=session, measure=measure, sd=crit.sd, rxx=crit.rxx, rc_points=crit.rc_points,
        cutoff=const.cutoff, higher_is_worse=const.higher_is_worse, level=level, date=date,
    )  # fmt: skip
    scored = res.table["pre"].dropna()
    _check_range(pd.concat([scored, res.table["post"].dropna()]), measure, inst, sc)
    details = {**res.details, **const.to_details(), "measure": measure}
    details["s_diff"] = crit.s_diff
    return dataclasses.replace(res, details=details)
