"""Data generation for power studies: multivariate normal, Vale-Maurelli non-normal, missingness.

* Normal data: ``Z L'`` with ``L`` the Cholesky factor of the population covariance matrix.
* Non-normal data (Vale & Maurelli 1983): each variable is a Fleishman (1978) power polynomial
  ``Y = a + bZ + cZ^2 + dZ^3`` (``a = -c``) of a standard normal ``Z`` with the requested skewness and
  excess kurtosis; the normal variables get an *intermediate* correlation matrix, each entry solving
  ``r = rho (b1 b2 + 3 b1 d2 + 3 d1 b2 + 9 d1 d2) + rho^2 (2 c1 c2) + rho^3 (6 d1 d2)`` (Vale & Maurelli
  1983, eq. 11), so the generated variables have the population correlations. Fleishman's system
  (1978, eqs. 5, 11, 18) is solved numerically; combinations outside the region a cubic polynomial
  can reach (roughly kurtosis < 1.5 skew^2 - 2) are errors. As in simsem and lavaan's
  ``simulateData(skewness=, kurtosis=)``, the marginal moments are those requested, the
  multivariate distribution is not otherwise controlled.
* Missing data: MCAR (every listed variable missing with probability ``rate``, independently) or MAR
  (``P(missing) = logistic(g0 + z_cause)`` with ``z_cause`` the standardized value of a fully
  observed variable and ``g0`` solved so that the average rate equals ``rate``; Gauss-Hermite
  quadrature). Replicates are analysed listwise (complete cases).

References
----------
Fleishman, A. I. (1978). A method for simulating non-normal distributions. *Psychometrika, 43*,
521-532. https://doi.org/10.1007/BF02293811
Vale, C. D., & Maurelli, V. A. (1983). Simulating multivariate nonnormal distributions.
*Psychometrika, 48*, 465-471. https://doi.org/10.1007/BF02293687
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from sciplab._core.errors import InvalidParameterError, suggest

__all__ = ["Missing", "NonNormal", "fleishman", "intermediate_correlation", "parse_missing"]


def fleishman(skew: float, kurtosis: float) -> tuple[float, float, float, float]:
    """Fleishman (1978) coefficients ``(a, b, c, d)`` for skewness and *excess* kurtosis.

    Examples
    --------
    >>> a, b, c, d = fleishman(0.0, 0.0)
    >>> [round(v, 6) for v in (a, b, c, d)]
    [0.0, 1.0, 0.0, 0.0]
    """
    skew = float(skew)
    kurtosis = float(kurtosis)
    if skew == 0.0 and kurtosis == 0.0:
        return 0.0, 1.0, 0.0, 0.0
    from scipy.optimize import root

    def equations(v: np.ndarray) -> list[float]:
        b, c, d = v
        return [
            b * b + 6 * b * d + 2 * c * c + 15 * d * d - 1,
            2 * c * (b * b + 24 * b * d + 105 * d * d + 2) - skew,
            24 * (b * d + c * c * (1 + b * b + 28 * b * d) + d * d * (12 + 48 * b * d + 141 * c * c + 225 * d * d))
            - kurtosis,
        ]

    best = None
    for start in ((1.0, 0.0, 0.0), (0.9, skew / 6, kurtosis / 24), (0.8, 0.1, 0.05), (1.1, -0.1, -0.05)):
        sol = root(equations, np.array(start), method="hybr")
        if sol.success and np.max(np.abs(equations(sol.x))) < 1e-9:
            b, c, d = (float(x) for x in sol.x)
            if b < 0:  # the same distribution with Z -> -Z
                b, d = -b, -d
            if best is None or abs(d) < abs(best[2]):
                best = (b, c, d)
    if best is None:
        raise InvalidParameterError(
            f"no Fleishman polynomial has skewness {skew:g} and excess kurtosis {kurtosis:g}; the cubic reaches "
            f"kurtosis of about 1.5*skew^2 - 2 or more (here {1.5 * skew * skew - 2:.2f}): raise the kurtosis"
        )
    b, c, d = best
    return -c, b, c, d


def intermediate_correlation(r: float, c1: tuple[float, ...], c2: tuple[float, ...]) -> float:
    """Correlation of the normal variables giving correlation ``r`` after the Fleishman transforms."""
    _, b1, g1, d1 = c1
    _, b2, g2, d2 = c2
    coefs = [6 * d1 * d2, 2 * g1 * g2, b1 * b2 + 3 * b1 * d2 + 3 * d1 * b2 + 9 * d1 * d2, -r]
    roots = np.roots(coefs) if abs(coefs[0]) > 1e-14 or abs(coefs[1]) > 1e-14 else np.array([r / coefs[2]])
    real = [float(x.real) for x in np.atleast_1d(roots) if abs(x.imag) < 1e-9 and -1 - 1e-9 <= x.real <= 1 + 1e-9]
    if not real:
        raise InvalidParameterError(
            f"a correlation of {r:.3f} cannot be reached with these skewness/kurtosis values (Vale-Maurelli); "
            "use milder non-normality"
        )
    return min(real, key=lambda x: abs(x - r))


@dataclass(frozen=True)
class NonNormal:
    """Fleishman coefficients per variable and the Cholesky factor of the intermediate correlations."""

    coefs: np.ndarray  # (p, 4): a, b, c, d
    chol: np.ndarray  # (p, p)
    skew: tuple[float, ...]
    kurtosis: tuple[float, ...]


def _per_variable(value: float | Mapping[str, float] | None, variables: Sequence[str], name: str) -> list[float]:
    if value is None:
        return [0.0] * len(variables)
    if isinstance(value, Mapping):
        unknown = [k for k in value if k not in variables]
        if unknown:
            raise InvalidParameterError(
                f"{name} names {unknown[0]!r}, not a population variable{suggest(str(unknown[0]), variables)}"
            )
        out = []
        for v in variables:
            out.append(_finite(value.get(v, 0.0), name))
        return out
    return [_finite(value, name)] * len(variables)


def _finite(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise InvalidParameterError(f"{name} must be a number (or a mapping variable -> number), got {value!r}")
    out = float(value)
    if not math.isfinite(out) or abs(out) > 50:
        raise InvalidParameterError(f"{name} must be a finite number between -50 and 50, got {value!r}")
    return out


def non_normal(
    cov: np.ndarray,
    variables: Sequence[str],
    skew: float | Mapping[str, float] | None,
    kurtosis: float | Mapping[str, float] | None,
) -> NonNormal | None:
    """Prepare Vale-Maurelli generation (``None`` when every variable is normal)."""
    sk = _per_variable(skew, variables, "skew")
    ku = _per_variable(kurtosis, variables, "kurtosis")
    if not any(sk) and not any(ku):
        return None
    coefs = np.array([fleishman(s, k) for s, k in zip(sk, ku, strict=True)])
    sd = np.sqrt(np.diag(cov))
    corr = cov / np.outer(sd, sd)
    p = len(variables)
    inter = np.eye(p)
    for i in range(p):
        for j in range(i):
            inter[i, j] = inter[j, i] = intermediate_correlation(float(corr[i, j]), tuple(coefs[i]), tuple(coefs[j]))
    try:
        chol = np.linalg.cholesky(inter)
    except np.linalg.LinAlgError:
        raise InvalidParameterError(
            "the intermediate correlation matrix of the Vale-Maurelli method is not positive definite for these "
            "skewness/kurtosis values; use milder non-normality"
        ) from None
    return NonNormal(coefs, chol, tuple(sk), tuple(ku))


def draw(
    rng: np.random.Generator, reps: int, n: int, cov: np.ndarray, chol: np.ndarray, nonnormal: NonNormal | None
) -> np.ndarray:
    """``(reps, n, p)`` data with covariance ``cov`` (means 0)."""
    z = rng.standard_normal((reps, n, cov.shape[0]))
    if nonnormal is None:
        return z @ chol.T
    z = z @ nonnormal.chol.T
    a, b, c, d = (nonnormal.coefs[:, k] for k in range(4))
    y = a + z * (b + z * (c + z * d))
    return y * np.sqrt(np.diag(cov))


@dataclass(frozen=True)
class Missing:
    """Missing-data design: ``rate`` per listed variable, MCAR or MAR (on ``cause``), and the method.

    ``variables=None`` means every variable of the analysis model except a MAR cause.
    ``method`` is ``"listwise"`` (complete cases) or ``"fiml"`` (needs the SEM engine).
    """

    rate: float
    mechanism: str = "MCAR"
    variables: tuple[str, ...] | None = None
    cause: str | None = None
    method: str = "listwise"

    def describe(self) -> str:
        """Words for a methods section."""
        where = "each variable" if self.variables is None else ", ".join(self.variables)
        how = (
            "completely at random (MCAR)" if self.mechanism == "MCAR" else f"at random (MAR) depending on {self.cause}"
        )
        return f"{100 * self.rate:g}% missing values in {where}, missing {how}, analysed {self.method}"


def parse_missing(spec: object) -> Missing | None:
    """``None``, a rate (MCAR), ``"mcar:0.2"``, ``"mar:0.2:cause"``, a mapping or a :class:`Missing`.

    Examples
    --------
    >>> parse_missing("mar:0.2:x")
    Missing(rate=0.2, mechanism='MAR', variables=None, cause='x', method='listwise')
    """
    if spec is None:
        return None
    if isinstance(spec, Missing):
        out = spec
    elif isinstance(spec, str):
        parts = [p.strip() for p in spec.split(":")]
        if len(parts) < 2 or parts[0].lower() not in ("mcar", "mar"):
            raise InvalidParameterError(f"missing must look like 'mcar:0.2' or 'mar:0.2:cause_variable', got {spec!r}")
        try:
            rate = float(parts[1])
        except ValueError:
            raise InvalidParameterError(f"the missing rate in {spec!r} must be a number in [0, 1)") from None
        mech = parts[0].upper()
        cause = parts[2] if len(parts) > 2 and parts[2] else None
        method = parts[3].lower() if len(parts) > 3 and parts[3] else "listwise"
        if mech == "MCAR" and cause and cause.lower() in ("listwise", "fiml"):
            method, cause = cause.lower(), None
        out = Missing(rate, mech, None, cause, method)
    elif isinstance(spec, Mapping):
        allowed = {"rate", "mechanism", "variables", "cause", "method"}
        unknown = [k for k in spec if k not in allowed]
        if unknown:
            raise InvalidParameterError(
                f"missing has an unknown key {unknown[0]!r}{suggest(str(unknown[0]), allowed)}; keys: {sorted(allowed)}"
            )
        if "rate" not in spec:
            raise InvalidParameterError("missing needs a 'rate' (e.g. {'rate': 0.2, 'mechanism': 'MCAR'})")
        variables = spec.get("variables")
        out = Missing(
            spec["rate"],
            str(spec.get("mechanism", "MCAR")).upper(),
            tuple(str(v) for v in variables) if variables is not None else None,
            spec.get("cause"),
            str(spec.get("method", "listwise")).lower(),
        )
    elif isinstance(spec, int | float) and not isinstance(spec, bool):
        out = Missing(float(spec))
    else:
        raise InvalidParameterError(
            f"missing must be None, a rate, a string such as 'mcar:0.2' or a mapping, got {spec!r}"
        )
    rate = out.rate
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not math.isfinite(rate) or not 0 <= rate < 1:
        raise InvalidParameterError(f"the missing rate must be a number in [0, 1), got {rate!r}")
    if out.mechanism not in ("MCAR", "MAR"):
        raise InvalidParameterError(f"the missing mechanism must be 'MCAR' or 'MAR', got {out.mechanism!r}")
    if out.mechanism == "MAR" and not out.cause:
        raise InvalidParameterError("MAR missingness needs a cause variable, e.g. 'mar:0.2:attachment_anxiety'")
    if out.method not in ("listwise", "fiml"):
        raise InvalidParameterError(f"the missing-data method must be 'listwise' or 'fiml', got {out.method!r}")
    return Missing(float(rate), out.mechanism, out.variables, out.cause, out.method)


def mar_intercept(rate: float) -> float:
    """``g0`` with ``E[logistic(g0 + Z)] = rate`` for standard normal ``Z`` (Gauss-Hermite, bisection)."""
    if rate <= 0:
        return -math.inf
    x, w = np.polynomial.hermite_e.hermegauss(60)
    w = w / w.sum()
    lo, hi = -40.0, 40.0
    for _ in range(200):
        mid = (lo + hi) / 2
        mean = float(np.sum(w / (1 + np.exp(-(mid + x)))))
        if mean < rate:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def missing_plan(
    miss: Missing | None,
    index: Mapping[str, int],
    default_names: Sequence[str],
    cov: np.ndarray,
    *,
    cause_kind: str = "a population variable",
) -> tuple[tuple[int, ...], int | None, float, float]:
    """``(columns, cause, cause_sd, g0)`` of a missing-data design (checked against ``index``).

    The population columns that may be missing (``miss.variables``, or ``default_names`` without the
    cause), the MAR cause's column and SD, and the logistic intercept giving the requested rate
    (:func:`mar_intercept`).
    """
    if miss is None:
        return (), None, 1.0, 0.0
    if miss.cause is not None and miss.cause not in index:
        raise InvalidParameterError(f"the MAR cause {miss.cause!r} is not {cause_kind}{suggest(miss.cause, index)}")
    names = miss.variables if miss.variables is not None else tuple(v for v in default_names if v != miss.cause)
    for v in names:
        if v not in index:
            raise InvalidParameterError(f"missing names {v!r}, not a population variable{suggest(v, index)}")
        if v == miss.cause:
            raise InvalidParameterError(f"{v!r} is the MAR cause and cannot itself be missing")
    columns = tuple(index[v] for v in names)
    if miss.cause is None:
        return columns, None, 1.0, 0.0
    cause = index[miss.cause]
    return columns, cause, float(math.sqrt(cov[cause, cause])), mar_intercept(miss.rate)


def missing_cells(
    rng: np.random.Generator,
    data: np.ndarray,
    columns: Sequence[int],
    missing: Missing,
    cause_index: int | None,
    cause_sd: float,
    g0: float,
) -> np.ndarray:
    """``(reps, n, len(columns))`` booleans, True where a cell is missing.

    MCAR with ``rate``, or MAR through a logistic on the standardized cause; one uniform draw per cell.
    """
    reps, n, _ = data.shape
    u = rng.random((reps, n, len(columns)))
    if missing.mechanism == "MCAR":
        p = np.full((reps, n, 1), missing.rate)
    else:
        assert cause_index is not None
        z = data[:, :, cause_index] / cause_sd
        p = (1.0 / (1.0 + np.exp(-(g0 + z))))[:, :, None]
    return u < p


def complete_cases(
    rng: np.random.Generator,
    data: np.ndarray,
    columns: Sequence[int],
    missing: Missing,
    cause_index: int | None,
    cause_sd: float,
    g0: float,
) -> np.ndarray:
    """``(reps, n)`` 0/1 weights of the rows with every listed column observed."""
    missing_any = missing_cells(rng, data, columns, missing, cause_index, cause_sd, g0).any(axis=2)
    return (~missing_any).astype(float)
