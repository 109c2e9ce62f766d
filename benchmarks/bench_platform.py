"""The platform under load on loopback: card lookups by phone number and KPI reads.

A server (uvicorn, one process) is started over a built warehouse; an open-loop client sends
requests at a fixed rate for a fixed time, whatever the answers take, and each request's time
is counted from when it was *due* (so a slow server cannot hide its queue: no coordinated
omission). Reported per kind: requests, errors, p50, p99 and max, in ms; then each console
page once, with the server's own time (``Server-Timing``).

Build a warehouse first (``touchpoint simulate --customers N --months 3``, ``ingest``,
``run``), then::

    python -m benchmarks.bench_platform --warehouse W --data DATA [--rate 100] [--seconds 60]
        [--python /other/venv/bin/python]   # the server from another checkout: a baseline
        [--workers 2]                       # server processes sharing the port

``python -m benchmarks platform`` runs it over ``$TOUCHPOINT_BENCH_PLATFORM`` (``W:DATA``
pairs separated by commas). Figures: docs/performance.md, "The platform".
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import glob
import json
import math
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

SERVER = """
import socket, sys, uvicorn
from touchpoint.platform import create_app
app = create_app(sys.argv[1])
if sys.argv[3] == "1":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
else:  # several processes on one port (SO_REUSEPORT): the kernel spreads the connections
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", int(sys.argv[2])))
    sock.listen(2048)
    uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[sock])
"""
PAGES = (
    "/console/",
    "/console/channels",
    "/console/ivr",
    "/console/ivr/recommendations",
    "/console/tags",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tokens(warehouse: Path) -> dict[str, str]:
    from touchpoint.platform import UserStore, store_path

    store = UserStore(store_path(warehouse))
    tokens = {}
    for role in ("agent", "viewer", "admin"):
        name = f"bench_{role}"
        if store.user(name) is None:
            store.add_user(name, "bench password " + role, role)
        tokens[role] = store.create_token(name)
    return tokens


def _phones(data: Path, n: int = 5000, seed: int = 1) -> list[str]:
    import pyarrow.parquet as pq

    files = sorted(glob.glob(str(data / "customers*.parquet")))
    table = pq.read_table(files[0], columns=["msisdn"])
    phones = [p for p in table.column("msisdn").to_pylist() if p]
    return random.Random(seed).sample(phones, min(n, len(phones)))


def _start(python: str, warehouse: Path, port: int, workers: int = 1) -> list[subprocess.Popen]:
    servers = [
        subprocess.Popen([python, "-c", SERVER, str(warehouse), str(port), str(workers)])
        for _ in range(workers)
    ]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                time.sleep(5 if workers > 1 else 0)  # the other processes start listening too
                return servers
        except OSError:
            time.sleep(0.2)
    for server in servers:
        server.kill()
    raise RuntimeError("the server did not start within 120 s")


async def _load(
    base: str, requests, rate: float, seconds: float, connections: int = 64
) -> dict[str, list]:
    """Send ``requests(i)`` (kind, method, path, headers, body) at ``rate`` per second.

    A plain HTTP/1.1 client on asyncio streams, ``connections`` kept-alive connections: it
    shares the machine's cores with the server, so it must cost little (httpx's pool spent
    ~75 ms of CPU per request here with hundreds of requests in flight, starving the
    server). A request is timed from when it was due, also while it waits for a free
    connection, so a slow server still shows in full.
    """
    host, _, port = base.removeprefix("http://").partition(":")
    results: dict[str, list] = {}
    queue: asyncio.Queue = asyncio.Queue()

    async def worker() -> None:
        stream = None
        while (item := await queue.get()) is not None:
            due, kind, method, path, headers, body = item
            ok = False
            for _attempt in range(2):  # once more on a new connection if the old one closed
                try:
                    if stream is None:
                        stream = await asyncio.open_connection(host, int(port))
                    status, close = await asyncio.wait_for(
                        _exchange(*stream, host, method, path, headers, body), 30
                    )
                    ok = status == 200
                    if close:
                        stream[1].close()
                        stream = None
                    break
                except (OSError, asyncio.IncompleteReadError, ValueError, TimeoutError):
                    if stream is not None:
                        stream[1].close()
                    stream = None
            results.setdefault(kind, []).append((time.monotonic() - due, ok, due - start))
        if stream is not None:
            stream[1].close()

    start = time.monotonic()
    workers = [asyncio.create_task(worker()) for _ in range(connections)]
    for i in range(int(rate * seconds)):
        due = start + i / rate
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait((due, *requests(i)))
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    return results


async def _exchange(reader, writer, host: str, method: str, path: str, headers, body):
    """One request and its whole response on a kept-alive connection: (status, closing)."""
    data = json.dumps(body).encode() if body is not None else b""
    lines = [
        f"{method} {path} HTTP/1.1",
        f"Host: {host}",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(data)}"]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + data)
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionResetError("closed by the server")
    status = int(status_line.split()[1])
    length, chunked, close = 0, False, False
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "transfer-encoding":
            chunked = "chunked" in value
        elif name == "connection":
            close = value == "close"
    if chunked:
        while (size := int((await reader.readline()).strip() or b"0", 16)) > 0:
            await reader.readexactly(size + 2)
        await reader.readline()
    else:
        await reader.readexactly(length)
    return status, close


def _without_gc(load):
    """``load()`` with the client's garbage collector off: a full collection over the growing
    list of samples paused the client 150-470 ms about 35 s into every run, and an open-loop
    client counts such a pause against the server (the p99 of 10 s windows: 155-470 ms in the
    4th window of six runs, on the server's side nothing; 19 ms with it off, 2026-12-03)."""
    gc.collect()
    gc.disable()
    try:
        return load()
    finally:
        gc.enable()


def _cpu_seconds(servers: list[subprocess.Popen]) -> float:
    """CPU seconds (user + system) the server processes have used so far (Linux)."""
    total = 0
    for server in servers:
        with open(f"/proc/{server.pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _summary(samples: list) -> dict[str, float]:
    times = sorted(t * 1000 for t, _, *_ in samples)
    errors = sum(1 for _, ok, *_ in samples if not ok)
    p99 = times[min(len(times) - 1, int(0.99 * len(times)))]
    return {
        "n": len(times),
        "errors": errors,
        "p50_ms": round(statistics.median(times), 1),
        "p99_ms": round(p99, 1),
        "max_ms": round(times[-1], 1),
    }


def run(
    warehouse: Path,
    data: Path,
    *,
    rate: float = 100,
    seconds: float = 60,
    kpi_share: float = 0.1,
    python: str = sys.executable,
    workers: int = 1,
) -> dict:
    """One load run; returns the summary per kind and the console pages' server times."""
    import httpx

    tokens = _tokens(warehouse)
    phones = _phones(data)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    servers = _start(python, warehouse, port, workers)
    agent = {"Authorization": f"Bearer {tokens['agent']}"}
    viewer = {"Authorization": f"Bearer {tokens['viewer']}"}
    try:
        # Warm up: the first request publishes a snapshot if none exists, and opens it.
        # A connection per request, so that each server process gets some.
        for i, phone in enumerate(phones[:20]):
            with httpx.Client(base_url=base, timeout=600) as client:
                if i < 4:
                    client.get("/api/v1/kpis/headline", headers=viewer)
                client.post("/api/v1/customers/lookup", headers=agent, json={"phone": phone})
        picker = random.Random(7)
        kpi_every = max(1, round(1 / kpi_share)) if kpi_share else 0

        def requests(i: int):
            if kpi_every and i % kpi_every == kpi_every - 1:
                return ("kpi", "GET", "/api/v1/kpis/headline", viewer, None)
            phone = picker.choice(phones)
            return ("card", "POST", "/api/v1/customers/lookup", agent, {"phone": phone})

        sequential = _sequential(base, agent, phones[20:120])
        load_before = os.getloadavg()[0]
        server_cpu, client_cpu = _cpu_seconds(servers), time.process_time()
        results = _without_gc(lambda: asyncio.run(_load(base, requests, rate, seconds)))
        n = sum(len(samples) for samples in results.values())
        cpu = {
            "server_ms_per_request": round((_cpu_seconds(servers) - server_cpu) / n * 1000, 2),
            "client_ms_per_request": round((time.process_time() - client_cpu) / n * 1000, 2),
            "load_average": [round(load_before, 1), round(os.getloadavg()[0], 1)],
        }
        pages = _pages(base, tokens["admin"])
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:  # still draining a queue of late requests
                server.kill()
                server.wait()
    return {
        "warehouse": str(warehouse),
        "rate": rate,
        "seconds": seconds,
        "workers": workers,
        "sequential_card": sequential,
        "load": {kind: _summary(samples) for kind, samples in sorted(results.items())},
        # When the slow requests were due: a tail from a burst of other work is one window.
        "card_p99_ms_per_10s": [
            _summary(window)["p99_ms"]
            for w in range(math.ceil(seconds / 10))
            if (window := [s for s in results.get("card", []) if w * 10 <= s[2] < w * 10 + 10])
        ],
        "cpu": cpu,
        "pages": pages,
    }


def _sequential(base: str, headers: dict[str, str], phones: list[str]) -> dict[str, float]:
    """Card lookups one at a time (no queue): wall and server (``Server-Timing``) ms."""
    import httpx

    walls, servers = [], []
    with httpx.Client(base_url=base, timeout=60) as client:
        for phone in phones:
            started = time.perf_counter()
            response = client.post(
                "/api/v1/customers/lookup", headers=headers, json={"phone": phone}
            )
            walls.append(time.perf_counter() - started)
            timing = response.headers.get("server-timing", "")
            if "dur=" in timing:
                servers.append(float(timing.split("dur=")[1].split(";")[0]) / 1000)
    out = {f"wall_{k}": v for k, v in _summary([(t, True) for t in walls]).items()}
    if servers:
        out |= {f"server_{k}": v for k, v in _summary([(t, True) for t in servers]).items()}
    return out


def _pages(base: str, admin_token: str) -> dict[str, dict[str, float | int]]:
    """Each console page three times (logged in as admin): status, wall and server ms."""
    import httpx

    out = {}
    with httpx.Client(base_url=base, timeout=60) as client:
        headers = {"Authorization": f"Bearer {admin_token}"}
        for path in PAGES:
            walls, servers, status = [], [], 0
            for _ in range(3):
                started = time.perf_counter()
                try:
                    response = client.get(path, headers=headers)
                except httpx.HTTPError:  # a server still draining the load's queue
                    status = 0
                    continue
                walls.append((time.perf_counter() - started) * 1000)
                status = response.status_code
                timing = response.headers.get("server-timing", "")
                if "dur=" in timing:
                    servers.append(float(timing.split("dur=")[1].split(";")[0]))
            out[path] = {
                "status": status,
                "wall_ms": round(min(walls), 1) if walls else None,
                "server_ms": round(min(servers), 1) if servers else None,
            }
    return out


def main(argv: list[str] | None = None) -> None:
    if argv is None and __name__ != "__main__":  # `python -m benchmarks platform`
        pairs = os.environ.get("TOUCHPOINT_BENCH_PLATFORM", "")
        if not pairs:
            print("set TOUCHPOINT_BENCH_PLATFORM=WAREHOUSE:DATA[,...] to run the platform load")
            return
        for pair in pairs.split(","):
            warehouse, data = pair.split(":")
            print(json.dumps(run(Path(warehouse), Path(data)), indent=2), flush=True)
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True, help="the simulated source files")
    parser.add_argument("--rate", type=float, default=100, help="requests per second")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--kpi-share", type=float, default=0.1, help="share of KPI reads")
    parser.add_argument("--python", default=sys.executable, help="the server's interpreter")
    parser.add_argument("--workers", type=int, default=1, help="server processes on the port")
    args = parser.parse_args(argv)
    result = run(
        args.warehouse,
        args.data,
        rate=args.rate,
        seconds=args.seconds,
        kpi_share=args.kpi_share,
        python=args.python,
        workers=args.workers,
    )
    print(json.dumps(result, indent=2), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
