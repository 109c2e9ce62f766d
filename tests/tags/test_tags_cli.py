"""`touchpoint tags` commands and the pipeline step on a warehouse holding a synthetic 360."""

from __future__ import annotations

import json
import shutil

import pytest
import yaml
from typer.testing import CliRunner

from touchpoint.cli import app, main
from touchpoint.pipeline.runner import run_pipeline
from touchpoint.pipeline.steps import STEPS
from touchpoint.tags import DEFAULT_CATALOGUE_PATH
from touchpoint.warehouse import connect

runner = CliRunner(env={"COLUMNS": "200"})
TAGS_STEP = [s for s in STEPS if s.name in ("tags", "tags_changes")]


@pytest.fixture
def warehouse(built_warehouse, tmp_path, monkeypatch):
    """A fresh copy of a warehouse with the 360 and the tag marts built by the pipeline step."""
    monkeypatch.delenv("TOUCHPOINT_TAGS", raising=False)
    path = tmp_path / "wh.duckdb"
    shutil.copy(built_warehouse, path)
    return path


def _json(args):
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_step_writes_every_tag_mart(warehouse, realistic_360):
    con = connect(warehouse, read_only=True)
    n_months = len(set(realistic_360["month"].to_pylist()))
    changes = con.table("mart_tag_changes").to_pyarrow()
    assert changes.num_rows == 14 * n_months
    membership = con.table("mart_tag_membership")
    assert membership.count().to_pyarrow().as_py() == sum(changes["n_members"].to_pylist())
    validation = con.table("mart_tag_validation").to_pyarrow()
    assert validation.num_rows == 14 * 2  # churn and complaint; no campaign responses here
    definitions = con.table("mart_tag_definitions").to_pyarrow().to_pylist()
    assert {(d["tag_id"], d["version"], d["is_current"]) for d in definitions} == {
        (t, 1, True) for t in changes["tag_id"].to_pylist()
    }
    con.disconnect()


def test_wiki_round_trip(warehouse):
    w = ["-w", str(warehouse)]
    r = runner.invoke(
        app, ["tags", "rate", "sensitive_customer", "--stars", "4", "--by", "Li Wei", *w]
    )
    assert r.exit_code == 0, r.output
    assert "Li Wei rated sensitive_customer v1" in r.output
    runner.invoke(app, ["tags", "rate", "sensitive_customer", "--stars", "2", "--by", "Zhang", *w])
    r = runner.invoke(
        app,
        ["tags", "comment", "sensitive_customer", "太宽了：两次投诉就算？", "--by", "Zhang", *w],
    )
    assert r.exit_code == 0, r.output
    shown = _json(["tags", "show", "sensitive_customer", "--json", *w])
    assert sorted(r["stars"] for r in shown["ratings"]) == [2, 4]
    assert [c["comment"] for c in shown["comments"]] == ["太宽了：两次投诉就算？"]
    assert shown["problems"] == []
    assert len(shown["members_by_month"]) == 6 and len(shown["validation"]) == 2
    text = runner.invoke(app, ["tags", "show", "sensitive_customer", *w])
    assert "v1: 3.0 ★ (2)" in text.output and "Zhang: 太宽了" in text.output
    assert "Parameters: $sensitive_min_complaints_3m = 2" in text.output
    assert "Channel: Hotline agent" in text.output and "95% interval" in text.output
    zh = runner.invoke(app, ["tags", "show", "sensitive_customer", "--lang", "zh", *w])
    assert "敏感客户" in zh.output and "营销用语" in zh.output
    listed = _json(["tags", "list", "--json", *w])
    sensitive = next(t for t in listed["tags"] if t["tag_id"] == "sensitive_customer")
    assert sensitive["rating"] == "3.0 ★ (2)" and sensitive["n_members_last_month"] > 0
    assert sensitive["churn_lift_low"] > 1  # the synthetic 360 plants complaint-driven churn
    assert sensitive["churn_lift_raw"] == pytest.approx(sensitive["churn_lift"])  # no zero count
    con = connect(warehouse, read_only=True)
    v = con.table("mart_tag_validation").to_pandas()
    con.disconnect()
    complaint = v[(v.tag_id == "sensitive_customer") & (v.outcome == "complaint_next_month")]
    [row] = complaint.itertuples()
    assert (sensitive["complaint_lift"], sensitive["complaint_lift_low"]) == pytest.approx(
        (row.lift, row.lift_low)
    )
    text = runner.invoke(app, ["tags", "list", *w]).output
    assert "Complaint lift" in text and f"{row.lift:.2f} [{row.lift_low:.2f}–" in text


def test_list_shows_the_plain_ratio_of_a_zero_corrected_lift(warehouse):
    w = ["-w", str(warehouse)]
    con = connect(warehouse, read_only=True)
    v = con.table("mart_tag_validation").to_pandas()
    con.disconnect()
    churn = v[v.outcome == "churn_next_month"]
    zero = churn[(churn.n_member_events == 0) & (churn.n_members > 0)]
    assert not zero.empty  # the sample has a tag none of whose members churned
    listed = {t["tag_id"]: t for t in _json(["tags", "list", "--json", *w])["tags"]}
    text = runner.invoke(app, ["tags", "list", *w]).output
    for row in zero.itertuples():
        assert listed[row.tag_id]["churn_lift_raw"] == 0.0
        assert listed[row.tag_id]["churn_lift"] > 0  # the corrected point
        assert f"0.00* [{row.lift_low:.2f}–{row.lift_high:.2f}]" in text
    assert "the plain ratio of the two rates" in text


def test_rule_edit_gives_a_new_version_whose_ratings_start_afresh(
    warehouse, tmp_path, config, monkeypatch
):
    w = ["-w", str(warehouse)]
    runner.invoke(app, ["tags", "rate", "sensitive_customer", "--stars", "5", "--by", "A", *w])
    data = yaml.safe_load(DEFAULT_CATALOGUE_PATH.read_text(encoding="utf-8"))
    data["parameters"]["sensitive_min_complaints_3m"] = 3  # stricter: fewer members
    edited = tmp_path / "tags.yaml"
    edited.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    before = _json(["tags", "show", "sensitive_customer", "--json", *w])["members_by_month"]
    con = connect(warehouse)
    monkeypatch.setenv("TOUCHPOINT_TAGS", str(edited))
    run_pipeline(con, config, steps=TAGS_STEP)
    monkeypatch.delenv("TOUCHPOINT_TAGS")
    definitions = con.table("mart_tag_definitions").to_pyarrow().to_pylist()
    con.disconnect()
    versions = {(d["tag_id"], d["version"]): d["is_current"] for d in definitions}
    assert versions[("sensitive_customer", 1)] is False and versions[("sensitive_customer", 2)]
    assert versions[("vip_gold", 1)] is True and ("vip_gold", 2) not in versions
    after = _json(["tags", "show", "sensitive_customer", "--json", "--tags", str(edited), *w])
    assert after["tag"]["version"] == 2
    shrunk = [
        (a["n_members"], b["n_members"])
        for a, b in zip(after["members_by_month"], before, strict=True)
    ]
    assert all(new <= old for new, old in shrunk) and any(new < old for new, old in shrunk)
    # The old rating stays with version 1; rating now goes to version 2.
    r = runner.invoke(
        app,
        [
            "tags",
            "rate",
            "sensitive_customer",
            "--stars",
            "1",
            "--by",
            "B",
            "--tags",
            str(edited),
            *w,
        ],
    )
    assert "v2" in r.output
    ratings = after["ratings"]
    assert [(x["version"], x["stars"]) for x in ratings] == [(1, 5)]


def test_check_prints_every_problem_with_its_position(tmp_path, capsys):
    data = yaml.safe_load(DEFAULT_CATALOGUE_PATH.read_text(encoding="utf-8"))
    data["tags"][4]["rule"] = "n_complaint_3m >= 2 and brand > 1"
    data["tags"][5]["hint"]["channel"] = "pigeon"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(SystemExit) as info:
        main(["tags", "check", str(bad)])
    assert info.value.code == 1
    err = capsys.readouterr().err
    assert f"{bad}: 3 problem(s)" in err
    assert (
        "tag sensitive_customer: rule column 1: unknown column 'n_complaint_3m' (did you mean 'n_complaints_3m'?)"
        in err
    )
    assert (
        "tag sensitive_customer: rule column 31: cannot compare a string with a number using '>'"
        in err
    )
    assert "tag suggestion_customer: hint.channel: 'pigeon' is not configured" in err
    assert "Traceback" not in err


def test_check_accepts_the_default_and_refuses_structural_errors(tmp_path, capsys):
    result = runner.invoke(app, ["tags", "check", str(DEFAULT_CATALOGUE_PATH)])
    assert result.exit_code == 0 and "14 tags, all valid" in result.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: x\ntags:\n  - id: a\n    rule: x > 1\n", encoding="utf-8")
    with pytest.raises(SystemExit):
        main(["tags", "check", str(bad)])
    err = capsys.readouterr().err
    assert "tag a: name: Field required" in err and "tag a: hint: Field required" in err


def test_user_errors_are_one_line(warehouse, capsys):
    with pytest.raises(SystemExit) as info:
        main(["tags", "show", "sensitive_customr", "-w", str(warehouse)])
    err = capsys.readouterr().err
    assert (
        info.value.code == 2
        and "did you mean 'sensitive_customer'?" in err
        and "Traceback" not in err
    )
    result = runner.invoke(
        app, ["tags", "rate", "vip_gold", "--stars", "6", "--by", "x", "-w", str(warehouse)]
    )
    assert result.exit_code == 2


def test_run_with_a_bad_catalogue_is_one_clear_line(warehouse, tmp_path, monkeypatch, capsys):
    data = yaml.safe_load(DEFAULT_CATALOGUE_PATH.read_text(encoding="utf-8"))
    data["tags"][0]["rule"] = "value_tier = 'diamond' and pointz > 1"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("TOUCHPOINT_TAGS", str(bad))
    with pytest.raises(SystemExit) as info:
        main(["run", "-w", str(warehouse)])
    err = capsys.readouterr().err
    assert info.value.code == 2 and "Traceback" not in err
    assert (
        "tag vip_diamond: rule column 28: unknown column 'pointz' (did you mean 'points'?)" in err
    )
