"""The report's sections (each capability adds its own; ``Section.order`` sets their order)."""

from touchpoint.report.context import Section
from touchpoint.report.sections import channels, customers, data, ivr, menu, quality, tags

SECTIONS: list[Section] = [
    data.SECTION,
    channels.SECTION,
    ivr.SECTION,
    menu.SECTION,
    customers.SECTION,
    tags.SECTION,
    quality.SECTION,
]
