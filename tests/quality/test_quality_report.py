"""The report's service-quality section in English and Chinese, from the quality marts."""

from __future__ import annotations

import pytest

from touchpoint.config import load_config
from touchpoint.report.context import ReportContext
from touchpoint.report.sections import quality as section


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_section_renders(tmp_path, lang):
    from touchpoint.ingest import ingest
    from touchpoint.quality import quality_tables
    from touchpoint.simulate import simulate
    from touchpoint.warehouse import connect

    result = simulate(tmp_path / "w", customers=3000, months=1, seed=2)
    con = connect(tmp_path / "w.duckdb")
    ingest(con, list(result.files.values()))
    names = ("stg_surveys", "stg_contacts", "stg_customers", "stg_ivr_events")
    for name, expr in quality_tables(*(con.table(n) for n in names), load_config()).items():
        con.create_table(name, expr.to_pyarrow())
    blocks = section.build(ReportContext(con=con, config=load_config(), lang=lang))
    html = "".join(b.to_html() for b in blocks)
    assert ("加权满意率" if lang == "zh" else "weighted CSAT") in html
    assert ("峰终" if lang == "zh" else "Peak–end") in html
    assert len(blocks) >= 5
    con.disconnect()
