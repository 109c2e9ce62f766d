"""Tag settings: defaults, a configuration's `tags` section, refused values, the catalogue path."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import yaml

from touchpoint.errors import ConfigError
from touchpoint.tags import (
    DEFAULT_CATALOGUE_PATH,
    TagsSettings,
    current_catalogue,
    load_catalogue,
    resolve_catalogue_path,
    settings_from_config,
)


def test_defaults_and_a_configured_section():
    assert settings_from_config(None) == TagsSettings()
    configured = settings_from_config(SimpleNamespace(tags={"confidence": 0.9}))
    assert configured.confidence == 0.9 and configured.accepted_responses == ("accepted",)


@pytest.mark.parametrize("section", [{"confidence": 1.5}, {"confidence": 0.95, "colour": "red"}])
def test_bad_settings_are_refused_with_their_key(section):
    with pytest.raises(ConfigError, match=r"tags\.(confidence|colour)"):
        settings_from_config(SimpleNamespace(tags=section))


def test_catalogue_path_option_then_environment_then_default(tmp_path, monkeypatch):
    monkeypatch.delenv("TOUCHPOINT_TAGS", raising=False)
    assert resolve_catalogue_path() == DEFAULT_CATALOGUE_PATH
    own = tmp_path / "own.yaml"
    data = yaml.safe_load(DEFAULT_CATALOGUE_PATH.read_text(encoding="utf-8"))
    data["version"] = "operator-1"
    data["tags"] = data["tags"][:2]
    own.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("TOUCHPOINT_TAGS", str(own))
    assert load_catalogue().version == "operator-1"
    assert load_catalogue(DEFAULT_CATALOGUE_PATH).version == "2026.11"
    configured = SimpleNamespace(tags={"catalogue": str(DEFAULT_CATALOGUE_PATH)})
    assert len(current_catalogue(configured).tags) == 14  # the configuration names its file


def test_missing_or_broken_files_are_clear(tmp_path):
    with pytest.raises(ConfigError, match="tag catalogue not found"):
        load_catalogue(tmp_path / "nope.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("tags: [\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"line \d+, column \d+: not valid YAML"):
        load_catalogue(broken)
