"""Audit the locked dependencies for known vulnerabilities (run by ``.ci/run``).

    uv export --format requirements-txt --locked --all-groups --no-hashes --no-emit-project -o req.txt
    pip-audit -r req.txt --no-deps --disable-pip --format json --output audit.json   # may fail offline
    python scripts/audit_deps.py req.txt [--pip-audit audit.json]

Two sources of vulnerability data, best first:

1. **pip-audit's report** (PyPI's per-version JSON API, backed by the PyPA advisory database / OSV),
   for every package it could look up.
2. **PyPI's project JSON** (``https://pypi.org/pypi/<name>/json``) for the packages pip-audit could
   not look up. Its ``vulnerabilities`` list describes the project's *latest* release only, so it
   audits a package exactly when the locked version is that release; an older locked version is
   listed as not audited, with the latest version beside it (upgrade or check it by hand).

Exit status: 1 when any audited package has a known, not withdrawn vulnerability (each printed with
its identifiers and fixed versions); 0 otherwise, with a count of the packages audited and a list
of those that could not be.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import urllib.request
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

PYPI_PROJECT = "https://pypi.org/pypi/{name}/json"
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


@dataclass
class Finding:
    """One locked package and what the audit learned about it."""

    name: str
    version: str
    source: str = ""  # "pip-audit" or "pypi-project"; empty when not audited
    vulns: list[str] = field(default_factory=list)
    why_not: str = ""  # reason it could not be audited


def read_pins(text: str) -> list[tuple[str, str]]:
    """``(name, version)`` of every ``name==version`` line of a requirements file, markers ignored, once each."""
    pins: dict[tuple[str, str], None] = {}
    for line in text.splitlines():
        m = _PIN.match(line.strip())
        if m:
            pins[(_norm(m.group(1)), m.group(2))] = None
    return list(pins)


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _describe(vid: str, aliases: Iterable[str], fixed: Iterable[str]) -> str:
    alias = [a for a in aliases if a != vid]
    fixed = list(fixed)
    return vid + (f" ({', '.join(alias)})" if alias else "") + (f", fixed in {', '.join(fixed)}" if fixed else "")


def from_pip_audit(report: dict) -> dict[tuple[str, str], Finding]:
    """Findings for the packages pip-audit looked up (those it skipped are left out)."""
    found = {}
    for dep in report.get("dependencies", []):
        if dep.get("skip_reason") or "version" not in dep:
            continue
        vulns = [_describe(v["id"], v.get("aliases", []), v.get("fix_versions", [])) for v in dep.get("vulns", [])]
        key = (_norm(dep["name"]), dep["version"])
        found[key] = Finding(key[0], key[1], "pip-audit", vulns)
    return found


def from_project_json(name: str, version: str, project: dict | None, error: str = "") -> Finding:
    """A finding from PyPI's project JSON: audited only when ``version`` is the project's latest release."""
    if project is None:
        return Finding(name, version, why_not=f"PyPI project data unavailable ({error or 'no answer'})")
    latest = str(project.get("info", {}).get("version", ""))
    if latest != version:
        return Finding(name, version, why_not=f"locked {version}, latest {latest or '?'}: no per-version data")
    vulns = [
        _describe(v.get("id", "?"), v.get("aliases") or [], v.get("fixed_in") or [])
        for v in project.get("vulnerabilities") or []
        if not v.get("withdrawn")
    ]
    return Finding(name, version, "pypi-project", vulns)


def fetch_project(name: str, timeout: float = 20.0) -> tuple[dict | None, str]:
    """PyPI's project JSON for ``name``, or ``(None, reason)``."""
    try:
        with urllib.request.urlopen(PYPI_PROJECT.format(name=name), timeout=timeout) as answer:  # noqa: S310
            return json.load(answer), ""
    except Exception as exc:  # any network or decoding failure leaves the package un-audited, with the reason
        return None, f"{type(exc).__name__}: {exc}"[:120]


def audit(
    pins: list[tuple[str, str]],
    pip_audit_report: dict | None,
    fetch: Callable[[str], tuple[dict | None, str]] | None = None,
) -> list[Finding]:
    """Every pin's finding: pip-audit's where it has one, else PyPI's project JSON (``fetch``, default PyPI)."""
    get = fetch or fetch_project
    known = from_pip_audit(pip_audit_report or {})
    todo = [p for p in pins if p not in known]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda p: get(p[0]), todo))
    rest = {p: from_project_json(p[0], p[1], proj, err) for p, (proj, err) in zip(todo, answers, strict=True)}
    return [known.get(p) or rest[p] for p in pins]


def report(findings: list[Finding]) -> tuple[str, int]:
    """The printed report and the exit status."""
    lines = []
    vulnerable = [f for f in findings if f.vulns]
    audited = [f for f in findings if f.source]
    for f in vulnerable:
        lines.append(f"VULNERABLE {f.name} {f.version}: {'; '.join(f.vulns)}")
    by = {s: sum(f.source == s for f in audited) for s in ("pip-audit", "pypi-project")}
    if not audited:
        lines.append(f"dependency audit skipped: no vulnerability data could be fetched for any of the {len(findings)}"
                     " locked packages")  # fmt: skip
    else:
        lines.append(
            f"dependency audit: {len(audited)} of {len(findings)} locked packages audited "
            f"({by['pip-audit']} by pip-audit, {by['pypi-project']} by PyPI's project data for the latest release), "
            + (f"{len(vulnerable)} with a known vulnerability" if vulnerable else "no known vulnerability")
        )
    for f in findings:
        if not f.source:
            lines.append(f"  not audited: {f.name} {f.version} ({f.why_not})")
    return "\n".join(lines), 1 if vulnerable else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("requirements", type=Path, help="requirements file from `uv export` (name==version lines)")
    ap.add_argument("--pip-audit", type=Path, help="pip-audit's JSON report, when it produced one")
    args = ap.parse_args(argv)
    pins = read_pins(args.requirements.read_text())
    pip_report = None
    if args.pip_audit and args.pip_audit.is_file():
        try:
            pip_report = json.loads(args.pip_audit.read_text())
        except ValueError:
            pip_report = None
    text, status = report(audit(pins, pip_report))
    print(text)
    return status


if __name__ == "__main__":
    sys.exit(main())
