"""The report's sections, in the order they appear (each capability adds its own)."""

from touchpoint.report.context import Section
from touchpoint.report.sections import channels, data, menu

SECTIONS: list[Section] = [data.SECTION]
SECTIONS.append(menu.SECTION)
SECTIONS.append(channels.SECTION)
