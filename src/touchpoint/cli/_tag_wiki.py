"""Writing staff ratings and comments of tags to the warehouse (the tags "wiki").

Kept out of :mod:`touchpoint.tags` so the analytics stay pure: this adapter appends rows to
``tag_ratings`` and ``tag_comments`` through :mod:`touchpoint.warehouse`.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from touchpoint.warehouse import Insert, load_atomically

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


def add_rating(con, tag_id: str, version: int, stars: int, author: str) -> dict:
    """Append one rating (1-5 stars) of ``tag_id`` at ``version``; returns the row written."""
    row = {
        "tag_id": tag_id,
        "version": version,
        "stars": stars,
        "author": author,
        "rated_at": _now(),
    }
    load_atomically(
        con, inserts=[Insert(RATINGS_TABLE, pa.Table.from_pylist([row], RATINGS_SCHEMA))]
    )
    return row


def add_comment(con, tag_id: str, version: int, comment: str, author: str) -> dict:
    """Append one comment on ``tag_id`` at ``version``; returns the row written."""
    row = {
        "tag_id": tag_id,
        "version": version,
        "comment": comment,
        "author": author,
        "commented_at": _now(),
    }
    load_atomically(
        con, inserts=[Insert(COMMENTS_TABLE, pa.Table.from_pylist([row], COMMENTS_SCHEMA))]
    )
    return row
