"""The result of :func:`sciplab.stats.sem.sem`: parameter table, fit measures, lavaan-like summary."""

from __future__ import annotations

import dataclasses
import html
import math
from typing import Any, ClassVar

import pandas as pd

from sciplab._core.results import Result, to_jsonable

TABLE_COLUMNS = [
    "lhs", "op", "rhs", "label", "group", "est", "se", "z", "pvalue", "ci_lower", "ci_upper",
    "std_lv", "std_all", "flag",
]  # fmt: skip


@dataclasses.dataclass(frozen=True)
class SEMResult(Result):
    """Result of :func:`sem`, :func:`cfa` and :func:`growth`.

    Attributes
    ----------
    table
        lavaan's parameter table (``parameterEstimates``): ``lhs op rhs label group est se z
        pvalue ci_lower ci_upper std_lv std_all flag``. Rows: loadings (``=~``), regressions
        (``~``), (residual) (co)variances (``~~``), intercepts and means (``~1``), defined
        parameters (``:=``) and R² (``r2``). Fixed parameters have ``se`` 0 and no z/p (as
        lavaan). ``flag`` is ``"heywood"`` for a negative variance estimate, else ``""``.
    fit
        One row of fit measures with lavaan's names (``chisq df pvalue baseline.chisq ... npar
        ntotal``; with ``estimator="mlr"`` also the ``.scaled`` versions).
    details
        estimator, se, missing, optimiser iterations, convergence, N per group, missing-data
        patterns, bootstrap settings, seed, version.
    std
        Standardized solution with delta-method SEs (``std_lv``, ``se_std_lv``, ``std_all``,
        ``se_std_all``) for every row of ``table`` except R².
    """

    fit: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)
    std: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)
    _lazy: dict[str, Any] = dataclasses.field(default_factory=dict, repr=False, compare=False)

    title: ClassVar[str] = "Structural equation model"

    def modindices(self, *, minimum: float = 0.0, sort: bool = True) -> pd.DataFrame:
        """Modification indices of the loadings and covariances fixed at zero (lavaan's ``modindices()``).

        Columns ``mi`` and the expected parameter changes ``epc``, ``sepc.lv``, ``sepc.all``.
        """
        if "mi" not in self._lazy:
            self._lazy["mi"] = self._lazy["mi_fn"]()  # computed on first use, then kept
        mi = self._lazy["mi"]
        out = mi[mi["mi"] >= minimum]
        return out.sort_values("mi", ascending=False, kind="stable") if sort else out

    def summary(self) -> str:
        """lavaan-style text summary; the only place that rounds."""
        d = self.details
        f = self.fit.iloc[0] if len(self.fit) else pd.Series(dtype=float)
        status = "ended normally" if d.get("converged") else "did NOT converge"
        lines = [f"sciplab SEM (lavaan-style) {status} after {d.get('iterations')} iterations", ""]

        def kv(key: str, value: Any, width: int = 50) -> str:
            text = f"{value:.3f}" if isinstance(value, float) else str(value)
            return f"  {key:<{width}}{text:>12}"

        lines.append(kv("Estimator", str(d.get("estimator", "")).upper()))
        lines.append(kv("Optimization method", "Fisher scoring"))
        lines.append(kv("Number of model parameters", int(f.get("npar", 0))))
        groups = d.get("groups", [])
        if len(groups) > 1:
            lines.append(kv("Number of groups", len(groups)))
        lines.append("")
        lines.append(
            kv(
                "Number of observations" + (" per group:" if len(groups) > 1 else ""),
                "" if len(groups) > 1 else d.get("n"),
            )
        )
        if len(groups) > 1:
            for g, n in zip(groups, d.get("n_per_group", []), strict=False):
                lines.append(kv(f"  {g}", n))
        if d.get("missing") == "fiml":
            lines.append(kv("Number of missing patterns", sum(d.get("patterns", []))))
        lines += ["", "Model Test User Model:", ""]
        lines.append(kv("Test statistic", float(f["chisq"])))
        lines.append(kv("Degrees of freedom", int(f["df"])))
        lines.append(kv("P-value (Chi-square)", float(f["pvalue"]) if not math.isnan(f["pvalue"]) else "NA"))
        if "chisq.scaled" in f:
            lines.append(kv("Scaled test statistic (Yuan-Bentler)", float(f["chisq.scaled"])))
            lines.append(kv("Scaling correction factor", float(f["chisq.scaling.factor"])))
        if len(groups) > 1 and d.get("chisq_groups"):
            lines += ["  Test statistic for each group:"]
            for g, c in zip(groups, d["chisq_groups"], strict=False):
                lines.append(kv(f"    {g}", float(c)))
        lines += ["", "Fit measures:", ""]
        for key in (
            "cfi",
            "tli",
            "rmsea",
            "rmsea.ci.lower",
            "rmsea.ci.upper",
            "rmsea.pvalue",
            "srmr",
            "logl",
            "aic",
            "bic",
        ):
            if key in f and not (isinstance(f[key], float) and math.isnan(f[key])):
                lines.append(kv(key, float(f[key])))
        lines += ["", "Parameter Estimates:", ""]
        lines.append(kv("Standard errors", d.get("se", "")))
        t = self.table
        for g in sorted(t["group"].unique()):
            tg = t[t["group"] == g]
            if len(groups) > 1:
                lines += ["", f"Group {g} [{groups[int(g) - 1]}]:"]
            sections = [
                ("Latent Variables", tg[tg["op"] == "=~"]),
                ("Regressions", tg[tg["op"] == "~"]),
                ("Covariances", tg[(tg["op"] == "~~") & (tg["lhs"] != tg["rhs"])]),
                ("Intercepts", tg[tg["op"] == "~1"]),
                ("Variances", tg[(tg["op"] == "~~") & (tg["lhs"] == tg["rhs"])]),
                ("R-Square", tg[tg["op"] == "r2"]),
            ]
            for name, rows in sections:
                if rows.empty:
                    continue
                lines += [
                    "",
                    f"{name}:",
                    f"{'':<20}{'Estimate':>9}{'Std.Err':>9}{'z-value':>9}{'P(>|z|)':>9}{'Std.lv':>9}{'Std.all':>9}",
                ]
                last = None
                for r in rows.itertuples():
                    if name in ("Latent Variables", "Regressions", "Covariances") and r.lhs != last:
                        lines.append(f"  {r.lhs} {r.op}")
                        last = r.lhs
                    lab = f" ({r.label})" if r.label and not str(r.label).startswith(".") else ""
                    who = r.rhs if name in ("Latent Variables", "Regressions", "Covariances") else r.lhs
                    if name in ("Intercepts", "Variances") and r.lhs in self.details.get("observed", []):
                        who = "." + who
                    cells = [_n(r.est)] + ([_n(r.se), _n(r.z), _n(r.pvalue)] if r.se and r.se > 0 else ["", "", ""])
                    cells += [_n(r.std_lv), _n(r.std_all)] if name != "R-Square" else []
                    flag = "  (Heywood case)" if r.flag else ""
                    lines.append(f"    {(who + lab):<16}" + "".join(f"{c:>9}" for c in cells) + flag)
        defined = t[t["op"] == ":="]
        if len(defined):
            lines += ["", "Defined Parameters:"]
            for r in defined.itertuples():
                cells = [_n(v) for v in (r.est, r.se, r.z, r.pvalue, r.std_lv, r.std_all)]
                lines.append(f"    {r.lhs:<16}" + "".join(f"{c:>9}" for c in cells))
        heywood = t[t["flag"] == "heywood"]
        if len(heywood):
            lines += [
                "",
                "Warning: negative variance estimates (Heywood cases): "
                + ", ".join(f"{r.lhs} ~~ {r.rhs}" for r in heywood.itertuples()),
            ]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: ``table``, ``details``, ``std`` and ``fit`` (a mapping of the measures)."""
        out = super().to_dict()
        out["fit"] = to_jsonable(self.fit.iloc[0].to_dict()) if len(self.fit) else {}
        return out

    def _repr_html_(self) -> str:
        head = f"<h4>{html.escape(self.title)}</h4>"
        fit = self.fit.to_html(index=False, float_format=lambda v: f"{v:.3f}", na_rep="")
        table = self.table.to_html(index=False, float_format=lambda v: f"{v:.3f}", na_rep="")
        return f"{head}{fit}{table}"


def _n(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    return f"{float(v):.3f}"
