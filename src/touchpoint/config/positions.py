"""YAML read with the position of every node, so a validation error can name its line."""

from __future__ import annotations

from typing import Any

import yaml


def yaml_with_positions(
    text: str, source: str, error: type[Exception]
) -> tuple[Any, yaml.Node | None]:
    """The data of ``text`` and its node tree (for :func:`yaml_line`); text that is not YAML
    raises ``error`` with ``source`` and the line where it broke.

    >>> yaml_with_positions("a: [1, 2]", "f.yaml", ValueError)[0]
    {'a': [1, 2]}
    >>> yaml_with_positions("a: [1,", "f.yaml", ValueError)
    Traceback (most recent call last):
    ValueError: f.yaml: line 1, column 7: not valid YAML: expected the node content, but found '<stream end>'
    """
    try:
        return yaml.safe_load(text), yaml.compose(text)
    except yaml.YAMLError as exc:
        raise error(not_valid_yaml(exc, source)) from None


def not_valid_yaml(exc: yaml.YAMLError, source: object) -> str:
    """The one-line message of every YAML file Touchpoint reads that does not parse:
    ``<source>: line L, column C: not valid YAML: <problem>``.

    >>> try:
    ...     yaml.safe_load("a: b\\nc: [d")
    ... except yaml.YAMLError as exc:
    ...     print(not_valid_yaml(exc, "x.yaml"))
    x.yaml: line 2, column 6: not valid YAML: expected ',' or ']', but got '<stream end>'
    """
    mark = getattr(exc, "problem_mark", None)
    where = f" line {mark.line + 1}, column {mark.column + 1}:" if mark else ""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return f"{source}:{where} not valid YAML: {problem}"


def yaml_line(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """The 1-based line of the node at ``loc`` (mapping keys and list indices, as pydantic
    gives them), or of the deepest part of it that exists.

    >>> root = yaml.compose("a:\\n  b: [x, y]\\n  c: 1\\n")
    >>> yaml_line(root, ("a", "c")), yaml_line(root, ("a", "b", 1)), yaml_line(root, ("z",))
    (3, 2, 1)
    """
    line = node.start_mark.line + 1 if node is not None else None
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            found = [(k, v) for k, v in node.value if k.value == str(key)]
            if not found:
                return line
            line = found[0][0].start_mark.line + 1
            node = found[0][1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            return line
    return line
