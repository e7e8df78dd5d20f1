"""The reports (HTML, class report, JUnit, Gradescope, Markdown, terminal) agree
with the result they render and show untrusted text harmlessly.

Fast: most tests render synthetic results; one grades a single program through
the CLI to check that every output written agrees with the JSON result.
"""
from __future__ import annotations

import io
import json
import re
import time
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest
from conftest import grade, netgrade, submission_with

from netgrade.i18n import WORDS, norm_lang, t
from netgrade.i18n import word as word_of
from netgrade.outputs import gradescope, html, junit, markdown
from netgrade.results import CheckResult, ProgramResult, Result

EVIL = "<script>window.__pwned=1</script><img src=x onerror=alert(1)> ]]> \x1b[2J\x1b]0;title\x07 | **b** `c`"


# ---------------------------------------------------------------- synthetic results

def _events(n: int, evil: bool = False) -> list[dict]:
    evs = [{"t": 0.001, "kind": "start", "who": "udp-echo-server", "command": ["python3", "udp_echo_server.py"]},
           {"t": 0.002, "kind": "listen", "who": "peer", "text": "peer listens on UDP 0.0.0.0:9000"}]
    for i in range(n):
        evs.append({"t": 0.01 * i, "kind": "sent", "proto": "udp", "src": "127.0.0.1:5000", "dst": "127.0.0.1:8090",
                    "len": 5, "text": f"ping{i}", "hex": "70 69 6e 67", "truncated": False})
        evs.append({"t": 0.01 * i + 0.005, "kind": "received", "proto": "udp", "src": "127.0.0.1:8090",
                    "dst": "127.0.0.1:5000", "len": 40, "text": EVIL if evil else f"ping{i}",
                    "hex": "3c 73", "truncated": False, "tftp": f"DATA #{i + 1} (512 B)" if i % 2 else None})
    evs += [{"t": 1.0, "kind": "dropped", "who": "client", "tftp": "ACK #2", "text": "withheld ACK #2"},
            {"t": 1.1, "kind": "timeout", "who": "client", "waited_s": 0.05, "text": "no data within 0.05 s"},
            {"t": 1.2, "kind": "fin", "who": "peer", "src": "a", "dst": "b", "text": "the program closed (FIN)"},
            {"t": 1.3, "kind": "abort", "who": "peer", "src": "a", "dst": "b", "text": "peer reset (RST)"},
            {"t": 1.4, "kind": "stdout", "who": "udp-echo-server", "len": 10, "text": EVIL, "hex": "", "truncated": False},
            {"t": 1.5, "kind": "exit", "who": "udp-echo-server", "status": "exited with status 0"}]
    return [{k: v for k, v in e.items() if v is not None} for e in evs]


def _check(cid: str, status: str, level: str = "must", points: float = 2.0, evil: bool = False,
           huge: bool = False, n_events: int = 3) -> CheckResult:
    stdout = (EVIL + "\n") * (50000 if huge else 2)
    return CheckResult(
        id=cid, title=f"title of {cid}", level=level, status=status,
        score=points if status == "pass" else 0.0, max_score=points,
        message="" if status == "pass" else f"expected 'x', got {EVIL!r}" if evil else "expected 'x', got 'y'",
        duration_s=0.25, sheet="001 §3.2", hint="Use sendto(data, addr).",
        evidence={"events": _events(n_events, evil),
                  "processes": [{"label": "udp-echo-server", "command": ["python3", "x.py"],
                                 "exit": "exited with status 0", "stdin": "hi\n", "stdout": stdout,
                                 "stdout_bytes": len(stdout), "stdout_dropped": 12345 if huge else 0,
                                 "stderr": "Traceback (most recent call last):\nValueError: " + EVIL,
                                 "stderr_bytes": 10, "stderr_dropped": 0}]},
    )


def sample_result(evil: bool = True, huge: bool = False, name: str = "alice <b>") -> Result:
    p1 = ProgramResult(id="udp-echo-server", file="udp_echo_server.py", status="graded", score=0, max_score=0,
                       title="UDP echo server", checks=[
                           _check("echo", "pass"),
                           _check("many", "fail", evil=evil, huge=huge, n_events=300 if huge else 4),
                           _check("empty", "error", level="should", points=1.0, evil=evil),
                           _check("odd", "skip", level="should", points=1.0),
                           _check("with-reference", "fail", level="extra", points=0.0),
                       ])
    p1.checks[0].flaky = True
    p2 = ProgramResult(id="udp-send", file="udp_send.py", status="missing", score=0.0, max_score=4.0,
                       message="udp_send.py not found in the submission", checks=[
                           CheckResult(id="one-datagram", title="one datagram", level="must", status="skip",
                                       score=0.0, max_score=2.0, message="program missing", duration_s=0.0),
                           CheckResult(id="exits", title="exits", level="must", status="skip", score=0.0,
                                       max_score=2.0, message="program missing", duration_s=0.0)])
    p1.score = sum(c.score for c in p1.checks)
    p1.max_score = sum(c.max_score for c in p1.checks)
    r = Result(submission=name, pack="course-pack", runner="local", score=p1.score + p2.score,
               max_score=p1.max_score + p2.max_score, started_at="2026-01-01T00:00:00+00:00", duration_s=3.5,
               programs=[p1, p2], notices=["note " + EVIL], netgrade_version="0.1.0")
    return r


def expected_checks(result: Result) -> dict[str, tuple[str, float, float]]:
    return {f"{p.id}/{c.id}": (c.status, c.score, c.max_score) for p in result.programs for c in p.checks}


# ---------------------------------------------------------------- HTML

class _Scan(HTMLParser):
    """Collects tags, the data-* attributes of checks, and every attribute value."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.checks: dict[str, tuple[str, float, float]] = {}
        self.attrs: list[tuple[str, str, str]] = []
        self.svgs = 0
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        a = dict(attrs)
        for k, v in attrs:
            self.attrs.append((tag, k, v or ""))
        if tag == "svg" and "seq" in (a.get("class") or ""):
            self.svgs += 1
        if "data-check" in a and "data-status" in a:
            self.checks[a["data-check"]] = (a["data-status"], float(a["data-score"]), float(a["data-max-score"]))

    def handle_data(self, data):
        self.text.append(data)


def scan(page: str) -> _Scan:
    s = _Scan()
    s.feed(page)
    return s


def test_html_agrees_with_the_result():
    r = sample_result()
    page = html.render(r, "en")
    s = scan(page)
    assert s.checks == expected_checks(r)
    assert s.svgs >= 4  # a sequence diagram per check with events
    assert f"{r.score:g}" in "".join(s.text)


def test_html_is_self_contained_and_runs_no_script():
    page = html.render(sample_result(), "en")
    s = scan(page)
    assert "script" not in s.tags and "link" not in s.tags and "img" not in s.tags and "iframe" not in s.tags
    for tag, name, value in s.attrs:
        assert not name.startswith("on"), (tag, name)  # no event handler survived as markup
        if name in ("src", "href"):
            assert value.startswith("#"), (tag, name, value)  # only in-page links
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    # the student's markup is text: escaped in the source, readable in the page
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in page
    assert "<script>window.__pwned=1</script>" in "".join(s.text)
    assert "\x1b" not in page and "\x07" not in page and "\\x1b[2J" in page


def test_html_stays_small_whatever_the_program_printed():
    r = sample_result(huge=True)
    assert len(r.programs[0].checks[1].evidence["processes"][0]["stdout"]) > 4_000_000
    page = html.render(r, "en")
    assert len(page.encode()) < 500_000
    assert "characters left out" in page and "12345 more bytes" in page  # the cut is counted
    assert "events not drawn" in page  # 600 events: the diagram is cut too


def test_html_of_a_whole_pack_at_its_limits_stays_a_few_mb():
    big = "<b>x</b>" * 64  # 512 characters, escaped longer still
    checks = []
    for i in range(110):
        c = _check(f"c{i}", "fail", n_events=0)
        c.evidence["events"] = [{"t": j / 100, "kind": "received" if j % 2 else "sent", "proto": "tcp",
                                 "src": "a", "dst": "b", "len": 9999, "text": big, "hex": "00 " * 48,
                                 "truncated": True} for j in range(400)]
        c.evidence["processes"] = [dict(c.evidence["processes"][0], stdout=big * 256, stderr=big * 256)] * 3
        checks.append(c)
    p = ProgramResult(id="p", file="p.py", status="graded", score=0, max_score=220, checks=checks)
    r = Result(submission="s", pack="course-pack", runner="local", score=0, max_score=220,
               started_at="", duration_s=1, programs=[p])
    t0 = time.process_time()  # CPU time: a loaded test machine must not fail this
    page = html.render(r, "en")
    assert len(page.encode()) < html.PAGE_BUDGET * 1.2, len(page.encode())
    assert time.process_time() - t0 < 15
    assert scan(page).checks == expected_checks(r)
    assert "events not drawn" in page and "characters left out" in page


def test_html_of_an_error_result():
    from netgrade.grading import error_result
    page = html.render(error_result("sub <x>", "course-pack", "local", "bad archive <script>"), "en")
    assert "Grading failed" in page and "bad archive &lt;script&gt;" in page


def test_html_diagram_labels_from_tftp_and_control_events():
    page = html.render(sample_result(evil=False), "en")
    assert "DATA #2 (512 B)" in page  # the event's tftp field wins over the text
    assert "ping0 (5 B)" in page  # else text and length
    assert ">FIN<" in page and ">RST<" in page and "dropped: ACK #2" in page and "timeout after 0.05 s" in page


# ---------------------------------------------------------------- class report

def _synthetic_class(n: int) -> list[Result]:
    out = []
    for i in range(n):
        r = sample_result(evil=(i % 7 == 0), name=f"student-{i:03d}")
        # vary the scores: student i passes checks by a pattern
        for j, c in enumerate(r.programs[0].checks):
            c.status = "pass" if (i >> j) & 1 else "fail"
            c.score = c.max_score if c.status == "pass" else 0.0
        r.programs[0].score = sum(c.score for c in r.programs[0].checks)
        r.score = r.programs[0].score
        out.append(r)
    return out


def test_class_report_500_students_fast():
    results = _synthetic_class(500)
    links = {r.submission: f"reports/{r.submission}.html" for r in results}
    links["student-001"] = "javascript:alert(1)"
    t0 = time.process_time()  # CPU time: a loaded test machine must not fail this
    page = html.render_class(results, links, "en")
    elapsed = time.process_time() - t0
    assert elapsed < 3.0, elapsed
    s = scan(page)
    assert "script" not in s.tags
    hrefs = [v for tag, k, v in s.attrs if tag == "a" and k == "href"]
    assert len(hrefs) == 499 and "reports/student-000.html" in hrefs
    assert not any(h.lower().startswith("javascript") for h in hrefs)
    # histogram: bar counts add up to the graded students
    bars = re.findall(r'<g class="hbar"><title>[^<]*: (\d+)</title>', page)
    assert len(bars) == 10 and sum(map(int, bars)) == 500
    # pass rate of udp-echo-server/echo: bit 0 of i -> exactly half pass
    row = re.search(r'data-check="udp-echo-server/echo">.*?class="rate"[^>]*>([^<]+)<', page, re.DOTALL)
    assert row and row.group(1).strip() == "50 %"
    assert len(page.encode()) < 5_000_000


def test_class_report_escapes_names():
    r = sample_result(name="<script>x</script>")
    page = html.render_class([r], {}, "zh")
    assert "<script>x" not in page and "&lt;script&gt;x" in page
    assert "班级报告" in page


# ---------------------------------------------------------------- JUnit

def test_junit_agrees_and_parses():
    r = sample_result()
    text = junit.render(r, "en")
    root = ET.fromstring(text.encode())
    assert root.tag == "testsuites"
    seen = {}
    for suite in root.iter("testsuite"):
        cases = suite.findall("testcase")
        assert int(suite.get("tests")) == len(cases)
        assert int(suite.get("failures")) == sum(1 for c in cases if c.find("failure") is not None)
        assert int(suite.get("errors")) == sum(1 for c in cases if c.find("error") is not None)
        assert int(suite.get("skipped")) == sum(1 for c in cases if c.find("skipped") is not None)
        for case in cases:
            assert case.get("classname") == suite.get("name")
            if case.get("name").startswith("(program file)"):
                continue
            cid = case.get("name").split(":", 1)[0]
            status = ("fail" if case.find("failure") is not None else "error" if case.find("error") is not None
                      else "skip" if case.find("skipped") is not None else "pass")
            seen[f"{case.get('classname')}/{cid}"] = status
            failure = case.find("failure")
            if failure is not None:
                assert "expected 'x'" in failure.get("message") and "Use sendto" in failure.text
    assert seen == {k: v[0] for k, v in expected_checks(r).items()}
    assert int(root.get("tests")) == sum(int(s.get("tests")) for s in root.iter("testsuite"))
    assert "\x1b" not in text and "\x07" not in text


def test_junit_of_an_error_result():
    from netgrade.grading import error_result
    root = ET.fromstring(junit.render(error_result("s", "p", "local", "bad \x00 archive"), "en").encode())
    assert root.get("errors") == "1" and root.find(".//error") is not None


# ---------------------------------------------------------------- Gradescope

GRADESCOPE_SCHEMA = {
    "type": "object",
    "required": ["tests"],
    "properties": {
        "score": {"type": "number"},
        "execution_time": {"type": "number", "minimum": 0},
        "output": {"type": "string"},
        "output_format": {"enum": ["text", "html", "simple_format", "md", "ansi"]},
        "visibility": {"enum": ["hidden", "after_due_date", "after_published", "visible"]},
        "stdout_visibility": {"enum": ["hidden", "after_due_date", "after_published", "visible"]},
        "tests": {"type": "array", "items": {
            "type": "object",
            "required": ["name", "score", "max_score", "status", "output", "visibility"],
            "properties": {
                "name": {"type": "string", "minLength": 1},
                "score": {"type": "number"},
                "max_score": {"type": "number", "minimum": 0},
                "status": {"enum": ["passed", "failed"]},
                "output": {"type": "string"},
                "visibility": {"enum": ["hidden", "after_due_date", "after_published", "visible"]},
                "tags": {"type": "array", "items": {"type": "string"}},
            },
            "additionalProperties": False,
        }},
    },
    "anyOf": [{"required": ["score"]}],
    "additionalProperties": False,
}


def validate_gradescope(data: dict) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(data, GRADESCOPE_SCHEMA)


def test_gradescope_valid_and_agrees():
    r = sample_result()
    data = json.loads(gradescope.render(r, "en"))
    validate_gradescope(data)
    assert data["score"] == r.score
    assert sum(tc["score"] for tc in data["tests"]) == pytest.approx(r.score)
    assert sum(tc["max_score"] for tc in data["tests"]) == pytest.approx(r.max_score)
    by_key = {re.search(r"\[([^\]]+)\]$", tc["name"]).group(1): tc for tc in data["tests"]}
    for p in r.programs:
        for c in p.checks:
            tc = by_key[c.id]
            assert tc["status"] == ("passed" if c.status == "pass" else "failed")
            assert (tc["score"], tc["max_score"]) == (c.score, c.max_score)
    assert "\x1b" not in json.dumps(data, ensure_ascii=False)


def test_gradescope_error_result_is_a_visible_failure():
    from netgrade.grading import error_result
    data = json.loads(gradescope.render(error_result("s", "p", "local", "no such file"), "en"))
    validate_gradescope(data)
    assert data["score"] == 0 and "no such file" in data["output"]


# ---------------------------------------------------------------- Markdown

def test_markdown_agrees_and_escapes():
    r = sample_result()
    text = markdown.render(r, "en")
    assert "<script" not in text and "<img" not in text and "\x1b" not in text
    assert "&lt;script&gt;" in text
    rows = [line for line in text.splitlines() if line.startswith("| ") and "`" in line]
    found = {}
    for line in rows:
        cells = re.split(r"(?<!\\)\|", line)[1:-1]
        assert len(cells) == 6, line  # a student's "|" never splits a cell
        cid = re.search(r"`([^`]+)`", cells[1]).group(1)
        found[cid] = (cells[3].strip(), cells[4].strip())
    for p in r.programs:
        for c in p.checks:
            assert found[c.id] == (word_of("status", c.status, "en"), f"{c.score:g}/{c.max_score:g}")
    assert f"{r.score:g}/{r.max_score:g}" in text.splitlines()[0]


def test_markdown_appends_to_github_step_summary(tmp_path, monkeypatch):
    target = tmp_path / "summary.md"
    target.write_text("before\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(target))
    assert markdown.write_step_summary(sample_result(), "en")
    text = target.read_text()
    assert text.startswith("before\n") and "## netgrade" in text


# ---------------------------------------------------------------- languages

def test_every_check_title_has_its_chinese():
    from netgrade.catalog import collect_checks
    from netgrade.i18n import render
    checks = collect_checks()
    missing = sorted(c.key for c in checks if render(c.title, "zh") == render(c.title, "en"))
    assert not missing, f"checks without a Chinese title (tests/tools/catalog.py update, then translate): {missing}"


def test_lang_selection():
    from netgrade.i18n import Msg, choose_lang, translations
    assert norm_lang("zh-CN") == "zh" and norm_lang("fr") == "en" and norm_lang(None) == "en"
    assert norm_lang("zh_CN.UTF-8") == "zh"
    assert choose_lang("en", "zh", {"LANG": "zh_CN.UTF-8"}) == "en"
    assert choose_lang(None, "zh", {"LANG": "en_US.UTF-8"}) == "zh"
    assert choose_lang(None, "", {"LANG": "zh_CN.UTF-8"}) == "zh"
    assert choose_lang(None, None, {"LANG": "C.UTF-8"}) == "en" and choose_lang(None, None, {}) == "en"
    assert translations("zh").gettext("exits with status 0 on its own") == "自行以状态 0 退出"
    assert translations("zh").gettext("English, not in the catalog") == "English, not in the catalog"
    port = Msg("listens on {transport} port {port}", {"transport": "UDP", "port": 69})
    assert port.render("zh") == "监听 UDP 端口 69" and str(port) == "listens on UDP port 69"
    r = sample_result()
    zh = html.render(r, "zh")
    assert 'lang="zh-CN"' in zh and "得分" in zh and "未通过" in zh
    assert "得分" in markdown.render(r, "zh") or "netgrade：" in markdown.render(r, "zh")


def test_terminal_table_in_both_languages_without_escapes():
    from rich.console import Console

    from netgrade.terminal import render
    for lang, word in (("en", "fail"), ("zh", "未通过")):
        buf = io.StringIO()
        render(sample_result(), out=Console(file=buf, width=160, highlight=False, force_terminal=False), lang=lang)
        out = buf.getvalue()
        assert word in out and "\x1b" not in out and "\x07" not in out


# ---------------------------------------------------------------- CLI: every output from one grading

EVIL_SERVER = r'''
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 8090))
print("<script>window.__pwned = 1</script>\x1b[2J\x1b]0;pwned\x07", flush=True)
while True:
    data, addr = s.recvfrom(4096)
    print("<b>got</b>", data, flush=True)
    s.sendto(b"<script>window.__pwned=2</script>" + data, addr)
'''


def test_cli_outputs_agree_with_the_json(tmp_path):
    sub = submission_with(tmp_path, {"udp_echo_server.py": EVIL_SERVER})
    files = {k: tmp_path / f"out.{k}" for k in ("html", "junit", "gradescope", "markdown")}
    summary = tmp_path / "step-summary.md"
    result, proc = _grade_with_env(sub, tmp_path, files, {"GITHUB_STEP_SUMMARY": str(summary)})
    assert proc.returncode == 1, proc.stderr
    r = Result.from_dict(result)
    want = expected_checks(r)
    assert any(s == "fail" for s, _, _ in want.values())
    # HTML
    s = scan(files["html"].read_text())
    assert s.checks == want
    # JUnit
    root = ET.fromstring(files["junit"].read_bytes())
    cases = {f"{c.get('classname')}/{c.get('name').split(':', 1)[0]}": c for c in root.iter("testcase")}
    assert set(cases) == set(want)
    for k, (status, _, _) in want.items():
        assert (cases[k].find("failure") is not None) == (status == "fail"), k
    # Gradescope
    data = json.loads(files["gradescope"].read_text())
    validate_gradescope(data)
    assert data["score"] == r.score and len(data["tests"]) == len(want)
    # Markdown, and the same text appended to the job summary
    md = files["markdown"].read_text()
    assert md in summary.read_text() and "<script" not in md
    assert f"{r.score:g}/{r.max_score:g}" in md


def _grade_with_env(sub, tmp_path, files, env):
    out = tmp_path / "r.json"
    proc = netgrade("check", str(sub), "--program", "udp-echo-server", "--json", str(out),
                    "--html", str(files["html"]), "--junit", str(files["junit"]),
                    "--gradescope", str(files["gradescope"]), "--markdown", str(files["markdown"]), env=env)
    return json.loads(out.read_text()), proc


def test_cli_bad_input_still_writes_every_output(tmp_path):
    files = {k: tmp_path / f"out.{k}" for k in ("html", "junit", "gradescope", "markdown")}
    proc = netgrade("check", str(tmp_path / "nope"), "--lang", "zh", "--html", str(files["html"]),
                    "--junit", str(files["junit"]), "--gradescope", str(files["gradescope"]),
                    "--markdown", str(files["markdown"]))
    assert proc.returncode == 2
    assert "评分失败" in files["html"].read_text()
    data = json.loads(files["gradescope"].read_text())
    validate_gradescope(data)
    assert data["score"] == 0
    assert ET.fromstring(files["junit"].read_bytes()).get("errors") == "1"


def test_cli_lang_zh_terminal(exported, tmp_path):
    _result, proc = grade(exported, "--program", "udp-recv", "--lang", "zh", tmp=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "打印数据报的文本" in proc.stdout and "得分" in proc.stdout


# ---------------------------------------------------------------- the program's command, as the student types it

def test_reports_show_the_command_as_the_student_types_it():
    """The grader's interpreter (a venv in netgrade's cache) is evidence in the JSON, never in a report."""
    from rich.console import Console

    from netgrade.sandbox.python import program_python
    from netgrade.terminal import render
    real = [program_python(), "tftp_client.py"]
    assert real[0] != "python3" and "/" in real[0]
    r = sample_result(evil=False)
    for c in r.programs[0].checks:
        c.evidence["processes"][0]["command"] = list(real)
        for e in c.evidence["events"]:
            if e["kind"] == "start":
                e["command"] = list(real)
    page = html.render(r, "en")
    assert "python3 tftp_client.py" in page
    buf = io.StringIO()
    render(r, out=Console(file=buf, width=160, highlight=False, force_terminal=False), lang="en")
    outputs = {"html": page, "junit": junit.render(r, "en"), "gradescope": gradescope.render(r, "en"),
               "markdown": markdown.render(r, "en"), "terminal": buf.getvalue()}
    for name, text in outputs.items():
        assert real[0] not in text and "/.cache/netgrade" not in text, name
    # the JSON keeps the real command
    assert json.dumps(r.to_dict()).count(real[0]) > 0


# ---------------------------------------------------------------- evidence kinds (issue 16)

def test_tcp_reset_recorded_by_the_peer_is_a_red_rst_arrow():
    # peers/tcp.py records a reset the program caused as kind "rst" (mark_end); it is an arrow, not a remark
    ev = {"events": [{"t": 0.1, "kind": "rst", "who": "peer", "src": "127.0.0.1:8088", "dst": "127.0.0.1:5000",
                      "text": "the connection was reset (RST, abortive close)"}], "processes": []}
    d = html.diagram(ev, lambda key, **kw: t(key, "en", **kw))  # noqa: E731
    (row,) = d["rows"]
    assert row["type"] == "arrow" and row["cls"] == "rst" and row["label"] == "RST"
    assert (row["x1"], row["x2"]) == (html.PROG_X, html.PEER_X)  # from the program to the peer


def test_every_evidence_kind_has_a_rendering():
    from netgrade.evidence import Kind
    missing = [k.value for k in Kind if k not in html.DRAWERS]
    assert not missing, f"evidence kinds with no drawing in the HTML diagram: {missing}"
    tr = lambda key, **kw: t(key, "en", **kw)  # noqa: E731
    for k in Kind:
        ev = {"events": [{"t": 0.0, "kind": k.value, "who": "peer", "text": "x", "len": 1, "waited_s": 1.0,
                          "command": ["python3", "x.py"], "status": "exited"}], "processes": []}
        (row,) = html.diagram(ev, tr)["rows"]
        assert row["cls"] != "remark" or k is Kind.NOTE, k  # "remark" is the fallback for unknown kinds


def test_every_status_and_level_has_its_words_in_every_renderer():
    from netgrade import terminal
    from netgrade.verdicts import Level, ProgramStatus, Status
    for kind, values in (("status", Status), ("pstatus", ProgramStatus), ("level", Level)):
        missing = [v.value for v in values if v.value not in WORDS[kind]]
        assert not missing, f"no {kind} word for {missing}"
        untranslated = [v.value for v in values if word_of(kind, v, "zh") == word_of(kind, v, "en")]
        assert not untranslated, f"no Chinese {kind} word for {untranslated}"
    assert set(terminal.STYLE) == set(Status), set(Status) ^ set(terminal.STYLE)
    assert set(markdown.ICON) == set(Status), set(Status) ^ set(markdown.ICON)


def test_statuses_and_levels_are_enums_written_as_their_words():
    from netgrade.verdicts import Level, ProgramStatus, RunStatus, Status
    r = sample_result(evil=False)
    c = r.programs[0].checks[2]
    assert (c.status, c.level) == (Status.ERROR, Level.SHOULD)
    assert isinstance(c.status, Status) and isinstance(c.level, Level)  # the words given became members
    d = json.loads(json.dumps(r.to_dict()))
    assert d["status"] == "graded" and d["programs"][1]["status"] == "missing"
    assert [(x["status"], x["level"]) for x in d["programs"][0]["checks"]] == [
        ("pass", "must"), ("fail", "must"), ("error", "should"), ("skip", "should"), ("fail", "extra")]
    back = Result.from_dict(d)
    assert back.status is RunStatus.GRADED and back.programs[1].status is ProgramStatus.MISSING
    assert back.programs[0].checks[1].status is Status.FAIL and back.programs[0].checks[4].level is Level.EXTRA
    assert json.loads(json.dumps(back.to_dict())) == d
    for key, word in (("status", "passed"), ("level", "may")):  # not a word of netgrade.result/1
        with pytest.raises(ValueError, match=word):
            CheckResult.from_dict({**c.to_dict(), key: word})


def test_peers_record_only_registered_kinds():
    from netgrade.evidence import Evidence
    ev = Evidence()
    ev.add("rst", text="reset")
    with pytest.raises(ValueError):
        ev.add("rst-typo", text="a kind no renderer knows")
