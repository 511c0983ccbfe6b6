import numpy as np
import pandas as pd
import pytest

from sciplab._core.errors import DataError, InvalidParameterError
from sciplab.sim import simulate
from sciplab.sim.io import read_outputs


@pytest.fixture(scope="module")
def small():
    return simulate(400, years=1, seed=11)


def test_same_seed_same_output_different_seed_differs(small):
    again = simulate(400, years=1, seed=11)
    pd.testing.assert_frame_equal(small.persons, again.persons)
    pd.testing.assert_frame_equal(small.sessions, again.sessions)
    for k in small.items:
        pd.testing.assert_frame_equal(small.items[k], again.items[k])
    other = simulate(400, years=1, seed=12)
    assert not small.persons["latent_attachment_anxiety"].equals(other.persons["latent_attachment_anxiety"])


def test_result_contract(small):
    d = small.details
    assert d["seed"] == 11 and d["n_agents"] == 400 and "network.meet_rate" in d["parameters"]
    assert {"variable", "mean", "sd", "n"} <= set(small.table.columns)
    assert "SCIP simulation" in small.summary()
    assert small.to_dict()["details"]["seed"] == 11
    assert set(small.items) == {"ECR-S", "PBI", "TAS-20", "PSSE", "MSPSS", "IIP-32", "PHQ-9", "WAI-SR"}
    assert (small.items["ECR-S"]["wave"].unique().tolist()) == ["baseline", "followup"]
    assert set(small.items["WAI-SR"]["person_id"]) == set(small.persons.loc[small.persons["in_therapy"], "person_id"])
    assert {"ECR-S_anxiety", "PHQ-9_total", "PHQ-9_total_followup"} <= set(small.persons.columns)
    assert (small.ties["source"] != small.ties["target"]).all()


def test_seed_none_is_recorded_and_reproducible():
    a = simulate(100, years=0.2, instruments=None)
    b = simulate(100, years=0.2, seed=a.details["seed"], instruments=None)
    pd.testing.assert_frame_equal(a.persons, b.persons)


def test_bad_sizes():
    with pytest.raises(InvalidParameterError, match="n_agents"):
        simulate(-3)
    with pytest.raises(InvalidParameterError, match="years"):
        simulate(100, years=1000)
    with pytest.raises(InvalidParameterError, match="GiB"):
        simulate(
            params=__import__("sciplab.sim", fromlist=["SimParams"])
            .SimParams(n_agents=19_000_000)
            .updated({"network.max_ties": 1000})
        )


def test_write_refuses_existing_folder_and_keeps_user_files(small, tmp_path):
    out = tmp_path / "run"
    small.write(out, csv=True)
    assert (out / "persons.csv").exists() and (out / "items_PHQ-9.parquet").exists()
    with pytest.raises(DataError, match="already exists"):
        small.write(out)
    (out / "my_notes.txt").write_text("keep me")
    small.write(out, overwrite=True)
    assert (out / "my_notes.txt").read_text() == "keep me"
    back = read_outputs(out)
    assert len(back["persons"]) == 400 and back["details"]["seed"] == 11
    assert np.allclose(back["persons"]["latent_attachment_anxiety"], small.persons["latent_attachment_anxiety"])
