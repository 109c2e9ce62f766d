"""One Spark session (``local[2]``, 1 GB driver) for every Spark test of the suite: starting
the JVM costs seconds, so it starts once, and only when a Spark test runs."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def spark_session():
    from touchpoint.pipeline.spark import spark_session

    session = spark_session(
        master="local[2]", conf={"spark.driver.memory": "1g", "spark.sql.shuffle.partitions": "2"}
    )
    yield session
    session.stop()
