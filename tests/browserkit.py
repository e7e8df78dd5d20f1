"""A real browser for the tests: Playwright driving Debian's chromium (``playwright install`` is not needed).

``NEEDS_BROWSER`` are the marks that skip a module without one (saying
why); ``browser`` is a module-scoped fixture of a launched headless Chromium.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("NETGRADE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None

NEEDS_BROWSER = [
    pytest.mark.skipif(sync_playwright is None,
                       reason="the playwright package is not installed (pip install playwright)"),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)"),
]


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()
