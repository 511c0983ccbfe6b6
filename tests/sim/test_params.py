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
