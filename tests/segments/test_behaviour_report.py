"""The report's "Customer behaviour" section on the simulated world, in both languages."""

from __future__ import annotations

import json

from touchpoint.churn import WORK_ORDERS_MART
from touchpoint.config import load_config
from touchpoint.report import render_report
from touchpoint.segments import PROFILES_MART


def _has(html: str, text: str) -> bool:
    # Plotly writes figure text as JSON with \\u escapes; the page text is plain.
    return text in html or json.dumps(text)[1:-1] in html


def test_behaviour_section_in_english_and_chinese(ingested_world):
    con = ingested_world[0]
    profiles = con.table(PROFILES_MART).to_pandas()
    orders = con.table(WORK_ORDERS_MART).to_pandas()
    html = render_report(con, load_config(), lang="en")
    assert 'id="behaviour"' in html
    for text in (
        "Customer behaviour",
        "Customers by lifecycle stage",
        "Migration between segments",
    ):
        assert _has(html, text), text
    for name, description in zip(profiles.name_en, profiles.description_en, strict=True):
        assert _has(html, name) and _has(html, description)
    if len(orders):
        assert _has(html, orders.sort_values("rank").customer_id.iloc[0])
    html = render_report(con, load_config(), lang="zh")
    for text in ("客户行为", "各生命周期阶段客户数", *profiles.name_zh, *profiles.description_zh):
        assert _has(html, text), text
