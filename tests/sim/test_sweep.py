import time

import pandas as pd
import pytest

from sciplab._core.errors import DataError, InvalidParameterError, SciplabError
from sciplab.sim import read_grid, sweep

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
    assert time.perf_counter() - t0 < 15


def test_local_cluster_matches_synchronous():
    grid = {"network.meet_rate": [0.3, 0.6]}
    local = sweep(grid, 1, fixed=FIXED, seed=9, n_workers=2)
    sync = sweep(grid, 1, fixed=FIXED, seed=9, scheduler="synchronous")
    pd.testing.assert_frame_equal(local.table, sync.table)
