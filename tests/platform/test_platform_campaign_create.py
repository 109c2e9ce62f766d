"""Creating a campaign from the console (issue 15): the form on the Campaigns page and the YAML
upload go through the CLI's own validation and flow; problems are shown next to their field
in the page's language and nothing is written; only campaign managers and administrators may
create; every create, approve and dispatch is audited (who, when, what, from where), and only
administrators read or export the audit trail. The tracking page shows the tracking mart's
rows of the campaign."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import sys
from pathlib import Path

import pyarrow as pa
import pytest
import yaml
from fastapi.testclient import TestClient
from platform_helpers import PASSWORD, make_app

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root

from benchmarks.tags_data import synthetic_c360  # noqa: E402

from touchpoint import tags  # noqa: E402
from touchpoint.campaigns import (  # noqa: E402
    ASSIGNMENTS_TABLE,
    DEFINITIONS_TABLE,
    CampaignError,
    campaign_from_data,
    campaign_from_text,
    campaign_settings_from_config,
)
from touchpoint.config import load_config  # noqa: E402
from touchpoint.platform import ROLES  # noqa: E402
from touchpoint.platform._campaign_pages import MAX_CAMPAIGN_FILE_BYTES, form_data  # noqa: E402
from touchpoint.warehouse import connect  # noqa: E402

CONFIG = load_config()


def _tag_id() -> str:
    return tags.catalogue_in_use(None, CONFIG).tags[0].id


def _world(tmp_path):
    """A warehouse with a synthetic 360 (600 customers, 2 months) and, in the latest month,
    every third customer a member of the catalogue's first tag; the app over it."""
    warehouse = tmp_path / "wh.duckdb"
    con = connect(warehouse)
    c360 = synthetic_c360(CONFIG, 600, months=2, seed=3)
    con.create_table("mart_customer_360", c360)
    last = max(c360.column("month").to_pylist())
    ids = sorted(
        {
            c
            for c, m in zip(
                *(c360.column(n).to_pylist() for n in ("customer_id", "month")), strict=True
            )
            if m == last
        }
    )
    members = ids[::3]
    con.create_table(
        "mart_tag_membership",
        pa.table(
            {
                "tag_id": [_tag_id()] * len(members),
                "month": [last] * len(members),
                "customer_id": members,
            }
        ),
    )
    con.disconnect()
    app, tokens = make_app(warehouse)
    client = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
    return warehouse, app, client, tokens, members


@pytest.fixture
def world(tmp_path):
    return _world(tmp_path)


@pytest.fixture(scope="module")
def unchanged_world(tmp_path_factory):
    """The same, shared by the tests that must write nothing (and check that they did not)."""
    return _world(tmp_path_factory.mktemp("unchanged"))


def _as(tokens, role):
    return {"Authorization": f"Bearer {tokens[role]}"}


def _form(**overrides) -> dict[str, str]:
    form = {
        "id": "store_sms",
        "name_en": "Store payers to the app",
        "name_zh": "营业厅缴费转手机应用",
        "action": "divert_store_payment_to_self_service",
        "tag": _tag_id(),
        "rule": "",
        "channel": "sms",
        "holdout_share": "0.2",
        "waves": "1",
        "max_size": "",
        "budget_yuan": "5000",
    }
    return form | overrides


def _global_holdout(customer_id: str) -> bool:
    """The global holdout by hand: md5 of salt:id, first 13 hex digits below the share."""
    settings = campaign_settings_from_config(CONFIG)
    digest = hashlib.md5(f"{settings.global_holdout_salt}:{customer_id}".encode()).hexdigest()
    return int(digest[:13], 16) < int(settings.global_holdout_share * 16**13)


def _table(warehouse, name):
    con = connect(warehouse)
    try:
        return con.table(name).to_pyarrow().to_pylist() if name in con.list_tables() else []
    finally:
        con.disconnect()


def test_a_campaign_manager_creates_a_campaign_from_a_tag_with_the_form(world):
    warehouse, app, client, tokens, members = world
    tag = _tag_id()
    page = client.get(f"/console/tags/{tag}", headers=_as(tokens, "campaign_manager"))
    link = re.search(r'id="campaign-from-tag" href="([^"]+)"', page.text)
    assert link, page.text
    form_page = client.get(
        link.group(1).replace("&amp;", "&"), headers=_as(tokens, "campaign_manager")
    )
    assert f'<option value="{tag}" selected>' in form_page.text  # the tag is preselected
    assert '<details id="create-campaign" open>' in form_page.text

    made = client.post("/console/campaigns", data=_form(), headers=_as(tokens, "campaign_manager"))
    assert made.status_code == 303, made.text
    listed = client.get(made.headers["location"], headers=_as(tokens, "campaign_manager"))
    # The audience by hand: the tag's members that month, less the global holdout.
    audience = [c for c in members if not _global_holdout(c)]
    assignments = _table(warehouse, ASSIGNMENTS_TABLE)
    assert sorted(r["customer_id"] for r in assignments) == sorted(audience)
    n_holdout = sum(r["group"] == "holdout" for r in assignments)
    assert 0.1 < n_holdout / len(audience) < 0.3  # a 20 % holdout of about 200 customers
    created = re.search(r'<p id="created">(.*?)</p>', listed.text).group(1)
    assert f"{len(audience) - n_holdout} treated, {n_holdout} held out" in created
    assert 'id="campaign-store_sms"' in listed.text
    fake = "/console/campaigns?created=nope&version=1&n_treatment=9&n_holdout=1&n_work_orders=9"
    assert 'id="created"' not in client.get(fake, headers=_as(tokens, "analyst")).text

    # Stored exactly as the CLI stores the same definition from a file.
    (row,) = _table(warehouse, DEFINITIONS_TABLE)
    from_file = campaign_from_text(yaml.safe_dump(form_data(_form()), allow_unicode=True), "c.yaml")
    assert json.loads(row["definition_json"]) == from_file.model_dump(mode="json")
    assert row["created_by"] == "campaign_manager" and from_file.budget_yuan == 5000.0


@pytest.mark.parametrize(
    ("lang", "changes", "expected"),
    [
        ("en", {"holdout_share": "1.5"}, {"holdout_share": "must be less than 1"}),
        ("zh", {"holdout_share": "1.5"}, {"holdout_share": "必须小于 1"}),
        ("zh", {"name_zh": ""}, {"name_zh": "不能为空"}),
        ("en", {"id": "Store SMS"}, {"id": "lower-case letters"}),
        ("en", {"waves": "two"}, {"waves": "must be a whole number (got two)"}),
        ("zh", {"rule": "n_complaints_3m >= 2"}, {"audience": "标签和规则只能填一项"}),
        (
            "en",
            {"tag": "", "rule": "n_complaints_3m >= >= 2"},
            {"audience": "the rule cannot be read"},
        ),
        (
            "en",
            {"budget_yuan": "-5", "max_size": "0"},
            {"budget_yuan": "more than 0", "max_size": "at least 1"},
        ),
    ],
)
def test_a_bad_form_says_what_is_wrong_next_to_the_field_and_writes_nothing(
    unchanged_world, lang, changes, expected
):
    warehouse, app, client, tokens, _ = unchanged_world
    form = _form(**changes)
    answer = client.post(
        f"/console/campaigns?lang={lang}", data=form, headers=_as(tokens, "campaign_manager")
    )
    assert answer.status_code == 422
    for field, said in expected.items():
        shown = re.search(rf'<span class="error" id="error-{field}">(.*?)</span>', answer.text)
        assert shown and said in shown.group(1), (field, answer.text)
    assert f'value="{form["name_en"]}"' in answer.text  # what was typed stays in the form
    assert _table(warehouse, DEFINITIONS_TABLE) == []
    if "rule" not in changes or changes.get("tag") != "":
        # The page's fields are the CLI's: the same definition refused for the same fields.
        with pytest.raises(CampaignError) as refused:
            campaign_from_data(form_data(form))
        fields = {p.field.split(".")[0] for p in refused.value.problems}
        assert fields == {{"name_zh": "name", "audience": "audience"}.get(f, f) for f in expected}


def test_a_campaign_file_is_uploaded_with_the_cli_validation_and_a_size_limit(world):
    warehouse, app, client, tokens, members = world
    good = yaml.safe_dump(form_data(_form(id="from_file")), allow_unicode=True)
    sent = client.post(
        "/console/campaigns/upload",
        files={"file": ("from_file.yaml", good.encode(), "text/yaml")},
        headers=_as(tokens, "admin"),
    )
    assert sent.status_code == 303, sent.text
    assert [r["campaign_id"] for r in _table(warehouse, DEFINITIONS_TABLE)] == ["from_file"]

    bad = "id: second\nname: {en: A, zh: 甲}\naction: retention_offer\naudience: {rule: 'x > 1'}\nholdout_share: 2\n"
    refused = client.post(
        "/console/campaigns/upload?lang=zh",
        files={"file": ("bad.yaml", bad.encode(), "text/yaml")},
        headers=_as(tokens, "campaign_manager"),
    )
    assert refused.status_code == 422
    line = re.search(r'id="error-file">(.*?)</span>', refused.text).group(1)
    assert line == "holdout_share, 第 5 行: 必须小于 1"
    big = client.post(
        "/console/campaigns/upload?lang=en",
        files={"file": ("big.yaml", b"#" * (MAX_CAMPAIGN_FILE_BYTES + 1), "text/yaml")},
        headers=_as(tokens, "campaign_manager"),
    )
    assert big.status_code == 422 and f"larger than {MAX_CAMPAIGN_FILE_BYTES} bytes" in big.text
    huge = client.post(  # over the server's body limit: refused before it is read
        "/console/campaigns/upload",
        files={"file": ("huge.yaml", b"#" * 70_000, "text/yaml")},
        headers=_as(tokens, "campaign_manager"),
    )
    assert huge.status_code == 413
    latin = client.post(
        "/console/campaigns/upload",
        files={"file": ("x.yaml", "id: é".encode("latin-1"), "text/yaml")},
        headers=_as(tokens, "campaign_manager"),
    )
    assert latin.status_code == 422 and "not UTF-8" in latin.text
    assert [r["campaign_id"] for r in _table(warehouse, DEFINITIONS_TABLE)] == ["from_file"]


def test_only_campaign_managers_and_administrators_create(world):
    warehouse, app, client, tokens, _ = world
    for role in ROLES:
        form = _form(id=f"by_{role}")
        made = client.post("/console/campaigns", data=form, headers=_as(tokens, role))
        upload = client.post(
            "/console/campaigns/upload",
            files={"file": ("c.yaml", yaml.safe_dump(form_data(form)).encode(), "text/yaml")},
            headers=_as(tokens, role),
        )
        allowed = role in ("campaign_manager", "admin")
        assert made.status_code == (303 if allowed else 403), role
        assert upload.status_code == (303 if allowed else 403), role  # a second version
        page = client.get("/console/campaigns", headers=_as(tokens, role))
        if page.status_code == 200:
            assert ('id="campaign-form"' in page.text) == allowed, role
    anonymous = client.post("/console/campaigns", data=_form(id="anon"))
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/console/login"
    stored = {r["campaign_id"] for r in _table(warehouse, DEFINITIONS_TABLE)}
    assert stored == {"by_campaign_manager", "by_admin"}


def test_a_browser_session_needs_the_csrf_token_to_create(world):
    warehouse, app, client, tokens, _ = world
    csrf = client.post(
        "/api/v1/session", json={"username": "campaign_manager", "password": PASSWORD}
    ).json()["csrf_token"]
    assert client.post("/console/campaigns", data=_form()).status_code == 403
    files = {"file": ("c.yaml", yaml.safe_dump(form_data(_form())).encode(), "text/yaml")}
    assert client.post("/console/campaigns/upload", files=files).status_code == 403
    assert _table(warehouse, DEFINITIONS_TABLE) == []
    assert client.post("/console/campaigns", data=_form() | {"csrf_token": csrf}).status_code == 303
    upload = client.post("/console/campaigns/upload", files=files, data={"csrf_token": csrf})
    assert upload.status_code == 303
    assert [r["version"] for r in _table(warehouse, DEFINITIONS_TABLE)] == [1, 2]


def test_create_approve_and_dispatch_are_each_audited(world):
    warehouse, app, client, tokens, _ = world
    before = dt.datetime.now(dt.UTC).replace(microsecond=0, tzinfo=None)
    client.post("/console/campaigns", data=_form(), headers=_as(tokens, "campaign_manager"))
    n_created = len(_table(warehouse, ASSIGNMENTS_TABLE))
    own = client.post("/console/campaigns/store_sms/approve", headers=_as(tokens, "admin"))
    assert own.status_code == 303  # the admin did not create it
    sent = client.post(
        "/console/campaigns/store_sms/dispatch", headers=_as(tokens, "campaign_manager")
    )
    assert sent.status_code == 303
    audit = client.get("/api/v1/audit?limit=50", headers=_as(tokens, "admin")).json()["items"]
    flow = {r["action"]: r for r in audit if r["action"].startswith("campaign.")}
    assert set(flow) == {"campaign.create", "campaign.approve", "campaign.dispatch"}
    events = _table(warehouse, "campaign_work_order_events")
    n_orders = sum(e["event"] == "created" for e in events)
    n_sent = sum(e["event"] == "dispatched" for e in events)
    assert 0 < n_orders < n_created and n_sent > 0
    expected = {
        "campaign.create": ("campaign_manager", "store_sms v1", n_orders),
        "campaign.approve": ("admin", "store_sms", n_orders),
        "campaign.dispatch": ("campaign_manager", "store_sms", n_sent),
    }
    for action, (who, what, n) in expected.items():
        row = flow[action]
        assert (row["username"], row["target"], row["n_rows"]) == (who, what, n), row
        assert row["client"] == "testclient" and row["outcome"] == "ok"
        when = dt.datetime.fromisoformat(row["at"]).replace(tzinfo=None)
        assert abs((when - before).total_seconds()) < 120  # when, in UTC or local


def test_only_administrators_view_or_export_the_audit_trail(world):
    warehouse, app, client, tokens, _ = world
    client.post("/console/campaigns", data=_form(), headers=_as(tokens, "campaign_manager"))
    for role in (None, *ROLES):
        headers = _as(tokens, role) if role else {}
        for fmt in ("json", "csv", "xlsx"):
            answer = client.get(f"/api/v1/audit?format={fmt}", headers=headers)
            expected = 200 if role == "admin" else 401 if role is None else 403
            assert answer.status_code == expected, (role, fmt)
            if role != "admin":
                assert "campaign.create" not in answer.text
    csv = client.get("/api/v1/audit?format=csv", headers=_as(tokens, "admin")).text
    assert "campaign.create" in csv and "store_sms v1" in csv


def test_the_tracking_page_shows_the_tracking_mart_rows(world):
    warehouse, app, client, tokens, _ = world
    client.post("/console/campaigns", data=_form(), headers=_as(tokens, "campaign_manager"))
    page = client.get("/console/campaigns/store_sms", headers=_as(tokens, "analyst"))
    assert page.status_code == 200 and 'id="no-tracking"' in page.text
    # Two tracked months, figures chosen by hand.
    month = [dt.date(2026, 4, 1), dt.date(2026, 5, 1)]
    tracking = pa.table(
        {
            "campaign_id": ["store_sms", "store_sms", "other"],
            "action": ["divert_store_payment_to_self_service"] * 3,
            "metric": ["away_since_start", "away_since_start", "away_since_start"],
            "kind": ["primary"] * 3,
            "month": [month[0], month[1], month[1]],
            "n_treatment": [150, 148, 9],
            "n_holdout": [40, 40, 9],
            "rate_treatment": [0.30, 0.25, 0.9],
            "rate_holdout": [0.20, 0.175, 0.1],
            "net_effect": [0.10, 0.075, 0.8],
            "net_ci_low": [-0.05, -0.06, 0.5],
            "net_ci_high": [0.25, 0.21, 0.9],
            "naive_effect": [0.30, 0.25, 0.9],
            "treatment_baseline_rate": [0.0, 0.0, 0.0],
        }
    )
    savings = pa.table(
        {
            "campaign_id": ["store_sms"],
            "action": ["divert_store_payment_to_self_service"],
            "month": [month[1]],
            "metric": ["no_store_payment"],
            "n_treatment": [148],
            "moved": [11.1],
            "moved_low": [-8.9],
            "moved_high": [31.1],
            "cost_difference_yuan": [10.0],
            "saving_yuan": [111.0],
            "saving_low_yuan": [-89.0],
            "saving_high_yuan": [311.0],
            "n_orders": [148],
            "order_cost_yuan": [14.8],
            "net_saving_to_date_yuan": [96.2],
        }
    )
    from touchpoint.warehouse import republish_tables

    republish_tables(
        warehouse, {"mart_campaign_tracking": tracking, "mart_campaign_savings": savings}
    )
    app.state.platform.reader.look_again()
    page = client.get("/console/campaigns/store_sms?lang=zh", headers=_as(tokens, "analyst"))
    assert page.status_code == 200
    rows = re.findall(
        r'<tr data-metric="away_since_start" data-month="([\d-]+)">(.*?)</tr>', page.text
    )
    assert [m for m, _ in rows] == ["2026-04-01", "2026-05-01"]  # not the other campaign's
    may = rows[1][1]
    assert "活动开始后未在营业厅缴费" in may
    assert ">25.0%<" in may and ">17.5%<" in may and ">+7.5%<" in may and "-6.0% – +21.0%" in may
    assert 'data-col="naive_effect">+25.0%<' in may
    saving = re.search(
        r'<tr data-month="2026-05-01">(.*?)</tr>', page.text[page.text.index("savings-table") :]
    ).group(1)
    assert "¥111.00" in saving and "¥96.20" in saving
    assert client.get("/console/campaigns/nope", headers=_as(tokens, "analyst")).status_code == 404

    # The API serves the same rows.
    shown = client.get("/api/v1/campaigns/store_sms", headers=_as(tokens, "analyst")).json()
    assert [(r["month"], r["rate_treatment"], r["net_effect"]) for r in shown["tracking"]] == [
        ("2026-04-01", 0.30, 0.10),
        ("2026-05-01", 0.25, 0.075),
    ]
    assert [r["net_saving_to_date_yuan"] for r in shown["savings"]] == [96.2]
    assert shown["definition"]["holdout_share"] == 0.2 and shown["created_by"] == "campaign_manager"
    assert shown["orders"]["created"] == sum(
        e["event"] == "created" for e in _table(warehouse, "campaign_work_order_events")
    )
    listed = client.get("/api/v1/campaigns", headers=_as(tokens, "approver")).json()
    assert [r["campaign_id"] for r in listed["items"]] == ["store_sms"] and listed["total"] == 1
    unknown = client.get("/api/v1/campaigns/nope", headers=_as(tokens, "analyst"))
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("application/problem+json")
    assert client.get("/api/v1/campaigns", headers=_as(tokens, "agent")).status_code == 403
    assert (
        client.get("/console/campaigns/store_sms", headers=_as(tokens, "agent")).status_code == 403
    )
