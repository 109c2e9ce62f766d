"""Pipeline step ``segments``: behavioural segments per customer-month, their profiles,
the migration between months and the stability of the segments."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
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


def profiles(
    model: CustomerSegmenter, features: pd.DataFrame, labels: np.ndarray, settings: SegmentSettings
) -> pd.DataFrame:
    """One row per segment of the latest month: size, names, descriptions and plain means."""
    names = list(model.feature_names_in_)
    kinds = name_segments(model.centers_, names, settings)
    latest = features.month == features.month.max()
    rows = []
    for s in range(model.n_segments_):
        members = features[latest & (labels == s)]
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
                "n_customers": len(members),
                "share": len(members) / max(int(latest.sum()), 1),
                "mean_arpu_yuan": float(np.expm1(members.log_arpu).mean())
                if len(members)
                else None,
                "mean_contacts_3m": float(np.expm1(members.log_contacts_3m).mean())
                if len(members)
                else None,
                "digital_share_3m": members.digital_share_3m.mean(),
                "agent_share_3m": members.agent_share_3m.mean(),
                "store_share_3m": members.store_share_3m.mean(),
                "mean_tenure_months": float(np.expm1(members.log_tenure).mean())
                if len(members)
                else None,
                "mean_complaints_3m": members.complaints_3m.mean(),
                "silhouette": model.silhouettes_.get(model.n_segments_),
            }
        )
    return pd.DataFrame(rows)


def migration(members: pd.DataFrame) -> pd.DataFrame:
    """One row per pair of consecutive months x segment there x segment the month after."""
    months = sorted(members.month.unique())
    rows = []
    for a, b in zip(months, months[1:], strict=False):
        pair = members[members.month == a].merge(
            members[members.month == b], on="customer_id", suffixes=("_a", "_b")
        )
        counts = pair.groupby(["segment_a", "segment_b"]).size().rename("n_customers").reset_index()
        counts["share"] = counts.n_customers / counts.groupby("segment_a").n_customers.transform(
            "sum"
        )
        counts["from_month"], counts["to_month"] = a, b
        rows.append(counts.rename(columns={"segment_a": "from_segment", "segment_b": "to_segment"}))
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()


def stability(
    model: CustomerSegmenter,
    features: pd.DataFrame,
    members: pd.DataFrame,
    settings: SegmentSettings,
) -> pd.DataFrame:
    """Per pair of consecutive months: the share of customers in both who keep their segment,
    and the adjusted Rand index between the segments of the later month's customers from a
    model refitted on the earlier month alone and one refitted on the later month alone
    (refits and index on a seeded sample of at most ``stability_sample`` rows a month)."""
    names = list(model.feature_names_in_)
    months = sorted(features.month.unique())
    k = model.n_segments_
    n = settings.stability_sample
    by_month = {  # each month's rows, a seeded sample of at most stability_sample
        m: f.sample(n, random_state=settings.random_state) if len(f) > n else f
        for m, f in ((m, features[features.month == m]) for m in months)
    }
    refits = {  # one model per month, fitted on that month alone
        m: make_segmenter(settings, k).fit(f[names]) for m, f in by_month.items() if len(f) > k
    }
    rows = []
    for a, b in zip(months, months[1:], strict=False):
        fb = by_month[b]
        pair = members[members.month == a].merge(members[members.month == b], on="customer_id")
        ari = None
        if a in refits and b in refits:
            ari = adjusted_rand_score(refits[a].predict(fb[names]), refits[b].predict(fb[names]))
        rows.append(
            {
                "from_month": a,
                "to_month": b,
                "n_customers": len(pair),
                "share_kept": float((pair.segment_x == pair.segment_y).mean())
                if len(pair)
                else None,
                "refit_ari": ari,
            }
        )
    return pd.DataFrame(rows)


def segment_tables(features: pd.DataFrame, settings: SegmentSettings) -> dict[str, ibis.Table]:
    """The four segment marts from a :func:`segment_features` frame (one model fitted on
    every customer-month, so a segment means the same in every month)."""
    empty = {
        MEMBERS_MART: as_table(pd.DataFrame(), MEMBERS_SCHEMA),
        PROFILES_MART: as_table(pd.DataFrame(), PROFILES_SCHEMA),
        MIGRATION_MART: as_table(pd.DataFrame(), MIGRATION_SCHEMA),
        STABILITY_MART: as_table(pd.DataFrame(), STABILITY_SCHEMA),
    }
    names = list(settings.features)
    low = settings.k_range[0] if settings.n_segments == "auto" else int(settings.n_segments)
    if len(features) <= max(low, 2) * 2:
        return empty
    # Sorted: the seeded samples and k-means then see the same rows in the same order however
    # the warehouse returned them, so a re-run on the same data gives the same segments.
    features = features.sort_values(["customer_id", "month"], kind="stable", ignore_index=True)
    features["month"] = pd.to_datetime(features["month"]).dt.date
    model = make_segmenter(settings).fit(features[names])
    labels = model.predict(features[names])
    prof = profiles(model, features, labels, settings)
    members = features[["customer_id", "month"]].assign(segment=labels)
    members["segment_name"] = prof.segment_name.to_numpy()[labels]
    return {
        MEMBERS_MART: as_table(members, MEMBERS_SCHEMA),
        PROFILES_MART: as_table(prof, PROFILES_SCHEMA),
        MIGRATION_MART: as_table(migration(members), MIGRATION_SCHEMA),
        STABILITY_MART: as_table(stability(model, features, members, settings), STABILITY_SCHEMA),
    }


def build(tables: dict[str, ibis.Table], config: Config) -> dict[str, ibis.Table]:
    """Step ``segments`` (see :func:`segment_tables`); the features are built in Ibis and
    read into memory once, for scikit-learn."""
    settings = segment_settings_from_config(config)
    features = segment_features(tables["mart_customer_360"]).to_pandas()
    return segment_tables(features, settings)
