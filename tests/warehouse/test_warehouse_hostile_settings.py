"""No setting from the environment reaches DuckDB as SQL text (issue 11 item 5).

``$TOUCHPOINT_MEMORY_LIMIT`` is read as a size or a share and only the number of MiB computed
from it reaches DuckDB, as a typed connection option; a warehouse path full of quotes is
passed as a parameter or a correctly quoted literal. A hostile value either is refused with
one clear line or has no effect beyond what it names; it never runs SQL of its own.
"""

from __future__ import annotations

import re

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from touchpoint.errors import WarehouseError
from touchpoint.warehouse import DropParts, Part, connect, load_atomically
from touchpoint.warehouse.connection import LOCK_WAIT_ENV, MEMORY_LIMIT_ENV, memory_limit

HOSTILE = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
INJECTED = "pwned"

# Pieces an attacker puts around a quote: a plausible size, SQL that would create a table.
_pieces = st.sampled_from(
    [
        "4GB",
        "25%",
        "'",
        '"',
        ";",
        "--",
        "/*",
        "\\",
        f"CREATE TABLE {INJECTED} AS SELECT 42",
        "SELECT 1",
        " ",
        "\n",
        "GB",
        "%",
        "1e9",
    ]
)
hostile_settings = (
    st.lists(st.one_of(_pieces, st.text(max_size=4)), min_size=1, max_size=8)
    .map("".join)
    .filter(lambda s: "\x00" not in s)
)


def _tables(path) -> set[str]:
    con = connect(path)
    try:
        return set(con.list_tables())
    finally:
        con.disconnect()


@HOSTILE
@given(asked=hostile_settings)
@example(asked=f"1GB'; CREATE TABLE {INJECTED} AS SELECT 42; --")
@example(asked=f"1GB'; CREATE TABLE {INJECTED} AS SELECT 42; SET memory_limit='1GB")
def test_a_hostile_memory_limit_is_refused_or_read_as_a_number(tmp_path_factory, asked):
    path = tmp_path_factory.mktemp("w") / "w.duckdb"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(MEMORY_LIMIT_ENV, asked)
        try:
            con = connect(path)
        except WarehouseError as exc:
            assert "\n" not in str(exc)
            assert str(exc).startswith(f"${MEMORY_LIMIT_ENV}=")
            assert not path.exists() or INJECTED not in _tables(path)
            return
        setting = con.raw_sql("SELECT current_setting('memory_limit')").fetchone()[0]
        tables = set(con.list_tables())
        con.disconnect()
    # Accepted: then it was a plain size or share, and DuckDB got a number of MiB.
    assert re.fullmatch(r"\s*(default|[\d.]+ ?[a-zA-Z]*|[\d.]+\s*%)?\s*", asked), asked
    assert re.fullmatch(r"[\d.]+ [KMGT]?i?B|\d+ bytes", setting), setting
    assert INJECTED not in tables


@given(asked=hostile_settings.filter(lambda s: any(c in s for c in "'\";")))
@settings(max_examples=200, deadline=None)
def test_memory_limit_never_returns_anything_but_a_number_of_mib(asked):
    try:
        limit = memory_limit(asked)
    except ValueError:
        return
    assert re.fullmatch(r"\d+MiB", limit)


@given(
    size=st.floats(min_value=0.0625, max_value=4096, allow_nan=False),
    unit=st.sampled_from(["GB", "GiB", "gb", " GiB", "MiB"]),
)
@settings(max_examples=100, deadline=None)
def test_a_size_is_read_exactly(size, unit):
    text = f"{size:.4f}{unit}"
    factor = {"gb": 1e9, "gib": 2**30, "mib": 2**20}[unit.strip().lower()]
    expected = int(float(f"{size:.4f}") * factor // 2**20)
    if expected < 64:
        with pytest.raises(ValueError, match="leaves DuckDB no room"):
            memory_limit(text)
    else:
        assert memory_limit(text) == f"{expected}MiB"


@HOSTILE
@given(asked=hostile_settings)
@example(asked="-1")
@example(asked="nan")
@example(asked="inf")
def test_a_hostile_lock_wait_is_refused_or_a_number(tmp_path_factory, asked):
    path = tmp_path_factory.mktemp("w") / "w.duckdb"
    connect(path).disconnect()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(LOCK_WAIT_ENV, asked)
        try:
            connect(path, read_only=True).disconnect()
        except WarehouseError as exc:
            assert str(exc).startswith(f"${LOCK_WAIT_ENV}=") and "\n" not in str(exc)
            return
    assert asked.strip() == "" or float(asked) >= 0


folder_names = (
    st.lists(
        st.one_of(
            st.sampled_from(["'", "''", '"', ";", "--", f"); CREATE TABLE {INJECTED}(x INT);"]),
            st.text(alphabet="abc é数", max_size=3),
        ),
        min_size=1,
        max_size=6,
    )
    .map("".join)
    .filter(lambda s: s.strip(" ") and "/" not in s)
)


@HOSTILE
@given(folder=folder_names)
@example(folder=f"x'); CREATE TABLE {INJECTED} AS SELECT 1; --")
def test_a_warehouse_path_full_of_quotes_stores_and_reads_parts(tmp_path_factory, folder):
    root = tmp_path_factory.mktemp("w") / folder
    root.mkdir()
    path = root / "w'.duckdb"
    con = connect(path)
    rows = pa.table({"x": pa.array([1, 2, 3], pa.int64())})
    load_atomically(con, parts=[Part("stg_things", "p1", rows)])
    con.disconnect()
    con = connect(path, read_only=True)
    try:
        assert con.table("stg_things").x.sum().to_pyarrow().as_py() == 6
        assert INJECTED not in con.list_tables()
    finally:
        con.disconnect()
    con = connect(path)
    load_atomically(con, drop_parts=[DropParts("stg_things", ("p1",))])
    con.disconnect()


def test_the_code_builds_no_sql_from_the_environment():
    """The audit, kept: no f-string SQL that pastes a setting in (only quoted names remain)."""
    from pathlib import Path

    source = Path(__file__).parents[2] / "src" / "touchpoint"
    pasted = re.compile(r"""(execute|raw_sql|sql)\(\s*f["'][^"']*'\{""")
    offenders = [
        f"{p.relative_to(source)}:{n}"
        for p in source.rglob("*.py")
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if pasted.search(line)
    ]
    assert offenders == []
