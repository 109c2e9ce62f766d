"""The data contract: which source entities an operator exports and what each holds.

>>> from touchpoint.contract import ENTITIES
>>> ENTITIES["contacts"].table
'stg_contacts'
"""

from touchpoint.contract.arrow import arrow_schema
from touchpoint.contract.entities import ENTITIES, Column, Entity, OrderCheck
from touchpoint.contract.quarantine import QUARANTINE_REASONS, quarantine_reasons

__all__ = [
    "ENTITIES",
    "QUARANTINE_REASONS",
    "Column",
    "Entity",
    "OrderCheck",
    "arrow_schema",
    "quarantine_reasons",
]
