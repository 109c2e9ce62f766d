"""Ingestion: validate operators' source files against the contract and load them.

Good rows land in ``stg_<entity>``; bad rows go to ``ingest_quarantine`` with every reason
they fail; each file is logged in ``ingest_files`` and loads in one transaction.

>>> from touchpoint.ingest import detect_entity
>>> detect_entity("contacts_2026-03.csv")
'contacts'
"""

from touchpoint.ingest._bookkeeping import (
    FILES_SCHEMA,
    FILES_TABLE,
    QUARANTINE_SCHEMA,
    QUARANTINE_TABLE,
)
from touchpoint.ingest._ingest import ingest, stored_schema
from touchpoint.ingest._inspect import (
    entity_coverage,
    load_totals,
    quarantine_by_reason,
    quarantined,
    rows_by_month,
)
from touchpoint.ingest._pii import (
    hash_msisdn,
    msisdn_lookup_hash,
    normalise_msisdn,
    pii_key,
)
from touchpoint.ingest._profile import (
    ColumnRule,
    Profile,
    ProfileError,
    load_profile,
    profile_from_data,
)
from touchpoint.ingest._sources import detect_entity
from touchpoint.ingest._summary import FileSummary

__all__ = [
    "FILES_SCHEMA",
    "FILES_TABLE",
    "QUARANTINE_SCHEMA",
    "QUARANTINE_TABLE",
    "ColumnRule",
    "FileSummary",
    "Profile",
    "ProfileError",
    "load_profile",
    "profile_from_data",
    "detect_entity",
    "hash_msisdn",
    "ingest",
    "msisdn_lookup_hash",
    "normalise_msisdn",
    "pii_key",
    "quarantined",
    "entity_coverage",
    "load_totals",
    "quarantine_by_reason",
    "rows_by_month",
    "stored_schema",
]
