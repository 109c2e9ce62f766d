"""Peak memory of this process over one step.

Linux keeps the high-water mark of a process's resident set (``VmHWM`` in
``/proc/self/status``) and lets the process reset it to the current size (writing ``5`` to
``/proc/self/clear_refs``, Linux 4.0 and later), so each step's peak is its own, not the
largest of every step before it. Elsewhere the peak is unknown (``None``).
"""

from __future__ import annotations

from pathlib import Path

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def reset_peak_memory() -> bool:
    """Start a new high-water mark at the current resident size; False where that cannot be done."""
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


def peak_memory_mb() -> float | None:
    """The resident high-water mark in MB since the last reset (or the process start)."""
    try:
        lines = _STATUS.read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # kB
    return None
