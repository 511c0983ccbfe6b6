"""Result objects of power studies: :class:`PowerResult` and :class:`SampleSizeResult`."""

from __future__ import annotations

import dataclasses
import math
from typing import Any, ClassVar

import pandas as pd

from sciplab._core.apa import apa_number
from sciplab._core.results import Result, to_jsonable

TEST_NAMES = {
    "mc": "Monte Carlo confidence interval (Preacher & Selig, 2012; Schoemann, Boulton & Short, 2017)",
    "percentile": "percentile bootstrap confidence interval",
    "joint": "joint significance test (MacKinnon et al., 2002)",
    "sobel": "Sobel (1982) first-order z test",
}


def _fmt(v: Any) -> str:
    try:
        return f"{float(v):.3f}"
    except (TypeError, ValueError):
        return str(v)


def _interval(ci: Any) -> str:
    """``"; 95% MC interval .78-.82"`` from ``[lower, upper]`` (empty when absent)."""
    if not ci or len(ci) != 2 or any(v is None for v in ci):
        return ""
    return f"; 95% MC interval {_fmt(ci[0])}-{_fmt(ci[1])}"


@dataclasses.dataclass(frozen=True)
class PowerResult(Result):
    """Result of :func:`sciplab.stats.power.power`.

    Attributes
    ----------
    table
        One row per sample size and statistic: ``n name kind lhs op rhs path population power mcse
        ci_lower ci_upper rejections replicates failed mean_est bias error``. ``kind`` is
        ``coefficient`` or ``effect``; ``error`` is ``power`` or ``type I error`` (population value 0);
        ``mcse`` = sqrt(p (1 - p) / replicates), ``ci_lower/ci_upper`` = power -/+ 1.96 mcse (clipped).
    details
        Settings: reps, test, level, seed, draws, bootstrap, missing, skew, kurtosis, chunk size,
        where the run went, population and analysis model, the design in words, version.
    """

    title: ClassVar[str] = "Power analysis (Monte Carlo)"

    def power_at(self, name: str) -> pd.DataFrame:
        """The power curve of one statistic: ``n power mcse`` rows."""
        return self.table[self.table["name"] == name][["n", "power", "mcse"]].reset_index(drop=True)

    def summary(self) -> str:
        """Text summary: settings, then power (MC SE) per statistic and sample size."""
        d = self.details
        lines = [self.title, "=" * len(self.title)]
        lines.append(
            f"Test: {d.get('test')} (level {d.get('level')}); {d.get('reps')} replicates per N; seed {d.get('seed')}; "
            f"run: {d.get('run')}"
        )
        lines.append(d.get("design", ""))
        if d.get("failed_total"):
            lines.append(f"Failed (singular or too few complete cases) replicates: {d['failed_total']}")
        t = self.table
        ns = sorted(t["n"].unique())
        header = f"{'statistic':<28} {'path':<48} {'value':>7} " + " ".join(f"{'N=' + str(n):>15}" for n in ns)
        lines += ["", header, "-" * len(header)]
        for name, rows in t.groupby("name", sort=False):
            first = rows.iloc[0]
            cells = []
            for n in ns:
                r = rows[rows["n"] == n]
                if r.empty or pd.isna(r.iloc[0]["power"]):
                    cells.append(f"{'n/a':>15}")
                else:
                    cells.append(f"{_fmt(r.iloc[0]['power']) + ' (' + _fmt(r.iloc[0]['mcse']) + ')':>15}")
            tag = " *" if first["error"] == "type I error" else ""
            lines.append(
                f"{str(name)[:28]:<28} {str(first['path'])[:48]:<48} {apa_number(first['population'], 3):>7} "
                + " ".join(cells)
                + tag
            )
        lines.append("")
        lines.append("Cells: power (Monte Carlo SE). * population value 0: the rejection rate is the Type I error.")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe ``{"table": [...], "details": {...}}``."""
        return {"table": to_jsonable(self.table), "details": to_jsonable(self.details)}


@dataclasses.dataclass(frozen=True)
class SampleSizeResult(Result):
    """Result of :func:`sciplab.stats.power.sample_size`.

    Attributes
    ----------
    table
        The power curve of the target effect at every sample size run: ``n power mcse replicates
        fitted stage``, ``stage`` = ``search``, ``curve`` (the grid around the crossing) or
        ``refine`` (five sample sizes within 15% of the first crossing; the final curve is fitted to them).
    details
        ``n`` (the required sample size), ``n_ci`` (approximate 95% interval from the fitted curve),
        ``power`` and ``mcse`` at ``n`` (confirmation run), ``target``, ``effect``, the logistic curve
        coefficients and every setting of the runs.
    """

    confirmation: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)

    title: ClassVar[str] = "Sample size for a target power (Monte Carlo)"

    @property
    def n(self) -> int:
        """The required sample size."""
        return int(self.details["n"])

    def summary(self) -> str:
        """Text summary: the required N with its uncertainty, then the curve."""
        d = self.details
        lines = [self.title, "=" * len(self.title)]
        lo, hi = d.get("n_ci", (None, None))
        value = apa_number(float(d.get("population", math.nan)), 3)
        lines.append(
            f"Effect {d.get('effect')} ({d.get('path')}), population value {value}; "
            f"test: {d.get('test')}; target power {d.get('target')}"
        )
        lines.append(
            f"Required N = {d.get('n')} (fitted-curve 95% interval {lo}-{hi}); confirmed power at N = {d.get('n')}: "
            f"{_fmt(d.get('power'))} (MC SE {_fmt(d.get('mcse'))}{_interval(d.get('power_ci'))}, {d.get('reps')} "
            "replicates)"
        )
        if d.get("note"):
            lines.append(f"Note: {d['note']}")
        lines.append(d.get("design", ""))
        lines += ["", f"{'N':>8} {'power':>8} {'MC SE':>8} {'fitted':>8} {'stage':>8}"]
        for r in self.table.itertuples():
            lines.append(f"{r.n:>8} {_fmt(r.power):>8} {_fmt(r.mcse):>8} {_fmt(r.fitted):>8} {r.stage:>8}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe ``{"table": [...], "confirmation": [...], "details": {...}}``."""
        return {
            "table": to_jsonable(self.table),
            "confirmation": to_jsonable(self.confirmation),
            "details": to_jsonable(self.details),
        }
