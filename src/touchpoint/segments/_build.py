"""Pipeline step ``segments``: behavioural segments per customer-month, their profiles,
the migration between months and the stability of the segments.

Only samples enter memory: the rows k-means is fitted on (at most ``fit_sample``) and each
month's rows for the stability refits (at most ``stability_sample``), chosen in Ibis by
their rank in the month ordered by customer (so the same rows on any engine and in any row
order). The mean and standard deviation of each feature, the segment of every
customer-month (nearest centre, in standardised units), the profiles, the migration and the
share keeping their segment are Ibis expressions over the features: they run in the
warehouse, DuckDB or Spark, not in pandas."""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd
import pyarrow as pa
from sklearn.metrics import adjusted_rand_score

from touchpoint.config import Config
from touchpoint.segments._features import segment_features
from touchpoint.segments._model import CustomerSegmenter
from touchpoint.segments._profiles import describe, name_segments
from touchpoint.segments._settings import SegmentSettings, segment_settings_from_config

MEMBERS_MART = "mart_customer_segments"
PROFILES_MART = "mart_segment_profiles"
MIGRATION_MART = "mart_segment_migration"
STABILITY_MART = "mart_segment_stability"
INPUTS = (("mart_customer_360",), ())
OUTPUTS = (MEMBERS_MART, PROFILES_MART, MIGRATION_MART, STABILITY_MART)

MEMBERS_SCHEMA = {
    "customer_id": "string",
    "month": "date",
    "segment": "int64",
    "segment_name": "string",
}
PROFILES_SCHEMA = {
    "segment": "int64",
    "segment_name": "string",
    "kind": "string",
    "name_en": "string",
    "name_zh": "string",
    "description_en": "string",
    "description_zh": "string",
    "n_customers": "int64",
    "share": "float64",
    "mean_arpu_yuan": "float64",
    "mean_contacts_3m": "float64",
    "digital_share_3m": "float64",
    "agent_share_3m": "float64",
    "store_share_3m": "float64",
    "mean_tenure_months": "float64",
    "mean_complaints_3m": "float64",
    "silhouette": "float64",
}
MIGRATION_SCHEMA = {
    "from_month": "date",
    "to_month": "date",
    "from_segment": "int64",
    "to_segment": "int64",
    "n_customers": "int64",
    "share": "float64",
}
STABILITY_SCHEMA = {
    "from_month": "date",
    "to_month": "date",
    "n_customers": "int64",
    "share_kept": "float64",
    "refit_ari": "float64",
}


def as_table(frame: pd.DataFrame, schema: dict[str, str]) -> ibis.Table:
    """``frame`` as an in-memory table of exactly ``schema``'s columns and types."""
    if frame.empty:
        return ibis.memtable(ibis.schema(schema).to_pyarrow().empty_table())
    return ibis.memtable(frame.reindex(columns=list(schema)), schema=ibis.schema(schema))


def make_segmenter(
    settings: SegmentSettings, n_segments: int | str | None = None
) -> CustomerSegmenter:
    return CustomerSegmenter(
        n_segments=settings.n_segments if n_segments is None else n_segments,
        k_range=settings.k_range,
        selection_sample=settings.selection_sample,
        random_state=settings.random_state,
        fit_sample=settings.fit_sample,
        n_init=settings.n_init,
    )


def _params(model: CustomerSegmenter) -> ibis.Table:
    """One row: the scaler's mean and scale and each centre, as float64 columns (an in-memory
    table, not literals: Spark reads an untyped float literal as a DECIMAL)."""

    row: dict[str, list[float]] = {}
    for j in range(len(model.feature_names_in_)):
        row[f"_mean_{j}"] = [float(model.scaler_.mean_[j])]
        row[f"_scale_{j}"] = [float(model.scaler_.scale_[j])]
        for s in range(model.n_segments_):
            row[f"_c_{s}_{j}"] = [float(model.centers_[s, j])]
    return ibis.memtable(row, schema=ibis.schema(dict.fromkeys(row, "float64")))


def assign_segments(features: ibis.Table, model: CustomerSegmenter) -> ibis.Table:
    """``features`` with ``segment``: the nearest of the model's centres in standardised units
    (as ``model.predict``; a tie goes to the lower segment), as an Ibis expression."""
    names = list(model.feature_names_in_)
    k = model.n_segments_
    t = features.cross_join(_params(model))
    t = t.mutate(
        **{
            f"_z_{j}": (t[name].cast("float64") - t[f"_mean_{j}"]) / t[f"_scale_{j}"]
            for j, name in enumerate(names)
        }
    )
    distances = {}
    for s in range(k):
        total = None
        for j in range(len(names)):
            diff = t[f"_z_{j}"] - t[f"_c_{s}_{j}"]
            total = diff * diff if total is None else total + diff * diff
        distances[f"_d_{s}"] = total
    t = t.mutate(**distances)
    nearest = ibis.least(*(t[f"_d_{s}"] for s in range(k))) if k > 1 else t["_d_0"]
    segment = ibis.cases(*((t[f"_d_{s}"] == nearest, s) for s in range(k)), else_=0)
    return t.mutate(segment=segment.cast("int64")).select(*features.columns, "segment")


def _consecutive(members: ibis.Table, months: list[dt.date]) -> ibis.Table:
    """Rows of ``members`` whose customer has a row in the next month of ``months``:
    ``month``, ``to_month``, ``segment``, ``to_segment``."""
    w = ibis.window(group_by="customer_id", order_by="month")
    t = members.mutate(
        to_month=members.month.lead().over(w), to_segment=members.segment.lead().over(w)
    )
    pairs = list(zip(months, months[1:], strict=False))
    if not pairs:
        return t.filter(ibis.literal(False))
    following = ibis.cases(*((t.month == a, b) for a, b in pairs), else_=ibis.null("date"))
    return t.filter(t.to_month == following)


def migration(members: ibis.Table, months: list[dt.date]) -> ibis.Table:
    """One row per pair of consecutive months x segment there x segment the month after."""
    t = _consecutive(members, months)
    counts = t.group_by(
        from_month=t.month, to_month=t.to_month, from_segment=t.segment, to_segment=t.to_segment
    ).agg(n_customers=ibis._.count())
    total = counts.n_customers.sum().over(ibis.window(group_by=["from_month", "from_segment"]))
    return counts.mutate(share=counts.n_customers.cast("float64") / total.cast("float64"))


def _sample_rows(
    features: ibis.Table, months: pd.DataFrame, settings: SegmentSettings
) -> pd.DataFrame:
    """The rows k-means is fitted on and each month's rows for the stability refits, read
    into memory; ``in_fit`` and ``in_month`` say which.

    Each month's rows are ranked ``r`` = 0.. by customer. The fit takes the rows with ``r`` mod
    s = ``random_state`` mod s, s = ceil(all rows / ``fit_sample``): at most about
    ``fit_sample`` rows, spread evenly over the customers of every month; a month's refit
    likewise with s = ceil(the month's rows / ``stability_sample``). The same rows whatever
    the engine or the order rows arrive in."""
    total = int(months.n.sum())
    fit_step = -(-total // settings.fit_sample)
    t = features
    if fit_step == 1 and int(months.n.max()) <= settings.stability_sample:
        rows = t.to_pandas()
        return rows.assign(in_fit=True, in_month=True)
    rank = ibis.row_number().over(ibis.window(group_by="month", order_by="customer_id"))
    t = t.mutate(_rank=rank)
    steps = [-(-int(n) // settings.stability_sample) for n in months.n]
    month_step = ibis.cases(
        *((t.month == m, step) for m, step in zip(months.month, steps, strict=True)), else_=1
    ).cast("int64")
    month_offset = ibis.cases(
        *(
            (t.month == m, settings.random_state % step)
            for m, step in zip(months.month, steps, strict=True)
        ),
        else_=0,
    ).cast("int64")
    in_fit = t._rank % fit_step == settings.random_state % fit_step
    in_month = t._rank % month_step == month_offset
    t = t.mutate(in_fit=in_fit, in_month=in_month)
    return t.filter(t.in_fit | t.in_month).drop("_rank").to_pandas()


def _stability_ari(
    sample: pd.DataFrame, months: list[dt.date], k: int, settings: SegmentSettings
) -> dict[dt.date, float | None]:
    """Per month a (earlier of a pair): the adjusted Rand index, on the later month's sampled
    customers, of models refitted on each month's sample alone."""
    names = list(settings.features)
    by_month = {m: sample[sample.month == m] for m in months}
    refits = {
        m: make_segmenter(settings, k).fit(f[names]) for m, f in by_month.items() if len(f) > k
    }
    ari: dict[dt.date, float | None] = {}
    for a, b in zip(months, months[1:], strict=False):
        ari[a] = None
        if a in refits and b in refits:
            fb = by_month[b][names]
            ari[a] = float(adjusted_rand_score(refits[a].predict(fb), refits[b].predict(fb)))
    return ari


def stability(
    moves: ibis.Table, months: list[dt.date], ari: dict[dt.date, float | None]
) -> ibis.Table:
    """Per pair of consecutive months: the customers in both, the share of them keeping their
    segment, and the refit agreement (``ari``), from the :func:`migration` counts (the
    customers of a pair are the sum of its counts, those keeping their segment the sum on
    the diagonal)."""
    kept = moves.group_by(month=moves.from_month).agg(
        _n=moves.n_customers.sum(),
        _k=moves.n_customers.sum(where=moves.from_segment == moves.to_segment),
    )
    kept = kept.select("month", "_n", _kept=kept._k.fill_null(0).cast("float64") / kept._n)
    # Typed in Arrow: with one month there are no pairs, and an empty pandas column is float.
    pairs = ibis.memtable(
        pa.table(
            {
                "from_month": pa.array(months[:-1], pa.date32()),
                "to_month": pa.array(months[1:], pa.date32()),
                "refit_ari": pa.array([ari.get(m) for m in months[:-1]], pa.float64()),
            }
        )
    )
    joined = pairs.left_join(kept, pairs.from_month == kept.month)
    return joined.select(
        "from_month",
        "to_month",
        n_customers=joined._n.fill_null(0).cast("int64"),
        share_kept=joined._kept,
        refit_ari=joined.refit_ari,
    )


def profiles(
    model: CustomerSegmenter,
    members: ibis.Table,
    latest: dt.date,
    n_latest: int,
    settings: SegmentSettings,
) -> ibis.Table:
    """One row per segment: size in the latest month, names, descriptions and plain means."""
    names = list(model.feature_names_in_)
    kinds = name_segments(model.centers_, names, settings)
    rows = []
    for s in range(model.n_segments_):
        center = dict(zip(names, model.centers_[s], strict=True))
        kind = kinds[s]
        spec = settings.kinds.get(kind) if kind else None
        rows.append(
            {
                "segment": s,
                "segment_name": kind or f"segment_{s}",
                "kind": kind,
                "name_en": spec.name_en if spec else f"Segment {s}",
                "name_zh": spec.name_zh if spec else f"客群{s}",
                "description_en": describe(center, settings, "en"),
                "description_zh": describe(center, settings, "zh"),
                "silhouette": model.silhouettes_.get(model.n_segments_),
            }
        )
    text_schema = {
        name: PROFILES_SCHEMA[name]
        for name in ("segment", "segment_name", "kind", "name_en", "name_zh")
        + ("description_en", "description_zh", "silhouette")
    }
    text = ibis.memtable(pd.DataFrame(rows), schema=ibis.schema(text_schema))
    m = members.filter(members.month == latest)
    means = m.group_by(_segment=m.segment).agg(
        _n=ibis._.count(),
        mean_arpu_yuan=(m.log_arpu.exp() - 1.0).mean(),
        mean_contacts_3m=(m.log_contacts_3m.exp() - 1.0).mean(),
        digital_share_3m=m.digital_share_3m.mean(),
        agent_share_3m=m.agent_share_3m.mean(),
        store_share_3m=m.store_share_3m.mean(),
        mean_tenure_months=(m.log_tenure.exp() - 1.0).mean(),
        mean_complaints_3m=m.complaints_3m.mean(),
    )
    j = text.left_join(means, text.segment == means._segment)
    n = j._n.fill_null(0).cast("int64")
    return j.mutate(n_customers=n, share=n.cast("float64") / float(max(n_latest, 1))).select(
        *PROFILES_SCHEMA
    )


def _empty() -> dict[str, ibis.Table]:
    return {
        MEMBERS_MART: as_table(pd.DataFrame(), MEMBERS_SCHEMA),
        PROFILES_MART: as_table(pd.DataFrame(), PROFILES_SCHEMA),
        MIGRATION_MART: as_table(pd.DataFrame(), MIGRATION_SCHEMA),
        STABILITY_MART: as_table(pd.DataFrame(), STABILITY_SCHEMA),
    }


def segment_tables(
    features: ibis.Table | pd.DataFrame, settings: SegmentSettings
) -> dict[str, ibis.Table]:
    """The four segment marts from :func:`segment_features` rows (an Ibis table, or a frame
    of them): one model fitted on a sample of every month's customer-months, so a segment
    means the same in every month; every customer-month assigned in Ibis."""
    names = list(settings.features)
    if isinstance(features, pd.DataFrame):
        features = ibis.memtable(features.reindex(columns=["customer_id", "month", *names]))
    features = features.select(
        "customer_id",
        month=features.month.cast("date"),
        **{n: features[n].cast("float64") for n in names},
    )
    months = features.group_by("month").agg(n=ibis._.count()).to_pandas()
    months["month"] = pd.to_datetime(months["month"]).dt.date
    months = months.sort_values("month", ignore_index=True)
    low = settings.k_range[0] if settings.n_segments == "auto" else int(settings.n_segments)
    if int(months.n.sum()) <= max(low, 2) * 2:
        return _empty()
    moments = features.agg(
        **{f"_mean_{j}": features[n].mean() for j, n in enumerate(names)},
        **{f"_std_{j}": features[n].std(how="pop") for j, n in enumerate(names)},
    ).to_pandas()
    location = [float(moments[f"_mean_{j}"].iloc[0]) for j in range(len(names))]
    scale = [float(moments[f"_std_{j}"].iloc[0]) for j in range(len(names))]
    # Sorted: the seeded selection sample and k-means then see the same rows in the same
    # order however the warehouse returned them, so a re-run gives the same segments.
    sample = _sample_rows(features, months, settings)
    sample["month"] = pd.to_datetime(sample["month"]).dt.date
    sample = sample.sort_values(["customer_id", "month"], kind="stable", ignore_index=True)
    fit_rows = sample[sample.in_fit]
    model = make_segmenter(settings).fit(fit_rows[names], location=location, scale=scale)
    month_list = list(months.month)
    ari = _stability_ari(sample[sample.in_month], month_list, model.n_segments_, settings)
    assigned = assign_segments(features, model)
    prof = profiles(model, assigned, month_list[-1], int(months.n.iloc[-1]), settings)
    segment_names = _segment_names(model, settings)
    name = ibis.cases(
        *((assigned.segment == s, n) for s, n in enumerate(segment_names)),
        else_=ibis.null("string"),
    )
    members = assigned.select("customer_id", "month", "segment", segment_name=name)
    # Read once (a few rows per pair of months): the stability is summed from it, where it
    # paired every customer-month with the next again.
    moves = ibis.memtable(migration(assigned, month_list).select(*MIGRATION_SCHEMA).to_pyarrow())
    return {
        MEMBERS_MART: members,
        PROFILES_MART: prof,
        MIGRATION_MART: moves,
        STABILITY_MART: stability(moves, month_list, ari).select(*STABILITY_SCHEMA),
    }


def _segment_names(model: CustomerSegmenter, settings: SegmentSettings) -> list[str]:
    kinds = name_segments(model.centers_, list(model.feature_names_in_), settings)
    return [kind or f"segment_{s}" for s, kind in enumerate(kinds)]


def build(tables: dict[str, ibis.Table], config: Config) -> dict[str, ibis.Table]:
    """Step ``segments`` (see :func:`segment_tables`): the features and the segment of every
    customer-month stay in the warehouse; only the samples k-means needs enter memory."""
    settings = segment_settings_from_config(config)
    return segment_tables(segment_features(tables["mart_customer_360"]), settings)
