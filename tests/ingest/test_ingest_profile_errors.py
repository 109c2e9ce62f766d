"""Generated ingest profiles: valid ones load and apply, each kind of mistake is refused in
one line naming the file, the line and the field of the mistake."""

from __future__ import annotations

import pyarrow as pa
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from touchpoint.config import load_config
from touchpoint.contract import ENTITIES
from touchpoint.ingest import ProfileError, load_profile

CONFIG = load_config()
ENTITY = ENTITIES["call_records"]
STAMPS = [c.name for c in ENTITY.columns if c.dtype == "timestamp"]
PLAIN = [c.name for c in ENTITY.columns if c.dtype == "string" and not c.vocabulary]
NAMES = st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8).map(lambda s: "x" + s)
FORMATS = st.sampled_from(["%y%m%d", "%Y-%m-%d", "%d/%m/%Y", "%Y%m%d"])
TIMES = st.sampled_from(["%H:%M:%S", "%H%M%S", "%I:%M %p"])


@st.composite
def valid_profiles(draw) -> dict:
    columns: dict = {}
    for name in draw(st.lists(st.sampled_from(PLAIN), unique=True, max_size=4)):
        columns[name] = draw(NAMES)
    for name in draw(st.lists(st.sampled_from(STAMPS), unique=True, min_size=1, max_size=4)):
        if draw(st.booleans()):
            columns[name] = {"date": draw(NAMES), "time": draw(NAMES)}
        else:
            columns[name] = {"from": draw(NAMES), "format": f"{draw(FORMATS)} {draw(TIMES)}"}
    ids = CONFIG.ids("call_outcome")
    columns["outcome"] = {
        "from": draw(NAMES),
        "codes": draw(st.dictionaries(NAMES.map(str.upper), st.sampled_from(ids), max_size=4)),
        "missing": draw(st.lists(st.sampled_from(["-", "0", "NONE"]), unique=True)),
    }
    return {
        "version": 1,
        "entity": "call_records",
        "date_format": draw(FORMATS),
        "missing": ["0:00:00"],
        "columns": columns,
    }


def _mistakes(draw, profile: dict) -> tuple[tuple[str, ...], str]:
    """Spoil ``profile`` in one way; the path of the field to name and words of the reason."""
    columns = profile["columns"]
    stamp = next(n for n in columns if n in STAMPS)
    kind = draw(st.integers(0, 11))
    if kind == 0:
        profile["version"] = draw(st.integers(2, 9))
        return ("version",), "Input should be 1"
    if kind == 1:
        profile["entity"] = draw(NAMES)
        return ("entity",), "unknown entity"
    if kind == 2:
        key = draw(NAMES)
        profile[key] = "x"
        return (key,), "unknown field"
    if kind == 3:
        name = draw(NAMES)
        columns[name] = "x"
        return ("columns", name), "not a column of call_records"
    if kind == 4:
        key = draw(NAMES)
        columns["outcome"][key] = 1
        return ("columns", "outcome", key), "unknown field"
    if kind == 5:
        profile["date_format"] = draw(st.sampled_from(["%Q", "%Y-%m-%Q", "%k:%M", "no directive"]))
        return ("date_format",), "date_format"
    if kind == 6:
        name = draw(st.sampled_from(PLAIN))
        columns[name] = {"from": "a", "codes": {"A": "served"}}
        return ("columns", name), "has none"
    if kind == 7:
        code = draw(NAMES).upper()
        columns["outcome"]["codes"][code] = draw(NAMES)
        return ("columns", "outcome", "codes", code), "not a value of the vocabulary"
    if kind == 8:
        name = draw(st.sampled_from(PLAIN))
        columns[name] = {"date": "d", "time": "t"}
        return ("columns", name), "make a timestamp"
    if kind == 9:
        columns[stamp] = {"from": "a", "date": "d", "time": "t"}
        return ("columns", stamp), "not both"
    if kind == 10:
        columns[stamp] = {"time": "t"}
        return ("columns", stamp), "both 'date' and 'time'"
    columns[stamp] = {"date": "d", "time": "t", "after": stamp}  # itself: not given before
    return ("columns", stamp), "not a timestamp column given before it"


def _line_of_path(text: str, path: tuple[str, ...]) -> int:
    """The line of the key ``path`` in block-style YAML, found by indentation alone."""
    lines = text.splitlines()
    at = 0
    for depth, key in enumerate(path):
        prefix = " " * (2 * depth) + f"{key}:"
        at = next(i for i in range(at, len(lines)) if lines[i].startswith(prefix))
    return at + 1


GENERATED = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@GENERATED
@given(profile=valid_profiles())
def test_valid_profiles_load_and_map_every_rule(tmp_path, profile):
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(profile, sort_keys=False), encoding="utf-8")
    loaded = load_profile(path, CONFIG)
    inputs = {i for rule in loaded.columns.values() for i in rule.inputs}
    table = pa.table({name: ["0:00:00", "junk", None] for name in sorted(inputs)})
    out = loaded.apply(table)
    assert out.column_names == list(profile["columns"])  # every input used, nothing else
    for name in out.column_names:
        assert out.column(name)[0].as_py() is None  # the placeholder reads as missing
        assert out.column(name)[2].as_py() is None
    for name in STAMPS:
        if name in out.column_names:
            assert out.column(name)[1].as_py().endswith(")")  # "junk ... (not <format>)"


@GENERATED
@given(data=st.data())
def test_each_mistake_is_refused_naming_its_line_and_field(tmp_path, data):
    profile = data.draw(valid_profiles())
    path_of_field, reason = _mistakes(data.draw, profile)
    text = yaml.safe_dump(profile, sort_keys=False, default_flow_style=False)
    path = tmp_path / "p.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ProfileError) as caught:
        load_profile(path, CONFIG)
    message = str(caught.value)
    assert "\n" not in message
    field = ".".join(path_of_field)
    line = _line_of_path(text, path_of_field)
    assert message.startswith(f"{path}, line {line}, field '{field}': "), (message, text)
    assert reason in message
