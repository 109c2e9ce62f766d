"""The realised headline figures, counted from the simulator's own event arrays.

Definitions follow docs/metrics.md to the letter; nothing here imports the analytics. Each
chunk contributes numerators and denominators (customers never span chunks), which add up.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from touchpoint.simulate.chunk import CHURN_REASONS, Chunk
from touchpoint.simulate.hotline import OUTCOME_RESOLVED
from touchpoint.simulate.ivr_walk import COMPLETE, TRANSFER
from touchpoint.simulate.surveys import SATISFIED
from touchpoint.simulate.timing import DAY_US, HOUR_US

NONE = -1


def next_after(
    group_a: np.ndarray, time_a: np.ndarray, group_b: np.ndarray, time_b: np.ndarray
) -> np.ndarray:
    """For each a: the position in ``argsort`` order of b of the first b in the same group with
    time strictly after a's, as an index into b; -1 when there is none."""
    _, ranks = np.unique(np.concatenate([time_a, time_b]), return_inverse=True)
    width = ranks.max(initial=0) + 2
    key_a = group_a * width + ranks[: len(time_a)]
    key_b = group_b * width + ranks[len(time_a) :]
    order = np.argsort(key_b, kind="stable")
    pos = np.searchsorted(key_b[order], key_a, side="right")
    found = pos < len(order)
    result = np.full(len(time_a), NONE)
    result[found] = order[pos[found]]
    same = result >= 0
    same[same] = group_b[result[same]] == group_a[same]
    return np.where(same, result, NONE)


class Realised:
    """Accumulates the realised figures over chunks."""

    def __init__(self, regions: list[str], months: int, first_month: int = 0) -> None:
        self.regions = regions
        self.count: dict[str, float] = defaultdict(float)
        self.by_region = {r: [0, 0] for r in regions}
        self.in_network = np.zeros(months, dtype=np.int64)
        self.left = np.zeros(months, dtype=np.int64)
        # The months of this leg: churners of an earlier leg are not counted again.
        self.first_month, self.months = first_month, months
        self.by_reason = np.zeros(len(CHURN_REASONS), dtype=np.int64)

    def add(self, chunk: Chunk, n_businesses: int) -> None:
        calls, other, pop = chunk.calls, chunk.contacts, chunk.population
        c = self.count
        n_calls = len(calls.customer)
        transferred = calls.terminal == TRANSFER
        completed = calls.terminal == COMPLETE
        c["calls"] += n_calls
        c["contained"] += (~transferred).sum()
        c["completed"] += completed.sum()
        c["self_service_us"] += (calls.ivr_end_us[completed] - calls.start_us[completed]).sum()
        c["customer_days"] += len(np.unique(calls.customer * 10_000 + calls.start_us // DAY_US))

        # Every contact row: IVR rows, agent rows, other channels (call number or -1).
        t = np.flatnonzero(transferred)
        customer = np.concatenate([calls.customer, calls.customer[t], other["customer"]])
        business = np.concatenate([calls.business, calls.business[t], other["business"]])
        start = np.concatenate([calls.start_us, calls.agent_start_us[t], other["start_us"]])
        end = np.concatenate([calls.ivr_end_us, calls.agent_end_us[t], other["end_us"]])
        call_no = np.concatenate([np.arange(n_calls), t, np.full(len(other["customer"]), NONE)])
        resolved = np.concatenate(
            [
                calls.ivr_outcome == OUTCOME_RESOLVED,
                calls.agent_resolved[t],
                other["outcome"] == OUTCOME_RESOLVED,
            ]
        )
        is_agent = np.concatenate(
            [np.zeros(n_calls, bool), np.ones(len(t), bool), np.zeros(len(other["customer"]), bool)]
        )
        group = customer * n_businesses + business

        # Verified containment: completed, and no same-business contact within 24 h after.
        nxt = next_after(group[:n_calls][completed], calls.ivr_end_us[completed], group, start)
        followed = nxt >= 0
        followed[followed] = (
            start[nxt[followed]] <= calls.ivr_end_us[completed][followed] + 24 * HOUR_US
        )
        c["verified"] += (~followed).sum()

        # IVR -> agent within 60 minutes after calls that ended in the IVR.
        contained = ~transferred
        agents = np.flatnonzero(is_agent)
        nxt = next_after(
            calls.customer[contained], calls.ivr_end_us[contained], customer[agents], start[agents]
        )
        escalated = nxt >= 0
        escalated[escalated] = (
            start[agents][nxt[escalated]] <= calls.ivr_end_us[contained][escalated] + HOUR_US
        )
        c["contained_to_agent"] += escalated.sum()
        region = pop.region[calls.customer[contained]]
        for r, name in enumerate(self.regions):
            mask = region == r
            self.by_region[name][0] += escalated[mask].sum()
            self.by_region[name][1] += mask.sum()

        # Repeats: a later contact, same customer and business, within 24 h of the end, in
        # any channel; the row of the same hotline call does not count.
        nxt = next_after(group, start, group, start)
        has = nxt >= 0
        same_call = has.copy()
        same_call[has] = (call_no[nxt[has]] == call_no[has]) & (call_no[has] != NONE)
        # Skip the call's own row: take the next one after it.
        skip = np.flatnonzero(same_call)
        nxt[skip] = next_after(group[skip], start[nxt[skip]], group, start)
        has = nxt >= 0
        repeated = has.copy()
        repeated[has] = start[nxt[has]] <= end[has] + 24 * HOUR_US
        c["contacts"] += len(customer)
        c["repeated"] += repeated.sum()
        c["first_contact_resolved"] += (resolved & ~repeated).sum()

        s = chunk.surveys
        c["sms_sent"] += s["is_sms"].sum()
        c["sms_replied"] += (s["is_sms"] & s["replied"]).sum()
        c["ivr_sent"] += (~s["is_sms"]).sum()
        c["ivr_replied"] += (~s["is_sms"] & s["replied"]).sum()
        good = s["satisfaction"] == SATISFIED
        c["sms_satisfied"] += (s["is_sms"] & good).sum()
        c["ivr_satisfied"] += (~s["is_sms"] & good).sum()
        c["sms_replied_satisfied"] += (s["is_sms"] & s["replied"] & good).sum()
        c["ivr_replied_satisfied"] += (~s["is_sms"] & s["replied"] & good).sum()
        self.in_network += chunk.in_network_at_month_start
        self.left += chunk.left_in_month
        in_leg = (chunk.churn_month >= self.first_month) & (
            chunk.churn_month < self.first_month + self.months
        )
        self.by_reason += np.bincount(chunk.churn_reason[in_leg], minlength=len(CHURN_REASONS))

    def figures(self) -> dict:
        c = self.count
        churned = self.by_reason.sum()

        def ratio(a: str, b: str) -> float:
            return float(c[a] / c[b]) if c[b] else float("nan")

        return {
            "ivr_containment_rate": ratio("contained", "calls"),
            "ivr_verified_containment_rate": ratio("verified", "calls"),
            "ivr_to_agent_60min_rate": ratio("contained_to_agent", "contained"),
            "ivr_to_agent_60min_rate_by_region": {
                r: float(n / d) if d else None for r, (n, d) in self.by_region.items()
            },
            "calls_per_dialling_customer_per_day": ratio("calls", "customer_days"),
            # Every call of a dialling customer-day but its last is followed by a redial.
            "hotline_redial_rate": float(1 - c["customer_days"] / c["calls"])
            if c["calls"]
            else float("nan"),
            "mean_self_service_seconds": float(c["self_service_us"] / c["completed"] / 1e6)
            if c["completed"]
            else None,
            "sms_survey_reply_rate": ratio("sms_replied", "sms_sent"),
            "ivr_survey_reply_rate": ratio("ivr_replied", "ivr_sent"),
            # Share satisfied among every survey sent (what a non-response-weighted CSAT aims
            # at) and among those that replied (what a plain CSAT of the replies sees).
            "sms_survey_csat": ratio("sms_satisfied", "sms_sent"),
            "ivr_survey_csat": ratio("ivr_satisfied", "ivr_sent"),
            "sms_survey_csat_of_replies": ratio("sms_replied_satisfied", "sms_replied"),
            "ivr_survey_csat_of_replies": ratio("ivr_replied_satisfied", "ivr_replied"),
            "monthly_churn_rate": float(np.mean(self.left / np.maximum(self.in_network, 1))),
            "churned_customers": int(self.left.sum()),
            "churn_by_reason": {
                reason: float(n / churned) if churned else None
                for reason, n in zip(CHURN_REASONS, self.by_reason, strict=True)
            },
            "repeat_contact_rate": ratio("repeated", "contacts"),
            "first_contact_resolution_rate": ratio("first_contact_resolved", "contacts"),
            "n_hotline_calls": int(c["calls"]),
            "n_contacts": int(c["contacts"]),
        }
