"""Erlang B, Erlang C and Erlang A (M/M/n+M, Palm) queue measures, and agents needed.

Conventions: ``rate`` is arrivals per second, ``aht`` the mean handle time in seconds,
``patience`` the callers' mean patience in seconds (Erlang A: exponential, rate
``theta = 1 / patience``), ``n`` agents, ``t`` a service-level threshold in seconds.

- Erlang B by the recursion ``B(0) = 1, B(k) = a B(k-1) / (k + a B(k-1))`` (stable: no
  factorials, no powers);
- Erlang C from it: ``C = n B / (n - a (1 - B))``, ``SL(t) = 1 - C exp(-(n mu - lambda) t)``,
  ``ASA = C / (n mu - lambda)``;
- Erlang A from Mandelbaum & Zeltyn, *The Palm/Erlang-A queue, with applications to call
  centers* (2007), after Palm (1943) and Garnett, Mandelbaum & Reiman (2002): with
  ``x = n mu / theta``, ``y = lambda / theta`` and
  ``A(x, y) = sum_k y^k / ((x+1)...(x+k)) = x e^y y^-x gamma(x, y)``,

  * ``pi_n = B / (1 + (A(x, y) - 1) B)`` (the probability that all agents are busy and
    nobody waits), ``P(W > 0) = A(x, y) pi_n``;
  * ``P(Ab | W > 0) = 1 / (rho A) + 1 - 1 / rho`` with ``rho = lambda / (n mu)``;
  * the offered wait ``V`` (the wait of an infinitely patient caller) has density
    ``n mu pi_n exp(-n mu t + y (1 - e^(-theta t)))``, hence
    ``P(V > t) = P(W > 0) e^(-n mu t + y - z) A(x, z) / A(x, y)`` with ``z = y e^(-theta t)``;
  * answered within ``t`` (share of all offered calls, abandoned ones included):
    ``1 - P(W > 0) + pi_n x/(x+1) [A(x+1, y) - e^(y - z - (x+1) theta t) A(x+1, z)]``;
  * ``E[W] = P(Ab) / theta`` (Little's law on the queue of the impatient).

``A`` is summed as its series when ``y <= x`` (every term then shrinks) and from the
regularised incomplete gamma function in logs otherwise, so nothing overflows at thousands of
agents.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special

from touchpoint.errors import TouchpointError

#: The largest number of agents :func:`agents_needed` looks at for one interval.
MAX_AGENTS = 100_000


class StaffingError(TouchpointError, ValueError):
    """A queue or a target that cannot be computed with (negative rate, target out of range)."""


def erlang_b(n: int, load: float) -> float:
    """Erlang B blocking probability for ``n`` servers and ``load`` Erlangs.

    >>> round(erlang_b(10, 5.0), 6)  # tables: B(10, 5 E) = 0.018385
    0.018385
    """
    if n < 0 or load < 0:
        raise StaffingError(f"Erlang B needs n >= 0 and load >= 0, got n={n}, load={load}")
    b = 1.0
    for k in range(1, n + 1):
        b = load * b / (k + load * b)
    return b


def erlang_b_all(n_max: int, load: float) -> np.ndarray:
    """``B(k, load)`` for ``k = 0 .. n_max`` by the same recursion (one pass)."""
    out = np.empty(n_max + 1)
    b = 1.0
    out[0] = 1.0
    for k in range(1, n_max + 1):
        b = load * b / (k + load * b)
        out[k] = b
    return out


def erlang_c(n: int, load: float) -> float:
    """Erlang C probability of waiting for ``n`` agents and ``load`` Erlangs (1 if n <= load).

    >>> round(erlang_c(2, 1.0), 6)  # M/M/2 at rho = 1/2: C = 1/3
    0.333333
    """
    if n <= load:
        return 1.0
    b = erlang_b(n, load)
    return n * b / (n - load * (1.0 - b))


@dataclass(frozen=True)
class QueueMeasures:
    """What one interval looks like with ``agents`` agents (times in seconds)."""

    agents: int
    load: float
    p_wait: float
    service_level: float
    asa: float
    p_abandon: float
    occupancy: float


def erlang_c_measures(n: int, rate: float, aht: float, t: float) -> QueueMeasures:
    """Erlang C: probability of waiting, service level within ``t`` s, ASA, occupancy.

    >>> m = erlang_c_measures(2, 1 / 120, 120.0, 0.0)
    >>> round(m.p_wait, 4), round(m.service_level, 4), round(m.asa, 1), m.occupancy
    (0.3333, 0.6667, 40.0, 0.5)
    """
    _check(rate, aht, t)
    load = rate * aht
    if n <= load:
        return QueueMeasures(n, load, 1.0, 0.0, math.inf, 0.0, 1.0)
    c = erlang_c(n, load)
    drain = n / aht - rate
    sl = 1.0 - c * math.exp(-drain * t)
    return QueueMeasures(n, load, c, sl, c / drain, 0.0, load / n if n else 0.0)


def _log_a_series(x: float, y: float) -> float:
    """log A(x, y) by its series; for y <= x every term is smaller than the one before."""
    if y == 0:
        return 0.0
    total, term, k = 1.0, 1.0, 0
    while True:
        k += 1
        term *= y / (x + k)
        total += term
        if term < 1e-17 * total or k > 1_000_000:
            return math.log(total)


def _log_a(x: float, y: float) -> float:
    """log A(x, y) = log(x e^y y^-x gamma(x, y)), gamma the lower incomplete gamma."""
    if y <= x:
        return _log_a_series(x, y)
    p = special.gammainc(x, y)  # >= about 1/2 when y > x: no underflow
    return math.log(x) + y - x * math.log(y) + special.gammaln(x) + math.log(p)


def erlang_a_measures(n: int, rate: float, aht: float, patience: float, t: float) -> QueueMeasures:
    """Erlang A (M/M/n+M): P(wait), answered within ``t`` s, ASA (all callers), P(abandon).

    ``service_level`` is the share of *all offered* calls answered within ``t`` seconds (a
    caller who hangs up counts as not answered). ``asa`` is E[W], the mean wait of every
    caller (served or not), ``p_abandon`` the share who hang up while waiting. ``occupancy``
    is the load actually carried, ``a (1 - P(Ab)) / n``.

    Examples
    --------
    With patience as long as the handle time the queue is an M/M/inf: P(W > 0) = P(N >= n)
    for N ~ Poisson(a).

    >>> m = erlang_a_measures(3, 2 / 60, 60.0, 60.0, 0.0)
    >>> round(m.p_wait, 6), round(1 - 5 * math.exp(-2), 6)
    (0.323324, 0.323324)
    """
    _check(rate, aht, t)
    if not patience > 0:
        raise StaffingError(f"patience must be > 0 seconds, got {patience}")
    load = rate * aht
    if rate == 0:
        return QueueMeasures(n, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0)
    if n == 0:
        return QueueMeasures(0, load, 1.0, 0.0, patience, 1.0, 0.0)
    mu, theta = 1.0 / aht, 1.0 / patience
    x, y = n * mu / theta, rate / theta
    b = erlang_b(n, load)
    log_a = _log_a(x, y)
    big_a = math.exp(log_a)
    pi_n = b / (1.0 + (big_a - 1.0) * b)
    p_wait = min(1.0, big_a * pi_n)
    rho = rate / (n * mu)
    p_ab_given_wait = 1.0 / (rho * big_a) + 1.0 - 1.0 / rho
    p_ab = min(1.0, max(0.0, p_ab_given_wait * p_wait))
    z = y * math.exp(-theta * t)
    tail = math.exp(y - z - (x + 1) * theta * t + _log_a(x + 1, z) - _log_a(x + 1, y))
    served_waiting_all = pi_n * x / (x + 1) * math.exp(_log_a(x + 1, y))
    sl = 1.0 - p_wait + served_waiting_all * (1.0 - tail)
    return QueueMeasures(
        n, load, p_wait, min(1.0, max(0.0, sl)), p_ab / theta, p_ab, load * (1 - p_ab) / n
    )


def offered_wait_tail(n: int, rate: float, aht: float, patience: float, t: float) -> float:
    """Erlang A: P(V > t), V the wait a caller with infinite patience would have."""
    _check(rate, aht, t)
    mu, theta = 1.0 / aht, 1.0 / patience
    x, y = n * mu / theta, rate / theta
    b = erlang_b(n, rate * aht)
    big_a = math.exp(_log_a(x, y))
    p_wait = big_a * b / (1.0 + (big_a - 1.0) * b)
    z = y * math.exp(-theta * t)
    return p_wait * math.exp(-n * mu * t + y - z + _log_a(x, z) - _log_a(x, y))


def _check(rate: float, aht: float, t: float) -> None:
    if not (math.isfinite(rate) and rate >= 0):
        raise StaffingError(f"arrival rate must be a finite number >= 0, got {rate}")
    if not (math.isfinite(aht) and aht > 0):
        raise StaffingError(f"handle time must be > 0 seconds, got {aht}")
    if not (math.isfinite(t) and t >= 0):
        raise StaffingError(f"service-level threshold must be >= 0 seconds, got {t}")


def agents_needed(
    rate: float,
    aht: float,
    *,
    target_sl: float = 0.8,
    threshold: float = 20.0,
    max_abandon: float | None = None,
    patience: float | None = None,
    max_occupancy: float | None = None,
) -> QueueMeasures:
    """The fewest agents meeting every target, with that staffing's measures.

    Erlang C when ``patience`` is None (nobody hangs up: ``max_abandon`` cannot be asked),
    Erlang A otherwise. Targets: ``service_level >= target_sl`` (answered within
    ``threshold`` s), ``p_abandon <= max_abandon``, ``occupancy <= max_occupancy``.

    >>> agents_needed(48 / 60, 180.0, target_sl=0.8, threshold=20.0).agents  # 144 Erlangs
    152
    """
    _check(rate, aht, threshold)
    if not 0 <= target_sl < 1:
        raise StaffingError(f"service-level target must be in [0, 1), got {target_sl}")
    if max_abandon is not None:
        if patience is None:
            raise StaffingError("an abandonment target needs the callers' patience (Erlang A)")
        if not 0 < max_abandon <= 1:
            raise StaffingError(f"abandonment target must be in (0, 1], got {max_abandon}")
    if max_occupancy is not None and not 0 < max_occupancy <= 1:
        raise StaffingError(f"occupancy cap must be in (0, 1], got {max_occupancy}")
    if rate == 0:
        return QueueMeasures(0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0)
    load = rate * aht

    def measure(n: int) -> QueueMeasures:
        if patience is None:
            return erlang_c_measures(n, rate, aht, threshold)
        return erlang_a_measures(n, rate, aht, patience, threshold)

    def ok(m: QueueMeasures) -> bool:
        return (
            m.service_level >= target_sl
            and (max_abandon is None or m.p_abandon <= max_abandon)
            and (max_occupancy is None or m.occupancy <= max_occupancy)
        )

    # Every measure improves with n: double an upper bound, then bisect (about 2 log2 n
    # evaluations, each O(n) for Erlang B).
    lo = int(math.floor(load)) if patience is None else 0  # Erlang C fails at n <= load
    hi = max(lo + 1, int(math.ceil(load + 2 * math.sqrt(load))) + 1)
    while not ok(measure(hi)):
        lo, hi = hi, hi * 2
        if hi > MAX_AGENTS:
            break
    else:
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if ok(measure(mid)):
                hi = mid
            else:
                lo = mid
        return measure(hi)
    raise StaffingError(
        f"no staffing up to {MAX_AGENTS} agents meets the targets (load {load:.1f} E)"
    )
