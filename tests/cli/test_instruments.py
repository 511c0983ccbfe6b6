"""``sciplab instruments list|show``: the item-column prefix users must type is shown."""

from __future__ import annotations

import json

from tests.cli.conftest import invoke

from sciplab.instruments.registry import get_instrument


def test_list_shows_each_instruments_item_columns() -> None:
    res = invoke("instruments", "list")
    assert res.exit_code == 0, res.output
    assert "ECRS_01 (prefix ECRS)" in res.stdout and "…" not in res.stdout
    rows = {r["id"]: r for r in json.loads(invoke("instruments", "list", "--json").stdout)}
    assert rows["ECR-S"]["item_columns"] == list(get_instrument("ECR-S").column_prefixes)


def test_show_names_item_columns_and_score_columns() -> None:
    res = invoke("instruments", "show", "ECR-S")
    assert res.exit_code == 0, res.output
    assert "item columns: ECRS_01 (prefix ECRS)" in res.stdout
    assert "ECR-S_anxiety" in res.stdout


def test_unknown_instrument_is_printed_as_written() -> None:
    res = invoke("instruments", "show", "[red]PHQ[/red]")
    assert res.exit_code == 2 and "[red]PHQ[/red]" in res.output
