"""The pipeline on Spark: a session, the warehouse's Parquet parts as its sources.

Needs the optional extra (``pip install 'touchpoint[spark]'``: PySpark and Ibis's pyspark
backend, docs/scale.md). Local (``local[N]``) or any cluster: a master URL
(``spark://host:7077``, ``yarn``) or a Spark Connect URL (``sc://host:15002``), with the
operator's Spark settings passed through unchanged.
"""

from __future__ import annotations

import socket
from collections.abc import Mapping
from typing import Any

from touchpoint.errors import TouchpointError

DEFAULT_MASTER = "local[2]"
#: Settings every session gets unless the operator sets them: UTC (warehouse timestamps are
#: naive, read as UTC), no web UI, few shuffle partitions for a small local run.
BASE_CONF: dict[str, str] = {
    "spark.sql.session.timeZone": "UTC",
    "spark.ui.enabled": "false",
    "spark.sql.shuffle.partitions": "8",
}


class SparkEngineError(TouchpointError, RuntimeError):
    """Spark cannot be used: the extra is missing, or the master cannot be reached."""


def _pyspark() -> Any:
    try:
        import pyspark.sql  # noqa: F401
        from ibis.backends import pyspark as _backend  # noqa: F401
    except ImportError as exc:
        raise SparkEngineError(
            f"--engine spark needs the optional extra: pip install 'touchpoint[spark]' "
            f"({exc.name or exc} is not installed)"
        ) from None
    import pyspark

    return pyspark


def _check_reachable(master: str, timeout_seconds: float = 5.0) -> None:
    """Refuse a ``sc://`` or ``spark://`` master nothing answers at, in seconds: Spark Connect
    itself retries for about ten minutes before giving up (measured)."""
    scheme, _, rest = master.partition("://")
    if scheme not in ("sc", "spark"):
        return
    address = rest.split("/")[0].split(";")[0]
    host, _, port = address.rpartition(":")
    default_port = 15002 if scheme == "sc" else 7077
    host, port_number = (host, int(port)) if host and port.isdigit() else (address, default_port)
    try:
        socket.create_connection((host, port_number), timeout=timeout_seconds).close()
    except OSError as exc:
        raise SparkEngineError(
            f"cannot start Spark on master {master!r}: nothing answers at "
            f"{host}:{port_number} ({exc.strerror or exc})"
        ) from None


def spark_session(master: str = DEFAULT_MASTER, conf: Mapping[str, str] | None = None) -> Any:
    """A Spark session on ``master`` with :data:`BASE_CONF` and ``conf`` (``conf`` wins).

    Raises
    ------
    SparkEngineError
        One line when PySpark is not installed or the master cannot be reached.
    """
    _pyspark()
    from pyspark.sql import SparkSession

    _check_reachable(master)
    settings = {**BASE_CONF, **(conf or {})}
    builder = SparkSession.builder.appName("touchpoint")
    builder = builder.remote(master) if master.startswith("sc://") else builder.master(master)
    for key, value in settings.items():
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
        session.sql("SELECT 1").collect()  # a master that cannot be reached fails here
    except Exception as exc:  # py4j, grpc and JVM start-up errors have no common base
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SparkEngineError(f"cannot start Spark on master {master!r}: {first[:300]}") from None
    return session
