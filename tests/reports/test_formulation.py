"""Tests of sciplab.reports.formulation: Markdown, HTML (inline SVG figures) and JSON reports."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sciplab._core.errors import DataError, InvalidParameterError
from sciplab.reports.formulation import figures_svg, html_report, to_html, to_json, to_markdown, write_report
from sciplab.scip.formulate import formulate

OCTANTS = ["PA", "BC", "DE", "FG", "HI", "JK", "LM", "NO"]
ANGLES = np.radians([90, 135, 180, 225, 270, 315, 360, 45])


@pytest.fixture(scope="module")
def full():
    octs = 2.2 + 0.7 * np.cos(ANGLES - np.radians(210))
    scores = {"ECR-S_anxiety": 5.6, "ECR-S_avoidance": 5.1, "MSPSS_total": 2.4, "PHQ-9_total": 17}
    scores |= {f"IIP-SC_{o}": v for o, v in zip(OCTANTS, octs, strict=True)}
    return formulate(scores, client="A7")


def test_figures_both_when_octants(full):
    figs = figures_svg(full)
    assert sorted(figs) == ["attachment", "circumplex"]
    assert all(v.startswith("<svg") for v in figs.values())


def test_html_report_self_contained(full):
    page = html_report(full)
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert page.count("<svg") == 2
    assert "client A7" in page and "<h3>Relationship plan</h3>" in page and "<h3>Sources</h3>" in page
    assert "fearful-plan" not in page  # rule ids are data, the report shows the statements
    assert "Unknown: no distance protocol" in page
    assert "<svg" not in to_html(full, figures=False)


def test_markdown(full):
    md = to_markdown(full, figure_files={"attachment": "a.svg"})
    assert "![attachment figure](a.svg)" in md
    assert "## Missing" in md and "## Sources" in md


def test_json_has_required_keys(full):
    d = json.loads(to_json(full))
    assert {"attachment", "profile", "hypotheses", "plan", "missing", "sources"} <= set(d)
    assert d["client"] == "A7"
    assert set(d["attachment"]["quadrant_probabilities"]) == {"secure", "preoccupied", "dismissing", "fearful"}
    assert d["interpersonal"]["instrument"] == "IIP-SC"


def test_write_report_formats(full, tmp_path):
    html_path = write_report(full, tmp_path / "f.html")
    assert html_path.read_text(encoding="utf-8").count("<svg") == 2
    md_path = write_report(full, tmp_path / "f.md")
    assert (tmp_path / "f_attachment.svg").exists() and (tmp_path / "f_circumplex.svg").exists()
    assert "![attachment figure](f_attachment.svg)" in md_path.read_text(encoding="utf-8")
    js = write_report(full, tmp_path / "f.json")
    assert json.loads(js.read_text(encoding="utf-8"))["client"] == "A7"
    with pytest.raises(DataError, match="already exists"):
        write_report(full, tmp_path / "f.html")
    write_report(full, tmp_path / "f.html", overwrite=True)
    with pytest.raises(DataError, match="already exists"):
        write_report(full, tmp_path / "f.md")
    with pytest.raises(DataError, match="must be .html, .md or .json"):
        write_report(full, tmp_path / "f.pdf")
    with pytest.raises(DataError, match="does not exist"):
        write_report(full, tmp_path / "nope" / "f.html")


def test_without_attachment_no_figure(tmp_path):
    f = formulate({"MSPSS_total": 2.0})
    assert figures_svg(f) == {}
    assert "<svg" not in html_report(f)
    with pytest.raises(InvalidParameterError, match="expected a Formulation"):
        html_report({"attachment": {}})


def test_markdown_and_html_fragments():
    f = formulate({"ECR-S_anxiety": 2.0, "ECR-S_avoidance": 6.0, "MSPSS_total": 2.0}, reliability=0.9, sd=1.0)
    md = to_markdown(f)
    assert md.startswith("# SCIP case formulation") and "## Relationship plan" in md
    assert "| MSPSS_total | social_support | 2.00 |" in md
    page = to_html(f, figures=False)
    assert "<h3>Hypotheses</h3>" in page and "withdrawal" in page
    assert "<svg" not in page
    assert "FIG" in to_html(f, figures={"attachment": "FIG"})


BAD_ID = "<script>alert(1)</script>"


def test_client_id_escaped_in_every_format(tmp_path):
    f = formulate({"ECR-S_anxiety": 5.0, "ECR-S_avoidance": 2.0}, client=BAD_ID)
    assert "<script>" not in to_markdown(f)
    assert "&lt;script>alert(1)&lt;/script>" in to_markdown(f)
    assert "<script>" not in html_report(f) and "&lt;script&gt;" in html_report(f)
    md = write_report(f, tmp_path / "r.md").read_text(encoding="utf-8")
    assert "<script>" not in md
    assert json.loads(to_json(f))["client"] == BAD_ID  # JSON keeps the value (it is data, not markup)


def test_rule_texts_escaped(tmp_path):
    rules = tmp_path / "r.toml"
    rules.write_text(
        '[sources]\nx = "A <b>source</b>."\n[[rule]]\nid = "only"\nsection = "hypothesis"\n'
        'when = "social_support.present"\ntext = "*Bold* [link](http://e.org) <img src=x>"\n'
        'evidence = "theory"\nsources = ["x"]\n',
        encoding="utf-8",
    )
    f = formulate({"MSPSS_total": 6.0}, rules=rules)
    md, page = to_markdown(f), to_html(f, figures=False)
    assert "<img" not in md and "<b>source" not in md and "\\*Bold\\*" in md and "\\[link\\]" in md
    assert "<img" not in page and "<b>source" not in page
