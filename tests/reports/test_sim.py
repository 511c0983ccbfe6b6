"""HTML report of a simulation folder (sciplab.reports.sim)."""

import os

import pytest

from sciplab._core.errors import DataError
from sciplab.reports.sim import html_report, write_report
from sciplab.sim import simulate


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("sim") / "run"
    simulate(400, years=0.5, seed=9, instruments=["ECR-S"]).write(out)
    return out


def test_report_sections_and_latent_tables(folder):
    text = html_report(folder)
    sections = [
        "Attachment plane",
        "Network degree and perceived support",
        "Therapy trajectories by policy",
        "Outcomes by policy and rupture repair",
        "Latent states at baseline",
        "Therapy outcomes by policy",
    ]
    for section in sections:
        assert section in text
    assert "latent_attachment_anxiety" in text and "<svg" in text


def test_write_report_rules(folder, tmp_path):
    out = tmp_path / "r.html"
    assert write_report(folder, out) == out
    with pytest.raises(DataError, match="already exists"):
        write_report(folder, out)
    with pytest.raises(DataError, match=r"\.html"):
        write_report(folder, tmp_path / "r.txt")
    # an output that is a file of the run folder (here a hard link to it) is never replaced
    link = tmp_path / "link.html"
    os.link(folder / "details.json", link)
    with pytest.raises(DataError, match="input"):
        write_report(folder, link, overwrite=True)
    assert link.samefile(folder / "details.json")
