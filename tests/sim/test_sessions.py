"""Sessions as a clinic records them, and ``monitor`` on simulated clients (sciplab.sim.sessions)."""

import contextlib

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from sciplab._core.errors import DataWarning, InvalidParameterError, KeyNotVerifiedError
from sciplab.cli.main import app
from sciplab.scoring import score
from sciplab.sim import simulate
from sciplab.sim.sessions import resolve_session_instruments
from sciplab.stats.change import client_change, detect_ruptures


@pytest.fixture(scope="module")
def run():
    return simulate(1500, years=1, seed=31, instruments=["ECR-S", "PSSE", "TAS-20", "MSPSS", "PHQ-9"])


def test_session_table_columns_and_scores_match_the_scorer(run):
    s = run.sessions
    for col in ("person_id", "session", "policy", "dropped_out", "CORE-10_total", "WAI-SR_total",
                "therapist_distance_rating", "latent_alliance", "latent_distress", "latent_rupture"):  # fmt: skip
        assert col in s, col
    # every non-latent column is something a clinic records: no latent name without the prefix
    assert not {"alliance", "distress", "tension", "rupture", "alliance_rating"} & set(s.columns)
    items = s[[c for c in s.columns if c.startswith("CORE10_")]]
    assert items.shape[1] == 10 and items.isin(range(5)).all().all()
    rescored = score(items, "CORE-10").scores["CORE-10_total"]
    np.testing.assert_array_equal(rescored.to_numpy(), s["CORE-10_total"].to_numpy())
    assert s["therapist_distance_rating"].between(1, 7).all()
    assert run.details["session_instruments"] == ["CORE-10", "WAI-SR"]


def test_session_measures_track_the_latent_truth(run):
    s = run.sessions
    assert np.corrcoef(s["CORE-10_total"], s["latent_distress"])[0, 1] > 0.85
    assert np.corrcoef(s["WAI-SR_total"], s["latent_alliance"])[0, 1] > 0.85
    gap = s["latent_therapist_distance"] - s["latent_preferred_distance"]
    assert np.corrcoef(s["therapist_distance_rating"], gap)[0, 1] > 0.5
    by_session = s.groupby("session")[["CORE-10_total", "WAI-SR_total"]].mean()
    # therapy helps on average: outcome falls and alliance rises from the first to the last session
    assert by_session["CORE-10_total"].iloc[-1] < by_session["CORE-10_total"].iloc[0] - 2
    assert by_session["WAI-SR_total"].iloc[-1] > by_session["WAI-SR_total"].iloc[0]


def test_monitor_library_runs_on_simulated_sessions(run):
    s = run.sessions
    kw = {"client": "person_id", "session": "session"}
    single = int((s.groupby("person_id").size() == 1).sum())  # dropped out after the first session
    with pytest.warns(DataWarning, match=f"{single} client") if single else contextlib.nullcontext():
        change = client_change(s, **kw, measure="CORE-10_total", rc_points=6, cutoff=10)
    t = change.table
    assert set(t["client"]) == set(s["person_id"])
    two = t[t["n_sessions"] >= 2]
    # improvement = pre - post on a measure where higher is worse; mean improvement is positive
    assert two["improvement"].mean() > 0
    rup = detect_ruptures(s, **kw, alliance="WAI-SR_total")
    assert len(rup.table) > 0
    # clients with a detected rupture (alliance drop in WAI-SR scores) truly ruptured more often
    true_ruptures = s.groupby("person_id")["latent_rupture"].sum()
    detected = true_ruptures.index.isin(rup.table["client"])
    assert true_ruptures[detected].mean() > true_ruptures[~detected].mean()


def test_monitor_and_formulate_cli_on_simulated_output(tmp_path):
    out = tmp_path / "sim"
    runner = CliRunner()
    res = runner.invoke(app, ["simulate", "run", "--agents", "600", "--years", "0.5", "--seed", "3",
                              "--instruments", "ECR-S,PSSE,TAS-20,MSPSS,PHQ-9", "--out", str(out)])  # fmt: skip
    assert res.exit_code == 0, res.output
    mon = runner.invoke(app, ["monitor", str(out / "sessions.parquet"), "--client-col", "person_id",
                              "--measure", "CORE-10_total", "--alliance", "WAI-SR_total",
                              "--instrument", "CORE-10", "--scale", "total", "--json"])  # fmt: skip
    assert mon.exit_code == 0, mon.output
    persons = pd.read_parquet(out / "persons.parquet")
    client = str(int(persons.loc[persons["in_therapy"], "person_id"].iloc[0]))
    form = runner.invoke(app, ["formulate", str(out / "persons.parquet"), "--id-col", "person_id",
                               "--client", client])  # fmt: skip
    assert form.exit_code == 0, form.output


def test_session_instruments_must_measure_distress_or_alliance():
    assert resolve_session_instruments(None) == []
    for bad in ("ECR-S", "PHQ-9"):
        with pytest.raises(InvalidParameterError, match=f"{bad} cannot be given after each session"):
            resolve_session_instruments([bad])
    with pytest.raises(KeyNotVerifiedError):
        resolve_session_instruments(["CATS"])


def test_no_session_instruments_keeps_latent_records():
    res = simulate(500, years=0.5, seed=2, instruments=None, session_instruments=None)
    s = res.sessions
    assert "CORE-10_total" not in s and "latent_alliance" in s and "therapist_distance_rating" in s
