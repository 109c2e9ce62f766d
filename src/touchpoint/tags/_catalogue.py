"""The tag catalogue: tags declared in YAML, validated by pydantic, rules checked by position.

The default catalogue is ``catalogue.yaml`` beside this module. An operator's own file replaces
it: ``--tags FILE`` on the ``touchpoint tags`` commands, or ``$TOUCHPOINT_TAGS`` (which the
pipeline's ``tags`` step also honours).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import ibis.expr.schema as sch
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from touchpoint.config import Config
from touchpoint.config.positions import not_valid_yaml
from touchpoint.errors import ConfigError, RuleError
from touchpoint.tags._rules import (
    Node,
    RuleSyntaxError,
    check_tree,
    columns_of,
    parameters_of,
    parse_rule,
)

DEFAULT_CATALOGUE_PATH = Path(__file__).parent / "catalogue.yaml"
CATALOGUE_ENV = "TOUCHPOINT_TAGS"


class CatalogueError(RuleError):
    """A catalogue with problems; ``problems`` lists each one (tag, field, column, reason)."""

    def __init__(self, source: str, problems: Sequence[str]) -> None:
        self.source = source
        self.problems = list(problems)
        where = f"{source}: " if source else ""
        super().__init__(f"{where}{len(self.problems)} problem(s): " + "; ".join(self.problems))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(_Strict):
    """A text in English and Simplified Chinese."""

    en: str = Field(min_length=1)
    zh: str = Field(min_length=1)

    def get(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


class Hint(_Strict):
    """The marketing hint shown to frontline staff: what to say, when, through which channel."""

    script: Text
    timing: Text
    channel: str = Field(pattern=r"^[a-z][a-z0-9_]*$")


class AppliesTo(_Strict):
    """Who a tag is meant for; a customer outside it is never a member (empty: everyone)."""

    brands: tuple[str, ...] = ()
    value_tiers: tuple[str, ...] = ()
    rule: str | None = None

    def as_rule(self) -> str | None:
        """The scope as one rule of the tag language (``None`` when the tag applies to all)."""
        parts = []
        if self.brands:
            parts.append(f"brand in [{', '.join(_quote(b) for b in self.brands)}]")
        if self.value_tiers:
            parts.append(f"value_tier in [{', '.join(_quote(v) for v in self.value_tiers)}]")
        if self.rule:
            parts.append(f"({self.rule})")
        return " and ".join(parts) or None


def _quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


class Tag(_Strict):
    """One tag: who it marks (``rule``), for whom (``applies_to``) and what to do about it."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)
    name: Text
    definition: Text
    rule: str = Field(min_length=1)
    applies_to: AppliesTo = AppliesTo()
    hint: Hint
    owner: str = Field(min_length=1)
    version: int = Field(default=1, ge=1)
    category: str = Field(default="profile", pattern=r"^[a-z][a-z0-9_]*$")

    def fingerprint(self, parameters: Mapping[str, Any]) -> str:
        """A hash of what decides membership: the rule, the scope and the parameters they use.

        Editing any of them changes the fingerprint, which :func:`resolve_versions` turns into
        a new version.
        """
        used: set[str] = set()
        for text in (self.rule, self.applies_to.as_rule()):
            # A rule that does not parse uses no parameter; it is refused elsewhere.
            with contextlib.suppress(RuleSyntaxError):
                used |= parameters_of(parse_rule(text)) if text else set()
        payload = {
            "rule": " ".join(self.rule.split()),
            "scope": " ".join((self.applies_to.as_rule() or "").split()),
            "parameters": {name: parameters[name] for name in sorted(used) if name in parameters},
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


class Catalogue(_Strict):
    """A versioned set of tags and the named parameters (``$name``) their rules may use."""

    format_version: int = Field(default=1, ge=1, le=1)
    version: str = Field(min_length=1, description="the catalogue's release, e.g. 2026.11")
    parameters: dict[str, int | float | str | bool] = Field(default_factory=dict)
    tags: tuple[Tag, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> Catalogue:
        seen: set[str] = set()
        for tag in self.tags:
            if tag.id in seen:
                raise ValueError(f"tag id {tag.id!r} appears twice; ids must be unique")
            seen.add(tag.id)
        return self

    def tag(self, tag_id: str) -> Tag:
        for tag in self.tags:
            if tag.id == tag_id:
                return tag
        import difflib

        close = difflib.get_close_matches(tag_id, [t.id for t in self.tags], n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(
            f"no tag {tag_id!r} in catalogue {self.version}{hint}; "
            "list them with `touchpoint tags list`"
        )

    @cached_property
    def trees(self) -> dict[str, tuple[Node, Node | None]]:
        """Parsed (rule, scope) per tag id; only for a catalogue :func:`check_catalogue` passed."""
        out = {}
        for tag in self.tags:
            scope = tag.applies_to.as_rule()
            out[tag.id] = (parse_rule(tag.rule), parse_rule(scope) if scope else None)
        return out


def _problems_of(tag: Tag, schema: sch.Schema, parameters: Mapping[str, Any]) -> list[str]:
    problems = []
    for what, text in (("rule", tag.rule), ("applies_to.rule", tag.applies_to.rule)):
        if text is None:
            continue
        try:
            tree = parse_rule(text)
        except RuleSyntaxError as exc:
            problems.append(f"tag {tag.id}: {what} {exc.problem}")
            continue
        for problem in check_tree(tree, schema, parameters):
            problems.append(f"tag {tag.id}: {what} {problem}")
    return problems


def catalogue_problems(
    catalogue: Catalogue, schema: sch.Schema, config: Config | None = None
) -> list[str]:
    """Every problem of ``catalogue`` against a 360 ``schema`` (and ``config``'s ids), in order.

    A rule's problems name the tag, the field and the 1-based column within that field's text:
    ``tag sensitive_customer: rule column 14: unknown column 'n_complaint_3m' (did you mean
    'n_complaints_3m'?)``.
    """
    problems: list[str] = []
    brands = set(config.ids("brand")) if config is not None else None
    tiers = set(config.ids("value_tier")) if config is not None else None
    channels = set(config.ids("channel")) if config is not None else None
    for tag in catalogue.tags:
        problems += _problems_of(tag, schema, catalogue.parameters)
        if config is None:
            continue
        for field, values, allowed in (
            ("applies_to.brands", tag.applies_to.brands, brands),
            ("applies_to.value_tiers", tag.applies_to.value_tiers, tiers),
            ("hint.channel", (tag.hint.channel,), channels),
        ):
            for value in values:
                if allowed is not None and value not in allowed:
                    problems.append(
                        f"tag {tag.id}: {field}: {value!r} is not configured "
                        f"(expected one of {', '.join(sorted(allowed))})"
                    )
    return problems


def check_catalogue(
    catalogue: Catalogue, schema: sch.Schema, config: Config | None = None, source: str = ""
) -> Catalogue:
    """``catalogue`` if every rule is valid over ``schema``; else a RuleError listing them all."""
    problems = catalogue_problems(catalogue, schema, config)
    if problems:
        raise CatalogueError(source, problems)
    return catalogue


def _pydantic_problems(exc: ValidationError, data: Any) -> list[str]:
    problems = []
    for err in exc.errors():
        loc = list(err["loc"])
        where = ".".join(str(p) for p in loc) or "(top)"
        if len(loc) >= 2 and loc[0] == "tags" and isinstance(loc[1], int):
            try:
                tag_id = data["tags"][loc[1]].get("id", f"#{loc[1] + 1}")
            except (KeyError, IndexError, TypeError, AttributeError):
                tag_id = f"#{loc[1] + 1}"
            where = f"tag {tag_id}: " + (".".join(str(p) for p in loc[2:]) or "(tag)")
        problems.append(f"{where}: {err['msg']}")
    return problems


def catalogue_from_data(data: Any, source: str = "catalogue") -> Catalogue:
    """Validate a parsed YAML document as a catalogue; all structural problems in one error."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping with 'version' and 'tags'")
    try:
        return Catalogue.model_validate(data)
    except ValidationError as exc:
        raise CatalogueError(source, _pydantic_problems(exc, data)) from None


def resolve_catalogue_path(path: str | os.PathLike[str] | None = None) -> Path:
    """``path`` if given, else ``$TOUCHPOINT_TAGS``, else the built-in catalogue."""
    chosen = path if path not in (None, "") else os.environ.get(CATALOGUE_ENV) or None
    return Path(chosen).expanduser() if chosen else DEFAULT_CATALOGUE_PATH


def load_catalogue(path: str | os.PathLike[str] | None = None) -> Catalogue:
    """Read and validate a catalogue file (see :func:`resolve_catalogue_path` for the default).

    Rules are parsed and type-checked later, against a 360 schema (:func:`check_catalogue`).

    >>> catalogue = load_catalogue()
    >>> catalogue.tag("sensitive_customer").name.zh
    '敏感客户'
    """
    source = resolve_catalogue_path(path)
    try:
        stat = source.stat()
    except FileNotFoundError:
        raise ConfigError(f"{source}: tag catalogue not found") from None
    # A file read again only when it changed: the server shows tags on every card.
    return _load_catalogue_file(str(source), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=8)
def _load_catalogue_file(name: str, mtime_ns: int, size: int) -> Catalogue:
    source = Path(name)
    try:
        data = yaml.safe_load(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{source}: tag catalogue not found") from None
    except yaml.YAMLError as exc:
        raise ConfigError(not_valid_yaml(exc, source)) from None
    return catalogue_from_data(data, str(source))


def resolve_versions(catalogue: Catalogue, history: Iterable[Mapping[str, Any]]) -> Catalogue:
    """The catalogue with each tag's version bumped when its rule changed since it was recorded.

    ``history`` holds earlier definitions (``tag_id``, ``version``, ``fingerprint``), e.g. the
    rows of ``mart_tag_definitions``. A tag whose fingerprint was seen before keeps that
    version; a new fingerprint gets ``max(declared, highest recorded + 1)``; an unseen tag keeps
    its declared version. So editing a rule without touching ``version`` still gives a new
    version, and ratings of the old rule stay with the old version.
    """
    seen: dict[tuple[str, str], int] = {}
    highest: dict[str, int] = {}
    for row in history:
        tag_id, version = str(row["tag_id"]), int(row["version"])
        seen[(tag_id, str(row["fingerprint"]))] = version
        highest[tag_id] = max(highest.get(tag_id, 0), version)
    tags = []
    for tag in catalogue.tags:
        fingerprint = tag.fingerprint(catalogue.parameters)
        if (tag.id, fingerprint) in seen:
            version = seen[(tag.id, fingerprint)]
        elif tag.id in highest:
            version = max(tag.version, highest[tag.id] + 1)
        else:
            version = tag.version
        tags.append(tag.model_copy(update={"version": version}))
    return catalogue.model_copy(update={"tags": tuple(tags)})


def referenced_columns(catalogue: Catalogue) -> set[str]:
    """Every 360 column some rule or scope of ``catalogue`` uses."""
    used: set[str] = set()
    for rule, scope in catalogue.trees.values():
        used |= columns_of(rule)
        if scope is not None:
            used |= columns_of(scope)
    return used


def tag_ids(catalogue: Catalogue) -> Sequence[str]:
    return [tag.id for tag in catalogue.tags]
