"""Tag validation: does a tag pick out customers who behave differently next month?

For each tag and outcome, the customer-months of the tag's scope are split into members and
non-members; the lift is the outcome rate among members over the rate among non-members,
with a log-ratio confidence interval. A customer's months are not independent draws (the
same sensitive customer complains month after month), so the interval's variance is
cluster-robust by customer once each side has enough customers, and Katz's otherwise. A tag
whose interval contains 1 does not discriminate on that outcome and is flagged.

Outcomes (one value per customer-month of the 360; null when it cannot be known):

- ``churn_next_month``: the customer's ``leave_date`` falls in the following month, or the
  following month's row has ``has_left_in_month``;
- ``complaint_next_month``: the following month's row has ``n_complaints > 0`` (no row, e.g.
  after leaving, counts as no complaint);
- ``campaign_accepted_next_month`` (only with ``stg_campaign_responses``): among
  customer-months followed by a month in which the customer was sent a campaign work order,
  whether one of those was accepted (the accepted responses are configurable).

The last month of the 360 has no following month, so it takes no part.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import ibis
import ibis.expr.types as ir

from touchpoint.tags._catalogue import Catalogue
from touchpoint.tags._evaluate import MEMBER_PREFIX, SCOPE_PREFIX, tag_flags

OUTCOMES = ("churn_next_month", "complaint_next_month", "campaign_accepted_next_month")


def _next_month(month: ir.DateValue, n: int = 1) -> ir.DateValue:
    return (month + ibis.interval(months=n)).cast("date")


def outcomes(
    c360: ir.Table,
    campaign_responses: ir.Table | None = None,
    accepted_responses: tuple[str, ...] = ("accepted",),
) -> ir.Table:
    """The 360 with each outcome added: one row per customer × month of the 360.

    See the module docstring for the definitions; booleans, null where unknown.
    """
    last = c360.month.max()
    has_next = c360.month < last
    # The following month's row, keyed by this month; has_left_in_month is optional so tiny
    # hand-made 360s may leave it out.
    next_left = (
        c360.has_left_in_month.fill_null(False)
        if "has_left_in_month" in c360.columns
        else ibis.literal(False)
    )
    following = c360.select(
        customer_id=c360.customer_id,
        month=(c360.month - ibis.interval(months=1)).cast("date"),
        next_complaints=c360.n_complaints,
        next_has_left=next_left,
    )
    base = c360.mutate(_has_next=has_next)
    joined = base.left_join(following, ["customer_id", "month"]).select(
        base, following.next_complaints, following.next_has_left
    )
    start, end = _next_month(joined.month), _next_month(joined.month, 2)
    in_next = joined.leave_date.notnull() & (joined.leave_date >= start) & (joined.leave_date < end)
    churn = in_next.fill_null(False) | joined.next_has_left.fill_null(False)
    columns = {
        "churn_next_month": ibis.ifelse(joined._has_next, churn, ibis.null("boolean")),
        "complaint_next_month": ibis.ifelse(
            joined._has_next, joined.next_complaints.fill_null(0) > 0, ibis.null("boolean")
        ),
    }
    result = joined.select(*c360.columns, **columns)
    if campaign_responses is None:
        return result
    r = campaign_responses
    sent = r.select(
        customer_id=r.customer_id,
        month=(r.sent_at.truncate("M").cast("date") - ibis.interval(months=1)).cast("date"),
        is_accepted=r.response.isin(list(accepted_responses)),
    )
    per_month = sent.group_by(["customer_id", "month"]).aggregate(accepted=sent.is_accepted.any())
    with_campaign = result.left_join(per_month, ["customer_id", "month"])
    return with_campaign.select(result, campaign_accepted_next_month=per_month.accepted)


_MOMENTS = ("n_customers", "events_sq", "events_x_months", "months_sq")
#: Per-customer counts packed into one 64-bit sum: _FIELDS fields of _BITS bits. A customer
#: has fewer than 2**15 months in the 360, so no field carries into the next and the sum
#: stays below 2**63.
_BITS, _FIELDS = 16, 4


def lift_counts(flags: ir.Table, catalogue: Catalogue) -> ir.Table:
    """Counts behind each lift: one row per tag × outcome.

    ``flags`` is :func:`~touchpoint.tags.tag_flags` of :func:`outcomes` with the outcome
    columns kept (as :func:`tag_validation` does).

    ``n_members`` / ``n_member_events``: member customer-months whose outcome is known / true;
    ``n_nonmembers`` / ``n_nonmember_events``: the same for in-scope non-members. For the
    cluster-robust variance, per side (``member_`` / ``nonmember_``) over its customers *i*
    with ``m_i`` such months and ``e_i`` events: ``n_customers`` (customers with a month),
    ``events_sq`` Σ e_i², ``events_x_months`` Σ e_i·m_i and ``months_sq`` Σ m_i².
    """
    t = flags
    names = [o for o in OUTCOMES if o in flags.columns]
    counted, scope_of = {}, {}
    for i, tag in enumerate(catalogue.tags):
        member, scope = t[MEMBER_PREFIX + tag.id], t[SCOPE_PREFIX + tag.id]
        # Tags that apply to everyone share one count of the scope's months per outcome.
        scoped = catalogue.trees[tag.id][1] is not None
        for j, outcome in enumerate(names):
            known, event = t[outcome].notnull(), t[outcome].fill_null(False)
            key, scope_key = f"t{i}_o{j}", f"t{i}_o{j}" if scoped else f"all_o{j}"
            scope_of[key] = scope_key
            counted[f"{key}_n1"] = member & known
            counted[f"{key}_a"] = member & event
            counted[f"{scope_key}_s"] = scope & known
            counted[f"{scope_key}_e"] = scope & event
    # A customer's months are one cluster: count them per customer first, _FIELDS counts in
    # one 64-bit sum (a field of _BITS bits each), a quarter of the aggregates a filtered
    # count each would take (at 1 M customers the ~170 counts per customer were the step's
    # largest cost).
    packed, field_of = {}, {}
    names_counted = list(counted)
    for g in range(0, len(names_counted), _FIELDS):
        chunk = names_counted[g : g + _FIELDS]
        value = ibis.literal(0, "int64")
        for k, name in enumerate(chunk):
            value = value + ibis.ifelse(counted[name], ibis.literal(1 << (_BITS * k), "int64"), 0)
            field_of[name] = (f"_p{g // _FIELDS}", k)
        packed[f"_p{g // _FIELDS}"] = value.sum()
    c = t.group_by("customer_id").aggregate(**packed)
    mask = ibis.literal((1 << _BITS) - 1, "int64")
    c = c.select(
        **{
            name: (c[column].cast("int64") >> (_BITS * k)) & mask
            for name, (column, k) in field_of.items()
        }
    )
    aggregates = {}
    for key, scope_key in scope_of.items():
        n1, a = c[f"{key}_n1"], c[f"{key}_a"]
        s_, e_ = c[f"{scope_key}_s"], c[f"{scope_key}_e"]
        n0, e0 = s_ - n1, e_ - a
        aggregates[f"{key}_n1"], aggregates[f"{key}_a"] = n1.sum(), a.sum()
        aggregates[f"{key}_s"], aggregates[f"{key}_e"] = s_.sum(), e_.sum()
        for side, months, events in (("m", n1, a), ("o", n0, e0)):
            moments = (
                (months > 0).cast("int64"),
                events * events,
                events * months,
                months * months,
            )
            for name, value in zip(_MOMENTS, moments, strict=True):
                aggregates[f"{key}_{side}_{name}"] = value.sum()
    wide = c.aggregate(**{k: v.fill_null(0).cast("int64") for k, v in aggregates.items()})
    # One row of 4 x tags x outcomes sums, turned long by unnesting an array of structs: the
    # aggregate is referenced once, so no engine recomputes it per tag.
    entries = []
    for i, tag in enumerate(catalogue.tags):
        for j, outcome in enumerate(names):
            key = f"t{i}_o{j}"
            entries.append(
                ibis.struct(
                    {
                        "tag_id": ibis.literal(tag.id),
                        "version": ibis.literal(tag.version, "int64"),
                        "outcome": ibis.literal(outcome),
                        "n_members": wide[f"{key}_n1"],
                        "n_member_events": wide[f"{key}_a"],
                        "n_nonmembers": wide[f"{key}_s"] - wide[f"{key}_n1"],
                        "n_nonmember_events": wide[f"{key}_e"] - wide[f"{key}_a"],
                        **{
                            f"{label}_{name}": wide[f"{key}_{side}_{name}"]
                            for side, label in (("m", "member"), ("o", "nonmember"))
                            for name in _MOMENTS
                        },
                    }
                )
            )
    return wide.select(row=ibis.array(entries).unnest()).unpack("row")


def _cluster_variance(counts: ir.Table, side: str, events: ir.Value, months: ir.Value) -> ir.Value:
    """Cluster-robust variance of ln(rate) for one side: with rate p = E / M over k customers,
    k / (k − 1) · Σ (e_i − p·m_i)² / E² (the delta method on a ratio estimator)."""
    k = counts[f"{side}_n_customers"].cast("float64")
    p = events / months
    squares = (
        counts[f"{side}_events_sq"].cast("float64")
        - 2 * p * counts[f"{side}_events_x_months"].cast("float64")
        + p * p * counts[f"{side}_months_sq"].cast("float64")
    )
    # (floating-point cancellation can leave a tiny negative sum for a constant rate)
    return k / (k - 1) * ibis.greatest(squares, 0.0) / (events * events)


def lift_table(
    counts: ir.Table, confidence: float = 0.95, cluster_min_customers: int = 30
) -> ir.Table:
    """Lift and its log-ratio interval from :func:`lift_counts`; one row per tag × outcome.

    With ``a`` events among ``n1`` members and ``c`` among ``n0`` non-members,
    ``lift = (a / n1) / (c / n0)`` and ``ln lift ± z·se``. When both sides have events and at
    least ``cluster_min_customers`` customers (and ``counts`` carries the per-customer moments
    of :func:`lift_counts`), ``se`` is cluster-robust by customer: the square root of the sum
    of :func:`_cluster_variance` of both sides (``variance`` = ``cluster``). Otherwise it is
    Katz's ``sqrt(1/a − 1/n1 + 1/c − 1/n0)`` (``variance`` = ``katz``); when ``a`` or ``c`` is
    0, 0.5 is added to every cell of the 2 × 2 table (a, n1 − a, c, n0 − c) first. With no
    members or no non-members the lift is null. ``is_discriminating`` is true when the
    interval excludes 1, false when it contains it, null without a lift.
    ``lift_raw`` is the uncorrected ratio of the two rates (0 when no member had the outcome,
    null when no non-member did): what to show beside a corrected ``lift``, which for 0
    member events of 20 is not 0 but e.g. 1.5.

    Examples
    --------
    >>> import ibis
    >>> counts = ibis.memtable({"n_members": [100], "n_member_events": [20],
    ...                         "n_nonmembers": [400], "n_nonmember_events": [40]})
    >>> row = lift_table(counts).to_pyarrow().to_pylist()[0]
    >>> round(row["lift"], 3), round(row["lift_low"], 3), round(row["lift_high"], 3)
    (2.0, 1.225, 3.265)
    """
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    a, n1 = counts.n_member_events.cast("float64"), counts.n_members.cast("float64")
    c, n0 = counts.n_nonmember_events.cast("float64"), counts.n_nonmembers.cast("float64")
    zero = (a == 0) | (c == 0)
    a2, c2 = ibis.ifelse(zero, a + 0.5, a), ibis.ifelse(zero, c + 0.5, c)
    n1b, n0b = ibis.ifelse(zero, n1 + 1, n1), ibis.ifelse(zero, n0 + 1, n0)
    usable = (n1 > 0) & (n0 > 0)
    lift = ibis.ifelse(usable, (a2 / n1b) / (c2 / n0b), ibis.null("float64"))
    katz = 1 / a2 - 1 / n1b + 1 / c2 - 1 / n0b
    if "member_n_customers" in counts.columns:
        clustered = (
            ~zero
            & (counts.member_n_customers >= cluster_min_customers)
            & (counts.nonmember_n_customers >= cluster_min_customers)
        )
        robust = _cluster_variance(counts, "member", a, n1) + _cluster_variance(
            counts, "nonmember", c, n0
        )
        se = ibis.ifelse(clustered, robust, katz).sqrt()
        variance = ibis.ifelse(clustered, "cluster", "katz")
    else:
        se, variance = katz.sqrt(), ibis.literal("katz")
    low, high = (lift.ln() - z * se).exp(), (lift.ln() + z * se).exp()
    return counts.mutate(
        member_rate=ibis.ifelse(n1 > 0, a / n1, ibis.null("float64")),
        nonmember_rate=ibis.ifelse(n0 > 0, c / n0, ibis.null("float64")),
        lift=lift,
        lift_raw=ibis.ifelse(usable & (c > 0), (a / n1) / (c / n0), ibis.null("float64")),
        lift_low=low,
        lift_high=high,
        is_discriminating=ibis.ifelse(lift.isnull(), ibis.null("boolean"), (low > 1) | (high < 1)),
        variance=variance,
        # Ibis writes a float literal as a DuckDB DECIMAL, read back as 0.9500000000000001;
        # a ratio of integers gives the double 0.95 itself.
        confidence=ibis.literal(round(confidence * 1_000_000)) / 1_000_000,
    )


def tag_validation(
    c360: ir.Table,
    catalogue: Catalogue,
    *,
    campaign_responses: ir.Table | None = None,
    confidence: float = 0.95,
    accepted_responses: tuple[str, ...] = ("accepted",),
    cluster_min_customers: int = 30,
) -> ir.Table:
    """The lift of each outcome among each tag's members: one row per tag × outcome.

    Columns: ``tag_id``, ``version``, ``outcome``, the counts and per-customer moments of
    :func:`lift_counts`, ``member_rate``, ``nonmember_rate``, ``lift``, ``lift_raw``,
    ``lift_low``, ``lift_high``, ``is_discriminating``, ``variance`` (``cluster`` or
    ``katz``, see :func:`lift_table`), ``confidence``.
    """
    table = outcomes(c360, campaign_responses, accepted_responses)
    keep = [name for name in OUTCOMES if name in table.columns]
    counts = lift_counts(tag_flags(table, catalogue, keep=keep), catalogue)
    return lift_table(counts, confidence, cluster_min_customers)


def katz_interval(
    a: int, n1: int, c: int, n0: int, confidence: float = 0.95
) -> tuple[float, float, float]:
    """The same lift and interval in plain Python, for small displays and checks.

    >>> [round(x, 3) for x in katz_interval(20, 100, 40, 400)]
    [2.0, 1.225, 3.265]
    """
    if a == 0 or c == 0:
        a, c, n1, n0 = a + 0.5, c + 0.5, n1 + 1, n0 + 1
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    lift = (a / n1) / (c / n0)
    se = math.sqrt(1 / a - 1 / n1 + 1 / c - 1 / n0)
    return lift, math.exp(math.log(lift) - z * se), math.exp(math.log(lift) + z * se)
