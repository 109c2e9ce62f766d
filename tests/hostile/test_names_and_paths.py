"""Names and paths: folders, links, unreadable places, repeated header names, empty files.

Issue 11, items 7, 8a and 8b: a folder walk skipped unreadable and linked sub-folders and
folders named ``truth`` without a word; an unreadable path on the command line was a
traceback; a header naming one column twice in different case failed with "unexpected
KeyError ... please report"; all empty files shared one content hash, so every empty file
after the first was "unchanged", reported under the first one's entity and never logged.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hostile_world import (
    ALL_ENTITIES,
    ENTITY_IDS,
    FORMATS,
    HOSTILE,
    assert_landed_as_expected,
    cases,
    csv_bytes,
    ingest_files,
    jsonl_bytes,
)
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from touchpoint.cli import app
from touchpoint.contract import ENTITIES
from touchpoint.ingest import ingest
from touchpoint.warehouse import connect

# Around an entity's name in a file name: nothing that is a letter (a letter glued to the
# name hides it), but blanks, quotes, digits, CJK punctuation and the like.
NAME_CHARS = st.text(st.sampled_from(list("0123456789 -_.'()[]#,;+=@！（）【】　")), max_size=6)
FOLDER_CHARS = st.text(st.sampled_from(list("abc xyz-_'客户文件夹0123")), min_size=1, max_size=8)


@st.composite
def file_names(draw, entity) -> str:
    stem = draw(st.sampled_from([entity.name, *entity.file_stems]))
    name = f"{draw(NAME_CHARS)}{stem}{draw(NAME_CHARS)}".strip(". ")
    return name if name and not name.startswith(".") else stem


@st.composite
def trees(draw):
    """A folder tree: (relative folder, kind) where kind is walked/truth/link/unreadable."""
    folders = [("", "walked")]
    for _ in range(draw(st.integers(1, 5))):
        parent = draw(st.sampled_from([p for p, kind in folders if kind == "walked"]))
        kind = draw(st.sampled_from(["walked", "walked", "truth", "link", "unreadable"]))
        name = "truth" if kind == "truth" else draw(FOLDER_CHARS).strip() or "f"
        path = f"{parent}/{name}".lstrip("/")
        if all(path != p for p, _ in folders):
            folders.append((path, kind))
    return folders


@HOSTILE
@given(tree=trees(), data=st.data())
def test_a_folder_walk_says_what_it_skipped_and_why(tmp_path_factory, tree, data):
    root = tmp_path_factory.mktemp("walk") / "in"
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    expected_loaded, expected_skipped, expected_failed = set(), {}, set()
    for index, (folder, kind) in enumerate(tree):
        entity = data.draw(st.sampled_from(ALL_ENTITIES))
        case = data.draw(cases(entity, max_size=2)).tagged(f"F{index}:")
        name = data.draw(file_names(entity)) + ".csv"
        target = root / folder
        if kind == "link":
            real = elsewhere / f"real{index}"
            real.mkdir(parents=True)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(real, target_is_directory=True)
            (real / name).write_bytes(csv_bytes(case))
            expected_skipped[str(target)] = "symbolic link"
            continue
        target.mkdir(parents=True, exist_ok=True)
        (target / name).write_bytes(csv_bytes(case))
        if kind == "truth":
            expected_skipped[str(target)] = "truth"
        elif kind == "unreadable":
            expected_failed.add(str(target))
        else:  # only walked folders have sub-folders (see trees)
            expected_loaded.add(str(target / name))
    unreadable = {Path(p) for p in expected_failed}
    real_scandir = os.scandir

    def scandir(path="."):  # running as root, chmod cannot make a folder unreadable
        if Path(path) in unreadable:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    con = connect(":memory:")
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(os, "scandir", scandir)
            summaries = ingest(con, [root])
    finally:
        con.disconnect()
    loaded = {s.path for s in summaries if s.status == "loaded"}
    skipped = {s.path: s.message for s in summaries if s.status == "skipped"}
    failed = {s.path: s.error for s in summaries if s.status == "failed"}
    assert loaded == expected_loaded
    assert set(skipped) == set(expected_skipped)
    for path, why in expected_skipped.items():
        assert why in skipped[path], skipped[path]
    assert set(failed) == expected_failed
    for error in failed.values():
        assert "cannot read the folder" in error and "\n" not in error


def test_an_unreadable_path_on_the_command_line_is_a_failed_line_not_a_traceback(
    tmp_path, monkeypatch
):
    folder = tmp_path / "locked"
    folder.mkdir()
    named = folder / "contacts.csv"
    real_stat = Path.stat

    def stat(self, *args, **kwargs):  # as if ``locked`` had no search permission
        if self == named:
            raise PermissionError(13, "Permission denied", str(self))
        return real_stat(self, *args, **kwargs)

    monkeypatch.setattr(Path, "stat", stat)
    result = CliRunner().invoke(
        app, ["ingest", str(named), "--json", "-w", str(tmp_path / "wh.duckdb")]
    )
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.exit_code == 1
    [summary] = json.loads(result.stdout)
    assert summary["status"] == "failed"
    assert "cannot read the path (Permission denied)" in summary["error"]


@pytest.mark.parametrize("entity", ALL_ENTITIES, ids=ENTITY_IDS)
@HOSTILE
@given(data=st.data())
def test_a_column_named_twice_is_refused_with_one_line(tmp_path_factory, entity, data):
    case = data.draw(cases(entity))
    twice = data.draw(st.sampled_from([c.name for c in entity.columns]))
    again = data.draw(st.sampled_from([twice, twice.upper(), twice.title(), f" {twice} "]))
    header = [*case.header, again]
    position = data.draw(st.integers(0, len(case.header)))
    header.insert(position, header.pop())
    fmt = data.draw(st.sampled_from(["csv", "jsonl"] if again != twice else ["csv"]))
    if fmt == "csv":
        data_bytes = csv_bytes(case, header=header)
        data_bytes = _with_extra_field(data_bytes, position)
    else:
        rows = [json.loads(line) for line in jsonl_bytes(case).decode().splitlines()]
        data_bytes = "".join(
            json.dumps({**r, again: r[twice]}, ensure_ascii=False) + "\n" for r in rows
        ).encode()
    name = f"{entity.name}.{fmt}"
    con = connect(":memory:")
    try:
        [summary] = ingest_files(con, tmp_path_factory.mktemp("dup"), {name: data_bytes}).values()
        assert summary.status == "failed"
        assert f"names column {twice} twice" in summary.error and "\n" not in summary.error
        assert "unexpected" not in summary.error
        assert "ingest_files" not in con.list_tables() or (
            con.table("ingest_files").count().to_pyarrow().as_py() == 0
        )
    finally:
        con.disconnect()


def _with_extra_field(data: bytes, position: int) -> bytes:
    """Each data line gets an empty field at ``position`` to match the longer header."""
    import csv
    import io

    rows = list(csv.reader(io.StringIO(data.decode())))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(rows[0])
    for row in rows[1:]:
        writer.writerow([*row[:position], "", *row[position:]])
    return buffer.getvalue().encode()


@HOSTILE
@given(
    st.lists(st.sampled_from(ALL_ENTITIES), min_size=2, max_size=9, unique_by=lambda e: e.name),
    st.lists(st.sampled_from(["", "\n", "  ", "\r\n\r\n", " \t\n"]), min_size=9, max_size=9),
    st.sampled_from([".csv", ".jsonl", ".parquet"]),
)
def test_each_empty_file_is_logged_under_its_own_entity(tmp_path_factory, entities, blanks, ext):
    folder = tmp_path_factory.mktemp("empty")
    files = {f"{e.name}_empty{ext}": blanks[i].encode() for i, e in enumerate(entities)}
    con = connect(":memory:")
    try:
        first = ingest_files(con, folder, files)
        again = ingest_files(con, folder, files)
        logged = con.table("ingest_files").to_pyarrow().to_pylist()
    finally:
        con.disconnect()
    for entity in entities:
        name = f"{entity.name}_empty{ext}"
        assert (first[name].status, first[name].entity, first[name].n_read) == (
            "loaded",
            entity.name,
            0,
        )
        assert (again[name].status, again[name].entity) == ("unchanged", entity.name)
    assert sorted((Path(r["path"]).name, r["entity"]) for r in logged) == sorted(
        (f"{e.name}_empty{ext}", e.name) for e in entities
    )


@pytest.mark.parametrize("entity", ALL_ENTITIES, ids=ENTITY_IDS)
@HOSTILE
@given(data=st.data())
def test_any_file_name_that_names_the_entity_loads(tmp_path_factory, entity, data):
    case = data.draw(cases(entity))
    fmt = data.draw(st.sampled_from(["csv", "jsonl", "parquet_text"]))
    extension = {"csv": ".csv", "jsonl": ".jsonl", "parquet_text": ".parquet"}[fmt]
    name = data.draw(file_names(entity)) + extension
    sub = data.draw(FOLDER_CHARS).strip() or "f"
    con = connect(":memory:")
    try:
        folder = tmp_path_factory.mktemp("names") / sub
        summaries = ingest_files(con, folder, {name: FORMATS[fmt](case)})
        assert_landed_as_expected(con, case, summaries[name])
        assert summaries[name].entity == entity.name
    finally:
        con.disconnect()


def test_the_truth_rule_is_in_the_data_contract():
    text = (Path(__file__).resolve().parents[2] / "docs" / "data-contract.md").read_text()
    assert "named **`truth`**" in text and "symbolic link" in text
    assert ENTITIES  # the contract module is importable beside the document


def test_the_command_line_shows_skipped_folders_in_the_table_and_in_json(tmp_path):
    folder = tmp_path / "in"
    (folder / "truth").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    (folder / "linked").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    (folder / "truth" / "customers.csv").write_text("customer_id\nC1\n")
    (folder / "orders.csv").write_text("")
    warehouse = str(tmp_path / "wh.duckdb")
    table = CliRunner().invoke(app, ["ingest", str(folder), "-w", warehouse])
    assert table.exit_code == 0, table.output  # skipping by rule is no failure
    assert table.output.count("skipped") >= 4  # two rows, two notes
    assert "named `truth`" in table.output and "symbolic link" in table.output
    again = CliRunner().invoke(app, ["ingest", str(folder), "--json", "-w", warehouse])
    summaries = {Path(s["path"]).name: s for s in json.loads(again.stdout)}
    assert summaries["truth"]["status"] == summaries["linked"]["status"] == "skipped"
    assert summaries["orders.csv"]["status"] == "unchanged"
