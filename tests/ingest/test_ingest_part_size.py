"""A stored part is no larger than the same rows written plainly (issue 18, item 1)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from touchpoint.ingest import ingest
from touchpoint.warehouse import connect

N_ROWS = 400_000


def _ivr_events(n: int, seed: int = 7) -> pa.Table:
    """IVR steps of ``n // 4`` calls: call and customer ids nearly all distinct, in time order."""
    rng = np.random.default_rng(seed)
    call = np.repeat(np.arange(n // 4), 4)
    seq = np.tile(np.arange(1, 5), n // 4)
    start = np.datetime64("2026-03-01T00:00:00") + np.sort(rng.integers(0, 30 * 86400, n // 4))
    return pa.table(
        {
            "call_id": [
                f"CALL{c:010d}-{rng_id:06d}"
                for c, rng_id in zip(call, call * 7919 % 999983, strict=True)
            ],
            "seq": seq,
            "customer_id": [f"C{(c * 2654435761) % 10**9:09d}" for c in call],
            "event_at": pa.array(np.repeat(start, 4) + seq * 7, pa.timestamp("us")),
            "node_id": rng.choice(["root", "bill", "data", "agent", "exit"], n),
            "event_type": rng.choice(["prompt", "key", "transfer_agent"], n),
            "key": rng.choice(["1", "2", "3", ""], n),
        }
    )


def test_a_part_of_high_cardinality_ids_is_within_1_2x_of_a_plain_zstd_write(tmp_path):
    source = tmp_path / "ivr_events.parquet"
    events = _ivr_events(N_ROWS)
    as_dictionaries = [
        pc.dictionary_encode(c) if c.type == pa.string() else c for c in events.columns
    ]
    # Arrow dictionaries (as the simulator writes them) are read back as dictionaries
    pq.write_table(pa.table(as_dictionaries, names=events.column_names), source)
    warehouse = tmp_path / "w.duckdb"
    con = connect(warehouse)
    [summary] = ingest(con, source)
    con.disconnect()
    assert (summary.status, summary.n_loaded) == ("loaded", N_ROWS)
    [part] = (tmp_path / "w.duckdb.data" / "stg_ivr_events").glob("*.parquet")
    rows = pq.read_table(part)
    rows = pa.table(
        [c.cast(c.type.value_type) if pa.types.is_dictionary(c.type) else c for c in rows.columns],
        names=rows.column_names,
    )
    plain = tmp_path / "plain.parquet"
    pq.write_table(rows, plain, compression="zstd")
    assert part.stat().st_size <= 1.2 * plain.stat().st_size, (
        part.stat().st_size,
        plain.stat().st_size,
    )
    layout = pq.ParquetFile(part).metadata.row_group(0)
    encodings = {layout.column(i).path_in_schema: layout.column(i).encodings for i in range(7)}
    assert "RLE_DICTIONARY" not in encodings["call_id"]  # nearly all distinct: plain
    assert "RLE_DICTIONARY" in encodings["node_id"]  # five values: a dictionary
