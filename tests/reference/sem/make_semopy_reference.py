"""Independent reference: semopy's ML estimates of the Holzinger-Swineford 3-factor CFA.

semopy (Igolkina & Meshcheryakov 2020; MIT licence) is an independent Python implementation of
SEM. Its default objective ``MLW`` is the Wishart ML discrepancy with the same minimiser as
lavaan's ML, but its SLSQP optimiser stops earlier (estimates agree with lavaan to about 2e-3),
so tests compare with a 5e-3 tolerance. Writes ``semopy_hs_cfa.json`` with versions.

Run: uv run --group dev python tests/reference/sem/make_semopy_reference.py
"""

from __future__ import annotations

import json
import platform
from importlib.metadata import version
from pathlib import Path

import pandas as pd
import semopy

DATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "HolzingerSwineford1939.csv"
OUT = Path(__file__).with_name("semopy_hs_cfa.json")
MODEL = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"


def main() -> None:
    data = pd.read_csv(DATA)
    model = semopy.Model(MODEL)
    model.fit(data)
    rows = []
    for r in model.inspect().itertuples(index=False):
        lval, op, rval, est = r[0], r[1], r[2], float(r[3])
        if op == "~":  # semopy writes loadings as indicator ~ factor
            rows.append([rval, "=~", lval, est])
        else:
            rows.append([lval, op, rval, est])
    out = {
        "_generated_by": "tests/reference/sem/make_semopy_reference.py",
        "_versions": {"python": platform.python_version(), "semopy": version("semopy"), "pandas": version("pandas")},
        "_tolerance": 5e-3,
        "model": MODEL,
        "estimates": rows,
    }
    OUT.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {OUT} ({len(rows)} estimates)")


if __name__ == "__main__":
    main()
