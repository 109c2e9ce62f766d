"""What people see of the tags: the catalogue list, one tag in full, a customer's tags.

Query functions: each takes an open Ibis backend (or ``None`` when there is no warehouse:
the catalogue alone is then shown) and returns a JSON-ready result; the command line, the
report and the card only render them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa
import pyarrow.compute as pc

from touchpoint.config import Config
from touchpoint.query import optional_table
from touchpoint.tags._build import (
    CHANGES_MART,
    DEFINITIONS_MART,
    MEMBERSHIP_MART,
    VALIDATION_MART,
    current_catalogue,
)
from touchpoint.tags._catalogue import Catalogue, Tag, catalogue_problems
from touchpoint.tags._schema import CUSTOMER_360, customer_360_schema
from touchpoint.tags._wiki import COMMENTS_TABLE, RATINGS_TABLE, rating_summary

# The lifts `tags list` shows, by the prefix of their fields: the outcome staff ask about
# first (churn), and the one where a customer's months cluster most (complaints).
LISTED_LIFTS = {"churn": "churn_next_month", "complaint": "complaint_next_month"}


def _rows(table: ibis.Table | None, tag_id: str | None = None) -> list[dict[str, Any]]:
    if table is None:
        return []
    if tag_id is not None:
        table = table.filter(table.tag_id == tag_id)
    return table.to_pyarrow().to_pylist()


def catalogue_in_use(
    con: ibis.BaseBackend | None, config: Config, tags_file: Path | None = None
) -> Catalogue:
    """The catalogue the warehouse's tags were built with (else the file or built-in one)."""
    return current_catalogue(config, optional_table(con, DEFINITIONS_MART), tags_file)


def validation_rows(con: ibis.BaseBackend | None) -> list[dict[str, Any]]:
    """Every tag's lift per outcome, with ``lift_corrected``: a zero count made ``lift`` a
    corrected estimate (0.5 added to every cell), so people are shown ``lift_raw`` beside it."""
    table = optional_table(con, VALIDATION_MART)
    if table is None:
        return []
    corrected = (table.n_member_events == 0) | (table.n_nonmember_events == 0)
    # In the mart's own order: the catalogue's, then the configured outcomes'.
    return _rows(table.mutate(lift_corrected=corrected))


def coverage_rows(con: ibis.BaseBackend | None) -> list[dict[str, Any]]:
    """Members, entries and exits of every tag per month (the tag's versions over time)."""
    table = optional_table(con, CHANGES_MART)
    return [] if table is None else _rows(table.order_by(["tag_id", "month"]))


def current_names(con: ibis.BaseBackend | None, lang: str) -> dict[str, str]:
    """Tag id -> the name of its current version in ``lang`` (empty without definitions)."""
    table = optional_table(con, DEFINITIONS_MART)
    if table is None:
        return {}
    column = "name_zh" if lang == "zh" else "name_en"
    return {r["tag_id"]: r[column] for r in _rows(table.filter(table.is_current))}


def _raw_lift(row: dict[str, Any]) -> float | None:
    """The plain ratio of the two rates (``lift_raw``; computed for a mart built before it)."""
    if "lift_raw" in row:
        return row["lift_raw"]
    member, other = row.get("member_rate"), row.get("nonmember_rate")
    return None if member is None or not other else member / other


@dataclass
class TagList:
    """Every tag of the catalogue with members, lifts and rating (``tags list``)."""

    catalogue: str
    tags: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {"catalogue": self.catalogue, "tags": self.tags}


def tag_list(
    con: ibis.BaseBackend | None, config: Config, lang: str, tags_file: Path | None = None
) -> TagList:
    """The catalogue's tags: current version, members last month, listed lifts, rating.

    Each record: ``tag_id, name`` (in ``lang``), ``category, version,
    n_members_last_month, rating`` and per listed outcome ``<prefix>_lift``, ``_raw``,
    ``_corrected`` (a zero count made it a corrected estimate), ``_low``, ``_high``.
    """
    catalogue = catalogue_in_use(con, config, tags_file)
    changes = _rows(optional_table(con, CHANGES_MART))
    ratings = _rows(optional_table(con, RATINGS_TABLE))
    validation = {(r["tag_id"], r["version"], r["outcome"]): r for r in validation_rows(con)}
    records = []
    for tag in catalogue.tags:
        mine = [r for r in changes if r["tag_id"] == tag.id and r["version"] == tag.version]
        record = {
            "tag_id": tag.id,
            "name": tag.name.get(lang),
            "category": tag.category,
            "version": tag.version,
            "n_members_last_month": (
                max(mine, key=lambda r: r["month"])["n_members"] if mine else None
            ),
            "rating": rating_summary([r for r in ratings if r["tag_id"] == tag.id], tag.version),
        }
        for prefix, outcome in LISTED_LIFTS.items():
            lift = validation.get((tag.id, tag.version, outcome), {})
            record |= {
                f"{prefix}_lift": lift.get("lift"),
                f"{prefix}_lift_raw": _raw_lift(lift),
                f"{prefix}_lift_corrected": bool(lift.get("lift_corrected")),
                f"{prefix}_lift_low": lift.get("lift_low"),
                f"{prefix}_lift_high": lift.get("lift_high"),
            }
        records.append(record)
    return TagList(catalogue.version, records)


def rule_schema(con: ibis.BaseBackend | None, config: Config) -> tuple[Any, str]:
    """The schema rules are checked against, and its name: the built 360, else its contract."""
    c360 = optional_table(con, CUSTOMER_360)
    if c360 is not None:
        return c360.schema(), CUSTOMER_360
    return customer_360_schema(config), "the mart_customer_360 contract"


@dataclass
class TagDetail:
    """One tag in full (``tags show``): its definition, rule check, history, lifts and wiki."""

    tag: Tag
    catalogue: Catalogue
    problems: list[str]
    schema_name: str
    changes: list[dict[str, Any]] = field(default_factory=list)
    validation: list[dict[str, Any]] = field(default_factory=list)
    ratings: list[dict[str, Any]] = field(default_factory=list)
    comments: list[dict[str, Any]] = field(default_factory=list)

    @property
    def members_by_month(self) -> list[dict[str, Any]]:
        """Members, entries and exits per month of the tag's current version."""
        return [r for r in self.changes if r["version"] == self.tag.version]

    def to_dict(self) -> dict[str, Any]:
        return {
            "tag": self.tag.model_dump(),
            "problems": self.problems,
            "members_by_month": [{**r, "month": str(r["month"])} for r in self.members_by_month],
            "validation": self.validation,
            "ratings": [{**r, "rated_at": str(r["rated_at"])} for r in self.ratings],
            "comments": [{**r, "commented_at": str(r["commented_at"])} for r in self.comments],
        }


def tag_detail(
    con: ibis.BaseBackend | None, config: Config, tag_id: str, tags_file: Path | None = None
) -> TagDetail:
    """Everything about one tag (an unknown id is a :class:`CatalogueError` naming it)."""
    catalogue = catalogue_in_use(con, config, tags_file)
    tag = catalogue.tag(tag_id)
    schema, schema_name = rule_schema(con, config)
    one = catalogue.model_copy(update={"tags": (tag,)})
    validation = _rows(optional_table(con, VALIDATION_MART), tag.id)
    return TagDetail(
        tag=tag,
        catalogue=catalogue,
        problems=catalogue_problems(one, schema, config),
        schema_name=schema_name,
        changes=sorted(_rows(optional_table(con, CHANGES_MART), tag.id), key=lambda r: r["month"]),
        validation=[r for r in validation if r["version"] == tag.version],
        ratings=_rows(optional_table(con, RATINGS_TABLE), tag.id),
        comments=sorted(
            _rows(optional_table(con, COMMENTS_TABLE), tag.id), key=lambda r: r["commented_at"]
        ),
    )


def customer_tags(
    con: ibis.BaseBackend, config: Config, customer_id: str, lang: str
) -> list[dict[str, Any]] | None:
    """The customer's tags in the latest month, with since when and each tag's marketing hint.

    ``None`` when the membership mart has not been built. Each record: ``tag_id, version,
    name, since, month, script, timing, channel`` (texts in ``lang``).
    """
    membership = optional_table(con, MEMBERSHIP_MART)
    if membership is None:
        return None
    mine = membership.filter(membership.customer_id == customer_id)
    latest = mine.filter(mine.month == mine.month.max().as_scalar())
    rows = latest.order_by("tag_id").to_pyarrow().to_pylist()
    return tag_records(rows, catalogue_in_use(con, config), lang)


def customer_tags_from_rows(
    membership: pa.Table, catalogue: Catalogue, lang: str
) -> list[dict[str, Any]]:
    """:func:`customer_tags` from the customer's own rows of the membership mart, already read
    (all of them, any order; ``catalogue``: :func:`catalogue_in_use`). For the platform's card
    store (tests check both give the same tags)."""
    if membership.num_rows:
        latest = pc.max(membership["month"])
        membership = membership.filter(pc.equal(membership["month"], latest))
    return tag_records(membership.sort_by("tag_id").to_pylist(), catalogue, lang)


def tag_records(
    rows: list[dict[str, Any]], catalogue: Catalogue, lang: str
) -> list[dict[str, Any]]:
    """A customer's membership rows (one month, by tag) as :func:`customer_tags` shows them."""
    tags = {tag.id: tag for tag in catalogue.tags}
    lang = "zh" if lang == "zh" else "en"
    out = []
    for row in rows:
        tag = tags.get(row["tag_id"])
        out.append(
            {
                "tag_id": row["tag_id"],
                "version": row["version"],
                "name": getattr(tag.name, lang) if tag else row["tag_id"],
                "since": row["since"].isoformat(),
                "month": row["month"].isoformat(),
                "script": getattr(tag.hint.script, lang) if tag else None,
                "timing": getattr(tag.hint.timing, lang) if tag else None,
                "channel": tag.hint.channel if tag else None,
            }
        )
    return out
