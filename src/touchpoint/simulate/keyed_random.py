"""Counter-based randomness: every draw is a hash of what it is about, not a stream position.

A *key* is a ``uint64`` array: :func:`key` hashes the world's seed, a draw site and any
number of identities (customer number, month, the ordinal of an event within its
customer-month, the step of a walk...) with the splitmix64 finaliser, and :func:`fold` adds
one more identity to keys already made. The same key always gives the same number, wherever
and in whatever batch it is drawn, so the simulated world does not depend on how its
customers are split into blocks. Distributions are transformations of keyed uniforms
(inverse CDF, Box-Muller, Marsaglia-Tsang with keyed attempts), all vectorised with NumPy.

>>> k = key(7, 1, np.arange(3))
>>> bool((uniform(k) == uniform(key(7, 1, np.arange(3)))).all())
True
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np

_GOLDEN = 0x9E3779B97F4A7C15
_C1 = np.uint64(0xBF58476D1CE4E5B9)
_C2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = (np.uint64(s) for s in (30, 27, 31, 11))
_MASK = (1 << 64) - 1
_TO_UNIT = 2.0**-53
MAX_GAMMA_ATTEMPTS = 64  # Marsaglia-Tsang accepts > 95 % per attempt


def _fin_int(z: int) -> int:
    """splitmix64 finaliser of a Python integer."""
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


def _mix_int(x: int) -> int:
    """splitmix64 of a Python integer (for scalar parts of a key, computed once)."""
    return _fin_int((x + _GOLDEN) & _MASK)


def _mix(z: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser, in place on a fresh ``uint64`` array."""
    z ^= z >> _S30
    z *= _C1
    z ^= z >> _S27
    z *= _C2
    z ^= z >> _S31
    return z


def fold(h: np.ndarray, part) -> np.ndarray:
    """Keys ``h`` with one more identity ``part`` (an integer or an integer array)."""
    h = np.asarray(h, dtype=np.uint64)
    if np.ndim(part) == 0 and h.ndim == 0:
        return np.asarray(np.uint64(_fin_int(int(h) ^ _mix_int(int(part) & _MASK))))
    if np.ndim(part) == 0:
        return _mix(h ^ np.uint64(_mix_int(int(part) & _MASK)))
    part = np.asarray(part).astype(np.uint64)
    part += np.uint64(_GOLDEN)
    return _mix(h ^ _mix(part))


def key(seed: int, *parts) -> np.ndarray:
    """The key of ``(seed, *parts)``; array parts broadcast against each other."""
    h = np.asarray(np.uint64(_mix_int(int(seed) & _MASK)))
    for part in parts:
        h = fold(h, part)
    return h


def uniform(h: np.ndarray, low: float = 0.0, high: float = 1.0) -> np.ndarray:
    """One uniform draw per key, strictly inside (low, high)."""
    u = ((np.asarray(h, dtype=np.uint64) >> _S11).astype(np.float64) + 0.5) * _TO_UNIT
    return u if (low, high) == (0.0, 1.0) else low + (high - low) * u


def integers(h: np.ndarray, low: int, high: int) -> np.ndarray:
    """Integers in [low, high)."""
    return low + np.minimum((uniform(h) * (high - low)).astype(np.int64), high - low - 1)


def normal(h: np.ndarray, mean=0.0, sigma=1.0) -> np.ndarray:
    """Box-Muller on two uniforms keyed from ``h``."""
    u1, u2 = uniform(fold(h, 1)), uniform(fold(h, 2))
    return mean + sigma * np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


def lognormal(h: np.ndarray, mean=0.0, sigma=1.0) -> np.ndarray:
    return np.exp(normal(h, mean, sigma))


def exponential(h: np.ndarray, scale=1.0) -> np.ndarray:
    return -np.log(uniform(h)) * scale


def gamma2(h: np.ndarray, scale=1.0) -> np.ndarray:
    """Gamma with shape 2: the sum of two exponentials (cheaper than :func:`gamma`)."""
    return -np.log(uniform(fold(h, 1)) * uniform(fold(h, 2))) * scale


def gamma(h: np.ndarray, shape, scale=1.0) -> np.ndarray:
    """Gamma(shape, scale), shape > 0: Marsaglia-Tsang, attempt ``i`` keyed by ``(h, i)``;
    shapes below 1 are boosted, Gamma(a) = Gamma(a + 1) U^(1/a)."""
    h = np.asarray(h, dtype=np.uint64)
    shape = np.broadcast_to(np.asarray(shape, dtype=np.float64), h.shape)
    small = shape < 1
    a = np.where(small, shape + 1.0, shape)
    d = a - 1.0 / 3.0
    c = 1.0 / np.sqrt(9.0 * d)
    out = np.zeros(h.shape)
    todo = np.flatnonzero(np.ones(h.shape, dtype=bool).ravel())
    hf, df, cf = h.ravel(), d.ravel(), c.ravel()
    flat = out.reshape(-1)
    for attempt in range(MAX_GAMMA_ATTEMPTS):
        if not len(todo):
            break
        ha = fold(hf[todo], 3 + attempt)
        x = normal(ha)
        v = (1.0 + cf[todo] * x) ** 3
        u = uniform(fold(ha, 3))
        with np.errstate(invalid="ignore", divide="ignore"):
            ok = (v > 0) & (np.log(u) < 0.5 * x * x + df[todo] * (1.0 - v + np.log(v)))
        flat[todo[ok]] = df[todo][ok] * v[ok]
        todo = todo[~ok]
    flat[todo] = df[todo]  # (never in practice: the mode after 64 rejections)
    boost = uniform(fold(h, 0)) ** (1.0 / np.where(small, shape, 1.0))
    return np.where(small, out * boost, out) * scale


def poisson(h: np.ndarray, lam) -> np.ndarray:
    """Poisson(lam) by inverse CDF: a sequential search, p(k) = p(k-1) lam / k (fine for the
    simulator's rates, up to a few dozen)."""
    h = np.asarray(h, dtype=np.uint64)
    lam = np.broadcast_to(np.asarray(lam, dtype=np.float64), h.shape).ravel()
    u = uniform(h).ravel()
    k = np.zeros(len(u), dtype=np.int64)
    p = np.exp(-lam)
    cdf = p.copy()
    todo = np.flatnonzero(u > cdf)
    n = 0
    while len(todo):
        n += 1
        k[todo] = n
        p[todo] *= lam[todo] / n
        cdf[todo] += p[todo]
        # Rounding can leave the CDF a hair under 1: stop once the mass left is negligible.
        todo = todo[(u[todo] > cdf[todo]) & ((p[todo] > 1e-300) | (n < lam[todo]))]
    return k.reshape(h.shape)


def categorical(h: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """One draw per row of ``probabilities`` (rows need not sum to 1): the chosen column."""
    cumulative = np.cumsum(probabilities, axis=-1)
    u = uniform(h)[..., None] * cumulative[..., -1:]
    return np.minimum((u > cumulative).sum(axis=-1), probabilities.shape[-1] - 1)


def choice(h: np.ndarray, weights) -> np.ndarray:
    """Indexes drawn in proportion to ``weights`` (one set of weights for every key)."""
    w = np.asarray(weights, dtype=np.float64)
    edges = np.cumsum(w / w.sum())[:-1]
    return np.searchsorted(edges, uniform(h), side="right")


class Site(IntEnum):
    """One constant per draw site of the simulator: a key's first identity after the seed
    (or folded into an event's key), so no two sites ever share a number. Never renumber:
    the numbers are part of the world a seed gives."""

    CUSTOMER = 1
    BRAND = 2
    TIER = 3
    REGION = 4
    SEGMENT = 5
    ARPU = 6
    NEW_JOINER = 7
    JOIN_DAY = 8
    TENURE = 9
    PREFERENCES = 10
    PAYMENT_PREFERENCES = 11
    ARPU_TREND = 12
    BIRTH_YEAR = 13
    FEMALE = 14
    GROUP_KEY = 15
    FAMILY = 16
    SENSITIVE = 17
    POINTS_START = 18
    # Month by month (folded into the customer-month key).
    CHURN = 30
    LEAVE_DAY = 31
    CHURN_REASON = 32
    DRIFT = 33
    PAYMENT_DRIFT = 34
    NEEDS = 35
    NEED = 36
    N_PAYMENTS = 37
    PAYMENT = 38
    ARPU_CHANGE = 39
    POINTS = 40
    BILL_VOICE = 41
    BILL_DATA = 42
    BILL_SMS = 43
    BILL_ARREARS = 44
    BILL_ARREARS_AMOUNT = 45
    N_COMPLAINTS = 46
    COMPLAINT = 47
    N_ORDERS = 48
    ORDER = 49
    OFFER = 50
    OFFER_AT = 51
    # Per event (folded into the event's key).
    DAY = 60
    HOUR = 61
    SECOND = 62
    CHANNEL = 63
    AMOUNT = 64
    HARASSMENT = 65
    CALL = 66
    LEAF = 67
    QUEUE = 68
    AGENT_TIME = 69
    AGENT_RESOLVED = 70
    REDIAL = 71
    REDIAL_GAP = 72
    SEEKER = 73
    TURN = 74
    PROMPT_DWELL = 75
    KEY_DWELL = 76
    ACTION = 77
    INVALID_KEY = 78
    WRONG_TURN = 79
    SERVICE_TIME = 80
    SERVICE_OK = 81
    TO_AGENT = 82
    DURATION = 83
    RESOLVED = 84
    FOLLOW_UP = 85
    FOLLOW_UP_GAP = 86
    SURVEY_AGENT = 87
    SURVEY_STORE = 88
    SURVEY_IVR = 89
    SURVEY = 90
    SATISFACTION = 91
    REPLIED = 92
    REPLY_DELAY = 93
    REPLY_TEXT = 94
    HOTLINE_FOLLOW_UP = 95
    PATIENCE = 96  # call records' queue replay (simulate(call_records=...))
    # Work orders of a continued world (keyed by their row in the work-orders file).
    WORK_ORDER = 100
    EFFECT_NOISE = 101
    ANNOYED = 102
    RESPONSE = 103
    RESPONSE_DELAY = 104
    # Cosmetic fields of the source files.
    AGENT_ID = 120
    STORE_ID = 121
    COMPLAINT_RESOLVED = 122
    COMPLAINT_CHANNEL = 123
    COMPLAINT_CATEGORY = 124
    COMPLAINT_DELAY = 125
    ORDER_ACTION = 126
    PRODUCT = 127
    OFFER_ACCEPTED = 128
    OFFER_RESPONSE = 129
    OFFER_DELAY = 130
