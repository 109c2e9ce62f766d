"""IVR settings: defaults from YAML, overrides, and refusals that name the key and the value."""

import pytest

from touchpoint.config import load_config
from touchpoint.errors import ConfigError
from touchpoint.ivr import IvrSettings, load_ivr_settings, settings_from_config


def test_defaults():
    settings = load_ivr_settings()
    assert settings == IvrSettings()
    assert settings.verified_window_seconds == 24 * 3600
    assert settings.transfer_event_type == "transfer_agent"  # from the channel settings


def test_file_overrides_and_refusals(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("ivr_analytics:\n  verified_window_hours: 48\n  top_paths: 10\n")
    assert load_ivr_settings(path).verified_window_hours == 48
    path.write_text("ivr_analytics:\n  verified_window_hours: -1\n")
    with pytest.raises(ConfigError, match="verified_window_hours.*-1"):
        load_ivr_settings(path)
    path.write_text("ivr_analytics:\n  complete_event_type: done\n")
    with pytest.raises(ConfigError, match="complete_event_type: 'done' is not a configured"):
        load_ivr_settings(path, config=load_config())


def test_settings_from_config():
    assert settings_from_config(load_config()).lost_min_visits == 30
