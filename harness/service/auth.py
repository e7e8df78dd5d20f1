"""Bearer tokens: 256 random bits, shown once, stored only as a SHA-256; failures rate-limited per client."""
from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass

TOKEN_BYTES = 32  # 256 bits


def new_token() -> str:
    return "ng_" + secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


@dataclass
class Principal:
    role: str  # "instructor" | "student"
    course_id: int
    student_pk: int | None
    label: str  # for logs: "instructor@course" or the student id; never the token


class FailureLimiter:
    """At most ``limit`` failed logins per client address in a sliding ``window_s``; then 429.

    In memory: one service process answers the API (workers never authenticate).
    """

    def __init__(self, limit: int = 10, window_s: float = 60.0) -> None:
        self.limit = limit
        self.window_s = window_s
        self._fails: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _trim(self, q: deque[float], now: float) -> None:
        while q and now - q[0] >= self.window_s:
            q.popleft()

    def retry_after(self, client: str) -> float | None:
        """Seconds to wait when ``client`` is blocked, else None."""
        now = time.monotonic()
        with self._lock:
            q = self._fails.get(client)
            if not q:
                return None
            self._trim(q, now)
            if len(q) < self.limit:
                return None
            return max(1.0, self.window_s - (now - q[0]))

    def failed(self, client: str) -> None:
        now = time.monotonic()
        with self._lock:
            q = self._fails.setdefault(client, deque())
            self._trim(q, now)
            q.append(now)
            if len(self._fails) > 100_000:  # bounded memory under a spray of addresses: forget the stale ones
                self._fails = {k: v for k, v in self._fails.items() if v and now - v[-1] < self.window_s}
