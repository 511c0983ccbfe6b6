"""Seeds: one conversion to numpy Generators, reproducible and recorded."""

from __future__ import annotations

import numpy as np
import pytest

from sciplab import InvalidParameterError
from sciplab._core.random import as_generator, generator_and_seed, resolve_seed


def test_same_seed_same_stream() -> None:
    a = as_generator(42).random(5)
    b = as_generator(42).random(5)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, np.random.default_rng(42).random(5))
    assert not np.array_equal(a, as_generator(43).random(5))
    np.testing.assert_array_equal(as_generator(np.int64(42)).random(5), a)


def test_generator_passes_through_and_seedsequence() -> None:
    g = np.random.default_rng(1)
    assert as_generator(g) is g
    ss = np.random.SeedSequence(7)
    np.testing.assert_array_equal(
        as_generator(ss).random(3), np.random.default_rng(np.random.SeedSequence(7)).random(3)
    )
    assert resolve_seed(ss) == 7


def test_none_draws_a_fresh_recorded_seed() -> None:
    g1, s1 = generator_and_seed(None)
    g2, s2 = generator_and_seed(None)
    assert isinstance(s1, int) and 0 <= s1 < 2**63 and s1 != s2
    # the recorded seed reproduces the run
    np.testing.assert_array_equal(g1.random(4), as_generator(s1).random(4))


def test_generator_and_seed() -> None:
    g, s = generator_and_seed(5)
    assert s == 5
    np.testing.assert_array_equal(g.random(3), np.random.default_rng(5).random(3))
    own = np.random.default_rng(0)
    assert generator_and_seed(own) == (own, None)
    g, s = generator_and_seed(np.random.SeedSequence(9))
    assert s == 9
    np.testing.assert_array_equal(g.random(2), np.random.default_rng(np.random.SeedSequence(9)).random(2))


@pytest.mark.parametrize(
    ("seed", "match"),
    [(-1, "non-negative"), (True, "integer or a numpy Generator"), ("42", "got str"), (1.5, "got float")],
)
def test_bad_seeds(seed, match) -> None:
    with pytest.raises(InvalidParameterError, match=match):
        as_generator(seed)
    with pytest.raises(InvalidParameterError, match=match):
        generator_and_seed(seed)
