"""Configuration: versioned YAML with documented defaults, validated by pydantic.

>>> from touchpoint.config import load_config
>>> config = load_config()
>>> config.channel("agent").cost_per_contact_yuan
0.77
"""

from touchpoint.config.loading import DEFAULT_CONFIG_PATH, load_config
from touchpoint.config.models import Channel, Config, VocabEntry
from touchpoint.config.sections import (
    HotlineSettings,
    SectionSettings,
    SettingsSection,
    check_sections,
    merge_over_defaults,
    read_settings_file,
    registered_sections,
    section_settings,
)

__all__ = [
    "DEFAULT_CONFIG_PATH",
    "Channel",
    "Config",
    "HotlineSettings",
    "SectionSettings",
    "SettingsSection",
    "VocabEntry",
    "check_sections",
    "load_config",
    "merge_over_defaults",
    "read_settings_file",
    "registered_sections",
    "section_settings",
]
