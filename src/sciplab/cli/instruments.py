"""``sciplab instruments list|show ID``: browse the instrument library."""

from __future__ import annotations

from typing import Annotated

import typer

from sciplab.cli._common import console, emit_json, new_table, say
from sciplab.cli._options import DirOpt, JsonOpt
from sciplab.instruments.registry import get_instrument, list_instruments
from sciplab.instruments.schema import Instrument


def item_columns(inst: Instrument) -> str:
    """How item columns are named: the prefixes and an example (``ECRS_01 (prefix ECRS)``)."""
    if not inst.column_prefixes:
        return "-"
    width = max(2, len(str(max(inst.item_numbers, default=1))))
    example = f"{inst.column_prefixes[0]}_{1:0{width}d}"
    return f"{example} (prefix {', '.join(inst.column_prefixes)})"


def describe(inst: Instrument) -> dict:
    """JSON-safe description of an instrument (no item wording unless the licence allows it)."""
    from sciplab._core.results import to_jsonable

    return to_jsonable(
        {
            "id": inst.id,
            "name": inst.name,
            "citation": inst.citation,
            "description": inst.description,
            "items": inst.n_items,
            "item_numbers": list(inst.item_numbers),
            "prefix": inst.prefix,
            "column_prefixes": list(inst.column_prefixes),
            "aliases": list(inst.aliases),
            "response": {
                "min": inst.response.min,
                "max": inst.response.max,
                "anchors": dict(inst.response.anchors),
                "source": inst.response.source,
            },
            "scoring": inst.scoring,
            "key_status": inst.status,
            "key": None
            if inst.key is None
            else {"reverse": list(inst.key.reverse), "sources": list(inst.key.sources), "note": inst.key.note},
            "scales": [
                {
                    "name": s.name,
                    "column": inst.column(s.name),
                    "label": s.label,
                    "construct": s.construct,
                    "direction": s.direction,
                    "items": list(s.items),
                    "scoring": s.scoring,
                    "multiplier": s.multiplier,
                    "angle_deg": s.angle_deg,
                    "missing": {
                        "min_answered": s.missing.min_answered,
                        "prorate": s.missing.prorate,
                        "source": s.missing.source,
                    },
                }
                for s in inst.scales
            ],
            "licence": {
                "item_text": inst.licence.item_text,
                "statement": inst.licence.statement,
                "source": inst.licence.source,
                "status": inst.licence.status,
                "name": inst.licence.name,
                "url": inst.licence.url,
                "attribution": inst.licence.attribution,
                "text_source": inst.licence.text_source,
            },
            "item_text": dict(inst.item_text),
            "norms": [
                {
                    "id": n.id,
                    "sample": n.sample,
                    "n": n.n,
                    "population": n.population,
                    "metric": n.metric,
                    "source": n.source,
                    "status": n.status,
                    "scales": {k: {"mean": v.mean, "sd": v.sd} for k, v in n.scales.items()},
                }
                for n in inst.norms
            ],
            "reliability": list(inst.reliability),
            "cutoffs": list(inst.cutoffs),
            "reliable_change": list(inst.reliable_change),
            "flags": list(inst.flags),
            "structure_source": inst.structure_source,
            "definition": inst.path,
        }
    )


def list_cmd(instruments_dir: DirOpt = None, json: JsonOpt = False) -> None:
    """List every available instrument with its key status and item-column prefix."""
    found = list_instruments(instruments_dir)
    if json:
        emit_json(
            [
                {
                    "id": i.id,
                    "name": i.name,
                    "items": i.n_items,
                    "item_columns": list(i.column_prefixes),
                    "key_status": i.status,
                    "scales": [s.name for s in i.scales],
                    "item_text": bool(i.item_text),
                }
                for i in found
            ]
        )
        return
    table = new_table("id", "name", "items", "item columns", "scales", "key", "wording", title="SCIP Lab instruments")
    for i in found:
        table.add_row(
            i.id,
            i.name,
            str(i.n_items),
            item_columns(i),
            ", ".join(s.name for s in i.scales),
            i.status,
            "shipped" if i.item_text else "-",
        )
    console.print(table)


def show_cmd(
    instrument: Annotated[str, typer.Argument(help="Instrument id or alias, e.g. ECR-S.")],
    instruments_dir: DirOpt = None,
    json: JsonOpt = False,
) -> None:
    """Show one instrument: scales, items, reverse keys, norms, cut-offs, licence, sources."""
    inst = get_instrument(instrument, instruments_dir=instruments_dir)
    info = describe(inst)
    if json:
        emit_json(info)
        return
    say(f"{inst.id}: {inst.name}", style="bold")
    say(inst.citation)
    say(
        f"{inst.n_items or 'an unverified number of'} items, "
        f"responses {inst.response.min}-{inst.response.max}; "
        f"key: {inst.status}; item wording shipped: {'yes' if inst.item_text else 'no'}"
    )
    say(f"item columns: {item_columns(inst)}, case-insensitive; or map them with --map FILE")
    if inst.key is None:
        say("No verified scoring key: score with --key FILE (see docs/instrument-format.md).", style="yellow")
    table = new_table("column", "label", "construct", "items", "scoring", "min answered")
    rev = set(inst.key.reverse) if inst.key else set()
    for s in inst.scales:
        items = ", ".join(f"{i}R" if i in rev else str(i) for i in s.items) or "(key not shipped)"
        table.add_row(
            inst.column(s.name),
            s.label,
            s.construct or "-",
            items,
            s.scoring,
            f"{s.missing.min_answered}/{s.n_items}" if s.items else "-",
        )
    console.print(table)
    for n in inst.norms:
        say(f"norm {n.id}: {n.sample}, N = {n.n} ({n.population}; {n.status}) - {n.source}")
    for c in inst.cutoffs:
        bands = "; ".join(f"{b.label} {b.min:g}-{b.max:g}" for b in c.bands)
        say(
            f"cut-off {c.scale}: {c.value if c.value is not None else ''} {bands} "
            f"{c.applies_to} ({c.status}) - {c.source}"
        )
    lic = inst.licence
    named = f"{lic.name}{f' <{lic.url}>' if lic.url else ''}: " if lic.name else ""
    say(f"licence: {named}{lic.statement} ({lic.source})")
    if lic.attribution:
        say(f"attribution: {lic.attribution}")
    if inst.item_text:
        say(f"item wording from: {lic.text_source}")


def register(app: typer.Typer) -> None:
    """Add the ``instruments`` command group."""
    group = typer.Typer(help="Browse the instrument library (scoring keys, norms, licences).", no_args_is_help=True)
    group.command("list")(list_cmd)
    group.command("show")(show_cmd)
    app.add_typer(group, name="instruments")
