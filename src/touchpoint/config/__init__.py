"""Configuration: versioned YAML with documented defaults, validated by pydantic.

>>> from touchpoint.config import load_config
>>> config = load_config()
>>> config.channel("agent").cost_per_contact_yuan
0.77
"""

from touchpoint.config.loading import DEFAULT_CONFIG_PATH, load_config
from touchpoint.config.models import Channel, Config, VocabEntry
from touchpoint.config.sections import SettingsSection, read_settings_file, section_settings

__all__ = [
    "DEFAULT_CONFIG_PATH",
    "Channel",
    "Config",
    "SettingsSection",
    "VocabEntry",
    "load_config",
    "read_settings_file",
    "section_settings",
]
