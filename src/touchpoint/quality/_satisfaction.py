"""Satisfaction measured honestly: replies classified, reply rates, CSAT with intervals, and
CSAT weighted for who does not reply (docs/quality.md)."""

from __future__ import annotations

import math

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from touchpoint.customers import CustomersSettings, classify_reply

UNCLASSIFIED = "unclassified"
#: Reply-model features: the survey's channel and what is known of every surveyed contact.
REPLY_FEATURES = ("survey_channel", "contact_channel", "business", "outcome", "value_tier")


def survey_replies(
    surveys: ir.Table, contacts: ir.Table, customers: ir.Table, settings: CustomersSettings
) -> ir.Table:
    """Every survey sent with its reply classified and what is known of the contact.

    Returns
    -------
    ibis.Table
        One row per survey sent: ``survey_id, customer_id, contact_id, survey_channel,
        strategy_id`` (``unknown`` when the export has none), ``month`` (of ``sent_at``), ``has_reply``, ``reply_class`` (``satisfied``, ``neutral``,
        ``dissatisfied``, ``unclassified`` for a reply no rule reads — a blank one too — and
        null without a reply), ``is_satisfied`` (null unless classified), ``contact_channel,
        business, outcome`` (of the contact asked about; ``unknown`` when it is not in the
        contacts) and ``value_tier`` of the customer (``unknown`` when missing).
    """
    s = surveys
    contact_id = s.contact_id if "contact_id" in s.columns else ibis.null("string")
    strategy = s.strategy_id if "strategy_id" in s.columns else ibis.null("string")
    base = s.select(
        "survey_id",
        "customer_id",
        "survey_channel",
        "replied_at",
        contact_id=contact_id,
        strategy_id=strategy.fill_null("unknown"),
        month=s.sent_at.truncate("M").cast("date"),
        reply_text=s.reply_text,
    )
    c = contacts.select(
        contact_id_c=contacts.contact_id,
        contact_channel=contacts.channel,
        business=contacts.business,
        outcome=contacts.outcome,
    )
    cu = customers.select(customer_id_u=customers.customer_id, value_tier=customers.value_tier)
    j = base.left_join(c, base.contact_id == c.contact_id_c).left_join(
        cu, base.customer_id == cu.customer_id_u
    )
    has_reply = j.replied_at.notnull()
    klass = classify_reply(j.reply_text.fill_null(""), settings)
    reply_class = ibis.ifelse(has_reply, klass.fill_null(UNCLASSIFIED), ibis.null("string"))
    classified = has_reply & klass.notnull()
    return j.select(
        "survey_id",
        "customer_id",
        "contact_id",
        "survey_channel",
        "strategy_id",
        "month",
        has_reply=has_reply,
        reply_class=reply_class,
        is_satisfied=ibis.ifelse(classified, klass == "satisfied", ibis.null("boolean")),
        contact_channel=j.contact_channel.fill_null("unknown"),
        business=j.business.fill_null("unknown"),
        outcome=j.outcome.fill_null("unknown"),
        value_tier=j.value_tier.fill_null("unknown"),
    )


def wilson_interval(k: ir.NumericValue, n: ir.NumericValue, z: float = 1.959964) -> tuple:
    """Wilson score interval of ``k`` successes in ``n`` (Ibis or plain numbers); null for n = 0.

    >>> [round(x, 4) for x in wilson_interval(8.0, 10.0)]
    [0.4902, 0.9433]
    """
    if isinstance(n, int | float):
        if n <= 0:
            return (float("nan"), float("nan"))
        p = k / n
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        return (centre - half, centre + half)
    nf = ibis.ifelse(n > 0, n.cast("float64"), ibis.null("float64"))
    p = k.cast("float64") / nf
    centre = (p + z * z / (2 * nf)) / (1 + z * z / nf)
    half = z * (p * (1 - p) / nf + z * z / (4 * nf * nf)).sqrt() / (1 + z * z / nf)
    return (centre - half, centre + half)


def satisfaction_summary(replies: ir.Table, by: tuple[str, ...] = ("survey_channel",)) -> ir.Table:
    """Reply rates and plain CSAT per group of :func:`survey_replies`.

    Returns
    -------
    ibis.Table
        One row per group: ``n_sent, n_replied, reply_rate, n_unclassified,
        unclassified_share`` (of the replies: shown, never dropped silently),
        ``n_satisfied, n_neutral, n_dissatisfied, csat`` (satisfied / classified replies) and
        its Wilson 95 % interval ``csat_low, csat_high``.
    """
    r = replies

    def n_where(condition: ir.BooleanValue) -> ir.IntegerScalar:
        # A condition that is null (no reply) counts as false: Ibis compiles a filtered count
        # to SUM(CAST(condition AS BIGINT)) on Spark, null for a group where every condition
        # is null, where DuckDB's COUNT(*) FILTER gives 0 (issue 17's parity gap).
        return r.count(where=condition.fill_null(False))

    g = r.group_by(list(by)).aggregate(
        n_sent=r.count(),
        n_replied=n_where(r.has_reply),
        n_unclassified=n_where(r.reply_class == UNCLASSIFIED),
        n_satisfied=n_where(r.reply_class == "satisfied"),
        n_neutral=n_where(r.reply_class == "neutral"),
        n_dissatisfied=n_where(r.reply_class == "dissatisfied"),
    )
    classified = g.n_satisfied + g.n_neutral + g.n_dissatisfied
    low, high = wilson_interval(g.n_satisfied, classified)
    return g.mutate(
        reply_rate=g.n_replied.cast("float64") / g.n_sent,
        unclassified_share=ibis.ifelse(
            g.n_replied > 0, g.n_unclassified.cast("float64") / g.n_replied, ibis.null("float64")
        ),
        csat=ibis.ifelse(
            classified > 0, g.n_satisfied.cast("float64") / classified, ibis.null("float64")
        ),
        csat_low=low,
        csat_high=high,
    )


def _levels(values: pd.Series) -> pd.Series:
    """A feature's values as text, a missing one (None from a row, NaN from a cell counted
    by pandas) always the level ``'None'``: with the penalty, which level is the reference
    moves the fit."""
    return values.astype(object).where(values.notna(), None).astype(str)


class ReplyModel:
    """Probability that a survey gets a classified reply, from the survey channel and the
    contact's features (one-hot logistic regression, scikit-learn API).

    Fitted attributes: ``categories_`` (the levels of each feature), ``model_``.
    """

    def __init__(self, features: tuple[str, ...] = REPLY_FEATURES, C: float = 10.0):
        self.features = features
        self.C = C

    def _design(self, frame: pd.DataFrame) -> np.ndarray:
        cols = []
        for f in self.features:
            values = _levels(frame[f]).to_numpy()
            for level in self.categories_[f][1:]:
                cols.append(values == level)
        return np.column_stack(cols).astype(float) if cols else np.zeros((len(frame), 0))

    def fit(
        self, frame: pd.DataFrame, replied: np.ndarray, sample_weight: np.ndarray | None = None
    ) -> ReplyModel:
        """``sample_weight``: how many surveys each row stands for (a cell of surveys with
        the same features: the same likelihood as one row per survey)."""
        self.categories_ = {f: sorted(_levels(frame[f]).unique()) for f in self.features}
        # A tight tolerance: fitted on cells (weighted) or on rows, the same coefficients.
        self.model_ = LogisticRegression(C=self.C, max_iter=1000, tol=1e-10)
        self.model_.fit(
            self._design(frame), np.asarray(replied, dtype=int), sample_weight=sample_weight
        )
        return self

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        return self.model_.predict_proba(self._design(frame))[:, 1]


#: A cell of surveys (:func:`reply_cells`): how many were sent, got a classified reply, and
#: a satisfied one.
CELL_COUNTS = ("n_sent", "n_classified", "n_satisfied")


def reply_cells(replies: ir.Table, by: tuple[str, ...] = ("survey_channel",)) -> ir.Table:
    """:func:`survey_replies` counted by cell: one row per value of ``by`` and of the reply
    model's features (:data:`REPLY_FEATURES`, all categories), with :data:`CELL_COUNTS`.
    All :func:`weighted_csat_of_cells` needs, in rows that grow with the features' levels
    and the months, not with the surveys (about 110 M a year at a province)."""
    keys = list(dict.fromkeys((*by, *REPLY_FEATURES)))
    classified = replies.is_satisfied.notnull()
    return replies.group_by(keys).aggregate(
        n_sent=replies.count(),
        n_classified=classified.cast("int64").sum(),
        n_satisfied=replies.is_satisfied.fill_null(False).cast("int64").sum(),
    )


def weighted_csat_of_cells(
    cells: pd.DataFrame, by: tuple[str, ...] = ("survey_channel",)
) -> pd.DataFrame:
    """CSAT weighted for non-response (inverse probability of a classified reply).

    ``cells`` holds :func:`reply_cells` rows. A :class:`ReplyModel` fitted on every survey
    sent (each cell twice, its classified and its other surveys, weighted by their counts)
    gives each classified reply the weight ``w = 1 / p(reply | features)``; the weighted
    CSAT is ``Σ w·satisfied / Σ w`` (Hájek) per ``by`` group, with a Wilson interval on
    Kish's effective sample size ``(Σ w)² / Σ w²``. It corrects the bias of replies that
    depend on the features (an unresolved contact draws more replies), not a bias within
    them.

    Returns one row per group with a classified reply: ``csat_weighted, csat_weighted_low,
    csat_weighted_high, n_effective``.
    """
    sent = cells.n_sent.to_numpy(dtype=float)
    classified = cells.n_classified.to_numpy(dtype=float)
    if classified.sum() > 0 and (classified < sent).any():
        both = pd.concat([cells, cells], ignore_index=True)
        replied = np.repeat([1, 0], len(cells))
        counts = np.concatenate([classified, sent - classified])
        kept = counts > 0
        model = ReplyModel().fit(both[kept], replied[kept], sample_weight=counts[kept])
        p = model.predict_proba(cells)
    else:
        p = np.ones(len(cells))
    w = 1 / np.clip(p, 1e-3, 1)
    sums = (
        cells.assign(
            _w=w * classified, _w2=w * w * classified, _wy=w * cells.n_satisfied.to_numpy(float)
        )[classified > 0]
        .groupby(list(by), sort=True)[["_w", "_w2", "_wy"]]
        .sum()
    )
    out = []
    for group, row in sums.iterrows():
        est = float(row._wy / row._w)
        n_eff = float(row._w**2 / row._w2)
        low, high = wilson_interval(est * n_eff, n_eff)
        keys = group if isinstance(group, tuple) else (group,)
        out.append(
            {
                **dict(zip(by, keys, strict=True)),
                "csat_weighted": est,
                "csat_weighted_low": low,
                "csat_weighted_high": high,
                "n_effective": n_eff,
            }
        )
    return pd.DataFrame(
        out,
        columns=[*by, "csat_weighted", "csat_weighted_low", "csat_weighted_high", "n_effective"],
    )


def weighted_csat(frame: pd.DataFrame, by: tuple[str, ...] = ("survey_channel",)) -> pd.DataFrame:
    """:func:`weighted_csat_of_cells` of ``frame``'s :func:`survey_replies` rows, counted
    into cells here (a step counts them in the warehouse: :func:`reply_cells`)."""
    keys = list(dict.fromkeys((*by, *REPLY_FEATURES)))
    satisfied = frame.is_satisfied
    cells = (
        frame.assign(
            n_sent=1,
            n_classified=satisfied.notna().astype(int),
            n_satisfied=satisfied.astype("boolean").fillna(False).astype(int),
        )
        .groupby(keys, dropna=False, sort=False)[list(CELL_COUNTS)]
        .sum()
        .reset_index()
    )
    return weighted_csat_of_cells(cells, by)


def customer_recent_replies(
    replies: ir.Table, surveys: ir.Table, customer_id: str, n: int = 5
) -> ir.Table:
    """The customer's ``n`` latest surveys (newest first), for the customer card.

    ``replies`` is ``mart_survey_replies``, ``surveys`` ``stg_surveys``. One row per survey:
    ``sent_at, survey_channel, contact_channel, reply_text, reply_class``.
    """
    r = replies.filter(replies.customer_id == customer_id)
    s = surveys.filter(surveys.customer_id == customer_id).select(
        "survey_id", "sent_at", "reply_text"
    )
    j = r.inner_join(s, "survey_id")
    return (
        j.select("sent_at", "survey_channel", "contact_channel", "reply_text", "reply_class")
        .order_by([ibis.desc("sent_at")])
        .limit(n)
    )
