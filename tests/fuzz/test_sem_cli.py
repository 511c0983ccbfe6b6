"""``sciplab fit`` with latent variables: hostile values for every SEM option (issue 14, issue 11 promises).

Each case starts from one of :data:`harness.SEM_BASELINES` in a fresh workspace and replaces one or
two values (or adds an option): exit code 0 or 2, no traceback, no file changed except the
declared outputs.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from . import harness as h
from .test_cli_options import _replace

FIT = h.command("fit")
SEM_OPTIONS = (
    "--engine", "--estimator", "--missing", "--group", "--group-equal", "--invariance", "--bootstrap",
    "--ci", "--level", "--seed", "--model", "--map", "--score", "--report", "--figure", "--json",
)  # fmt: skip


def test_every_sem_option_is_a_fit_option_and_in_a_baseline():
    opts = {o for p in FIT.params for o in p.opts}
    assert set(SEM_OPTIONS) <= opts
    used = {a for base in h.SEM_BASELINES for a in base}
    for flag in ("--engine", "--estimator", "--missing", "--group", "--group-equal", "--invariance", "-B", "--ci",
                 "--level", "--report", "--figure", "--json"):  # fmt: skip
        assert flag in used, flag


@pytest.mark.parametrize("base", range(len(h.SEM_BASELINES)))
def test_sem_baseline_runs_clean(base):
    with h.workspace() as ws:
        run = h.run_cli(h.SEM_BASELINES[base], ws, cmd=FIT)
    h.assert_clean(run)
    assert run.exit_code == 0, run.output


@st.composite
def sem_invocation(draw) -> list[str]:
    args = list(h.SEM_BASELINES[draw(st.integers(0, len(h.SEM_BASELINES) - 1))])[1:]
    params = [p for p in FIT.params if set(p.opts) & set(SEM_OPTIONS) or p.is_argument]
    for _ in range(draw(st.integers(1, 2))):
        p = draw(st.sampled_from(params))
        args = _replace(args, p, draw(h.value_for(p)), 0)
    return ["fit", *args]


def test_hostile_sem_option_values():
    @h.fuzz_settings(12)
    @given(args=sem_invocation())
    def check(args):
        with h.workspace() as ws:
            h.assert_clean(h.run_cli(args, ws, cmd=FIT))

    check()
