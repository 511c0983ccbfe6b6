"""Simulation check of the SEM engine: recovery and 95% CI coverage on a latent SCIP model.

Data are generated from a known latent model in the spirit of Mallinckrodt & Wei (2005):
attachment anxiety (3 parcels) lowers social self-efficacy (3 parcels), which lowers distress
(3 parcels), with a direct path from anxiety to distress; normal data, N = 300, 500 seeded
replications. Each replication is fitted by ``sciplab.stats.sem.sem`` (ML, expected-information
SEs, Wald 95% intervals). Writes ``simulation_coverage.json``: per free parameter the true value,
the mean estimate, its Monte Carlo SE, the mean SE, the SD of the estimates and the coverage.

Run: uv run python tests/reference/sem/make_simulation_coverage.py
"""

from __future__ import annotations

import json
import platform
import warnings
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd

from sciplab.stats.sem import sem

OUT = Path(__file__).with_name("simulation_coverage.json")
REPS, N, SEED = 500, 300, 20141
MODEL = """
anxiety =~ anx1 + anx2 + anx3
efficacy =~ eff1 + eff2 + eff3
distress =~ dis1 + dis2 + dis3
efficacy ~ a*anxiety
distress ~ b*efficacy + c*anxiety
indirect := a*b
"""
LOAD = {"anx": (1.0, 0.9, 0.8), "eff": (1.0, 1.1, 0.7), "dis": (1.0, 0.8, 1.2)}
RESID = 0.5
TRUE = {"a": -0.4, "b": -0.5, "c": 0.3, "psi_anx": 1.0, "psi_eff": 0.6, "psi_dis": 0.5}


def simulate(rng: np.random.Generator) -> pd.DataFrame:
    anx = rng.normal(0, np.sqrt(TRUE["psi_anx"]), N)
    eff = TRUE["a"] * anx + rng.normal(0, np.sqrt(TRUE["psi_eff"]), N)
    dis = TRUE["b"] * eff + TRUE["c"] * anx + rng.normal(0, np.sqrt(TRUE["psi_dis"]), N)
    cols = {}
    for name, f in (("anx", anx), ("eff", eff), ("dis", dis)):
        for j, lam in enumerate(LOAD[name], start=1):
            cols[f"{name}{j}"] = lam * f + rng.normal(0, np.sqrt(RESID), N)
    return pd.DataFrame(cols)


def truth() -> dict[tuple[str, str, str], float]:
    out = {}
    for name, lat in (("anx", "anxiety"), ("eff", "efficacy"), ("dis", "distress")):
        for j, lam in enumerate(LOAD[name], start=1):
            if j > 1:
                out[(lat, "=~", f"{name}{j}")] = lam
            out[(f"{name}{j}", "~~", f"{name}{j}")] = RESID
    out[("efficacy", "~", "anxiety")] = TRUE["a"]
    out[("distress", "~", "efficacy")] = TRUE["b"]
    out[("distress", "~", "anxiety")] = TRUE["c"]
    out[("anxiety", "~~", "anxiety")] = TRUE["psi_anx"]
    out[("efficacy", "~~", "efficacy")] = TRUE["psi_eff"]
    out[("distress", "~~", "distress")] = TRUE["psi_dis"]
    out[("indirect", ":=", "a*b")] = TRUE["a"] * TRUE["b"]
    return out


def main() -> None:
    rng = np.random.default_rng(SEED)
    true = truth()
    est = {k: [] for k in true}
    se = {k: [] for k in true}
    cover = {k: [] for k in true}
    failed = 0
    for _ in range(REPS):
        d = simulate(rng)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = sem(d, MODEL, std=False)
        if not res.details["converged"]:
            failed += 1
            continue
        t = res.table.set_index(["lhs", "op", "rhs"])
        for k, v in true.items():
            r = t.loc[k]
            r = r.iloc[0] if isinstance(r, pd.DataFrame) else r
            est[k].append(float(r["est"]))
            se[k].append(float(r["se"]))
            cover[k].append(bool(r["ci_lower"] <= v <= r["ci_upper"]))
    rows = []
    for k, v in true.items():
        e = np.array(est[k])
        rows.append(
            {
                "lhs": k[0], "op": k[1], "rhs": k[2], "true": v, "mean_est": float(e.mean()),
                "mcse_mean": float(e.std(ddof=1) / np.sqrt(len(e))), "sd_est": float(e.std(ddof=1)),
                "mean_se": float(np.mean(se[k])), "coverage": float(np.mean(cover[k])),
            }
        )  # fmt: skip
    out = {
        "_generated_by": "tests/reference/sem/make_simulation_coverage.py",
        "_versions": {"python": platform.python_version(), "numpy": version("numpy"), "sciplab": version("sciplab")},
        "replications": REPS,
        "n": N,
        "seed": SEED,
        "failed": failed,
        "parameters": rows,
        "mean_coverage": float(np.mean([r["coverage"] for r in rows])),
    }
    OUT.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {OUT}: mean coverage {out['mean_coverage']:.3f}, failed {failed}")


if __name__ == "__main__":
    main()
