"""Tests of the path diagram."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sciplab._core.errors import DataError, InvalidParameterError
from sciplab.plot.paths import layers, path_diagram, save_path_diagram, stars
from sciplab.stats.paths import paths


@pytest.fixture(scope="module")
def result():
    rng = np.random.default_rng(0)
    n = 200
    x = rng.normal(size=n)
    m1 = 0.5 * x + rng.normal(size=n)
    m2 = 0.4 * m1 + rng.normal(size=n)
    y = 0.3 * m2 + 0.1 * x + rng.normal(size=n)
    df = pd.DataFrame({"x": x, "m1": m1, "m2": m2, "y": y})
    return paths(df, "m1 ~ x; m2 ~ m1; y ~ m2 + x", bootstrap=200, seed=1)


def test_layers_follow_causal_order(result):
    assert layers(result) == {"x": 0, "m1": 1, "m2": 2, "y": 3}


def test_stars():
    assert [stars(p) for p in (0.0001, 0.005, 0.03, 0.5, float("nan"))] == ["***", "**", "*", "", ""]


def test_diagram_labels_and_indirect_list(result):
    fig = path_diagram(result, title="Serial")
    texts = [t.get_text() for t in fig.axes[0].texts]
    beta = result.table[(result.table["lhs"] == "m1") & (result.table["op"] == "~")].iloc[0]["std_all"]
    assert any(t.startswith(f"{beta:.2f}".replace("0.", ".", 1)) and t.endswith("***") for t in texts)
    assert any("x → m1 → m2 → y" in t for t in texts)
    import matplotlib.pyplot as plt

    plt.close(fig)


@pytest.mark.parametrize("ext", ["png", "svg", "pdf"])
def test_save_formats(result, tmp_path, ext):
    out = save_path_diagram(result, tmp_path / f"d.{ext}")
    assert out.stat().st_size > 1000


def test_bad_arguments(result, tmp_path):
    with pytest.raises(DataError, match="format"):
        save_path_diagram(result, tmp_path / "d.gif")
    with pytest.raises(InvalidParameterError):
        path_diagram("not a result")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError):
        path_diagram(result, star_rule="x")
