"""The report's sections, one module each; ``Section.order`` sets their order.

Every module here that defines ``SECTION`` is a section: discovering them keeps this file free
of a list that every new capability would have to edit (as the command line finds its
``*_cmd`` modules).
"""

import importlib
import pkgutil

from touchpoint.report.context import Section

SECTIONS: list[Section] = sorted(
    (
        module.SECTION
        for module in (
            importlib.import_module(f"{__name__}.{info.name}")
            for info in pkgutil.iter_modules(__path__)
        )
        if isinstance(getattr(module, "SECTION", None), Section)
    ),
    key=lambda section: section.order,
)
