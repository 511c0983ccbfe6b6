"""Which expected-response reference the views use, the shipped default, and the SVG charts' safety."""

from __future__ import annotations

import datetime as dt
import math
import re

import numpy as np
import pytest

from sciplab.stats.change import Reference
from sciplab.web.models import Client, ClientIdentity, Episode, Response, Score, TherapySession
from sciplab.web.views import reference as vref
from sciplab.web.views import service as vs
from sciplab.web.views import svg


def test_default_reference_file_is_a_valid_reference():
    ref = Reference.load(vref.DEFAULT_FILES["CORE-10_total"])
    assert ref.method == "hlm" and ref.columns["measure"] == "CORE-10_total"
    assert ref.fit["n_clients"] >= 100 and ref.fit["session_max"] >= 10
    # CORE-10 improves over therapy on average: the log-time slope at the mean intake is negative
    slope = dict(zip(ref.fit["fe_names"], ref.fit["fe"], strict=True))["log_time"]
    assert slope < 0
    chosen = vref.default_reference("CORE-10_total")
    assert chosen.source == "default" and str(vref.DEFAULT_SIMULATION["seed"]) in chosen.description
    assert vref.default_reference("PHQ-9_total") is None


@pytest.mark.slow
def test_default_reference_file_is_what_the_code_fits():
    saved = Reference.load(vref.DEFAULT_FILES["CORE-10_total"])
    again = vref.build_default_reference("CORE-10_total")
    np.testing.assert_allclose(again.fit["fe"], saved.fit["fe"], rtol=1e-6)
    assert again.fit["n_obs"] == saved.fit["n_obs"]


def _closed_cases(db, n: int, prefix: str = "REF", seed: int = 5) -> None:
    """``n`` closed episodes with intake and six session CORE-10 totals improving along ln(t + 1)."""
    rng = np.random.default_rng(seed)
    start = dt.date(2026, 1, 5)
    for k in range(n):
        c = Client(code=f"C-{prefix}{k:03d}")
        db.add(c)
        db.flush()
        db.add(ClientIdentity(client_id=c.id, name=f"Ref {k}"))
        ep = Episode(client_id=c.id, started_on=start, ended_on=start + dt.timedelta(weeks=8))
        db.add(ep)
        db.flush()
        intake, slope = float(rng.integers(15, 30)), float(rng.normal(-4, 1.5))
        for s in range(0, 7):
            sess = None
            if s:
                sess = TherapySession(episode_id=ep.id, number=s, date=start + dt.timedelta(weeks=s))
                db.add(sess)
                db.flush()
            at = dt.datetime.combine(start + dt.timedelta(weeks=s), dt.time(9), tzinfo=dt.UTC)
            r = Response(client_id=c.id, episode_id=ep.id, session_id=sess.id if sess else None,
                         instrument_id="CORE-10", source="test", submitted_at=at)  # fmt: skip
            db.add(r)
            db.flush()
            y = intake + slope * math.log(s + 1) + rng.normal(0, 2)
            db.add(Score(response_id=r.id, scale="total", value=float(min(40, max(0, round(y))))))
    db.flush()


def test_the_clinic_reference_replaces_the_default_at_30_closed_cases(app):
    with app.state.clinic.tx() as db:
        _closed_cases(db, vref.MIN_CLINIC_CASES - 1)
        assert vs.choose_reference(db, "CORE-10_total").source == "default"
    with app.state.clinic.tx() as db:
        _closed_cases(db, 1, prefix="ONE", seed=9)
        chosen = vs.choose_reference(db, "CORE-10_total")
    assert chosen.source == "clinic" and chosen.reference.fit["n_clients"] == vref.MIN_CLINIC_CASES
    assert "closed episodes of this clinic" in chosen.description


def test_svg_escapes_text_and_skips_missing_points():
    out = str(
        svg.line_chart(
            "<b>title</b>",
            'desc "quoted" & more',
            [svg.Line("a<script>", [(0, 1.0), (1, float("nan")), (2, None), (3, 2.0)], "observed")],
            hlines=[("cut & off", 1.5, "cutoff")],
        )  # fmt: skip
    )
    assert "<b>" not in out and "&lt;b&gt;title&lt;/b&gt;" in out and "&amp; more" in out
    assert "<script>" not in out and "a&lt;script&gt;" in out
    assert len(re.findall(r"<circle ", out)) == 2  # NaN and None are not drawn
    assert "style=" not in out and 'role="img"' in out
