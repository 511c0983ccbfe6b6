"""Measurement invariance across groups: the configural -> metric -> scalar -> strict ladder.

Each level adds equality constraints across groups (lavaan's ``group.equal``): metric equal
loadings, scalar also equal intercepts (latent means free from the second group on), strict also
equal residual variances. Nested models are compared with the likelihood-ratio test (ML) or the
Satorra-Bentler scaled difference test (MLR: ``cd = (df0 c0 - df1 c1) / (df0 - df1)``,
``T = (T0 - T1) / cd``; Satorra & Bentler 2001), with the changes in CFI and RMSEA that applied
work judges invariance by (Cheung & Rensvold 2002: a drop in CFI of more than .01 signals
non-invariance; Chen 2007: RMSEA increase of .015).

Matches R: ``lavaan::cfa(model, data, group = g, group.equal = ...)`` per level and
``lavTestLRT()`` for the tests.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, ClassVar

import pandas as pd

from sciplab._core.errors import InvalidParameterError, suggest
from sciplab._core.results import Result, package_version, to_jsonable
from sciplab.stats.sem._result import SEMResult
from sciplab.stats.sem.core import sem

__all__ = ["LEVELS", "InvarianceResult", "invariance"]

LEVELS: dict[str, tuple[str, ...]] = {
    "configural": (),
    "metric": ("loadings",),
    "scalar": ("loadings", "intercepts"),
    "strict": ("loadings", "intercepts", "residuals"),
}


@dataclasses.dataclass(frozen=True)
class InvarianceResult(Result):
    """Result of :func:`invariance`.

    Attributes
    ----------
    table
        One row per level: ``level chisq df pvalue cfi tli rmsea srmr aic bic`` and the comparison
        with the previous level ``delta_chisq delta_df delta_pvalue delta_cfi delta_rmsea``
        (scaled statistics under MLR).
    fits
        The fitted :class:`SEMResult` of each level.
    """

    fits: dict[str, SEMResult] = dataclasses.field(default_factory=dict)

    title: ClassVar[str] = "Measurement invariance"

    def summary(self) -> str:
        """The comparison table with the usual decision rules; the only place that rounds."""
        lines = [self.title, "=" * len(self.title)]
        d = self.details
        lines.append(
            f"Groups ({d.get('group')}): {', '.join(map(str, d.get('groups', [])))}; estimator {d.get('estimator')}"
        )
        cols = [
            "level",
            "chisq",
            "df",
            "pvalue",
            "cfi",
            "rmsea",
            "srmr",
            "delta_chisq",
            "delta_df",
            "delta_pvalue",
            "delta_cfi",
            "delta_rmsea",
        ]
        lines.append(self.table[cols].to_string(index=False, float_format=lambda v: f"{v:.3f}", na_rep=""))
        lines.append("")
        lines.append("Invariance is commonly retained when CFI drops by at most .010 and RMSEA rises by at most .015 "
                     "(Cheung & Rensvold 2002; Chen 2007).")  # fmt: skip
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary with the comparison table and every level's fit."""
        out = super().to_dict()
        out["fits"] = {k: v.to_dict() for k, v in self.fits.items()}
        return to_jsonable(out)


def invariance(
    data: pd.DataFrame,
    model: str,
    *,
    group: str,
    levels: tuple[str, ...] | list[str] = ("configural", "metric", "scalar", "strict"),
    estimator: str = "ml",
    **kwargs: Any,
) -> InvarianceResult:
    """Fit the invariance ladder and compare each level with the one before.

    Parameters
    ----------
    data, model
        As in :func:`sem` (a measurement model: ``=~`` statements).
    group
        Column defining the groups.
    levels
        Levels to fit, in order (``configural metric scalar strict``).
    estimator
        ``"ml"`` or ``"mlr"`` (scaled difference tests).
    **kwargs
        Passed to :func:`sem` (``missing``, ``level``...).

    Returns
    -------
    InvarianceResult
        ``.table`` (one row per level with the comparison columns) and ``.fits``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(4)
    >>> f = rng.standard_normal(400)
    >>> d = pd.DataFrame({f"x{i}": f + rng.standard_normal(400) for i in (1, 2, 3, 4)})
    >>> d["g"] = np.repeat(["a", "b"], 200)
    >>> res = invariance(d, "f =~ x1 + x2 + x3 + x4", group="g")
    >>> res.table["level"].tolist(), res.table["df"].tolist()
    (['configural', 'metric', 'scalar', 'strict'], [4, 7, 10, 14])
    """
    levels = list(levels)
    for lev in levels:
        if lev not in LEVELS:
            raise InvalidParameterError(
                f"levels: unknown level {lev!r}{suggest(lev, LEVELS)}; allowed: {', '.join(LEVELS)}"
            )
    if not levels:
        raise InvalidParameterError("levels must name at least one level")
    fits: dict[str, SEMResult] = {}
    rows = []
    prev: dict[str, Any] | None = None
    for lev in levels:
        res = sem(data, model, group=group, group_equal=LEVELS[lev], estimator=estimator, _kind="cfa", **kwargs)
        fits[lev] = res
        f = res.fit.iloc[0]
        scaled = "chisq.scaled" in f
        chisq = float(f["chisq.scaled"] if scaled else f["chisq"])
        row: dict[str, Any] = {
            "level": lev,
            "chisq": chisq,
            "df": int(f["df"]),
            "pvalue": float(f["pvalue.scaled"] if scaled else f["pvalue"]),
            "cfi": float(f["cfi.scaled"] if scaled else f["cfi"]),
            "tli": float(f["tli.scaled"] if scaled else f["tli"]),
            "rmsea": float(f["rmsea.scaled"] if scaled else f["rmsea"]),
            "srmr": float(f["srmr"]),
            "aic": float(f["aic"]),
            "bic": float(f["bic"]),
            "delta_chisq": math.nan,
            "delta_df": math.nan,
            "delta_pvalue": math.nan,
            "delta_cfi": math.nan,
            "delta_rmsea": math.nan,
        }
        if prev is not None:
            ddf = row["df"] - prev["df"]
            if scaled:
                c0, c1 = float(f["chisq.scaling.factor"]), float(prev["c"])
                cd = (row["df"] * c0 - prev["df"] * c1) / ddf if ddf else math.nan
                dchi = (float(f["chisq"]) - float(prev["raw"])) / cd if cd and cd > 0 else math.nan
            else:
                dchi = row["chisq"] - prev["chisq"]
            from scipy import stats

            row.update(
                delta_chisq=dchi,
                delta_df=ddf,
                delta_pvalue=float(stats.chi2.sf(dchi, ddf)) if ddf > 0 and not math.isnan(dchi) else math.nan,
                delta_cfi=row["cfi"] - prev["cfi"],
                delta_rmsea=row["rmsea"] - prev["rmsea"],
            )
        prev = dict(row, raw=float(f["chisq"]), c=float(f["chisq.scaling.factor"]) if scaled else 1.0)
        rows.append(row)
    first = next(iter(fits.values()))
    details = {
        "group": group,
        "groups": first.details["groups"],
        "n_per_group": first.details["n_per_group"],
        "estimator": estimator,
        "levels": levels,
        "group_equal": {lev: list(LEVELS[lev]) for lev in levels},
        "version": package_version(),
    }
    return InvarianceResult(table=pd.DataFrame(rows), details=details, fits=fits)
