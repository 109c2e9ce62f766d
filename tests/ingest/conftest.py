"""Fixtures of the ingest tests; the sample builders are in ingest_samples.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from touchpoint.warehouse import connect


@pytest.fixture
def con():
    connection = connect(":memory:")
    yield connection
    connection.disconnect()


@pytest.fixture
def write(tmp_path: Path):
    """``write(name, text_or_bytes, encoding="utf-8")`` -> the path of a new source file."""

    def _write(name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
        return path

    return _write
