"""Generate expected SSM values for jz2017/aw2009 with the PyPI ``circumplex`` package (oracle).

The PyPI package (GPL-3) is a dev dependency used only here, as an independent implementation of
R ``circumplex::ssm_analyze``; none of its code is copied into SCIP Lab. Run from the repo root:

    uv run python tests/reference/make_ssm_circumplex.py

It writes ``tests/reference/ssm_circumplex.json``: a header (package versions, boots, seed,
data sha256) and, per case, the arguments, the results table and the scores, as the oracle
returns them (displacement CIs of contrasts reduced mod 360 by the oracle).
"""

from __future__ import annotations

import hashlib
import json
import platform
import sys
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
from circumplex import ssm_analyze

HERE = Path(__file__).resolve().parent
DATA = HERE.parents[1] / ".." / "shared" / "data"
OUT = HERE / "ssm_circumplex.json"
SCALES = ["PA", "BC", "DE", "FG", "HI", "JK", "LM", "NO"]
BOOTS = 2000
SEED = 12345
PDS = ["PARPD", "SCZPD", "SZTPD", "ASPD", "BORPD", "HISPD", "NARPD", "AVPD", "DPNPD", "OCPD"]

CASES = {
    "jz_mean_single": {"data": "jz2017"},
    "jz_mean_gender": {"data": "jz2017", "group": "Gender"},
    "jz_mean_gender_contrast": {"data": "jz2017", "group": "Gender", "contrast": True},
    "jz_corr_parpd": {"data": "jz2017", "measures": ["PARPD"]},
    "jz_corr_all_pd": {"data": "jz2017", "measures": PDS},
    "jz_corr_two_by_gender": {"data": "jz2017", "measures": ["NARPD", "ASPD"], "group": "Gender"},
    "jz_corr_measure_contrast": {"data": "jz2017", "measures": ["ASPD", "NARPD"], "contrast": True},
    "jz_corr_gender_contrast": {
        "data": "jz2017",
        "measures": ["NARPD"],
        "group": "Gender",
        "contrast": True,
    },
    "aw_mean_single": {"data": "aw2009"},
}


def _records(df: pd.DataFrame) -> list[dict]:
    out = []
    for rec in df.to_dict(orient="records"):
        clean = {}
        for k, v in rec.items():
            if isinstance(v, float | np.floating):
                clean[str(k)] = None if not np.isfinite(v) else float(v)
            elif v is None or isinstance(v, str):
                clean[str(k)] = v
            else:
                clean[str(k)] = str(v)
        out.append(clean)
    return out


def main() -> None:
    frames, hashes = {}, {}
    for name in ("jz2017", "aw2009"):
        path = DATA / f"{name}.csv"
        if not path.exists():
            sys.exit(f"shared data not found: {path}")
        hashes[name] = hashlib.sha256(path.read_bytes()).hexdigest()
        frames[name] = pd.read_csv(path)
    cases = {}
    for key, spec in CASES.items():
        df = frames[spec["data"]]
        res = ssm_analyze(
            df,
            SCALES,
            measures=spec.get("measures"),
            grouping=spec.get("group"),
            contrast=spec.get("contrast", False),
            boots=BOOTS,
            seed=SEED,
        )
        cases[key] = {
            "args": spec,
            "results": _records(res.results),
            "scores": _records(res.scores),
        }
        print(key, "done", file=sys.stderr)
    header = {
        "generator": "tests/reference/make_ssm_circumplex.py",
        "oracle": f"circumplex {version('circumplex')} (PyPI)",
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "python": platform.python_version(),
        "boots": BOOTS,
        "seed": SEED,
        "interval": 0.95,
        "scales": SCALES,
        "data_sha256": hashes,
    }
    OUT.write_text(json.dumps({"header": header, "cases": cases}, indent=1) + "\n")
    print(f"wrote {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
