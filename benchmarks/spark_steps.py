"""The pipeline step by step on DuckDB or Spark: wall, CPU seconds, peak memory, shuffle bytes.

``python -m benchmarks.spark_steps WAREHOUSE --engine spark --master 'local[2]' --out F.json``
copies nothing: give it a copy of a warehouse (its parts folder may be hard-linked; the run
writes marts into it). Per step (the runner's progress calls mark where a step starts):

- ``seconds``: wall time;
- ``cpu_seconds``: CPU time of this process (DuckDB's threads included) plus, on Spark, of the
  JVM (its ``/proc`` counters: driver and ``local[N]`` executors are one process);
- ``peak_rss_mb``: the largest resident memory of this process plus the JVM, sampled every
  0.2 s while the step runs;
- on Spark, from its REST API (the session runs with its UI; each step's jobs carry the
  job group ``touchpoint:<step>``): ``jobs``, ``stages``, ``shuffle_write_bytes``,
  ``shuffle_read_bytes``, ``input_bytes``, ``output_bytes`` and ``executor_cpu_seconds``.

The phase after the last step (the Spark marts loaded into the DuckDB warehouse) is reported
as ``(load back)``. Used for docs/scale.md's figures; their JSON is kept in benchmarks/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def _cpu(pid: int | None) -> float:
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def _rss(pid: int | None) -> int:
    if pid is None:
        return 0
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE


class StepMeter:
    """The runner's ``on_progress``: closes the figures of one step when the next starts."""

    def __init__(self, jvm_pid: int | None = None) -> None:
        self.jvm_pid = jvm_pid
        self.steps: list[dict[str, Any]] = []
        self.current: dict[str, Any] | None = None
        self.peak = 0
        self.stop = threading.Event()
        self.sampler = threading.Thread(target=self._sample, daemon=True)
        self.sampler.start()

    def _now(self) -> tuple[float, float]:
        return time.perf_counter(), time.process_time() + _cpu(self.jvm_pid)

    def _sample(self) -> None:
        while not self.stop.wait(0.2):
            self.peak = max(self.peak, _rss(os.getpid()) + _rss(self.jvm_pid))

    def _close(self) -> None:
        if self.current is None:
            return
        wall, cpu = self._now()
        self.peak = max(self.peak, _rss(os.getpid()) + _rss(self.jvm_pid))
        self.current["seconds"] = round(wall - self.current.pop("_wall"), 2)
        self.current["cpu_seconds"] = round(cpu - self.current.pop("_cpu"), 2)
        self.current["peak_rss_mb"] = round(self.peak / 2**20)
        self.steps.append(self.current)
        self.current = None

    def __call__(self, step: str, index: int, total: int) -> None:
        self._close()
        self.peak = _rss(os.getpid()) + _rss(self.jvm_pid)
        wall, cpu = self._now()
        name = "(load back)" if step == "done" else step
        self.current = {"step": name, "_wall": wall, "_cpu": cpu}

    def finish(self) -> list[dict[str, Any]]:
        self._close()
        self.stop.set()
        return self.steps


def spark_stage_figures(session: Any) -> dict[str, dict[str, float]]:
    """Per job group ``touchpoint:<step>``: jobs, stages, shuffle and input bytes, executor CPU,
    from Spark's REST API (the session needs its UI: ``spark.ui.enabled=true``)."""
    import urllib.request

    base = (
        f"{session.sparkContext.uiWebUrl}/api/v1/applications/{session.sparkContext.applicationId}"
    )

    def get(path: str) -> Any:
        with urllib.request.urlopen(f"{base}/{path}", timeout=60) as response:
            return json.load(response)

    stages = {s["stageId"]: s for s in get("stages") if s.get("status") == "COMPLETE"}
    keys = (
        "jobs",
        "stages",
        "shuffle_write_bytes",
        "shuffle_read_bytes",
        "input_bytes",
        "output_bytes",
        "executor_cpu_seconds",
    )
    out: dict[str, dict[str, float]] = {}
    for job in get("jobs"):
        name = job.get("jobGroup") or ""
        if not name.startswith("touchpoint:"):
            continue
        figures = out.setdefault(name.removeprefix("touchpoint:"), dict.fromkeys(keys, 0))
        figures["jobs"] += 1
        for stage_id in job.get("stageIds", []):
            stage = stages.get(stage_id)
            if stage is None:
                continue  # skipped: its output was reused
            figures["stages"] += 1
            figures["shuffle_write_bytes"] += stage.get("shuffleWriteBytes", 0)
            figures["shuffle_read_bytes"] += stage.get("shuffleReadBytes", 0)
            figures["input_bytes"] += stage.get("inputBytes", 0)
            figures["output_bytes"] += stage.get("outputBytes", 0)
            figures["executor_cpu_seconds"] += stage.get("executorCpuTime", 0) / 1e9
    return out


def run(warehouse: str, engine: str, master: str, conf: dict[str, str]) -> dict[str, Any]:
    from touchpoint.config import load_config
    from touchpoint.pipeline import run_pipeline
    from touchpoint.warehouse import connect

    con = connect(warehouse)
    config = load_config()
    start_wall, start_cpu = time.perf_counter(), time.process_time()
    session = jvm_pid = None
    if engine == "spark":
        from touchpoint.pipeline.spark import run_pipeline_spark, spark_session

        ui = {"spark.ui.enabled": "true", "spark.ui.retainedJobs": "100000"}
        ui |= {"spark.ui.retainedStages": "100000"}
        session = spark_session(master, {**ui, **conf})
        jvm_pid = int(session._jvm.java.lang.ProcessHandle.current().pid())
        start_cpu += _cpu(jvm_pid)
        meter = StepMeter(jvm_pid)
        results = run_pipeline_spark(con, config, session=session, on_progress=meter)
    else:
        meter = StepMeter()
        results = run_pipeline(con, config, on_progress=meter)
    steps = meter.finish()
    total = {
        "seconds": round(time.perf_counter() - start_wall, 1),
        "cpu_seconds": round(time.process_time() + _cpu(jvm_pid) - start_cpu, 1),
        "peak_rss_mb": max(s["peak_rss_mb"] for s in steps),
    }
    rows = {r.step: sum(r.tables.values()) for r in results}
    for step in steps:
        step["rows_written"] = rows.get(step["step"])
    if session is not None:
        try:
            figures = spark_stage_figures(session)
        except Exception as exc:  # the timings above are kept whatever the REST API says
            figures = {}
            print(f"no Spark stage figures: {exc}")
        for step in steps:
            step.update(figures.get(step["step"], {}))
        session.stop()
    con.disconnect()
    return {
        "engine": engine,
        "master": master if engine == "spark" else None,
        "load_average": os.getloadavg(),
        "total": total,
        "steps": steps,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("warehouse")
    parser.add_argument("--engine", choices=("duckdb", "spark"), default="duckdb")
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--conf", action="append", default=[], help="key=value (Spark)")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    conf = dict(item.split("=", 1) for item in args.conf)
    figures = run(args.warehouse, args.engine, args.master, conf)
    Path(args.out).write_text(json.dumps(figures, indent=2))
    print(json.dumps(figures["total"]), figures["load_average"])


if __name__ == "__main__":
    main()
