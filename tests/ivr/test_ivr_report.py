"""The report's IVR section on the simulated world, in English and Chinese."""

import json

import pytest

from touchpoint.config import load_config
from touchpoint.report import render_report
from touchpoint.report.sections import ivr as ivr_section


@pytest.mark.parametrize(
    ("lang", "texts"),
    [
        ("en", ("IVR journeys", "Verified containment", "Where callers get lost", "Lost score")),
        ("zh", ("IVR 旅程", "验证截留率", "客户在哪里迷路", "迷路指数")),
    ],
)
def test_ivr_section_renders(ingested_world, lang, texts):
    con, *_ = ingested_world
    html = render_report(con, load_config(), lang=lang, sections=[ivr_section.SECTION])
    for text in texts:
        assert text in html or json.dumps(text)[1:-1] in html, text
    assert '"type":"sankey"' in html.replace(" ", "")
    # The most lost node heads the lost-points table.
    lost = con.table("mart_ivr_lost").order_by("lost_rank").limit(1).to_pyarrow()
    assert lost["node_id"][0].as_py() in html
