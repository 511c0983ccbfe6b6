"""scripts/audit_deps.py: the dependency audit run by .ci/run (no network: PyPI answers are faked)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

_PATH = Path(__file__).parents[1] / "scripts" / "audit_deps.py"
_spec = importlib.util.spec_from_file_location("audit_deps", _PATH)
assert _spec and _spec.loader
audit_deps = importlib.util.module_from_spec(_spec)
sys.modules["audit_deps"] = audit_deps  # dataclasses look their module up while the class is built
_spec.loader.exec_module(audit_deps)

REQS = """\
# via something
numpy==2.4.6 ; python_full_version < '3.12'
    # via pandas
numpy==2.5.5 ; python_full_version >= '3.12'
Jinja2==3.1.6
setuptools==59.8.0 ; sys_platform == 'darwin'
old_pkg==1.0 \\
"""


def _project(version: str, vulns: list[dict] | None = None) -> dict:
    return {"info": {"version": version}, "vulnerabilities": vulns or []}


def test_pins_are_normalised_and_unique() -> None:
    pins = audit_deps.read_pins(REQS + "jinja2==3.1.6\n")
    assert pins == [("numpy", "2.4.6"), ("numpy", "2.5.5"), ("jinja2", "3.1.6"), ("setuptools", "59.8.0"),
                    ("old-pkg", "1.0")]  # fmt: skip


def test_pip_audit_findings_win_and_skipped_ones_fall_back() -> None:
    pip_report = {
        "dependencies": [
            {"name": "Jinja2", "version": "3.1.6", "vulns": []},
            {
                "name": "numpy",
                "version": "2.4.6",
                "vulns": [{"id": "PYSEC-1", "aliases": ["CVE-1"], "fix_versions": ["2.4.7"]}],
            },  # fmt: skip
            {"name": "setuptools", "skip_reason": "Dependency not found on PyPI"},
        ]
    }
    asked = []

    def fetch(name: str) -> tuple[dict | None, str]:
        asked.append(name)
        return {
            "numpy": (_project("2.5.5"), ""),
            "setuptools": (_project("80.0", [{"id": "GHSA-x", "fixed_in": ["78.1.1"]}]), ""),
            "old-pkg": (None, "URLError: offline"),
        }[name]

    findings = audit_deps.audit(audit_deps.read_pins(REQS), pip_report, fetch=fetch)
    assert sorted(asked) == ["numpy", "old-pkg", "setuptools"]  # jinja2 and numpy 2.4.6 came from pip-audit
    by = {(f.name, f.version): f for f in findings}
    assert by[("numpy", "2.4.6")].vulns == ["PYSEC-1 (CVE-1), fixed in 2.4.7"]
    assert by[("numpy", "2.5.5")].source == "pypi-project" and not by[("numpy", "2.5.5")].vulns
    # an older locked version is never judged by the latest release's data
    assert by[("setuptools", "59.8.0")].source == "" and "latest 80.0" in by[("setuptools", "59.8.0")].why_not
    assert "offline" in by[("old-pkg", "1.0")].why_not
    text, status = audit_deps.report(findings)
    assert status == 1
    assert "VULNERABLE numpy 2.4.6: PYSEC-1 (CVE-1), fixed in 2.4.7" in text
    assert "3 of 5 locked packages audited (2 by pip-audit, 1 by PyPI's project data" in text
    assert "not audited: setuptools 59.8.0 (locked 59.8.0, latest 80.0" in text


def test_latest_release_vulnerability_fails_and_withdrawn_does_not() -> None:
    vulns = [{"id": "GHSA-a", "aliases": ["CVE-9"], "fixed_in": []}, {"id": "GHSA-w", "withdrawn": "2025-01-01"}]
    findings = audit_deps.audit([("pkg", "1.0")], None, fetch=lambda n: (_project("1.0", vulns), ""))
    assert findings[0].vulns == ["GHSA-a (CVE-9)"]
    assert audit_deps.report(findings)[1] == 1
    clean = audit_deps.audit([("pkg", "1.0")], None, fetch=lambda n: (_project("1.0", vulns[1:]), ""))
    assert audit_deps.report(clean) == (
        "dependency audit: 1 of 1 locked packages audited (0 by pip-audit, 1 by PyPI's project data for the "
        "latest release), no known vulnerability",
        0,
    )


def test_nothing_reachable_is_a_skip_not_a_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    findings = audit_deps.audit([("a", "1"), ("b", "2")], None, fetch=lambda n: (None, "URLError: down"))
    text, status = audit_deps.report(findings)
    assert status == 0 and text.startswith("dependency audit skipped: no vulnerability data")
    assert text.count("not audited:") == 2


def test_main_reads_files_and_tolerates_a_broken_report(tmp_path: Path, monkeypatch, capsys) -> None:
    req = tmp_path / "req.txt"
    req.write_text("a==1\n")
    bad = tmp_path / "audit.json"
    bad.write_text("{not json")
    monkeypatch.setattr(audit_deps, "fetch_project", lambda n, timeout=20.0: (_project("1"), ""))
    assert audit_deps.main([str(req), "--pip-audit", str(bad)]) == 0
    assert "1 of 1 locked packages audited" in capsys.readouterr().out
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"dependencies": [{"name": "a", "version": "1", "vulns": [{"id": "X"}]}]}))
    assert audit_deps.main([str(req), "--pip-audit", str(good)]) == 1
