"""The shared settings-section helper: defaults merge, every error message, the capabilities' use."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from pydantic import BaseModel, ConfigDict, Field, model_validator

from touchpoint.config import (
    SectionSettings,
    SettingsSection,
    load_config,
    read_settings_file,
    registered_sections,
    section_settings,
)
from touchpoint.config.sections import section_defaults
from touchpoint.errors import ConfigError


class Windows(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    days: int = Field(default=7, ge=1)
    hours: int = 24
    label: str = Field(default="w", alias="name")

    @model_validator(mode="after")
    def _short(self) -> Windows:
        if self.days * 24 < self.hours:
            raise ValueError(f"hours={self.hours} exceed days={self.days}")
        return self


@pytest.fixture
def defaults(tmp_path):
    path = tmp_path / "defaults.yaml"
    path.write_text("windows:\n  days: 3\n  hours: 12\nother:\n  days: 9\n", encoding="utf-8")
    return path


def validate(defaults, value, **kwargs):
    return section_settings(Windows, "windows", defaults, source="src", value=value, **kwargs)


def test_the_section_overrides_only_the_defaults_it_gives(defaults):
    assert validate(defaults, None) == Windows(days=3, hours=12)
    assert validate(defaults, {"hours": 5}) == Windows(days=3, hours=5)
    assert validate(defaults, {"days": 1, "name": "x"}) == Windows(days=1, hours=12, label="x")
    # A defaults file without the section, or no file at all, leaves the model's defaults.
    assert section_settings(Windows, "absent", defaults, source="s", value=None) == Windows()
    assert section_settings(Windows, "w", None, source="s", value={"days": 2}).days == 2
    # Each (file, section) pair has its own defaults.
    assert section_settings(Windows, "other", defaults, source="s", value=None).days == 9


def test_models_are_kept_or_dumped_by_alias(defaults):
    ready = Windows(days=40)
    assert validate(defaults, ready) is ready  # no merge with the defaults

    class Foreign(BaseModel):
        label: str = Field(alias="name")

    assert validate(defaults, Foreign(name="z")) == Windows(days=3, hours=12, label="z")


@pytest.mark.parametrize(("value", "found"), [([1, 2], "list"), ("days", "str"), (0, "int")])
def test_a_section_that_is_not_a_mapping_is_refused(defaults, value, found):
    with pytest.raises(ConfigError) as info:
        validate(defaults, value)
    assert str(info.value) == f"src: windows must be a mapping, found {found}"


def test_every_problem_is_listed_with_its_dotted_path_and_value(defaults):
    with pytest.raises(ConfigError) as info:
        validate(defaults, {"days": 0, "weeks": 2})
    assert str(info.value) == (
        "src: windows.days: Input should be greater than or equal to 1 (got 0); "
        "windows.weeks: Extra inputs are not permitted (got 2)"
    )
    with pytest.raises(ConfigError) as info:
        validate(defaults, {"days": 0, "weeks": 2}, show_input=False)
    assert str(info.value) == (
        "src: windows.days: Input should be greater than or equal to 1; "
        "windows.weeks: Extra inputs are not permitted"
    )
    # A problem of the whole section (a model validator) has no key: it is named (section).
    with pytest.raises(ConfigError) as info:
        validate(defaults, {"days": 1, "hours": 30}, show_input=False)
    assert str(info.value) == "src: windows.(section): Value error, hours=30 exceed days=1"


def test_reading_a_settings_file(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("windows:\n  days: 2\nelse: 1\n", encoding="utf-8")
    assert read_settings_file(path, "windows") == {"days": 2}
    assert read_settings_file(str(path), "absent") is None
    path.write_text("", encoding="utf-8")
    assert read_settings_file(path, "windows") is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (None, "{path}: settings file not found"),
        (
            "windows: [\n",
            "{path}: line 2, column 1: not valid YAML: expected the node content, but found '<stream end>'",
        ),
        ("- windows\n", "{path}: expected a mapping at the top level"),
    ],
)
def test_settings_file_errors_name_the_file(tmp_path, text, message):
    path = tmp_path / "mine.yaml"
    if text is not None:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        read_settings_file(path, "windows")
    assert str(info.value) == message.format(path=path)  # one line only


def test_a_settings_section_loads_files_and_configurations(defaults, tmp_path):
    section = SettingsSection(Windows, "windows", defaults)
    assert section.load() == Windows(days=3, hours=12)
    path = tmp_path / "mine.yaml"
    path.write_text("windows:\n  hours: 1\n", encoding="utf-8")
    assert section.load(path) == Windows(days=3, hours=1)
    path.write_text("windows:\n  hours: -1\n  days: 0\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"^{path}: windows\.days: .* \(got 0\)$"):
        section.load(str(path))
    assert section.from_config(SimpleNamespace(windows={"days": 5})).days == 5
    assert section.from_config(SimpleNamespace()) == section.from_config(None) == section.load()
    with pytest.raises(ConfigError, match=r"^configuration: windows must be a mapping"):
        section.from_config(SimpleNamespace(windows=[]))


def test_the_capabilities_keep_their_messages(tmp_path):
    from touchpoint.channels import load_channels_settings
    from touchpoint.customers import load_customers_settings
    from touchpoint.ivr import load_menu_design_settings

    missing = tmp_path / "nope.yaml"
    for load in (load_channels_settings, load_customers_settings, load_menu_design_settings):
        with pytest.raises(ConfigError, match=rf"^{missing}: settings file not found$"):
            load(missing)
    path = tmp_path / "bad.yaml"
    path.write_text(
        "channels_analytics: 3\ncustomers_analytics:\n  new_subscriber_months: 0\n"
        "ivr_menu_design:\n  promote_min_depth: 2\n  promote_to_depth: 3\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"channels_analytics must be a mapping, found int$"):
        load_channels_settings(path)
    with pytest.raises(ConfigError) as info:  # customers do not quote the refused value
        load_customers_settings(path)
    assert str(info.value).endswith(
        "customers_analytics.new_subscriber_months: Input should be greater than or equal to 1"
    )
    with pytest.raises(ConfigError, match=r"ivr_menu_design\.\(section\): .*promote_min_depth"):
        load_menu_design_settings(path)


def _a_configuration_with(tmp_path, text):
    # A file per text: load_config caches by path.
    path = tmp_path / f"mine{abs(hash(text))}.yaml"
    path.write_text("version: 1\n" + text, encoding="utf-8")
    return load_config(path)


def test_a_section_needs_no_field_in_the_central_model_and_an_unknown_one_is_refused(tmp_path):
    from touchpoint.pipeline import check_config

    config = _a_configuration_with(tmp_path, "tags:\n  confidence: 0.9\n")
    assert "tags" not in type(config).model_fields
    check_config(config)  # every capability registered: the section is claimed
    typo = _a_configuration_with(tmp_path, "customer_analytics:\n  new_subscriber_months: 2\n")
    with pytest.raises(ConfigError) as info:
        check_config(typo)
    message = str(info.value)
    assert message.startswith("configuration: unknown section 'customer_analytics' (known: ")
    known = message.split("(known: ", 1)[1].split(")", 1)[0].split(", ")
    # Every capability's section is named, in order; a new capability adds its own.
    assert known == sorted(known)
    assert {"channels_analytics", "customers_analytics", "ivr_analytics", "tags"} <= set(known)
    bad = _a_configuration_with(tmp_path, "tags:\n  confidence: 2\n")
    with pytest.raises(ConfigError, match=r"^configuration: tags\.confidence: "):
        check_config(bad)


def test_two_models_may_not_claim_one_section():
    from touchpoint.channels import ChannelsSettings
    from touchpoint.tags import TagsSettings

    with pytest.raises(ConfigError, match="'tags' is declared twice"):
        SettingsSection(ChannelsSettings, "tags", None)
    assert registered_sections()["tags"].model is TagsSettings


def test_defaults_live_once_in_the_yaml_file():
    """A model deriving from SectionSettings gives no default of a key its YAML file holds,
    and constructing it bare gives exactly the file's values (no split between the two)."""
    import touchpoint.pipeline  # noqa: F401  (imports every capability: all sections known)

    checked = 0
    for name, section in registered_sections().items():
        if not issubclass(section.model, SectionSettings):
            continue
        from_yaml = section_defaults(section.defaults_path, name)
        for field_name in from_yaml:
            field = section.model.model_fields[field_name]
            assert field.is_required(), f"{name}.{field_name} has a default in the model too"
        assert section.model() == section.load(), name
        checked += 1
    assert checked >= 4  # channels, ivr, customers, tags


def test_a_nested_settings_model_keeps_the_defaults_a_user_leaves_out(tmp_path):
    from touchpoint.customers import load_customers_settings

    path = tmp_path / "c.yaml"
    path.write_text("customers_analytics:\n  identity:\n    max_points: 100\n", encoding="utf-8")
    identity = load_customers_settings(path).identity
    assert (identity.max_points, identity.any_flag) == (100, ("is_group_key_person",))
