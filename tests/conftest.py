"""Shared pytest configuration."""

from __future__ import annotations

# ---- hypothesis profiles (fuzz room) -------------------------------------------------------------
# "default" and "ci": reproducible runs (derandomized, no deadline: CI machines are shared and slow);
# the fuzz suite (tests/fuzz) scales its example counts from max_examples (harness.scaled).
# "fuzz": a deeper, randomized run, e.g. `uv run --locked pytest tests/fuzz --hypothesis-profile=fuzz`.
# The hypothesis pytest plugin loads --hypothesis-profile after this file, so the option wins.
from hypothesis import Phase, settings

# no shrinking by default: a failing case is reported as found (shrinking a slow CLI case costs minutes)
_QUICK = [Phase.explicit, Phase.reuse, Phase.generate, Phase.target]
settings.register_profile("default", max_examples=100, deadline=None, derandomize=True, print_blob=True, phases=_QUICK)
settings.register_profile("ci", max_examples=100, deadline=None, derandomize=True, print_blob=True, phases=_QUICK)
settings.register_profile("fuzz", max_examples=2000, deadline=None, derandomize=False, print_blob=True)
settings.load_profile("default")
# ---- end of hypothesis profiles ----------------------------------------------------------------------
