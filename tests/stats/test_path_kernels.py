"""The compiled estimation of path-model replicates (sciplab.stats._path_kernels) equals the numpy engine."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sciplab.stats import _bootstrap as bs
from sciplab.stats import _formulas as kf
from sciplab.stats._path_model import _compiled_estimator, _Engine, _split_estimates
from sciplab.stats.paths import _compile

MODELS = [
    "m1 ~ x\ny ~ m1 + x",
    "m1 ~ a1*x\nm2 ~ d21*m1 + a2*x\ny ~ b2*m2 + b1*m1 + x + w\ny ~ 1\nm1 ~~ m1\nx ~~ w\nser := a1*d21*b2",
    "m1 ~ x + w\nm2 ~ x + w\nm1 ~~ m2\nx ~~ w\nx ~ 1",
    "m1 ~ x\ny ~ m1 + 0.5*x + 0*w\ny ~ 1",
    "m1 ~ x\nm2 ~ x\ny1 ~ m1 + m2\ny2 ~ m1 + m2 + x",
]


def make_data(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x, w = rng.normal(size=n), rng.normal(size=n)
    m1 = 0.5 * x + rng.normal(size=n)
    m2 = 0.3 * m1 + 0.2 * x + rng.normal(size=n)
    y = 0.4 * m2 + 0.2 * m1 + 0.1 * x + 0.3 * w + rng.normal(size=n)
    y2 = 0.3 * m1 - 0.2 * m2 + rng.normal(size=n)
    return pd.DataFrame({"x": x, "w": w, "m1": m1, "m2": m2, "y": y, "y1": y, "y2": y2})


def _both(engine: _Engine, sums: np.ndarray) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    compiled = _compiled_estimator(engine)
    with np.errstate(all="ignore"):
        ref = engine.compute(kf.unpack_moments(sums, engine.q))
    return ref, _split_estimates(compiled(sums), len(engine.model.params), len(engine.model.equations))


@pytest.mark.parametrize("model", MODELS)
def test_compiled_estimates_equal_the_numpy_engine(model):
    df = make_data(250, seed=3)
    _, spec = _compile(model)
    engine = _Engine(spec, df[spec.variables].to_numpy(float))
    r = bs.Resampler(engine.n, 300, seed=8)
    sums = r.counts() @ engine.products
    sums = np.vstack([sums, engine.products.sum(axis=0)])  # and the full sample
    ref, got = _both(engine, sums)
    assert not ref["failed"].any()
    np.testing.assert_array_equal(got["failed"], ref["failed"])
    for key in ("est", "std", "r2"):
        np.testing.assert_array_equal(np.isnan(got[key]), np.isnan(ref[key]))
        np.testing.assert_allclose(got[key], ref[key], rtol=1e-12, atol=1e-12)


def test_compiled_singular_replicates_fail_as_in_the_numpy_engine():
    # a rare binary predictor (many resamples without a 1) and an exactly collinear resample
    rng = np.random.default_rng(0)
    n = 30
    x = np.zeros(n)
    x[:2] = 1.0
    w = rng.normal(size=n)
    m = x + rng.normal(size=n)
    y = m + 0.5 * w + rng.normal(size=n)
    df = pd.DataFrame({"x": x, "w": w, "m": m, "y": y})
    _, spec = _compile("m ~ x + w\ny ~ m + x + w")
    engine = _Engine(spec, df[spec.variables].to_numpy(float))
    counts = bs.Resampler(n, 400, seed=1).counts()
    near = np.zeros(n)
    near[[2, 3, 4]] = [10.0, 10.0, 10.0]  # three rows only: x constant, m, w collinear with the intercept
    sums = np.vstack([counts, near]) @ engine.products
    ref, got = _both(engine, sums)
    assert 10 < ref["failed"].sum() < 200 and ref["failed"][-1]
    np.testing.assert_array_equal(got["failed"], ref["failed"])
    for key in ("est", "std", "r2"):
        np.testing.assert_array_equal(np.isnan(got[key]), np.isnan(ref[key]))
        np.testing.assert_allclose(got[key], ref[key], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("model", [MODELS[1], "m1 ~ x + w\ny ~ m1 + x + w"])
def test_lanes_do_not_change_a_replicate(model):
    # replicates are estimated side by side in vector lanes: a replicate's numbers (bits) do not depend on
    # the lane width, on its neighbours (singular or not) or on its place in a partial last block
    from sciplab.stats import _path_kernels as pk

    n = 30
    df = make_data(n, seed=5)
    df["x"] = 0.0
    df.loc[:1, "x"] = 1.0  # a rare binary predictor: many singular resamples among regular ones
    _, spec = _compile(model)
    engine = _Engine(spec, df[spec.variables].to_numpy(float))
    counts = bs.Resampler(n, 203, seed=2).counts()
    sums = np.ascontiguousarray(counts @ engine.products)
    arrays = pk.plan(engine.model, engine.mean, engine.sd)
    width = 2 * len(engine.model.params) + len(engine.model.equations) + 1
    outs = {}
    for lanes in (1, 3, 8, pk.LANES, 256):
        out = np.full((sums.shape[0], width), -7.0)
        pk.estimate(sums, *arrays, kf.SINGULAR_TOL, lanes, out)
        outs[lanes] = out
    failed = outs[1][:, -1] == 1.0
    assert 5 < failed.sum() < 190  # both kinds of replicate, mixed within blocks
    assert not (outs[1] == -7.0).any()  # every row written
    for lanes, out in outs.items():
        assert out.tobytes() == outs[1].tobytes(), f"lanes={lanes}"


def test_estimation_kernel_is_compiled_only_when_cached_or_paid_for(tmp_path):
    # a fresh numba cache: the first runs estimate with numpy (no compile), a process that has
    # estimated enough compiles the kernel, and both give the same replicates
    import os
    import subprocess
    import sys

    code = """
import numpy as np, pandas as pd
from sciplab.stats import _bootstrap as bs, _path_kernels as pk
from sciplab.stats import _path_model as P
from sciplab.stats.paths import paths
rng = np.random.default_rng(0)
x = rng.normal(size=200); m = 0.5 * x + rng.normal(size=200); y = 0.4 * m + rng.normal(size=200)
df = pd.DataFrame({"x": x, "m": m, "y": y})
bs._kernels()
assert not pk.ready()
a = paths(df, "m ~ x; y ~ m + x", bootstrap=500, seed=3)
assert not pk.estimate.signatures, "compiled without need"
P._ESTIMATED[0] = P.COMPILE_ESTIMATION_AFTER
b = paths(df, "m ~ x; y ~ m + x", bootstrap=500, seed=3)
assert pk.estimate.signatures and pk.ready()
cols = ["est", "ci_lower", "ci_upper", "std_ci_lower", "std_ci_upper"]
np.testing.assert_allclose(a.table[cols].to_numpy(), b.table[cols].to_numpy(), rtol=1e-12, atol=1e-12)
print("ok")
"""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
