"""Session-by-session change: reliable change, expected treatment response, ruptures, growth models.

Implements
----------
* :func:`client_change` -- reliable change and clinical significance per client, first vs last
  session (Jacobson & Truax 1991; analysis-methods.md section 5): ``S_diff = SD sqrt(2 (1 - r_xx))``,
  ``RC = (x_last - x_first) / S_diff``, reliable when ``|RC| > z_(1 - (1 - level)/2)``; or a published
  reliable-change value in raw points (``rc_points``: reliable when ``|change| >= points``). Classes:
  recovered (reliable improvement and last score on the functional side of the cut-off), improved,
  unchanged, deteriorated. Constants come in as arguments: this layer never reads instrument files.
* :func:`fit_reference` / :func:`expected_response` -- expected treatment response (ETR).
  ``method="hlm"`` (Finch, Lambert & Schaalje 2001; analysis-methods.md section 6)::

      y_ti = pi0i + pi1i ln(t + 1) + e_ti; pi0i = g00 + g01 I_i + u0i; pi1i = g10 + g11 I_i + u1i
      yhat_t(I) = (g00 + g01 I) + (g10 + g11 I) ln(t + 1)
      Var_pred(t) = x_t' Var(g) x_t + z_t' G z_t + sigma^2,  z_t = (1, ln(t + 1))
      bound_q(t) = yhat_t + z_q sqrt(Var_pred(t))    (direction-adjusted; q one-sided)

  with intake severity ``I`` centred at the reference mean (a reparametrisation: same curves).
  ``method="nn"`` (Lutz et al. 2006): the k reference clients nearest on intake features
  (standardised Euclidean or Mahalanobis distance) are found for each new client and the
  log-linear growth model (random intercept and slope) is fitted to them only; its prediction band
  is the expected course. Traffic lights follow clinical-algorithms.md section 3 (grey, white,
  red, yellow, green) with configurable ``q_yellow``/``q_red``; OQ's proprietary boundaries are
  never used.
* :func:`detect_ruptures` -- rupture-repair episodes in session alliance series
  (analysis-methods.md section 7): V-shaped deflections by the lenient (1 SD, Strauss-type) and
  strict (2 SD, Stiles-type) rule, using the stricter (larger) of intra- and inter-individual
  variability of session-to-session differences; repair within ``J`` sessions; unresolved episodes
  escalated. :func:`alliance_gap` flags client-therapist perspective gaps;
  :func:`expected_rupture_type` gives the rupture type to watch for, by attachment pattern.
* :func:`growth_model` -- multilevel growth model (statsmodels ``MixedLM``, ``method="lbfgs"``)
  on ``ln(t + 1)`` or ``t`` with person-mean-centred within/between decomposition; convergence
  problems are reported in ``details`` and as :class:`sciplab.ConvergenceWarning`.

Our operationalisation of the rupture detector [inference, analysis-methods.md section 7]
-------------------------------------------------------------------------------------------
The baseline of session ``t`` is the mean of the ``k`` sessions ending at the last local peak
before ``t`` (the start of the current run of strict declines, at most ``max_decline`` sessions
back), so a multi-session decline counts against the pre-decline level; for a one-session drop this
is the usual ``mean(a_{t-k..t-1})``. ``sd_in`` is the SD of the client's session-to-session
differences before the decline started (needs at least 3 differences). Repair is looked for in
the ``J`` sessions after the trough (the lowest session of the decline); pattern ``"V"`` is a
one-session drop repaired at the next session, ``"decline-sudden-repair"`` a multi-session decline
repaired at once, ``"U/slow"`` a repair taking more than one session. Episodes whose series ends
before ``J`` sessions after the trough are ``"pending"``, not ``"unresolved"``. The exact Stiles and
Strauss rules have not been checked against the papers: no equivalence is claimed.

Sources
-------
Jacobson, N. S., & Truax, P. (1991). Clinical significance: A statistical approach to defining
meaningful change in psychotherapy research. *JCCP, 59*, 12-19.
Finch, A. E., Lambert, M. J., & Schaalje, B. G. (2001). Psychotherapy quality control: The
statistical generation of expected recovery curves. *Clin Psychol Psychother, 8*, 231-242.
Lutz, W., et al. (2006). The probability of treatment success, failure and duration: What can be
learned from empirical data to support decision making in clinical practice? *Clin Psychol
Psychother, 13*, 223-232.
Stiles, W. B., et al. (2004). Patterns of alliance development and the rupture-repair hypothesis.
*J Couns Psychol, 51*, 81-92.
Strauss, J. L., et al. (2006). Early alliance, alliance ruptures, and symptom change in a
nonrandomized trial of cognitive therapy for avoidant and obsessive-compulsive personality
disorders. *JCCP, 74*, 337-345.
Gumz, A., et al. (2012). Criteria of alliance ruptures: A comparison (ruptures by different
criteria give different counts).
Eubanks, C. F., Muran, J. C., & Safran, J. D. (2018). Alliance rupture repair: A meta-analysis.
*Psychotherapy, 55*, 508-519.
Schenk, N., et al. (2020); Miller-Bottome, M., et al. (2018): rupture types and attachment
(scip-model.md section 6).

Deliberate differences from other tools
---------------------------------------
* Growth models use one residual variance (statsmodels ``MixedLM``); lavaan's ``growth()`` frees
  one residual variance per wave, so estimates agree closely, not exactly.
* Reliable change is classified once per client (first vs last session), never per session
  (clinical-algorithms.md section 2: session-wise RC tests multiply false alarms).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
from scipy import stats as st
from statsmodels.regression.mixed_linear_model import MixedLM

from sciplab._core.errors import ConvergenceWarning, DataError, DataWarning, InvalidParameterError, suggest
from sciplab._core.results import Result, package_version, to_jsonable
from sciplab._core.validation import check_level, require_frame
from sciplab.stats._formulas import jt_classify

__all__ = [
    "CLASSES",
    "STATUSES",
    "AllianceGapResult",
    "ClientChangeResult",
    "ExpectedResponseResult",
    "GrowthResult",
    "Reference",
    "RuptureResult",
    "alliance_gap",
    "client_change",
    "detect_ruptures",
    "expected_response",
    "expected_rupture_type",
    "first_last",
    "fit_reference",
    "growth_model",
]

CLASSES = ("recovered", "improved", "unchanged", "deteriorated")
STATUSES = ("grey", "white", "green", "yellow", "red")
REFERENCE_FORMAT = "sciplab-etr-reference"
REFERENCE_VERSION = 1
#: The longest decline seen in rupture-repair studies lasted 6 sessions (analysis-methods.md section 7).
MAX_DECLINE = 6


# --------------------------------------------------------------------------------------------
# input handling
# --------------------------------------------------------------------------------------------
def _check_columns(data: Any, columns: Mapping[str, str | None]) -> None:
    require_frame(data)
    source = data.attrs.get("source")
    where = f"{source}: " if source else ""
    for arg, col in columns.items():
        if col is None:
            continue
        if not isinstance(col, str):
            raise InvalidParameterError(f"{arg} must be a column name (str), got {col!r}")
        if col not in data.columns:
            note = "" if arg.startswith("column ") else f" (argument {arg})"
            raise DataError(
                f"{where}column {col!r}{note} not found{suggest(col, data.columns)}; "
                f"columns are: {', '.join(map(str, data.columns))}"
            )


def _numeric(frame: pd.DataFrame, col: str, *, allow_missing: bool = True) -> pd.Series:
    raw = frame[col]
    num = pd.to_numeric(raw, errors="coerce")
    bad = raw.notna() & num.isna()
    if bad.any():
        idx = raw.index[bad.to_numpy()][0]
        raise DataError(f"column {col!r}, row index {idx!r}: {raw.loc[idx]!r} is not a number")
    if not allow_missing and num.isna().any():
        idx = num.index[num.isna().to_numpy()][0]
        raise DataError(f"column {col!r}, row index {idx!r}: missing value (needed here)")
    return num.astype(float)


def _long(
    data: pd.DataFrame,
    *,
    client: str,
    session: str,
    values: Sequence[str],
    date: str | None = None,
    extra: Sequence[str] = (),
) -> pd.DataFrame:
    """Validated long data sorted by client and session, columns renamed ``client``/``session``."""
    cols: dict[str, str | None] = {"client": client, "session": session, "date": date}
    cols.update({f"column {v!r}": v for v in values})
    cols.update({f"column {v!r}": v for v in extra})
    _check_columns(data, cols)
    keep = list(dict.fromkeys([client, session, *values, *extra, *([date] if date else [])]))
    frame = data.loc[:, keep].copy()
    if frame[client].isna().any():
        idx = frame.index[frame[client].isna().to_numpy()][0]
        raise DataError(f"column {client!r} (client), row index {idx!r}: missing client id")
    sess = _numeric(frame, session, allow_missing=False)
    if (sess < 0).any():
        idx = sess.index[(sess < 0).to_numpy()][0]
        raise DataError(f"column {session!r} (session), row index {idx!r}: session {sess.loc[idx]:g} is negative")
    for v in values:
        frame[v] = _numeric(frame, v)
    out = pd.DataFrame({"client": frame[client], "session": sess}, index=frame.index)
    for v in dict.fromkeys([*values, *extra]):
        if v not in (client, session):
            out[v] = frame[v]
    dup = out.duplicated(["client", "session"], keep=False)
    if dup.any():
        cid, sess_dup = _py(out.loc[dup, "client"].iloc[0]), out.loc[dup, "session"].iloc[0]
        rows = out.index[(dup & (out["client"] == cid) & (out["session"] == sess_dup)).to_numpy()]
        raise DataError(
            f"client {cid!r} has session {sess_dup:g} more than once "
            f"(row indexes {', '.join(map(repr, map(_py, rows.tolist())))}); "
            "each session number must occur once per client"
        )
    if date is not None:
        with warnings.catch_warnings():
            # pandas warns when it cannot infer one format; unparseable cells are reported below
            warnings.simplefilter("ignore", UserWarning)
            parsed = pd.to_datetime(frame[date], errors="coerce")
        bad = frame[date].notna() & parsed.isna()
        if bad.any():
            idx = frame.index[bad.to_numpy()][0]
            raise DataError(f"column {date!r} (date), row index {idx!r}: {frame[date].loc[idx]!r} is not a date")
        out["date"] = parsed
    out = out.sort_values(["client", "session"], kind="mergesort")
    if date is not None:
        for cid, grp in out.groupby("client", sort=False):
            d = grp["date"].dropna()
            back = d.diff().dt.total_seconds() < 0
            if back.any():
                pos = int(np.flatnonzero(back.to_numpy())[0])
                s_prev, s_now = grp.loc[d.index[pos - 1], "session"], grp.loc[d.index[pos], "session"]
                raise DataError(
                    f"client {_py(cid)!r}: dates are not in session order: session {s_now:g} is dated "
                    f"{d.iloc[pos].date()} but earlier session {s_prev:g} is dated {d.iloc[pos - 1].date()}"
                )
    return out


def _py(value: Any) -> Any:
    """Plain Python scalar for messages (numpy 2 reprs read ``np.int64(1)``)."""
    return value.item() if isinstance(value, np.generic) else value


def first_last(data: pd.DataFrame, *, client: str, session: str, measure: str, date: str | None = None) -> pd.DataFrame:
    """First and last observed score of every client (missing scores skipped).

    Parameters
    ----------
    data
        Long data: one row per client and session.
    client, session, measure
        Column names.
    date
        Optional date column; dates must not go backwards as sessions go up.

    Returns
    -------
    pandas.DataFrame
        One row per client: ``client, n_sessions, first_session, last_session, pre, post``
        (``post`` and ``last_session`` are NaN for clients with one scored session).

    Examples
    --------
    >>> df = pd.DataFrame({"id": [1, 1, 1, 2], "s": [1, 2, 3, 1], "y": [20.0, 15, 9, 30]})
    >>> first_last(df, client="id", session="s", measure="y")[["client", "pre", "post"]].to_numpy().tolist()
    [[1.0, 20.0, 9.0], [2.0, 30.0, nan]]
    """
    long = _long(data, client=client, session=session, values=[measure], date=date)
    long = long.dropna(subset=[measure])
    rows = []
    for cid, grp in long.groupby("client", sort=False):
        n = len(grp)
        rows.append(
            {
                "client": cid,
                "n_sessions": n,
                "first_session": grp["session"].iloc[0],
                "last_session": grp["session"].iloc[-1] if n > 1 else np.nan,
                "pre": grp[measure].iloc[0],
                "post": grp[measure].iloc[-1] if n > 1 else np.nan,
            }
        )
    return pd.DataFrame(rows, columns=["client", "n_sessions", "first_session", "last_session", "pre", "post"])


# --------------------------------------------------------------------------------------------
# reliable change per client
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class ClientChangeResult(Result):
    """Per-client reliable change, first vs last session (``.table``), constants in ``.details``."""

    title: ClassVar[str] = "Reliable and clinically significant change per client (Jacobson & Truax 1991)"

    def summary(self) -> str:
        """Counts per class, constants, and clients that could not be classified."""
        d = self.details
        t = self.table
        counts = t["classification"].value_counts().reindex(CLASSES, fill_value=0)
        lines = [self.title, "=" * len(self.title)]
        lines.append(
            f"{d['measure']}: {d['n_clients']} clients "
            f"({'higher' if d['higher_is_worse'] else 'lower'} scores are worse)"
        )
        if d["method"] == "jacobson-truax":
            lines.append(f"SD = {d['sd']:.3f}; r_xx = {d['rxx']:.3f}; S_diff = {d['s_diff']:.3f}")
        lines.append(
            f"reliable change needs |change| {'>' if d['method'] == 'jacobson-truax' else '>='} "
            f"{d['min_reliable_change']:.3f} points"
        )
        lines.append(
            "no cut-off: 'recovered' cannot be assigned" if d["cutoff"] is None else f"cut-off = {d['cutoff']:g}"
        )
        for cls in CLASSES:
            lines.append(f"  {cls:<13}{counts[cls]:>6}")
        notes = t.loc[t["note"].notna(), ["client", "note"]]
        for _, row in notes.iterrows():
            lines.append(f"  client {row['client']}: {row['note']}")
        return "\n".join(lines)


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
    ``RC = (x_last - x_first) / S_diff``; reliable when ``|RC| > z``; recovered = reliable
    improvement and the last score on the functional side of the cut-off (Jacobson & Truax 1991).

    References
    ----------
    Jacobson, N. S., & Truax, P. (1991). *JCCP, 59*, 12-19.

    Examples
    --------
    ORS (higher is better; reliable change 5 points, cut-off 25; clinical-algorithms.md section 2):

    >>> df = pd.DataFrame({"id": [1, 1, 2, 2], "s": [1, 4, 1, 5], "ors": [18.0, 27.0, 20.0, 22.0]})
    >>> r = client_change(df, client="id", session="s", measure="ors", rc_points=5, cutoff=25, higher_is_worse=False)
    >>> r.table["classification"].tolist()
    ['recovered', 'unchanged']
    """
    check_level(level)
    long = _long(data, client=client, session=session, values=[measure], date=date)
    n_missing = int(long[measure].isna().sum())
    fl = first_last(long, client="client", session="session", measure=measure)
    z = float(st.norm.ppf(1 - (1 - level) / 2))
    if sd is not None or rxx is not None:
        if sd is None or rxx is None:
            raise InvalidParameterError("give both sd and rxx for the Jacobson-Truax index (or rc_points alone)")
        if not sd > 0:
            raise InvalidParameterError(f"sd must be positive, got {sd!r}")
        if not 0 < rxx < 1:
            raise InvalidParameterError(f"rxx must be in (0, 1), got {rxx!r}")
        s_diff: float | None = float(sd) * math.sqrt(2.0 * (1.0 - float(rxx)))
        method, min_change = "jacobson-truax", z * s_diff
    elif rc_points is not None:
        if not rc_points > 0:
            raise InvalidParameterError(f"rc_points must be positive, got {rc_points!r}")
        s_diff, method, min_change = None, "published-points", float(rc_points)
    else:
        raise InvalidParameterError("reliable change needs sd and rxx, or a published rc_points value")
    two = fl["n_sessions"] >= 2
    if not two.any():
        raise DataError(f"no client has two scored sessions of {measure!r}: change needs a first and a last session")
    k = jt_classify(
        fl["pre"].to_numpy(float),
        fl["post"].to_numpy(float),
        s_diff=s_diff,
        rc_points=rc_points,
        z=z,
        cutoff=None if cutoff is None else float(cutoff),
        higher_is_worse=higher_is_worse,
    )
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
        "method": method,
        "sd": None if sd is None else float(sd),
        "rxx": None if rxx is None else float(rxx),
        "s_diff": s_diff,
        "rc_points": None if rc_points is None else float(rc_points),
        "min_reliable_change": float(min_change),
        "z": z,
        "level": level,
        "cutoff": None if cutoff is None else float(cutoff),
        "higher_is_worse": bool(higher_is_worse),
        "comparison": "first vs last scored session per client",
        "n_clients": int(len(table)),
        "n_classified": int(valid.sum()),
        "n_single_session": len(single),
        "n_missing_scores": n_missing,
        "recovered_rule": "reliable improvement and last score on the functional side of the cut-off",
        "sources": ["Jacobson & Truax (1991)"],
        "version": package_version(),
    }
    return ClientChangeResult(table=table, details=details)


# --------------------------------------------------------------------------------------------
# mixed models (shared by growth_model, fit_reference, expected_response)
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass
class _MixedFit:
    fe: np.ndarray
    fe_names: list[str]
    cov_fe: np.ndarray
    bse_fe: np.ndarray
    cov_re: np.ndarray
    re_names: list[str]
    sigma2: float
    converged: bool
    messages: list[str]
    llf: float
    n_obs: int
    n_groups: int


def _fit_mixed(
    y: np.ndarray,
    X: pd.DataFrame,
    Z: pd.DataFrame,
    groups: np.ndarray,
    *,
    reml: bool = True,
    what: str = "mixed model",
    stacklevel: int = 3,
) -> _MixedFit:
    """Fit ``MixedLM(y, X, groups, exog_re=Z)`` by L-BFGS, collecting every warning as a message."""
    model = MixedLM(np.asarray(y, float), X, groups=np.asarray(groups), exog_re=Z)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            res = model.fit(method="lbfgs", reml=reml)
        except (np.linalg.LinAlgError, ValueError) as exc:
            raise DataError(f"{what}: the model cannot be estimated on these data ({exc})") from None
    messages = list(dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in caught))
    converged = bool(getattr(res, "converged", True))
    cov_re = np.asarray(res.cov_re, float)
    if not converged and not any("converge" in m.lower() for m in messages):
        messages.append("optimizer reported non-convergence")
    if cov_re.size:
        var = np.diag(cov_re)
        tiny = var <= 1e-6 * max(float(res.scale), 1e-12)
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = cov_re / np.sqrt(np.outer(var, var))
        off = np.abs(corr[~np.eye(len(var), dtype=bool)])
        if tiny.any() or (off.size and np.nanmax(off) > 0.999):
            messages.append(
                "random-effects covariance is singular (a variance near 0 or a correlation near +-1: "
                "on the boundary); simplify the random part"
            )
    fe_names = list(X.columns)
    k = len(fe_names)
    cov_all = np.asarray(res.cov_params(), float)
    cov_fe = cov_all[:k, :k]
    if messages:
        warnings.warn(f"{what}: {'; '.join(messages)}", ConvergenceWarning, stacklevel=stacklevel)
    return _MixedFit(
        fe=np.asarray(res.fe_params, float),
        fe_names=fe_names,
        cov_fe=cov_fe,
        bse_fe=np.asarray(res.bse_fe, float),
        cov_re=cov_re,
        re_names=list(Z.columns),
        sigma2=float(res.scale),
        converged=converged and not messages,
        messages=messages,
        llf=float(res.llf),
        n_obs=int(len(y)),
        n_groups=int(len(np.unique(groups))),
    )


def _time(session: np.ndarray | pd.Series, kind: str) -> np.ndarray:
    s = np.asarray(session, float)
    return np.log(s + 1.0) if kind == "log" else s


# --------------------------------------------------------------------------------------------
# expected treatment response
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Reference:
    """A fitted expected-treatment-response reference (save with :meth:`save`, read with :meth:`load`).

    ``method="hlm"`` stores the fixed effects, their covariance, the random-effects covariance G and
    the residual variance; ``method="nn"`` stores the reference clients' data (growth models are
    fitted to the nearest neighbours of each new client).
    """

    method: str
    columns: Mapping[str, Any]
    parameters: Mapping[str, Any]
    fit: Mapping[str, Any]
    data: pd.DataFrame | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary (the saved file's content)."""
        out = {
            "format": REFERENCE_FORMAT,
            "format_version": REFERENCE_VERSION,
            "method": self.method,
            "columns": self.columns,
            "parameters": self.parameters,
            "fit": self.fit,
            "sciplab_version": package_version(),
        }
        if self.data is not None:
            out["data"] = {c: self.data[c].tolist() for c in self.data.columns}
        return to_jsonable(out)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the reference as JSON (versioned, with the parameters it was fitted with)."""
        p = Path(path)
        if not p.parent.exists():
            raise DataError(f"{p}: folder {p.parent} does not exist")
        p.write_text(json.dumps(self.to_dict(), indent=1, allow_nan=False), encoding="utf-8")
        return p

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Reference:
        """Read a reference written by :meth:`save`."""
        p = Path(path)
        if not p.exists():
            raise DataError(f"{p}: reference file not found")
        try:
            obj = json.loads(p.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise DataError(f"{p}: not a JSON reference file ({exc})") from None
        if not isinstance(obj, dict) or obj.get("format") != REFERENCE_FORMAT:
            raise DataError(f"{p}: not a SCIP Lab expected-response reference (format {REFERENCE_FORMAT!r} expected)")
        if obj.get("format_version") != REFERENCE_VERSION:
            raise DataError(
                f"{p}: reference format version {obj.get('format_version')!r} is not supported "
                f"(this SCIP Lab reads version {REFERENCE_VERSION}); refit the reference"
            )
        try:
            data = pd.DataFrame(obj["data"]) if "data" in obj else None
            return cls(
                method=obj["method"], columns=obj["columns"], parameters=obj["parameters"], fit=obj["fit"], data=data
            )
        except KeyError as exc:
            raise DataError(f"{p}: reference file lacks the field {exc.args[0]!r}") from None

    def summary(self) -> str:
        """Readable description of the reference."""
        f, c = self.fit, self.columns
        lines = [f"Expected-response reference ({self.method}) for {c['measure']!r}"]
        lines.append(
            f"{f['n_clients']} clients, {f['n_obs']} observations, sessions {f['session_min']:g}-{f['session_max']:g}"
        )
        if self.method == "hlm":
            for name, est, se in zip(f["fe_names"], f["fe"], f["bse_fe"], strict=True):
                lines.append(f"  {name:<22}{est:>10.3f} ({se:.3f})")
            lines.append(f"  residual variance     {f['sigma2']:>10.3f}")
            lines.append(f"  intake centred at {f['intake_mean']:.3f}")
            if f["messages"]:
                lines.append("convergence: " + "; ".join(f["messages"]))
        else:
            p = self.parameters
            lines.append(f"k = {p['k']} nearest neighbours on {', '.join(p['features'])} ({p['distance']} distance)")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def _intake(long: pd.DataFrame, measure: str, intake: str | None) -> pd.Series:
    """Intake severity per client: the intake column (constant per client) or the first score."""
    if intake is None:
        return long.dropna(subset=[measure]).groupby("client", sort=False)[measure].first()
    vals = long.groupby("client", sort=False)[intake]
    if (vals.nunique(dropna=True) > 1).any():
        cid = vals.nunique(dropna=True).idxmax()
        raise DataError(f"intake column {intake!r} varies within client {cid!r}; it must be constant per client")
    first = vals.first()
    if first.isna().any():
        raise DataError(f"intake column {intake!r} is missing for client {first.index[first.isna()][0]!r}")
    return first.astype(float)


def fit_reference(
    data: pd.DataFrame,
    *,
    client: str,
    session: str,
    measure: str,
    intake: str | None = None,
    method: Literal["hlm", "nn"] = "hlm",
    k: int = 50,
    features: Sequence[str] = ("intake",),
    distance: Literal["euclidean", "mahalanobis"] = "euclidean",
    min_clients: int = 20,
    date: str | None = None,
) -> Reference:
    """Fit an expected-treatment-response reference from a reference sample.

    Parameters
    ----------
    data
        Long reference data: one row per client and session.
    client, session, measure
        Column names. Sessions are numbers ``t >= 0``; time is ``ln(t + 1)``.
    intake
        Column with intake severity (constant per client); default: each client's first score, which is
        then not modelled as an outcome (the curve predicts the sessions after intake).
    method
        ``"hlm"`` (Finch, Lambert & Schaalje 2001) or ``"nn"`` (nearest neighbours, Lutz et al. 2006).
    k, features, distance
        Nearest-neighbour settings: number of neighbours, client-level feature columns
        (``"intake"`` is the intake severity) and ``"euclidean"`` (on standardised features) or
        ``"mahalanobis"`` distance.
    min_clients
        Refuse references with fewer clients that have at least two scored sessions (``nn``
        also needs at least ``k``).
    date
        Optional date column (checked for order).

    Returns
    -------
    Reference

    Raises
    ------
    DataError
        Too few clients (the message states the minimum), bad columns or data.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> u = rng.normal(0, [3, 1], (40, 2))
    >>> rows = [(c, t, 25 + u[c, 0] + (u[c, 1] - 4) * np.log(t + 1) + rng.normal(0, 2))
    ...         for c in range(40) for t in range(8)]
    >>> ref = fit_reference(pd.DataFrame(rows, columns=["id", "s", "y"]), client="id", session="s", measure="y")
    >>> ref.method, ref.fit["n_clients"], ref.fit["n_obs"]
    ('hlm', 40, 280)
    """
    if method not in ("hlm", "nn"):
        raise InvalidParameterError(f"method must be 'hlm' or 'nn', got {method!r}")
    if not isinstance(min_clients, int) or min_clients < 3:
        raise InvalidParameterError(f"min_clients must be an integer >= 3, got {min_clients!r}")
    feats = list(features)
    extra = [f for f in feats if f != "intake"] if method == "nn" else []
    if intake is not None:
        extra.append(intake)
    long = _long(data, client=client, session=session, values=[measure, *extra], date=date)
    long = long.dropna(subset=[measure])
    counts = long.groupby("client", sort=False).size()
    usable = counts.index[counts >= 2]
    needed = max(min_clients, k) if method == "nn" else min_clients
    if len(usable) < needed:
        raise DataError(
            f"a {method} reference needs at least {needed} clients with two or more scored sessions of "
            f"{measure!r}; the data have {len(usable)}" + (f" (k = {k} neighbours)" if method == "nn" else "")
        )
    long = long[long["client"].isin(usable)]
    ints = _intake(long, measure, intake)
    columns = {"client": client, "session": session, "measure": measure, "intake": intake}
    base_fit = {
        "n_clients": int(len(usable)),
        "n_obs": int(len(long)) - (int(len(usable)) if method == "hlm" and intake is None else 0),
        "session_min": float(long["session"].min()),
        "session_max": float(long["session"].max()),
        "intake_mean": float(ints.mean()),
        "intake_sd": float(ints.std(ddof=1)),
    }
    params: dict[str, Any] = {"time": "ln(session + 1)", "min_clients": min_clients, "estimator": "REML, L-BFGS"}
    if method == "hlm":
        if intake is None:
            # the intake score is the predictor: modelling it as an outcome too would make it explain
            # itself at t = intake (Finch et al. 2001 predict the sessions after intake)
            long = long[long.groupby("client", sort=False).cumcount() > 0]
        L = _time(long["session"], "log")
        ic = long["client"].map(ints).to_numpy(float) - base_fit["intake_mean"]
        X = pd.DataFrame({"intercept": 1.0, "intake": ic, "log_time": L, "intake:log_time": ic * L})
        Z = pd.DataFrame({"intercept": 1.0, "log_time": L})
        fit = _fit_mixed(long[measure].to_numpy(), X, Z, long["client"].to_numpy(), what="ETR reference (hlm)")
        base_fit.update(
            fe_names=fit.fe_names,
            fe=fit.fe.tolist(),
            bse_fe=fit.bse_fe.tolist(),
            cov_fe=fit.cov_fe.tolist(),
            re_names=fit.re_names,
            cov_re=fit.cov_re.tolist(),
            sigma2=fit.sigma2,
            converged=fit.converged,
            messages=fit.messages,
            llf=fit.llf,
        )
        params["model"] = "y ~ intake_c * ln(t+1) + (1 + ln(t+1) | client)"
        params["intake_session_in_outcome"] = intake is not None
        return Reference(method="hlm", columns=columns, parameters=params, fit=base_fit)
    if not isinstance(k, int) or k < 3:
        raise InvalidParameterError(f"k must be an integer >= 3, got {k!r}")
    if distance not in ("euclidean", "mahalanobis"):
        raise InvalidParameterError(f"distance must be 'euclidean' or 'mahalanobis', got {distance!r}")
    if not feats:
        raise InvalidParameterError("features must name at least one client-level feature (e.g. 'intake')")
    store = long[["client", "session", measure]].rename(columns={measure: "y"}).reset_index(drop=True)
    store["intake"] = store["client"].map(ints).to_numpy(float)
    for f in extra:
        if f == intake:
            continue
        store[f] = long[f].to_numpy(float)
    params.update(k=k, features=feats, distance=distance, model="y ~ ln(t+1) + (1 + ln(t+1) | client) on k neighbours")
    return Reference(method="nn", columns=columns, parameters=params, fit=base_fit, data=store)


@dataclasses.dataclass(frozen=True)
class ExpectedResponseResult(Result):
    """Expected curve, prediction bounds and traffic-light status per client and session."""

    curve: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)
    title: ClassVar[str] = "Expected treatment response (traffic lights per session)"

    def summary(self) -> str:
        """Latest status of each client plus the settings."""
        d = self.details
        lines = [self.title, "=" * len(self.title)]
        lines.append(
            f"reference: {d['method']} ({d['reference_clients']} clients); q_yellow = {d['q_yellow']}, "
            f"q_red = {d['q_red']} (one-sided), min_session = {d['min_session']}; "
            f"{'higher' if d['higher_is_worse'] else 'lower'} scores are worse"
        )
        t = self.table
        for cid, grp in t.groupby("client", sort=False):
            last = grp.iloc[-1]
            counts = grp["status"].value_counts().reindex(STATUSES, fill_value=0)
            shown = ", ".join(f"{s} {counts[s]}" for s in STATUSES if counts[s])
            lines.append(
                f"  client {cid}: session {last['session']:g} observed {last['observed']:.2f}, expected "
                f"{last['expected']:.2f} -> {last['status']} ({shown})"
            )
        return "\n".join(lines)


def _nn_fit(reference: Reference, feat_values: np.ndarray, k: int) -> tuple[_MixedFit, list[Any]]:
    ref = reference.data
    assert ref is not None  # noqa: S101 - internal invariant of method="nn"
    feats = list(reference.parameters["features"])
    per_client = ref.groupby("client", sort=False)[feats].first()
    M = per_client.to_numpy(float)
    mu, sd = M.mean(axis=0), M.std(axis=0, ddof=1)
    sd = np.where(sd > 0, sd, 1.0)
    diff = (M - feat_values) / sd
    if reference.parameters["distance"] == "mahalanobis" and M.shape[1] > 1:
        cov = np.atleast_2d(np.cov((M - mu) / sd, rowvar=False))
        dist = np.sqrt(np.einsum("ij,jk,ik->i", diff, np.linalg.pinv(cov), diff))
    else:
        dist = np.sqrt((diff**2).sum(axis=1))
    order = np.argsort(dist, kind="mergesort")[:k]
    chosen = per_client.index[order].tolist()
    sub = ref[ref["client"].isin(chosen)]
    L = _time(sub["session"], "log")
    X = pd.DataFrame({"intercept": 1.0, "log_time": L})
    fit = _fit_mixed(
        sub["y"].to_numpy(), X, X.copy(), sub["client"].to_numpy(), what="ETR nearest-neighbour model", stacklevel=4
    )
    return fit, chosen


def _bands(
    sessions: np.ndarray, fe: np.ndarray, cov_fe: np.ndarray, cov_re: np.ndarray, sigma2: float, ic: float | None
) -> tuple[np.ndarray, np.ndarray]:
    L = _time(sessions, "log")
    one = np.ones_like(L)
    if ic is None:
        Xt = np.column_stack([one, L])
    else:
        Xt = np.column_stack([one, np.full_like(L, ic), L, ic * L])
    Zt = np.column_stack([one, L])
    yhat = Xt @ fe
    var = np.einsum("ij,jk,ik->i", Xt, cov_fe, Xt) + np.einsum("ij,jk,ik->i", Zt, cov_re, Zt) + sigma2
    return yhat, np.sqrt(var)


def expected_response(
    reference: Reference,
    client_data: pd.DataFrame,
    *,
    q_yellow: float = 0.80,
    q_red: float = 0.90,
    min_session: float = 2,
    cutoff: float | None = None,
    higher_is_worse: bool = True,
    horizon: float | None = None,
) -> ExpectedResponseResult:
    """Expected curve, prediction bounds and traffic-light status of new clients.

    Parameters
    ----------
    reference
        From :func:`fit_reference` or :meth:`Reference.load`.
    client_data
        Long data of one or more clients with the reference's column names (client, session,
        measure, and the intake/feature columns it was fitted with).
    q_yellow, q_red
        One-sided quantiles of the prediction distribution for the yellow and red bounds
        (defaults .80/.90 [inference]; tune on local data; never OQ's proprietary values).
    min_session
        Sessions before this are grey.
    cutoff
        Clinical cut-off: a score on the functional side of it is white.
    higher_is_worse
        Direction ("worse" = beyond the bound).
    horizon
        Last session of the expected curve in ``.curve`` (default: the later of the client's last
        session and the reference's).

    Returns
    -------
    ExpectedResponseResult
        ``.table`` per client and session: observed, expected, se_pred, bound_yellow, bound_red,
        n_measurements, status; ``.curve`` per client and session 0..horizon.

    Notes
    -----
    ``Var_pred(t) = x_t' Var(g) x_t + z_t' G z_t + sigma^2``; ``bound_q = yhat + z_q sqrt(Var_pred)``
    for higher-is-worse scales, ``yhat - z_q sqrt(Var_pred)`` otherwise. Status order: grey (fewer
    than 2 measurements or session < ``min_session``), white (functional side of ``cutoff``), red
    (beyond ``bound(q_red)``), yellow (beyond ``bound(q_yellow)``), green.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> u = rng.normal(0, [3, 1], (40, 2))
    >>> rows = [(c, t, 25 + u[c, 0] + (u[c, 1] - 4) * np.log(t + 1) + rng.normal(0, 2))
    ...         for c in range(40) for t in range(8)]
    >>> ref = fit_reference(pd.DataFrame(rows, columns=["id", "s", "y"]), client="id", session="s", measure="y")
    >>> new = pd.DataFrame({"id": "A", "s": [0, 1, 2, 3, 4], "y": [27.0, 26, 24.5, 25, 21]})
    >>> expected_response(ref, new).table["status"].tolist()
    ['grey', 'grey', 'yellow', 'red', 'green']
    """
    if not isinstance(reference, Reference):
        raise InvalidParameterError(
            f"reference must be a Reference (fit_reference or Reference.load), got {type(reference).__name__}"
        )
    check_level(q_yellow, name="q_yellow")
    check_level(q_red, name="q_red")
    if q_red < q_yellow:
        raise InvalidParameterError(f"q_red ({q_red}) must be at least q_yellow ({q_yellow})")
    cols = reference.columns
    measure, intake = cols["measure"], cols["intake"]
    extra = [f for f in reference.parameters.get("features", []) if f != "intake"] if reference.method == "nn" else []
    if intake is not None:
        extra.append(intake)
    long = _long(client_data, client=cols["client"], session=cols["session"], values=[measure, *extra])
    long = long.dropna(subset=[measure])
    if long.empty:
        raise DataError(f"no scored sessions of {measure!r} in the client data")
    ints = _intake(long, measure, intake)
    zy, zr = float(st.norm.ppf(q_yellow)), float(st.norm.ppf(q_red))
    sign = 1.0 if higher_is_worse else -1.0
    rows, curves = [], []
    per_client: dict[str, Any] = {}
    f = reference.fit
    for cid, grp in long.groupby("client", sort=False):
        s = grp["session"].to_numpy(float)
        y = grp[measure].to_numpy(float)
        if reference.method == "hlm":
            fe, cov_fe = np.asarray(f["fe"]), np.asarray(f["cov_fe"])
            cov_re, sigma2 = np.asarray(f["cov_re"]), float(f["sigma2"])
            ic: float | None = float(ints[cid]) - float(f["intake_mean"])
            info: dict[str, Any] = {"intake": float(ints[cid])}
        else:
            feats = list(reference.parameters["features"])
            vals = np.array([float(ints[cid]) if ft == "intake" else float(grp[ft].iloc[0]) for ft in feats])
            fit, chosen = _nn_fit(reference, vals, int(reference.parameters["k"]))
            fe, cov_fe, cov_re, sigma2, ic = fit.fe, fit.cov_fe, fit.cov_re, fit.sigma2, None
            info = {"intake": float(ints[cid]), "neighbours": chosen, "fe": fit.fe.tolist(), "messages": fit.messages}
        per_client[str(cid)] = info
        yhat, se = _bands(s, fe, cov_fe, cov_re, sigma2, ic)
        b_y, b_r = yhat + sign * zy * se, yhat + sign * zr * se
        n_meas = np.arange(1, len(s) + 1)
        beyond_r = (y > b_r) if higher_is_worse else (y < b_r)
        beyond_y = (y > b_y) if higher_is_worse else (y < b_y)
        status = np.where(beyond_r, "red", np.where(beyond_y, "yellow", "green")).astype(object)
        if cutoff is not None:
            functional = (y < cutoff) if higher_is_worse else (y > cutoff)
            status = np.where(functional, "white", status)
        status = np.where((n_meas < 2) | (s < min_session), "grey", status)
        rows.append(
            pd.DataFrame(
                {
                    "client": cid,
                    "session": s,
                    "observed": y,
                    "expected": yhat,
                    "se_pred": se,
                    "bound_yellow": b_y,
                    "bound_red": b_r,
                    "n_measurements": n_meas,
                    "status": pd.Categorical(status, categories=list(STATUSES)),
                }
            )
        )
        last = max(float(s.max()), float(f["session_max"])) if horizon is None else float(horizon)
        grid = np.arange(0.0, math.floor(last) + 1.0)
        gy, gse = _bands(grid, fe, cov_fe, cov_re, sigma2, ic)
        curves.append(
            pd.DataFrame(
                {
                    "client": cid,
                    "session": grid,
                    "expected": gy,
                    "se_pred": gse,
                    "bound_yellow": gy + sign * zy * gse,
                    "bound_red": gy + sign * zr * gse,
                    "lower_yellow": gy - zy * gse,
                    "upper_yellow": gy + zy * gse,
                    "lower_red": gy - zr * gse,
                    "upper_red": gy + zr * gse,
                }
            )
        )
    details = {
        "measure": measure,
        "method": reference.method,
        "reference_parameters": dict(reference.parameters),
        "reference_clients": reference.fit["n_clients"],
        "q_yellow": q_yellow,
        "q_red": q_red,
        "z_yellow": zy,
        "z_red": zr,
        "min_session": min_session,
        "cutoff": cutoff,
        "higher_is_worse": bool(higher_is_worse),
        "clients": per_client,
        "rules": "grey < 2 measurements or session < min_session; white functional side of cutoff; "
        "red beyond bound(q_red); yellow beyond bound(q_yellow); green otherwise",
        "sources": ["Finch, Lambert & Schaalje (2001)"] + (["Lutz et al. (2006)"] if reference.method == "nn" else []),
        "version": package_version(),
    }
    return ExpectedResponseResult(
        table=pd.concat(rows, ignore_index=True), details=details, curve=pd.concat(curves, ignore_index=True)
    )


# --------------------------------------------------------------------------------------------
# rupture-repair detection
# --------------------------------------------------------------------------------------------
def rupture_episodes(
    a: np.ndarray, *, m: float, sd_ref: float, k: int, J: int, max_decline: int = MAX_DECLINE
) -> list[dict[str, Any]]:
    """Kernel: rupture-repair episodes in one alliance series ``a`` (positions, higher = better)."""
    n = len(a)
    events: list[dict[str, Any]] = []
    i = 1
    while i < n:
        # start of the current run of strict declines ending at i (the last local peak)
        p = i
        while p > 0 and a[p - 1] > a[p] and i - (p - 1) <= max_decline:
            p -= 1
        if p == i:  # no decline into i
            i += 1
            continue
        base = float(np.mean(a[max(0, p - k + 1) : p + 1]))
        diffs = np.diff(a[: p + 1])
        sd_in = float(np.std(diffs, ddof=1)) if len(diffs) >= 3 else math.nan
        if not math.isnan(sd_in) and sd_in > sd_ref:
            sd_used, which = sd_in, "intra-individual"
        else:
            sd_used, which = sd_ref, "inter-individual"
        thr = m * sd_used
        if not (thr > 0 and base - a[i] >= thr):
            i += 1
            continue
        trough = i
        while trough + 1 < n and a[trough + 1] < a[trough] and trough + 1 - p <= max_decline:
            trough += 1
        repair = None
        for j in range(1, J + 1):
            if trough + j < n and a[trough + j] >= base - thr / 2:
                repair = trough + j
                break
        if repair is not None:
            j = repair - trough
            pattern = "U/slow" if j > 1 else ("V" if trough - p == 1 else "decline-sudden-repair")
            status = "repaired"
        else:
            pattern = None
            status = "unresolved" if trough + J < n else "pending"
        events.append(
            {
                "start": p + 1,
                "onset": i,
                "trough": trough,
                "repair": repair,
                "baseline": base,
                "trough_value": float(a[trough]),
                "depth": base - float(a[trough]),
                "depth_sd": (base - float(a[trough])) / sd_used,
                "threshold": thr,
                "sd_used": sd_used,
                "sd_source": which,
                "sd_intra": sd_in,
                "decline_length": trough - p,
                "repair_length": None if repair is None else repair - trough,
                "pattern": pattern,
                "status": status,
            }
        )
        i = (repair + 1) if repair is not None else (trough + J + 1)
    return events


_RUPTURE_TYPES: dict[str, dict[str, Any]] = {
    "preoccupied": {
        "expected_rupture": "confrontation",
        "also": "deferential withdrawal",
        "when": "when the therapist increases distance (experienced as too distant)",
        "watch": "moving against the therapist; preoccupied clients minimise the therapist's contribution "
        "in resolution",
        "sources": [
            "scip-model.md section 6: Schenk et al. (2020) rupture types; Miller-Bottome et al. (2018); MCD 2015",
        ],
    },
    "dismissing": {
        "expected_rupture": "withdrawal",
        "also": None,
        "when": "when distance shrinks faster than tolerated (experienced as too close)",
        "watch": "quiet, easy to miss: use the lenient rule and check client-therapist perspective gaps; avoidant "
        "clients minimise their own contribution in resolution",
        "sources": [
            "scip-model.md section 6: Schenk et al. (2020) rupture types; Miller-Bottome et al. (2018); MCD 2015",
        ],
    },
    "fearful": {
        "expected_rupture": "withdrawal or confrontation",
        "also": None,
        "when": "unknown: both hyperactivating and deactivating strategies are possible",
        "watch": "both rupture types; no specific evidence located",
        "sources": ["scip-model.md section 6 (mapping for fearful clients not stated by a source)"],
    },
    "secure": {
        "expected_rupture": None,
        "also": None,
        "when": "no pattern-specific expectation",
        "watch": "secure clients rupture too but take part in resolution more readily (Miller-Bottome et al. 2018)",
        "sources": ["scip-model.md section 6: Miller-Bottome et al. (2018)"],
    },
}
_PATTERN_ALIASES = {
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
    scip-model.md section 6: anxious -> confrontation ruptures (and deferential withdrawal) when the
    therapist increases distance; avoidant -> withdrawal ruptures when distance shrinks faster than
    tolerated. Rupture types after Schenk et al. (2020); resolution differences after
    Miller-Bottome et al. (2018). The mapping is an inference to test, not an established finding
    (scip-model.md section 7, open question 6).

    Examples
    --------
    >>> expected_rupture_type("avoidant")["expected_rupture"]
    'withdrawal'
    """
    key = _PATTERN_ALIASES.get(str(pattern).strip().lower())
    if key is None:
        raise InvalidParameterError(
            f"unknown attachment pattern {pattern!r}{suggest(str(pattern), _PATTERN_ALIASES)}; "
            f"allowed: {', '.join(sorted(_PATTERN_ALIASES))}"
        )
    return {"pattern": key, **_RUPTURE_TYPES[key], "evidence": "[inference] mapping to test (scip-model.md section 6)"}


@dataclasses.dataclass(frozen=True)
class RuptureResult(Result):
    """Rupture-repair episodes (``.table``, one row per episode and rule) and the alliance series."""

    series: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)
    title: ClassVar[str] = "Alliance rupture-repair episodes"

    def summary(self) -> str:
        """Episodes per client and rule."""
        d = self.details
        lines = [self.title, "=" * len(self.title)]
        lines.append(
            f"{d['alliance']}: {d['n_clients']} clients; k = {d['k']}, J = {d['J']}; rules {d['rules']} SD; "
            f"sd_ref = {d['sd_ref']:.3f} ({d['sd_ref_source']})"
        )
        t = self.table
        if t.empty:
            lines.append("no ruptures detected")
        for _, e in t.iterrows():
            rep = (
                f"repaired at session {e['repair_session']:g} ({e['pattern']})"
                if e["status"] == "repaired"
                else e["status"]
            )
            lines.append(
                f"  client {e['client']} [{e['rule']}]: sessions {e['start_session']:g}-{e['trough_session']:g}, "
                f"depth {e['depth_sd']:.2f} SD -> {rep}" + (" ESCALATE" if e["escalate"] else "")
            )
        for cid, info in d.get("expected_rupture_types", {}).items():
            lines.append(f"  client {cid}: attachment {info['pattern']} -> watch for {info['expected_rupture']}")
        return "\n".join(lines)


_RULE_NAMES = {1: "lenient (1 SD)", 2: "strict (2 SD)"}
_EVENT_COLUMNS = [
    "client", "rule", "m", "start_session", "onset_session", "trough_session", "repair_session", "baseline",
    "trough_value", "depth", "depth_sd", "threshold", "sd_used", "sd_source", "decline_length", "repair_length",
    "pattern", "status", "escalate", "expected_rupture",
]  # fmt: skip


def detect_ruptures(
    data: pd.DataFrame,
    *,
    client: str,
    session: str,
    alliance: str,
    k: int = 3,
    J: int = 3,
    sd_ref: float | None = None,
    rules: Sequence[float] = (1, 2),
    attachment: str | Mapping[Any, str] | None = None,
    max_decline: int = MAX_DECLINE,
    date: str | None = None,
) -> RuptureResult:
    """Detect rupture-repair episodes (V-shaped deflections) in session-by-session alliance ratings.

    Parameters
    ----------
    data
        Long data, one row per client and session; higher alliance = better.
    client, session, alliance
        Column names.
    k
        Sessions averaged for the baseline (ending at the last peak before the drop).
    J
        A rupture is repaired when the alliance returns to ``baseline - threshold / 2`` within
        ``J`` sessions after the trough; else unresolved (escalate).
    sd_ref
        Inter-individual SD of session-to-session differences from a reference sample. Default:
        pooled SD of the differences in ``data`` (recorded in ``details``).
    rules
        Multipliers of the SD: 1 (lenient, Strauss-type) and 2 (strict, Stiles-type); both reported.
    attachment
        Attachment pattern per client (a column name or a mapping client -> pattern) to report the
        expected rupture type (:func:`expected_rupture_type`).
    max_decline
        Longest decline (sessions) counted as one episode (6: longest seen, analysis-methods.md section 7).
    date
        Optional date column (checked for order).

    Returns
    -------
    RuptureResult
        ``.table`` one row per episode and rule: sessions of start, onset (threshold crossed),
        trough and repair, depth (raw and in SD units), threshold, which SD was used, pattern,
        status (repaired, unresolved, pending) and ``escalate`` (unresolved); ``.series`` the
        alliance series.

    Notes
    -----
    ``thr = m * max(sd_in, sd_ref)``; rupture at ``t`` if ``baseline - a_t >= thr``; see the module
    docstring for the operationalisation. Repaired ruptures go with better outcome (Eubanks, Muran
    & Safran 2018); unresolved ones are escalated.

    Examples
    --------
    >>> df = pd.DataFrame({"id": 1, "s": range(1, 9), "wai": [5.0, 5.1, 5.0, 5.1, 3.6, 5.0, 5.1, 5.0]})
    >>> r = detect_ruptures(df, client="id", session="s", alliance="wai", sd_ref=0.3)
    >>> r.table[["rule", "trough_session", "repair_session", "pattern"]].to_numpy().tolist()
    [['lenient (1 SD)', 5.0, 6.0, 'V'], ['strict (2 SD)', 5.0, 6.0, 'V']]
    """
    for name, val, lo in (("k", k, 1), ("J", J, 1), ("max_decline", max_decline, 1)):
        if not isinstance(val, int) or isinstance(val, bool) or val < lo:
            raise InvalidParameterError(f"{name} must be an integer >= {lo}, got {val!r}")
    rules = tuple(rules)
    if not rules or any(not isinstance(m, int | float) or m <= 0 for m in rules):
        raise InvalidParameterError(f"rules must be positive SD multipliers such as (1, 2), got {rules!r}")
    extra = [attachment] if isinstance(attachment, str) else []
    long = _long(data, client=client, session=session, values=[alliance], extra=extra, date=date)
    n_missing = int(long[alliance].isna().sum())
    long = long.dropna(subset=[alliance])
    diffs = long.groupby("client", sort=False)[alliance].diff().dropna()
    if sd_ref is None:
        if len(diffs) < 3:
            raise DataError(
                "sd_ref is not given and the data hold fewer than 3 session-to-session differences to estimate it"
            )
        sd_ref_val, sd_src = (
            float(diffs.std(ddof=1)),
            f"pooled SD of session-to-session differences in the data (n = {len(diffs)})",
        )
    else:
        if not sd_ref > 0:
            raise InvalidParameterError(f"sd_ref must be positive, got {sd_ref!r}")
        sd_ref_val, sd_src = float(sd_ref), "user-supplied reference sample"
    patterns: dict[Any, dict[str, Any]] = {}
    if isinstance(attachment, str):
        for cid, val in long.groupby("client", sort=False)[attachment].first().items():
            if isinstance(val, str) and val.strip():
                patterns[cid] = expected_rupture_type(val)
    elif isinstance(attachment, Mapping):
        patterns = {cid: expected_rupture_type(p) for cid, p in attachment.items()}
    elif attachment is not None:
        raise InvalidParameterError(
            f"attachment must be a column name or a mapping client -> pattern, got {attachment!r}"
        )
    rows = []
    notes: dict[str, str] = {}
    for cid, grp in long.groupby("client", sort=False):
        a = grp[alliance].to_numpy(float)
        s = grp["session"].to_numpy(float)
        if len(a) < 2:
            notes[str(cid)] = "only one alliance rating: no rupture can be detected"
            continue
        for m in rules:
            for e in rupture_episodes(a, m=float(m), sd_ref=sd_ref_val, k=k, J=J, max_decline=max_decline):
                rows.append(
                    {
                        "client": cid,
                        "rule": _RULE_NAMES.get(m, f"{m:g} SD"),  # type: ignore[call-overload]
                        "m": float(m),
                        "start_session": s[e["start"]],
                        "onset_session": s[e["onset"]],
                        "trough_session": s[e["trough"]],
                        "repair_session": np.nan if e["repair"] is None else s[e["repair"]],
                        **{
                            c: e[c]
                            for c in (
                                "baseline",
                                "trough_value",
                                "depth",
                                "depth_sd",
                                "threshold",
                                "sd_used",
                                "sd_source",
                            )
                        },
                        "decline_length": e["decline_length"],
                        "repair_length": np.nan if e["repair_length"] is None else e["repair_length"],
                        "pattern": e["pattern"],
                        "status": e["status"],
                        "escalate": e["status"] == "unresolved",
                        "expected_rupture": patterns[cid]["expected_rupture"] if cid in patterns else None,
                    }
                )
    table = pd.DataFrame(rows, columns=_EVENT_COLUMNS)
    if not table.empty:
        table = table.sort_values(["client", "m", "onset_session"], kind="mergesort").reset_index(drop=True)
    details = {
        "alliance": alliance,
        "k": k,
        "J": J,
        "rules": list(rules),
        "max_decline": max_decline,
        "sd_ref": sd_ref_val,
        "sd_ref_source": sd_src,
        "n_clients": int(long["client"].nunique()),
        "n_sessions": int(len(long)),
        "n_missing": n_missing,
        "n_ruptures": {(_RULE_NAMES.get(m) or f"{m:g} SD"): int((table["m"] == m).sum()) for m in rules},  # type: ignore[call-overload]
        "n_unresolved": int(table["escalate"].sum()) if not table.empty else 0,
        "notes": notes,
        "expected_rupture_types": {str(c): p for c, p in patterns.items()},
        "method": "V-shaped deflections; threshold m * max(intra SD, reference SD) of session-to-session differences",
        "sources": [
            "Stiles et al. (2004)",
            "Strauss et al. (2006)",
            "Gumz et al. (2012)",
            "Eubanks, Muran & Safran (2018)",
        ],
        "version": package_version(),
    }
    series = long[["client", "session", alliance]].reset_index(drop=True)
    return RuptureResult(table=table, details=details, series=series)


@dataclasses.dataclass(frozen=True)
class AllianceGapResult(Result):
    """Client-therapist alliance discrepancy per session with perspective-gap flags."""

    title: ClassVar[str] = "Client-therapist alliance perspective gap"

    def summary(self) -> str:
        """Flagged sessions per client."""
        d = self.details
        lines = [self.title, "=" * len(self.title)]
        lines.append(
            f"gap = {d['client_alliance']} - {d['therapist_alliance']}; flagged when |gap| >= {d['threshold']:.3f} "
            f"({d['threshold_source']})"
        )
        flagged = self.table[self.table["flag"]]
        if flagged.empty:
            lines.append("no perspective gaps flagged")
        for _, r in flagged.iterrows():
            lines.append(f"  client {r['client']} session {r['session']:g}: gap {r['gap']:+.2f} ({r['direction']})")
        return "\n".join(lines)


def alliance_gap(
    data: pd.DataFrame,
    *,
    client: str,
    session: str,
    client_alliance: str,
    therapist_alliance: str,
    threshold: float | None = None,
    threshold_sd: float = 1.0,
) -> AllianceGapResult:
    """Flag sessions where client- and therapist-rated alliance diverge (perspective gap).

    Parameters
    ----------
    data
        Long data, one row per client and session.
    client, session, client_alliance, therapist_alliance
        Column names.
    threshold
        Flag when ``|client - therapist| >= threshold`` (raw points). Default:
        ``threshold_sd`` times the pooled SD of the client ratings [inference: clinical-algorithms.md
        section 5 leaves the difference to be set].
    threshold_sd
        Multiplier for the default threshold.

    Returns
    -------
    AllianceGapResult
        ``.table``: client, session, client and therapist rating, gap, flag, direction.

    Examples
    --------
    >>> df = pd.DataFrame({"id": 1, "s": [1, 2, 3], "c": [5.0, 5.5, 6.0], "t": [4.9, 5.4, 4.0]})
    >>> r = alliance_gap(df, client="id", session="s", client_alliance="c", therapist_alliance="t", threshold=1)
    >>> r.table["flag"].tolist()
    [False, False, True]
    """
    long = _long(data, client=client, session=session, values=[client_alliance, therapist_alliance])
    both = long.dropna(subset=[client_alliance, therapist_alliance])
    if both.empty:
        raise DataError(f"no session has both {client_alliance!r} and {therapist_alliance!r}")
    gap = both[client_alliance] - both[therapist_alliance]
    if threshold is None:
        if not threshold_sd > 0:
            raise InvalidParameterError(f"threshold_sd must be positive, got {threshold_sd!r}")
        sd = float(long[client_alliance].std(ddof=1))
        if not sd > 0:
            raise DataError(f"cannot derive a threshold: the SD of {client_alliance!r} is {sd}; pass threshold=")
        thr, src = threshold_sd * sd, f"{threshold_sd:g} x pooled SD of {client_alliance!r} [inference]"
    else:
        if not threshold > 0:
            raise InvalidParameterError(f"threshold must be positive, got {threshold!r}")
        thr, src = float(threshold), "user-supplied"
    flag = gap.abs() >= thr
    table = pd.DataFrame(
        {
            "client": both["client"],
            "session": both["session"],
            "client_rating": both[client_alliance],
            "therapist_rating": both[therapist_alliance],
            "gap": gap,
            "flag": flag,
            "direction": pd.Series(np.where(gap > 0, "client higher", "therapist higher"), index=gap.index).where(
                flag, None
            ),
        }
    ).reset_index(drop=True)
    details = {
        "client_alliance": client_alliance,
        "therapist_alliance": therapist_alliance,
        "threshold": thr,
        "threshold_source": src,
        "n_sessions": int(len(table)),
        "n_flagged": int(flag.sum()),
        "sources": ["clinical-algorithms.md section 5 (perspective gap) [inference]"],
        "version": package_version(),
    }
    return AllianceGapResult(table=table, details=details)


# --------------------------------------------------------------------------------------------
# multilevel growth
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class GrowthResult(Result):
    """Multilevel growth model: parameter table (lavaan-style columns) and convergence in ``details``."""

    title: ClassVar[str] = "Multilevel growth model (MixedLM)"

    def summary(self) -> str:
        """Parameter table, variance components, convergence."""
        d = self.details
        lines = [self.title, "=" * len(self.title)]
        lines.append(
            f"{d['measure']} ~ {d['time_label']}: {d['n_obs']} observations, {d['n_clients']} clients; "
            f"{'REML' if d['reml'] else 'ML'}, log-likelihood {d['llf']:.3f}"
        )
        cols = ["lhs", "op", "rhs", "est", "se", "z", "pvalue", "ci_lower", "ci_upper"]
        lines.append(self.table[cols].to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        lines.append("converged" if d["converged"] else "CONVERGENCE PROBLEMS: " + "; ".join(d["convergence_messages"]))
        return "\n".join(lines)


def growth_model(
    data: pd.DataFrame,
    *,
    client: str,
    session: str,
    measure: str,
    time: Literal["log", "linear"] = "log",
    predictors: Sequence[str] = (),
    within_between: Sequence[str] = (),
    random_slope: bool = True,
    reml: bool = True,
    level: float = 0.95,
    date: str | None = None,
) -> GrowthResult:
    """Multilevel growth model with random intercept (and slope) and within/between decomposition.

    Parameters
    ----------
    data
        Long data, one row per client and session.
    client, session, measure
        Column names.
    time
        ``"log"`` (``ln(session + 1)``, Finch et al. 2001) or ``"linear"`` (``session``).
    predictors
        Further columns entered as they are (client-level or time-varying).
    within_between
        Time-varying columns split into ``<col>_between`` (client mean) and ``<col>_within``
        (deviation from the client mean): person-mean centring.
    random_slope
        Random slope of time (with intercept-slope covariance) besides the random intercept.
    reml
        REML (default) or ML.
    level
        Confidence level of the Wald intervals.
    date
        Optional date column (checked for order).

    Returns
    -------
    GrowthResult
        ``.table`` (lavaan parameter-table columns: ``lhs op rhs label est se z pvalue ci_lower
        ci_upper std_all``; fixed effects ``~``, variance components ``~~``); ``.details`` with
        ``converged`` and ``convergence_messages``. Problems also raise
        :class:`sciplab.ConvergenceWarning`.

    Notes
    -----
    ``y_ti = b0 + b1 time_ti + sum b_p x_p + (u0i + u1i time_ti) + e_ti``; statsmodels
    ``MixedLM.fit(method="lbfgs")``. Rows with a missing value in any model column are dropped
    (counted in ``details``).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> u = rng.normal(0, 1, 40)
    >>> df = pd.DataFrame([(c, t, 10 + u[c] - 0.5 * t + rng.normal(0, 0.5)) for c in range(40) for t in range(6)],
    ...                   columns=["id", "s", "y"])
    >>> r = growth_model(df, client="id", session="s", measure="y", time="linear", random_slope=False)
    >>> round(float(r.table.set_index("rhs").loc["time", "est"]), 1)
    -0.5
    """
    if time not in ("log", "linear"):
        raise InvalidParameterError(f"time must be 'log' or 'linear', got {time!r}")
    check_level(level)
    preds, wb = list(predictors), list(within_between)
    clash = set(preds) & set(wb)
    if clash:
        raise InvalidParameterError(f"columns {sorted(clash)} are in both predictors and within_between")
    long = _long(data, client=client, session=session, values=[measure, *preds, *wb], date=date)
    n_all = len(long)
    long = long.dropna(subset=[measure, *preds, *wb])
    counts = long.groupby("client", sort=False).size()
    if len(counts) < 2:
        raise DataError(f"a growth model needs at least 2 clients with data; the data have {len(counts)}")
    if counts.max() < 2:
        raise DataError("every client has only one session: a growth model needs repeated measures")
    t = _time(long["session"], time)
    X = pd.DataFrame({"intercept": 1.0, "time": t}, index=long.index)
    for p in preds:
        X[p] = long[p]
    for w in wb:
        mean = long.groupby("client", sort=False)[w].transform("mean")
        X[f"{w}_between"] = mean
        X[f"{w}_within"] = long[w] - mean
    Z = X[["intercept", "time"]] if random_slope else X[["intercept"]]
    X, Z = X.reset_index(drop=True), Z.reset_index(drop=True)
    fit = _fit_mixed(long[measure].to_numpy(), X, Z, long["client"].to_numpy(), reml=reml, what="growth model")
    zc = float(st.norm.ppf(1 - (1 - level) / 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        zval = fit.fe / fit.bse_fe
    rows = []
    for name, est, se, zv in zip(fit.fe_names, fit.fe, fit.bse_fe, zval, strict=True):
        rows.append(
            {
                "lhs": measure, "op": "~" if name != "intercept" else "~1", "rhs": "" if name == "intercept" else name,
                "label": name, "est": est, "se": se, "z": zv, "pvalue": 2 * st.norm.sf(abs(zv)),
                "ci_lower": est - zc * se, "ci_upper": est + zc * se, "std_all": np.nan,
            }
        )  # fmt: skip
    for i, ri in enumerate(fit.re_names):
        for j in range(i, len(fit.re_names)):
            rj = fit.re_names[j]
            rows.append(
                {
                    "lhs": f"{client}:{ri}", "op": "~~", "rhs": f"{client}:{rj}", "label": f"G[{ri},{rj}]",
                    "est": fit.cov_re[i, j], "se": np.nan, "z": np.nan, "pvalue": np.nan,
                    "ci_lower": np.nan, "ci_upper": np.nan, "std_all": np.nan,
                }
            )  # fmt: skip
    rows.append(
        {
            "lhs": measure, "op": "~~", "rhs": measure, "label": "residual", "est": fit.sigma2, "se": np.nan,
            "z": np.nan, "pvalue": np.nan, "ci_lower": np.nan, "ci_upper": np.nan, "std_all": np.nan,
        }
    )  # fmt: skip
    details = {
        "measure": measure,
        "time": time,
        "time_label": "ln(session + 1)" if time == "log" else "session",
        "predictors": preds,
        "within_between": wb,
        "random": fit.re_names,
        "reml": reml,
        "estimator": "statsmodels MixedLM, method='lbfgs'",
        "level": level,
        "llf": fit.llf,
        "n_obs": fit.n_obs,
        "n_clients": fit.n_groups,
        "n_dropped_missing": int(n_all - len(long)),
        "converged": fit.converged,
        "convergence_messages": fit.messages,
        "centring": "person-mean (within = x - client mean; between = client mean)" if wb else None,
        "sources": ["Finch, Lambert & Schaalje (2001)", "analysis-methods.md section 6"],
        "version": package_version(),
    }
    return GrowthResult(table=pd.DataFrame(rows), details=details)
