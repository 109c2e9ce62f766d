"""A quote opened and never closed costs its own row, never the rows after it (issue 11, item 1).

Whatever the CSV parser does with such a quote (it reads every later line into one value),
the records read are checked against the file's own line breaks and quotes, so the broken
row is quarantined on its own line and every later row is loaded as written.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ingest_samples import CONTACT_COLUMNS, CONTACT_HEADER, contact, problems, staged
from test_ingest_properties import _quoted, plain_text

from touchpoint.ingest import ingest
from touchpoint.warehouse import connect

EXAMPLES = settings(
    max_examples=int(__import__("os").environ.get("TP_EXAMPLES", 40)),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
_BREAK = re.compile(r"\r\n|\r|\n")


def _ingest(text: str, name: str = "contacts.csv"):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_text(text, encoding="utf-8")
        con = connect(":memory:")
        [summary] = ingest(con, [path], encoding="utf-8")  # counting, not detection
        found = problems(con), [r["contact_id"] for r in staged(con, "contacts")]
        con.disconnect()
    return summary, *found


def test_the_issue_example_a_survey_reply_opened_and_never_closed(tmp_path):
    header = "survey_id,customer_id,contact_id,survey_channel,sent_at,replied_at,reply_text"
    rows = [
        f"S{i},C{i},K{i},sms,2026-03-01 08:00:00,2026-03-01 09:00:00,{text}"
        for i, text in enumerate(['"unclosed', "fine", "good", "ok"], start=1)
    ]
    path = tmp_path / "surveys.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    con = connect(":memory:")
    [summary] = ingest(con, [path])
    assert (summary.n_read, summary.n_loaded, summary.n_quarantined) == (4, 3, 1)
    assert problems(con) == [(1, 2, None, "malformed_row")]
    assert [r["survey_id"] for r in staged(con, "surveys")] == ["S2", "S3", "S4"]
    assert [r["reply_text"] for r in staged(con, "surveys")] == ["fine", "good", "ok"]


@st.composite
def file_with_an_unclosed_quote(draw):
    """Rows (some with quoted commas, quotes and line breaks), one row whose field opens a
    quote it never closes, then rows without quotes; the broken row's index and line."""
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    before = []
    for i in range(draw(st.integers(0, 6))):
        if draw(st.booleans()):
            fields = contact(f"K{i}").split(",")
            fields[7] = draw(st.text(max_size=15))  # region: anything, quoted as needed
            before.append(_quoted(fields))
        else:
            before.append(contact(f"K{i}", region=draw(plain_text)))
    broken_at = len(before)
    column = draw(st.sampled_from(CONTACT_COLUMNS))
    fields = contact(f"K{broken_at}").split(",")
    fields[CONTACT_COLUMNS.index(column)] = '"' + draw(plain_text)
    broken = ",".join(fields)
    after = [
        contact(f"K{i}", region=draw(plain_text))
        for i in range(broken_at + 1, broken_at + 1 + draw(st.integers(0, 6)))
    ]
    head = newline.join([CONTACT_HEADER, *before]) + newline
    line = len(_BREAK.findall(head)) + 1
    text = head + newline.join([broken, *after]) + draw(st.sampled_from(["", newline]))
    return text, broken_at, line, 1 + len(before) + len(after)


@EXAMPLES
@given(file_with_an_unclosed_quote())
def test_a_quote_never_closed_is_one_malformed_row_in_any_column(case):
    text, broken_at, line, n_rows = case
    summary, found, loaded = _ingest(text)
    assert summary.status == "loaded", summary.error
    assert (summary.n_read, summary.n_loaded, summary.n_quarantined) == (n_rows, n_rows - 1, 1)
    assert found == [(broken_at + 1, line, None, "malformed_row")]
    assert loaded == [f"K{i}" for i in range(n_rows) if i != broken_at]
