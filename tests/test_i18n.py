"""Every text a person reads has its Chinese, and any result renders again in either language.

- the catalog is complete: ``harness/locale/netgrade.pot`` is what the code and templates mark today (a new
  message fails here until ``tests/tools/catalog.py update`` is run and it is translated), and zh_CN has no
  untranslated or fuzzy entry, and no entry whose fields differ from its msgid's (Babel's checks);
- a message renders from its template and parameters, a parameter (student data) is never translated;
- ``netgrade report`` renders a result file again, in the other language, with the same statuses and scores.

Grading every mutant in Chinese (and the rule for an English sentence left in a Chinese message,
tests/english.py) is tests/test_mutants.py's.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from english import english_sentences, evidence_notes, has_chinese, untranslated_notes

from netgrade.i18n import Msg, N_, choose_lang, translations
from netgrade.results import CheckResult, ProgramResult, Result, localize

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "tools"))


def test_the_catalog_is_current_and_every_text_has_its_chinese():
    import catalog
    problems = catalog.problems()
    assert not problems, "\n".join(problems[:40])


def test_a_message_renders_from_its_template_and_parameters_never_translating_them():
    seen = "the client sent ACK #1 to port 69"  # a parameter equal to a msgid stays as it is
    msg = Msg(N_("{message}: {hint}"), {"message": Msg(N_("no reply")), "hint": seen})
    assert str(msg) == f"no reply: {seen}"
    zh = msg.render("zh")
    assert has_chinese(zh) and zh.endswith(seen)
    assert Msg.from_json(json.loads(json.dumps(msg.to_json()))) == msg
    joined = Msg(N_("no reply")) + "; " + Msg(N_("no reply"))
    assert str(joined) == "no reply; no reply" and "{" not in joined.render("zh")
    assert Msg("a {brace} kept as it is").render("zh") == "a {brace} kept as it is"  # no parameters: no format


def test_a_message_made_of_a_message_is_that_message_through_a_result_file():
    # suites write Msg(who) for a word that may already be a message (CI once crashed rendering it in zh)
    who = Msg(N_("client 2, after client 1 sent {bye}"), {"bye": "'exit'"})
    assert Msg(who) == who and Msg(who).id == who.id and Msg(Msg(N_("client 1"))).id == "client 1"
    outer = Msg(N_("the server ({who})"), {"who": Msg(who)})
    check = CheckResult(id="c", title="t", level="must", status="fail", score=0.0, max_score=1.0,
                        message="", duration_s=0.0, evidence={}, sheet="", hint="")
    check.set_message(outer)
    again = CheckResult.from_dict(json.loads(json.dumps(check.to_dict())))
    zh = again.text("message", "zh")
    assert has_chinese(zh) and "'exit'" in zh and zh == outer.render("zh")
    old = {"id": "{who}", "params": {"who": {"id": who.to_json(), "params": {}}}}  # a file the bug wrote
    assert Msg.from_json(old).render("zh") == who.render("zh")
    for bad in ({"a": 1}, 3, None):
        with pytest.raises(TypeError):
            Msg(bad)
    with pytest.raises(TypeError):
        Msg(who, {"bye": "x"})


def test_a_broken_translation_falls_back_to_english():
    msg = Msg("{count} files named {name}; graded {path}", {"count": 2, "name": "a.py"})  # "path" missing
    try:
        msg.render("zh")
    except KeyError:
        pass  # the English one lacks it too: a bug of the call site, seen in English as well
    assert translations("zh").gettext("no reply") != "no reply"


def test_the_language_is_the_option_then_the_pack_then_the_locale():
    assert choose_lang("zh", "en", {}) == "zh"
    assert choose_lang(None, "zh", {"LANG": "C"}) == "zh"
    assert choose_lang(None, None, {"LANG": "zh_CN.UTF-8"}) == "zh"
    assert choose_lang(None, None, {"LC_ALL": "en_US.UTF-8", "LANG": "zh_CN.UTF-8"}) == "en"
    assert choose_lang(None, None, {}) == "en"


def _result() -> Result:
    fail = CheckResult(id="acks", title="every DATA block, the last one too, is ACKed with ACK n to the server's"
                       " new port", level="must", status="fail", score=0.0, max_score=2.0, message="",
                       duration_s=0.5, hint="")
    fail.set_message(Msg(N_("{message}: {hint}"), {"message": Msg(N_("no reply")), "hint": "b'\\x00\\x04'"}))
    ok = CheckResult(id="rrq", title="x", level="should", status="pass", score=1.0, max_score=1.0, message="",
                     duration_s=0.1)
    prog = ProgramResult(id="tftp-client", file=None, status="missing", score=0.0, max_score=3.0,
                         checks=[fail, ok])
    from netgrade.results import set_text
    set_text(prog, "message", Msg(N_("no file named {names}"), {"names": "tftp_client.py"}))
    return Result(submission="s", pack="p", runner="local", score=1.0, max_score=3.0, started_at="now",
                  duration_s=1.0, programs=[prog])


def test_localize_changes_messages_only():
    r = _result()
    before = json.loads(json.dumps(r.to_dict()))
    localize(r, "zh")
    after = r.to_dict()
    c = after["programs"][0]["checks"][0]
    assert has_chinese(c["message"]) and c["message"].endswith("b'\\x00\\x04'")
    assert has_chinese(after["programs"][0]["message"]) and "tftp_client.py" in after["programs"][0]["message"]
    for p0, p1 in zip(before["programs"], after["programs"]):
        assert [(c["status"], c["score"]) for c in p0["checks"]] == [(c["status"], c["score"]) for c in p1["checks"]]
    localize(r, "en")
    assert r.to_dict()["programs"][0]["checks"][0]["message"] == before["programs"][0]["checks"][0]["message"]


def test_netgrade_report_renders_a_result_again_in_either_language(tmp_path):
    r = _result()
    r.write_json(tmp_path / "r.json")
    for lang in ("zh", "en"):
        out = tmp_path / f"again-{lang}.json"
        proc = subprocess.run([sys.executable, "-m", "netgrade", "report", str(tmp_path / "r.json"), "--lang", lang,
                               "--json", str(out), "--html", str(tmp_path / f"r-{lang}.html"),
                               "--junit", str(tmp_path / f"r-{lang}.xml")],
                              capture_output=True, text=True, timeout=120, cwd=tmp_path)
        assert proc.returncode == 1, proc.stderr  # a check failed: the exit status is the result's
        again = json.loads(out.read_text("utf-8"))
        assert again["score"] == r.score and again["lang"] == lang
        assert [c["status"] for c in again["programs"][0]["checks"]] == ["fail", "pass"]
        html = (tmp_path / f"r-{lang}.html").read_text("utf-8")
        if lang == "zh":
            assert "未通过" in html and "没有回复" in proc.stdout + html
        else:
            assert not has_chinese(again["programs"][0]["checks"][0]["message"]) and "no reply" in html


def test_the_english_sentence_rule():
    assert english_sentences("客户端把 ACK #1 发往端口 69；ACK 应发往 DATA 的来源端口（45163）") == []
    assert english_sentences("提示：每个 DATA 之后 sendto(struct.pack('!HH', 4, block), addr)") == []
    assert english_sentences("输出为：'hello world from the student'") == []
    assert english_sentences("客户端 the client sent ACK #1 to port 69") == ["the client sent"]
    assert english_sentences("字节：bf cd bb a7") == []  # hex bytes are technical tokens


def test_the_terminal_table_keeps_its_columns_with_chinese_text():
    """CJK characters are two cells wide: every row of the table is as wide as its border."""
    from rich.cells import cell_len
    from rich.console import Console

    from netgrade.terminal import render
    r = _result()
    r.programs[0].status = "graded"
    out = Console(record=True, width=120, force_terminal=False, color_system=None)
    render(r, out, lang="zh")
    rows = [line for line in out.export_text().splitlines() if line[:1] in "┏┃┡│├└"]
    assert rows and any(has_chinese(line) for line in rows)
    widths = {cell_len(line.rstrip()) for line in rows}
    assert len(widths) == 1, [(cell_len(line.rstrip()), line) for line in rows]


# ------------------------------------------------------------------ the evidence in the HTML report

#: a few representative mutants: a TFTP client that has no timer (DATA #2 withheld, a lost packet), a UDP
#: client, a TCP server, a framing client (replies written one byte at a time)
EVIDENCE_MUTANTS = ["tftp-client/no_timeout.py", "udp-echo-client/silent_retry.py",
                    "tcp-chat-server/ignores_client_bye.py", "framed-client/header_single_recv.py"]
@pytest.fixture(scope="module")
def graded_mutants(tmp_path_factory):
    """The mutants graded in Chinese, and their result's report in HTML in either language."""
    from conftest import MUTANTS, grade, netgrade, round_submission
    tmp = tmp_path_factory.mktemp("evidence")
    sub, args, _ = round_submission(tmp, [MUTANTS / m for m in EVIDENCE_MUTANTS])
    result, _ = grade(sub, *args, "--lang", "zh", tmp=tmp)
    assert result["status"] == "graded", result.get("message")
    (tmp / "r.json").write_text(json.dumps(result, ensure_ascii=False), "utf-8")
    pages = {}
    for lang in ("zh", "en"):
        proc = netgrade("report", str(tmp / "r.json"), "--lang", lang, "--html", str(tmp / f"{lang}.html"),
                        timeout=120)
        assert proc.returncode == 1, proc.stderr[-2000:]
        pages[lang] = (tmp / f"{lang}.html").read_text("utf-8")
    return result, pages


def _failing(result: dict) -> list[tuple[str, dict]]:
    return [(f"{p['id']}/{c['id']}", c) for p in result["programs"] for c in p["checks"] if c["status"] == "fail"]


def test_every_evidence_note_of_a_failing_check_is_chinese_in_the_chinese_report(graded_mutants):
    result, pages = graded_mutants
    failing = dict(_failing(result))
    assert {k.split("/")[0] for k in failing} == {m.split("/")[0] for m in EVIDENCE_MUTANTS}, sorted(failing)
    events = [e for c in failing.values() for e in c["evidence"].get("events", [])]
    assert any(e["kind"] == "dropped" for e in events), "the TFTP mutant's check withheld no packet"
    notes = evidence_notes(pages["zh"])
    assert {check for check, _ in notes} >= set(failing), "failing checks without evidence notes in the page"
    wrong = untranslated_notes(pages["zh"])
    assert not wrong, "evidence notes of failing checks not in Chinese:\n" + "\n".join(wrong)


def test_the_english_report_of_the_same_file_gives_back_the_english_notes(graded_mutants):
    import html as html_
    result, pages = graded_mutants
    english = {text for _, text in evidence_notes(pages["en"])}
    shown = html_.unescape(pages["en"])
    recorded = [(check, e["text"]) for check, c in _failing(result) for e in c["evidence"].get("events", [])
                if e.get("text_id")]
    assert recorded, "no evidence note was recorded as a message"
    missing = [f"{check}: {text!r}" for check, text in recorded if text not in shown]
    assert not missing, "English notes of the result file missing from the English report:\n" + "\n".join(missing)
    assert not [t for t in english if has_chinese(t)], "the English report shows Chinese notes"
    assert not [text for _, text in recorded if text in html_.unescape(pages["zh"])
                and english_sentences(text)], "the Chinese report shows English notes"


def test_a_resource_limit_reason_is_a_message_rendered_in_the_reports_language():
    from types import SimpleNamespace

    from netgrade.evidence import Evidence, event_text
    from netgrade.sandbox.cgroups import limit_reason
    from netgrade.sandbox.process import ProgramRun
    run = SimpleNamespace(proc=SimpleNamespace(poll=lambda: -9), limit_probe=lambda: limit_reason("memory", 256),
                          _killed_by_grader=False)
    ended = ProgramRun.exit_message(run)
    assert str(ended) == "killed: memory limit 256 MiB"
    run.proc = SimpleNamespace(poll=lambda: 1)
    run.limit_probe = lambda: limit_reason("pids", 64)
    ev = Evidence()
    ev.add("exit", who="udp-send", status=ProgramRun.exit_message(run))
    (event,) = ev.to_dict()["events"]
    assert event["status"] == "exited with status 1 (process limit 64 reached)"  # the English text, as before
    zh = event_text(event, "status", "zh")
    assert "进程数上限 64" in zh and "1" in zh and not english_sentences(zh), zh
    assert event_text(event, "status", "en") == event["status"]
    zh = limit_reason("memory", 256).render("zh")
    assert "内存" in zh and "256 MiB" in zh and not english_sentences(zh), zh


def test_a_flaky_checks_message_and_the_batch_notice_render_in_either_language():
    from netgrade.batch.retry import merge_retry
    from netgrade.outputs.html import render
    first, again = _result(), _result()
    from netgrade.verdicts import ProgramStatus, Status
    first.programs[0].status = again.programs[0].status = ProgramStatus.GRADED
    again.programs[0].checks[0].status = Status.PASS
    assert merge_retry(first, again) == ["tftp-client/acks"]
    (c, _) = first.programs[0].checks
    assert c.flaky and c.message.startswith("flaky: fail at first (no reply: b'\\x00\\x04')")  # English, as before
    assert first.notices == ["flaky (failed, then passed in a fresh sandbox): tftp-client/acks"]
    again_zh = Result.from_dict(json.loads(json.dumps(first.to_dict())))  # through the result file
    localize(again_zh, "zh")
    zh = again_zh.programs[0].checks[0].message
    assert "未通过" in zh and "没有回复" in zh and "b'\\x00\\x04'" in zh and not english_sentences(zh), zh
    (notice,) = again_zh.notices
    assert has_chinese(notice) and "tftp-client/acks" in notice and not english_sentences(notice), notice
    import html as html_
    page = html_.unescape(render(first, "zh"))
    assert zh in page and notice in page


def test_an_evidence_note_keeps_its_english_text_and_its_template_and_student_data_stays_as_sent():
    from netgrade.evidence import Evidence
    from netgrade.i18n import translator
    from netgrade.outputs import html
    ev = Evidence()
    ev.note(Msg(N_("peer withholds the reply to {line}"), {"line": repr("the quick brown fox")}))
    ev.packet("received", "udp", "127.0.0.1:5000", "127.0.0.1:9000", b"the quick brown fox",
              note=Msg(N_("duplicate")))
    note, packet = json.loads(json.dumps(ev.to_dict()))["events"]
    assert note["text"] == "peer withholds the reply to 'the quick brown fox'"  # existing readers: English
    assert note["text_id"] == "peer withholds the reply to {line}"
    assert note["text_params"] == {"line": "'the quick brown fox'"}
    assert packet["text"] == "the quick brown fox" and "text_id" not in packet and packet["note_id"] == "duplicate"
    rows = {r["cls"]: r for r in html.diagram({"events": [note, packet]}, translator("zh"), lang="zh")["rows"]}
    assert rows["remark"]["title"] == "对端扣下对 'the quick brown fox' 的回复"
    assert rows["recv"]["label"].startswith("the quick brown fox") and rows["recv"]["title"].startswith("重复")
    rows = {r["cls"]: r for r in html.diagram({"events": [note, packet]}, translator("en"), lang="en")["rows"]}
    assert rows["remark"]["title"] == note["text"] and rows["recv"]["title"].startswith("duplicate")


def test_a_connections_socket_error_is_a_message_and_an_unknown_one_its_system_text():
    import errno

    from netgrade.peers.tcp import socket_error
    reset = socket_error(ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"))
    assert str(reset) == "connection reset by peer (ECONNRESET)"
    zh = reset.render("zh")
    assert has_chinese(zh) and "ECONNRESET" in zh and not english_sentences(zh), zh
    assert socket_error(OSError(errno.EACCES, "Permission denied")) == "Permission denied"
