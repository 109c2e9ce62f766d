"""The pipeline step ``tags``: membership, monthly flow, validation and definitions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import ibis
import ibis.expr.types as ir

from touchpoint.config import Config
from touchpoint.tags._catalogue import Catalogue, check_catalogue, load_catalogue, resolve_versions
from touchpoint.tags._evaluate import tag_changes, tag_membership
from touchpoint.tags._schema import CUSTOMER_360
from touchpoint.tags._settings import settings_from_config
from touchpoint.tags._validation import tag_validation

MEMBERSHIP_MART = "mart_tag_membership"
CHANGES_MART = "mart_tag_changes"
VALIDATION_MART = "mart_tag_validation"
DEFINITIONS_MART = "mart_tag_definitions"
CAMPAIGN_RESPONSES = "stg_campaign_responses"

DEFINITION_SCHEMA = {
    "tag_id": "string",
    "version": "int64",
    "fingerprint": "string",
    "rule": "string",
    "scope": "string",
    "name_en": "string",
    "name_zh": "string",
    "owner": "string",
    "catalogue_version": "string",
    "first_built_at": "timestamp",
    "is_current": "boolean",
}


def definitions(
    catalogue: Catalogue, history: list[Mapping[str, Any]], built_at: dt.datetime
) -> ir.Table:
    """Every tag version ever built: one row per tag × version (``is_current`` for this one).

    ``catalogue`` has its versions resolved against ``history`` (earlier rows of this table);
    earlier versions keep their rows, the current ones are added if new.
    """
    current = {(t.id, t.version) for t in catalogue.tags}
    rows = {}
    for row in history:
        key = (row["tag_id"], int(row["version"]))
        rows[key] = {**{k: row.get(k) for k in DEFINITION_SCHEMA}, "is_current": key in current}
    for tag in catalogue.tags:
        key = (tag.id, tag.version)
        if key not in rows:
            rows[key] = {
                "tag_id": tag.id,
                "version": tag.version,
                "fingerprint": tag.fingerprint(catalogue.parameters),
                "rule": tag.rule,
                "scope": tag.applies_to.as_rule(),
                "name_en": tag.name.en,
                "name_zh": tag.name.zh,
                "owner": tag.owner,
                "catalogue_version": catalogue.version,
                "first_built_at": built_at,
                "is_current": True,
            }
    ordered = [rows[k] for k in sorted(rows)]
    return ibis.memtable(
        {name: [r[name] for r in ordered] for name in DEFINITION_SCHEMA}, schema=DEFINITION_SCHEMA
    )


def current_catalogue(
    config: Config | None = None, history_table: ir.Table | None = None, path: Any = None
) -> Catalogue:
    """The configured catalogue with versions resolved against ``mart_tag_definitions``."""
    settings = settings_from_config(config)
    catalogue = load_catalogue(path or settings.catalogue)
    history = history_table.to_pyarrow().to_pylist() if history_table is not None else []
    return resolve_versions(catalogue, history)


def build(tables: dict[str, ir.Table], config: Config) -> dict[str, ir.Table]:
    """Step ``tags``: evaluate the catalogue on ``mart_customer_360``.

    Returns
    -------
    dict
        ``mart_tag_membership`` (one row per customer × tag × month of membership, with
        ``version`` and ``since``), ``mart_tag_validation`` (one row per tag × outcome: lift
        and interval) and ``mart_tag_definitions`` (one row per tag × version ever built).
        The step ``tags_changes`` (:func:`build_changes`) then counts entries and exits from
        the written membership, which is far cheaper than evaluating the rules again.

    Raises
    ------
    RuleError
        When a rule does not fit the 360 (all problems, with their positions).
    """
    settings = settings_from_config(config)
    c360 = tables[CUSTOMER_360]
    history_table = tables.get(DEFINITIONS_MART)
    catalogue = current_catalogue(config, history_table)
    check_catalogue(catalogue, c360.schema(), config, source="tag catalogue")
    history = history_table.to_pyarrow().to_pylist() if history_table is not None else []
    membership = tag_membership(c360, catalogue)
    return {
        MEMBERSHIP_MART: membership,
        VALIDATION_MART: tag_validation(
            c360,
            catalogue,
            campaign_responses=tables.get(CAMPAIGN_RESPONSES),
            confidence=settings.confidence,
            accepted_responses=settings.accepted_responses,
            cluster_min_customers=settings.cluster_min_customers,
        ),
        DEFINITIONS_MART: definitions(catalogue, history, dt.datetime.now().replace(microsecond=0)),
    }


def build_changes(tables: dict[str, ir.Table], config: Config) -> dict[str, ir.Table]:
    """Step ``tags_changes``: ``mart_tag_changes``, one row per current tag × month of the 360
    (members, entered, left), from ``mart_tag_membership``."""
    definitions_table = tables[DEFINITIONS_MART]
    current = definitions_table.filter(definitions_table.is_current)
    return {CHANGES_MART: tag_changes(tables[MEMBERSHIP_MART], tables[CUSTOMER_360], current)}
