"""Report strings in English and Simplified Chinese, and number formats for each language."""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

import yaml

from touchpoint.errors import ConfigError

LANGUAGES = ("en", "zh")
LOCALES_DIR = Path(__file__).parent / "locales"


def check_lang(lang: str) -> str:
    if lang not in LANGUAGES:
        raise ConfigError(f"unknown report language {lang!r}; use one of: {', '.join(LANGUAGES)}")
    return lang


@lru_cache(maxsize=1)
def load_messages() -> dict[str, dict[str, str]]:
    """``{lang: {"<file stem>.<key>": text}}`` from every ``locales/<capability>.yaml``."""
    messages: dict[str, dict[str, str]] = {lang: {} for lang in LANGUAGES}
    for path in sorted(LOCALES_DIR.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for lang in LANGUAGES:
            for key, text in (data.get(lang) or {}).items():
                messages[lang][f"{path.stem}.{key}"] = str(text)
    return messages


def translate(key: str, lang: str) -> str:
    """The text of ``key`` (``"<capability>.<name>"``) in ``lang``; a missing key is an error."""
    try:
        return load_messages()[lang][key]
    except KeyError:
        raise KeyError(
            f"no {lang!r} text for report key {key!r}: add it to locales/{key.split('.')[0]}.yaml"
        ) from None


def format_number(value: float | int | None, lang: str, digits: int = 0) -> str:
    """Thousands separators in English; 万 (10⁴) and 亿 (10⁸) in Chinese, as people there write."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if lang == "zh":
        for unit, size in (("亿", 1e8), ("万", 1e4)):
            if abs(value) >= size:
                return f"{value / size:,.2f}{unit}"
    return f"{value:,.{digits}f}"


def format_percent(value: float | None, lang: str, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value * 100:.{digits}f}%"


def format_money(value: float | None, lang: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    amount = (
        format_number(value, lang, digits=2)
        if abs(value) < 1e4 or lang == "zh"
        else format_number(value, lang)
    )
    return f"¥{amount}"
