import json
import time

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sciplab._core.errors import DataError, InvalidParameterError, SciplabError
from sciplab.sim import read_grid, sweep
from sciplab.sim.params import SimParams

FIXED = {"n_agents": 150, "years": 0.5, "followup_weeks": 4}


def test_grid_file_unknown_names_suggest(tmp_path):
    g = tmp_path / "g.toml"
    g.write_text('[grid]\n"network.meet_rat" = [0.1, 0.2]\n')
    with pytest.raises(DataError, match="did you mean .network.meet_rate."):
        read_grid(g)
    g.write_text("[grdi]\nn_agents = [10]\n")
    with pytest.raises(DataError, match="did you mean 'grid'"):
        read_grid(g)


def test_sweep_resumable_and_refuses_other_sweep(tmp_path):
    out = tmp_path / "sw"
    res = sweep({"therapy.policy": ["scip", "fixed"]}, 2, fixed=FIXED, seed=5, out=out, scheduler="synchronous")
    assert len(res.table) == 4 and len(list((out / "shards").glob("task-*.parquet"))) == 4
    (out / "shards" / "task-000001.parquet").unlink()
    again = sweep({"therapy.policy": ["scip", "fixed"]}, 2, fixed=FIXED, seed=5, out=out, scheduler="synchronous")
    pd.testing.assert_frame_equal(res.table, again.table, check_dtype=False)
    with pytest.raises(DataError, match="different sweep"):
        sweep({"therapy.policy": ["scip"]}, 2, fixed=FIXED, seed=5, out=out, scheduler="synchronous")
    assert len(res.by_point()) == 2


def test_unreachable_scheduler_fails_fast():
    t0 = time.perf_counter()
    with pytest.raises(SciplabError, match="cannot reach the Dask scheduler"):
        sweep({"therapy.policy": ["scip"]}, 1, fixed=FIXED, scheduler="tcp://127.0.0.1:9", timeout=1.5)
    assert time.perf_counter() - t0 < 90  # fails instead of hanging (generous: the machine is shared)


def test_results_do_not_depend_on_the_number_of_workers():
    """Seeds are spawned per task: 1 worker, 2 workers and no Dask give the same table, row for row."""
    grid = {"network.meet_rate": [0.3, 0.6]}
    two = sweep(grid, 2, fixed=FIXED, seed=9, n_workers=2)
    one = sweep(grid, 2, fixed=FIXED, seed=9, n_workers=1)
    sync = sweep(grid, 2, fixed=FIXED, seed=9, scheduler="synchronous")
    pd.testing.assert_frame_equal(two.table, sync.table)
    pd.testing.assert_frame_equal(one.table, sync.table)
    assert two.table["seed_spawn_key"].nunique() == 4  # one stream per task
    assert two.table["mean_distress"].nunique() == 4  # and the tasks differ


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('[grid]\n"network.meet_rate" = [[0.1], 0.2]\n', "network.meet_rate (value 1 in [grid]) must be a string"),
        ('[grid]\n"network.meet_rate" = [nan]\n', "must be a finite number"),
        ('[grid]\n"network.meet_rate" = [inf]\n', "must be a finite number"),
        ('[grid]\n"network.meet_rate" = [-5.0]\n', "network.meet_rate (value 1 in [grid])"),
        ('[grid]\n"therapy.policy" = ["scip", "scipp"]\n', "value 2 in [grid]"),
        ('[grid]\n"network.meet_rate" = []\n', "empty list"),
        ('[grid]\n"network.meet_rate" = [0.1]\n[fixed]\nn_agents = [1, 2]\n', "n_agents (in [fixed]) must be"),
        ("[grid]\nn_agents = [100]\n[fixed]\nn_agents = 200\n", "in both [grid] and [fixed]"),
        ("fixed = 3\n[grid]\nn_agents = [100]\n", "[fixed] must be a table"),
        ("grid = 1\n", "needs a [grid] table"),
        ('[grid]\n"network.meet_rate" = { a = 1 }\n', "got a table"),
    ],
)
def test_grid_file_fields_are_validated_with_file_and_field(tmp_path, text, fragment):
    g = tmp_path / "g.toml"
    g.write_text(text)
    with pytest.raises(DataError) as exc:
        read_grid(g)
    assert fragment in str(exc.value) and str(g) in str(exc.value)


def test_grid_file_binary_non_utf8_deep_and_wrong_extension(tmp_path):
    cases = {
        "bin.toml": b"\x00\x01\x02binary",
        "latin.toml": '[grid]\n"therapy.policy" = ["caf\u00e9"]\n'.encode("latin-1"),
        "deep.toml": b"[grid]\nn_agents = " + b"[" * 3000 + b"]" * 3000 + b"\n",
        "grid.json": b'{"grid": {"n_agents": [100]}}',
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(DataError, match=name):
            read_grid(tmp_path / name)


def test_sweep_refuses_too_many_tasks():
    with pytest.raises(InvalidParameterError, match="tasks; at most"):
        sweep({"network.meet_rate": [0.1] * 2000}, 1000, fixed=FIXED, scheduler="synchronous")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=300))
def test_grid_file_fuzz_only_data_errors(tmp_path, data):
    g = tmp_path / "fuzz.toml"
    g.write_bytes(data)
    try:
        grid, fixed = read_grid(g)
    except DataError:
        return
    assert isinstance(grid, dict) and grid and isinstance(fixed, dict)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    values=st.lists(
        st.one_of(
            st.floats(allow_nan=True),
            st.integers(-(10**6), 10**6),
            st.booleans(),
            st.text(st.characters(categories=["L", "N"]), max_size=8),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_grid_values_fuzz_accepted_values_are_valid_parameters(tmp_path, values):
    def toml(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, float):
            return {"nan": "nan", "inf": "inf", "-inf": "-inf"}.get(repr(v), repr(v))
        return json.dumps(v, ensure_ascii=False) if isinstance(v, str) else str(v)

    g = tmp_path / "v.toml"
    g.write_text('[grid]\n"network.meet_rate" = [' + ", ".join(map(toml, values)) + "]\n", encoding="utf-8")
    try:
        grid, _ = read_grid(g)
    except DataError as exc:
        assert "network.meet_rate" in str(exc)
        return
    assert all(0 <= float(v) <= 50 for v in grid["network.meet_rate"])


def test_sweep_refuses_a_grid_that_would_not_fit_in_memory():
    from sciplab.sim.sweep import estimate_memory_gib

    need = estimate_memory_gib(SimParams(n_agents=2_000_000))
    assert 2 < need < 10
    with pytest.raises(InvalidParameterError, match=r"needs about .* GiB per task"):
        sweep({"n_agents": [1000, 2_000_000]}, 1, scheduler="synchronous", max_memory_gib=1.0)


@pytest.fixture
def silent_server():
    """A TCP port that accepts connections and never answers (a stuck process, a non-Dask server)."""
    import socket
    import threading

    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    held = []

    def accept():
        while True:
            try:
                held.append(srv.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    yield f"tcp://127.0.0.1:{srv.getsockname()[1]}"
    srv.close()
    for conn in held:
        conn.close()


def test_a_scheduler_that_never_answers_fails_with_its_address(silent_server):
    with pytest.raises(
        SciplabError, match=r"cannot reach the Dask scheduler at 'tcp://127\.0\.0\.1:\d+' within 1\.5 s"
    ):
        sweep({"therapy.policy": ["scip"]}, 1, fixed=FIXED, scheduler=silent_server, timeout=1.5)


@pytest.mark.parametrize("timeout", [0, -1.0, float("nan"), float("inf"), 7200, "10", True])
def test_sweep_refuses_a_bad_timeout(timeout):
    with pytest.raises(InvalidParameterError, match="timeout must be"):
        sweep({"therapy.policy": ["scip"]}, 1, fixed=FIXED, scheduler="tcp://127.0.0.1:9", timeout=timeout)


def test_memory_refusal_states_estimate_and_limit_before_running(tmp_path):
    with pytest.raises(
        InvalidParameterError, match=r"needs about 2\.11 GiB per task .* more than the 0\.50 GiB memory budget"
    ):
        sweep({"n_agents": [1000, 1_000_000]}, 1, out=tmp_path / "sw", max_memory_gib=0.5)
    assert not (tmp_path / "sw").exists()  # refused before anything was written or started
    with pytest.raises(InvalidParameterError, match="max_memory_gib must be a positive number"):
        sweep({"n_agents": [1000]}, 1, scheduler="synchronous", max_memory_gib=0)


def test_a_remote_cluster_is_checked_against_its_worker_memory_limit():
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, memory_limit="1GiB", dashboard_address=":0") as cluster:
        with pytest.raises(InvalidParameterError, match="more than the 1.00 GiB memory limit of a worker at tcp://"):
            sweep({"n_agents": [1_000_000]}, 1, scheduler=cluster.scheduler_address)


def test_longest_tasks_go_first():
    from sciplab.sim.sweep import _priority_groups, _tasks, estimate_cost

    small, big = SimParams(n_agents=500), SimParams(n_agents=5000)
    assert estimate_cost(big) > estimate_cost(small)
    assert estimate_cost(SimParams(years=8.0)) > estimate_cost(SimParams(years=1.0))
    tasks = _tasks({"n_agents": [500, 5000, 1000]}, 2, seed=1)
    costs = [estimate_cost(SimParams(n_agents=t["point"]["n_agents"])) for t in tasks]
    groups = _priority_groups(tasks, costs)
    assert [[t["point"]["n_agents"] for t in g] for _, g in groups] == [[5000, 5000], [1000, 1000], [500, 500]]
    assert [level for level, _ in groups] == sorted((level for level, _ in groups), reverse=True)


def test_warm_up_runs_once_per_process():
    from sciplab.sim import _sweep_workers

    _sweep_workers._warm = False
    assert _sweep_workers.warm_up() is True
    assert _sweep_workers.warm_up() is False
