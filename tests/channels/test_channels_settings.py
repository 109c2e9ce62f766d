"""The channels_analytics settings: defaults, overrides, refusals."""

import ibis
import pytest

from touchpoint.channels import (
    ChannelsSettings,
    build,
    load_channels_settings,
    settings_from_config,
)
from touchpoint.errors import ConfigError, SchemaError


def test_defaults_are_the_metrics_md_windows():
    settings = load_channels_settings()
    assert settings.repeat_window_hours == 24
    assert settings.repeat_window_seconds == 24 * 3600
    assert settings.escalation_window_minutes == 60
    assert settings == ChannelsSettings()


def test_a_file_overrides_only_what_it_gives(tmp_path, config):
    path = tmp_path / "mine.yaml"
    path.write_text("channels_analytics:\n  repeat_window_hours: 48\n", encoding="utf-8")
    settings = load_channels_settings(path, config=config)
    assert settings.repeat_window_hours == 48
    assert settings.escalation_window_minutes == 60


def test_bad_values_name_the_key_and_the_value(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(
        "channels_analytics:\n  escalation_window_minutes: -5\n  repeat_hours: 3\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as info:
        load_channels_settings(path)
    message = str(info.value)
    assert "bad.yaml" in message
    assert "channels_analytics.escalation_window_minutes" in message and "-5" in message
    assert "channels_analytics.repeat_hours" in message


def test_ids_must_exist_in_the_configuration(config):
    with pytest.raises(
        ConfigError, match=r"transfer_event_type: 'hotline' is not a configured ivr_event_type"
    ):
        ChannelsSettings(transfer_event_type="hotline").check_against(config)


def test_settings_travel_on_the_configuration_when_it_carries_them(config):
    assert settings_from_config(config) == ChannelsSettings()
    carrier = config.model_copy(update={"channels_analytics": {"repeat_window_hours": 6}})
    assert settings_from_config(carrier).repeat_window_hours == 6


def test_the_hotline_channels_come_from_the_configuration(config):
    assert (ChannelsSettings().ivr_channel, ChannelsSettings().agent_channel) == ("ivr", "agent")
    channels = [
        c.model_copy(update={"hotline_leg": {"ivr": None, "web": "ivr"}.get(c.id, c.hotline_leg)})
        for c in config.channels
    ]
    moved = config.model_copy(update={"channels": tuple(channels)})
    assert settings_from_config(moved).ivr_channel == "web"
    assert settings_from_config(moved).agent_channel == "agent"
    with pytest.raises(ConfigError, match="channels_analytics.ivr_channel: Extra inputs"):
        settings_from_config(config.model_copy(update={"channels_analytics": {"ivr_channel": "x"}}))


def test_missing_contact_columns_are_named(config):
    contacts = ibis.memtable({"contact_id": ["k1"], "customer_id": ["a"]})
    with pytest.raises(SchemaError, match="stg_contacts: missing column.*started_at.*call_id"):
        build({"stg_contacts": contacts}, config)
