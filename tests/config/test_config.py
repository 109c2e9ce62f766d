import pytest

from touchpoint.config import load_config
from touchpoint.errors import ConfigError


def test_defaults_carry_seed_000_costs():
    config = load_config()
    assert config.channel("agent").cost_per_contact_yuan == 0.77
    assert config.channel("ivr").cost_per_contact_yuan == 0.018
    assert config.channel("sms").cost_per_contact_yuan == 0.015
    # A store visit costs more than an agent call (brief).
    assert (
        config.channel("store").cost_per_contact_yuan
        > config.channel("agent").cost_per_contact_yuan
    )


def test_alias_maps_chinese_names_and_aliases_to_ids():
    aliases = load_config().alias_map("channel")
    assert aliases["热线人工"] == "agent"
    assert aliases["掌厅"] == "app"
    assert aliases["ivr"] == "ivr"


def test_user_file_renames_and_adds_values_without_code(tmp_path):
    path = tmp_path / "op.yaml"
    path.write_text(
        "version: 1\n"
        "vocabularies:\n"
        "  business:\n"
        "    - {id: payment, name_en: Top-up, name_zh: 充值, aliases: [缴费]}\n"
        "    - {id: roaming, name_en: Roaming, name_zh: 漫游}\n",
        encoding="utf-8",
    )
    config = load_config(path)
    assert config.ids("business") == ["payment", "roaming"]
    assert config.label("business", "payment", "zh") == "充值"
    # Other vocabularies keep their defaults.
    assert "gotone" in config.ids("brand")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("version: 1\ntimezone: Mars/Olympus\n", "timezone"),
        (
            "version: 1\nchannels:\n  - {id: x, name_en: X, name_zh: X, cost_per_contact_yuan: -1, is_self_service: true}\n",
            "channels.0.cost_per_contact_yuan",
        ),
        ("version: 2\n", "version"),
        (
            "version: 1\nvocabularies:\n  brand:\n    - {id: a, name_en: A, name_zh: A, aliases: [b]}\n    - {id: b, name_en: B, name_zh: B}\n",
            "names both",
        ),
        ("version: [1\n", "not valid YAML"),
    ],
)
def test_bad_values_are_refused_with_their_path(tmp_path, text, fragment):
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match="bad.yaml") as info:
        load_config(path)
    assert fragment in str(info.value)


def test_analytics_sections_of_a_user_file_reach_their_capability(tmp_path):
    from touchpoint.channels import settings_from_config
    from touchpoint.customers import settings_from_config as customers_settings

    path = tmp_path / "mine.yaml"
    path.write_text(
        "version: 1\nchannels_analytics:\n  repeat_window_hours: 48\n", encoding="utf-8"
    )
    config = load_config(path)
    assert settings_from_config(config).repeat_window_hours == 48
    assert config.section("channels_analytics") == {"repeat_window_hours": 48}
    assert load_config().section("channels_analytics") is None  # the built-in settings
    assert settings_from_config(load_config()).repeat_window_hours == 24
    assert customers_settings(config) == customers_settings(load_config())


def test_a_bad_value_in_an_analytics_section_names_its_path(tmp_path):
    from touchpoint.channels import settings_from_config

    path = tmp_path / "mine.yaml"
    path.write_text(
        "version: 1\nchannels_analytics:\n  repeat_window_hourz: 48\n", encoding="utf-8"
    )
    with pytest.raises(ConfigError, match="repeat_window_hourz"):
        settings_from_config(load_config(path))


def test_labels_fall_back_to_the_id_when_a_value_or_vocabulary_is_not_configured():
    config = load_config()
    assert config.label("region", "nanchong", "zh") == "南充"
    assert config.label("region", "lhasa", "zh") == "lhasa"
    without_regions = config.model_copy(
        update={"vocabularies": {k: v for k, v in config.vocabularies.items() if k != "region"}}
    )
    assert without_regions.label("region", "nanchong", "zh") == "nanchong"
    assert without_regions.label("business", "payment", "zh") == "缴费"


def test_the_default_configuration_names_the_built_in_operators_menu():
    """The defaults describe the synthetic operator: every simulated menu node has its names."""
    from touchpoint.simulate import load_params

    config = load_config()
    for node in load_params().ivr_menu:
        assert config.label("ivr_node", node.id, "en") == node.en
        assert config.label("ivr_node", node.id, "zh") == node.zh
