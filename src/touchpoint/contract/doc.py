"""Writes ``docs/data-contract.md`` from the contract and the default configuration.

Run ``python -m touchpoint.contract.doc`` after changing an entity or a default vocabulary;
a test fails while the committed document differs from what this module renders.
"""

from __future__ import annotations

import sys
from pathlib import Path

from touchpoint.config import Config, load_config
from touchpoint.contract.entities import ENTITIES, Column, Entity
from touchpoint.contract.formats import (
    DATE_FORMATS,
    FALSE_WORDS,
    MSISDN_DIGITS,
    TIMESTAMP_FORMATS,
    TRUE_WORDS,
)
from touchpoint.contract.quarantine import quarantine_reasons

DOCUMENT = Path(__file__).resolve().parents[3] / "docs" / "data-contract.md"

_TYPE_NAMES = {
    "string": "text",
    "int64": "integer",
    "float64": "number",
    "boolean": "yes/no",
    "date": "date",
    "timestamp": "timestamp",
}


def _code_list(values: tuple[str, ...] | list[str]) -> str:
    return ", ".join(f"`{v}`" for v in values)


def _intro(config: Config) -> str:
    """The page's text before the entities: ``intro.md`` with the configured values filled in."""
    template = (Path(__file__).parent / "intro.md").read_text(encoding="utf-8")
    return template.format(
        nulls=_code_list([v for v in config.ingest.null_values if v]) or "none",
        msisdn_min=MSISDN_DIGITS[0],
        msisdn_max=MSISDN_DIGITS[1],
        date_formats=_code_list(DATE_FORMATS),
        timestamp_formats=_code_list(TIMESTAMP_FORMATS),
        true_words=_code_list(TRUE_WORDS),
        false_words=_code_list(FALSE_WORDS),
        csv_encodings=_code_list(config.ingest.csv_encodings),
        latest=_latest(config),
        earliest_date=config.ingest.earliest_date,
        pii_key_env=config.pii.key_env,
        timezone=config.timezone,
    )


def _latest(config: Config) -> str:
    latest = config.ingest.latest_date
    return f"day {latest}" if latest is not None else "last day of next year"


def _allowed(column: Column, config: Config) -> str:
    parts = []
    if column.vocabulary:
        parts.append(f"[{column.vocabulary}](#vocabulary-{column.vocabulary})")
    if column.min_value is not None:
        parts.append(f">= {column.min_value:g}")
    if column.max_value is not None:
        parts.append(f"<= {column.max_value:g}")
    if column.pii:
        parts.append(f"phone number, stored as `{column.stored_name}`")
    return "; ".join(parts)


def _entity(entity: Entity, config: Config) -> str:
    lines = [
        f"### {entity.name}",
        "",
        f"Grain: {entity.grain}. Key: {_code_list(entity.key)}. Warehouse table: `{entity.table}`.",
        "",
        f"File names: {_code_list(entity.file_stems)}.",
        "",
        "| column | type | required | allowed values | description |",
        "|---|---|---|---|---|",
    ]
    for column in entity.columns:
        lines.append(
            f"| `{column.name}` | {_TYPE_NAMES[column.dtype]} | "
            f"{'yes' if column.required else 'no'} | {_allowed(column, config)} | "
            f"{column.description} |"
        )
    for check in entity.order_checks:
        lines += [
            "",
            f"Check `{check.reason}`: `{check.later}` may not be earlier than `{check.earlier}` "
            "(when both are given).",
        ]
    return "\n".join(lines) + "\n"


def _vocabularies(config: Config, used: list[str]) -> str:
    out = ["## Vocabularies (default configuration)", ""]
    for name in used:
        out += [
            f"### Vocabulary: {name}",
            "",
        ]
        if name == "channel":
            out += [
                "| id | English | 中文 | aliases | cost per contact (yuan) | self service |",
                "|---|---|---|---|---:|---|",
            ]
            for channel in config.channels:
                out.append(
                    f"| `{channel.id}` | {channel.name_en} | {channel.name_zh} | "
                    f"{', '.join(channel.aliases)} | {channel.cost_per_contact_yuan:g} | "
                    f"{'yes' if channel.is_self_service else 'no'} |"
                )
        else:
            out += ["| id | English | 中文 | aliases |", "|---|---|---|---|"]
            for entry in config.vocabulary(name):
                out.append(
                    f"| `{entry.id}` | {entry.name_en} | {entry.name_zh} | {', '.join(entry.aliases)} |"
                )
        out.append("")
    return "\n".join(out)


def render_data_contract(config: Config | None = None) -> str:
    """The data contract document as Markdown, from ``ENTITIES`` and ``config`` (default: the defaults)."""
    config = config or load_config(_default_only())
    parts = [_intro(config)]
    parts[0] += "".join(f"| `{r}` | {text} |\n" for r, text in quarantine_reasons().items())
    parts.append("## Entities\n")
    parts += [_entity(e, config) for e in ENTITIES.values()]
    used: list[str] = []
    for entity in ENTITIES.values():
        for column in entity.columns:
            if column.vocabulary and column.vocabulary not in used:
                used.append(column.vocabulary)
    parts.append(_vocabularies(config, used))
    return "\n".join(parts).rstrip("\n") + "\n"


def _default_only() -> Path:
    from touchpoint.config import DEFAULT_CONFIG_PATH

    return DEFAULT_CONFIG_PATH


def main(argv: list[str] | None = None) -> None:
    """Write the document (``--check``: only say whether it is up to date, exit 1 if not)."""
    args = sys.argv[1:] if argv is None else argv
    text = render_data_contract()
    if "--check" in args:
        current = DOCUMENT.read_text(encoding="utf-8") if DOCUMENT.exists() else ""
        if current != text:
            sys.exit(f"{DOCUMENT} is out of date: run `python -m touchpoint.contract.doc`")
        return
    DOCUMENT.write_text(text, encoding="utf-8")
    print(f"wrote {DOCUMENT}")


if __name__ == "__main__":
    main()
