"""The report's tags section in both languages, on a warehouse with tag marts and wiki rows."""

from __future__ import annotations

import json
import shutil

from touchpoint.cli._tag_wiki import add_comment, add_rating
from touchpoint.report import render_report
from touchpoint.report.sections import SECTIONS
from touchpoint.warehouse import connect


def _has(html: str, text: str) -> bool:
    # Plotly writes figure text as JSON with \u escapes; the page text is plain.
    return text in html or json.dumps(text)[1:-1] in html


def test_tags_section_in_english_and_chinese(built_warehouse, tmp_path, config):
    path = tmp_path / "wh.duckdb"
    shutil.copy(built_warehouse, path)
    con = connect(path)
    add_rating(con, "sensitive_customer", 1, 4, "Li Wei")
    add_comment(con, "sensitive_customer", 1, "Keep it", "Zhang")
    section = [s for s in SECTIONS if s.id == "tags"]
    html = render_report(con, config, lang="en", sections=section)
    for text in (
        "Customer tags",
        "Members per month by tag",
        "Lift of next-month outcomes",
        "Sensitive customer",
        "Churn next month",
        "4.0 ★",
        "Zhang: Keep it",
    ):
        assert _has(html, text), text
    zh = render_report(con, config, lang="zh", sections=section)
    for text in ("客户标签", "各标签每月成员数", "敏感客户", "次月离网", "提升度"):
        assert _has(zh, text), text
    assert "Members per month" not in zh
    # The first two months (3-month windows reaching back before the data) are marked.
    months = con.table("mart_tag_changes").month.nunique().to_pyarrow().as_py()
    assert months >= 3
    assert _has(html, "Shaded: the first 2 month(s) of the data") and _has(html, "Warm-up")
    assert _has(zh, "阴影：数据的前 2 个月") and _has(zh, "预热期")
    # Rows whose lift was corrected for a zero count show the plain ratio, marked and explained.
    v = con.table("mart_tag_validation").to_pandas()
    zero = v[((v.n_member_events == 0) | (v.n_nonmember_events == 0)) & v.lift.notna()]
    assert not zero.empty  # the sample has such rows, so this checks something
    assert _has(html, "the plain ratio of the two rates is shown") and _has(zh, "直接比值")
    for raw in zero.lift_raw:
        assert _has(html, "∞ *" if raw != raw else f"{raw:.2f} *")
    con.disconnect()


def test_tags_section_without_marts_says_how_to_make_them(tmp_path, config):
    con = connect(tmp_path / "empty.duckdb")
    html = render_report(con, config, lang="en", sections=[s for s in SECTIONS if s.id == "tags"])
    assert "mart_tag_changes" in html and "touchpoint run" in html
