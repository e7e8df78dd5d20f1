"""Ctrl-C and SIGTERM for netgrade's commands: explicit handlers, never lost.

A process started in the background of a non-interactive shell (``cmd &``
in a script or a CI step) inherits SIGINT as *ignored*, and Python then
installs no KeyboardInterrupt handler at all: Ctrl-C, or a ``kill -INT``, did
nothing.  So every command installs its own handlers first (:func:`install`),
whatever it inherited:

- SIGINT raises ``KeyboardInterrupt``; SIGTERM raises :class:`Terminated` (a
  ``KeyboardInterrupt``), so one cleanup path serves both;
- only the first signal raises: a second Ctrl-C arriving during the cleanup
  cannot cut it short (the cleanup is bounded anyway);
- the signal is remembered, so code that ran through a catcher of
  KeyboardInterrupt (``pytest.main`` turns it into an exit status) can raise it
  again (:func:`raise_if_received`), and the command exits 130 (SIGINT) or
  143 (SIGTERM) (:func:`exit_code`).

Debug hook for tests: ``NETGRADE_PAUSE_AT=NAME:FILE`` makes :func:`pause`
at the point ``NAME`` create ``FILE`` and then wait (up to 60 s, until
``stop`` is set, or until the test removes ``FILE``) so a test can act at
exactly that moment (send a signal, stop the Docker engine).  The points:
``check-started`` (``netgrade check``, before grading), and in a batch
``discovered`` (before anything is graded), ``grader-started-1`` and
``grader-started-2`` (a grading process, or the flaky retry's, has just
started), ``storing`` (``result.json`` written, ``batch.json`` not yet) and
``stored`` (a submission is recorded; the next one comes); in a pytest
worker of the Docker runner, ``docker-check-N`` (the worker's N-th check has
its containers, before any of its programs starts) and ``docker-run-N`` (the
worker's N-th program run has just started).
"""
from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

PAUSE_ENV = "NETGRADE_PAUSE_AT"
_received: list[int] = []


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where KeyboardInterrupt would be."""


def _handler(signum, frame) -> None:
    first = not _received
    _received.append(signum)
    if first:
        raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


def install() -> None:
    """Handle SIGINT and SIGTERM in this process (main thread only), whatever was inherited."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _handler)


def received() -> int | None:
    """The first signal received, or None."""
    return _received[0] if _received else None


def raise_if_received() -> None:
    """Raise again the interrupt that some catcher turned into a return value."""
    sig = received()
    if sig is not None:
        raise Terminated() if sig == signal.SIGTERM else KeyboardInterrupt()


def exit_code(exc: BaseException | None = None) -> int:
    """130 for SIGINT (and a KeyboardInterrupt of unknown origin), 143 for SIGTERM."""
    sig = received()
    if sig is None and isinstance(exc, Terminated):
        sig = signal.SIGTERM
    return 128 + int(sig or signal.SIGINT)


def pause(name: str, stop: threading.Event | None = None) -> None:
    """The tests' hook (see the module's text); nothing unless $NETGRADE_PAUSE_AT names ``name``."""
    want, sep, path = os.environ.get(PAUSE_ENV, "").partition(":")
    if not sep or want != name:
        return
    flag = Path(path)
    flag.touch()
    wait = (stop or threading.Event()).wait  # interruptible in the main thread (a signal raises here)
    deadline = time.monotonic() + 60
    # the test releases the pause by removing the file: no event crosses processes, so look for it
    while flag.exists() and time.monotonic() < deadline and not wait(0.02):
        pass
