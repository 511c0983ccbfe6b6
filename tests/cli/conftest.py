"""Builders shared by the CLI tests: an in-process runner and small data files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.scoring.conftest import phq
from typer.testing import CliRunner, Result

from sciplab.cli.main import app

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    """Run ``sciplab ARGS`` in-process (output is piped, as in a shell redirect)."""
    return CliRunner().invoke(app, [str(a) for a in args], env=env)


def phq_frame(rows: list[list[int]]) -> pd.DataFrame:
    """PHQ-9 item responses with the default column names PHQ9_1 ... PHQ9_9."""
    return phq(rows)


def phq_items(n: int = 300, seed: int = 3) -> pd.DataFrame:
    """``n`` respondents on PHQ-9 items driven by one trait (reliable, not degenerate)."""
    return phq(n=n, seed=seed)


def path_scores(n: int = 200, seed: int = 0) -> pd.DataFrame:
    """Scale scores for the scip-core template (attachment -> competencies -> support, distress)."""
    rng = np.random.default_rng(seed)
    anx, avo = rng.normal(size=n), rng.normal(size=n)
    sse = -0.3 * anx - 0.2 * avo + rng.normal(size=n)
    ea = -0.2 * anx - 0.3 * avo + rng.normal(size=n)
    sup = 0.3 * sse + 0.2 * ea + rng.normal(size=n)
    dis = -0.3 * sse - 0.2 * ea + 0.2 * anx + rng.normal(size=n)
    return pd.DataFrame(
        {"ECR_anxiety": anx, "ECR_avoidance": avo, "PSSE_total": sse, "TAS-20_total": -ea,
         "MSPSS_total": sup, "PHQ-9_total": dis}
    )  # fmt: skip


@pytest.fixture
def write_csv(tmp_path: Path) -> Callable[[pd.DataFrame, str], Path]:
    """Write a frame to ``tmp_path/name`` as CSV and return the path."""

    def _write(frame: pd.DataFrame, name: str = "data.csv") -> Path:
        path = tmp_path / name
        frame.to_csv(path, index=False)
        return path

    return _write


@pytest.fixture
def shared_data() -> Path:
    """The reference datasets folder (skips when absent)."""
    if not DATA.exists():
        pytest.skip(f"shared test data {DATA} not available")
    return DATA
