"""The report's sections, in the order they appear (each capability adds its own)."""

from touchpoint.report.context import Section
from touchpoint.report.sections import data

SECTIONS: list[Section] = [data.SECTION]

from touchpoint.report.sections import ivr  # noqa: E402

SECTIONS.append(ivr.SECTION)
