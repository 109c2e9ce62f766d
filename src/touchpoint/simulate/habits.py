"""Channel habits month by month: latent preferences drift, pulled back towards each
customer's own long-run habit."""

from __future__ import annotations

import numpy as np

from touchpoint.simulate import keyed_random as kr
from touchpoint.simulate.keyed_random import Site
from touchpoint.simulate.params import SimParams
from touchpoint.simulate.population import Population


def drift_preferences(
    params: SimParams, pop: Population, cm: np.ndarray, offered: np.ndarray
) -> None:
    """Move ``pop.preferences`` and ``pop.payment_preferences`` one month on (in place).

    ``cm`` is the customer-month keys; ``offered`` the [customer, business, channel] cells in
    use (channels a business is not offered in have no weight: no draw for them).
    """
    d = params.contacts.preference_drift
    noise = np.zeros_like(pop.baseline)
    cells = np.nonzero(offered)
    noise[offered] = kr.gamma(
        kr.fold(kr.fold(cm, Site.DRIFT)[cells[0]], cells[1] * offered.shape[2] + cells[2]),
        pop.habit[offered] * params.contacts.preference_concentration * 3,
    )
    total = noise.sum(-1, keepdims=True)
    # (A draw can underflow to all zeros for a rarely used business: then the baseline.)
    noise = np.where(total > 0, noise / np.where(total > 0, total, 1.0), pop.baseline)
    pop.preferences = (1 - d) * pop.preferences + d * noise
    noise = kr.gamma(
        kr.fold(
            kr.fold(cm, Site.PAYMENT_DRIFT)[:, None],
            np.arange(pop.payment_habit.shape[1])[None, :],
        ),
        np.maximum(pop.payment_habit * params.contacts.preference_concentration * 3, 1e-9),
    )
    noise /= noise.sum(-1, keepdims=True)
    pop.payment_preferences = (1 - d) * pop.payment_preferences + d * noise
