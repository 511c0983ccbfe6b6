"""Tests of sciplab.plot.monitor: trajectory chart with expected course, lights and rupture markers."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from sciplab._core.errors import DataError
from sciplab.plot.monitor import STATUS_COLOURS, plot_monitor, save_figure
from sciplab.stats.change import detect_ruptures, expected_response, fit_reference


@pytest.fixture(scope="module")
def reference():
    rng = np.random.default_rng(1)
    u = rng.normal(0, [3, 1], (40, 2))
    rows = [
        (c, t, 25 + u[c, 0] + (u[c, 1] - 4) * np.log(t + 1) + rng.normal(0, 2)) for c in range(40) for t in range(8)
    ]
    return fit_reference(pd.DataFrame(rows, columns=["client", "session", "score"]), client="client",
                         session="session", measure="score")  # fmt: skip


def _client() -> pd.DataFrame:
    return pd.DataFrame({"client": "A", "session": range(6), "score": [27.0, 26, 24.5, 25, 21, 18],
                         "wai": [5.0, 5.1, 5.0, 3.6, 5.0, 5.1]})  # fmt: skip


def test_chart_has_expected_curve_status_colours_and_markers(reference, tmp_path) -> None:
    data = _client()
    exp = expected_response(reference, data, cutoff=19)
    rup = detect_ruptures(data, client="client", session="session", alliance="wai", sd_ref=0.3)
    fig = plot_monitor(data, client="client", session="session", measure="score", client_id="A", expected=exp,
                       ruptures=rup, cutoff=19)  # fmt: skip
    top, bottom = fig.axes
    assert top.get_title() == "Client A" and bottom.get_ylabel() == "wai" and bottom.get_xlabel() == "Session"
    labels = [t.get_text() for t in top.get_legend().get_texts()]
    assert "expected" in labels and "observed" in labels and "red bound (q 0.9)" in labels and "cut-off" in labels
    # markers coloured by status
    statuses = exp.table["status"].astype(str).tolist()
    faces = top.collections[-1].get_facecolors()
    expected_rgba = [plt.matplotlib.colors.to_rgba(STATUS_COLOURS[s]) for s in statuses]
    np.testing.assert_allclose(faces, expected_rgba)
    assert statuses[-1] == "white"
    assert top.collections[-1].get_array() is None  # drawn with these colours, not colour-mapped over them
    rupture_labels = [t.get_text() for t in bottom.get_legend().get_texts()]
    assert rupture_labels == ["rupture (trough)", "repair"]
    for ext in (".png", ".svg", ".pdf"):
        assert save_figure(fig if ext == ".png" else plot_monitor(data, client="client", session="session",
                           measure="score", client_id="A"), tmp_path / f"m{ext}").stat().st_size > 0  # fmt: skip
    plt.close("all")


def test_unresolved_marker_and_single_panel() -> None:
    data = pd.DataFrame({"client": 1, "session": range(1, 9), "score": 10.0,
                         "wai": [5.2, 5.3, 5.2, 5.3, 3.5, 3.6, 3.4, 3.6]})  # fmt: skip
    rup = detect_ruptures(data, client="client", session="session", alliance="wai", sd_ref=0.3)
    fig = plot_monitor(data, client="client", session="session", measure="score", client_id=1, ruptures=rup)
    assert [t.get_text() for t in fig.axes[1].get_legend().get_texts()] == ["rupture (trough)", "unresolved"]
    plt.close(fig)
    fig = plot_monitor(data, client="client", session="session", measure="score", client_id=1)
    assert len(fig.axes) == 1
    plt.close(fig)


def test_errors() -> None:
    data = _client()
    with pytest.raises(DataError, match="client 'B' not found"):
        plot_monitor(data, client="client", session="session", measure="score", client_id="B")
    with pytest.raises(DataError, match="column 'scores'"):
        plot_monitor(data, client="client", session="session", measure="scores", client_id="A")
    with pytest.raises(DataError, match="alliance column 'srs'"):
        plot_monitor(data, client="client", session="session", measure="score", client_id="A", alliance="srs")


def test_labels_are_plain_text(tmp_path) -> None:
    # a client id or column name with mathtext syntax is drawn as written (was ParseFatalException)
    data = pd.DataFrame({"client": "$\\foo{$", "session": range(4), "$y$": [20.0, 18, 15, 11]})
    fig = plot_monitor(data, client="client", session="session", measure="$y$", client_id="$\\foo{$")
    assert fig.axes[0].get_title() == "Client $\\foo{$" and fig.axes[0].get_ylabel() == "$y$"
    assert save_figure(fig, tmp_path / "odd.png").stat().st_size > 0


def test_write_monitor_figures_pdf_pages_and_progress(reference, tmp_path) -> None:
    from sciplab.plot.monitor import write_monitor_figures

    data = pd.concat([_client(), _client().assign(client="a/b"), _client().assign(client="$\\foo{$")])
    exp = expected_response(reference, data, cutoff=19)
    rup = detect_ruptures(data, client="client", session="session", alliance="wai", sd_ref=0.3)
    seen = []
    path = write_monitor_figures(tmp_path / "all.pdf", data, ["A", "a/b", "$\\foo{$"], client="client",
                                 session="session", measure="score", expected=exp, ruptures=rup, cutoff=19,
                                 progress=lambda done, total: seen.append((done, total)))  # fmt: skip
    assert seen == [(1, 3), (2, 3), (3, 3)]
    import re

    assert len(re.findall(rb"/Type\s*/Page\b", path.read_bytes())) == 3
    with pytest.raises(DataError, match="already exists"):
        write_monitor_figures(path, data, ["A"], client="client", session="session", measure="score")
    with pytest.raises(DataError, match="client 'Z' not found"):
        write_monitor_figures(tmp_path / "z.pdf", data, ["Z"], client="client", session="session", measure="score")
    with pytest.raises(DataError, match="must be .pdf"):
        write_monitor_figures(tmp_path / "z.jpg", data, ["A"], client="client", session="session", measure="score")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["all.pdf"]


def _pdf_pages(path) -> list[list[str]]:
    """Each page's text strings, in page order."""
    import re
    import zlib

    pages = []
    for raw in re.findall(rb"stream\r?\n(.*?)endstream", path.read_bytes(), re.S):
        body = zlib.decompress(raw).decode("latin-1")
        if " Tj" not in body and " TJ" not in body:
            continue  # a marker or font object, not a page
        texts = [m.replace("\\(", "(").replace("\\)", ")").replace("\\\\", "\\")
                 for m in re.findall(r"\(((?:[^()\\]|\\.)*)\) Tj", body)]  # fmt: skip
        pages.append(texts)
    return pages


def test_caseload_pages_show_their_own_client(reference, tmp_path, monkeypatch) -> None:
    # the pages are laid out once and drawn straight through the renderers: each page must show
    # only its own client's title, series, markers and legend entries
    from PIL import Image

    from sciplab.plot.monitor import write_monitor_figures

    steady = _client().assign(client="steady", wai=5.0)  # no rupture: no markers, no alliance legend
    data = pd.concat([_client(), steady, _client().assign(client="a/b"), _client().assign(client="$\\foo{$")])
    exp = expected_response(reference, data, cutoff=19)
    rup = detect_ruptures(data, client="client", session="session", alliance="wai", sd_ref=0.3)
    ids = ["A", "steady", "a/b", "$\\foo{$"]
    seen = []
    import sciplab.plot._monitor_pages as pages_module

    markers: list[int] = []  # markers drawn per page (the title closes a page)
    real_markers, real_text = pages_module.Canvas.markers, pages_module.Canvas.text

    def count_markers(self, xy, *args):
        markers[-1] += len(xy)
        return real_markers(self, xy, *args)

    def close_page(self, x, y, s, *args, **kwargs):
        if s.startswith("Client "):
            markers.append(0)
        return real_text(self, x, y, s, *args, **kwargs)

    markers.append(0)
    monkeypatch.setattr(pages_module.Canvas, "markers", count_markers)
    monkeypatch.setattr(pages_module.Canvas, "text", close_page)
    for target in (tmp_path / "all.pdf", tmp_path / "charts"):
        write_monitor_figures(target, data, ids, client="client", session="session", measure="score", expected=exp,
                              ruptures=rup, cutoff=19, progress=lambda *args: seen.append(args))  # fmt: skip
    assert seen == [(i, 4) for i in range(1, 5)] * 2
    pages = _pdf_pages(tmp_path / "all.pdf")
    assert [p[-1] for p in pages] == [f"Client {c}" for c in ids]  # the title is drawn last
    for texts in pages:
        assert {"score", "wai", "Session", "expected", "observed", "cut-off", "red bound (q 0.9)"} <= set(texts)
        assert sum(t.startswith("Client") for t in texts) == 1
    n_events = int((rup.table["client"] == "A").sum())  # one per rule (1 and 2 SD), each a trough + repair
    assert n_events > 0
    # per page (PDF, then the same for the PNGs): 6 scores and 6 alliance ratings; A and a/b also a
    # trough and a repair per event; legend markers: observed, and for A and a/b trough and repair
    per_page = [6 + 6 + 2 * n_events + 1 + 2, 6 + 6 + 1, 6 + 6 + 2 * n_events + 1 + 2, 6 + 6 + 2 * n_events + 1 + 2]
    assert markers[:-1] == per_page * 2
    for i in (0, 2):
        assert {"rupture (trough)", "repair"} <= set(pages[i])
    assert not {"rupture (trough)", "repair", "unresolved"} & set(pages[1])  # steady: no alliance legend
    pdf = (tmp_path / "all.pdf").read_bytes()
    assert b"/Title (Monitoring charts)" in pdf and b"/BaseFont /Helvetica" in pdf
    assert sorted(p.name for p in (tmp_path / "charts").iterdir()) == ["A.png", "a_b.png", "foo.png", "index.html",
                                                                     "steady.png"]  # fmt: skip
    with Image.open(tmp_path / "charts" / "A.png") as png:
        assert png.size == (650, 640)  # 6.5 x 6.4 in at 100 dpi
        pixels = np.asarray(png.convert("RGB"))
    yellow = np.all(np.abs(pixels.astype(int) - [252, 227, 183]) <= 12, axis=-1)  # the 30 % yellow zone
    assert yellow.sum() > 500
    assert not plt.get_fignums()  # no matplotlib figure left open


def test_pdf_text_outside_latin_1_is_kept(tmp_path) -> None:
    # Helvetica (the standard PDF font) cannot encode every id: those strings are set in an embedded font
    from sciplab.plot.monitor import write_monitor_figures

    data = pd.DataFrame({"client": ["Ωμέγα"] * 3 + ["B"] * 3, "session": [1, 2, 3] * 2, "y": [3.0, 2, 1, 1, 2, 3]})
    path = write_monitor_figures(tmp_path / "u.pdf", data, ["Ωμέγα", "B"], client="client", session="session",
                                 measure="y")  # fmt: skip
    pdf = path.read_bytes()
    assert b"/BaseFont /Helvetica" in pdf and b"DejaVuSans" in pdf
    pages = _pdf_pages(path)
    assert len(pages) == 2 and pages[1][-1] == "Client B"


def test_client_without_expected_curve_keeps_the_other_entries(reference) -> None:
    data = _client()
    exp = expected_response(reference, data, cutoff=19)
    empty_curve = type(exp)(table=exp.table, details=exp.details, curve=exp.curve.iloc[:0])
    fig = plot_monitor(data, client="client", session="session", measure="score", client_id="A", expected=empty_curve,
                       cutoff=19)  # fmt: skip
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["observed", "cut-off"]
    plt.close(fig)
