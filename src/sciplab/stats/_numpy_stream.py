"""The resampling stream in numpy: counts of unstratified replicates without the compiled kernels.

The stream of :mod:`sciplab.stats._resample_kernels` (SplitMix64 per replicate, two 32-bit
candidates per output, Lemire's multiply-shift with rejection), vectorised over replicates and
draws, for processes that have not loaded numba (:data:`sciplab.stats._bootstrap.NUMPY_DRAWS`).
Its counts equal the kernels' exactly (tested); split from :mod:`sciplab.stats._bootstrap` so each
module stays readable.
"""

from __future__ import annotations

import numpy as np

_NUMPY_SLICE = 2**16
"""Draws per numpy slice (a few MB of temporaries)."""

_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def _mix_inplace(z: np.ndarray) -> np.ndarray:
    """The SplitMix64 finaliser of :mod:`sciplab.stats._resample_kernels`, in place on uint64 arrays."""
    z ^= z >> np.uint64(30)
    z *= _MIX1
    z ^= z >> np.uint64(27)
    z *= _MIX2
    z ^= z >> np.uint64(31)
    return z


def _candidates(state: np.ndarray, first: int, outputs: int, m: np.uint64) -> np.ndarray:
    """``u * m`` for the candidates of outputs ``first + 1 .. first + outputs`` of each stream.

    ``(len(state), 2 outputs)`` uint64: the upper then the lower half of each output, in stream order.
    """
    t = np.arange(first + 1, first + outputs + 1, dtype=np.uint64) * _GAMMA
    with np.errstate(over="ignore"):
        z = _mix_inplace(state[:, None] + t[None, :])
        x = np.empty((state.size, 2 * outputs), dtype=np.uint64)
        np.right_shift(z, np.uint64(32), out=x[:, 0::2])
        np.bitwise_and(z, np.uint64(0xFFFFFFFF), out=x[:, 1::2])
        x *= m
    return x


def numpy_counts(key: np.uint64, lo: int, out: np.ndarray) -> None:
    """Counts of unstratified replicates ``lo ..`` into ``out`` (``(reps, n)``), drawn with numpy.

    The stream of :mod:`sciplab.stats._resample_kernels` (SplitMix64 per replicate, two 32-bit
    candidates per output, Lemire's multiply-shift with rejection), vectorised over replicates and
    draws: the first ``n`` candidates of every replicate at once; the rare replicate with a
    rejected candidate gets further outputs until ``n`` are accepted (also vectorised). Counts
    equal ``fill_counts`` exactly (tested).
    """
    reps, n = out.shape
    m = np.uint64(n)
    threshold = np.uint64((2**32 - n) % n)
    low = np.uint64(0xFFFFFFFF)
    outputs = (n + 1) // 2
    with np.errstate(over="ignore"):
        state = _mix_inplace(np.uint64(key) ^ _mix_inplace(np.arange(lo + 1, lo + reps + 1, dtype=np.uint64) * _GAMMA))
    rows = max(1, _NUMPY_SLICE // n)
    for a in range(0, reps, rows):
        b = min(reps, a + rows)
        x = _candidates(state[a:b], 0, outputs, m)
        pos = (x[:, :n] >> np.uint64(32)).astype(np.intp)
        rejected = np.flatnonzero(((x[:, :n] & low) < threshold).any(axis=1))
        if rejected.size:
            pos[rejected] = _redraw(state[a:b][rejected], x[rejected], m, threshold, n)
        pos += (np.arange(b - a) * n)[:, None]
        out[a:b] = np.bincount(pos.ravel(), minlength=(b - a) * n).reshape(b - a, n)


def _redraw(state: np.ndarray, x: np.ndarray, m: np.uint64, threshold: np.uint64, n: int) -> np.ndarray:
    """Positions of replicates whose candidates ``x`` (of their first outputs) include rejected ones.

    Candidates of further outputs are generated until ``n`` are accepted; then the first ``n``
    accepted positions of every replicate are returned (vectorised over the replicates).
    """
    low = np.uint64(0xFFFFFFFF)
    while True:
        accepted = (x & low) >= threshold
        if (accepted.sum(axis=1) >= n).all():
            break
        more = _candidates(state, x.shape[1] // 2, max(16, n // 16), m)
        x = np.concatenate([x, more], axis=1)
    keep = accepted & (np.cumsum(accepted, axis=1) <= n)
    return (x[keep] >> np.uint64(32)).astype(np.intp).reshape(x.shape[0], n)
