"""Schema check of a saved expected-response reference (a side file: nothing in it is trusted).

Every field :func:`sciplab.stats.change.expected_response` and ``Reference.summary`` use is checked
for type, shape and finiteness before use; the fitted covariances must be usable: ``sigma2 > 0``,
``cov_re`` symmetric positive definite (a random-effects covariance), ``cov_fe`` symmetric positive
semi-definite (a sampling covariance). Each error names the file and the field.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from sciplab._core.errors import DataError
from sciplab._core.files import require_field

WHAT = "reference file"
#: Fixed and random effects of the ``hlm`` reference model, in the order the curves use them.
HLM_FIXED = ("intercept", "intake", "log_time", "intake:log_time")
HLM_RANDOM = ("intercept", "log_time")


def _number(obj: dict[str, Any], key: str, src: str, *, where: str, low: float | None = None) -> float:
    value = require_field(obj, key, (int, float), source=src, what=where)
    if not math.isfinite(value):
        raise DataError(f"{src}: field {key!r} of the {where} must be a finite number, got {value!r}")
    if low is not None and value < low:
        raise DataError(f"{src}: field {key!r} of the {where} must be at least {low:g}, got {value!r}")
    return float(value)


def _matrix(obj: dict[str, Any], key: str, src: str, shape: tuple[int, ...], *, where: str) -> np.ndarray:
    raw = require_field(obj, key, list, source=src, what=where)
    try:
        arr = np.array(raw, dtype=float)
    except (TypeError, ValueError):
        raise DataError(f"{src}: field {key!r} of the {where} must be numbers of shape {shape}") from None
    if arr.shape != shape or any(isinstance(v, bool) for v in np.array(raw, dtype=object).ravel()):
        raise DataError(f"{src}: field {key!r} of the {where} must be numbers of shape {shape}, got {arr.shape}")
    if not np.isfinite(arr).all():
        raise DataError(f"{src}: field {key!r} of the {where} must hold finite numbers only")
    return arr


def _names(obj: dict[str, Any], key: str, src: str, expected: tuple[str, ...], *, where: str) -> None:
    names = require_field(obj, key, list, source=src, what=where)
    if tuple(names) != expected:
        raise DataError(f"{src}: field {key!r} of the {where} must be {list(expected)}, got {names!r}")


def _covariance(arr: np.ndarray, key: str, src: str, *, definite: bool) -> None:
    if not np.allclose(arr, arr.T, rtol=1e-9, atol=1e-12):
        raise DataError(f"{src}: field {key!r} of the fit must be a symmetric matrix")
    smallest = float(np.linalg.eigvalsh((arr + arr.T) / 2).min())
    scale = max(float(np.abs(arr).max()), 1e-300)
    if (definite and smallest <= 0) or smallest < -1e-10 * scale:
        kind = "positive definite" if definite else "positive semi-definite"
        raise DataError(
            f"{src}: field {key!r} of the fit must be {kind} (smallest eigenvalue {smallest:.3g}); refit the reference"
        )


def check_reference(obj: Any, src: str, *, methods: tuple[str, ...], distances: tuple[str, ...]) -> dict[str, Any]:
    """Validate a parsed reference (after its format and version were checked); return it."""
    method = require_field(obj, "method", str, source=src, what=WHAT)
    if method not in methods:
        raise DataError(f"{src}: field 'method' must be one of {', '.join(methods)}, got {method!r}")
    columns = require_field(obj, "columns", dict, source=src, what=WHAT)
    for key in ("client", "session", "measure"):
        require_field(columns, key, str, source=src, what="columns table")
    intake = columns.get("intake")
    if intake is not None and not isinstance(intake, str):
        raise DataError(f"{src}: field 'intake' of the columns table must be a column name or null, got {intake!r}")
    params = require_field(obj, "parameters", dict, source=src, what=WHAT)
    fit = require_field(obj, "fit", dict, source=src, what=WHAT)
    require_field(fit, "n_clients", int, source=src, what="fit")
    require_field(fit, "n_obs", int, source=src, what="fit")
    for key in ("session_min", "session_max", "intake_mean"):
        _number(fit, key, src, where="fit")
    if method == "hlm":
        _names(fit, "fe_names", src, HLM_FIXED, where="fit")
        _names(fit, "re_names", src, HLM_RANDOM, where="fit")
        _matrix(fit, "fe", src, (4,), where="fit")
        _matrix(fit, "bse_fe", src, (4,), where="fit")
        _covariance(_matrix(fit, "cov_fe", src, (4, 4), where="fit"), "cov_fe", src, definite=False)
        _covariance(_matrix(fit, "cov_re", src, (2, 2), where="fit"), "cov_re", src, definite=True)
        if not _number(fit, "sigma2", src, where="fit") > 0:
            raise DataError(
                f"{src}: field 'sigma2' of the fit (residual variance) must be positive, got {fit['sigma2']!r}"
            )
        messages = require_field(fit, "messages", list, source=src, what="fit")
        if not all(isinstance(m, str) for m in messages):
            raise DataError(f"{src}: field 'messages' of the fit must be a list of texts")
        return obj
    k = require_field(params, "k", int, source=src, what="parameters table")
    if k < 3:
        raise DataError(f"{src}: field 'k' of the parameters table must be at least 3, got {k!r}")
    features = require_field(params, "features", list, source=src, what="parameters table")
    if not features or not all(isinstance(f, str) for f in features):
        raise DataError(f"{src}: field 'features' of the parameters table must be a non-empty list of column names")
    distance = require_field(params, "distance", str, source=src, what="parameters table")
    if distance not in distances:
        raise DataError(f"{src}: field 'distance' must be one of {', '.join(distances)}, got {distance!r}")
    data = require_field(obj, "data", dict, source=src, what=WHAT)
    needed = dict.fromkeys(["client", "session", "y", "intake", *features])
    lengths = set()
    for col in needed:
        values = require_field(data, col, list, source=src, what="data table")
        lengths.add(len(values))
        if col == "client":
            if not all(isinstance(v, str | int) and not isinstance(v, bool) for v in values):
                raise DataError(f"{src}: column 'client' of the data table must hold ids (texts or integers)")
            continue
        if not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in values):
            raise DataError(f"{src}: column {col!r} of the data table must hold finite numbers only")
    if len(lengths) != 1 or lengths == {0}:
        raise DataError(f"{src}: the columns of the data table must be non-empty and of equal length")
    if len({c for c in data["client"]}) < k:
        raise DataError(f"{src}: the data table holds fewer clients than k = {k} neighbours")
    return obj
