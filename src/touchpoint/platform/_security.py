"""What keeps the platform safe to expose: problems as problem+json, login throttling and the
request size limit."""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict, deque
from typing import Any

from starlette.exceptions import HTTPException
from starlette.responses import Response

PROBLEM_TYPE = "application/problem+json"


class Problem(Exception):
    """An HTTP problem (RFC 9457): a status, a short title and a one-line detail."""

    def __init__(
        self, status: int, title: str, detail: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail, self.headers = status, title, detail, headers or {}


def problem_response(
    status: int,
    title: str,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Response:
    """The problem+json response of a problem: never a stack trace."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    return Response(
        json.dumps(body | (extra or {}), ensure_ascii=False),
        status_code=status,
        media_type=PROBLEM_TYPE,
        headers=headers,
    )


class LoginThrottle:
    """At most ``max_failures`` failed logins per user name and per client in ``window_seconds``.

    After that, logins for that name (or from that client) are refused until the oldest
    failure leaves the window, even with the right password: guessing costs a window per
    ``max_failures`` guesses.

    >>> throttle = LoginThrottle(max_failures=2, window_seconds=60, clock=lambda: 0.0)
    >>> throttle.fail("ana", "10.0.0.1"); throttle.fail("ana", "10.0.0.2")
    >>> throttle.wait_seconds("ana", "10.0.0.3")
    60
    >>> throttle.wait_seconds("bob", "10.0.0.3")
    0
    """

    def __init__(self, max_failures: int = 5, window_seconds: float = 900, clock=time.monotonic):
        self.max_failures, self.window, self.clock = max_failures, window_seconds, clock
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _keys(self, username: str, client: str) -> tuple[str, str]:
        return f"user:{username.lower()}", f"client:{client}"

    def wait_seconds(self, username: str, client: str) -> int:
        """Seconds until a login for ``username`` from ``client`` is tried again (0: now)."""
        now = self.clock()
        wait = 0.0
        with self._lock:
            for key in self._keys(username, client):
                times = self._failures[key]
                while times and times[0] <= now - self.window:
                    times.popleft()
                if len(times) >= self.max_failures:
                    wait = max(wait, times[0] + self.window - now)
        return int(wait + 0.999)

    def fail(self, username: str, client: str) -> None:
        now = self.clock()
        with self._lock:
            for key in self._keys(username, client):
                self._failures[key].append(now)

    def succeed(self, username: str) -> None:
        with self._lock:
            self._failures.pop(self._keys(username, "")[0], None)


class BodySizeLimit:
    """ASGI middleware: a request body over ``max_bytes`` gets 413, whatever its framing."""

    def __init__(self, app, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or ()).get(b"content-length")
        too_large = problem_response(
            413, "Request too large", f"the request body is over {self.max_bytes:,} bytes"
        )
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await too_large(scope, receive, send)
            return
        seen = 0
        started = False

        async def counting_receive():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge()
            return message

        async def tracking_send(message):
            nonlocal started
            started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLarge:
            if not started:
                await too_large(scope, receive, send)


class _TooLarge(HTTPException):
    """Raised while reading a body past the limit: FastAPI passes HTTP exceptions through."""

    def __init__(self) -> None:
        super().__init__(413, "the request body is too large")


class RateLimit:
    """ASGI middleware: at most ``per_second`` requests per client (``burst`` at once); 429.

    A token bucket per client address: a client that keeps within the rate is never refused,
    one that floods the server is told when to come back (``Retry-After``).

    >>> limit = RateLimit(None, per_second=2, burst=2, clock=lambda: 0.0)
    >>> [limit.take("10.0.0.1") for _ in range(3)]
    [0.0, 0.0, 0.5]
    """

    def __init__(self, app, per_second: float, burst: int, clock=time.monotonic) -> None:
        self.app, self.rate, self.burst, self.clock = app, per_second, burst, clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, client: str) -> float:
        """Take one token for ``client``: 0 if allowed, else seconds until one is free."""
        now = self.clock()
        with self._lock:
            tokens, then = self._buckets.get(client, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - then) * self.rate)
            if tokens >= 1:
                self._buckets[client] = (tokens - 1, now)
                if len(self._buckets) > 100_000:  # forget idle clients rather than grow
                    self._buckets = {client: self._buckets[client]}
                return 0.0
            self._buckets[client] = (tokens, now)
            return (1 - tokens) / self.rate

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = (scope.get("client") or ("unknown", 0))[0]
        wait = self.take(client)
        if wait:
            seconds = max(1, int(wait + 0.999))
            refused = problem_response(
                429,
                "Too many requests",
                f"more than {self.rate:g} requests per second from this client; slow down",
                headers={"Retry-After": str(seconds)},
            )
            await refused(scope, receive, send)
            return
        await self.app(scope, receive, send)


class ServerTiming:
    """ASGI middleware: how long the server took, as ``Server-Timing: app;dur=<ms>``."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def timed_send(message):
            if message["type"] == "http.response.start":
                took = (time.perf_counter() - started) * 1000
                headers = [
                    *message.get("headers", ()),
                    (b"server-timing", f"app;dur={took:.1f}".encode()),
                ]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, timed_send)
