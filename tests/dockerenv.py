"""The Docker engine for the grader's tests: there, or a clear skip.

Tests that need an engine skip, saying why, where none answers.  `.ci/run`
starts one and sets NETGRADE_REQUIRE_DOCKER=1: there a missing engine or
image fails the tests instead of skipping them.
"""
from __future__ import annotations

import functools
import os

import pytest


@functools.lru_cache(maxsize=1)
def _state() -> tuple[object | None, str | None, str]:
    """(client, grading image tag, reason when unusable)."""
    if os.geteuid() != 0:
        return None, None, "the docker runner needs root"
    from netgrade.docker import engine, image
    try:
        client = engine.connect(timeout=20)
        tag = image.ensure(client, log=lambda m: None)
    except engine.EngineError as exc:
        return None, None, str(exc)
    return client, tag, ""


def require_docker() -> tuple[object, str]:
    client, tag, reason = _state()
    if client is None:
        if os.environ.get("NETGRADE_REQUIRE_DOCKER") == "1":
            pytest.fail(f"NETGRADE_REQUIRE_DOCKER=1 but: {reason}")
        pytest.skip(f"no usable Docker engine: {reason}")
    return client, tag


def netgrade_containers(client, run: str | None = None) -> list:
    from netgrade.docker.engine import listed
    return listed(client, ["netgrade"] + ([f"netgrade.run={run}"] if run else []))
