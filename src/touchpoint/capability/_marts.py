"""Mart contracts: each table a step writes states its grain, its columns and its invariants.

A capability describes its tables in ``marts.yaml`` beside its ``__init__.py`` (the model:
dbt's per-model YAML). One entry per table::

    mart_channels_repeats:
      grain: one row per channel × business
      key: [channel, business]                   # unique together (checked)
      columns:
        channel: {type: string, meaning: the channel of the first contact}
        n_contacts: {type: int64, meaning: contacts in the channel for the business}
      not_null: [channel, business, n_contacts]
      accepted_values:
        channel: {vocabulary: channel}          # or a list: [day, week, month]
      expressions:                               # tag-rule language, true on every row
        - n_repeated_contacts <= n_contacts

A column name may hold ``{<vocabulary>}``: ``n_contacts_{channel}`` stands for one column per
configured channel id. A table of one row declares ``key: []`` and ``rows: 1``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from touchpoint.config import Config
from touchpoint.errors import SchemaError

MARTS_FILE = "marts.yaml"
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ColumnContract(_Strict):
    """A column: its Ibis type (``string``, ``int64``, ``float64``, ``date``, ``timestamp``,
    ``boolean``) and one line saying what it holds."""

    type: str = Field(min_length=1)
    meaning: str = Field(min_length=3)


class VocabularyValues(_Strict):
    """Accepted values given by a vocabulary of the configuration (``channel``, ``business``...)."""

    vocabulary: str


class MartContract(_Strict):
    """The contract of one table a step writes (see the module docstring for the YAML)."""

    name: str
    grain: str = Field(min_length=3)
    key: tuple[str, ...]
    rows: int | None = Field(default=None, ge=0)
    columns: dict[str, ColumnContract]
    not_null: tuple[str, ...] = ()
    accepted_values: dict[str, tuple[str, ...] | VocabularyValues] = Field(default_factory=dict)
    expressions: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _names_are_columns(self) -> MartContract:
        fixed = {name for name in self.columns if not _PLACEHOLDER.search(name)}
        for where, names in (
            ("key", self.key),
            ("not_null", self.not_null),
            ("accepted_values", tuple(self.accepted_values)),
        ):
            unknown = [n for n in names if n not in fixed]
            if unknown:
                raise ValueError(f"{where} names {unknown}, not among the columns")
        if not self.key and self.rows is None:
            raise ValueError("a table without key columns must state its number of rows (rows: 1)")
        return self

    def expanded_columns(self, config: Config) -> dict[str, ColumnContract]:
        """The columns, with each ``{<vocabulary>}`` name expanded over the vocabulary's ids."""
        out: dict[str, ColumnContract] = {}
        for name, column in self.columns.items():
            match = _PLACEHOLDER.search(name)
            if match is None:
                out[name] = column
                continue
            for value in config.ids(match.group(1)):
                out[name.replace(match.group(0), value)] = column
        return out

    def accepted(self, column: str, config: Config) -> tuple[str, ...]:
        """The accepted values of ``column``."""
        values = self.accepted_values[column]
        if isinstance(values, VocabularyValues):
            return tuple(config.ids(values.vocabulary))
        return values


def load_mart_contracts(path: str | Path) -> dict[str, MartContract]:
    """The contracts of ``path`` (a capability's ``marts.yaml``), by table name.

    Raises
    ------
    SchemaError
        ``<path>: <table>.<field>: <problem>`` for every problem, or when the file is not a
        mapping of table names.
    """
    source = Path(path)
    data: Any = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise SchemaError(f"{source}: expected a mapping of table names to contracts")
    contracts: dict[str, MartContract] = {}
    problems: list[str] = []
    for name, body in data.items():
        if not isinstance(body, dict):
            problems.append(f"{name}: expected a mapping (grain, key, columns...)")
            continue
        try:
            contracts[name] = MartContract.model_validate({"name": name, **body})
        except ValidationError as exc:
            problems += [
                f"{name}.{'.'.join(str(p) for p in err['loc']) or '(table)'}: {err['msg']}"
                for err in exc.errors()
            ]
    if problems:
        raise SchemaError(f"{source}: " + "; ".join(problems))
    return contracts
