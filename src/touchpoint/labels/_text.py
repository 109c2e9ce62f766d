"""The texts of every screen, report and card, in English and Simplified Chinese."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

from touchpoint.errors import ConfigError

LANGUAGES = ("en", "zh")
LOCALES_DIR = Path(__file__).parent / "locales"


def check_lang(lang: str) -> str:
    """``lang`` if it is one of :data:`LANGUAGES`, else a :class:`ConfigError` naming them."""
    if lang not in LANGUAGES:
        raise ConfigError(f"unknown language {lang!r}; use one of: {', '.join(LANGUAGES)}")
    return lang


@lru_cache(maxsize=1)
def load_messages() -> dict[str, dict[str, str]]:
    """``{lang: {"<file stem>.<key>": text}}`` from every ``locales/<area>.yaml``."""
    messages: dict[str, dict[str, str]] = {lang: {} for lang in LANGUAGES}
    for path in sorted(LOCALES_DIR.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for lang in LANGUAGES:
            for key, value in (data.get(lang) or {}).items():
                messages[lang][f"{path.stem}.{key}"] = str(value)
    return messages


def translate(key: str, lang: str) -> str:
    """The text of ``key`` (``"<area>.<name>"``) in ``lang``; a missing key is an error."""
    try:
        return load_messages()[lang][key]
    except KeyError:
        raise KeyError(
            f"no {lang!r} text for key {key!r}: add it to locales/{key.split('.')[0]}.yaml"
        ) from None


def text(key: str, lang: str, **values: object) -> str:
    """:func:`translate` with its ``{name}`` fields filled in from ``values``."""
    found = translate(key, lang)
    return found.format(**values) if values else found
