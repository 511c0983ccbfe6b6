import numpy as np
import pytest

from sciplab._core.errors import InvalidParameterError
from sciplab.sim import simulate
from sciplab.sim.params import TherapyParams
from sciplab.sim.policies import PolicyObservation, get_policy


def _obs(pref):
    pref = np.asarray(pref, float)
    z = np.zeros_like(pref)
    return PolicyObservation(pref, z + 0.6, z.astype(bool), pref.copy(), z, z)


def test_policies_move_as_documented():
    t = TherapyParams()
    obs = _obs([-1.0, 1.0])
    assert get_policy("fixed", t)[1](5, obs).tolist() == [0.0, 0.0]
    assert get_policy("complementary", t)[1](5, obs).tolist() == [-1.0, 1.0]
    scip = get_policy("scip", t)[1]
    assert scip(0, obs).tolist() == [-1.0, 1.0]  # engage first
    later = scip(5, obs)
    assert later[0] > -1.0 and later[1] < 1.0  # growing autonomy / growing engagement
    assert get_policy("disconfirming", t)[1](0, obs).tolist() == [1.0, -1.0]
    with pytest.raises(InvalidParameterError, match="did you mean"):
        get_policy("complementery", t)


def test_user_policy_and_bad_user_policy():
    def toward_secure(session, obs):
        return obs.preferred_distance * 0.5

    res = simulate(400, years=0.5, seed=1, policy=toward_secure, instruments=None)
    assert res.details["policy"] == "toward_secure"
    assert (res.sessions["policy"] == "toward_secure").all()
    with pytest.raises(InvalidParameterError, match="policy returned"):
        simulate(400, years=0.5, seed=1, policy=lambda s, o: np.zeros(2), instruments=None)


def test_sessions_are_long_and_consistent():
    res = simulate(800, years=1, seed=2, instruments=None)
    s, p = res.sessions, res.persons
    clients = p[p["in_therapy"]]
    assert len(clients) > 20
    counts = s.groupby("person_id").size()
    assert (counts == clients.set_index("person_id")["sessions_attended"].reindex(counts.index)).all()
    assert s["latent_alliance"].between(0, 1).all()
    assert set(s["latent_rupture_type"]) <= {"", "withdrawal", "confrontation"}
    assert (s.loc[s["latent_rupture"], "latent_rupture_type"] != "").all()


def test_scip_policy_yields_more_security_gain_than_complementary():
    gains = {}
    for pol in ("scip", "complementary"):
        res = simulate(1500, years=1, seed=7, policy=pol, instruments=None)
        c = res.persons[res.persons["in_therapy"]]
        gains[pol] = c["latent_security_gain"].mean()
    assert gains["scip"] > gains["complementary"]
