"""The chunk size is a memory knob only: a seed gives the same world at any chunk size."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from touchpoint.simulate import SIMULATED_ENTITIES, continue_world, load_params, simulate
from touchpoint.simulate.chunk import ACTIONS

pytestmark = pytest.mark.slow  # worlds at several chunk sizes

SIZES = (4096, 1000, 333)
# Each world is continued in yet another chunk size than it was simulated in.
CONTINUED_IN = {4096: 250, 1000: 4096, 333: 777}


def _decoded(path) -> pa.Table:
    """A Parquet file's table with dictionary columns decoded (their dictionaries follow the
    row groups, which do follow the chunks)."""
    table = pq.read_table(path)
    for i, field in enumerate(table.schema):
        if pa.types.is_dictionary(field.type):
            table = table.set_column(i, field.name, table[field.name].cast(field.type.value_type))
    return table


def _files(world) -> dict[str, object]:
    """Every file of a world but the saved state (which is cut by chunk)."""
    return {
        str(p.relative_to(world)): p
        for p in sorted(world.rglob("*"))
        if p.is_file() and "state" not in p.relative_to(world).parts
    }


@pytest.fixture(scope="module")
def worlds(tmp_path_factory):
    """1,500 customers × 2 months, then 1 month more with work orders, at three chunk sizes."""
    root = tmp_path_factory.mktemp("chunk_size")
    customers = [f"C{i:08d}" for i in range(0, 1500, 5)] + ["C00000010", "C00001499"]
    orders = pd.DataFrame(
        {
            "work_order_id": [f"T{i:05d}" for i in range(len(customers))],
            "campaign_id": [f"camp_{i % 2}" for i in range(len(customers))],
            "customer_id": customers,  # two customers get two work orders
            "action": [ACTIONS[i % 3] for i in range(len(customers))],
        }
    )
    orders.to_csv(root / "orders.csv", index=False)
    result = {}
    for size in SIZES:
        world = root / f"world_{size}"
        first = simulate(
            world, customers=1500, months=2, seed=21, params=load_params(chunk_size=size)
        )
        before = {name: _decoded(path) for name, path in first.files.items()}
        later = continue_world(world, root / "orders.csv", months=1, chunk_size=CONTINUED_IN[size])
        result[size] = dict(world=world, before=before, later=later)
    return result


def test_source_files_are_identical_at_any_chunk_size(worlds):
    base = worlds[SIZES[0]]
    assert set(base["before"]) == set(SIMULATED_ENTITIES)
    for size in SIZES[1:]:
        for name, table in base["before"].items():
            other = worlds[size]["before"][name]
            assert table.num_rows == other.num_rows > 0, (size, name)
            assert table.equals(other), (size, name)  # same rows, order, values and ids


def test_continued_world_and_truth_are_identical_at_any_chunk_size(worlds):
    base = _files(worlds[SIZES[0]]["world"])
    # The continued leg's files, the snapshot of customers and every truth file.
    assert "truth/treatment_effects.parquet" in base and "truth/realised.json" in base
    assert any(name.startswith("payments_") for name in base)
    for size in SIZES[1:]:
        files = _files(worlds[size]["world"])
        assert set(files) == set(base), size
        for name, path in base.items():
            if path.suffix == ".parquet":
                assert _decoded(path).equals(_decoded(files[name])), (size, name)
            else:
                assert path.read_bytes() == files[name].read_bytes(), (size, name)
    effects = pd.read_parquet(worlds[SIZES[0]]["world"] / "truth" / "treatment_effects.parquet")
    assert len(effects) == 302 and effects.planted_strength.gt(0).any()
    # The chunking itself did differ: the saved states are cut differently.
    layouts = [
        json.loads((worlds[s]["world"] / "truth" / "state" / "chunks.json").read_text())
        for s in SIZES
    ]
    assert len({len(layout) for layout in layouts}) == len(SIZES)


def test_one_customer_per_chunk_gives_the_same_world(tmp_path):
    tables = {}
    for size in (1, 4096):
        result = simulate(
            tmp_path / str(size),
            customers=40,
            months=1,
            seed=5,
            params=load_params(chunk_size=size),
        )
        tables[size] = {name: _decoded(path) for name, path in result.files.items()}
        assert (tmp_path / str(size) / "truth" / "realised.json").read_bytes()
    for name, table in tables[4096].items():
        assert table.equals(tables[1][name]), name
    assert (tmp_path / "1" / "truth" / "realised.json").read_bytes() == (
        tmp_path / "4096" / "truth" / "realised.json"
    ).read_bytes()


def test_cli_chunk_size_changes_nothing_but_the_saved_state(tmp_path, capsys):
    from touchpoint.cli import main

    def run(*args):
        with pytest.raises(SystemExit) as done:
            main(["simulate", *args, "--months", "1", "--json"])
        assert done.value.code == 0

    for size in ("7", "4096"):
        out = tmp_path / size
        run("--out", str(out), "--customers", "30", "--seed", "4", "--chunk-size", size)
        run("--continue", str(out), "--chunk-size", "5")
    capsys.readouterr()
    small, large = _files(tmp_path / "7"), _files(tmp_path / "4096")
    assert set(small) == set(large)
    for name, path in large.items():
        if path.suffix == ".parquet":
            assert _decoded(path).equals(_decoded(small[name])), name
    layout = json.loads((tmp_path / "7" / "truth" / "state" / "chunks.json").read_text())
    assert layout[:2] == [[0, 5], [5, 5]]  # the continuation re-cut the 7-customer chunks


def test_cli_writes_a_gbk_csv_world_that_strict_gbk_reads(tmp_path, capsys):
    from touchpoint.cli import main

    out = tmp_path / "gbk"
    with pytest.raises(SystemExit) as done:
        main(["simulate", "--out", str(out), "--customers", "200", "--months", "1",
              "--seed", "3", "--format", "csv", "--encoding", "gbk", "--json"])  # fmt: skip
    assert done.value.code == 0
    summary = json.loads(capsys.readouterr().out)
    files = sorted(out.glob("*.csv"))
    assert {p.stem for p in files} >= {"customers", "contacts", "ivr_events", "surveys"}
    for path in files:
        text = path.read_bytes().decode("gbk")  # strict: a GB18030-only byte would fail
        rows = len(text.splitlines()) - 1
        assert rows == summary["rows"][path.stem], path.name
    assert "满意" in (out / "surveys.csv").read_bytes().decode("gbk")
