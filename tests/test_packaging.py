"""netgrade installs as one package, ``netgrade``, and shadows nobody.

PyPI has packages called ``harness`` and ``reports`` (and a ``reference``
would be just as easy to meet): a fresh virtual environment that already
holds PyPI's ``harness`` and ``reports`` gets netgrade installed beside them
with ``pip install``; afterwards the two still import as themselves, netgrade
put nothing into site-packages but its package and its metadata, and it
still grades.

Everything is installed offline from a wheelhouse that ``.ci/run`` fills
(``$NETGRADE_WHEELS``: netgrade's dependencies and the two PyPI packages), so
the test itself sends nothing off this machine.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from layout import clean_checkout

# one fresh venv for the module, not one per worker; its making (pip installing pandas, matplotlib and netgrade
# offline, each pip call bounded at 600 s) counts in the first test's time: under a full-CPU load it took more
# than the suite's 300 s (CI run 20), so the module's tests get the pip calls' own bound and some
pytestmark = [pytest.mark.xdist_group("packaging"), pytest.mark.timeout(1500)]
WHEELS = os.environ.get("NETGRADE_WHEELS", "/opt/netgrade-wheels")
PYPI_NEIGHBOURS = ("harness==0.1.0", "reports==0.4.1")


def _pip(venv: Path, *args: str, timeout: float = 600) -> None:
    proc = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-index",
                           "--find-links", WHEELS, "--disable-pip-version-check", *args],
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PIP_CONSTRAINT": "", "PIP_CONFIG_FILE": os.devnull})
    assert proc.returncode == 0, f"pip install {' '.join(args)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    if not Path(WHEELS).is_dir():
        if os.environ.get("CI") or "NETGRADE_WHEELS" in os.environ:
            pytest.fail(f"the wheelhouse {WHEELS} is missing (.ci/run fills it)")
        pytest.skip(f"no wheelhouse at {WHEELS} (.ci/run fills it; set NETGRADE_WHEELS)")
    d = tmp_path_factory.mktemp("packaging") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(d)], check=True, timeout=120)
    _pip(d, *PYPI_NEIGHBOURS)          # the neighbours first, with their own dependencies
    # then netgrade, as a user would: pip install . -- from a clean copy of the checkout, since setuptools
    # builds in the source tree's build/ folder and two builds there at once break each other
    _pip(d, str(clean_checkout(tmp_path_factory.mktemp("checkout") / "netgrade")))
    return d


def _site_packages(venv: Path) -> Path:
    out = subprocess.run([str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                         capture_output=True, text=True, check=True).stdout.strip()
    return Path(out)


def test_only_the_netgrade_package_is_installed(venv):
    site = _site_packages(venv)
    dist = next(site.glob("netgrade-*.dist-info"))
    top = {Path(line.split(",")[0]).parts[0] for line in (dist / "RECORD").read_text().splitlines() if line}
    top = {t for t in top if not t.startswith("..")}  # the console script lives in bin/, outside site-packages
    assert top == {"netgrade", dist.name}, f"netgrade installed more than its package into site-packages: {sorted(top)}"
    for sub in ("reference", "suites", "reports", "packs", "sandbox"):
        assert (site / "netgrade" / sub).is_dir(), f"netgrade/{sub} is missing from the installed package"
    assert (site / "netgrade" / "packs" / "default.toml").is_file()
    assert (site / "netgrade" / "sandbox" / "launcher.c").is_file()
    assert list((site / "netgrade" / "reports" / "templates").iterdir()), "the report templates were not installed"
    for sub in ("templates", "static", "migrations/versions"):  # the service's pages and its schema
        found = [f.name for f in (site / "netgrade" / "service" / sub).iterdir()] \
            if (site / "netgrade" / "service" / sub).is_dir() else []
        assert found, f"netgrade/service/{sub} was not installed"
    assert (site / "netgrade" / "service" / "templates" / "signin.html.j2").is_file()
    assert (site / "netgrade" / "service" / "static" / "progress.js").is_file()
    # the build compiled the translations: the wheel carries the .mo (and no .po, which only Babel reads)
    assert (site / "netgrade" / "locale" / "zh_CN" / "LC_MESSAGES" / "netgrade.mo").is_file(), \
        "the compiled zh_CN catalog (netgrade.mo) is missing from the installed package"
    sources = [p.name for p in (site / "netgrade" / "locale").rglob("*") if p.suffix in (".po", ".pot")]
    assert not sources, f"the catalogs' sources were installed (the package reads the .mo alone): {sources}"


def test_installed_netgrade_speaks_chinese_without_babel(venv):
    """At run time the installed package reads its .mo with the standard library alone."""
    code = ("import sys; sys.modules['babel'] = None\n"  # any import of Babel would fail
            "from netgrade.i18n import Msg, translations\n"
            "print(translations('zh').gettext('no reply'))\n"
            "print(Msg('no file named {names}', {'names': 'a.py'}).render('zh'))")
    proc = subprocess.run([str(venv / "bin" / "python"), "-c", code], capture_output=True, text=True, timeout=120,
                          cwd="/")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split("\n")[:2] == ["没有回复", "没有名为 a.py 的文件"], proc.stdout


def test_pypi_neighbours_still_import_as_themselves(venv):
    code = ("import json, harness, reports, netgrade, netgrade.reference, netgrade.suites, netgrade.reports\n"
            "print(json.dumps({'harness': harness.__file__, 'harness_version': harness.__version__,\n"
            "  'reports': reports.__file__, 'report_class': hasattr(reports, 'Report'),\n"
            "  'netgrade': netgrade.__file__}))")
    proc = subprocess.run([str(venv / "bin" / "python"), "-c", code], capture_output=True, text=True, timeout=120,
                          cwd="/")
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    site = str(_site_packages(venv))
    assert got["harness"] == f"{site}/harness/__init__.py" and got["harness_version"] == "0.1.0", got
    assert got["reports"] == f"{site}/reports/__init__.py" and got["report_class"], got
    assert got["netgrade"] == f"{site}/netgrade/__init__.py", got


def test_installed_netgrade_grades(venv, tmp_path):
    exe = venv / "bin" / "netgrade"
    sub = tmp_path / "sub"
    proc = subprocess.run([str(exe), "reference", "export", str(sub)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "r.json"
    proc = subprocess.run([str(exe), "check", str(sub), "--program", "udp-echo-server", "--program", "tftp-client",
                           "--json", str(out)], capture_output=True, text=True, timeout=300, cwd="/")
    assert out.exists(), proc.stdout[-2000:] + proc.stderr[-2000:]
    result = json.loads(out.read_text())
    assert result["score"] == result["max_score"] > 0, proc.stdout[-3000:]
    proc = subprocess.run([str(venv / "bin" / "python"), "-m", "netgrade", "--help"], capture_output=True, text=True,
                          timeout=60, cwd="/")
    assert proc.returncode == 0 and "Usage" in proc.stdout, proc.stderr
    # a subpackage (pyproject's package list must name it): the batch's grading process answers
    proc = subprocess.run([str(venv / "bin" / "python"), "-m", "netgrade.batch"], capture_output=True, text=True,
                          timeout=60, cwd="/")
    assert proc.returncode == 2 and "usage: python -m netgrade.batch grade" in proc.stderr, \
        f"expected the usage line and exit 2, got exit {proc.returncode}: {proc.stderr[-2000:]}"
