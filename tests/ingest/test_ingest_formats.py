"""Encodings, file formats, folders and entity recognition."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from ingest_samples import CONTACT_HEADER, contact, csv_text, problems, staged

from touchpoint.errors import SchemaError
from touchpoint.ingest import detect_entity, ingest

CHINESE_CONTACTS = csv_text(
    CONTACT_HEADER,
    contact("K1", channel="热线人工", business="缴费", outcome="已解决", region="广州"),
    contact("K2", channel="营业厅", business="套餐变更", outcome="未解决", region="深圳"),
    contact("K3", channel="掌厅", business="流量包", outcome="转人工", region="佛山"),
    contact("K4", channel="传真", business="缴费", outcome="已解决", region="广州"),
)


@pytest.mark.parametrize("encoding", ["gbk", "gb18030"])
def test_chinese_csv_in_gbk_and_gb18030_maps_vocabulary_to_ids(con, write, encoding):
    path = write("接触_202603.csv", CHINESE_CONTACTS, encoding=encoding)
    assert "热线人工".encode(encoding) in path.read_bytes()  # really not UTF-8
    [summary] = ingest(con, [path])
    assert summary.entity == "contacts" and summary.encoding == "gb18030"
    rows = staged(con, "contacts")
    assert [(r["channel"], r["business"], r["outcome"], r["region"]) for r in rows] == [
        ("agent", "payment", "resolved", "广州"),
        ("store", "plan_change", "unresolved", "深圳"),
        ("app", "data_package", "transferred", "佛山"),
    ]
    [row] = con.table("ingest_quarantine").to_pyarrow().to_pylist()
    assert (row["row"], row["column"], row["reason"], row["value"]) == (
        4,
        "channel",
        "not_in_vocabulary",
        "传真",
    )


def test_forced_encoding_is_used(con, write):
    path = write("contacts.csv", CHINESE_CONTACTS, encoding="gbk")
    [summary] = ingest(con, [path], encoding="GBK")
    assert summary.encoding == "gbk" and summary.n_loaded == 3


def test_utf8_with_byte_order_mark_and_semicolons(con, write):
    text = "\ufeff" + csv_text(CONTACT_HEADER, contact("K1", channel="热线人工")).replace(",", ";")
    [summary] = ingest(con, [write("contacts.csv", text)])
    assert (summary.n_loaded, summary.encoding) == (1, "utf-8")
    assert staged(con, "contacts")[0]["channel"] == "agent"


def test_parquet_with_typed_columns_and_zoned_timestamps(con, write, tmp_path):
    shanghai_8am = dt.datetime(2026, 3, 1, 0, 0, tzinfo=dt.UTC)
    table = pa.table(
        {
            "payment_id": ["P1", "P2", "P3"],
            "customer_id": ["C1", "C2", "C3"],
            "paid_at": pa.array([shanghai_8am] * 3, pa.timestamp("ns", tz="UTC")),
            "channel": pa.array(["kiosk", "短信", "fax"]).dictionary_encode(),
            "amount_yuan": pa.array([50, -1, 20], pa.int32()),
        }
    )
    path = tmp_path / "payments.parquet"
    pq.write_table(table, path)
    [summary] = ingest(con, [path])
    assert (summary.n_read, summary.n_loaded, summary.file_format) == (3, 1, "parquet")
    assert problems(con) == [
        (2, None, "amount_yuan", "below_min"),
        (3, None, "channel", "not_in_vocabulary"),
    ]
    [row] = staged(con, "payments")
    assert row == {
        "payment_id": "P1",
        "customer_id": "C1",
        "paid_at": dt.datetime(2026, 3, 1, 8, 0),
        "channel": "kiosk",
        "amount_yuan": 50.0,
    }


def test_json_lines_with_mixed_types_and_broken_lines(con, write):
    lines = [
        {
            "order_id": "O1",
            "customer_id": "C1",
            "ordered_at": "2026-03-01 08:00:00",
            "action": "订购",
            "product_id": "D1",
            "channel": "app",
        },
        {
            "order_id": 2,
            "customer_id": "C1",
            "ordered_at": "2026-03-01 08:00:00",
            "action": "unsubscribe",
            "product_id": "D1",
            "channel": "web",
        },
    ]
    text = "\n".join(json.dumps(line, ensure_ascii=False) for line in lines)
    text += '\n{"order_id": "O3", broken\n\n[1, 2]\n'
    text += (
        json.dumps(
            {
                "order_id": "O4",
                "customer_id": "C1",
                "ordered_at": "soon",
                "action": "subscribe",
                "product_id": "D1",
                "channel": "web",
            }
        )
        + "\n"
    )
    [summary] = ingest(con, [write("orders.jsonl", text)])
    assert (summary.n_read, summary.n_loaded, summary.n_quarantined) == (5, 2, 3)
    assert problems(con) == [
        (3, None, None, "malformed_row"),
        (4, None, None, "malformed_row"),
        (5, None, "ordered_at", "bad_type"),
    ]
    assert [(r["order_id"], r["action"]) for r in staged(con, "orders")] == [
        ("O1", "subscribe"),
        ("2", "unsubscribe"),
    ]


def test_json_lines_with_lone_surrogate_escapes_and_empty_objects(con, write):
    text = '{"order_id": "O1\\ud800"}\n{}\n'
    [summary] = ingest(con, [write("orders.jsonl", text)])
    assert (summary.status, summary.n_read, summary.n_quarantined) == ("loaded", 2, 2)
    assert "missing_column" in summary.quarantined_by_reason


def test_well_typed_json_lines_use_the_fast_reader(con, write):
    records = [
        {"bill_month": "2026-03-01", "customer_id": f"C{i}", "arpu_yuan": 10.5 + i, "sms_count": i}
        for i in range(3)
    ]
    path = write("bills.jsonl", "\n".join(json.dumps(r) for r in records) + "\n")
    [summary] = ingest(con, [path])
    assert summary.n_loaded == 3
    assert [(r["arpu_yuan"], r["sms_count"]) for r in staged(con, "bills")] == [
        (10.5, 0),
        (11.5, 1),
        (12.5, 2),
    ]


def test_a_quoted_value_may_hold_commas_quotes_and_line_breaks(con, write):
    header = "survey_id,customer_id,contact_id,survey_channel,sent_at,replied_at,reply_text"
    text = csv_text(
        header,
        'S1,C1,K1,sms,2026-03-01 08:00:00,2026-03-01 08:01:00,"不满意,太慢"',
        'S2,C1,K1,sms,2026-03-01 08:00:00,2026-03-01 08:01:00,"line one\nline ""two"""',
        "S3,C1,K1,ivr,2026-03-01 08:00:00,,",
        "S4,C1,K1,ivr,2026-03-01 08:00:00,2026-03-01 07:00:00,1",
    )
    [summary] = ingest(con, [write("surveys.csv", text)])
    assert [r["reply_text"] for r in staged(con, "surveys")] == [
        "不满意,太慢",
        'line one\nline "two"',
        None,
    ]
    # The fourth row starts on line 6 because the second one spans two lines.
    assert problems(con) == [(4, 6, "replied_at", "reply_before_sent")]
    assert summary.n_read == 4


def test_a_stray_quote_costs_only_its_own_line(con, write):
    text = csv_text(
        CONTACT_HEADER, contact("K1"), contact("K2", region='"gz'), contact("K3"), contact("K4")
    )
    [summary] = ingest(con, [write("contacts.csv", text)])
    assert problems(con) == [(2, 3, None, "malformed_row")]
    assert [r["contact_id"] for r in staged(con, "contacts")] == ["K1", "K3", "K4"]
    assert (summary.n_read, summary.n_loaded, summary.n_quarantined) == (4, 3, 1)


def test_a_folder_mixing_good_and_bad_files(con, write, tmp_path):
    write(
        "in/contacts_2026-03.csv",
        csv_text(CONTACT_HEADER, contact("K1"), contact("K2", outcome="?")),
    )
    write(
        "in/sub/payments.csv",
        csv_text(
            "payment_id,customer_id,paid_at,channel,amount_yuan", "P1,C1,2026-03-01 08:00:00,web,5"
        ),
    )
    write("in/notes.csv", "whatever\n1\n")  # no entity in its name
    write("in/contacts_broken.parquet", b"not parquet at all")
    write("in/README.md", "ignored: not a data file")
    write("in/.hidden.csv", "ignored: hidden")
    write("in/truth/customers.csv", "ignored: the simulator's ground truth\n")
    summaries = ingest(con, [tmp_path / "in"])
    by_name = {s.path.rsplit("/", 1)[-1]: s for s in summaries}
    assert sorted(by_name) == [
        "contacts_2026-03.csv",
        "contacts_broken.parquet",
        "notes.csv",
        "payments.csv",
        "truth",
    ]
    assert by_name["truth"].status == "skipped" and "truth" in by_name["truth"].message
    assert by_name["contacts_2026-03.csv"].status == "loaded"
    assert by_name["payments.csv"].status == "loaded"
    assert by_name["notes.csv"].status == "failed"
    assert "customers, bills, contacts" in by_name["notes.csv"].error
    assert by_name["contacts_broken.parquet"].status == "failed"
    assert "Parquet" in by_name["contacts_broken.parquet"].error
    assert problems(con) == [(2, 3, "outcome", "not_in_vocabulary")]
    again = ingest(con, [tmp_path / "in"])
    assert [s.status for s in again if s.status not in ("failed", "skipped")] == [
        "unchanged",
        "unchanged",
    ]
    assert con.table("stg_contacts").count().to_pyarrow().as_py() == 1


def test_progress_is_reported_in_bytes_up_to_the_total(con, write, tmp_path):
    write("in/contacts_a.csv", csv_text(CONTACT_HEADER, contact("K1")))
    write("in/contacts_b.csv", csv_text(CONTACT_HEADER, contact("K2"), contact("K3")))
    calls = []
    ingest(con, [tmp_path / "in"], on_progress=lambda *args: calls.append(args))
    total = sum(p.stat().st_size for p in (tmp_path / "in").iterdir())
    assert {t for _, _, t in calls} == {total}
    completed = [c for _, c, _ in calls]
    assert completed == sorted(completed) and completed[-1] == total
    assert any("contacts_b.csv (2/2)" in description for description, _, _ in calls)


def test_entity_option_overrides_the_file_name(con, write):
    path = write("export_0001.csv", csv_text(CONTACT_HEADER, contact("K1")))
    [failed] = ingest(con, [path])
    assert failed.status == "failed" and failed.entity is None
    [summary] = ingest(con, [path], entity="contacts")
    assert summary.status == "loaded" and summary.entity == "contacts"


def test_empty_and_header_only_files_load_nothing_and_fail_nothing(con, write):
    empty, header_only = write("contacts_a.csv", ""), write("contacts_b.csv", CONTACT_HEADER + "\n")
    summaries = ingest(con, [empty, header_only])
    assert [(s.status, s.n_read, s.n_loaded, s.n_quarantined) for s in summaries] == [
        ("loaded", 0, 0, 0),
        ("loaded", 0, 0, 0),
    ]
    assert con.table("stg_contacts").count().to_pyarrow().as_py() == 0


@pytest.mark.parametrize(
    ("name", "entity"),
    [
        ("contacts_2026-03.csv", "contacts"),
        ("gd-contacts.parquet", "contacts"),
        ("客户资料.csv", "customers"),
        ("客户资料_202603.csv", "customers"),
        ("IVR日志20260301.csv", "ivr_events"),
        ("exports/ivr_events_part1.jsonl", "ivr_events"),
        ("contacts/part-0001.parquet", "contacts"),
        ("campaign_responses.csv", "campaign_responses"),
    ],
)
def test_detect_entity_from_names(name, entity):
    assert detect_entity(name) == entity


@pytest.mark.parametrize("name", ["mycontacts.csv", "客户投诉.csv", "notes.csv"])
def test_detect_entity_refuses_names_it_cannot_tell(name):
    with pytest.raises(SchemaError, match="customers, bills, contacts"):
        detect_entity(name)


def test_detect_entity_refuses_ambiguous_names():
    with pytest.raises(SchemaError, match="several entities"):
        detect_entity("customers_contacts.csv")
