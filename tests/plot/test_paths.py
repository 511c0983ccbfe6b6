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


# -- label placement (issue 10.18): each label on its own arrow, never on another --------------------


def _segments(path, transform) -> np.ndarray:
    """Line segments (display coordinates) approximating every Bezier piece of ``path``."""
    pts = []
    for curve, _code in path.iter_bezier():
        ts = np.linspace(0, 1, 60)
        pts.append(transform.transform(curve(ts)))
    return np.concatenate([np.stack([p[:-1], p[1:]], axis=1) for p in pts])


def _hits(seg: np.ndarray, x0: float, y0: float, x1: float, y1: float) -> bool:
    """Liang-Barsky: does any segment touch the rectangle [x0, x1] x [y0, y1]?"""
    for (ax, ay), (bx, by) in seg:
        dx, dy = bx - ax, by - ay
        lo, hi = 0.0, 1.0
        ok = True
        for p, q in ((-dx, ax - x0), (dx, x1 - ax), (-dy, ay - y0), (dy, y1 - ay)):
            if p == 0:
                if q < 0:
                    ok = False
                    break
            else:
                r = q / p
                if p < 0:
                    lo = max(lo, r)
                else:
                    hi = min(hi, r)
        if ok and lo <= hi:
            return True
    return False


def _core_result():
    from sciplab.scip.templates import fit_template, get_template

    rng = np.random.default_rng(3)
    cols = get_template("scip-core").constructs
    df = pd.DataFrame(rng.normal(size=(300, len(cols))), columns=cols)
    df["social_self_efficacy"] += -0.4 * df["attachment_anxiety"] - 0.3 * df["attachment_avoidance"]
    df["emotional_awareness"] += -0.2 * df["attachment_anxiety"] - 0.4 * df["attachment_avoidance"]
    df["social_support"] += 0.4 * df["social_self_efficacy"] + 0.2 * df["emotional_awareness"]
    df["distress"] += -0.3 * df["social_self_efficacy"] - 0.3 * df["emotional_awareness"]
    return fit_template(df, "scip-core", bootstrap=200, seed=1, instruments=[])


@pytest.mark.parametrize("which", ["scip-core", "serial"])
def test_labels_sit_on_their_own_arrow_and_off_the_others(result, which):
    import matplotlib.pyplot as plt

    res = _core_result() if which == "scip-core" else result
    fig = path_diagram(res)
    fig.canvas.draw()
    ax = fig.axes[0]
    arrows = {t.get_gid()[5:]: t.arrow_patch for t in ax.texts if (t.get_gid() or "").startswith("path:")}
    label_texts = {t.get_gid()[6:]: t for t in ax.texts if (t.get_gid() or "").startswith("label:")}
    assert set(arrows) == set(label_texts) and len(arrows) == int((res.table["op"] == "~").sum())
    from matplotlib.transforms import IdentityTransform

    segs = {k: _segments(a.get_path(), IdentityTransform()) for k, a in arrows.items()}  # display coordinates
    for key, text in label_texts.items():
        box = text.get_bbox_patch().get_window_extent()
        for other, seg in segs.items():
            if other != key:
                assert not _hits(seg, box.x0, box.y0, box.x1, box.y1), f"label of {key} lies on arrow {other}"
        # the box centre lies on its own arrow (within 1.5 px)
        c = np.array([(box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2])
        a, b = segs[key][:, 0], segs[key][:, 1]
        t = np.clip(np.einsum("ij,ij->i", c - a, b - a) / np.maximum(np.einsum("ij,ij->i", b - a, b - a), 1e-12), 0, 1)
        assert np.min(np.linalg.norm(a + t[:, None] * (b - a) - c, axis=1)) < 1.5, key
    # labels do not overlap each other
    boxes = [t.get_bbox_patch().get_window_extent() for t in label_texts.values()]
    for i, p in enumerate(boxes):
        for q in boxes[i + 1 :]:
            assert not p.overlaps(q)
    plt.close(fig)


def test_indirect_list_apa_numbers():
    import matplotlib.pyplot as plt

    res = _core_result()
    fig = path_diagram(res)
    listing = next(t.get_text() for t in fig.axes[0].texts if t.get_text().startswith("Arrows:"))
    assert "-.00" not in listing and "0." not in listing.replace("95% CI", "")
    assert "[-." in listing or "[." in listing
    plt.close(fig)
