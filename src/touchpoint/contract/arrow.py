"""Arrow types of the contract, as stored in the warehouse."""

from __future__ import annotations

import pyarrow as pa

from touchpoint.contract.entities import Entity

ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "int64": pa.int64(),
    "float64": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us"),
}


def arrow_schema(entity: Entity) -> pa.Schema:
    """The stored schema of ``entity``: contract columns (PII columns as ``<name>_hash``)."""
    return pa.schema(
        [
            pa.field(c.stored_name, ARROW_TYPES[c.dtype], nullable=not c.required)
            for c in entity.columns
        ]
    )
