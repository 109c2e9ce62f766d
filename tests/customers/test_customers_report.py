"""The report's "Customers" section on the simulated world, in both languages."""

from __future__ import annotations

import json

from touchpoint.config import load_config
from touchpoint.customers import C360_MART
from touchpoint.report import render_report


def _has(html: str, text: str) -> bool:
    # Plotly writes figure text as JSON with \\u escapes; the page text is plain.
    return text in html or json.dumps(text)[1:-1] in html


def test_customers_section_in_english_and_chinese(ingested_world):
    con = ingested_world[0]
    c360 = con.table(C360_MART)
    latest = c360.filter(c360.month == c360.month.max().as_scalar())
    n = latest.count().to_pyarrow().as_py()
    html = render_report(con, load_config(), lang="en")
    assert 'id="customers"' in html
    for text in (
        "Customers by channel preference level",
        "Contribution tier",
        "Negative-value customers",
    ):
        assert _has(html, text), text
    assert f"{n:,}" in html  # customers in the network in the latest month
    html = render_report(con, load_config(), lang="zh")
    for text in ("各渠道偏好等级的客户数", "贡献等级", "负价值客户数", "热线人工"):
        assert _has(html, text), text
