"""Writing and reading simulation folders through _core.files (sciplab.sim.io)."""

import os

import pytest

from sciplab._core.errors import DataError
from sciplab.sim import simulate
from sciplab.sim.io import check_output_folder, read_outputs, write_outputs


@pytest.fixture(scope="module")
def small():
    return simulate(150, years=0.3, seed=5, instruments=["PHQ-9"])


def test_output_folder_rules(small, tmp_path):
    a_file = tmp_path / "persons.csv"
    a_file.write_text("x\n1\n")
    with pytest.raises(DataError, match="is not a folder"):
        write_outputs(small, a_file)
    assert a_file.read_text() == "x\n1\n"  # never replaced
    with pytest.raises(DataError, match="parent folder"):
        check_output_folder(tmp_path / "no" / "such" / "run")
    empty = tmp_path / "empty"
    empty.mkdir()
    written = write_outputs(small, empty)  # an empty folder is fine
    assert {os.path.basename(p) for p in written} >= {"persons.parquet", "sessions.parquet", "details.json"}
    assert not [p for p in empty.iterdir() if p.name.startswith(".")]  # no temporary files left


def test_overwrite_never_replaces_an_input_hard_link(small, tmp_path):
    run = tmp_path / "run"
    write_outputs(small, run)
    precious = tmp_path / "precious.parquet"
    os.link(run / "persons.parquet", precious)
    from sciplab._core.files import protect_inputs
    from sciplab._core.io import read_data

    with protect_inputs():
        read_data(precious)
        with pytest.raises(DataError, match="input"):
            write_outputs(small, run, overwrite=True)
    assert (run / "persons.parquet").samefile(precious)


def test_read_outputs_checks_details(small, tmp_path):
    run = tmp_path / "run"
    write_outputs(small, run)
    assert read_outputs(run)["details"]["seed"] == 5
    (run / "details.json").write_bytes(b"\xff\xfe not json")
    with pytest.raises(DataError, match="details.json"):
        read_outputs(run)
    (run / "details.json").write_text("[1, 2]")
    with pytest.raises(DataError, match="JSON object"):
        read_outputs(run)
