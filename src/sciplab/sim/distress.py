"""Distress: the Cramer et al. (2016) Ising-type symptom network, one per agent (weekly steps).

Implements (Cramer et al. 2016, as in the published R code)::

    A_j(t) = c * sum_i W_ji X_i(t-1) + E(t)
    p_j(t) = 1 / (1 + exp(a_j * (b_j - A_j(t))))
    X_j(t) ~ Bernoulli(p_j(t))                       (synchronous heat-bath update)

with the published ``a``, ``b`` and 13-edge binary symmetric ``W``. SCIP coupling ([inference]):
connectivity ``c_i = c0 + c_anx * anxiety_i - c_EA * awareness_i``
(reactivity raises it, awareness lowers it); external field
``E_i = E0 + life-event stress_i - lambda_S * perceived support_i + lambda_L * loneliness_i``.
Symptom intensity (the latent PHQ-9 item level) is an exponential moving average of ``p_j``.

:func:`hysteresis` reproduces the paper's hysteresis experiment (``E(t) = 3 sin(0.005 t) + N(0, 0.02)``,
binned at 0.05) for the validation fixture.

Reference: Cramer, A. O. J., van Borkulo, C. D., Giltay, E. J., van der Maas, H. L. J., Kendler, K. S.,
Scheffer, M., & Borsboom, D. (2016). Major depression as a complex dynamic system. *PLOS ONE,
11*(12), e0167490.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sciplab._core.random import SeedLike, generator_and_seed

__all__ = ["CRAMER_A", "CRAMER_B", "CRAMER_W", "SYMPTOMS", "hysteresis", "symptom_step"]

#: Node order of the Cramer code's ``vs`` vector.
SYMPTOMS = (
    "depressed_mood",
    "psychomotor",
    "appetite",
    "sleep",
    "anhedonia",
    "fatigue",
    "suicidal_ideation",
    "worthlessness",
    "concentration",
)
CRAMER_A = (1 / np.array([7.3, 16, 9.3, 5, 7.5, 5.4, 5.1, 11.1, 9.1])) * 12
CRAMER_B = (1 / np.array([18.7, 11.3, 15, 26, 19.6, 24.3, 15.4, 15.5, 13.8])) * 28
_EDGES = [(0, 1), (0, 6), (0, 8), (0, 7), (1, 2), (1, 3), (2, 4), (3, 5), (4, 6), (6, 8), (6, 2), (7, 2), (8, 5)]
CRAMER_W = np.zeros((9, 9))
for _i, _j in _EDGES:
    CRAMER_W[_i, _j] = CRAMER_W[_j, _i] = 1.0
_MINUS_A32 = -CRAMER_A.astype(np.float32)
_B32 = CRAMER_B.astype(np.float32)
#: active-neighbour counts of every node for each of the 512 symptom patterns (bit j = node j)
_NEIGHBOURS = ((np.arange(512)[:, None] >> np.arange(9)) & 1).astype(np.float32) @ CRAMER_W.astype(np.float32)


def symptom_step(
    active: np.ndarray, connectivity: np.ndarray, field: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """One synchronous update of ``n`` symptom networks.

    Parameters
    ----------
    active
        ``(n, 9)`` boolean symptom states at t-1.
    connectivity, field
        ``(n,)`` connectivity ``c`` and external field ``E`` per network.
    rng
        Random generator.

    Returns
    -------
    (active, probability)
        New states and the activation probabilities ``p_j``.

    Examples
    --------
    >>> x = np.zeros((2, 9), dtype=bool)
    >>> new, p = symptom_step(x, np.ones(2), np.array([-5.0, 5.0]), np.random.default_rng(0))
    >>> bool(p[0].max() < 0.01), bool(p[1].min() > 0.8)
    (True, True)
    """
    from sciplab.sim import _kernels

    n = active.shape[0]
    # the uniforms first (same stream as drawing them after the probabilities), then one compiled pass
    uniform = rng.random((n, 9), dtype=np.float32)
    prob = np.empty((n, 9), dtype=np.float32)
    new = np.empty((n, 9), dtype=bool)
    _kernels.symptom_step(
        np.ascontiguousarray(active, dtype=bool), np.ascontiguousarray(connectivity, dtype=np.float32),
        np.ascontiguousarray(field, dtype=np.float32), uniform, _NEIGHBOURS, _MINUS_A32, _B32, prob, new,
    )  # fmt: skip
    return new, prob


def hysteresis(
    connectivity: float = 1.0, *, n_steps: int = 10_000, networks: int = 1, seed: SeedLike = None
) -> pd.DataFrame:
    """Cramer et al. (2016) hysteresis run: mean activity by stress bin, rising vs falling stress.

    ``E(t) = 3 sin(0.005 t) + N(0, 0.02)``; stress binned at 0.05. Returns one row per
    (direction, stress bin) with the mean number of active symptoms. With strong connectivity the
    falling branch lies above the rising one (recovery needs lower stress than onset).

    Examples
    --------
    >>> h = hysteresis(1.0, n_steps=2000, networks=4, seed=1)
    >>> sorted(h["direction"].unique())
    ['falling', 'rising']
    """
    rng, _ = generator_and_seed(seed)
    x = np.zeros((networks, 9), dtype=bool)
    c = np.full(networks, float(connectivity))
    t = np.arange(n_steps)
    stress = 3 * np.sin(0.005 * t) + rng.normal(0, 0.02, n_steps)
    rising = np.cos(0.005 * t) > 0
    activity = np.empty((n_steps, networks))
    for k in range(n_steps):
        x, _ = symptom_step(x, c, np.full(networks, stress[k]), rng)
        activity[k] = x.sum(axis=1)
    df = pd.DataFrame(
        {
            "stress": np.round(stress / 0.05) * 0.05,
            "direction": np.where(rising, "rising", "falling"),
            "activity": activity.mean(axis=1),
        }
    )
    return df.groupby(["direction", "stress"], as_index=False)["activity"].mean()
