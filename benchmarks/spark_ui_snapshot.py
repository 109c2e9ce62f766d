"""Per-step Spark figures of every running local Spark session, read from its UI's REST API.

``python -m benchmarks.spark_ui_snapshot OUT.json [--ports 4040-4045]`` asks each UI port
for its application and sums, per job group ``touchpoint:<step>`` (set by
``run_pipeline_spark``): jobs (and those still running), completed stages, shuffle written
and read, input and output bytes, executor CPU seconds, and the first job's submission and
the last job's completion time (the step's span on the executors). With ``--plans`` it also
counts, per step, the joins and exchanges of its SQL executions (broadcast against
sort-merge: where a side outgrows Spark's broadcast threshold, its shuffle jumps).

``benchmarks.spark_steps`` reports the same figures when a run ends; this reads them while
it runs, so a run stopped before its end (a deadline on a shared machine) still leaves the
figures of the steps it completed. It only reads: nothing is sent to the session.
"""

from __future__ import annotations

import argparse
import collections
import json
import time
import urllib.request
from pathlib import Path
from typing import Any

KEYS = (
    "shuffle_write_bytes",
    "shuffle_read_bytes",
    "input_bytes",
    "output_bytes",
)
STAGE_KEYS = ("shuffleWriteBytes", "shuffleReadBytes", "inputBytes", "outputBytes")


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=300) as response:  # localhost UI only
        return json.load(response)


def _plans(base: str, group: dict[int, str]) -> dict[str, dict[str, int]]:
    """Per step, how many of each join and exchange node its SQL executions hold."""
    out: dict[str, collections.Counter] = {}
    for execution in _get(f"{base}/sql?details=true&planDescription=false&length=1000000"):
        ids = [
            *execution.get("successJobIds", []),
            *execution.get("failedJobIds", []),
            *execution.get("runningJobIds", []),
        ]
        for step in {group[i] for i in ids if i in group}:
            counter = out.setdefault(step, collections.Counter())
            for node in execution.get("nodes", []):
                name = node["nodeName"]
                if "Join" in name or "Exchange" in name:
                    counter[name] += 1
    return {step: dict(counter) for step, counter in out.items()}


def application(port: int, plans: bool = False) -> dict[str, Any] | None:
    """The figures of the session whose UI listens on ``port``, or None if none does."""
    root = f"http://localhost:{port}/api/v1/applications"
    try:
        apps = _get(root)
    except OSError:
        return None
    app = apps[0]["id"]
    base = f"{root}/{app}"
    props = dict(_get(f"{base}/environment")["sparkProperties"])
    stages = {s["stageId"]: s for s in _get(f"{base}/stages") if s.get("status") == "COMPLETE"}
    steps: dict[str, dict[str, Any]] = {}
    group: dict[int, str] = {}
    for job in _get(f"{base}/jobs"):
        name = (job.get("jobGroup") or "").removeprefix("touchpoint:")
        group[job["jobId"]] = name
        figures = steps.setdefault(
            name,
            {"jobs": 0, "running_jobs": 0, "stages": 0, **dict.fromkeys(KEYS, 0)}
            | {"executor_cpu_seconds": 0.0, "first_submit": None, "last_complete": None},
        )
        figures["jobs"] += 1
        figures["running_jobs"] += job.get("status") == "RUNNING"
        submitted, completed = job.get("submissionTime"), job.get("completionTime")
        if submitted and (figures["first_submit"] is None or submitted < figures["first_submit"]):
            figures["first_submit"] = submitted
        if completed and (figures["last_complete"] is None or completed > figures["last_complete"]):
            figures["last_complete"] = completed
        for stage_id in job.get("stageIds", []):
            stage = stages.get(stage_id)
            if stage is None:
                continue  # skipped (its output reused) or not complete yet
            figures["stages"] += 1
            for key, stage_key in zip(KEYS, STAGE_KEYS, strict=True):
                figures[key] += stage.get(stage_key, 0)
            figures["executor_cpu_seconds"] += stage.get("executorCpuTime", 0) / 1e9
    result = {
        "app": app,
        "master": props.get("spark.master"),
        "driver_memory": props.get("spark.driver.memory"),
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "steps": steps,
    }
    if plans:
        result["plans"] = _plans(base, group)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--ports", default="4040-4045", help="first-last UI port")
    parser.add_argument("--plans", action="store_true", help="count joins and exchanges")
    args = parser.parse_args()
    first, last = (int(p) for p in args.ports.split("-"))
    found = {}
    for port in range(first, last + 1):
        figures = application(port, plans=args.plans)
        if figures is not None:
            found[str(port)] = figures
            done = [s for s, f in figures["steps"].items() if s and not f["running_jobs"]]
            print(port, figures["master"], figures["driver_memory"], ", ".join(done))
    Path(args.out).write_text(json.dumps(found, indent=1))


if __name__ == "__main__":
    main()
