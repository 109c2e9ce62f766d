"""The report's sections, in the order they appear (each capability adds its own)."""

from touchpoint.report.context import Section
from touchpoint.report.sections import data

SECTIONS: list[Section] = [data.SECTION]

from touchpoint.report.sections import customers  # noqa: E402

SECTIONS.append(customers.SECTION)

from touchpoint.report.sections import tags  # noqa: E402

SECTIONS.append(tags.SECTION)
