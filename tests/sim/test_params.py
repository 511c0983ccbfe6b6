import pytest

from sciplab._core.errors import InvalidParameterError
from sciplab.sim.params import SimParams, parameter_names, parameter_table


def test_defaults_and_update():
    p = SimParams()
    assert p.n_agents == 2000
    q = p.updated({"network.meet_rate": 0.2, "n_agents": 10})
    assert q.network.meet_rate == 0.2 and q.n_agents == 10 and p.network.meet_rate != 0.2


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"n_agents": -5}, "n_agents = -5 is out of range"),
        ({"n_agents": 10**9}, "n_agents"),
        ({"network.meet_rate": -1.0}, "network.meet_rate"),
        ({"therapy.policy": "scipp"}, "did you mean 'scip'"),
        ({"network.meet_rat": 1.0}, "did you mean 'network.meet_rate'"),
        ({"years": float("nan")}, "years"),
        ({"therapy.sessions": 2.5}, "whole number"),
    ],
)
def test_bad_values_name_parameter_and_range(change, fragment):
    with pytest.raises(InvalidParameterError) as exc:
        SimParams().updated(change)
    assert fragment in str(exc.value)


def test_parameter_table_lists_every_parameter_with_source():
    t = parameter_table()
    assert set(t["name"]) == set(parameter_names())
    assert t["source"].str.len().min() > 0


def test_sources_say_whether_the_value_is_taken_calibrated_or_inferred():
    t = parameter_table()
    assert set(t["basis"]) <= {"taken", "calibrated", "inferred", "standardisation"}
    taken = t[t["basis"] == "taken"]
    assert taken["source"].str.startswith("value taken from").all()
    calibrated = t[t["basis"] == "calibrated"]
    assert calibrated["source"].str.contains("value calibrated").all()
    # no design-document shorthand: papers (or [inference]) only
    assert not t["source"].str.contains(r"simulation\.md|scip-model\.md", regex=True).any()
    assert (t["unit"].str.len() > 0).sum() >= len(t) - 2  # every numeric parameter has a unit


def test_phase_code_has_no_bare_coefficients():
    """Every coefficient of the phase modules lives in the parameter dataclasses."""
    import ast
    import pathlib

    import sciplab.sim as sim

    allowed = {0.0, 0.5, 1.0, 12.0, 1e-3, 1e-4}  # neutral elements, scale midpoint, months per year, clips
    root = pathlib.Path(sim.__file__).parent
    found = []
    for name in ("childhood", "network", "therapy", "policies", "sessions", "model", "followup"):
        tree = ast.parse((root / f"{name}.py").read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, float) and node.value not in allowed:
                found.append((name, node.lineno, node.value))
    assert not found, found


def test_coefficient_changes_reach_the_phase_code():
    import numpy as np

    from sciplab.sim.childhood import run_childhood

    base = SimParams(n_agents=400, childhood_months=24)
    a = run_childhood(base, np.random.default_rng(1))
    b = run_childhood(base.updated({"childhood.sse_anxiety": 3.0}), np.random.default_rng(1))
    sse = 0  # COMPETENCIES order
    assert np.corrcoef(b.competencies[:, sse], b.anxiety)[0, 1] < np.corrcoef(a.competencies[:, sse], a.anxiety)[0, 1]
