"""Tests of the SEM tables and report."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sciplab._core.errors import DataError, InvalidParameterError
from sciplab.reports.sem import (
    apa_fit_table,
    covariance_table,
    html_report,
    measurement_table,
    structural_table,
    to_csv,
    to_markdown,
    write_report,
)
from sciplab.stats.sem import sem

MODEL = "ind60 =~ x1 + x2 + x3\ndem60 =~ y1 + y2 + y3 + y4\ndem60 ~ ind60"


@pytest.fixture(scope="module")
def result():
    rng = np.random.default_rng(5)
    n = 250
    ind = rng.normal(size=n)
    dem = 0.5 * ind + rng.normal(size=n) * 0.8
    data = {f"x{i}": ind * w + rng.normal(size=n) * 0.5 for i, w in ((1, 1.0), (2, 1.2), (3, 0.9))}
    data |= {f"y{i}": dem * w + rng.normal(size=n) * 0.7 for i, w in ((1, 1.0), (2, 0.8), (3, 1.1), (4, 0.9))}
    return sem(pd.DataFrame(data), MODEL)


def test_fit_table_pins_the_fit_measures(result):
    row = apa_fit_table(result).iloc[0]
    f = result.fit.iloc[0]
    assert row["χ²"] == f"{f['chisq']:.2f}" and row["df"] == str(int(f["df"])) == "13"
    assert row["CFI"] == f"{f['cfi']:.3f}".lstrip("0") or row["CFI"] == "1.000"
    assert row["RMSEA 90% CI"].startswith("[") and row["SRMR"] == f"{f['srmr']:.3f}".lstrip("0")
    assert row["Model"] == "Hypothesized"


def test_measurement_structural_and_covariance_tables(result):
    m = measurement_table(result)
    assert list(m["Indicator"]) == ["x1", "x2", "x3", "y1", "y2", "y3", "y4"]
    assert m.iloc[0]["SE"] == "—" and m.iloc[0]["p"] == ""  # the marker is fixed
    x2 = result.table[(result.table["op"] == "=~") & (result.table["rhs"] == "x2")].iloc[0]
    assert m.iloc[1]["b"] == f"{x2['est']:.2f}" and m.iloc[1]["β"] == f"{x2['std_all']:.2f}".lstrip("0")
    s = structural_table(result)
    assert list(s["Predictor"]) == ["ind60", "R²"]
    reg = result.table[result.table["op"] == "~"].iloc[0]
    assert s.iloc[0]["95% CI"] == f"[{reg['ci_lower']:.2f}, {reg['ci_upper']:.2f}]"
    assert s.iloc[0]["p"] == "< .001"
    assert covariance_table(result).empty  # one exogenous latent: no latent covariances


def test_markdown_html_csv(result, tmp_path):
    md = to_markdown(result)
    assert md.count("**Table") == 3 and "Structural model" in md and "Note. N = 250" in md
    page = html_report(result, title="Demo <SEM>")
    assert page.count("<svg") == 1 and "Demo &lt;SEM&gt;" in page and "Measurement model" in page
    assert to_csv(result).splitlines()[0].startswith("lhs,op,rhs,label,group,est,se")
    out = write_report(result, tmp_path / "r.html")
    assert out.read_text(encoding="utf-8").count("<svg") == 1
    assert write_report(result, tmp_path / "r.md").read_text(encoding="utf-8") == md
    with pytest.raises(DataError, match="format"):
        write_report(result, tmp_path / "r.docx")
    with pytest.raises(DataError):
        write_report(result, tmp_path / "r.md")  # exists, no overwrite
    with pytest.raises(InvalidParameterError, match="SEMResult"):
        to_markdown("nothing")


def test_latent_template_report_lists_parcels():
    from sciplab.datasets import load_example
    from sciplab.scip.latent import fit_latent_template

    res = fit_latent_template(load_example().iloc[:300], "scip-core-latent", score=True)
    page = html_report(res)
    assert "Item-to-parcel allocation" in page and "scip-core-latent" in page
    assert "reflected" in page and "Correlations between latent variables" in page
    assert "parcels, item-to-construct balance" in to_markdown(res)
