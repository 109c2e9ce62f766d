"""Peak memory of this process over one step.

The kernel's high-water mark of the resident set (``VmHWM``) covers the whole process, and
resetting it (``/proc/self/clear_refs``) would also erase the peak that ``time -v`` and the
benchmarks' harness read at exit. So a step's peak is sampled: a thread reads the resident
size every :data:`SAMPLE_SECONDS` while the step runs, and when the step raised the
process's high-water mark, that mark is the step's exact peak. Elsewhere than Linux the peak
is unknown (``None``).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from types import TracebackType

_STATUS = Path("/proc/self/status")
_STATM = Path("/proc/self/statm")
SAMPLE_SECONDS = 0.05


def resident_mb() -> float | None:
    """This process's resident memory now, in MB."""
    try:
        pages = int(_STATM.read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def high_water_mb() -> float | None:
    """The largest resident memory this process has had, in MB."""
    try:
        lines = _STATUS.read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # kB
    return None


class StepPeak:
    """``with StepPeak() as peak: ...`` then ``peak.mb``: the largest resident memory of this
    process while the block ran (``None`` where it cannot be read)."""

    def __init__(self) -> None:
        self.mb: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._before: float | None = None

    def __enter__(self) -> StepPeak:
        self._before, self.mb = high_water_mb(), resident_mb()
        if self.mb is not None:
            self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            self._raise_to(resident_mb())

    def _raise_to(self, mb: float | None) -> None:
        if mb is not None and self.mb is not None:
            self.mb = max(self.mb, mb)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self._raise_to(resident_mb())
        after = high_water_mb()
        if after is not None and self._before is not None and after > self._before:
            self._raise_to(after)  # the step set the process's record: its exact peak
