"""The shifted-beta-geometric (sBG) model of contractual retention (Fader & Hardie, 2007).

Each customer renews at the end of every period with a probability ``1 - theta`` that does
not change over time; ``theta`` varies between customers as Beta(alpha, beta). The mix is
why a cohort's retention rate rises with tenure even though no customer's own rate does:
the likely leavers leave first.

Maximum likelihood on one cohort's counts of customers still active after each period,
with parameters fitted on the log scale (so they stay positive) and Wald intervals from the
inverse Hessian there (so the intervals are positive too).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
from scipy.optimize import minimize
from scipy.special import betaln
from scipy.stats import chi2

from touchpoint.errors import TouchpointError


class RetentionInputError(TouchpointError, ValueError):
    """A cohort table cannot be fitted: the message names the column, the row and the value."""


def _log_survival(alpha: float, beta: float, t: np.ndarray) -> np.ndarray:
    """log S(t) = log B(alpha, beta + t) - log B(alpha, beta): still active after t periods."""
    return betaln(alpha, beta + t) - betaln(alpha, beta)


def _log_churn_at(alpha: float, beta: float, t: np.ndarray) -> np.ndarray:
    """log P(T = t) = log B(alpha + 1, beta + t - 1) - log B(alpha, beta): leaves in period t."""
    return betaln(alpha + 1, beta + t - 1) - betaln(alpha, beta)


def _negative_log_likelihood(log_params: np.ndarray, active: np.ndarray) -> float:
    alpha, beta = np.exp(log_params)
    periods = np.arange(1, len(active))
    lost = active[:-1] - active[1:]
    ll = lost @ _log_churn_at(alpha, beta, periods)
    ll += active[-1] * _log_survival(alpha, beta, np.array(len(active) - 1.0))
    return float(-ll)


def _geometric_log_likelihood(cohorts: list[np.ndarray]) -> float:
    """The log-likelihood of one churn probability for every customer (the sBG's limit as
    alpha and beta grow at a fixed ratio), at its maximum: churners over periods at risk."""
    lost = sum(float(c[0] - c[-1]) for c in cohorts)
    at_risk = sum(float(c[:-1].sum()) for c in cohorts)
    if lost == 0 or lost == at_risk:
        return 0.0
    p = lost / at_risk
    return lost * math.log(p) + (at_risk - lost) * math.log1p(-p)


def _hessian(f, x: np.ndarray, step: float = 1e-4) -> np.ndarray:
    """Central-difference Hessian of ``f`` at ``x`` (two parameters: cheap and accurate)."""
    n = len(x)
    h = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            ei, ej = np.eye(n)[i] * step, np.eye(n)[j] * step
            h[i, j] = (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)) / (
                4 * step * step
            )
    return h


def check_cohort(active: Sequence[float], *, column: str = "active") -> np.ndarray:
    """The counts as floats, or :class:`RetentionInputError` naming the first bad row.

    ``active[0]`` is the cohort's size at the start, ``active[t]`` the customers still
    active after ``t`` periods: non-negative, never rising, at least three values (two
    parameters need at least two periods of losses).
    """
    values = np.asarray(active, dtype=float)
    problems = []
    if len(values) < 3:
        problems.append(
            f"column {column!r}: {len(values)} period(s); the sBG model needs at least 3 "
            "(the start and two periods after it)"
        )
    for row, value in enumerate(values):
        if not math.isfinite(value) or value < 0:
            problems.append(f"column {column!r} row {row}: {float(value):g} is not a count >= 0")
    for row in range(1, len(values)):
        if values[row] > values[row - 1]:
            problems.append(
                f"column {column!r} row {row}: {values[row]:g} customers active, more than "
                f"the {values[row - 1]:g} of the period before (a cohort can only shrink)"
            )
    if len(values) and values[0] <= 0:
        problems.append(f"column {column!r} row 0: the cohort starts with no customer")
    if not problems and values[0] == values[-1]:
        problems.append(
            f"column {column!r}: nobody left in {len(values) - 1} periods; "
            "retention cannot be estimated without a loss"
        )
    if problems:
        raise RetentionInputError("; ".join(problems))
    return values


@dataclass(frozen=True)
class SBGFit:
    """Fitted sBG parameters with ``level`` Wald intervals (computed on the log scale)."""

    alpha: float
    beta: float
    alpha_interval: tuple[float, float]
    beta_interval: tuple[float, float]
    log_likelihood: float
    n_customers: float
    n_periods: int
    level: float = 0.95


class ShiftedBetaGeometric:
    """Shifted-beta-geometric retention model, scikit-learn style.

    Parameters
    ----------
    level
        Confidence level of the parameter intervals.

    Attributes
    ----------
    alpha_, beta_ : float
        Maximum-likelihood parameters of the Beta distribution of the churn probability.
    alpha_interval_, beta_interval_ : tuple of float
        Their intervals.
    log_likelihood_ : float
    covariance_ : ndarray
        Covariance of (log alpha, log beta); NaN when not ``identified_``.
    identified_ : bool
        False when the likelihood is flat along a direction at the fit (the cohorts show no
        spread of churn rates): then only alpha / (alpha + beta) is determined and the
        intervals are NaN.

    Examples
    --------
    Fader & Hardie's (2007) "regular" customers, years 0-7:

    >>> m = ShiftedBetaGeometric().fit([1000, 631, 468, 382, 326, 289, 262, 241])
    >>> round(m.alpha_, 3), round(m.beta_, 3), round(m.log_likelihood_, 1)
    (0.704, 1.182, -1680.3)
    """

    def __init__(self, level: float = 0.95) -> None:
        self.level = level

    def fit(self, active: Sequence[float] | Sequence[Sequence[float]]) -> ShiftedBetaGeometric:
        """Fit to one cohort, ``active[t]`` customers still active after ``t`` periods, or
        to several cohorts (a list of such lists, of any lengths) sharing the parameters:
        their log-likelihoods add up."""
        nested = len(active) > 0 and isinstance(active[0], Sequence | np.ndarray)
        cohorts = [check_cohort(a) for a in active] if nested else [check_cohort(active)]

        def nll(p: np.ndarray) -> float:
            return sum(_negative_log_likelihood(p, counts) for counts in cohorts)

        best = None
        # A few starting points: the likelihood is smooth but flat along a ridge for short
        # series, and one start can stop early on it.
        for start in ([0.0, 0.0], [-1.0, 1.0], [1.0, 2.0]):
            result = minimize(nll, np.array(start), method="L-BFGS-B", bounds=[(-10, 10)] * 2)
            if best is None or result.fun < best.fun:
                best = result
        self.log_params_ = best.x
        self.alpha_, self.beta_ = (float(v) for v in np.exp(best.x))
        self.log_likelihood_ = -float(best.fun)
        self.n_customers_ = float(sum(counts[0] for counts in cohorts))
        self.n_periods_ = max(len(counts) for counts in cohorts) - 1
        hessian = _hessian(nll, best.x)
        # When one churn rate for everyone (the geometric limit, alpha and beta growing
        # together) fits about as well, the likelihood is flat along that ridge: only
        # alpha / (alpha + beta) is identified, the optimiser stops anywhere on it (where
        # depends on SciPy's version) and a Wald interval there is a made-up number. The
        # limit lies inside the confidence region when the fit beats it by less than half
        # the chi-square quantile (a profile-likelihood test); then, or when the Hessian is
        # not positive definite, the intervals are reported as missing.
        gain = -float(best.fun) - _geometric_log_likelihood(cohorts)
        self.identified_ = bool(
            np.all(np.linalg.eigvalsh(hessian) > 0) and gain >= chi2.ppf(self.level, 1) / 2
        )
        self.covariance_ = np.linalg.inv(hessian) if self.identified_ else np.full((2, 2), np.nan)
        z = NormalDist().inv_cdf(0.5 + self.level / 2)
        se = np.sqrt(np.diag(self.covariance_))
        lo, hi = np.exp(best.x - z * se), np.exp(best.x + z * se)
        self.alpha_interval_ = (float(lo[0]), float(hi[0]))
        self.beta_interval_ = (float(lo[1]), float(hi[1]))
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "alpha_"):
            raise RetentionInputError("this ShiftedBetaGeometric is not fitted yet: call fit")

    @property
    def result(self) -> SBGFit:
        """The fitted parameters as one record."""
        self._check_fitted()
        return SBGFit(
            self.alpha_,
            self.beta_,
            self.alpha_interval_,
            self.beta_interval_,
            self.log_likelihood_,
            self.n_customers_,
            self.n_periods_,
            self.level,
        )

    def survival(self, periods: Sequence[int] | np.ndarray) -> np.ndarray:
        """Share of the cohort still active after each number of periods (S(0) = 1)."""
        self._check_fitted()
        return np.exp(_log_survival(self.alpha_, self.beta_, np.asarray(periods, dtype=float)))

    def retention_rate(self, periods: Sequence[int] | np.ndarray) -> np.ndarray:
        """r(t) = S(t) / S(t - 1) = (beta + t - 1) / (alpha + beta + t - 1), for t >= 1."""
        self._check_fitted()
        t = np.asarray(periods, dtype=float)
        return (self.beta_ + t - 1) / (self.alpha_ + self.beta_ + t - 1)

    def expected_remaining_lifetime(
        self, survived: int = 0, *, discount: float = 0.0, horizon: int = 1000
    ) -> float:
        """Expected further periods in the network of a customer active after ``survived``
        periods, counting the coming period, discounted at ``discount`` per period and cut
        at ``horizon`` periods.

        Sum over k >= 0 of S(survived + 1 + k) / S(survived) / (1 + discount)^k: the chance
        of still being there at the end of each coming period. With alpha <= 1 the
        undiscounted lifetime has no finite mean (many customers almost never leave), so a
        horizon (or a discount) is what makes the figure finite.
        """
        self._check_fitted()
        k = np.arange(horizon, dtype=float)
        ratio = np.exp(
            _log_survival(self.alpha_, self.beta_, survived + 1 + k)
            - _log_survival(self.alpha_, self.beta_, np.array(float(survived)))
        )
        return float(np.sum(ratio / (1.0 + discount) ** k))

    def projection(self, horizon: int) -> list[dict[str, float]]:
        """Survival, retention rate and expected customers for periods 0..``horizon``."""
        self._check_fitted()
        periods = np.arange(horizon + 1)
        survival = self.survival(periods)
        rates = np.concatenate([[np.nan], self.retention_rate(periods[1:])])
        return [
            {
                "period": int(t),
                "survival": float(s),
                "retention_rate": None if np.isnan(r) else float(r),
                "expected_active": float(s * self.n_customers_),
            }
            for t, s, r in zip(periods, survival, rates, strict=True)
        ]


def simulate_cohort(alpha: float, beta: float, customers: int, periods: int, seed: int = 0):
    """Customers still active after each period in a cohort drawn from the sBG model itself:
    theta ~ Beta(alpha, beta) per customer, then a geometric lifetime (for tests and docs)."""
    rng = np.random.default_rng(seed)
    theta = rng.beta(alpha, beta, size=customers)
    lifetime = rng.geometric(np.clip(theta, 1e-12, 1.0))  # period in which each one leaves
    return [int((lifetime > t).sum()) for t in range(periods + 1)]


def read_cohort_table(path, period: str = "period", active: str = "active") -> list[float]:
    """The ``active`` counts of a CSV or Parquet cohort table, ordered by ``period``.

    Raises
    ------
    RetentionInputError
        A missing column, a period that is not a whole number or repeats or leaves a gap,
        or counts :func:`check_cohort` refuses; the message names the file and column.
    """
    import pandas as pd

    from touchpoint.churn._evaluate import read_table

    frame = read_table(path)
    missing = [c for c in (period, active) if c not in frame.columns]
    if missing:
        raise RetentionInputError(
            f"{path}: no column {missing[0]!r} (columns: {', '.join(map(str, frame.columns))}); "
            "name them with --period and --active"
        )
    problems = []
    periods = pd.to_numeric(frame[period], errors="coerce")
    for row in frame.index[periods.isna() | (periods % 1 != 0)]:
        problems.append(
            f"column {period!r} row {row}: {frame[period][row]!r} is not a whole number"
        )
    counts = pd.to_numeric(frame[active], errors="coerce")
    for row in frame.index[counts.isna()]:
        problems.append(f"column {active!r} row {row}: {frame[active][row]!r} is not a number")
    if not problems:
        order = periods.sort_values(kind="stable")
        expected = list(range(int(order.iloc[0]), int(order.iloc[0]) + len(order)))
        if order.astype(int).tolist() != expected:
            problems.append(
                f"column {period!r}: periods must be consecutive whole numbers without repeats, "
                f"got {order.astype(int).tolist()[:10]}"
            )
    if problems:
        raise RetentionInputError(f"{path}: " + "; ".join(problems))
    ordered = counts[order.index].astype(float).tolist()
    try:
        return check_cohort(ordered, column=active).tolist()
    except RetentionInputError as exc:
        raise RetentionInputError(f"{path}: {exc}") from None
