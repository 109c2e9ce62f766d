"""Generated source rows of every entity, written in every format, with the truth to check by.

A :class:`Case` is a list of source rows of one entity. Each cell holds the text written in
a text file (CSV, a JSON string, a Parquet text column), the typed value written in a typed
file (JSON numbers and booleans, Parquet typed columns) and the value the warehouse must
store, worked out here by plain Python (``datetime``, ``zoneinfo``, ``str.strip``), not by
the code under test. The documented normalisations are the only differences allowed:
values trimmed, null markers missing, vocabulary labels stored as ids, timestamps with an
offset converted to local time, fractions cut to the microsecond, a month alone its first day.
Each row also carries the quarantine reasons it must get; a row without one must load.

(Not in conftest.py: ``tests/conftest.py`` owns that module name on sys.path.)
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

from touchpoint.config import load_config
from touchpoint.contract import ENTITIES, Entity
from touchpoint.contract.entities import Column
from touchpoint.contract.formats import FALSE_WORDS, TRUE_WORDS

CONFIG = load_config()
ZONE = ZoneInfo(CONFIG.timezone)
FIRST_DAY = dt.date(1900, 1, 1)
LAST_DAY = dt.date(dt.date.today().year + 1, 12, 31)
NULL_MARKERS = {"", *CONFIG.ingest.null_values}
# Asia/Shanghai has had no daylight saving since 1991: every local time exists exactly once.
FIRST_MOMENT = dt.datetime(1992, 1, 1)
LAST_MOMENT = dt.datetime(LAST_DAY.year, 12, 31, 23, 59, 59, 999_999)

HOSTILE = settings(
    max_examples=int(os.environ.get("TP_HOSTILE_EXAMPLES", 2)),
    deadline=None,
    # The same examples on every run, so `make test` is repeatable; TP_HOSTILE_RANDOM=1 searches
    # new ones (what it finds is a defect to fix, and a case to pin).
    derandomize=not os.environ.get("TP_HOSTILE_RANDOM"),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    # TP_NO_SHRINK=1 reports the first failing example as found (checking old code fails).
    phases=[p for p in Phase if p != Phase.shrink or not os.environ.get("TP_NO_SHRINK")],
)
"""Each example ingests files (a third of a second each): two per entity and class keep the
suite to tens of seconds; ``TP_HOSTILE_EXAMPLES=50 TP_HOSTILE_RANDOM=1`` searches harder."""

HOSTILE_SLOW = settings(HOSTILE, max_examples=30)

# Text that survives every format unchanged but for trimming: letters, CJK, emoji, quotes,
# separators, backslashes, inner blanks. No control characters and no line breaks (the
# quoting class adds those), no lone surrogates (no encoding holds them).
TEXT_ALPHABET = st.sampled_from(
    list("abcXYZ019 -_.,;|\t'\"\\/#@%&*()[]{}<>=+?!~`^$")
    + list("客户资料投诉营业厅号码测试中文")
    + ["\u3000", "é", "ß", "🙂", "𠀀", "Ω"]
)
ID_ALPHABET = st.sampled_from(list("ABCxyz0123456789-_.") + list("客户号"))


@dataclass(frozen=True)
class Cell:
    """One source value: as text, as a typed value, and what the warehouse must store."""

    text: str | None  # None: no value at all (JSON null, Parquet null, empty CSV field)
    typed: object = None  # the value a typed file holds; None: write ``text`` instead
    stored: object = None  # what stg_<entity> must hold (None: null)


@dataclass
class Row:
    cells: dict[str, Cell]
    reasons: set[str] = field(default_factory=set)  # quarantine reasons the row must get


@dataclass
class Case:
    """Rows of one entity, and the columns to write (the contract's, in a drawn order)."""

    entity: Entity
    rows: list[Row]
    header: list[str]  # the names written in the header, in order

    def tagged(self, tag: str) -> Case:
        """The same rows with ``tag`` in every text key: files of one case never collide."""
        rows = []
        for row in self.rows:
            cells = dict(row.cells)
            for name in self.entity.key:
                cell = cells[name]
                if isinstance(cell.stored, str):
                    cells[name] = Cell(f"{tag}{cell.text.strip()}", None, f"{tag}{cell.stored}")
            rows.append(Row(cells, set(row.reasons)))
        return replace(self, rows=rows)

    @property
    def n_good(self) -> int:
        return sum(not r.reasons for r in self.rows)


# --- values of each type ---------------------------------------------------------------------


def _padded(draw, text: str) -> str:
    """``text`` with blanks around it sometimes (stored trimmed)."""
    left = draw(st.sampled_from(["", "", " ", "\t", "  "]))
    right = draw(st.sampled_from(["", "", " ", "  "]))
    return f"{left}{text}{right}"


def _free_text(draw, required: bool) -> Cell:
    text = draw(st.text(TEXT_ALPHABET, max_size=16))
    if required:
        text = "t" + text  # never blank, never a null marker
    written = _padded(draw, text) if text.strip() == text else text
    stored = written.strip()
    if stored in NULL_MARKERS:
        return Cell(written, None, None)
    return Cell(written, None, stored)


def _identifier(draw, column: Column, index: int) -> Cell:
    suffix = draw(st.text(ID_ALPHABET, max_size=6))
    value = f"{column.name[:2].upper()}{index}~{suffix}"
    return Cell(_padded(draw, value), None, value)


def _integer(draw, column: Column) -> Cell:
    low = int(column.min_value) if column.min_value is not None else -(10**12)
    high = int(column.max_value) if column.max_value is not None else 10**12
    value = draw(st.integers(low, high))
    text = draw(
        st.sampled_from([str(value), f"{value}.0", f"+{value}" if value >= 0 else str(value)])
    )
    return Cell(_padded(draw, text), value, value)


def _number(draw, column: Column) -> Cell:
    low = column.min_value if column.min_value is not None else -1e9
    value = draw(st.floats(low, 1e9, allow_nan=False, allow_infinity=False))
    text = draw(st.sampled_from([repr(value), f"{value:.17g}", f"{value:.17e}"]))
    return Cell(_padded(draw, text), value, float(text))


def _boolean(draw) -> Cell:
    word = draw(st.sampled_from(TRUE_WORDS + FALSE_WORDS))
    written = draw(st.sampled_from([word, word.upper(), word.capitalize()]))
    value = word in TRUE_WORDS
    return Cell(_padded(draw, written), value, value)


def _vocabulary(draw, column: Column) -> Cell:
    entries = (
        CONFIG.channels if column.vocabulary == "channel" else CONFIG.vocabulary(column.vocabulary)
    )
    entry = draw(st.sampled_from(list(entries)))
    label = draw(st.sampled_from([entry.id, entry.name_en, entry.name_zh, *entry.aliases]))
    written = draw(st.sampled_from([label, label.upper(), label.lower()]))
    if written.strip().casefold() != label.strip().casefold():
        written = label  # a case change that changes more than case (e.g. "ß")
    return Cell(_padded(draw, written), None, entry.id)


_DATE_FORMS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y-%m-%d 00:00:00")
_MONTH_FORMS = ("%Y-%m", "%Y/%m", "%Y%m")


def _date(draw, *, low: dt.date = FIRST_DAY, high: dt.date = LAST_DAY) -> Cell:
    day = draw(st.dates(low, high))
    if draw(st.booleans()):
        form = draw(st.sampled_from(_DATE_FORMS))
    else:
        day, form = day.replace(day=1), draw(st.sampled_from(_MONTH_FORMS))
    return Cell(_padded(draw, day.strftime(form)), day, day)


_STAMP_FORMS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y/%m/%d %H:%M:%S",
    "%Y%m%d%H%M%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%Y/%m/%d %H:%M",
)


@dataclass(frozen=True)
class StampStyle:
    """How a column writes its timestamps: one layout, offset and fraction, or each row its own.

    Real exports use one layout per column; hostile ones mix. Both are drawn.
    """

    form: str | None = None  # None: each row draws its own
    offset: str | None = None  # "naive", "z", "colon", "compact", "hours"; None: each row
    digits: int | None = None  # 0: whole seconds; None: each row
    padded: bool = True


@st.composite
def stamp_styles(draw) -> StampStyle:
    if draw(st.booleans()):
        return StampStyle()
    return StampStyle(
        draw(st.sampled_from(_STAMP_FORMS)),
        draw(st.sampled_from(_OFFSET_KINDS)),
        draw(st.sampled_from([0, 0, 1, 3, 6, 9])),
        padded=False,
    )


_OFFSET_KINDS = ("naive", "naive", "z", "colon", "compact", "hours")


def _offset(draw, kind: str) -> tuple[str, dt.tzinfo] | None:
    """``None`` (a naive value) or an offset as written and as a zone: Z, +08:00, +0800, +08."""
    if kind == "naive":
        return None
    if kind == "z":
        return draw(st.sampled_from(["Z", "z"])), dt.UTC
    minutes = draw(st.sampled_from([480, 0, -300, 330]) | st.integers(-12 * 60, 14 * 60))
    if kind == "hours":
        minutes -= minutes % 60
    sign = "-" if minutes < 0 else "+"
    hh, mm = divmod(abs(minutes), 60)
    text = {"colon": f"{sign}{hh:02d}:{mm:02d}", "compact": f"{sign}{hh:02d}{mm:02d}"}.get(
        kind, f"{sign}{hh:02d}"
    )
    return text, dt.timezone(dt.timedelta(minutes=minutes))


def stamp_text(
    draw, local: dt.datetime, style: StampStyle = StampStyle()
) -> tuple[str, dt.datetime]:
    """``local`` (operator time) written as ``style`` says; and what must be stored for it."""
    form = style.form or draw(st.sampled_from(_STAMP_FORMS))
    if "%S" not in form:
        local = local.replace(second=0, microsecond=0)
    offset = _offset(draw, style.offset or draw(st.sampled_from(_OFFSET_KINDS)))
    wall = local if offset is None else local.replace(tzinfo=ZONE).astimezone(offset[1])
    text = wall.strftime(form)
    digits = style.digits if style.digits is not None else draw(st.sampled_from([0, 0, 1, 3, 6, 9]))
    if "%S" in form and digits:  # a fraction of 1 to 9 digits, cut to microseconds
        fraction = f"{wall.microsecond:06d}{draw(st.text('0123456789', min_size=3, max_size=3))}"
        text += "." + fraction[:digits]
        stored = local.replace(microsecond=int(fraction[:digits][:6].ljust(6, "0")))
    else:
        stored = local.replace(microsecond=0)
    if offset is not None:
        text += offset[0]
    return text, stored


def _timestamp(draw, style: StampStyle, *, after: dt.datetime | None = None) -> Cell:
    if after is None:
        local = draw(st.datetimes(FIRST_MOMENT, LAST_MOMENT - dt.timedelta(days=30)))
    else:
        local = after + draw(st.timedeltas(dt.timedelta(0), dt.timedelta(days=3)))
    text, stored = stamp_text(draw, local, style)
    return Cell(_padded(draw, text) if style.padded else text, stored, stored)


# --- rows and cases -------------------------------------------------------------------------


def _good_cell(
    draw,
    entity: Entity,
    column: Column,
    index: int,
    cells: dict[str, Cell],
    style: StampStyle,
) -> Cell:
    if column.pii:  # phone numbers belong to the PII suite (tests/ingest/test_ingest_pii.py)
        return Cell(None)
    if not column.required and draw(st.integers(0, 4)) == 0:
        return Cell(draw(st.sampled_from(sorted(NULL_MARKERS) + [None, "  "])))
    if column.vocabulary:
        return _vocabulary(draw, column)
    if column.dtype == "string":
        if column.name in entity.key or column.name.endswith("_id"):
            return _identifier(draw, column, index)
        return _free_text(draw, column.required)
    if column.dtype == "int64":
        return _integer(draw, column)
    if column.dtype == "float64":
        return _number(draw, column)
    if column.dtype == "boolean":
        return _boolean(draw)
    earlier = next((c.earlier for c in entity.order_checks if c.later == column.name), None)
    before = cells.get(earlier) if earlier else None
    if column.dtype == "date":
        low = before.stored if before is not None and before.stored else FIRST_DAY
        return _date(draw, low=low)
    after = before.stored if before is not None and before.stored else None
    return _timestamp(draw, style, after=after)


def expected_reasons(entity: Entity, cells: dict[str, Cell]) -> set[str]:
    """The order checks a row fails, from the stored values worked out above."""
    reasons = set()
    for check in entity.order_checks:
        a, b = cells[check.earlier].stored, cells[check.later].stored
        if a is not None and b is not None and b < a:
            reasons.add(check.reason)
    return reasons


@st.composite
def good_rows(draw, entity: Entity, *, min_size: int = 1, max_size: int = 8) -> list[Row]:
    """Rows every value of which is valid (an order check may still fail after rounding)."""
    n = draw(st.integers(min_size, max_size))
    styles = {c.name: draw(stamp_styles()) for c in entity.columns if c.dtype == "timestamp"}
    rows = []
    for i in range(n):
        cells: dict[str, Cell] = {}
        for column in entity.columns:
            style = styles.get(column.name, StampStyle())
            cells[column.name] = _good_cell(draw, entity, column, i, cells, style)
        rows.append(Row(cells, expected_reasons(entity, cells)))
    return rows


@st.composite
def cases(draw, entity: Entity, *, min_size: int = 1, max_size: int = 8) -> Case:
    rows = draw(good_rows(entity, min_size=min_size, max_size=max_size))
    header = draw(st.permutations([c.name for c in entity.columns]))
    return Case(entity, rows, list(header))


# --- writing files ----------------------------------------------------------------------------


def csv_bytes(
    case: Case,
    *,
    encoding: str = "utf-8",
    delimiter: str = ",",
    newline: str = "\n",
    header: list[str] | None = None,
) -> bytes:
    """The case as CSV (RFC 4180 quoting: a value with the delimiter, a quote or a break)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=newline)
    writer.writerow(header or case.header)
    for row in case.rows:
        writer.writerow([row.cells[name].text or "" for name in case.header])
    return buffer.getvalue().encode(encoding)


def jsonl_bytes(case: Case, *, typed: bool = False, ensure_ascii: bool = False) -> bytes:
    """One JSON object per line; ``typed``: numbers and booleans as JSON numbers and booleans."""
    lines = []
    for row in case.rows:
        record = {}
        for name in case.header:
            cell = row.cells[name]
            column = case.entity.column(name)
            native = (
                typed and column.dtype in ("int64", "float64", "boolean") and cell.typed is not None
            )
            record[name] = cell.typed if native else cell.text
        lines.append(json.dumps(record, ensure_ascii=ensure_ascii))
    return ("\n".join(lines) + "\n").encode("utf-8")


_ARROW = {
    "int64": pa.int64(),
    "float64": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
}


def parquet_bytes(case: Case, *, typed: bool = False, zone: str | None = None) -> bytes:
    """The case as Parquet: text columns, or typed ones (timestamps naive local or in ``zone``)."""
    columns = {}
    for name in case.header:
        column = case.entity.column(name)
        cells = [row.cells[name] for row in case.rows]
        if typed and column.dtype in _ARROW:
            columns[name] = pa.array([c.typed for c in cells], _ARROW[column.dtype])
        elif typed and column.dtype == "timestamp":
            values = [c.typed for c in cells]
            if zone is None:
                columns[name] = pa.array(values, pa.timestamp("us"))
            else:
                aware = [None if v is None else v.replace(tzinfo=ZONE) for v in values]
                columns[name] = pa.array(aware, pa.timestamp("us", tz=zone))
        else:
            columns[name] = pa.array([c.text for c in cells], pa.string())
    buffer = io.BytesIO()
    pq.write_table(pa.table(columns), buffer)
    return buffer.getvalue()


FORMATS = {
    "csv": lambda case: csv_bytes(case),
    "jsonl": lambda case: jsonl_bytes(case),
    "jsonl_typed": lambda case: jsonl_bytes(case, typed=True, ensure_ascii=True),
    "parquet_text": lambda case: parquet_bytes(case),
    "parquet_typed": lambda case: parquet_bytes(case, typed=True),
    "parquet_utc": lambda case: parquet_bytes(case, typed=True, zone="UTC"),
}
EXTENSIONS = {"csv": ".csv", "jsonl": ".jsonl", "jsonl_typed": ".jsonl"}


def file_name(entity: Entity, fmt: str, tag: str = "") -> str:
    return f"{entity.name}_{fmt}{tag}{EXTENSIONS.get(fmt, '.parquet')}"


# --- checking what landed ---------------------------------------------------------------------


def stored_rows(con, entity: Entity, file_id: str) -> list[dict]:
    table = con.table(entity.table)
    table = table.filter(table._file_id == file_id).order_by("_row")
    return table.to_pyarrow().to_pylist()


def quarantined(con, file_id: str) -> dict[int, set[str]]:
    table = con.table("ingest_quarantine")
    rows = table.filter(table.file_id == file_id).to_pyarrow().to_pylist()
    found: dict[int, set[str]] = {}
    for r in rows:
        found.setdefault(r["row"], set()).add(r["reason"])
    return found


def assert_landed_as_expected(con, case: Case, summary) -> None:
    """read = loaded + quarantined against the generated count; every stored value as expected."""
    where = f"{summary.path}"
    assert summary.status == "loaded", f"{where}: {summary.status} {summary.error}"
    n = len(case.rows)
    bad = {i for i, row in enumerate(case.rows, 1) if row.reasons}
    assert summary.n_read == n, f"{where}: read {summary.n_read}, the file has {n} rows"
    assert (summary.n_loaded, summary.n_quarantined) == (n - len(bad), len(bad)), where
    held = quarantined(con, summary.file_id)
    assert set(held) == bad, f"{where}: quarantined rows {sorted(held)}, expected {sorted(bad)}"
    for row_number in bad:
        missing = case.rows[row_number - 1].reasons - held[row_number]
        assert not missing, f"{where} row {row_number}: no {missing} among {held[row_number]}"
    stored = stored_rows(con, case.entity, summary.file_id)
    assert [r["_row"] for r in stored] == [i for i in range(1, n + 1) if i not in bad], where
    for got in stored:
        row = case.rows[got["_row"] - 1]
        for column in case.entity.columns:
            if column.pii:
                continue
            want = row.cells[column.name].stored
            have = got[column.stored_name]
            assert have == want and type(have) is type(want) or (have is None and want is None), (
                f"{where} row {got['_row']} {column.name}: stored {have!r}, source "
                f"{row.cells[column.name].text!r} must give {want!r}"
            )


def ingest_files(con, folder: Path, files: dict[str, bytes], **options):
    """Write ``files`` (name -> bytes) into ``folder`` and ingest them; summaries by name."""
    from touchpoint.ingest import ingest

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, data in files.items():
        path = folder / name
        path.write_bytes(data)
        paths.append(path)
    summaries = ingest(con, paths, config=CONFIG, **options)
    return {Path(s.path).name: s for s in summaries}


ALL_ENTITIES = list(ENTITIES.values())
ENTITY_IDS = [e.name for e in ALL_ENTITIES]
