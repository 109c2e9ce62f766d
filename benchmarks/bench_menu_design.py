"""Menu design at three sizes: Touchpoint (Ibis on DuckDB) vs pandas vs hand-written SQL.

The data are IVR journeys walked through the simulator's default menu (its planted confusing
nodes included) by ``touchpoint.simulate.ivr_walk``, ``N`` calls over 30 days, cached as
parquet under ``benchmarks/.data/``. The expensive part of the menu design is the replay
cube (one window pass over every call, then one aggregation); every variant computes the same
cube, and Touchpoint also the recommendations on it (they read only the small cube):

- ``touchpoint (cube)``: :func:`touchpoint.ivr.menu_replay_cube`, written to the warehouse;
- ``touchpoint (cube + recommendations)``: both pipeline steps, as ``touchpoint run`` does;
- ``duckdb-sql (cube)``: the same cube in hand-written DuckDB SQL;
- ``pandas (cube)``: a straightforward pandas version (sort, shift, groupby).

Run: ``python -m benchmarks menu_design`` (sizes in calls via BENCH_MENU_SIZES=100000,1000000).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from benchmarks.harness import Case, record, run_cases
from touchpoint.config import load_config
from touchpoint.contract import ENTITIES, arrow_schema
from touchpoint.ivr import build_menu_design, build_menu_replay
from touchpoint.warehouse import connect, write_table

DATA = Path(__file__).resolve().parent / ".data"
SIZES = (100_000, 500_000, 2_000_000)
CHUNK = 250_000
START = np.datetime64("2024-01-01T00:00:00", "us")
DAYS = 30


def _events_chunk(rng: np.random.Generator, n: int, offset: int) -> pa.Table:
    from touchpoint.simulate.ivr_walk import EVENT_TYPES, walk_calls
    from touchpoint.simulate.menu import build_menu
    from touchpoint.simulate.params import load_params

    params = load_params()
    menu = build_menu(params)
    businesses = sorted(menu.leaves_by_business)
    business = rng.choice(len(businesses), n)
    target = np.empty(n, dtype=np.int64)
    for i, name in enumerate(businesses):
        leaves, weights = menu.leaves_by_business[name]
        rows = np.flatnonzero(business == i)
        target[rows] = rng.choice(leaves, len(rows), p=weights)
    from touchpoint.simulate import keyed_random as kr

    keys = kr.key(int(rng.integers(2**62)), np.arange(offset, offset + n))
    walk = walk_calls(menu, params.ivr, target, rng.random(n) < 0.1, keys)
    starts = START + (rng.random(n) * DAYS * 86_400_000_000).astype("timedelta64[us]")
    call_ids = np.char.add("H", (np.arange(n) + offset).astype(str))
    schema = arrow_schema(ENTITIES["ivr_events"])
    keys = walk.key.astype(object)
    keys[keys == ""] = None
    columns = {
        "call_id": pa.array(call_ids[walk.call]),
        "seq": pa.array(walk.seq),
        "customer_id": pa.array(np.char.add("C", (walk.call + offset).astype(str))),
        "event_at": pa.array(starts[walk.call] + walk.offset_ms.astype("timedelta64[ms]")),
        "node_id": pa.array(menu.ids[walk.node].astype(str)),
        "event_type": pa.array(np.array(EVENT_TYPES, dtype=object)[walk.event_type].astype(str)),
        "key": pa.array(keys, type=pa.string()),
    }
    return pa.table([pa.array(columns[f.name], type=f.type) for f in schema], schema=schema)


def prepare(n_calls: int) -> tuple[Path, Path, int]:
    """Cached parquet journeys and a warehouse holding them as ``stg_ivr_events``."""
    folder = DATA / f"menu_{n_calls}"
    events = folder / "ivr_events.parquet"
    if not events.exists():
        folder.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(2024)
        tmp = events.with_suffix(".tmp")
        with pq.ParquetWriter(tmp, arrow_schema(ENTITIES["ivr_events"])) as writer:
            for offset in range(0, n_calls, CHUNK):
                writer.write_table(_events_chunk(rng, min(CHUNK, n_calls - offset), offset))
        tmp.rename(events)
    warehouse = folder / "warehouse.duckdb"
    con = duckdb.connect(str(warehouse))
    con.execute("SET enable_progress_bar = false")
    try:
        if not con.execute("SELECT COUNT(*) FROM duckdb_tables() WHERE table_name = 'stg_ivr_events'").fetchone()[0]:  # fmt: skip
            con.execute(
                "CREATE TABLE stg_ivr_events AS SELECT * FROM read_parquet(?)", [str(events)]
            )
        n_events = con.execute("SELECT COUNT(*) FROM stg_ivr_events").fetchone()[0]
    finally:
        con.close()
    return events, warehouse, n_events


def _prepare_child(n_calls: int, queue) -> None:
    events, warehouse, n_events = prepare(n_calls)
    queue.put((str(events), str(warehouse), n_events))


def _prepare_in_child(n_calls: int) -> tuple[Path, Path, int]:
    """:func:`prepare` in a child process, so this one stays small: Linux keeps the peak
    memory of a parent in its spawned children's ``ru_maxrss``."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    process = ctx.Process(target=_prepare_child, args=(n_calls, queue))
    process.start()
    events, warehouse, n_events = queue.get()
    process.join()
    return Path(events), Path(warehouse), n_events


def run_touchpoint(warehouse: str, with_recommendations: bool) -> None:
    config = load_config()
    con = connect(warehouse)
    con.raw_sql("SET enable_progress_bar = false")
    tables = {"stg_ivr_events": con.table("stg_ivr_events")}
    steps = (build_menu_replay, build_menu_design) if with_recommendations else (build_menu_replay,)
    for step in steps:
        for name, expr in step(tables, config).items():
            write_table(con, name, expr)
            tables[name] = con.table(name)
    con.disconnect()


# The cube of touchpoint.ivr.menu_replay_cube, by hand.
SQL_CUBE = """
CREATE OR REPLACE TABLE sql_ivr_menu_replay AS
WITH steps AS (
  SELECT
    node_id, event_type, event_at, key,
    LAST_VALUE(node_id) OVER w AS terminal_node_id,
    LAST_VALUE(event_type) OVER w AS terminal_event_type,
    LEAD(node_id) OVER w AS next_node_id,
    DATE_DIFF('millisecond', event_at, LEAD(event_at) OVER w) AS ms_to_next,
    DATE_DIFF('millisecond', LAG(event_at) OVER w, LEAD(event_at) OVER w) AS ms_turn
  FROM stg_ivr_events
  WINDOW w AS (PARTITION BY call_id ORDER BY seq
               ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
)
SELECT
  terminal_node_id, terminal_event_type, node_id, event_type,
  CASE WHEN next_node_id IS NOT NULL AND next_node_id <> node_id THEN key END AS key,
  next_node_id,
  COUNT(*) AS n_events,
  COALESCE(SUM(ms_to_next) / 1000.0, 0) AS seconds_to_next,
  COALESCE(SUM(ms_turn) / 1000.0, 0) AS turn_seconds,
  MIN(event_at) AS first_event_at,
  MAX(event_at) AS last_event_at
FROM steps
GROUP BY ALL
"""


def run_sql(warehouse: str) -> None:
    con = duckdb.connect(warehouse)
    con.execute("SET enable_progress_bar = false")
    con.execute(SQL_CUBE)
    con.close()


def pandas_cube(events_path: str) -> pd.DataFrame:
    """The same cube, straightforward pandas."""
    e = pd.read_parquet(
        events_path, columns=["call_id", "seq", "event_at", "node_id", "event_type", "key"]
    )
    e = e.sort_values(["call_id", "seq"], kind="stable").reset_index(drop=True)
    g = e.groupby("call_id", sort=False)
    e["terminal_node_id"] = g["node_id"].transform("last")
    e["terminal_event_type"] = g["event_type"].transform("last")
    e["next_node_id"] = g["node_id"].shift(-1)
    next_at = g["event_at"].shift(-1)
    prev_at = g["event_at"].shift(1)
    e["ms_to_next"] = (next_at - e["event_at"]).dt.total_seconds() * 1000
    e["ms_turn"] = (next_at - prev_at).dt.total_seconds() * 1000
    moves = e["next_node_id"].notna() & (e["next_node_id"] != e["node_id"])
    e["key"] = e["key"].where(moves)
    cube = e.groupby(
        ["terminal_node_id", "terminal_event_type", "node_id", "event_type", "key", "next_node_id"],
        dropna=False,
        sort=False,
    ).agg(
        n_events=("seq", "size"),
        seconds_to_next=("ms_to_next", "sum"),
        turn_seconds=("ms_turn", "sum"),
        first_event_at=("event_at", "min"),
        last_event_at=("event_at", "max"),
    )
    cube[["seconds_to_next", "turn_seconds"]] /= 1000.0
    return cube.reset_index()


def run_pandas(events_path: str) -> None:
    pandas_cube(events_path)


def check_agreement(events_path: Path, warehouse: Path) -> None:
    """The three cubes agree (on the smallest size): same rows, same counts and seconds."""
    con = connect(str(warehouse), read_only=True)
    ours = con.table("int_ivr_menu_replay").to_pandas()
    sql = con.table("sql_ivr_menu_replay").to_pandas()
    con.disconnect()
    theirs = pandas_cube(str(events_path))
    keys = [
        "terminal_node_id",
        "terminal_event_type",
        "node_id",
        "event_type",
        "key",
        "next_node_id",
    ]
    frames = []
    for frame in (ours, sql, theirs):
        frame = frame.fillna({"key": "", "next_node_id": ""}).sort_values(keys)
        frames.append(frame[[*keys, "n_events", "seconds_to_next"]].reset_index(drop=True))
    for other in frames[1:]:
        pd.testing.assert_frame_equal(frames[0], other, check_dtype=False, atol=1e-6)


def _sizes() -> tuple[int, ...]:
    chosen = os.environ.get("BENCH_MENU_SIZES")
    return tuple(int(x) for x in chosen.split(",")) if chosen else SIZES


def _label(n: int) -> str:
    return f"{n / 1_000_000:g}M" if n >= 1_000_000 else f"{n // 1_000}k"


def main() -> None:
    results = []
    notes = []
    for index, n in enumerate(_sizes()):
        started = time.perf_counter()
        events, warehouse, n_events = _prepare_in_child(n)
        print(f"  data {n:,} calls: {n_events:,} IVR events ({time.perf_counter() - started:.0f} s)", flush=True)  # fmt: skip
        size = f"{_label(n)} calls ({n_events / 1e6:.1f} M events)"
        notes.append(f"{_label(n)} calls: {n_events:,} events")
        cases = [
            Case("menu_design", "touchpoint (cube)", size, n_events, run_touchpoint, (str(warehouse), False)),
            Case("menu_design", "touchpoint (cube + recommendations)", size, n_events, run_touchpoint, (str(warehouse), True)),
            Case("menu_design", "duckdb-sql (cube)", size, n_events, run_sql, (str(warehouse),)),
            Case("menu_design", "pandas (cube)", size, n_events, run_pandas, (str(events),)),
        ]  # fmt: skip
        results += run_cases(cases)
        if index == 0:
            smallest = (events, warehouse)
    # Last: loading the cubes here would raise this process's peak memory, which Linux
    # passes on to the children measured after it.
    if results:
        check_agreement(*smallest)
        print("  the three cubes agree", flush=True)
    record(
        "menu_design",
        results,
        note="Input rows: " + "; ".join(notes) + ". IVR journeys walked through the simulator's "
        "default menu over 30 days. Every variant builds the replay cube (one window pass per "
        "call: next node, time to the next step and since the previous one, the call's last "
        'node and event; then one aggregation); "cube + recommendations" adds the second '
        "pipeline step (tree, node measures, replay of promote/merge/drop/fix), which reads only "
        "the small cube. The three cubes are checked equal on the smallest size.",
    )


if __name__ == "__main__":
    main()
