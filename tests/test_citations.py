"""Nothing a user reads cites the developers' background notes (issue 10.16).

The notes under ``../shared/docs`` (``analysis-methods.md``, ``clinical-algorithms.md``, ...) are not
shipped: docstrings, messages, result details and the data files under ``src/sciplab`` cite the
papers they stand for, or the project's own ``docs/*.md``. The simulation (``sim/`` and the
``simulate`` command) is checked by its own room.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import sciplab

SRC = Path(sciplab.__file__).parent
SHARED_DOCS = Path(__file__).resolve().parents[1] / ".." / "shared" / "docs"
#: The background notes by name (also read from ../shared/docs when present, so a new note counts too).
NOTES = {"analysis-methods.md", "clinical-algorithms.md", "scip-model.md", "instruments.md", "simulation.md",
         "environment.md", "style.md"}  # fmt: skip
SKIP = ("sim/", "cli/simulate.py")


def _notes() -> set[str]:
    names = set(NOTES)
    if SHARED_DOCS.is_dir():
        names |= {p.name for p in SHARED_DOCS.glob("*.md")}
    # the project's own docs may be cited: docs/instrument-format.md and friends
    own = Path(__file__).resolve().parents[1] / "docs"
    return names - {p.name for p in own.glob("*.md")}


def _pattern(names: set[str]) -> re.Pattern[str]:
    # a note's name not preceded by a letter or '-' ("docs/instrument-format.md" is not "format.md")
    alternatives = "|".join(re.escape(n) for n in sorted(names))
    return re.compile(rf"(?<![\w-])(?:{alternatives})|shared/docs|§")


def _files() -> list[Path]:
    out = []
    for p in sorted(SRC.rglob("*")):
        rel = p.relative_to(SRC).as_posix()
        if p.is_file() and p.suffix in {".py", ".toml", ".json", ".md", ".txt", ".csv"} and not rel.startswith(SKIP):
            out.append(p)
    return out


def test_source_cites_papers_not_internal_notes() -> None:
    pattern = _pattern(_notes())
    bad = [
        f"{p.relative_to(SRC)}:{i}: {line.strip()}"
        for p in _files()
        for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert not bad, "cite the paper (author, year, title, journal, DOI) or docs/*.md instead:\n" + "\n".join(bad)


@pytest.mark.parametrize(
    ("line", "cites"),
    [
        ("intervals (analysis-methods.md section 2).", True),
        ("see ../shared/docs/scip-model.md", True),
        ("instruments.md §7.1", True),
        ("traffic lights (clinical-algorithms.md section 3)", True),
        ("The format is documented in ``docs/instrument-format.md``.", False),
        ("Jacobson & Truax (1991), https://doi.org/10.1037/0022-006X.59.1.12", False),
        ("SPSS syntax on GitHub: CLOSER-Cohorts/discovery-customisations, pages/sps.md", False),
    ],
)
def test_pattern_tells_internal_notes_from_citations(line: str, cites: bool) -> None:
    assert bool(_pattern(_notes()).search(line)) is cites
