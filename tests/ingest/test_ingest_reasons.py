"""Each quarantine reason on a hand-built file, with the exact row, line and column."""

from __future__ import annotations

import datetime as dt

from ingest_samples import CONTACT_HEADER, contact, csv_text, problems, staged

from touchpoint.ingest import ingest


def test_each_contacts_problem_lands_on_its_row_line_and_column(con, write):
    path = write(
        "contacts_2026-03.csv",
        csv_text(
            CONTACT_HEADER,
            contact("K1"),  # row 1, line 2: good
            contact("K2", started_at="2026-13-01 08:00:00"),  # row 2: month 13
            contact("K3", channel="teleport"),  # row 3
            contact("K4", customer_id=""),  # row 4
            contact("K5", started_at="2026-03-01 09:00:00"),  # row 5: ends 08:05
            contact("K1", customer_id="C9"),  # row 6: key of row 1 again
            "K7,C1,2026-03-01 08:00:00",  # row 7: three fields of eleven
            contact("K8", customer_id="  "),  # row 8: blanks only
            contact("K9", outcome="NULL"),  # row 9: a null marker
        ),
    )
    [summary] = ingest(con, [path])
    assert problems(con) == [
        (2, 3, "started_at", "bad_type"),
        (3, 4, "channel", "not_in_vocabulary"),
        (4, 5, "customer_id", "missing_value"),
        (5, 6, "ended_at", "end_before_start"),
        (6, 7, "contact_id", "duplicate_key"),
        (7, 8, None, "malformed_row"),
        (8, 9, "customer_id", "missing_value"),
        (9, 10, "outcome", "missing_value"),
    ]
    assert (summary.n_read, summary.n_loaded, summary.n_quarantined) == (9, 1, 8)
    assert summary.quarantined_by_reason == {
        "missing_value": 3,
        "bad_type": 1,
        "duplicate_key": 1,
        "end_before_start": 1,
        "malformed_row": 1,
        "not_in_vocabulary": 1,
    }
    assert [r["contact_id"] for r in staged(con, "contacts")] == ["K1"]


def test_quarantine_keeps_the_value_seen_and_the_raw_record(con, write):
    path = write(
        "contacts.csv",
        csv_text(CONTACT_HEADER, contact("K1", channel="teleport"), contact("K1")),
    )
    ingest(con, [path])
    rows = con.table("ingest_quarantine").order_by("row").to_pyarrow().to_pylist()
    assert [(r["reason"], r["value"]) for r in rows] == [
        ("not_in_vocabulary", "teleport"),
        ("duplicate_key", "K1 (first at row 1)"),
    ]
    assert '"channel": "teleport"' in rows[0]["record"]
    assert rows[0]["path"] == str(path.resolve()) and rows[0]["entity"] == "contacts"


def test_every_failure_of_a_row_is_collected(con, write):
    path = write(
        "contacts.csv",
        csv_text(
            CONTACT_HEADER,
            contact("K1"),
            contact(
                "K1",  # duplicate
                started_at="yesterday",
                channel="x",
                business="???",
                outcome="",
            ),
        ),
    )
    [summary] = ingest(con, [path])
    assert problems(con) == [
        (2, 3, "started_at", "bad_type"),
        (2, 3, "contact_id", "duplicate_key"),
        (2, 3, "outcome", "missing_value"),
        (2, 3, "business", "not_in_vocabulary"),
        (2, 3, "channel", "not_in_vocabulary"),
    ]
    assert (summary.n_read, summary.n_loaded, summary.n_quarantined) == (2, 1, 1)
    assert sum(summary.quarantined_by_reason.values()) == 5


def test_vocabulary_ids_names_and_aliases_map_to_ids_ignoring_case(con, write):
    path = write(
        "contacts.csv",
        csv_text(
            CONTACT_HEADER,
            contact("K1", channel="热线人工", business=" Bill_Query ", outcome="解决"),
            contact("K2", channel="APP", business="话费查询", outcome="Transferred"),
            contact("K3", channel="hotline agent", business="流量包", outcome="挂机"),
        ),
    )
    ingest(con, [path])
    rows = staged(con, "contacts")
    assert [(r["channel"], r["business"], r["outcome"]) for r in rows] == [
        ("agent", "bill_query", "resolved"),
        ("app", "bill_query", "transferred"),
        ("agent", "data_package", "abandoned"),
    ]


def test_customers_types_ranges_and_order_check(con, write):
    header = "customer_id,msisdn,join_date,brand,value_tier,region,plan_id,birth_year,gender,is_group_key_person,is_family_plan,status,leave_date"
    path = write(
        "customers.csv",
        csv_text(
            header,
            "C1,,2020-01-05,全球通,金卡,gz,P1,1980,F,是,N,在网,",  # good
            "C2,,2020-01-05,gotone,gold,gz,P1,2100,F,1,0,active,",  # above_max
            "C3,,2020-01-05,gotone,gold,gz,P1,1800,F,1,0,active,",  # below_min
            "C4,,2020-01-05,gotone,gold,gz,P1,19x0,F,1,0,active,",  # bad int
            "C5,,2020-01-05,gotone,gold,gz,P1,1980,F,maybe,0,active,",  # bad boolean
            "C6,,2026-02-30,gotone,gold,gz,P1,1980,F,1,0,active,",  # no Feb 30th
            "C7,,2020-01-05,gotone,gold,gz,P1,1980,F,1,0,left,2019-12-31",  # left before joining
        ),
    )
    [summary] = ingest(con, [path])
    assert problems(con) == [
        (2, 3, "birth_year", "above_max"),
        (3, 4, "birth_year", "below_min"),
        (4, 5, "birth_year", "bad_type"),
        (5, 6, "is_group_key_person", "bad_type"),
        (6, 7, "join_date", "bad_type"),
        (7, 8, "leave_date", "leave_before_join"),
    ]
    [row] = staged(con, "customers")
    assert row == {
        "customer_id": "C1",
        "msisdn_hash": None,
        "join_date": dt.date(2020, 1, 5),
        "brand": "gotone",
        "value_tier": "gold",
        "region": "gz",
        "plan_id": "P1",
        "birth_year": 1980,
        "gender": "F",
        "is_group_key_person": True,
        "is_family_plan": False,
        "status": "active",
        "leave_date": None,
    }
    assert summary.n_loaded == 1


def test_float_columns_refuse_text_and_negative_amounts(con, write):
    path = write(
        "payments.csv",
        csv_text(
            "payment_id,customer_id,paid_at,channel,amount_yuan",
            "P1,C1,2026-03-01 08:00:00,kiosk,50",
            "P2,C1,2026-03-01 08:00:00,kiosk,-5",
            "P3,C1,2026-03-01 08:00:00,kiosk,fifty",
            "P4,C1,2026-03-01 08:00:00,kiosk,1e999",
            "P5,C1,2026-03-01 08:00:00,kiosk,0.5",
        ),
    )
    ingest(con, [path])
    assert problems(con) == [
        (2, 3, "amount_yuan", "below_min"),
        (3, 4, "amount_yuan", "bad_type"),
        (4, 5, "amount_yuan", "bad_type"),
    ]
    assert [r["amount_yuan"] for r in staged(con, "payments")] == [50.0, 0.5]


def test_missing_required_column_quarantines_every_row_naming_it(con, write):
    header = CONTACT_HEADER.replace(",outcome", "").replace(",channel", "")
    lines = [contact(f"K{i}") for i in (1, 2)]
    lines = [
        ",".join(v for j, v in enumerate(line.split(",")) if j not in (4, 6)) for line in lines
    ]
    path = write("contacts.csv", csv_text(header, *lines))
    [summary] = ingest(con, [path])
    assert problems(con) == [
        (1, 2, "channel", "missing_column"),
        (1, 2, "outcome", "missing_column"),
        (2, 3, "channel", "missing_column"),
        (2, 3, "outcome", "missing_column"),
    ]
    assert (summary.n_read, summary.n_loaded, summary.n_quarantined) == (2, 0, 2)
    assert staged(con, "contacts") == []


def test_header_is_trimmed_case_insensitive_and_extra_columns_are_reported(con, write):
    header = " Contact_ID ,CUSTOMER_ID,started_at,ended_at,channel,business,outcome,note"
    path = write(
        "contacts.csv",
        csv_text(
            header, "K1,C1,2026-03-01 08:00:00,2026-03-01 08:05:00,web,bill_query,resolved,hi"
        ),
    )
    [summary] = ingest(con, [path])
    assert summary.n_loaded == 1 and summary.ignored_columns == ("note",)
    [row] = staged(con, "contacts")
    assert row["contact_id"] == "K1" and row["region"] is None


def test_duplicate_key_against_rows_loaded_from_another_file(con, write):
    first = write("contacts_a.csv", csv_text(CONTACT_HEADER, contact("K1"), contact("K2")))
    second = write("contacts_b.csv", csv_text(CONTACT_HEADER, contact("K3"), contact("K2")))
    ingest(con, [first, second])
    assert problems(con) == [(2, 3, "contact_id", "duplicate_key")]
    [row] = con.table("ingest_quarantine").to_pyarrow().to_pylist()
    assert row["value"] == f"K2 (loaded from {first.resolve()} row 2)"
    assert sorted(r["contact_id"] for r in staged(con, "contacts")) == ["K1", "K2", "K3"]


def test_composite_keys_compare_typed_values(con, write):
    path = write(
        "bills.csv",
        csv_text(
            "customer_id,bill_month,arpu_yuan",
            "C1,2026-03-01,50",
            "C1,202603,60",  # the same month written another way
            "C2,2026-03-01,70",
            "C1,2026-04-01,80",
        ),
    )
    ingest(con, [path])
    assert problems(con) == [(2, 3, "customer_id,bill_month", "duplicate_key")]
    assert [r["arpu_yuan"] for r in staged(con, "bills")] == [50.0, 70.0, 80.0]


def test_timestamps_in_operator_formats_and_offsets_become_local_time(con, write):
    path = write(
        "ivr_events.csv",
        csv_text(
            "call_id,seq,customer_id,event_at,node_id,event_type,key",
            "A,1,C1,2026-03-01 08:00:00,root,call_start,",
            "A,2,C1,2026/03/01 08:00:01,root,prompt,",
            "A,3,C1,20260301080002,root,key,1",
            "A,4,C1,2026-03-01T08:00:03,root,按键,2",
            "A,5,C1,2026-03-01T00:00:04Z,root,timeout,",
            "A,6,C1,2026-03-01T08:00:05.250+08:00,root,invalid,9",
            "A,7,C1,2026-02-28T19:00:06-05:00,root,hang_up,",
        ),
    )
    [summary] = ingest(con, [path])
    assert summary.n_loaded == 7
    stamps = [r["event_at"] for r in staged(con, "ivr_events")]
    base = dt.datetime(2026, 3, 1, 8, 0, 0)
    assert stamps == [base + dt.timedelta(seconds=s) for s in range(5)] + [
        base + dt.timedelta(seconds=5, microseconds=250_000),
        base + dt.timedelta(seconds=6),
    ]
