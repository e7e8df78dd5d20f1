"""The HTML reports in a real browser (headless Chromium driven by Playwright).

Reports of the exported references and of a submission with broken and
hostile programs (one prints ``<script>`` and terminal escapes) are opened
from disk; the tests assert on the DOM (cards, statuses, diagrams), that the
student's markup is shown as text and that none of it runs, and that the page
fetched nothing.  Screenshots go to ``test-artifacts/`` for people to look at.

Needs Debian's ``chromium`` and the ``playwright`` Python package (the system
browser is used; ``playwright install`` is not needed).
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from browserkit import NEEDS_BROWSER, browser  # noqa: F401 - the fixture
from conftest import MUTANTS, ROOT, grade
from netgrade.outputs import html
from netgrade.results import Result

ARTIFACTS = ROOT / "test-artifacts"

pytestmark = NEEDS_BROWSER

# A UDP echo server that answers with markup and prints markup, terminal escapes and a flood.
HOSTILE_ECHO = r'''
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 8090))
print('<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"><b>bold?</b>')
print("\x1b[2J\x1b]0;pwned\x07 \x1b[31mRED\x1b[0m", flush=True)
sys.stderr.write("noise " * 100000 + "\n")
while True:
    data, addr = s.recvfrom(4096)
    print("<script>window.__pwned = 3</script>", data, flush=True)
    s.sendto(b"<script>window.__pwned = 4</script>" + data, addr)
'''


@pytest.fixture(scope="module")
def reports(exported, tmp_path_factory) -> dict[str, Path]:
    """Graded and rendered once per module: references, and a submission with bad programs."""
    ARTIFACTS.mkdir(exist_ok=True)
    tmp = tmp_path_factory.mktemp("browser")
    out: dict[str, Path] = {}
    ref_html = ARTIFACTS / "report-references.html"
    ref, _proc = grade(exported, "--html", str(ref_html), tmp=tmp)
    out["references"] = ref_html
    mixed = tmp / "mixed"
    shutil.copytree(exported, mixed)
    (mixed / "udp_echo_server.py").write_text(HOSTILE_ECHO, "utf-8")
    shutil.copyfile(MUTANTS / "tftp-server" / "no_retransmission.py", mixed / "tftp_server.py")
    shutil.copyfile(MUTANTS / "tcp-chat-server" / "ignores_client_bye.py", mixed / "tcp_chat_server.py")
    (mixed / "udp_send.py").unlink()  # a missing program
    bad_html = ARTIFACTS / "report-mutants.html"
    bad, _proc = grade(mixed, "--html", str(bad_html), "--program", "udp-echo-server", "--program", "tftp-server",
                      "--program", "tcp-chat-server", "--program", "udp-send", "--program", "tcp-sink-client",
                      tmp=tmp)
    out["mutants"] = bad_html
    zh_html = ARTIFACTS / "report-mutants-zh.html"
    html.write(Result.from_dict(bad), zh_html, "zh")
    out["mutants-zh"] = zh_html
    class_html = ARTIFACTS / "class-report.html"
    html.write_class([Result.from_dict(ref), Result.from_dict(bad)],
                     {ref["submission"]: ref_html.name, bad["submission"]: bad_html.name}, class_html, "en")
    out["class"] = class_html
    (tmp / "ref.json").write_text(json.dumps(ref))
    (tmp / "bad.json").write_text(json.dumps(bad))
    out["ref.json"] = tmp / "ref.json"
    out["bad.json"] = tmp / "bad.json"
    return out


def _open(browser, path: Path, requests: list[str] | None = None, width: int = 1280):
    page = browser.new_page(viewport={"width": width, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("dialog", lambda d: (errors.append("dialog: " + d.message), d.dismiss()))
    if requests is not None:
        page.on("request", lambda r: requests.append(r.url))
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return page, errors


def _statuses(page) -> dict[str, str]:
    return page.eval_on_selector_all("details.check", "els => Object.fromEntries(els.map("
                                     "e => [e.dataset.check, e.dataset.status]))")


def test_reference_report(browser, reports):
    requests: list[str] = []
    page, errors = _open(browser, reports["references"], requests)
    data = json.loads(reports["ref.json"].read_text())
    assert page.locator("section.card.program").count() == len(data["programs"])
    want = {f"{p['id']}/{c['id']}": c["status"] for p in data["programs"] for c in p["checks"]}
    assert _statuses(page) == want
    assert page.locator("#total-score").inner_text().startswith(f"{data['score']:g}")
    # every check with evidence has its diagram, with at least one arrow or note drawn
    assert page.locator("svg.seq").count() >= len(want) - 2
    assert page.locator("svg.seq g.arrow").count() > len(want)
    assert not errors
    assert all(u.startswith("file://") for u in requests), requests  # opened from disk, fetched nothing
    page.screenshot(path=str(ARTIFACTS / "references-top.png"))
    first = page.locator("section.card.program").first
    first.locator("details.check").first.evaluate("e => e.open = true")
    first.screenshot(path=str(ARTIFACTS / "references-first-program.png"))
    tftp = page.locator('[data-program="tftp-server"] details.check').first
    tftp.evaluate("e => e.open = true")
    tftp.screenshot(path=str(ARTIFACTS / "references-tftp-check.png"))
    page.close()


def test_mutant_report_shows_student_markup_as_text_and_runs_none_of_it(browser, reports):
    requests: list[str] = []
    page, errors = _open(browser, reports["mutants"], requests)
    data = json.loads(reports["bad.json"].read_text())
    want = {f"{p['id']}/{c['id']}": c["status"] for p in data["programs"] for c in p["checks"]}
    assert _statuses(page) == want
    assert "fail" in want.values()
    # nothing the student printed ran: no flag, no dialog, no script or img element at all
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.locator("script").count() == 0 and page.locator("img").count() == 0
    assert not errors, errors
    # ... and it is there to read, as text
    echo = page.locator('[data-check="udp-echo-server/echo"]')
    assert echo.get_attribute("open") is not None  # failing checks are open
    body = echo.inner_text()
    assert "<script>window.__pwned = 1</script>" in body and "\\x1b[2J" in body
    assert "\x1b" not in page.content()
    # a failing check has its hint and sheet section
    assert "001 §3.1" in echo.locator(".hint").inner_text()
    # the flood on stderr is cut, with a count
    assert "left out" in body or "not kept" in body
    # the missing program is a card saying so
    assert page.locator('[data-program="udp-send"] .pstat.missing').count() == 1
    # the diagram of the lost ACK marks the drop and the timeout
    retrans = page.locator('[data-check="tftp-server/retransmit"]')
    svg_text = retrans.locator("svg.seq").text_content()
    assert "dropped: ACK" in svg_text and "DATA #1" in svg_text
    assert all(u.startswith("file://") for u in requests), requests
    echo.screenshot(path=str(ARTIFACTS / "mutant-hostile-echo.png"))
    retrans.screenshot(path=str(ARTIFACTS / "mutant-tftp-retransmit.png"))
    page.locator('[data-check="tcp-chat-server/client-bye"]').screenshot(
        path=str(ARTIFACTS / "mutant-chat-client-bye.png"))
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(ARTIFACTS / "mutants-top.png"))
    size = reports["mutants"].stat().st_size
    assert size < 3_000_000, size
    page.close()


def test_chinese_report(browser, reports):
    page, errors = _open(browser, reports["mutants-zh"])
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    text = page.locator("body").inner_text()
    assert "得分" in text and "未通过" in text and "逐字节回显" in text
    assert page.evaluate("typeof window.__pwned") == "undefined" and not errors
    page.locator('[data-check="udp-echo-server/echo"]').screenshot(path=str(ARTIFACTS / "mutant-echo-zh.png"))
    page.close()


def test_class_report(browser, reports):
    requests: list[str] = []
    page, errors = _open(browser, reports["class"], requests)
    assert page.locator("svg.hist g.hbar").count() == 10
    assert page.locator("table.students tbody tr").count() == 2
    links = page.eval_on_selector_all("table.students a", "els => els.map(e => e.getAttribute('href'))")
    assert sorted(links) == ["report-mutants.html", "report-references.html"]
    assert page.locator("table.heat[class] tbody tr[data-check]").count() > 50
    # the link leads to a report that opens
    page.locator("table.students a").first.click()
    page.wait_for_load_state("load")
    assert page.locator("section.card.program").count() >= 1
    assert not errors and all(u.startswith("file://") for u in requests)
    page.close()
    page, _ = _open(browser, reports["class"])
    page.screenshot(path=str(ARTIFACTS / "class-report.png"), full_page=True)
    page.close()


def test_class_report_500_students_in_the_browser(browser, tmp_path):
    from test_outputs import _synthetic_class
    results = _synthetic_class(500)
    path = ARTIFACTS / "class-report-500.html"
    html.write_class(results, {r.submission: f"{r.submission}.html" for r in results}, path, "zh")
    page, errors = _open(browser, path)
    assert page.locator("table.students tbody tr").count() == 500
    assert page.evaluate("typeof window.__pwned") == "undefined" and not errors
    page.screenshot(path=str(ARTIFACTS / "class-report-500.png"))
    page.close()
