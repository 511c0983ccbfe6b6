"""Resampling of path models: the bootstrap run, the jackknife and Monte Carlo draws.

The bootstrap of :func:`sciplab.stats.paths.paths` is started as soon as the data are checked
(:class:`BootRun`): the resampling threads draw the replicates and estimate them (compiled, no
GIL) while the calling thread computes the point estimates, standard errors, fit measures and the
text of the result tables. :meth:`BootRun.finish` then gathers the replicate estimates as rows (one
row per statistic, ready to be sorted in place for the intervals,
:func:`sciplab.stats._bootstrap.sort_rows`). The values are those of a sequential run: each
replicate is computed by the same code whichever thread runs it and whenever it runs.

Split from ``paths.py`` so each module stays readable; only :mod:`sciplab.stats.paths` uses it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from sciplab.stats import _bootstrap as bs
from sciplab.stats import _formulas as kf
from sciplab.stats._path_model import _compiled_estimator, _Engine, _Model, _split_estimates, _use_compiled

DERIVE_SPAN = 2048
"""Replicates whose effects :meth:`BootRun.finish` derives at once (elementwise: any span, the same values)."""


def n_statistics(spec: _Model) -> int:
    """Statistics per replicate: parameters, R^2 of each equation, defined parameters, effects."""
    return len(spec.params) + len(spec.equations) + len(spec.user_defined) + len(spec.effects)


class BootRun:
    """A bootstrap of a path model, computed in the resampling threads from construction on.

    ``chunk_size`` sets the progress granularity and bounds memory; results do not depend on it
    (nor on ``threads``).
    """

    def __init__(
        self,
        engine: _Engine,
        spec: _Model,
        B: int,
        seed: int,
        chunk_size: int | None,
        *,
        threads: int | None = None,
    ) -> None:
        self.engine, self.spec, self.B = engine, spec, B
        resampler = bs.Resampler(engine.n, B, seed)
        self.size = chunk_size or min(2 * bs.BLOCK, bs.auto_chunk(engine.n, B, floats_per_row=3))
        # with the compiled kernels, the resampling threads also estimate each block (compiled, no
        # GIL); with numpy draws (small runs in a fresh process, no numba), the numpy engine estimates
        # batches of ~2,000 replicates in finish()
        self.compiled = _compiled_estimator(engine) if resampler.uses_kernels() and _use_compiled(B) else None
        self.batch = self.size if self.compiled is not None else max(self.size, min(2048, _estimate_batch(engine.q)))
        self.run = resampler.start_sums(engine.products, threads=threads, transform=self.compiled)

    def finish(self, progress: Callable[[int, int], None] | None, standardize: bool) -> tuple[np.ndarray, int]:
        """Replicate estimates as rows ``(D, B)`` (``(2 D, B)``: standardized below), failed replicates.

        Row order as the statistics of the parameter table (:func:`n_statistics`); a failed
        (singular) replicate is NaN in every row.
        """
        spec, engine, B = self.spec, self.engine, self.B
        P, E = len(spec.params), len(spec.equations)
        D = n_statistics(spec)
        rows = np.empty((2 * D if standardize else D, B))
        failed = 0
        # effects are sums of products of the parameters, element by element: the same values batch
        # by batch as at once; defined parameters (``:=``, which may call exp, log...) at once
        by_batch = not spec.user_defined
        pending: list[np.ndarray] = []
        n_pending = 0
        done = derived = 0
        for _, stop, values in self.run.chunks(self.size):
            pending.append(values)
            n_pending += values.shape[0]
            if n_pending >= self.batch or stop == B:
                block = np.concatenate(pending) if len(pending) > 1 else pending[0]
                # a resample may be degenerate (no variance, overflow): its values become NaN/inf and
                # count as failed replicates, so floating-point warnings would only repeat that
                with np.errstate(all="ignore"):
                    out = (
                        _split_estimates(block, P, E)
                        if self.compiled is not None
                        else engine.compute(kf.unpack_moments(block, engine.q))
                    )
                rows[:P, done:stop] = out["est"].T
                rows[P : P + E, done:stop] = out["r2"].T
                if standardize:
                    rows[D : D + P, done:stop] = out["std"].T
                    rows[D + P : D + P + E, done:stop] = out["r2"].T
                failed += int(out["failed"].sum())
                # the effects of the replicates so far while the threads draw the next ones, in spans
                # of DERIVE_SPAN or more (each effect costs a few numpy calls per span)
                if by_batch and (stop - derived >= DERIVE_SPAN or stop == B):
                    with np.errstate(all="ignore"):
                        _derive_rows(spec, rows[:D, derived:stop])
                        if standardize:
                            _derive_rows(spec, rows[D:, derived:stop])
                    derived = stop
                pending, n_pending, done = [], 0, stop
            if progress is not None:
                progress(stop, B)
        if not by_batch:  # the defined parameters and effects of all replicates at once
            with np.errstate(all="ignore"):
                _derive_rows(spec, rows[:D])
                if standardize:
                    _derive_rows(spec, rows[D:])
        return rows, failed

    def cancel(self) -> None:
        """Stop the blocks not started (a run abandoned by an error); a finished run is unaffected."""
        self.run.cancel()


def _derive_rows(spec: _Model, rows: np.ndarray) -> None:
    """Fill the defined parameters' and effects' rows from the parameter rows (layout of :meth:`BootRun.finish`)."""
    P, E, U = len(spec.params), len(spec.equations), len(spec.user_defined)
    spec.derived_rows(rows[:P], rows[P + E : P + E + U], rows[P + E + U :])


def bootstrap(
    engine: _Engine,
    spec: _Model,
    B: int,
    seed: int,
    chunk_size: int | None,
    progress: Callable[[int, int], None] | None,
    standardize: bool,
    *,
    threads: int | None = None,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Replicate estimates ``(B, D)`` (and standardized, NaN without ``standardize``), failed replicates.

    :class:`BootRun` from start to finish, as one call.
    """
    boot = BootRun(engine, spec, B, seed, chunk_size, threads=threads)
    try:
        rows, failed = boot.finish(progress, standardize)
    finally:
        boot.cancel()
    D = n_statistics(spec)
    reps = rows[:D].T
    return reps, rows[D:].T if standardize else np.full_like(reps, np.nan), failed


def _estimate_batch(q: int) -> int:
    """Replicates per call of :meth:`_Engine.compute` (about 200 MB of ``(R, q, q)`` temporaries)."""
    return int(max(bs.BLOCK, 2e8 // (32 * 8 * q * q)))


def stack(spec: _Model, out: Mapping[str, np.ndarray], key: str) -> np.ndarray:
    """``(R, D)``: the parameters ``out[key]``, R^2, defined parameters and effects side by side."""
    user, eff = spec.derived(out[key])
    return np.concatenate([out[key], out["r2"], user, eff], axis=1)


def jackknife(engine: _Engine, spec: _Model, chunk_size: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Leave-one-out estimates (raw and standardized) from the engine's downdated moments."""
    size = chunk_size or bs.auto_chunk(engine.n, engine.n, floats_per_row=1)
    parts, parts_std = [], []
    for _, _, sums in bs.jackknife_sums(engine.products, size):
        with np.errstate(all="ignore"):  # as in the bootstrap: degenerate leave-one-out fits are NaN
            out = engine.compute(kf.unpack_moments(sums, engine.q))
            parts.append(stack(spec, out, "est"))
            parts_std.append(stack(spec, out, "std"))
    return np.concatenate(parts), np.concatenate(parts_std)


def mc_draws(spec: _Model, est: np.ndarray, V: np.ndarray, R: int, seed: int) -> np.ndarray:
    """Monte Carlo draws (Preacher & Selig 2012): parameters ~ N(est, V), effects recomputed."""
    rng = np.random.default_rng(seed)
    free = np.flatnonzero(np.diagonal(V) > 0)
    draws = np.repeat(est[None, :], R, axis=0)
    if free.size:
        draws[:, free] = rng.multivariate_normal(est[free], V[np.ix_(free, free)], size=R, method="cholesky")
    user, eff = spec.derived(draws)
    r2 = np.full((R, len(spec.equations)), np.nan)
    return np.concatenate([draws, r2, user, eff], axis=1)
