"""Campaign definitions: YAML validated by pydantic, every problem in one positioned line."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from touchpoint.config.positions import yaml_line, yaml_with_positions
from touchpoint.errors import TouchpointError

ACTIONS = (
    "divert_store_payment_to_self_service",
    "divert_agent_to_self_service",
    "retention_offer",
    "cross_sell",
)
#: Channels a work order can go through (the channel systems that take a dispatched file).
WORK_ORDER_CHANNELS = ("sms", "outbound_call", "app", "agent_screen", "web")


@dataclass(frozen=True)
class FieldProblem:
    """One problem of a campaign definition: the ``field`` (``holdout_share``, ``name.en``;
    ``campaign`` for the whole), its ``line`` in a file, pydantic's error ``kind`` with its
    ``values`` (``lt``, ``expected``, ...), so an adapter can say it in its own language, and
    the English ``message`` the command line prints."""

    field: str
    line: int | None
    kind: str
    values: dict[str, Any]
    message: str


class CampaignError(TouchpointError, ValueError):
    """A campaign definition or a work-order step is refused (one line: what and where).

    ``problems`` holds each problem of a definition by field (empty for a refused step)."""

    def __init__(self, message: str, problems: Sequence[FieldProblem] = ()) -> None:
        super().__init__(message)
        self.problems: tuple[FieldProblem, ...] = tuple(problems)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(_Strict):
    en: str = Field(min_length=1)
    zh: str = Field(min_length=1)


class Audience(_Strict):
    """Who the campaign targets: a rule over the customer 360, or members of any listed tag."""

    rule: str | None = None
    tags: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _one_of(self) -> Audience:
        if (self.rule is None) == (not self.tags):
            raise ValueError("give exactly one of 'rule' (a tag-language rule) or 'tags'")
        return self


class Campaign(_Strict):
    """One campaign (see docs/campaigns.md for the YAML).

    >>> c = campaign_from_data({"id": "c1", "name": {"en": "A", "zh": "甲"},
    ...     "action": "retention_offer", "audience": {"tags": ["churn_risk"]}})
    >>> c.holdout_share, c.channels, c.waves
    (0.1, ('sms',), 1)
    """

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_\-]{0,63}$")
    name: Text
    action: Literal[ACTIONS]  # type: ignore[valid-type]
    audience: Audience
    channels: tuple[Literal[WORK_ORDER_CHANNELS], ...] = ("sms",)  # type: ignore[valid-type]
    script: Text | None = None
    waves: int = Field(default=1, ge=1, le=24)
    max_size: int | None = Field(default=None, ge=1)
    budget_yuan: float | None = Field(default=None, gt=0)
    holdout_share: float = Field(default=0.1, gt=0, lt=1)
    priority: int = Field(default=0, ge=0, le=100)
    send_hour: int = Field(default=10, ge=0, le=23)
    start_date: dt.date | None = None

    def fingerprint(self) -> str:
        """A short hash of the definition: a new version is stored when it changes."""
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _plain(value: Any) -> str:
    """A bound as people write it: ``1``, not ``1.0``."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _problems(exc: ValidationError, root: yaml.Node | None) -> list[FieldProblem]:
    out = []
    for err in exc.errors():
        loc = tuple(x for x in err["loc"] if not str(x).startswith("function-after"))
        name = ".".join(str(x) for x in loc) or "campaign"
        message = err["msg"].removeprefix("Value error, ")
        got = (
            "input" in err
            and err["type"] not in ("missing",)
            and not isinstance(err["input"], (dict, list))
        )
        if got:
            message += f" (got {err['input']!r})"
        values = {k: _plain(v) for k, v in (err.get("ctx") or {}).items() if k != "error"}
        if got:
            values["input"] = str(err["input"])
        out.append(FieldProblem(name, yaml_line(root, loc), err["type"], values, message))
    return out


def _line(problem: FieldProblem, source: str) -> str:
    where = f"{source}, line {problem.line}" if problem.line else source
    return f"{where}, field '{problem.field}': {problem.message}"


def campaign_from_data(
    data: Mapping[str, Any], source: str = "campaign", root: yaml.Node | None = None
) -> Campaign:
    """Validate ``data``; every problem is named with its field (and line, from a file)."""
    if not isinstance(data, Mapping):
        kind = type(data).__name__
        problem = FieldProblem("campaign", None, "not_a_mapping", {"input": kind}, "")
        raise CampaignError(f"{source}: a campaign is a mapping of fields, got {kind}", [problem])
    try:
        return Campaign.model_validate(dict(data))
    except ValidationError as exc:
        problems = _problems(exc, root)
        raise CampaignError("; ".join(_line(p, source) for p in problems), problems) from None


def campaign_from_text(text: str, source: str = "campaign") -> Campaign:
    """Read and validate a campaign's YAML text (``source`` names it in the messages).

    Raises
    ------
    CampaignError
        One line naming ``source``, the line and field of every problem (``problems`` holds
        them one by one); text that is not YAML names the line where it broke.
    """
    data, root = yaml_with_positions(text, source, CampaignError)
    return campaign_from_data(data, source, root)


def load_campaign(path: str | Path) -> Campaign:
    """Read and validate a campaign YAML file.

    Raises
    ------
    CampaignError
        One line naming the file, the line and field of every problem.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CampaignError(f"{path}: cannot read the campaign file ({exc.strerror})") from None
    return campaign_from_text(text, str(path))
