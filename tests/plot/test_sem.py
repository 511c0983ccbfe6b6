"""Tests of the latent-variable path diagram (content, not pixels)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.patches import Ellipse, FancyBboxPatch
from matplotlib.transforms import IdentityTransform
from tests.plot.test_paths import _hits, _segments

from sciplab._core.errors import DataError, InvalidParameterError
from sciplab.plot.sem import save_sem_diagram, sem_diagram, sem_layout
from sciplab.stats.sem import cfa

HS = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"


@pytest.fixture(scope="module")
def hs():
    rng = np.random.default_rng(2)
    f = rng.multivariate_normal([0, 0, 0], [[1, 0.4, 0.3], [0.4, 1, 0.2], [0.3, 0.2, 1]], size=300)
    cols = {
        f"x{3 * k + j + 1}": f[:, k] * (0.8 - 0.1 * j) + rng.normal(size=300) * 0.6 for k in range(3) for j in range(3)
    }
    cols["school"] = np.where(np.arange(300) % 2 == 0, "a", "b")
    return pd.DataFrame(cols)


@pytest.fixture(scope="module")
def core():
    from sciplab.datasets import load_example
    from sciplab.scip.latent import fit_latent_template

    return fit_latent_template(load_example(), "scip-core-latent", score=True)


def _drawn(fig):
    ax = fig.axes[0]
    shapes = {}
    for p in ax.patches:
        gid = p.get_gid() or ""
        if gid.startswith("ellipse:"):
            assert isinstance(p, Ellipse)
            shapes[gid[8:]] = "ellipse"
        elif gid.startswith("box:"):
            assert isinstance(p, FancyBboxPatch)
            shapes[gid[4:]] = "box"
    arrows = {t.get_gid()[5:]: t.arrow_patch for t in ax.texts if (t.get_gid() or "").startswith("path:")}
    labels = {t.get_gid()[6:]: t for t in ax.texts if (t.get_gid() or "").startswith("label:")}
    return shapes, arrows, labels


def _check_labels(fig, arrows, labels):
    fig.canvas.draw()
    segs = {k: _segments(a.get_path(), IdentityTransform()) for k, a in arrows.items()}
    for key, text in labels.items():
        box = text.get_bbox_patch().get_window_extent()
        for other, seg in segs.items():
            if other != key:
                assert not _hits(seg, box.x0, box.y0, box.x1, box.y1), f"label of {key} lies on edge {other}"
        c = np.array([(box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2])
        a, b = segs[key][:, 0], segs[key][:, 1]
        t = np.clip(np.einsum("ij,ij->i", c - a, b - a) / np.maximum(np.einsum("ij,ij->i", b - a, b - a), 1e-12), 0, 1)
        assert np.min(np.linalg.norm(a + t[:, None] * (b - a) - c, axis=1)) < 1.5, key
    boxes = [t.get_bbox_patch().get_window_extent() for t in labels.values()]
    for i, p in enumerate(boxes):
        for q in boxes[i + 1 :]:
            assert not p.overlaps(q)


def test_cfa_latents_are_ellipses_and_every_edge_is_labelled_once(hs):
    res = cfa(hs, HS)
    fig = sem_diagram(res)
    shapes, arrows, labels = _drawn(fig)
    assert {k for k, v in shapes.items() if v == "ellipse"} == {"visual", "textual", "speed"}
    assert {k for k, v in shapes.items() if v == "box"} == {f"x{i}" for i in range(1, 10)}
    # 9 loadings + 3 factor covariances, one label each
    assert set(arrows) == set(labels) and len(arrows) == 12
    assert sum(k.count("<->") for k in arrows) == 3
    std = res.table[(res.table["op"] == "=~") & (res.table["rhs"] == "x2")].iloc[0]
    assert labels["visual->x2"].get_text().startswith(f"{std['std_all']:.2f}".lstrip("0"))
    _check_labels(fig, arrows, labels)
    plt.close(fig)


def test_scip_core_latent_diagram(core):
    lay = sem_layout(core)
    assert lay["side"]["attachment_anxiety"] == "left" and lay["side"]["distress"] == "right"
    assert {lay["side"]["social_self_efficacy"], lay["side"]["emotional_awareness"]} == {"above", "below"}
    fig = sem_diagram(core, title="SCIP core (latent)")
    shapes, arrows, labels = _drawn(fig)
    assert sorted(k for k, v in shapes.items() if v == "ellipse") == sorted(core.details["latent"])
    assert sum(v == "box" for v in shapes.values()) == 18
    n_reg = int((core.table["op"] == "~").sum())
    assert len(arrows) == 18 + n_reg + 3 and set(arrows) == set(labels)  # + anx~~avo, 2 residual covariances
    _check_labels(fig, arrows, labels)
    note = next(t.get_text() for t in fig.axes[0].texts if t.get_text().startswith("Ellipses"))
    assert "Residual variances not shown" in note
    plt.close(fig)


def test_multigroup_draws_the_chosen_group(hs):
    res = cfa(hs, HS, group="school")
    fig = sem_diagram(res, group=2)
    note = next(t.get_text() for t in fig.axes[0].texts if t.get_text().startswith("Ellipses"))
    assert "Group 2: b" in note.replace("\n", " ")
    plt.close(fig)
    with pytest.raises(InvalidParameterError, match="group number from 1 to 2"):
        sem_diagram(res, group=3)


def test_multigroup_default_is_one_panel_per_group_with_residual_covariances(hs):
    res = cfa(hs, HS + "\nx2 ~~ x3", group="school")
    fig = sem_diagram(res)
    assert len(fig.axes) == 2
    for k, ax in enumerate(fig.axes, start=1):
        gids = {p.get_gid() for p in ax.patches}
        assert {f"g{k}/ellipse:visual", f"g{k}/box:x9"} <= gids
        paths = [c.get_gid() for c in ax.get_children() if (c.get_gid() or "").startswith(f"g{k}/path:")]
        assert f"g{k}/path:x2<->x3" in paths  # the indicators' residual covariance is drawn
        labels = {t.get_gid(): t.get_text() for t in ax.texts if t.get_gid()}
        std = _est_std(res, "x2", "~~", "x3", k)
        assert labels[f"g{k}/label:x2<->x3"].startswith(f"{std:.2f}".lstrip("0").replace("-0", "-"))
        assert any(t.get_text().startswith(f"Group {k}:") for t in ax.texts)
    plt.close(fig)


def _est_std(res, lhs, op, rhs, group):
    t = res.table
    return float(t[(t["lhs"] == lhs) & (t["op"] == op) & (t["rhs"] == rhs) & (t["group"] == group)]["std_all"].iloc[0])


@pytest.mark.parametrize("ext", ["png", "svg", "pdf"])
def test_save_formats(hs, tmp_path, ext):
    out = save_sem_diagram(cfa(hs, HS), tmp_path / f"d.{ext}")
    assert out.stat().st_size > 1000


def test_bad_arguments(hs, tmp_path):
    with pytest.raises(InvalidParameterError, match="SEMResult"):
        sem_diagram("not a result")
    with pytest.raises(DataError, match="format"):
        save_sem_diagram(cfa(hs, HS), tmp_path / "d.gif")
    (tmp_path / "e.png").write_bytes(b"x")
    with pytest.raises(DataError):
        save_sem_diagram(cfa(hs, HS), tmp_path / "e.png")
