"""``simulate --shard i/n``: the n shards together are the unsharded world, whatever n.

A shard is a run of whole chunks of customers; every draw is keyed by what it is about, so
the union of the shards' rows (in shard order) must equal the unsharded world's rows: ids,
values and order, for every entity and the per-customer truth. Ingesting every shard's files
must give the same warehouse as ingesting the unsharded files.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from touchpoint.cli import app
from touchpoint.errors import ConfigError
from touchpoint.ingest import ingest
from touchpoint.simulate import SIMULATED_ENTITIES, load_params, parse_shard, simulate
from touchpoint.simulate.world import shard_chunks
from touchpoint.warehouse import connect

pytestmark = pytest.mark.slow  # a world simulated whole and in several shard counts

CUSTOMERS, MONTHS, SEED, CHUNK = 95, 2, 13, 10  # 10 chunks, the last one short
SHARD_COUNTS = (1, 3, 4, 10)
TRUTH = ("customers", "preferences", "payment_preferences")


def _decoded(path) -> pa.Table:
    """A Parquet file's table with dictionary columns decoded (dictionaries follow the row
    groups, which follow the chunks)."""
    table = pq.read_table(path)
    for i, field in enumerate(table.schema):
        if pa.types.is_dictionary(field.type):
            table = table.set_column(i, field.name, table[field.name].cast(field.type.value_type))
    return table


def _simulate(out, shard=None):
    params = load_params(chunk_size=CHUNK)
    return simulate(out, customers=CUSTOMERS, months=MONTHS, seed=SEED, params=params, shard=shard)


@pytest.fixture(scope="module")
def whole(tmp_path_factory):
    out = tmp_path_factory.mktemp("whole")
    return out, _simulate(out)


@pytest.fixture(scope="module")
def sharded(tmp_path_factory):
    """For each shard count n: the folder and the n results, all shards written beside each
    other in one folder (as n machines writing to one store would)."""
    worlds = {}
    for n in SHARD_COUNTS:
        out = tmp_path_factory.mktemp(f"shards_{n}")
        worlds[n] = out, [_simulate(out, (i, n)) for i in range(1, n + 1)]
    return worlds


@pytest.mark.parametrize("n", SHARD_COUNTS)
def test_the_shards_together_are_the_whole_world(whole, sharded, n):
    out, whole_result = whole
    _, results = sharded[n]
    for name in SIMULATED_ENTITIES:
        expected = _decoded(whole_result.files[name])
        parts = [_decoded(r.files[name]) for r in results if r.n_rows[name]]
        union = pa.concat_tables(parts) if parts else expected.slice(0, 0)
        assert union.num_rows == expected.num_rows == sum(r.n_rows[name] for r in results)
        assert union.equals(expected), (n, name)  # same rows, ids, values, order
    assert expected.num_rows > 0 or name == "campaign_responses"
    customers = sum(r.n_rows["customers"] for r in results)
    assert customers == CUSTOMERS


@pytest.mark.parametrize("n", SHARD_COUNTS)
def test_the_shards_truth_is_the_whole_worlds_truth(whole, sharded, n):
    out, _ = whole
    shard_out, _ = sharded[n]
    width = len(str(n))
    for name in TRUTH:
        expected = _decoded(out / "truth" / f"{name}.parquet")
        union = pa.concat_tables(
            [
                _decoded(shard_out / "truth" / f"{name}.shard-{i:0{width}d}-of-{n}.parquet")
                for i in range(1, n + 1)
            ]
        )
        assert union.equals(expected), (n, name)
    for shared in ("params.yaml", "confusing_nodes.json", "ivr_menu.parquet"):
        assert (shard_out / "truth" / shared).read_bytes() == (out / "truth" / shared).read_bytes()
    # The chunk states keep the world's numbering: the shards saved every chunk once.
    states = sorted(p.name for p in (shard_out / "truth" / "state").glob("chunk_*.npz"))
    assert states == sorted(p.name for p in (out / "truth" / "state").glob("chunk_*.npz"))
    assert not list(shard_out.glob("*.tmp")) and not list((shard_out / "truth").glob("*.tmp"))


def test_ingesting_every_shard_gives_the_same_warehouse(whole, sharded, tmp_path):
    _, whole_result = whole
    _, results = sharded[3]
    counts = {}
    for label, files in (
        ("whole", list(whole_result.files.values())),
        ("shards", [p for r in results for n, p in r.files.items() if r.n_rows[n]]),
    ):
        con = connect(str(tmp_path / f"{label}.duckdb"))
        summaries = ingest(con, files)
        tables = sorted(t for t in con.list_tables() if t.startswith("stg_"))
        counts[label] = {
            "tables": {t: con.table(t).count().execute() for t in tables},
            "loaded": sum(s.n_loaded for s in summaries),
            "quarantined": sum(s.n_quarantined for s in summaries),
        }
        con.disconnect()
    assert counts["whole"]["tables"]["stg_customers"] == CUSTOMERS
    assert counts["shards"] == counts["whole"]


def test_shards_cut_whole_chunks_once():
    for customers, size in ((95, 10), (1000, 7), (5, 5)):
        total = -(-customers // size)
        for n in range(1, total + 1):
            chunks = [c for i in range(1, n + 1) for c in shard_chunks(customers, size, (i, n))]
            assert chunks == list(range(total)), (customers, size, n)
    with pytest.raises(ConfigError, match="at most 10 shard"):
        shard_chunks(95, 10, (1, 11))


@pytest.mark.parametrize("text", ["0/3", "4/3", "x", "3", "-1/3", "1/0", "a/b", "2/3/4"])
def test_a_bad_shard_is_refused(text):
    with pytest.raises(ConfigError, match="i/n"):
        parse_shard(text)


@pytest.mark.parametrize(
    ("lang", "words"), [("en", "--shard must be i/n"), ("zh", "--shard 应为 i/n")]
)
@pytest.mark.parametrize("text", ["0/3", "4/3", "x"])
def test_the_cli_refuses_a_bad_shard_in_one_line(tmp_path, lang, words, text):
    result = CliRunner().invoke(
        app, ["simulate", "--out", str(tmp_path / "w"), "--shard", text, "--lang", lang]
    )
    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"error: {words}"), result.output
    assert repr(text) in lines[0]
    assert not (tmp_path / "w").exists()


def test_the_cli_writes_a_shard(tmp_path):
    out = tmp_path / "w"
    args = ["simulate", "--out", str(out), "--customers", "30", "--months", "1"]
    result = CliRunner().invoke(app, [*args, "--chunk-size", "10", "--shard", "2/3"])
    assert result.exit_code == 0, result.output
    assert "shard 2 of 3: customers 10–19 of 30" in result.output
    assert pq.read_table(out / "customers.shard-2-of-3.parquet").num_rows == 10
    refused = CliRunner().invoke(
        app, [*args, "--chunk-size", "10", "--shard", "1/2", "--call-records", "3"]
    )
    assert refused.exit_code != 0 and "without --shard" in refused.output
