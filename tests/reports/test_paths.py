"""Tests of APA tables and the HTML report for path models."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from sciplab._core.errors import DataError
from sciplab.reports.paths import apa_table, html_report, indirect_table, to_csv, to_markdown, write_report
from sciplab.stats.paths import paths


@pytest.fixture(scope="module")
def result():
    rng = np.random.default_rng(1)
    n = 150
    x = rng.normal(size=n)
    m = 0.5 * x + rng.normal(size=n)
    y = 0.4 * m + rng.normal(size=n)
    return paths(pd.DataFrame({"x": x, "m": m, "y": y}), "m ~ x; y ~ m + x", bootstrap=300, seed=2)


def test_apa_table_formatting(result):
    t = apa_table(result)
    assert list(t["Predictor"]) == ["x", "R²", "m", "x", "R²"]
    row = result.table[(result.table["lhs"] == "m") & (result.table["op"] == "~")].iloc[0]
    first = t.iloc[0]
    assert first["b"] == f"{row['est']:.2f}"
    assert first["β"] == f"{row['std_all']:.2f}".replace("0.", ".", 1)
    assert first["p"] == "< .001"
    assert first["95% CI"] == f"[{row['ci_lower']:.2f}, {row['ci_upper']:.2f}]"


def test_indirect_table(result):
    t = indirect_table(result)
    assert list(t["Effect"]) == ["specific", "direct", "total"]
    assert t.iloc[0]["Path"] == "x → m → y"


def test_markdown_html_csv(result, tmp_path):
    md = to_markdown(result)
    assert "| --- | --- |" in md and "| Outcome | Predictor |" in md and "300 resamples, seed 2" in md
    page = html_report(result, title="Demo")
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page and "Table 2" in page
    back = pd.read_csv(io.StringIO(to_csv(result)))
    np.testing.assert_allclose(back["est"], result.table["est"])
    for ext in ("html", "md", "csv"):
        assert write_report(result, tmp_path / f"r.{ext}").stat().st_size > 100
    with pytest.raises(DataError, match="format"):
        write_report(result, tmp_path / "r.docx")
    with pytest.raises(DataError, match="folder"):
        write_report(result, tmp_path / "nope" / "r.html")
