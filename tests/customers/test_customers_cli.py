"""`touchpoint customer` on a warehouse built from the tiny hand-made world."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest
from customers_samples import tiny_world
from typer.testing import CliRunner

from touchpoint.cli import app, main
from touchpoint.cli.customer_cmd import CARD_SECTIONS, CardSection
from touchpoint.config import load_config
from touchpoint.customers import build
from touchpoint.ingest import msisdn_lookup_hash
from touchpoint.warehouse import connect, write_table

runner = CliRunner(env={"COLUMNS": "160"})
PHONE = "138 0013 8000"


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TOUCHPOINT_PII_KEY", "k" * 40)
        yield _build_warehouse(tiny_world(), tmp_path_factory.mktemp("card") / "w.duckdb")


def _build_warehouse(tiny_tables, path):
    con = connect(path)
    customers = tiny_tables["stg_customers"].to_pyarrow()
    hashes = [
        msisdn_lookup_hash(con, PHONE) if c == "u1" else None
        for c in customers["customer_id"].to_pylist()
    ]
    customers = customers.set_column(
        customers.schema.get_field_index("msisdn_hash"),
        "msisdn_hash",
        pa.array(hashes, pa.string()),
    )
    tables = {**tiny_tables, "stg_customers": customers}
    for name, table in tables.items():
        write_table(con, name, table if isinstance(table, pa.Table) else table.to_pyarrow())
    for name, expr in build({n: con.table(n) for n in tables}, load_config()).items():
        write_table(con, name, expr)
    con.disconnect()
    return str(path)


def test_card_as_json(warehouse):
    result = runner.invoke(app, ["customer", "u1", "-w", warehouse, "--json"])
    assert result.exit_code == 0, result.output
    card = json.loads(result.output)
    assert card["customer_id"] == "u1"
    assert card["profile"]["month"] == "2026-03-01"
    assert card["profile"]["flags"] == ["is_group_key_person", "is_identity_customer"]
    assert card["value"]["latest"]["net_contribution_yuan"] == pytest.approx(123.212)
    assert [h["month"] for h in card["value"]["history"]] == [
        "2026-03-01",
        "2026-02-01",
        "2026-01-01",
    ]
    web = next(c for c in card["channels"] if c["channel"] == "web")
    assert (web["n_contacts_3m"], web["n_payments_3m"], web["level"]) == (1, 2, 3)
    assert card["preferences"][0] == {
        "business": "payment",
        "channel": "web",
        "n_contacts_window": 2,
        "share_window": pytest.approx(0.6667),
        "level": 2,
    }
    assert [c["channel"] for c in card["recent_contacts"]] == ["store", "agent", "ivr", "web"]
    assert card["satisfaction"]["satisfaction_score_3m"] == 0.5


def test_card_by_phone_in_chinese(warehouse):
    result = runner.invoke(
        app, ["customer", "--phone", "+86 138-0013-8000", "-w", warehouse, "--lang", "zh"]
    )
    assert result.exit_code == 0, result.output
    for text in ("基本信息", "渠道偏好等级", "网上营业厅", "集团关键人", "u1"):
        assert text in result.output


def test_sections_can_be_appended(warehouse, monkeypatch):
    extra = CardSection(
        "tags", lambda ctx: [f"tag for {ctx.customer_id}"], lambda data, ctx: data[0]
    )
    monkeypatch.setattr("touchpoint.cli.customer_cmd.CARD_SECTIONS", [*CARD_SECTIONS, extra])
    result = runner.invoke(app, ["customer", "u1", "-w", warehouse, "--json"])
    assert json.loads(result.output)["tags"] == ["tag for u1"]
    result = runner.invoke(app, ["customer", "u1", "-w", warehouse])
    assert "tag for u1" in result.output


def test_unknown_customer_is_one_line(warehouse, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["customer", "nobody", "-w", warehouse])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "no customer 'nobody'" in err and "Traceback" not in err
    with pytest.raises(SystemExit):
        main(["customer", "--phone", "139 0000 0000", "-w", warehouse])
    assert "139****0000" in capsys.readouterr().err
