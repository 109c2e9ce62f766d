"""One broken row never takes a card or the report down (issue 11, item 3b).

A customer whose join date is in year 0 (DuckDB stores it; Python's dates start in year 1),
whose ARPU is 10^300 yuan, whose cost to serve is NaN and whose net contribution is infinite:
the card and the report's "Data loaded" and "Customers" sections still render, and show
those values as invalid ("invalid" / "无效"), while every other figure stays as it was.
"""

from __future__ import annotations

import json
import re

import pyarrow as pa
import pytest
from customers_samples import tiny_world
from typer.testing import CliRunner

from touchpoint.cli import app
from touchpoint.config import load_config
from touchpoint.customers import build
from touchpoint.report import render_report
from touchpoint.report.sections import SECTIONS
from touchpoint.warehouse import connect, write_table

runner = CliRunner(env={"COLUMNS": "160"})
BROKEN = {
    "join_date": "DATE '0000-01-01'",
    "arpu_yuan": "1e300",
    "cost_to_serve_yuan": "'nan'::DOUBLE",
    "net_contribution_yuan": "'inf'::DOUBLE",
}


@pytest.fixture(scope="module")
def broken_warehouse(tmp_path_factory):
    path = tmp_path_factory.mktemp("broken") / "w.duckdb"
    con = connect(path)
    tables = tiny_world()
    for name, table in tables.items():
        write_table(con, name, table.to_pyarrow())
    for name, expr in build({n: con.table(n) for n in tables}, load_config()).items():
        write_table(con, name, expr)
    ingest_files = pa.table({"n_read": [3], "n_loaded": [3], "n_quarantined": [0]})
    write_table(con, "ingest_files", ingest_files)
    settings = ", ".join(f"{column} = {value}" for column, value in BROKEN.items())
    con.raw_sql(f"UPDATE mart_customer_360 SET {settings} WHERE customer_id = 'u1'")
    con.raw_sql("UPDATE stg_customers SET join_date = DATE '0000-01-01' WHERE customer_id = 'u1'")
    # A customer without a bill: no contribution tier (shown as "no bill").
    con.raw_sql("UPDATE mart_customer_360 SET contribution_tier = NULL WHERE customer_id = 'u2'")
    con.disconnect()
    return str(path)


def _card(warehouse: str, *args: str):
    result = runner.invoke(app, ["customer", "u1", "-w", warehouse, *args])
    assert result.exit_code == 0, result.output
    assert result.exception is None
    return result.output


def test_the_card_shows_broken_values_as_invalid(broken_warehouse):
    text = _card(broken_warehouse)
    lines = {line.split("  ")[0].strip("│ "): line for line in text.splitlines()}
    for label in ("Joined", "ARPU (yuan)", "Cost to serve (yuan)", "Net contribution (yuan)"):
        assert "invalid" in lines[label], (label, lines[label])
    assert "Gold VIP" in text  # the rest of the card is as before
    assert "无效" in _card(broken_warehouse, "--lang", "zh")


def test_the_card_json_carries_null_for_what_cannot_be_shown(broken_warehouse):
    card = json.loads(_card(broken_warehouse, "--json"))
    profile, value = card["profile"], card["value"]["latest"]
    assert profile["join_date"] is None
    assert value["cost_to_serve_yuan"] is None and value["net_contribution_yuan"] is None
    assert value["arpu_yuan"] == 1e300  # a number JSON can carry; the terminal says invalid
    assert profile["brand"] == "gotone"


@pytest.mark.parametrize(("lang", "invalid"), [("en", "invalid"), ("zh", "无效")])
def test_the_report_renders_and_marks_the_broken_values(broken_warehouse, lang, invalid):
    con = connect(broken_warehouse, read_only=True)
    try:
        sections = [s for s in SECTIONS if s.id in ("data", "customers")]
        html = render_report(con, load_config(), lang=lang, sections=sections)
    finally:
        con.disconnect()
    data = html[html.index('id="data"') : html.index('id="customers"')]
    customers = html[html.index('id="customers"') :]
    # Data loaded: the customers' first join date is the year-0 one.
    assert f'<td class="txt">{invalid}</td>' in data
    # Customers: the mean ARPU (10^300 / 3) and the tier's summed net contribution (inf).
    assert customers.count(invalid) >= 2
    assert "section_failed" not in html and "Not shown" not in html and "未显示" not in html
    # The tier column names tiers as people count them: "1", never "1.0" or "nan".
    tiers = re.findall(r'<tr><td class="txt">([^<]*)</td>', customers)
    assert all(t.isdigit() or t in ("no bill", "无账单") for t in tiers), tiers
    assert {"no bill", "无账单"} & set(tiers) and any(t.isdigit() for t in tiers), tiers
