"""Counter-based randomness: a draw depends on its key only, and has the right distribution."""

from __future__ import annotations

import math

import numpy as np
import pytest

from touchpoint.simulate import keyed_random as kr

N = 200_000


def _ks(sample: np.ndarray, cdf) -> float:
    """Kolmogorov-Smirnov distance between a sample and a CDF."""
    x = np.sort(sample)
    f = cdf(x)
    n = len(x)
    return float(max((np.arange(1, n + 1) / n - f).max(), (f - np.arange(n) / n).max()))


# The 0.1 % critical value of the KS distance for n draws is about 1.95 / sqrt(n).
KS_LIMIT = 1.95 / math.sqrt(N)


@pytest.fixture(scope="module")
def keys():
    return kr.key(7, 11, np.arange(N))


def test_same_key_same_number_whatever_the_batch(keys):
    whole = kr.uniform(keys)
    # The same identities, drawn in another batch and order, give the same numbers.
    part = np.arange(N)[::-7][:1000]
    assert (kr.uniform(kr.key(7, 11, part)) == whole[part]).all()
    assert (kr.gamma(keys[part], 0.7) == kr.gamma(keys, 0.7)[part]).all()
    assert (kr.poisson(keys[part], 2.5) == kr.poisson(keys, 2.5)[part]).all()
    # A scalar key is the array key of the same identities.
    assert kr.key(7, 11, 5) == kr.key(7, 11, np.array([5]))[0]
    assert ((whole > 0) & (whole < 1)).all()


def test_other_site_seed_or_ordinal_gives_independent_numbers(keys):
    u = kr.uniform(keys)
    for other in (kr.key(7, 12, np.arange(N)), kr.key(8, 11, np.arange(N)), kr.fold(keys, 1)):
        v = kr.uniform(other)
        assert abs(np.corrcoef(u, v)[0, 1]) < 0.01  # 0.01 is 4.5 standard errors
        assert (u != v).all()
    # Neighbouring ordinals are not correlated either (lag-1 of the uniform sequence).
    assert abs(np.corrcoef(u[:-1], u[1:])[0, 1]) < 0.01
    # And the bits are balanced: each of the 53 used bits is set half the time.
    bits = (keys[:, None] >> np.arange(11, 64, dtype=np.uint64)) & np.uint64(1)
    assert np.abs(bits.mean(0) - 0.5).max() < 0.01


def test_uniform_normal_exponential_pass_ks(keys):
    assert _ks(kr.uniform(keys), lambda x: x) < KS_LIMIT
    erf = np.vectorize(math.erf)
    assert _ks(kr.normal(keys, 1.0, 2.0), lambda x: 0.5 * (1 + erf((x - 1) / 2 / math.sqrt(2)))) < (
        KS_LIMIT
    )
    assert _ks(kr.exponential(keys, 3.0), lambda x: 1 - np.exp(-x / 3)) < KS_LIMIT
    # Gamma with shape 2 is the sum of two exponentials: CDF 1 - e^-x (1 + x).
    assert _ks(kr.gamma2(keys), lambda x: 1 - np.exp(-x) * (1 + x)) < KS_LIMIT
    assert _ks(kr.gamma(keys, 2.0), lambda x: 1 - np.exp(-x) * (1 + x)) < KS_LIMIT
    # Gamma with shape 1 is exponential (through the general algorithm, no boost).
    assert _ks(kr.gamma(keys, 1.0), lambda x: 1 - np.exp(-x)) < KS_LIMIT


@pytest.mark.parametrize("shape", [0.05, 0.3, 0.9, 2.5, 9.0])
def test_gamma_moments(keys, shape):
    x = kr.gamma(keys, shape, 2.0)
    # mean 2 shape, variance 4 shape: within 4 standard errors of 200k draws.
    assert x.mean() == pytest.approx(2 * shape, abs=4 * math.sqrt(4 * shape / N))
    assert x.var() == pytest.approx(4 * shape, rel=0.03 if shape >= 0.3 else 0.12)
    assert (x > 0).all()


@pytest.mark.parametrize("lam", [0.02, 0.5, 1.8, 20.0])
def test_poisson_frequencies_match_the_pmf(keys, lam):
    x = kr.poisson(keys, lam)
    assert x.mean() == pytest.approx(lam, abs=4 * math.sqrt(lam / N))
    assert x.var() == pytest.approx(lam, rel=0.03 if lam > 0.1 else 0.1)
    for k in range(int(lam) + 3):
        pmf = math.exp(-lam) * lam**k / math.factorial(k)
        if pmf * N > 100:
            assert (x == k).mean() == pytest.approx(pmf, abs=5 * math.sqrt(pmf / N))


def test_lognormal_categorical_choice_integers(keys):
    x = kr.lognormal(keys, -0.5 * 0.3**2, 0.3)
    assert x.mean() == pytest.approx(1.0, abs=0.005)
    p = np.array([0.1, 0.6, 0.0, 0.3])
    drawn = kr.categorical(keys, np.broadcast_to(p, (N, 4)))
    assert np.bincount(drawn, minlength=4) / N == pytest.approx(p, abs=0.005)
    assert np.bincount(kr.choice(keys, [1, 3]), minlength=2) / N == pytest.approx(
        [0.25, 0.75], abs=0.005
    )
    ints = kr.integers(keys, 3, 9)
    assert ints.min() == 3 and ints.max() == 8
    assert np.bincount(ints - 3) / N == pytest.approx(np.full(6, 1 / 6), abs=0.005)
