"""Expected treatment response (ETR): references, expected curves, prediction bands, traffic lights.

Implements
----------
* :func:`fit_reference` / :class:`Reference` -- ``method="hlm"`` (Finch, Lambert & Schaalje 2001;
  the exact parametrisation is ours)::

      y_ti = pi0i + pi1i ln(t + 1) + e_ti; pi0i = g00 + g01 I_i + u0i; pi1i = g10 + g11 I_i + u1i
      yhat_t(I) = (g00 + g01 I) + (g10 + g11 I) ln(t + 1)
      Var_pred(t) = x_t' Var(g) x_t + z_t' G z_t + sigma^2,  z_t = (1, ln(t + 1))
      bound_q(t) = yhat_t + z_q sqrt(Var_pred(t))    (direction-adjusted; q one-sided)

  with intake severity ``I`` centred at the reference mean (a reparametrisation: same curves).
  ``method="nn"`` (Lutz et al. 2006): the k reference clients nearest on intake features
  (standardised Euclidean or Mahalanobis distance) are found for each new client and the
  log-linear growth model (random intercept and slope) is fitted to them only; its prediction band
  is the expected course.
* :func:`expected_response` -- traffic lights per session (the colour semantics of the OQ system,
  Lambert 2015: grey, white, red, yellow, green) with configurable ``q_yellow``/``q_red``; OQ's
  proprietary boundaries are never used.

A saved reference is a side file: :meth:`Reference.load` reads it through
:func:`sciplab._core.files.load_structured` and validates the whole schema (types, shapes, finite
numbers, ``sigma2 > 0``, ``cov_re`` symmetric positive definite, ``cov_fe`` symmetric positive
semi-definite), naming the file and the field.

Sources
-------
Finch, A. E., Lambert, M. J., & Schaalje, B. G. (2001). Psychotherapy quality control: The
statistical generation of expected recovery curves. *Clin Psychol Psychother, 8*, 231-242.
Lutz, W., et al. (2006). The probability of treatment success, failure and duration: What can be
learned from empirical data to support decision making in clinical practice? *Clin Psychol
Psychother, 13*, 223-232. https://doi.org/10.1002/cpp.496
Lambert, M. J. (2015). Progress feedback and the OQ-system: The past and the future.
*Psychotherapy, 52*, 381-390. https://doi.org/10.1037/pst0000027
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
from scipy import stats as st

from sciplab._core.errors import DataError, InvalidParameterError
from sciplab._core.files import parse_structured, read_side_text, write_text_atomic
from sciplab._core.results import Result, package_version, to_jsonable
from sciplab._core.validation import check_finite, check_level
from sciplab.stats.change._mixed import _fit_mixed, _MixedFit
from sciplab.stats.change._reference_file import check_reference
from sciplab.stats.change.sessions import _long, _time

__all__ = ["REFERENCE_FORMAT", "REFERENCE_VERSION", "STATUSES", "ExpectedResponseResult", "Reference",
           "expected_response", "fit_reference"]  # fmt: skip

STATUSES = ("grey", "white", "green", "yellow", "red")
REFERENCE_FORMAT = "sciplab-etr-reference"
REFERENCE_VERSION = 1
#: Last session an expected curve is drawn to (bounds the curve's length; far beyond any therapy).
MAX_HORIZON = 1000


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

    def save(
        self,
        path: str | os.PathLike[str],
        *,
        overwrite: bool = False,
        inputs: Sequence[str | os.PathLike[str]] = (),
    ) -> Path:
        """Write the reference as JSON (versioned, with the parameters it was fitted with).

        Written atomically; an existing file is replaced only with ``overwrite=True`` and an input
        (``inputs``, e.g. the data file the reference was fitted on) never
        (:func:`sciplab._core.files.check_output`).
        """
        text = json.dumps(self.to_dict(), indent=1, allow_nan=False)
        return write_text_atomic(path, text, overwrite=overwrite, inputs=inputs)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Reference:
        """Read a reference written by :meth:`save`, checking every field it uses (file and field named)."""
        p = Path(path)
        text = read_side_text(p, what="reference file")
        try:
            obj = parse_structured(text, kind="json", source=str(p), what="reference file")
        except DataError as exc:
            raise DataError(f"{p}: not a JSON reference file ({str(exc).removeprefix(f'{p}: ')})") from None
        if not isinstance(obj, dict) or obj.get("format") != REFERENCE_FORMAT:
            raise DataError(f"{p}: not a SCIP Lab expected-response reference (format {REFERENCE_FORMAT!r} expected)")
        if obj.get("format_version") != REFERENCE_VERSION:
            raise DataError(
                f"{p}: reference format version {obj.get('format_version')!r} is not supported "
                f"(this SCIP Lab reads version {REFERENCE_VERSION}); refit the reference"
            )
        check_reference(obj, str(p), methods=("hlm", "nn"), distances=("euclidean", "mahalanobis"))
        data = pd.DataFrame(obj["data"]) if obj["method"] == "nn" else None
        return cls(
            method=obj["method"], columns=obj["columns"], parameters=obj["parameters"], fit=obj["fit"], data=data
        )

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
    min_session = check_finite(min_session, name="min_session")
    cutoff = None if cutoff is None else check_finite(cutoff, name="cutoff")
    if horizon is not None:
        horizon = check_finite(horizon, name="horizon", low=0, high=MAX_HORIZON)
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
        if not (np.isfinite(b_y).all() and np.isfinite(b_r).all()):
            raise DataError(
                f"the reference gives no finite expected curve for client {cid!r} (intake {float(ints[cid]):g}): "
                "its fitted values are out of range for this measure; refit it with sciplab reference fit"
            )
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
        last = min(max(float(s.max()), float(f["session_max"])), MAX_HORIZON) if horizon is None else horizon
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
