"""Helpers for the tag tests: months and catalogue entries with placeholder texts."""

from __future__ import annotations

import datetime as dt
from typing import Any

from touchpoint.tags import Catalogue, catalogue_from_data

JAN, FEB, MAR, APR = (dt.date(2024, m, 1) for m in (1, 2, 3, 4))


def tag(tag_id: str, rule: str, **extra: Any) -> dict[str, Any]:
    """A catalogue entry with placeholder texts around ``rule``."""
    return {
        "id": tag_id,
        "name": {"en": tag_id, "zh": tag_id},
        "definition": {"en": "d", "zh": "定义"},
        "rule": rule,
        "owner": "tests",
        "hint": {
            "channel": "sms",
            "script": {"en": "s", "zh": "话术"},
            "timing": {"en": "t", "zh": "时机"},
        },
        **extra,
    }


def catalogue(*tags: dict[str, Any], parameters: dict | None = None) -> Catalogue:
    return catalogue_from_data(
        {"version": "test", "parameters": parameters or {}, "tags": list(tags)}
    )
