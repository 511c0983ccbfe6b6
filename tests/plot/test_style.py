"""Tests of sciplab.plot.style: plain-text labels and atomic, checked figure files."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from sciplab._core.errors import DataError
from sciplab.plot.circumplex import plot_circle
from sciplab.plot.style import apa_style, save_figure
from sciplab.stats.circumplex import OCTANTS, ssm

SCALES = ["PA", "BC", "DE", "FG", "HI", "JK", "LM", "NO"]
MATH = r"$\foo{$"


def test_user_labels_are_plain_text(tmp_path):
    # issue 11.7: a group label like $\foo{$ crashed ssm --figure with ParseFatalException
    rng = np.random.default_rng(0)
    df = pd.DataFrame(np.cos(np.radians(OCTANTS)) + rng.normal(0, 0.5, (30, 8)), columns=SCALES)
    df["g"] = [MATH, "a$b$c"] * 15
    fig = plot_circle(ssm(df, SCALES, group="g", bootstrap=0), title=MATH)
    out = save_figure(fig, tmp_path / "c.png")
    assert out.stat().st_size > 1000
    with apa_style():
        fig, ax = plt.subplots()
        t = ax.text(0, 0, MATH)
    assert t.get_parse_math() is False
    save_figure(fig, tmp_path / "t.svg")
    assert MATH.replace("{", "") in (tmp_path / "t.svg").read_text(encoding="utf-8").replace("{", "")


def test_failed_save_leaves_existing_file_untouched(tmp_path, monkeypatch):
    target = tmp_path / "f.png"
    target.write_bytes(b"precious")
    fig, _ = plt.subplots()

    def broken(path, **kwargs):
        with open(path, "wb") as fh:
            fh.write(b"partial")
        raise RuntimeError("renderer failed")

    monkeypatch.setattr(fig, "savefig", broken)
    with pytest.raises(RuntimeError):
        save_figure(fig, target, overwrite=True)
    assert target.read_bytes() == b"precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.png"]


def test_existing_format_and_input_checks(tmp_path):
    target = tmp_path / "f.pdf"
    target.write_bytes(b"x")
    with pytest.raises(DataError, match="already exists"):
        save_figure(plt.figure(), target)
    with pytest.raises(DataError, match="is an input file"):
        save_figure(plt.figure(), target, overwrite=True, inputs=[target])
    with pytest.raises(DataError, match="figure format"):
        save_figure(plt.figure(), tmp_path / "f.gif")
    with pytest.raises(DataError, match="does not exist"):
        save_figure(plt.figure(), tmp_path / "no" / "f.png")
    assert plt.get_fignums() == []
