"""A warehouse Spark cannot read is one line naming the part, before any step runs; a step
that fails on Spark is one line naming the step; either way nothing is written.

The parts are checked by their Parquet footers (``_check_part``): every class of damage the
footer reveals (cut short at any length, its closing magic overwritten, the file replaced by
other bytes, removed) is generated over a real part that ingest wrote. Damage inside the
data pages or the footer's metadata can still read as Parquet (measured: one byte of the
footer overwritten); Spark then fails the step, which is one line naming it (below).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from spark_checks import one_line, warehouse_tables
from typer.testing import CliRunner

from touchpoint.cli import app
from touchpoint.ingest import ingest
from touchpoint.pipeline.spark import SparkEngineError, _check_part
from touchpoint.simulate import simulate
from touchpoint.warehouse import connect
from touchpoint.warehouse.parts import PARTS_TABLE, SUFFIX, parts_folder

pytestmark = pytest.mark.slow

runner = CliRunner(env={"COLUMNS": "200"})


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    """A tiny simulated world, ingested: 60 customers × 1 month."""
    root = tmp_path_factory.mktemp("bad_warehouse")
    world = simulate(root / "world", customers=60, months=1, seed=5)
    path = root / "w.duckdb"
    con = connect(str(path))
    ingest(con, list(world.files.values()))
    con.disconnect()
    return path


def _copy(warehouse: Path, tmp_path: Path) -> Path:
    copy = tmp_path / warehouse.name
    for suffix in ("", ".data", ".pii.key"):
        source = Path(f"{warehouse}{suffix}")
        if source.is_dir():
            shutil.copytree(source, f"{copy}{suffix}")
        elif source.exists():
            shutil.copy(source, f"{copy}{suffix}")
    return copy


def _first_part(warehouse: Path) -> tuple[str, Path]:
    con = connect(str(warehouse))
    try:
        raw = con.con
        view, part = raw.execute(
            f"SELECT view, part FROM {PARTS_TABLE} ORDER BY rowid LIMIT 1"
        ).fetchone()
        return view, parts_folder(raw) / view / f"{part}{SUFFIX}"
    finally:
        con.disconnect()


def _run_spark(path: Path, tmp_path: Path):
    config = tmp_path / "config.yaml"
    config.write_text("spark:\n  master: local[2]\n", encoding="utf-8")
    return runner.invoke(app, ["run", "--engine", "spark", "-w", str(path), "-c", str(config)])


def _cut(data: bytes, draw) -> bytes:
    return data[: draw(st.integers(0, len(data) - 1))]


def _magic_overwritten(data: bytes, draw) -> bytes:
    """1–4 bytes of the closing magic ``PAR1`` replaced by others."""
    size = draw(st.integers(1, 4))
    at = len(data) - 4 + draw(st.integers(0, 4 - size))
    old = data[at : at + size]
    tail = draw(st.binary(min_size=size, max_size=size).filter(lambda b: b != old))
    return data[:at] + tail + data[at + size :]


def _replaced(data: bytes, draw) -> bytes:
    other = draw(st.binary(max_size=2048))
    return other + b"!" if other.endswith(b"PAR1") else other


DAMAGE = {"cut short": _cut, "magic overwritten": _magic_overwritten, "replaced": _replaced}


def test_an_intact_part_passes(warehouse):
    view, part = _first_part(warehouse)
    _check_part(str(part), view, PARTS_TABLE)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data(), kind=st.sampled_from(sorted(DAMAGE)))
def test_every_damaged_part_is_one_line_naming_it(warehouse, tmp_path, data, kind):
    view, part = _first_part(warehouse)
    damaged = tmp_path / part.name
    damaged.write_bytes(DAMAGE[kind](part.read_bytes(), data.draw))
    with pytest.raises(SparkEngineError) as raised:
        _check_part(str(damaged), view, PARTS_TABLE)
    message = str(raised.value)
    assert "\n" not in message
    assert str(damaged) in message and view in message and "touchpoint ingest" in message


def test_a_missing_part_is_one_line_and_writes_nothing(warehouse, tmp_path, spark_session):
    path = _copy(warehouse, tmp_path)
    view, part = _first_part(path)
    before = warehouse_tables(path)
    part.unlink()
    line = one_line(_run_spark(path, tmp_path))
    assert f"warehouse part {part} of {view} is listed in {PARTS_TABLE} but missing" in line
    assert warehouse_tables(path) == before
    assert not (path.parent / f"{path.name}.data" / "spark-marts").exists()


def test_an_unreadable_part_is_one_line_and_writes_nothing(warehouse, tmp_path, spark_session):
    path = _copy(warehouse, tmp_path)
    view, part = _first_part(path)
    before = warehouse_tables(path)
    part.write_bytes(part.read_bytes()[:-9])
    line = one_line(_run_spark(path, tmp_path))
    assert f"warehouse part {part} of {view} is not readable Parquet" in line
    assert warehouse_tables(path) == before


def test_a_step_failing_on_spark_is_one_line_and_writes_nothing(
    warehouse, tmp_path, spark_session, monkeypatch
):
    import touchpoint.pipeline.spark as spark

    def out_of_memory(*args, **kwargs):
        raise RuntimeError("java.lang.OutOfMemoryError: Java heap space\n\tat org.apache.spark")

    monkeypatch.setattr(spark, "_write_mart", out_of_memory)
    path = _copy(warehouse, tmp_path)
    before = warehouse_tables(path)
    line = one_line(_run_spark(path, tmp_path))
    assert "failed on Spark: java.lang.OutOfMemoryError: Java heap space" in line
    assert line.startswith("error: step ")
    assert warehouse_tables(path) == before
    assert not list((path.parent / f"{path.name}.data").glob("spark-marts*"))
