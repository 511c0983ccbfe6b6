"""The simulation cites papers, never the developers' background notes (issue 10.16, the sim room)."""

import re
from pathlib import Path

import sciplab

SRC = Path(sciplab.__file__).parent
NOTES = ("analysis-methods.md", "clinical-algorithms.md", "scip-model.md", "instruments.md", "simulation.md",
         "environment.md", "style.md")  # fmt: skip
PATTERN = re.compile(r"(?<![\w-])(?:" + "|".join(re.escape(n) for n in NOTES) + r")|shared/docs|§")


def test_sim_and_simulate_command_cite_papers_not_internal_notes():
    files = [*sorted((SRC / "sim").rglob("*.py")), SRC / "cli" / "simulate.py"]
    bad = [
        f"{p.relative_to(SRC)}:{i}: {line.strip()}"
        for p in files
        for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if PATTERN.search(line)
    ]
    assert not bad, "\n".join(bad)


def test_parameter_and_target_sources_cite_papers():
    from sciplab.sim.params import parameter_table
    from sciplab.sim.targets import TARGETS

    texts = [*parameter_table()["source"], *[t.source for t in TARGETS], *[t.note for t in TARGETS]]
    assert not [t for t in texts if PATTERN.search(t)]
