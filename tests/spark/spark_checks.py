"""Checks shared by the Spark command-line tests: a refusal is one line, and which tables a
warehouse holds (to see that a refused run wrote nothing)."""

from __future__ import annotations

from touchpoint.warehouse import connect


def one_line(result) -> str:
    """The one ``error: ...`` line a refused command printed (its exit code not 0)."""
    assert result.exit_code != 0, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    return lines[0]


def warehouse_tables(path) -> list[str]:
    """The tables of the warehouse at ``path``, sorted."""
    con = connect(str(path))
    try:
        return sorted(con.list_tables())
    finally:
        con.disconnect()
