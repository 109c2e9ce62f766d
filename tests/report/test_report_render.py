import json
import re

from touchpoint.config import load_config
from touchpoint.report import render_report, write_report


def test_report_embeds_plotlyjs_once_and_shows_the_data_section(tiny_warehouse):
    html = render_report(tiny_warehouse, load_config(), lang="en")
    # plotly.js carries its version banner once; each figure only calls Plotly.newPlot.
    assert len(re.findall(r"plotly\.js v\d", html)) == 1
    assert '<html lang="en">' in html
    assert "Data loaded" in html
    # 8 read = 5 loaded + 3 quarantined, as the hand-built ingest log says.
    assert "Quarantined rows by reason" in html
    assert "Value not in vocabulary" in html


def test_chinese_report_has_chinese_labels(tiny_warehouse, tmp_path):
    path = write_report(tiny_warehouse, load_config(), tmp_path / "r.zh.html", lang="zh")
    html = path.read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in html
    for text in ("数据加载", "按原因统计的隔离行数", "取值不在词表中", "服务接触"):
        # Plotly writes figure text as JSON with \u escapes; the page text is plain.
        assert text in html or json.dumps(text)[1:-1] in html
    assert "Data loaded" not in html


def test_sections_without_their_tables_say_how_to_make_them(tmp_path):
    from touchpoint.warehouse import connect

    con = connect(tmp_path / "empty.duckdb")
    html = render_report(con, load_config(), lang="en")
    assert "touchpoint ingest" in html and "ingest_files" in html
