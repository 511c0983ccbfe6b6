"""``sciplab demo``: every hint it prints works when followed."""

from __future__ import annotations

import re
import shlex

import pytest
from tests.cli.conftest import invoke

from sciplab.cli.demo import next_steps
from sciplab.datasets import example_path


def test_the_next_hint_works_on_the_bundled_data(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    shown = invoke("demo", "--report", "", "--bootstrap", "200")
    assert shown.exit_code == 0, shown.output
    hints = re.findall(r"`(sciplab [^`]+)`", shown.stdout)
    assert hints == next_steps(), shown.stdout
    for hint in hints:
        args = shlex.split(hint.replace("YOUR.csv", example_path()))[1:]
        if args[0] == "fit":
            args += ["-B", "200"]  # fewer resamples than the default, same command otherwise
        res = invoke(*args)
        assert res.exit_code == 0, (hint, res.output)
    assert (tmp_path / "scored.csv").exists() and (tmp_path / "report.html").exists()
