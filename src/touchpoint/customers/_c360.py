"""The customer 360: one row per customer per month (docs/customers.md has the column contract)."""

from __future__ import annotations

import ibis

from touchpoint.config import Config
from touchpoint.customers._months import month_from_index, month_index, month_of
from touchpoint.customers._preference import channel_preference, preference_level
from touchpoint.customers._settings import CustomersSettings
from touchpoint.customers._surveys import surveys_monthly

KEYS = ("customer_id", "month")


def month_spine(tables: dict[str, ibis.Table | None]) -> ibis.Table:
    """The calendar months spanned by the data: every month from the first to the last month
    with a row in the activity tables (contacts and payments, bills), else in any dated table;
    with bills, no later than the last billed month.

    Surveys, complaints and orders follow contacts and can spill into the month after an
    export ends (a survey sent on the 1st about a contact on the 31st): they do not open a
    month of their own, which would show a month without bills or contacts as the latest.

    Returns
    -------
    ibis.Table
        One row per month: ``month, month_idx``.
    """
    columns = {
        "contacts_monthly": "month",
        "bills": "bill_month",
        "complaints": "created_at",
        "surveys": "sent_at",
        "orders": "ordered_at",
    }
    primary = [n for n in ("contacts_monthly", "bills") if tables.get(n) is not None]
    bounds = []
    for name, column in columns.items():
        table = tables.get(name)
        if table is not None and (name in primary or not primary):
            idx = month_index(month_of(table[column]))
            bounds.append(table.aggregate(lo=idx.min(), hi=idx.max()))
    if not bounds:
        return ibis.memtable(
            {"month": [], "month_idx": []}, schema={"month": "date", "month_idx": "int64"}
        )
    both = ibis.union(*bounds) if len(bounds) > 1 else bounds[0]
    span = both.aggregate(lo=both.lo.min(), hi=both.hi.max())
    if tables.get("bills") is not None:
        # A month is closed by its bill: a contact after the last billed month (a redial past
        # midnight at the end of an export; one in 9.5 M contacts of a simulated million
        # customers) does not open a month of every customer without a bill.
        billed = month_index(month_of(tables["bills"].bill_month)).max().as_scalar()
        span = span.select(lo=span.lo, hi=ibis.least(span.hi, billed))
    # A range of month indexes, unnested: one row per month even when no table has a row in it.
    seq = span.select(month_idx=ibis.range(span.lo, span.hi + 1).unnest()).filter(
        lambda t: t.month_idx.notnull()
    )
    return seq.select(month=month_from_index(seq.month_idx), month_idx=seq.month_idx.cast("int64"))


def _monthly(table: ibis.Table, when: str, **aggs) -> ibis.Table:
    """One row per customer × month (``month_idx``, :func:`month_index`) of ``table[when]``."""
    idx = month_index(table[when])
    return table.group_by("customer_id", month_idx=idx).agg(
        **{k: f(table) for k, f in aggs.items()}
    )


def _contacts_by_channel(contacts_monthly: ibis.Table, config: Config) -> ibis.Table:
    """Contacts, payments and cost per customer × month (``month_idx``), in total and by
    channel: one aggregation pass.

    ``cost_to_serve_yuan`` is each channel's contacts times its configured cost, added in the
    configuration's channel order (a channel it lacks costs nothing, as in
    ``mart_customer_contacts_monthly.cost_yuan``): the same float whatever order the rows
    come in, so a customer exactly on a tier's cut point does not change tier between runs
    (a sum of ``cost_yuan`` over rows can differ in its last bit).
    """
    cm = contacts_monthly
    channels = config.ids("channel")
    aggs: dict[str, ibis.Value] = {
        "n_contacts": cm.n_contacts.sum(),
        "n_payments": cm.n_payments.sum(),
    }
    for c in channels:
        aggs[f"n_contacts_{c}"] = ibis.ifelse(cm.channel == c, cm.n_contacts, 0).sum()
        aggs[f"n_payments_{c}"] = ibis.ifelse(cm.channel == c, cm.n_payments, 0).sum()
    wide = cm.group_by("customer_id", month_idx=month_index(cm.month)).agg(**aggs)
    cost = ibis.literal(0.0, "float64")
    for channel in config.channels:
        if channel.id in channels:
            price = ibis.literal(float(channel.cost_per_contact_yuan), "float64")
            cost = cost + wide[f"n_contacts_{channel.id}"] * price
    return wide.mutate(cost_to_serve_yuan=cost)


def _levels_by_channel(
    preference: ibis.Table, channels: list[str], settings: CustomersSettings
) -> tuple[ibis.Table, ibis.Table]:
    """``pref_level_<channel>`` and ``pref_level_payment_<channel>``, each per customer ×
    month (``month_idx``) with a row in ``mart_channel_preference``.

    ``pref_level_<channel>`` is :func:`overall_from_business_levels`'s level, pivoted in the
    same pass: the channel's window counts summed over businesses, and their share of all the
    customer's events in the window (every row of the customer-month, whatever the channel).
    ``pref_level_payment_<channel>`` is the mart's level for the payment business, pivoted
    from the payment rows only (two narrower aggregations beat one with both).
    """
    p = preference
    n = p.n_contacts_window
    aggs: dict[str, ibis.Value] = {"_n_all": n.sum()}
    for c in channels:
        aggs[f"_n_{c}"] = ibis.ifelse(p.channel == c, n, 0).sum()
    wide = p.group_by("customer_id", month_idx=month_index(p.month)).agg(**aggs)

    def level(channel: str) -> ibis.Value:
        count = wide[f"_n_{channel}"]
        share = (count / wide._n_all).cast("float64")
        return ibis.ifelse(count > 0, preference_level(count, share, settings), 0)

    overall = wide.select(
        "customer_id", "month_idx", **{f"pref_level_{c}": level(c).cast("int64") for c in channels}
    )
    pay = p.filter(p.business == settings.payment_business)
    payment = pay.group_by("customer_id", month_idx=month_index(pay.month)).agg(
        **{
            f"pref_level_payment_{c}": ibis.ifelse(pay.channel == c, pay.level, 0).max()
            for c in channels
        }
    )
    return overall, payment


def customer_360(
    customers: ibis.Table,
    contacts_monthly: ibis.Table | None,
    config: Config,
    settings: CustomersSettings,
    *,
    bills: ibis.Table | None = None,
    orders: ibis.Table | None = None,
    complaints: ibis.Table | None = None,
    surveys: ibis.Table | None = None,
    preference: ibis.Table | None = None,
) -> ibis.Table:
    """The customer 360 of the data contract in docs/customers.md.

    Each part is a narrow per customer × month table joined onto the spine of the months each
    customer was in the network: bills, contacts and payments by channel (with the cost to
    serve), orders, complaints, surveys; then trailing three-month sums, the channel
    preference levels and, last, the profile.

    Parameters
    ----------
    customers
        ``stg_customers``.
    contacts_monthly
        ``mart_customer_contacts_monthly`` (contacts and payments), or ``None``.
    bills, orders, complaints, surveys
        ``stg_bills``, ``stg_orders``, ``stg_complaints``, ``stg_surveys``, each optional: a
        missing table gives zeros (counts) and nulls (values).
    preference
        ``mart_channel_preference``: its payment rows give ``pref_level_payment_<channel>``,
        its counts summed over businesses ``pref_level_<channel>``; computed from
        ``contacts_monthly`` when ``None``.

    Returns
    -------
    ibis.Table
        One row per customer × calendar month spanned by the data in which the customer was
        in the network (joined before the month ends, not left before it starts).
    """
    channels = config.ids("channel")
    spine_months = month_spine(
        {
            "contacts_monthly": contacts_monthly,
            "bills": bills,
            "complaints": complaints,
            "surveys": surveys,
            "orders": orders,
        }
    )
    t = _customer_months(customers, spine_months)
    t = _attach(t, _bills_monthly(bills), _BILL_COLUMNS)
    contacts_m = (
        None if contacts_monthly is None else _contacts_by_channel(contacts_monthly, config)
    )
    t = _attach(t, contacts_m, _contact_columns(channels))
    t = _attach(t, _orders_monthly(orders, settings), _ORDER_COLUMNS)
    t = _attach(t, _complaints_monthly(complaints), {"n_complaints": (0, "int64")})
    t = _attach(t, _surveys_by_month(surveys, settings), _SURVEY_COLUMNS)
    t = _trailing_three_months(t, channels)
    overall = payment = None
    if contacts_monthly is not None:
        if preference is None:
            last_month = spine_months.month.max().as_scalar()
            preference = channel_preference(contacts_monthly, settings, last_month)
        overall, payment = _levels_by_channel(preference, channels, settings)
    t = _attach(t, overall, {f"pref_level_{c}": (0, "int64") for c in channels})
    t = _attach(t, payment, {f"pref_level_payment_{c}": (0, "int64") for c in channels})
    out = _with_profile(t, customers, settings)
    out = with_contribution_tier(out, settings)
    return with_identity_flag(out, settings)


def _customer_months(customers: ibis.Table, spine_months: ibis.Table) -> ibis.Table:
    """The spine: every month of the data in which the customer was in the network.

    It carries only its keys (``customer_id, month_idx``); the profile joins the narrow
    monthly result at the end.
    """
    spine = customers.select("customer_id", "join_date", "leave_date").cross_join(spine_months)
    next_month = month_from_index(spine.month_idx + 1)
    return spine.filter(
        (spine.join_date < next_month)
        & (spine.leave_date.isnull() | (spine.leave_date >= spine.month))
    ).select("customer_id", "month_idx")


#: A part's columns as joined onto the spine: name -> (value when absent, type).
Defaults = dict[str, tuple[object, str]]


def _attach(base: ibis.Table, other: ibis.Table | None, defaults: Defaults) -> ibis.Table:
    """Left-join a per-customer × ``month_idx`` table; absent tables or rows give ``defaults``."""
    if other is None:
        return base.mutate(**{k: ibis.literal(v, t) for k, (v, t) in defaults.items()})
    other = other.rename(o_customer_id="customer_id", o_month_idx="month_idx")
    joined = base.left_join(
        other,
        [base.customer_id == other.o_customer_id, base.month_idx == other.o_month_idx],
    )
    return joined.select(
        *base.columns,
        **{
            k: (joined[k].fill_null(v) if v is not None else joined[k]).cast(t)
            for k, (v, t) in defaults.items()
        },
    )


# Bills: this month's values (null without a bill).
_BILL_COLUMNS: Defaults = {
    "arpu_yuan": (None, "float64"),
    "points": (None, "int64"),
    "arrears_yuan": (None, "float64"),
    "voice_minutes": (None, "float64"),
    "data_mb": (None, "float64"),
    "sms_count": (None, "int64"),
}


def _bills_monthly(bills: ibis.Table | None) -> ibis.Table | None:
    """The month's bill per customer × ``month_idx`` (values summed, points the highest)."""
    if bills is None:
        return None
    return _monthly(
        bills,
        "bill_month",
        arpu_yuan=lambda b: b.arpu_yuan.sum(),
        points=lambda b: b.points.max(),
        arrears_yuan=lambda b: b.arrears_yuan.sum(),
        voice_minutes=lambda b: b.voice_minutes.sum(),
        data_mb=lambda b: b.data_mb.sum(),
        sms_count=lambda b: b.sms_count.sum(),
    )


def _contact_columns(channels: list[str]) -> Defaults:
    """Contacts and payments in total and by channel, and the cost to serve (zero when absent)."""
    columns: Defaults = {"n_contacts": (0, "int64"), "n_payments": (0, "int64")}
    columns |= {f"n_contacts_{c}": (0, "int64") for c in channels}
    columns |= {f"n_payments_{c}": (0, "int64") for c in channels}
    columns["cost_to_serve_yuan"] = (0.0, "float64")
    return columns


_ORDER_COLUMNS: Defaults = {
    "n_orders_subscribe": (0, "int64"),
    "n_family_or_group_orders": (0, "int64"),
}


def _orders_monthly(orders: ibis.Table | None, settings: CustomersSettings) -> ibis.Table | None:
    """Subscriptions, and those to a family or group product, per customer × ``month_idx``."""
    if orders is None:
        return None
    subscribed = orders.action == settings.subscribe_action
    family = ibis.literal(False)
    for prefix in settings.family_or_group_product_prefixes:
        family = family | orders.product_id.lower().startswith(prefix.lower())
    orders = orders.mutate(_sub=subscribed.cast("int64"), _fam=(subscribed & family).cast("int64"))
    return _monthly(
        orders,
        "ordered_at",
        n_orders_subscribe=lambda o: o._sub.sum(),
        n_family_or_group_orders=lambda o: o._fam.sum(),
    )


def _complaints_monthly(complaints: ibis.Table | None) -> ibis.Table | None:
    """Complaints per customer × ``month_idx``."""
    if complaints is None:
        return None
    return _monthly(complaints, "created_at", n_complaints=lambda k: k.count())


_SURVEY_COLUMNS: Defaults = {
    "n_surveys_replied": (0, "int64"),
    "n_surveys_dissatisfied": (0, "int64"),
    "n_surveys_classified": (0, "int64"),
    "score_sum": (0.0, "float64"),
}


def _surveys_by_month(surveys: ibis.Table | None, settings: CustomersSettings) -> ibis.Table | None:
    """Replies, dissatisfied and classified replies and their score sum per customer ×
    ``month_idx`` (:func:`surveys_monthly`)."""
    if surveys is None:
        return None
    sv = surveys_monthly(surveys, settings)
    return sv.select(
        "customer_id",
        "n_surveys_replied",
        "n_surveys_dissatisfied",
        "n_surveys_classified",
        "score_sum",
        month_idx=month_index(sv.month),
    )


def _trailing_three_months(t: ibis.Table, channels: list[str]) -> ibis.Table:
    """The monthly columns with their trailing three months (this one included), the ARPU
    trend, the satisfaction score and the net contribution.

    A customer's months are consecutive (in the network from joining to leaving), so the two
    rows before are the two months before: lags, which are far cheaper than range frames. The
    window runs on the narrow monthly table (keys and values): the profile and the preference
    levels join after it, so DuckDB does not carry ~100 columns through the window's sort.
    """
    w = ibis.window(group_by="customer_id", order_by="month_idx")

    def last3(column: ibis.Value) -> ibis.Value:
        return (
            column + column.lag(1).over(w).fill_null(0) + column.lag(2).over(w).fill_null(0)
        ).cast(column.type())

    score_n = last3(t.n_surveys_classified)
    arpu_1, arpu_2 = t.arpu_yuan.lag(1).over(w), t.arpu_yuan.lag(2).over(w)
    n_before = arpu_1.notnull().cast("int64") + arpu_2.notnull().cast("int64")
    sum_before = arpu_1.fill_null(0.0) + arpu_2.fill_null(0.0)
    arpu_before = ibis.ifelse(n_before > 0, sum_before / n_before, ibis.null("float64"))
    n_3m = n_before + t.arpu_yuan.notnull().cast("int64")
    arpu_3m = ibis.ifelse(
        n_3m > 0, (sum_before + t.arpu_yuan.fill_null(0.0)) / n_3m, ibis.null("float64")
    )
    return t.select(
        "customer_id",
        "month_idx",
        "arpu_yuan",
        arpu_3m_avg_yuan=arpu_3m.cast("float64"),
        arpu_trend_3m=(t.arpu_yuan - arpu_before).cast("float64"),
        points=t.points,
        arrears_yuan=t.arrears_yuan,
        voice_minutes=t.voice_minutes,
        data_mb=t.data_mb,
        sms_count=t.sms_count,
        n_contacts=t.n_contacts,
        **{f"n_contacts_{c}": t[f"n_contacts_{c}"] for c in channels},
        **{f"n_contacts_3m_{c}": last3(t[f"n_contacts_{c}"]) for c in channels},
        n_payments=t.n_payments,
        **{f"n_payments_{c}": t[f"n_payments_{c}"] for c in channels},
        **{f"n_payments_3m_{c}": last3(t[f"n_payments_{c}"]) for c in channels},
        n_orders_subscribe_3m=last3(t.n_orders_subscribe),
        n_family_or_group_orders_3m=last3(t.n_family_or_group_orders),
        n_complaints=t.n_complaints,
        n_complaints_3m=last3(t.n_complaints),
        n_surveys_replied_3m=last3(t.n_surveys_replied),
        n_surveys_dissatisfied_3m=last3(t.n_surveys_dissatisfied),
        satisfaction_score_3m=ibis.ifelse(
            score_n > 0, last3(t.score_sum) / score_n, ibis.null("float64")
        ).cast("float64"),
        cost_to_serve_yuan=t.cost_to_serve_yuan,
        net_contribution_yuan=(t.arpu_yuan - t.cost_to_serve_yuan).cast("float64"),
    )


def _with_profile(t: ibis.Table, customers: ibis.Table, settings: CustomersSettings) -> ibis.Table:
    """The monthly columns after the customer's profile and the columns computed from it
    (tenure, new subscriber, left this month, age)."""
    people = customers.select(
        "customer_id",
        "brand",
        "value_tier",
        "region",
        "plan_id",
        "join_date",
        "leave_date",
        "birth_year",
        is_group_key_person=customers.is_group_key_person.fill_null(False),
        is_family_plan=customers.is_family_plan.fill_null(False),
    )
    t = t.join(people, "customer_id")
    month = month_from_index(t.month_idx)
    tenure = (t.month_idx - month_index(t.join_date)).cast("int64")
    return t.select(
        "customer_id",
        month=month,
        brand=t.brand,
        value_tier=t.value_tier,
        region=t.region,
        plan_id=t.plan_id,
        join_date=t.join_date,
        leave_date=t.leave_date,
        tenure_months=ibis.greatest(tenure, 0),
        is_new_subscriber=tenure < settings.new_subscriber_months,
        has_left_in_month=(
            t.leave_date.notnull() & (month_index(t.leave_date) == t.month_idx)
        ).fill_null(False),
        age_years=(t.month_idx // 12 - t.birth_year).cast("int64"),
        is_group_key_person=t.is_group_key_person,
        is_family_plan=t.is_family_plan,
        **{
            c: t[c]
            for c in t.columns
            if c not in ("customer_id", "month_idx") and c not in people.columns
        },
    )


def with_contribution_tier(table: ibis.Table, settings: CustomersSettings) -> ibis.Table:
    """Add ``contribution_tier`` (1 = highest net contribution .. 5; null without a bill).

    With ``method: yuan`` the cut points are yuan; with ``method: quantile`` they are
    quantiles of the month's net contribution (computed per month).
    """
    cuts = settings.contribution_tiers.cut_points
    net = table.net_contribution_yuan
    if settings.contribution_tiers.method == "yuan":
        bounds = [ibis.literal(float(c)) for c in cuts]
        base = table
    else:
        per_month = table.group_by(q_month=table.month).agg(
            **{f"q{i}": net.quantile(float(c)) for i, c in enumerate(cuts)}
        )
        base = table.left_join(per_month, table.month == per_month.q_month)
        net = base.net_contribution_yuan
        bounds = [base[f"q{i}"] for i in range(len(cuts))]
    tier = ibis.cases(
        *[(net >= bound, i + 1) for i, bound in enumerate(bounds)], else_=len(bounds) + 1
    )
    tier = ibis.ifelse(net.isnull(), ibis.null("int64"), tier).cast("int64")
    return base.select(*table.columns, contribution_tier=tier)


def with_identity_flag(table: ibis.Table, settings: CustomersSettings) -> ibis.Table:
    """Add ``is_identity_customer``: points below the limit and a configured flag or VIP tier
    (false when points are unknown)."""
    rule = settings.identity
    special = ibis.literal(False)
    for flag in rule.any_flag:
        special = special | table[flag]
    if rule.value_tiers:
        special = special | table.value_tier.isin(list(rule.value_tiers))
    flag = ((table.points < rule.max_points) & special).fill_null(False)
    return table.mutate(is_identity_customer=flag)
