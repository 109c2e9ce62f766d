"""The same checks over every command the Typer app registers (found from the app, not listed).

Each command: ``--help`` works; a bad option, an unknown ``--lang``, a missing ``--config``
file and a warehouse that cannot be opened each give ONE line ``error: ...`` and a non-zero
exit code, never a traceback. A new command is checked the moment it is registered.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from touchpoint.cli import app
from touchpoint.tags import DEFAULT_CATALOGUE_PATH

runner = CliRunner(env={"COLUMNS": "200"})


def _commands(group, path=()) -> list[tuple[tuple[str, ...], object]]:
    found = []
    for name, command in sorted(group.commands.items()):
        if hasattr(command, "commands"):
            found += _commands(command, (*path, name))
        else:
            found.append(((*path, name), command))
    return found


COMMANDS = _commands(typer.main.get_command(app))
IDS = [" ".join(path) for path, _ in COMMANDS]


def _options(command) -> set[str]:
    return {opt for param in command.params for opt in getattr(param, "opts", ())}


def _dummy(param) -> str:
    """A value of the parameter's type: a number, a real file for a path, else a word."""
    annotation = str(param.type_descriptor.annotation)
    if "int" in annotation or "float" in annotation:
        return "1"
    if "Path" in annotation:
        return str(DEFAULT_CATALOGUE_PATH)
    return "x"


def _required(command) -> list[str]:
    """The least a command line needs: every argument and required option, with a dummy value."""
    args: list[str] = []
    for param in command.params:
        if param.param_type_name == "argument":
            args.append(_dummy(param))
        elif param.required:
            args += [param.opts[0], _dummy(param)]
    return args


def _one_error_line(result) -> str:
    assert result.exit_code != 0, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("error: ")
    return lines[0]


def test_the_app_registers_every_command_module():
    # The discovery above must find the commands documented in the README.
    for expected in ("ingest", "run", "report", "kpis", "channels", "customer", "menu"):
        assert (expected,) in [path for path, _ in COMMANDS]
    assert ("ivr", "lost") in [path for path, _ in COMMANDS]
    assert ("tags", "list") in [path for path, _ in COMMANDS]


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=IDS)
def test_help(path, command):
    result = runner.invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output and "--help" in result.output


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=IDS)
def test_bad_option_is_one_line(path, command):
    line = _one_error_line(runner.invoke(app, [*path, *_required(command), "--no-such-option"]))
    assert "--no-such-option" in line and f"touchpoint {' '.join(path)} --help" in line


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=IDS)
def test_unknown_language_is_one_line(path, command):
    assert "--lang" in _options(command), "every command speaks English and Chinese"
    result = runner.invoke(app, [*path, *_required(command), "--lang", "fr"])
    assert _one_error_line(result) == "error: unknown language 'fr'; use one of: en, zh"


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=IDS)
def test_missing_configuration_is_one_line(path, command, tmp_path):
    assert "--config" in _options(command), "every command takes --config"
    missing = tmp_path / "nowhere.yaml"
    result = runner.invoke(app, [*path, *_required(command), "--config", str(missing)])
    assert "nowhere.yaml" in _one_error_line(result)


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=IDS)
def test_unknown_configuration_section_is_one_line(path, command, tmp_path):
    """Every command checks the whole configuration, not only the sections it reads."""
    config = tmp_path / "typo.yaml"
    config.write_text("churn_analytic:\n  months: 3\n", encoding="utf-8")
    line = _one_error_line(runner.invoke(app, [*path, *_required(command), "-c", str(config)]))
    assert "typo.yaml" in line and "unknown section 'churn_analytic'" in line


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=IDS)
def test_warehouse_that_cannot_be_opened_is_one_line(path, command, tmp_path):
    if "--warehouse" not in _options(command):
        pytest.skip("no --warehouse")
    # Under a plain file: a reader finds no warehouse there, a writer cannot create one.
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder", encoding="utf-8")
    warehouse = blocker / "w.duckdb"
    result = runner.invoke(app, [*path, *_required(command), "-w", str(warehouse)])
    if path in {("tags", "list"), ("tags", "check"), ("tags", "show")}:
        # These read the catalogue alone when there is no warehouse (`tags show x`: no tag x).
        assert result.exit_code == 0 or _one_error_line(result), result.output
        return
    assert str(blocker) in _one_error_line(result)


def test_a_missing_warehouse_says_how_to_make_one(tmp_path):
    line = _one_error_line(runner.invoke(app, ["kpis", "-w", str(tmp_path / "none.duckdb")]))
    assert "none.duckdb" in line and "touchpoint ingest" in line


def test_the_installed_entry_point_prints_no_traceback(tmp_path):
    """The same handler runs for `python -m touchpoint` (not only in-process)."""
    import subprocess
    import sys

    src = Path(__file__).resolve().parents[2] / "src"
    result = subprocess.run(
        [sys.executable, "-m", "touchpoint", "menu", "--lang", "fr"],
        cwd=tmp_path,
        env={"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: unknown language 'fr'; use one of: en, zh"
    ]


def test_the_loading_commands_speak_chinese(tmp_path):
    """`run` and `quarantine` on an empty warehouse, in Chinese: headings and states translated."""
    warehouse = str(tmp_path / "w.duckdb")
    ran = runner.invoke(app, ["run", "-w", warehouse, "--lang", "zh"])
    assert ran.exit_code == 0, ran.output
    assert "分析流水线" in ran.output and "已跳过" in ran.output and "Pipeline" not in ran.output
    shown = runner.invoke(app, ["quarantine", "-w", warehouse, "--lang", "zh"])
    assert shown.exit_code == 0 and shown.output.strip() == "没有被隔离的行。", shown.output
