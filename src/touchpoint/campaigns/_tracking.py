"""Tracking campaigns month by month, in seed 002's own terms, for the treated AND the holdout:
the net effect (difference) with its interval beside the naive, uncontrolled before/after
figure on the treated. Pure Ibis.

Per customer of a campaign and month ``m`` after its selection month ``b`` (the assignment's
``audience_month``; ``idx`` counts months from ``b``, 0 being ``b`` itself):

Store-payment diversion (``stg_payments``):

- ``no_store_payment``: no payment in a store channel in ``m``;
- ``away_3m_running``: none in ``m``, ``m-1`` and ``m-2`` (all after ``b``; null before);
- ``away_since_start``: none in any month from ``b+1`` to ``m`` (the planted truth's
  ``paid_in_store`` outcome, negated, at the end of a leg);
- ``went_to_<channel>``: no store payment in ``m`` and at least one in that channel.

Agent diversion (``stg_contacts``, the configured agent channel; a transferred IVR call counts
as an agent contact, as the agent row of the call):

- ``no_agent_call``, ``agent_away_3m_running``, ``no_agent_since_start``: as above, for
  contacts with the agent (``no_agent_since_start`` is the truth's ``chose_agent``, negated,
  except that the truth counts needs taken to the agent directly, not transfers);
- ``agent_calls_at_most_2``: at most two agent contacts in ``m`` (none counts: seed 002's
  "46 % of those who still called did so at most twice" is a share of those who still called,
  a group the campaign itself changes, so the comparison here is over everyone);
- ``agent_level_1_2``: the 360's ``pref_level_agent`` in ``m`` is 1 or 2 (seed 002's "fell to
  preference level 1-2"; a customer with no 360 row that month, gone, counts as not).

Leaving and complaining (for a retention offer the first is the outcome; for every campaign
both are side effects, annoyed customers complain and leave more):

- ``churned``: the customer's ``leave_date`` falls from ``b+1`` to the end of ``m``;
- ``complained``: at least one complaint in ``m``.

The naive figure is the treated's rate in ``m`` minus the same indicator in ``b`` (for the
cumulative ones the monthly indicator: ``no_store_payment``, ``no_agent_call``): what seed 002
reported as "diversion". Leaving has no before figure (everyone was in): its naive is null.
"""

from __future__ import annotations

from statistics import NormalDist

import ibis
import ibis.expr.types as ir
import pyarrow as pa

METRICS = ("no_store_payment", "away_3m_running", "away_since_start")
AGENT_METRICS = (
    "no_agent_call",
    "agent_away_3m_running",
    "no_agent_since_start",
    "agent_calls_at_most_2",
    "agent_level_1_2",
)
RETENTION_METRICS = ("churned",)
SIDE_EFFECT_METRICS = ("complained", "churned")
PRIMARY, SIDE_EFFECT = "primary", "side_effect"
#: The indicator in the selection month that a metric's naive figure subtracts (None: no naive).
NAIVE_BASE = {
    "away_3m_running": "no_store_payment",
    "away_since_start": "no_store_payment",
    "agent_away_3m_running": "no_agent_call",
    "no_agent_since_start": "no_agent_call",
    "churned": None,
}
#: The monthly metric whose net effect times the treated counts the contacts moved, by action.
MOVED_METRIC = {
    "divert_store_payment_to_self_service": "no_store_payment",
    "divert_agent_to_self_service": "no_agent_call",
}

TRACKING_SCHEMA = ibis.schema(
    {
        "campaign_id": "string",
        "action": "string",
        "metric": "string",
        "kind": "string",
        "month": "date",
        "n_treatment": "int64",
        "n_holdout": "int64",
        "rate_treatment": "float64",
        "rate_holdout": "float64",
        "net_effect": "float64",
        "net_ci_low": "float64",
        "net_ci_high": "float64",
        "naive_effect": "float64",
        "treatment_baseline_rate": "float64",
    }
)
SAVINGS_SCHEMA = ibis.schema(
    {
        "campaign_id": "string",
        "action": "string",
        "month": "date",
        "metric": "string",
        "n_treatment": "int64",
        "moved": "float64",
        "moved_low": "float64",
        "moved_high": "float64",
        "cost_difference_yuan": "float64",
        "saving_yuan": "float64",
        "saving_low_yuan": "float64",
        "saving_high_yuan": "float64",
        "n_orders": "int64",
        "order_cost_yuan": "float64",
        "net_saving_to_date_yuan": "float64",
        "arpu_yuan": "float64",
        "remaining_months": "float64",
        "success_rate": "float64",
        "success_low": "float64",
        "success_high": "float64",
        "target_success_rate": "float64",
    }
)


def action_metrics(action: str, destinations: tuple[str, ...]) -> list[tuple[str, str]]:
    """(metric, kind) tracked for a campaign of ``action``: its own, then the side effects.

    >>> action_metrics("retention_offer", ())
    [('churned', 'primary'), ('complained', 'side_effect')]
    """
    own = {
        "divert_store_payment_to_self_service": (
            *METRICS,
            *(f"went_to_{d}" for d in destinations),
        ),
        "divert_agent_to_self_service": AGENT_METRICS,
        "retention_offer": RETENTION_METRICS,
    }.get(action, ())
    side = [(m, SIDE_EFFECT) for m in SIDE_EFFECT_METRICS if m not in own]
    return [(m, PRIMARY) for m in own] + side


def empty(schema: ibis.Schema) -> ir.Table:
    """A table of ``schema`` with no rows."""
    return ibis.memtable(schema.to_pyarrow().empty_table())


def _month(ts: ir.TimestampValue) -> ir.DateValue:
    return ts.truncate("M").cast("date")


def monthly_payments(
    payments: ir.Table, store_channels: tuple[str, ...], destinations: tuple[str, ...]
) -> ir.Table:
    """One row per customer × month with a payment: ``n_store`` and ``n_<destination>``."""
    p = payments.mutate(month=_month(payments.paid_at))
    aggs = {"n_store": p.channel.isin(list(store_channels)).sum().cast("int64")}
    for ch in destinations:
        aggs[f"n_{ch}"] = (p.channel == ch).sum().cast("int64")
    return p.group_by("customer_id", "month").agg(**aggs)


def definition_actions(definitions: ir.Table) -> ir.Table:
    """(``campaign_id``, ``action``) of each campaign's latest version in ``campaign_definitions``."""
    latest = definitions.mutate(
        _n=ibis.row_number().over(
            ibis.window(group_by="campaign_id", order_by=ibis.desc("version"))
        )
    )
    latest = latest.filter(latest._n == 0)
    return latest.select(
        "campaign_id",
        action=latest.definition_json.re_extract(r'"action"\s*:\s*"([a-z_]+)"', 1),
    )


def _join(grid: ir.Table, counts: ir.Table, keys: list[str]) -> ir.Table:
    joined = grid.left_join(counts, keys)
    return joined.drop(*(f"{k}_right" for k in keys if f"{k}_right" in joined.columns))


def campaign_customer_months(
    assignments: ir.Table,
    *,
    payments: ir.Table | None = None,
    contacts: ir.Table | None = None,
    customers: ir.Table | None = None,
    c360: ir.Table | None = None,
    complaints: ir.Table | None = None,
    store_channels: tuple[str, ...] = ("store", "partner_store"),
    destinations: tuple[str, ...] = ("kiosk", "web", "app", "mobile_pay"),
    agent_channel: str = "agent",
) -> ir.Table:
    """One row per campaign × assigned customer × month from the campaign's selection month
    (``idx`` 0) to the last month of the data, with every metric flag the sources allow.

    ``assignments`` has ``campaign_id``, ``customer_id``, ``group`` and ``audience_month``.
    The months are those of the event sources given (payments, contacts, complaints).
    """
    ids = assignments.select("customer_id").distinct()
    month_sets = []
    if payments is not None:
        payments = payments.semi_join(ids, "customer_id")
        month_sets.append(payments.select(month=_month(payments.paid_at)))
    if contacts is not None:
        contacts = contacts.semi_join(ids, "customer_id")
        month_sets.append(contacts.select(month=_month(contacts.started_at)))
    if complaints is not None:
        complaints = complaints.semi_join(ids, "customer_id")
        month_sets.append(complaints.select(month=_month(complaints.created_at)))
    if not month_sets:
        raise ValueError("tracking needs at least one event source (payments, contacts)")
    months = ibis.union(*month_sets).distinct()
    base = assignments.group_by("campaign_id").agg(baseline=assignments.audience_month.min())
    a = assignments.select("campaign_id", "customer_id", "group").join(base, "campaign_id")
    grid = a.join(months, a.baseline <= months.month)
    grid = grid.mutate(
        idx=(grid.month.year() - grid.baseline.year()) * 12
        + grid.month.month()
        - grid.baseline.month()
    )
    keys = ["customer_id", "month"]
    counts: list[str] = []
    if payments is not None:
        grid = _join(grid, monthly_payments(payments, store_channels, destinations), keys)
        counts += ["n_store", *(f"n_{d}" for d in destinations)]
    if contacts is not None:
        c = contacts.mutate(month=_month(contacts.started_at))
        agent = c.group_by("customer_id", "month").agg(
            n_agent=(c.channel == agent_channel).sum().cast("int64")
        )
        grid = _join(grid, agent, keys)
        counts.append("n_agent")
        if c360 is not None and "pref_level_agent" in c360.columns:
            level = c360.select("customer_id", "month", level_agent=c360.pref_level_agent)
            grid = _join(grid, level, keys)
            grid = grid.mutate(level_agent=grid.level_agent.cast("int64").fill_null(0))
    if customers is not None:
        left = customers.select("customer_id", leave_date=customers.leave_date).distinct()
        grid = _join(grid, left, ["customer_id"])
    if complaints is not None:
        k = complaints.mutate(month=_month(complaints.created_at))
        n = k.group_by("customer_id", "month").agg(n_complaints=k.count().cast("int64"))
        grid = _join(grid, n, keys)
        counts.append("n_complaints")
    grid = grid.mutate(**{name: grid[name].fill_null(0) for name in counts})

    by_customer = dict(group_by=["campaign_id", "customer_id"], order_by="month")
    since = ibis.window(**by_customer, preceding=None, following=0)
    last3 = ibis.window(**by_customer, preceding=2, following=0)
    windows = {}
    for count, prefix in (("n_store", "store"), ("n_agent", "agent")):
        if count in grid.columns:
            used = (grid[count] > 0).cast("int64")
            windows[f"_{prefix}_since"] = ibis.ifelse(grid.idx > 0, used, 0).sum().over(since)
            windows[f"_{prefix}_last3"] = used.sum().over(last3)
    g = grid.mutate(**windows)
    flags: dict[str, ir.Value] = {}
    if "n_store" in g.columns:
        flags["no_store_payment"] = g.n_store == 0
        flags["away_3m_running"] = ibis.ifelse(g.idx >= 3, g._store_last3 == 0, None)
        flags["away_since_start"] = ibis.ifelse(g.idx >= 1, g._store_since == 0, g.n_store == 0)
        for d in destinations:
            flags[f"went_to_{d}"] = (g.n_store == 0) & (g[f"n_{d}"] > 0)
    if "n_agent" in g.columns:
        flags["no_agent_call"] = g.n_agent == 0
        flags["agent_away_3m_running"] = ibis.ifelse(g.idx >= 3, g._agent_last3 == 0, None)
        flags["no_agent_since_start"] = ibis.ifelse(g.idx >= 1, g._agent_since == 0, g.n_agent == 0)
        flags["agent_calls_at_most_2"] = g.n_agent <= 2
    if "level_agent" in g.columns:
        flags["agent_level_1_2"] = g.level_agent.between(1, 2)
    if "leave_date" in g.columns:
        start = g.baseline + ibis.interval(months=1)
        end = g.month + ibis.interval(months=1)
        flags["churned"] = (
            g.leave_date.notnull() & (g.leave_date >= start) & (g.leave_date < end)
        ).fill_null(False)
    if "n_complaints" in g.columns:
        flags["complained"] = g.n_complaints > 0
    return g.select("campaign_id", "customer_id", "group", "month", "idx", **flags)


def _metric_plan(actions: ir.Table, available: list[str], destinations) -> ir.Table:
    rows = []
    for action in (
        "divert_store_payment_to_self_service",
        "divert_agent_to_self_service",
        "retention_offer",
        "cross_sell",
    ):
        for metric, kind in action_metrics(action, destinations):
            if metric in available:
                rows.append({"action": action, "metric": metric, "kind": kind})
    plan = ibis.memtable(
        pa.Table.from_pylist(
            rows,
            schema=pa.schema(
                [("action", pa.string()), ("metric", pa.string()), ("kind", pa.string())]
            ),
        )
    )
    return actions.join(plan, "action")


def _base_of(wide: ir.Table, available: list[str], metric: str, prefix: str) -> ir.Value:
    """The count column (``_n``/``_s``) of the indicator a metric's naive figure subtracts."""
    name = NAIVE_BASE.get(metric, metric)
    if name is None or name not in available:
        return ibis.null("int64")
    return wide[f"{prefix}{available.index(name)}"]


def track_campaigns(
    assignments: ir.Table,
    actions: ir.Table,
    *,
    confidence: float = 0.95,
    destinations: tuple[str, ...] = ("kiosk", "web", "app", "mobile_pay"),
    **sources,
) -> ir.Table:
    """``mart_campaign_tracking``: one row per campaign × metric × month after its selection
    month, treated and holdout rates, the net effect (treated - holdout) with its Wald
    interval, and the naive before/after figure on the treated.

    ``actions`` maps ``campaign_id`` to its ``action``; ``sources`` are the keyword tables
    and settings of :func:`campaign_customer_months` (a metric whose source is absent is left
    out).
    """
    cm = campaign_customer_months(assignments, destinations=destinations, **sources)
    available = [
        c for c in cm.columns if c not in ("campaign_id", "customer_id", "group", "month", "idx")
    ]
    # One pass over the customer-months: per campaign, group and month, each metric's count
    # of customers with the flag defined and of those with it true. The long table (one row
    # per metric) is built from these few rows, not from the customer-months.
    wide = cm.group_by("campaign_id", "group", "month", "idx").agg(
        **{
            agg: expr
            for i, n in enumerate(available)
            for agg, expr in (
                (f"_n{i}", cm[n].count().cast("int64")),
                (f"_s{i}", cm[n].cast("int64").sum()),
            )
        }
    )
    long = ibis.union(
        *(
            wide.select(
                "campaign_id",
                "group",
                "month",
                "idx",
                metric=ibis.literal(n),
                n=wide[f"_n{i}"],
                s=wide[f"_s{i}"],
                base_n=_base_of(wide, available, n, "_n"),
                base_s=_base_of(wide, available, n, "_s"),
            )
            for i, n in enumerate(available)
        )
    )
    plan = _metric_plan(actions, available, destinations)
    long = long.join(plan, ["campaign_id", "metric"])
    first = long.filter((long.idx == 0) & (long.group == "treatment"))
    base = first.group_by("campaign_id", "metric").agg(
        treatment_baseline_rate=first.base_s.sum().cast("float64") / first.base_n.sum().nullif(0)
    )
    after = long.filter((long.idx > 0) & (long.n > 0))
    treated, held = after.group == "treatment", after.group == "holdout"
    rates = after.group_by("campaign_id", "action", "metric", "kind", "month").agg(
        n_treatment=ibis.ifelse(treated, after.n, 0).sum().cast("int64"),
        n_holdout=ibis.ifelse(held, after.n, 0).sum().cast("int64"),
        _st=ibis.ifelse(treated, after.s, 0).sum(),
        _sh=ibis.ifelse(held, after.s, 0).sum(),
    )
    rates = rates.mutate(
        rate_treatment=rates._st.cast("float64") / rates.n_treatment.nullif(0),
        rate_holdout=rates._sh.cast("float64") / rates.n_holdout.nullif(0),
    ).drop("_st", "_sh")
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    r = rates.left_join(base, ["campaign_id", "metric"])
    se = (
        r.rate_treatment * (1 - r.rate_treatment) / r.n_treatment.nullif(0)
        + r.rate_holdout * (1 - r.rate_holdout) / r.n_holdout.nullif(0)
    ).sqrt()
    net = r.rate_treatment - r.rate_holdout
    out = r.select(
        "campaign_id",
        "action",
        "metric",
        "kind",
        "month",
        "n_treatment",
        "n_holdout",
        "rate_treatment",
        "rate_holdout",
        net_effect=net,
        net_ci_low=net - z * se,
        net_ci_high=net + z * se,
        naive_effect=r.rate_treatment - r.treatment_baseline_rate,
        treatment_baseline_rate=r.treatment_baseline_rate,
    )
    return out.cast(TRACKING_SCHEMA).order_by("campaign_id", "metric", "month")


def as_one_campaign(
    assignment: ir.Table, baseline_month, campaign_id: str = "campaign"
) -> ir.Table:
    """One campaign's ``customer_id`` and ``group`` in the shape of the assignments table
    :func:`campaign_customer_months` reads (its id and its selection month added)."""
    month = baseline_month if isinstance(baseline_month, ir.Value) else ibis.literal(baseline_month)
    return assignment.select(
        "customer_id",
        "group",
        campaign_id=ibis.literal(campaign_id),
        audience_month=month.cast("date"),
    )


def track(
    assignment: ir.Table,
    payments: ir.Table,
    baseline_month: ir.Value,
    *,
    store_channels: tuple[str, ...] = ("store", "partner_store"),
    destinations: tuple[str, ...] = ("kiosk", "web", "app", "mobile_pay"),
    confidence: float = 0.95,
) -> ir.Table:
    """One store-payment diversion tracked from ``payments`` alone: one row per month after
    ``baseline_month`` × metric (:func:`track_campaigns` for one campaign, its columns).

    ``assignment`` has ``customer_id`` and ``group`` (``treatment`` / ``holdout``).
    """
    a = as_one_campaign(assignment, baseline_month)
    actions = ibis.memtable(
        {"campaign_id": ["campaign"], "action": ["divert_store_payment_to_self_service"]}
    )
    out = track_campaigns(
        a,
        actions,
        confidence=confidence,
        destinations=destinations,
        payments=payments,
        store_channels=store_channels,
    )
    out = out.filter(out.kind == PRIMARY)
    return out.drop("campaign_id", "action", "kind", "treatment_baseline_rate").order_by(
        "metric", "month"
    )


def savings(
    tracking: ir.Table, cost_difference_yuan: float, order_cost_yuan: float, n_orders: int
) -> ir.Table:
    """Money per month: contacts moved (net effect on ``no_store_payment`` × treated) × the
    cost difference between the channels, minus the work orders' cost, with its interval."""
    t = tracking.filter(tracking.metric == "no_store_payment")
    cost = n_orders * order_cost_yuan
    return t.select(
        "month",
        moved=t.net_effect * t.n_treatment,
        saving_yuan=t.net_effect * t.n_treatment * cost_difference_yuan - cost,
        saving_low_yuan=t.net_ci_low * t.n_treatment * cost_difference_yuan - cost,
        saving_high_yuan=t.net_ci_high * t.n_treatment * cost_difference_yuan - cost,
    )


def retention_arpu(
    assignments: ir.Table, actions: ir.Table, c360: ir.Table, arpu_column: str
) -> ir.Table:
    """(``campaign_id``, ``arpu_yuan``) of each retention campaign: the mean of ``arpu_column``
    over its treated customers' 360 rows of its selection month (customers without one, or
    with a null, left out)."""
    retention = actions.filter(actions.action == "retention_offer").select("campaign_id")
    a = assignments.filter(assignments.group == "treatment").semi_join(retention, "campaign_id")
    base = a.group_by("campaign_id").agg(baseline=a.audience_month.min())
    a = a.select("campaign_id", "customer_id").join(base, "campaign_id")
    rows = a.join(
        c360.select("customer_id", "month", _arpu=c360[arpu_column].cast("float64")),
        [a.customer_id == c360.customer_id, a.baseline == c360.month],
    )
    return rows.group_by("campaign_id").agg(arpu_yuan=rows._arpu.mean())


def campaign_savings(
    tracking: ir.Table,
    events: ir.Table | None,
    cost_difference_yuan: dict[str, float],
    order_cost_yuan: dict[str, float],
    *,
    retention_arpu: ir.Table | None = None,
    remaining_months: float = 24.0,
    target_success_rate: float = 0.2,
) -> ir.Table:
    """``mart_campaign_savings``: per campaign × month, the money.

    - A diversion (an action with a configured cost difference): the contacts moved (the net
      effect on the action's monthly metric × the treated, with its interval), their saving at
      that cost difference; the saving to date is the sum of the months' savings.
    - A retention offer (with ``retention_arpu``, see :func:`retention_arpu`): the customers
      kept to date (holdout minus treated ``churned``, cumulative since the start, × the
      treated, with its interval), each worth ``arpu_yuan`` × ``remaining_months`` (in
      ``cost_difference_yuan``); the saving to date is that month's value. ``success_rate``
      (the share of the treated kept, with its interval) stands beside
      ``target_success_rate``.

    Each less the dispatched work orders' cost (``net_saving_to_date_yuan``)."""
    plan = ibis.memtable(
        pa.Table.from_pylist(
            [
                {"action": a, "metric": m, "cost_difference_yuan": float(cost_difference_yuan[a])}
                for a, m in MOVED_METRIC.items()
                if a in cost_difference_yuan
            ],
            schema=pa.schema(
                [
                    ("action", pa.string()),
                    ("metric", pa.string()),
                    ("cost_difference_yuan", pa.float64()),
                ]
            ),
        )
    )
    moved = ["campaign_id", "action", "month", "metric", "n_treatment", "cost_difference_yuan"]
    d = tracking.join(plan, ["action", "metric"])
    parts = [
        d.select(
            *moved,
            moved=d.net_effect * d.n_treatment,
            moved_low=d.net_ci_low * d.n_treatment,
            moved_high=d.net_ci_high * d.n_treatment,
            arpu_yuan=ibis.null("float64"),
            remaining_months=ibis.null("float64"),
            success_rate=ibis.null("float64"),
            success_low=ibis.null("float64"),
            success_high=ibis.null("float64"),
            target_success_rate=ibis.null("float64"),
            cumulative=ibis.literal(False),
        )
    ]
    if retention_arpu is not None:
        r = tracking.filter(
            (tracking.action == "retention_offer") & (tracking.metric == "churned")
        ).join(retention_arpu, "campaign_id")
        r = r.filter(r.arpu_yuan.notnull())
        r = r.mutate(cost_difference_yuan=r.arpu_yuan * remaining_months)
        parts.append(
            r.select(
                *moved,
                moved=-r.net_effect * r.n_treatment,
                moved_low=-r.net_ci_high * r.n_treatment,
                moved_high=-r.net_ci_low * r.n_treatment,
                arpu_yuan=r.arpu_yuan,
                remaining_months=ibis.literal(float(remaining_months)),
                success_rate=-r.net_effect,
                success_low=-r.net_ci_high,
                success_high=-r.net_ci_low,
                target_success_rate=ibis.literal(float(target_success_rate)),
                cumulative=ibis.literal(True),
            )
        )
    t = ibis.union(*parts)
    if events is not None:
        sent = events.filter(events.event == "dispatched")
        unit = sent.channel.cases(*order_cost_yuan.items(), else_=0.0) if order_cost_yuan else 0.0
        sent = sent.mutate(_cost=ibis.literal(0.0) + unit)
        orders = sent.group_by("campaign_id").agg(
            n_orders=sent.work_order_id.nunique().cast("int64"),
            order_cost_yuan=sent._cost.sum().cast("float64"),
        )
        t = t.left_join(orders, "campaign_id").drop("campaign_id_right")
    else:
        t = t.mutate(n_orders=ibis.null("int64"), order_cost_yuan=ibis.null("float64"))
    t = t.mutate(
        n_orders=t.n_orders.fill_null(0),
        order_cost_yuan=t.order_cost_yuan.fill_null(0.0),
        saving_yuan=t.moved * t.cost_difference_yuan,
        saving_low_yuan=t.moved_low * t.cost_difference_yuan,
        saving_high_yuan=t.moved_high * t.cost_difference_yuan,
    )
    to_date = ibis.window(group_by="campaign_id", order_by="month", preceding=None, following=0)
    value = ibis.ifelse(t.cumulative, t.saving_yuan, t.saving_yuan.sum().over(to_date))
    t = t.mutate(net_saving_to_date_yuan=value - t.order_cost_yuan)
    return t.select(*SAVINGS_SCHEMA.names).cast(SAVINGS_SCHEMA).order_by("campaign_id", "month")
