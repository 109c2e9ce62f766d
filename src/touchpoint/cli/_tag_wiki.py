"""Appending staff ratings and comments of tags to the warehouse (the tags "wiki").

The tables, their schemas and rows belong to :mod:`touchpoint.tags` (``rating_record``,
``comment_record``); this adapter only appends them through :mod:`touchpoint.warehouse`.
"""

from __future__ import annotations

from typing import Any

from touchpoint.tags import COMMENTS_TABLE, RATINGS_TABLE, comment_record, rating_record
from touchpoint.warehouse import Insert, load_atomically

__all__ = ["COMMENTS_TABLE", "RATINGS_TABLE", "add_comment", "add_rating"]


def add_rating(con, tag_id: str, version: int, stars: int, author: str) -> dict[str, Any]:
    """Append one rating (1-5 stars) of ``tag_id`` at ``version``; returns the row written."""
    record = rating_record(tag_id, version, stars, author)
    load_atomically(con, inserts=[Insert(RATINGS_TABLE, record)])
    return record.to_pylist()[0]


def add_comment(con, tag_id: str, version: int, comment: str, author: str) -> dict[str, Any]:
    """Append one comment on ``tag_id`` at ``version``; returns the row written."""
    record = comment_record(tag_id, version, comment, author)
    load_atomically(con, inserts=[Insert(COMMENTS_TABLE, record)])
    return record.to_pylist()[0]
