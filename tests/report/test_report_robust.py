"""The report's and the CLI's shared formatters never fail on a value they cannot show."""

from __future__ import annotations

import decimal
import math

import numpy as np
import pytest

from touchpoint.config import load_config
from touchpoint.labels import (
    INVALID,
    format_date,
    format_money,
    format_number,
    format_percent,
    format_value,
)
from touchpoint.report import Markdown, Section, render_report
from touchpoint.report.sections import SECTIONS


@pytest.mark.parametrize("broken", [math.inf, -math.inf, 1e300, -1e15, INVALID])
@pytest.mark.parametrize(("lang", "shown"), [("en", "invalid"), ("zh", "无效")])
def test_a_value_no_figure_can_be_is_shown_as_invalid(broken, lang, shown):
    assert format_number(broken, lang) == shown
    assert format_percent(broken, lang) == shown
    assert format_money(broken, lang) == shown
    assert format_value(broken, lang) == shown


def test_ordinary_values_are_formatted_as_before():
    # Hand-worked: the formats the report and the README show.
    assert format_number(np.int64(1_234_567), "en") == "1,234,567"
    assert format_number(decimal.Decimal("12.5"), "en", 1) == "12.5"
    assert format_number(999_999_999_999_999.0, "zh") == "10,000,000.00亿"
    assert format_money(28_050_000 * 0.018, "en") == "¥504,900"
    assert format_percent(np.float64(0.41149), "en") == "41.1%"
    assert format_value(True, "en") == "✓" and format_value(None, "zh") == "–"
    # NaN is pandas' missing value (a SQL NULL), not a broken one.
    assert format_number(math.nan, "en") == "–"
    assert format_date(INVALID, "zh") == "无效"


def test_a_section_that_fails_on_its_data_says_so_and_the_others_render(tiny_warehouse):
    def broken(ctx):
        raise ValueError("year 0 is out of range")

    before = list(SECTIONS)
    ok = Section(id="data", order=1, build=lambda ctx: [Markdown("still here")])
    bad = Section(id="customers", order=2, build=broken)
    html = render_report(tiny_warehouse, load_config(), lang="en", sections=[ok, bad])
    assert "still here" in html
    assert "Not shown: the warehouse holds a value this section cannot show" in html
    assert "year 0 is out of range" in html
    assert before == SECTIONS  # the real sections are untouched
