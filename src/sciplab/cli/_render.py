"""Terminal rendering shared by several commands (scale tables, reliability, notes).

Numbers are rounded here for display only; user text (column names, ids) is printed as given and
never cut: cells wrap instead (:func:`sciplab.cli._common.new_table`).
"""

from __future__ import annotations

import pandas as pd

from sciplab.cli._common import console, new_table, say
from sciplab.scoring.engine import ScoreResult
from sciplab.scoring.reliability import ReliabilityResult

HEYWOOD_MARK = "H"
"""Marker after an omega whose one-factor model has a Heywood case (a unique variance at its bound)."""


def heywood_columns(res: ReliabilityResult) -> set[str]:
    """Scale columns whose one-factor model is a Heywood case."""
    if "heywood" in res.table.columns:
        return set(res.table.loc[res.table["heywood"].astype(bool), "column"])
    return {n.split(":", 1)[0] for n in res.details.get("notes", []) if ": Heywood case" in n}


def _num(value: float, digits: int = 2) -> str:
    return "-" if pd.isna(value) else f"{value:.{digits}f}"


def print_scale_table(result: ScoreResult, reliabilities: pd.DataFrame | None = None) -> None:
    """Table of scale descriptives (and alpha with Feldt CI and omega when given)."""
    title = "Scale scores" + (" and reliability" if reliabilities is not None else "")
    extra = ("alpha", "95% CI", "omega") if reliabilities is not None else ()
    table = new_table("scale", "n", "M", "SD", *extra, title=title, right=("n", "M", "SD", *extra))
    rel = reliabilities.set_index("column") if reliabilities is not None else None
    for _, r in result.table.iterrows():
        row = [str(r["column"]), str(r["n_valid"]), _num(r["mean"]), _num(r["sd"])]
        if rel is not None:
            if r["column"] in rel.index:
                x = rel.loc[r["column"]]
                row += [_num(x["alpha"]), f"[{_num(x['alpha_lci'])}, {_num(x['alpha_uci'])}]", _num(x["omega_total"])]
            else:
                row += ["-", "-", "-"]
        table.add_row(*row)
    console.print(table)
    for inst in result.details["instruments"]:
        for note in inst.get("notes", []):
            say(f"{inst['id']}: {note}", style="yellow")


def print_reliability(res: ReliabilityResult, *, items: bool = False) -> None:
    """Scale reliabilities with Heywood cases marked; item statistics when ``items``."""
    heywood = heywood_columns(res)
    table = new_table(
        "scale", "n", "items", "alpha", "CI", "std alpha", "omega", "Heywood",
        title=res.title, right=("n", "items", "alpha", "std alpha", "omega"),
    )  # fmt: skip
    for r in res.table.itertuples(index=False):
        table.add_row(
            str(r.column), str(r.n), str(r.n_items), _num(r.alpha, 3),
            f"[{_num(r.alpha_lci, 3)}, {_num(r.alpha_uci, 3)}]", _num(r.alpha_std, 3),
            _num(r.omega_total, 3), "yes" if r.column in heywood else "",
        )  # fmt: skip
    console.print(table)
    say(f"alpha CI: Feldt, level {res.details['level']}; omega: one-factor ML, model-implied total variance")
    if heywood:
        say(
            f"Heywood case ({len(heywood)} of {len(res.table)} scales): a unique variance hit its bound in the "
            "one-factor model, so omega is not trustworthy there; report alpha or fit a better model",
            style="yellow",
        )
    if items and len(res.items):
        itab = new_table(
            "scale", "item", "column", "reversed", "M", "SD", "item-rest r", "alpha if deleted",
            title="Item statistics", right=("M", "SD", "item-rest r", "alpha if deleted"),
        )  # fmt: skip
        for r in res.items.itertuples(index=False):
            itab.add_row(
                str(r.column), str(r.item), str(r.item_column), "R" if r.reversed else "", _num(r.mean),
                _num(r.sd), _num(r.item_rest_r, 3), _num(r.alpha_if_deleted, 3),
            )  # fmt: skip
        console.print(itab)
    for note in res.details.get("notes", []):
        if ": Heywood case" not in note:
            say(f"note: {note}", style="yellow")
