"""User errors print one clear line and exit 2, with no traceback."""

import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"


def touchpoint(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin", "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "touchpoint", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_report_on_a_missing_warehouse_says_how_to_make_one(tmp_path):
    result = touchpoint("report", "-w", str(tmp_path / "nothing.duckdb"), cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "nothing.duckdb" in lines[0] and "touchpoint ingest" in lines[0]


def test_unknown_report_language_is_one_line(tmp_path):
    result = touchpoint("report", "--lang", "fr", cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "error: unknown language 'fr'; use one of: en, zh"
    ]


def test_bad_configuration_file_is_one_line(tmp_path):
    bad = tmp_path / "op.yaml"
    bad.write_text("version: 1\ntimezone: Nowhere/Else\n", encoding="utf-8")
    result = touchpoint("run", "-w", str(tmp_path / "w.duckdb"), "-c", str(bad), cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "op.yaml" in result.stderr and "timezone" in result.stderr


def test_every_command_has_help(tmp_path):
    for command in ("ingest", "quarantine", "run", "report", "channels", "kpis"):
        result = touchpoint(command, "--help", cwd=tmp_path)
        assert result.returncode == 0, command
        assert "--help" in result.stdout
