"""The tag wiki: staff ratings (1-5 stars) and comments of each tag version.

The tables ``tag_ratings`` and ``tag_comments`` belong to the tags capability: their names,
schemas and rows are made here, and :func:`wiki_summary` reads them back. Only the append
itself goes through :mod:`touchpoint.warehouse` (the command line does it), so this module
stays free of DuckDB.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import ibis
import pyarrow as pa

RATINGS_TABLE = "tag_ratings"
COMMENTS_TABLE = "tag_comments"

RATINGS_SCHEMA = pa.schema(
    [
        pa.field("tag_id", pa.string(), nullable=False),
        pa.field("version", pa.int64(), nullable=False),
        pa.field("stars", pa.int64(), nullable=False),
        pa.field("author", pa.string(), nullable=False),
        pa.field("rated_at", pa.timestamp("us"), nullable=False),
    ]
)
COMMENTS_SCHEMA = pa.schema(
    [
        pa.field("tag_id", pa.string(), nullable=False),
        pa.field("version", pa.int64(), nullable=False),
        pa.field("comment", pa.string(), nullable=False),
        pa.field("author", pa.string(), nullable=False),
        pa.field("commented_at", pa.timestamp("us"), nullable=False),
    ]
)


def _now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)


def rating_record(tag_id: str, version: int, stars: int, author: str) -> pa.Table:
    """One rating of ``tag_id`` at ``version``, as the row to append to ``tag_ratings``."""
    if not 1 <= stars <= 5:
        raise ValueError(f"stars={stars} should be between 1 and 5")
    row = {"tag_id": tag_id, "version": version, "stars": stars, "author": author}
    return pa.Table.from_pylist([{**row, "rated_at": _now()}], RATINGS_SCHEMA)


def comment_record(tag_id: str, version: int, comment: str, author: str) -> pa.Table:
    """One comment on ``tag_id`` at ``version``, as the row to append to ``tag_comments``."""
    row = {"tag_id": tag_id, "version": version, "comment": comment, "author": author}
    return pa.Table.from_pylist([{**row, "commented_at": _now()}], COMMENTS_SCHEMA)


def rating_summary(ratings: list[dict[str, Any]], version: int) -> str:
    """Mean stars and count of one version's ratings: ``"3.5 ★ (2)"``, or ``"–"`` for none.

    >>> rating_summary([{"version": 1, "stars": 5}, {"version": 1, "stars": 2}], 1)
    '3.5 ★ (2)'
    """
    stars = [r["stars"] for r in ratings if r["version"] == version]
    return f"{sum(stars) / len(stars):.1f} ★ ({len(stars)})" if stars else "–"


def wiki_summary(ratings: ibis.Table | None, comments: ibis.Table | None) -> list[dict[str, Any]]:
    """Per tag version: mean rating, number of ratings and comments, and the latest comment.

    Returns
    -------
    list of dict
        One per ``tag_id, version`` rated or commented on: ``rating`` (mean stars, ``None``
        when only commented), ``n_ratings``, ``n_comments``, ``last_comment``, ``last_author``
        (``None`` when only rated), ordered by tag and version.
    """
    summary: dict[tuple[str, int], dict[str, Any]] = {}

    def entry(tag_id: str, version: int) -> dict[str, Any]:
        key = (tag_id, version)
        if key not in summary:
            summary[key] = {
                "tag_id": tag_id,
                "version": version,
                "rating": None,
                "n_ratings": 0,
                "n_comments": 0,
                "last_comment": None,
                "last_author": None,
            }
        return summary[key]

    if ratings is not None:
        stars: dict[tuple[str, int], list[int]] = {}
        for row in ratings.to_pyarrow().to_pylist():
            stars.setdefault((row["tag_id"], row["version"]), []).append(row["stars"])
        for (tag_id, version), given in stars.items():
            entry(tag_id, version).update(rating=sum(given) / len(given), n_ratings=len(given))
    if comments is not None:
        # In time order, ties in the order written (a stable sort): the last one written stays.
        rows = sorted(comments.to_pyarrow().to_pylist(), key=lambda r: r["commented_at"])
        for row in rows:
            item = entry(row["tag_id"], row["version"])
            item["n_comments"] += 1
            item["last_comment"], item["last_author"] = row["comment"], row["author"]
    return [summary[key] for key in sorted(summary)]
