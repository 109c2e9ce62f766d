"""The "channels" and "menu" report sections on the simulated operator, in both languages."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from touchpoint.config import load_config
from touchpoint.report import render_report, write_report
from touchpoint.report.i18n import format_number
from touchpoint.report.sections import channels, menu


def shown(text: str, html: str) -> bool:
    """Page text is plain; Plotly writes figure text as JSON with \\u escapes."""
    return text in html or json.dumps(text)[1:-1] in html


@pytest.fixture(scope="module")
def world_con(ingested_world):
    return ingested_world[0]


@pytest.fixture(scope="module")
def html_en(world_con):
    return render_report(
        world_con, load_config(), lang="en", sections=[channels.SECTION, menu.SECTION]
    )


@pytest.fixture(scope="module")
def html_zh(world_con):
    return render_report(
        world_con, load_config(), lang="zh", sections=[channels.SECTION, menu.SECTION]
    )


def test_channels_section_shows_mix_cost_escalation_and_repeats(world_con, html_en):
    for text in (
        "Channels",
        "Contacts per month by channel",
        "Cost per month by channel (yuan)",
        "Share of contacts handled by self service",
        "IVR → agent within 60 min, by region (line: overall)",
        "Repeat contact and first-contact resolution by channel",
        "Hotline IVR",
    ):
        assert shown(text, html_en), text
    # The headline figures are the marts' own numbers.
    totals = world_con.table("mart_channels_totals").to_pandas()
    assert shown(format_number(int(totals["n_contacts"].sum()), "en"), html_en)
    kpis = world_con.table("mart_channels_kpis").to_pyarrow().to_pylist()[0]
    overall = f"{kpis['ivr_to_agent_60min_rate'] * 100:.1f}%"
    assert shown(f"Overall {overall}", html_en)
    calls_per_day = format_number(kpis["calls_per_dialling_customer_per_day"], "en", 2)
    for text in (
        "Hotline calls per dialling customer-day",
        calls_per_day,
        "Same-day hotline redials",
    ):
        assert shown(text, html_en), text
    assert shown(f"{kpis['hotline_redial_rate'] * 100:.1f}%", html_en)
    config = load_config()
    for region in world_con.table("mart_channels_escalation_by_region").to_pandas()["region"]:
        assert shown(config.label("region", region, "en"), html_en)
    assert shown("Nanchong", html_en)


def test_menu_section_lists_the_ranked_recommendations(world_con, html_en):
    recs = world_con.table("mart_ivr_menu_recommendations").order_by("rank").to_pandas()
    assert shown("A better IVR menu", html_en)
    assert shown("Estimated cost saved per month, by recommendation", html_en)
    top = recs.iloc[0]
    assert shown(f"#1 {top['node_id']}", html_en)
    # Every planted confusing node is named in a "fix" proposal.
    for node in ("n3", "n2_3", "n6_1"):
        assert re.search(
            rf"Reword {node}: \d+\.\d% of caller actions go wrong, mostly [a-z]", html_en
        ), node


def test_chinese_sections_have_chinese_labels(html_zh):
    for text in (
        "服务渠道",
        "各渠道每月接触量",
        "各地区IVR后60分钟内转人工率（横线：总体）",
        "热线IVR自动",
        "更优的IVR菜单",
        "各条建议每月预计节省成本",
        "优化",
        "南充",  # regions by their configured names, not their ids
        "达州",
    ):
        assert shown(text, html_zh), text
    assert "Contacts per month by channel" not in html_zh


def test_menu_nodes_are_shown_with_their_configured_names(world_con, html_en, html_zh):
    config = load_config()
    top = world_con.table("mart_ivr_menu_recommendations").order_by("rank").to_pandas().iloc[0]
    node = top["node_id"]
    for lang, html in (("en", html_en), ("zh", html_zh)):
        name = config.label("ivr_node", node, lang)
        assert name != node
        assert shown(f"#1 {node} {name}", html), (lang, name)


def test_sections_say_which_tables_they_need(tmp_path):
    from touchpoint.warehouse import connect

    con = connect(tmp_path / "empty.duckdb")
    html = render_report(con, load_config(), lang="en", sections=[channels.SECTION, menu.SECTION])
    assert "mart_channels_kpis_monthly" in html and "mart_ivr_menu_recommendations" in html


@pytest.mark.browser
def test_zh_report_renders_every_chart_offline(world_con, tmp_path):
    from test_report_browser import CHROMIUM, open_offline

    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed: run `make browser`")
    from playwright.sync_api import sync_playwright
    from test_report_browser import ARGS

    path = write_report(world_con, load_config(), tmp_path / "report.zh.html", lang="zh")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=ARGS, headless=True
        )
        result = open_offline(browser, path, screenshot=tmp_path / "channels.zh.png")
        browser.close()
    assert result["n_plots"] >= 7  # data: 1-2, channels: 5, menu: 1
    assert result["n_rendered"] == result["n_plots"]
    assert result["problems"] == [] and result["requested"] == []
    keep = Path("/tmp/touchpoint-screenshots")
    if keep.parent.exists():  # left for a person to look at; not an assertion
        keep.mkdir(exist_ok=True)
        shutil.copy(tmp_path / "channels.zh.png", keep / "channels.zh.png")
