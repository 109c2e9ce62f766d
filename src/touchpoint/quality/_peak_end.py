"""Peak–end: the worst moment and the end of each contact, and what they do to satisfaction.

Kahneman's peak–end rule (seed 004): a contact is remembered by its worst moment and by how
it ended, hardly by how long it lasted. For each surveyed contact :func:`contact_peaks`
measures the **peak** (the wait for the agent after the IVR, the repeated prompts — timeouts
and invalid keys — of the call, the node where they happened) and the **end** (resolved or
not); :class:`PeakEndModel` is a logistic regression of "satisfied" on them and on the
duration, with standard errors from the Fisher information.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

#: The model's terms, in order (the intercept first).
TERMS = ("intercept", "long_wait", "repeated_prompts", "resolved", "duration_minutes")


def contact_peaks(
    contacts: ir.Table,
    ivr_events: ir.Table | None,
    *,
    ivr_channel: str = "ivr",
    agent_channel: str = "agent",
    long_wait_seconds: float = 60.0,
    bad_peak_prompts: int = 2,
) -> ir.Table:
    """Peak and end of each contact.

    Returns
    -------
    ibis.Table
        One row per contact: ``contact_id, channel, business, is_resolved``,
        ``duration_seconds``, ``wait_seconds`` (an agent leg: from the end of the call's IVR
        leg to the agent; 0 otherwise), ``n_repeated_prompts`` (timeouts and invalid keys in
        the call's IVR events; 0 without a call), ``peak_node_id`` (the node with most of
        them, null if none), ``has_long_wait`` (wait > ``long_wait_seconds``) and
        ``has_bad_peak`` (a long wait or at least ``bad_peak_prompts`` repeated prompts).
    """
    c = contacts
    ivr_leg = c.filter(c.channel == ivr_channel, c.call_id.notnull()).select(
        call_id_i=c.call_id, ivr_ended_at=c.ended_at
    )
    ivr_leg = ivr_leg.group_by("call_id_i").aggregate(ivr_ended_at=ivr_leg.ivr_ended_at.max())
    j = c.left_join(ivr_leg, c.call_id == ivr_leg.call_id_i)
    wait = ibis.ifelse(
        (j.channel == agent_channel) & j.ivr_ended_at.notnull(),
        (j.started_at.epoch_seconds() - j.ivr_ended_at.epoch_seconds()).cast("float64"),
        0.0,
    )
    t = j.select(
        "contact_id",
        "channel",
        "business",
        "call_id",
        is_resolved=(j.outcome == "resolved").fill_null(False),
        duration_seconds=(j.ended_at.epoch_seconds() - j.started_at.epoch_seconds()).cast(
            "float64"
        ),
        wait_seconds=ibis.greatest(wait, 0.0),
    )
    if ivr_events is not None:
        e = ivr_events.filter(ivr_events.event_type.isin(["timeout", "invalid"]))
        per_node = e.group_by(["call_id", "node_id"]).aggregate(n=e.count())
        rank = ibis.row_number().over(
            group_by=per_node.call_id, order_by=[ibis.desc(per_node.n), per_node.node_id]
        )
        per_call = (
            per_node.mutate(_r=rank)
            .group_by("call_id")
            .aggregate(
                n_repeated_prompts=per_node.n.sum(),
                peak_node_id=per_node.node_id.min(where=rank == 0),
            )
            .rename(call_id_e="call_id")
        )
        t = t.left_join(per_call, t.call_id == per_call.call_id_e).drop("call_id_e")
        n_prompts = t.n_repeated_prompts.fill_null(0).cast("int64")
        node = t.peak_node_id
    else:
        n_prompts, node = ibis.literal(0, "int64"), ibis.null("string")
    long_wait = t.wait_seconds > long_wait_seconds
    return t.select(
        "contact_id",
        "channel",
        "business",
        "is_resolved",
        "duration_seconds",
        "wait_seconds",
        n_repeated_prompts=n_prompts,
        peak_node_id=node,
        has_long_wait=long_wait,
        has_bad_peak=long_wait | (n_prompts >= bad_peak_prompts),
    )


def peak_end_frame(replies: ir.Table, peaks: ir.Table) -> ir.Table:
    """Classified survey replies joined to the peak and end of their contact: one row per
    classified reply whose contact is known."""
    r = replies.filter(replies.is_satisfied.notnull())
    return r.inner_join(peaks.drop("channel", "business"), "contact_id")


class PeakEndModel:
    """Logistic regression of satisfied on the peak, the end and the duration.

    ``logit P(satisfied) = b0 + b_wait·long_wait + b_prompts·min(repeated prompts, 3) +
    b_end·resolved + b_duration·minutes``. Unpenalised (scikit-learn, ``C=inf``);
    ``se_`` from the inverse Fisher information. Fitted attributes: ``coef_`` and ``se_``
    (dicts by term, :data:`TERMS`), ``n_``.
    """

    def _design(self, frame: pd.DataFrame) -> np.ndarray:
        return np.column_stack(
            [
                frame.has_long_wait.astype(float),
                np.minimum(frame.n_repeated_prompts.astype(float), 3.0),
                frame.is_resolved.astype(float),
                frame.duration_seconds.astype(float) / 60.0,
            ]
        )

    def fit(self, frame: pd.DataFrame) -> PeakEndModel:
        x = self._design(frame)
        y = frame.is_satisfied.astype(bool).to_numpy().astype(int)
        m = LogisticRegression(C=np.inf, max_iter=2000).fit(x, y)
        beta = np.concatenate([m.intercept_, m.coef_[0]])
        xd = np.column_stack([np.ones(len(x)), x])
        p = 1 / (1 + np.exp(-(xd @ beta)))
        info = xd.T @ (xd * (p * (1 - p))[:, None])
        se = np.sqrt(np.diag(np.linalg.pinv(info)))
        self.model_ = m
        self.coef_ = dict(zip(TERMS, beta.tolist(), strict=True))
        self.se_ = dict(zip(TERMS, se.tolist(), strict=True))
        self.n_ = len(frame)
        return self

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        return self.model_.predict_proba(self._design(frame))[:, 1]

    def effects(self) -> pd.DataFrame:
        """One row per term: ``term, coefficient, std_error, ci_low, ci_high, odds_ratio``."""
        rows = []
        for term in TERMS:
            b, s = self.coef_[term], self.se_[term]
            rows.append(
                {
                    "term": term,
                    "coefficient": b,
                    "std_error": s,
                    "ci_low": b - 1.96 * s,
                    "ci_high": b + 1.96 * s,
                    "odds_ratio": float(np.exp(b)),
                    "n_replies": self.n_,
                }
            )
        return pd.DataFrame(rows)


def bad_peak_sources(frame: ir.Table) -> ir.Table:
    """Where bad peaks come from, among surveyed contacts (:func:`peak_end_frame` with
    ``contact_channel``, ``business``).

    Returns
    -------
    ibis.Table
        One row per dimension (``contact_channel``, ``business``, ``peak_node``) × value:
        ``n_contacts``, ``bad_peak_share``, ``csat`` (satisfied share of those contacts) and
        ``csat_bad_peak`` (the same among those with a bad peak).
    """
    parts = []
    for dim, col in (
        ("contact_channel", frame.contact_channel),
        ("business", frame.business),
        ("peak_node", frame.peak_node_id),
    ):
        t = frame.mutate(_v=col).filter(lambda x: x._v.notnull())
        g = t.group_by("_v").aggregate(
            n_contacts=t.count(),
            n_bad=t.count(where=t.has_bad_peak),
            n_sat=t.count(where=t.is_satisfied),
            n_sat_bad=t.count(where=t.has_bad_peak & t.is_satisfied),
        )
        parts.append(
            g.select(
                dimension=ibis.literal(dim),
                value=g._v.cast("string"),
                n_contacts=g.n_contacts,
                bad_peak_share=g.n_bad.cast("float64") / g.n_contacts,
                csat=g.n_sat.cast("float64") / g.n_contacts,
                csat_bad_peak=ibis.ifelse(
                    g.n_bad > 0, g.n_sat_bad.cast("float64") / g.n_bad, ibis.null("float64")
                ),
            )
        )
    return ibis.union(*parts)
