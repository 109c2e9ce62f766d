"""Ingest speed: Touchpoint against plain pandas and hand-written DuckDB SQL.

Contacts-like data (the largest source entity) at three sizes, as Parquet and as CSV,
generated once and cached in ``benchmarks/.data/``. About 0.1 % of the rows are bad (a
broken timestamp, an unknown channel, a repeated key) so the checks have work to do. Every
variant reads the file, applies the same checks (types, required values, vocabulary mapping
with aliases, end before start, duplicate keys), writes the good rows and the rejected ones to
a fresh warehouse (Touchpoint: a Parquet part and a DuckDB file; the others: a DuckDB file),
and must agree on how many rows loaded.

Run: ``python -m benchmarks ingest`` (``TOUCHPOINT_BENCH_SIZES=100000`` for a quick look).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import shutil
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from benchmarks.harness import Case, record, run_case
from touchpoint.config import load_config
from touchpoint.ingest import ingest
from touchpoint.warehouse import connect

# Imports happen above, when the harness's child process loads this module: the timed
# functions below measure the work, not the start-up of pandas, Ibis or DuckDB. The
# configuration (YAML, validated once per process) is start-up too.
load_config()

DATA = Path(__file__).resolve().parent / ".data" / "ingest"
SIZES = (100_000, 1_000_000, 5_000_000)
SEED = 7
BAD_EVERY = 1000  # one bad row in a thousand

CHANNELS = [
    "ivr",
    "agent",
    "store",
    "partner_store",
    "kiosk",
    "web",
    "app",
    "sms",
    "热线人工",
    "掌厅",
]
BUSINESSES = ["payment", "bill_query", "data_package", "plan_change", "fault_report", "话费查询"]
OUTCOMES = ["resolved", "transferred", "abandoned", "unresolved"]
REGIONS = ["gz", "sz", "fs", "dg", "zh", "st", "zj", "mm", "hz", "sg"]


def _label(n: int) -> str:
    return f"{n // 1_000_000}M" if n >= 1_000_000 else f"{n // 1000}k"


def contacts_table(n: int, seed: int = SEED) -> pa.Table:
    """``n`` synthetic contacts; one row in ``BAD_EVERY`` is bad in one of three ways."""
    rng = np.random.default_rng(seed)
    start = np.datetime64("2026-03-01T00:00:00") + rng.integers(0, 31 * 86400, n).astype(
        "timedelta64[s]"
    )
    end = start + rng.integers(5, 900, n).astype("timedelta64[s]")
    channel = np.array(CHANNELS)[rng.integers(0, len(CHANNELS), n)]
    ids = np.char.add("K", np.arange(n).astype(str))
    bad = _bad_positions(n)
    kind = (bad // BAD_EVERY) % 3
    channel[bad[kind == 0]] = "fax"
    ids[bad[kind == 1]] = ids[np.maximum(bad[kind == 1] - 1, 0)]
    end[bad[kind == 2]] = start[bad[kind == 2]] - np.timedelta64(60, "s")
    is_agent = np.isin(channel, ["agent", "热线人工"])
    is_store = channel == "store"
    return pa.table(
        {
            "contact_id": ids,
            "customer_id": np.char.add("C", rng.integers(0, max(n // 20, 1), n).astype(str)),
            "started_at": pa.array(start.astype("datetime64[us]")),
            "ended_at": pa.array(end.astype("datetime64[us]")),
            "channel": channel,
            "business": np.array(BUSINESSES)[rng.integers(0, len(BUSINESSES), n)],
            "outcome": np.array(OUTCOMES)[rng.integers(0, len(OUTCOMES), n)],
            "region": np.array(REGIONS)[rng.integers(0, len(REGIONS), n)],
            "agent_id": pa.array(
                np.char.add("A", rng.integers(0, 500, n).astype(str)), mask=~is_agent
            ),
            "store_id": pa.array(
                np.char.add("S", rng.integers(0, 200, n).astype(str)), mask=~is_store
            ),
            "call_id": np.char.add("CALL", np.arange(n).astype(str)),
        }
    )


def source_file(n: int, file_format: str) -> Path:
    """The cached source file of ``n`` contacts, written on first use."""
    path = DATA / f"contacts_{_label(n)}.{file_format}"
    if not path.exists():
        DATA.mkdir(parents=True, exist_ok=True)
        table = contacts_table(n)
        partial = path.with_suffix(".partial")
        if file_format == "parquet":
            pq.write_table(table, partial)
        else:
            seconds = pa.timestamp("s")  # whole seconds: strftime would add ".000000"
            text = table
            for i, name in ((2, "started_at"), (3, "ended_at")):
                stamps = pc.strftime(table[name].cast(seconds), "%Y-%m-%d %H:%M:%S")
                text = text.set_column(i, name, stamps)
            pcsv.write_csv(text, partial, pcsv.WriteOptions(quoting_style="needed"))
        partial.rename(path)
    return path


def _fresh_warehouse(tag: str) -> Path:
    folder = DATA / "runs" / tag
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder / "warehouse.duckdb"


def _bad_positions(n: int) -> np.ndarray:
    """Every thousandth row, never two in a row (a repeated key copies its good neighbour)."""
    return np.arange(BAD_EVERY // 2, n, BAD_EVERY)


def _expected_loaded(n: int) -> int:
    return n - len(_bad_positions(n))


# --- Touchpoint -----------------------------------------------------------------------------


def run_touchpoint(path: Path, n: int, threads: int | None = None) -> None:
    if threads is not None:  # one core: Arrow's pools and DuckDB's threads
        pa.set_cpu_count(threads)
        pa.set_io_thread_count(threads)
    con = connect(_fresh_warehouse(f"touchpoint-{path.name}"))
    if threads is not None:
        con.raw_sql(f"SET threads = {threads}")
    [summary] = ingest(con, [path])
    con.disconnect()
    assert summary.n_loaded == _expected_loaded(n), (summary.n_loaded, _expected_loaded(n))


# --- plain pandas ---------------------------------------------------------------------------


def _alias_map(vocabulary: str) -> dict[str, str]:
    return load_config().alias_map(vocabulary)


def run_pandas(path: Path, n: int) -> None:
    if path.suffix == ".csv":
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        for column in ("started_at", "ended_at"):
            frame[column] = pd.to_datetime(
                frame[column].str.strip(), format="%Y-%m-%d %H:%M:%S", errors="coerce"
            )
    else:
        frame = pd.read_parquet(path)
    problems = pd.Series(False, index=frame.index)
    for column in (
        "contact_id",
        "customer_id",
        "started_at",
        "ended_at",
        "channel",
        "business",
        "outcome",
    ):
        values = frame[column]
        if values.dtype == object:
            values = values.str.strip().replace("", None)
            frame[column] = values
        problems |= values.isna()
    for column, vocabulary in (
        ("channel", "channel"),
        ("business", "business"),
        ("outcome", "outcome"),
    ):
        mapped = frame[column].str.strip().str.casefold().map(_alias_map(vocabulary))
        problems |= frame[column].notna() & mapped.isna()
        frame[column] = mapped
    problems |= frame["ended_at"] < frame["started_at"]
    problems |= frame["contact_id"].duplicated(keep="first") & frame["contact_id"].notna()
    frame["_row"] = np.arange(1, len(frame) + 1)
    good, rejected = frame[~problems], frame[problems]
    con = duckdb.connect(str(_fresh_warehouse(f"pandas-{path.name}")))
    con.execute("SET enable_progress_bar = false")
    con.register("good_rows", good)
    con.register("rejected_rows", rejected)
    con.execute("CREATE TABLE stg_contacts AS SELECT * FROM good_rows")
    con.execute("CREATE TABLE ingest_quarantine AS SELECT _row, contact_id FROM rejected_rows")
    con.close()
    assert len(good) == _expected_loaded(n), (len(good), _expected_loaded(n))


# --- hand-written DuckDB SQL ----------------------------------------------------------------


def run_duckdb_sql(path: Path, n: int) -> None:
    con = duckdb.connect(str(_fresh_warehouse(f"duckdb-{path.name}")))
    con.execute("SET enable_progress_bar = false")
    labels = [
        (vocabulary, label, value)
        for vocabulary in ("channel", "business", "outcome")
        for label, value in _alias_map(vocabulary).items()
    ]
    con.execute("CREATE TEMP TABLE vocab (vocabulary VARCHAR, label VARCHAR, id VARCHAR)")
    con.executemany("INSERT INTO vocab VALUES (?, ?, ?)", labels)
    if path.suffix == ".csv":
        source = f"read_csv('{path}', all_varchar = true, header = true)"
        stamp = "try_strptime(trim({0}), '%Y-%m-%d %H:%M:%S')"
    else:
        source = f"read_parquet('{path}')"
        stamp = "{0}"
    con.execute(
        f"""
        CREATE TEMP TABLE checked AS
        WITH src AS (SELECT *, row_number() OVER () AS _row FROM {source}),
        typed AS (
            SELECT src.*, {stamp.format("started_at")} AS started, {stamp.format("ended_at")} AS ended,
                   c.id AS channel_id, b.id AS business_id, o.id AS outcome_id
            FROM src
            LEFT JOIN vocab c ON c.vocabulary = 'channel' AND c.label = lower(trim(src.channel))
            LEFT JOIN vocab b ON b.vocabulary = 'business' AND b.label = lower(trim(src.business))
            LEFT JOIN vocab o ON o.vocabulary = 'outcome' AND o.label = lower(trim(src.outcome))
        )
        SELECT *,
            (nullif(trim(contact_id), '') IS NULL OR nullif(trim(customer_id), '') IS NULL
             OR started IS NULL OR ended IS NULL
             OR channel_id IS NULL OR business_id IS NULL OR outcome_id IS NULL
             OR ended < started
             OR row_number() OVER (PARTITION BY contact_id ORDER BY _row) > 1) AS is_bad
        FROM typed
        """
    )
    con.execute(
        """
        CREATE TABLE stg_contacts AS
        SELECT contact_id, customer_id, started AS started_at, ended AS ended_at,
               channel_id AS channel, business_id AS business, outcome_id AS outcome,
               region, agent_id, store_id, call_id, _row
        FROM checked WHERE NOT is_bad
        """
    )
    con.execute(
        "CREATE TABLE ingest_quarantine AS SELECT _row, contact_id FROM checked WHERE is_bad"
    )
    loaded = con.execute("SELECT count(*) FROM stg_contacts").fetchone()[0]
    con.close()
    assert loaded == _expected_loaded(n), (loaded, _expected_loaded(n))


VARIANTS = (
    ("touchpoint", run_touchpoint, ()),
    ("touchpoint, 1 thread", run_touchpoint, (1,)),
    ("pandas", run_pandas, ()),
    ("duckdb-sql", run_duckdb_sql, ()),
)


def _generate(sizes: tuple[int, ...]) -> None:
    for n in sizes:
        for file_format in ("parquet", "csv"):
            source_file(n, file_format)


def cases(sizes=SIZES) -> list[Case]:
    # Generate in a child process: the harness's children inherit this process's peak memory.
    generator = mp.get_context("spawn").Process(target=_generate, args=(tuple(sizes),))
    generator.start()
    generator.join()
    out = []
    for n in sizes:
        for file_format in ("parquet", "csv"):
            path = source_file(n, file_format)
            for variant, func, extra in VARIANTS:
                out.append(
                    Case(
                        "ingest",
                        f"{variant} ({file_format})",
                        f"{_label(n)} rows",
                        n,
                        func,
                        (path, n, *extra),
                    )
                )
    return out


NOTE = """\
Contacts-like rows (11 columns, 0.1 % bad), each variant reading the file, checking types,
required values, vocabularies (ids and Chinese aliases), end before start and duplicate keys,
then writing good and rejected rows to a fresh warehouse (touchpoint: the good rows as a
Parquet part beside the DuckDB file, read through a view; the others: DuckDB tables).
"1 thread" limits Arrow and DuckDB to one core: the per-core figure the targets speak of
(1 M rows/s Parquet, 300 k rows/s CSV). The machine is shared with other jobs while this
runs, so wall time (seconds, rows/s) is slowed by them; CPU seconds (user + system, all
threads of the case's process) much less so, and "rows per CPU second" is the throughput of
one busy core."""


def main() -> None:
    sizes = (
        tuple(int(s) for s in os.environ.get("TOUCHPOINT_BENCH_SIZES", "").split(",") if s) or SIZES
    )
    results = []
    for case in cases(sizes):
        result = run_case(case)
        print(
            f"{case.size:>10} {case.variant:<28} {result.seconds:7.2f} s {result.rows_per_second:>12,.0f} rows/s {result.peak_rss_mb:7,.0f} MB",
            flush=True,
        )
        results.append(result)
    record("ingest", results, NOTE)


if __name__ == "__main__":
    main()
