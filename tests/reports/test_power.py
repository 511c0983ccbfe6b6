"""Power-analysis report."""

from __future__ import annotations

import pytest

from sciplab import DataError, InvalidParameterError
from sciplab.reports.power import html_report, power_table, to_markdown, write_report
from sciplab.stats.power import power

MODEL = "m ~ 0.39*a*x; y ~ 0.39*b*m + 0*x; ind := a*b"


@pytest.fixture(scope="module")
def result():
    return power(MODEL, n=[50, 100], reps=100, seed=1, threads=1)


def test_table_has_one_column_per_n(result):
    t = power_table(result)
    assert list(t.columns) == ["Statistic", "Path", "Value", "N = 50", "N = 100", "Kind"]
    assert t.set_index("Statistic").loc["y~x", "Kind"] == "Type I error"
    row = result.table[(result.table["name"] == "ind") & (result.table["n"] == 100)].iloc[0]
    assert t.set_index("Statistic").loc["ind", "N = 100"].startswith(f"{row['power']:.3f}".lstrip("0"))


def test_html_states_the_design(result):
    text = html_report(result)
    assert "Design (for a methods section)" in text and result.details["design"].split(":")[0] in text
    assert "<svg" in text


def test_markdown_and_write(result, tmp_path):
    assert "| Statistic |" in to_markdown(result)
    p = write_report(result, tmp_path / "r.md")
    assert p.read_text(encoding="utf-8").startswith("# Power analysis")
    with pytest.raises(DataError, match="report format"):
        write_report(result, tmp_path / "r.docx")
    with pytest.raises(InvalidParameterError):
        html_report("not a result")  # type: ignore[arg-type]
