"""`netgrade check DIR --watch`: re-grades what a save touched, says what changed, ends cleanly on Ctrl-C.

The end-to-end cases run the command as a subprocess on an exported reference submission of two
programs (udp-echo-server and udp-send) and read its output line by line from a reader thread: every wait
is for a line, with a deadline.  A mutant written over udp_echo_server.py must be re-graded alone and
named "broke"; the reference written back, "fixed".  Files that are no program's (notes, an editor's swap
file, ``__pycache__``, the --json file the watch writes itself) re-grade nothing: they are written just
before a real change, and the re-grade that follows must name only the changed program.
"""
from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import psutil
import pytest
from conftest import MUTANTS, ROOT
from test_batch import _marked

from netgrade import pack as packmod
from netgrade.results import CheckResult, ProgramResult, Result
from netgrade.submission import locate, open_submission
from netgrade.verdicts import Presence
from netgrade.watch import affected, changed_checks, merge, program_files

DEADLINE_S = 180
WATCHING = "watching "
MUTANT = MUTANTS / "udp-echo-server" / "ascii_only.py"


class Watching:
    """A running ``netgrade check --watch`` and its output, read line by line."""

    def __init__(self, argv: list[str], mark: str) -> None:
        self.proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     start_new_session=True, env={**os.environ, "NETGRADE_TEST_MARK": mark,
                                                                  "LANG": "C.UTF-8", "LANGUAGE": ""})
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def until(self, text: str, deadline_s: float = DEADLINE_S, holding: str = "") -> list[str]:
        """The lines up to and including the next one that starts with ``text`` (and holds ``holding``)."""
        block: list[str] = []
        deadline = time.monotonic() + deadline_s
        while True:
            left = deadline - time.monotonic()
            assert left > 0, f"no line starting with {text!r} in {deadline_s} s; after: {block[-30:]}"
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            assert line is not None, (f"the watch ended (status {self.proc.wait()}) before {text!r}: "
                                      f"{block[-30:]} {self.proc.stderr.read()[-2000:]}")
            block.append(line)
            self.seen.append(line)
            if line.startswith(text) and holding in line:
                return block

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def _alive(p: psutil.Process) -> bool:
    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _interrupt(w: Watching, mark: str, sig: int = signal.SIGINT) -> tuple[int, str]:
    """``sig`` to the watch; its status and stderr, after checking that nothing of it is left."""
    family = psutil.Process(w.proc.pid).children(recursive=True)
    w.proc.send_signal(sig)
    code = w.proc.wait(timeout=60)
    stderr = w.proc.stderr.read()
    gone, alive = psutil.wait_procs([p for p in family if _alive(p)], timeout=10)
    assert [p.pid for p in alive if _alive(p)] == [], "processes of the watch outlived it"
    assert _marked(mark) == [], "processes of the watch outlived it"
    return code, stderr


def _declared_fails(mutant: Path) -> set[str]:
    return {line.split(":", 1)[1].strip() for line in mutant.read_text("utf-8").splitlines()[:12]
            if line.startswith("# fails:")}


def _assert_echo_regraded(block: list[str], named: str, never: str, score: str) -> None:
    """``block`` is one re-grade of udp-echo-server alone, naming the mutant's lines ``named`` ("fixed: ...",
    "broke: ...") and none ``never``, and ending with the whole submission's ``score``."""
    assert [line for line in block if line.startswith("re-grading")] == [
        "re-grading udp-echo-server (udp_echo_server.py)"], block
    assert _declared_fails(MUTANT) <= {line.split()[1] for line in block if line.startswith(named + ": ")}, block
    assert not any(line.startswith(never + ": ") for line in block), block
    assert any(line.startswith(f"whole submission: score {score}") for line in block), block


def _submission(exported: Path, tmp_path: Path) -> Path:
    sub = tmp_path / "sub"
    sub.mkdir()
    for name in ("udp_echo_server.py", "udp_send.py"):
        shutil.copyfile(exported / name, sub / name)
    return sub


def _statuses(path: Path) -> dict[str, str]:
    data = json.loads(path.read_text("utf-8"))
    return {f"{p['id']}/{c['id']}": c["status"] for p in data["programs"] for c in p["checks"]}


@pytest.mark.timeout(600)
def test_watch_regrades_the_changed_program_says_what_changed_and_ends_on_ctrl_c(tmp_path, exported):
    sub = _submission(exported, tmp_path)
    result = sub / "result.json"  # inside the watched folder: its own writes must re-grade nothing
    mark = f"watch-{os.getpid()}-{time.monotonic_ns()}"
    w = Watching([sys.executable, "-m", "netgrade", "check", str(sub), "--watch", "--lang", "en", "--program",
                  "udp-echo-server", "--program", "udp-send", "--json", str(result)], mark)
    try:
        first = w.until(WATCHING)
        assert any(line.startswith("score 18/18") for line in first), first
        assert _statuses(result)["udp-echo-server/echo"] == "pass"

        # a mutant over the echo server: only it is graded again, and its broken lines are named
        shutil.copyfile(MUTANT, sub / "udp_echo_server.py")
        _assert_echo_regraded(w.until(WATCHING), "broke", "fixed", "16/18")
        merged = _statuses(result)  # the whole submission's latest result: udp-send's checks are still there
        assert merged["udp-echo-server/echo"] == "fail" and merged["udp-send/one-datagram"] == "pass", merged

        # files that are no program's, then the reference back: the next re-grade is the echo server's alone
        (sub / "notes.txt").write_text("to do: the area server\n", "utf-8")
        (sub / ".udp_send.py.swp").write_bytes(b"\0swap")
        (sub / "__pycache__").mkdir()
        (sub / "__pycache__" / "udp_send.cpython-311.pyc").write_bytes(b"\0pyc")
        shutil.copyfile(exported / "udp_echo_server.py", sub / "udp_echo_server.py")
        _assert_echo_regraded(w.until(WATCHING), "fixed", "broke", "18/18")

        # a burst of saves is one re-grade, or two when the first starts before the burst ends (the saves made
        # while it runs are graded together after it); a save of udp-send then marks where the burst's re-grades end
        before_burst = len(w.seen)
        for i in range(5):
            shutil.copyfile(MUTANT if i % 2 == 0 else exported / "udp_echo_server.py", sub / "udp_echo_server.py")
        w.until(WATCHING)
        shutil.copyfile(exported / "udp_send.py", sub / "udp_send.py")
        w.until("re-grading", holding="udp-send (udp_send.py)")  # with the burst's second re-grade, if it waited
        block = w.until(WATCHING)
        burst = w.seen[before_burst:]
        echo = [line for line in burst if line.startswith("re-grading") and "udp-echo-server" in line]
        assert 1 <= len(echo) <= 2, burst
        assert _statuses(result)["udp-echo-server/echo"] == "fail"  # the burst's last save: the mutant

        # Ctrl-C while it waits: 130, nothing left, the result file keeps the last whole result
        shutil.copyfile(exported / "udp_echo_server.py", sub / "udp_echo_server.py")
        w.until(WATCHING)
        shutil.copyfile(exported / "udp_send.py", sub / "udp_send.py")  # a save that changes no verdict
        block = w.until(WATCHING)
        assert [line for line in block if line.startswith("re-grading")] == ["re-grading udp-send (udp_send.py)"]
        assert "no check changed" in block and not any(line.startswith(("fixed", "broke")) for line in block), block
        code, stderr = _interrupt(w, mark)
        assert code == 130, stderr
        assert _statuses(result)["udp-echo-server/echo"] == "pass"
        assert json.loads(result.read_text("utf-8"))["status"] == "graded"
    finally:
        w.stop()


@pytest.mark.timeout(600)
@pytest.mark.parametrize("moment,sig", [pytest.param("re-grading", signal.SIGINT, id="SIGINT-re-grading"),
                                        pytest.param("waiting", signal.SIGTERM, id="SIGTERM-waiting")])
def test_a_signal_during_a_regrade_or_the_wait_leaves_nothing(tmp_path, exported, moment, sig):
    sub = _submission(exported, tmp_path)
    mark = f"watch-{os.getpid()}-{time.monotonic_ns()}"
    w = Watching([sys.executable, "-m", "netgrade", "check", str(sub), "--watch", "--lang", "en", "--program",
                  "udp-echo-server"], mark)
    try:
        w.until(WATCHING)
        if moment == "re-grading":
            shutil.copyfile(MUTANT, sub / "udp_echo_server.py")
            w.until("re-grading udp-echo-server")
        code, stderr = _interrupt(w, mark, sig)
        assert code == 128 + sig, stderr
        assert "interrupted" in stderr
    finally:
        w.stop()


def test_watch_refuses_an_archive_and_the_docker_runner_in_one_line(tmp_path, exported):
    archive = tmp_path / "alice.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.write(exported / "udp_send.py", "udp_send.py")
    for argv, word in (([str(archive), "--watch"], "folder"),
                       ([str(tmp_path / "nothing-here"), "--watch"], "folder"),
                       ([str(exported), "--watch", "--runner", "docker"], "local runner")):
        proc = subprocess.run([sys.executable, "-m", "netgrade", "check", *argv], capture_output=True, text=True,
                              timeout=120, env={**os.environ, "LANG": "C.UTF-8", "LANGUAGE": ""})
        assert proc.returncode == 2, (argv, proc.stdout[-2000:], proc.stderr[-2000:])
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("netgrade: error: --watch") and word in lines[0], lines


# ------------------------------------------------------------------ the pieces, without grading

def test_a_programs_files_are_its_file_and_the_modules_of_its_folder_it_imports(tmp_path, exported):
    sub = tmp_path / "s"
    shutil.copytree(exported, sub / "lab")
    (sub / "lab" / "helpers").mkdir()
    (sub / "lab" / "helpers" / "__init__.py").write_text("", "utf-8")
    (sub / "lab" / "udp_send.py").write_text("import socket, helpers\nfrom tftp_codec import x\n", "utf-8")
    pack = packmod.load(None)
    opened = open_submission(sub)
    located = locate(opened, pack)
    assert program_files(opened.root, located["udp-send"]) == {"lab/udp_send.py", "lab/helpers/",
                                                                "lab/tftp_codec.py"}
    assert program_files(opened.root, located["tftp-server"]) == {"lab/tftp_server.py", "lab/tftp_codec.py",
                                                                   "lab/tftp_transfer.py"}
    (sub / "lab" / "udp_echo_server.py").write_text("import socket\nthis is not python (\n", "utf-8")
    assert program_files(opened.root, locate(opened, pack)["udp-echo-server"]) == {"lab/udp_echo_server.py"}


def test_a_change_touches_the_programs_whose_files_it_is_or_that_are_located_again(tmp_path, exported):
    pack = packmod.load(None)
    sub = tmp_path / "s"
    shutil.copytree(exported, sub)
    opened = open_submission(sub)
    before = locate(opened, pack)
    files = {pid: program_files(opened.root, loc) for pid, loc in before.items()}
    selected = list(pack.programs)
    assert affected({"notes.txt"}, before, before, files, selected) == {}
    touched = affected({"tftp_codec.py"}, before, before, files, selected)
    assert set(touched) == {"tftp-server", "tftp-client"} and touched["tftp-server"] == ["tftp_codec.py"]
    assert affected({"tftp_codec.py"}, before, before, files, ["udp-send"]) == {}
    # a netgrade.toml that points udp-send at another file: udp-send is located again, the others are not
    (sub / "udp_send_v2.py").write_text((sub / "udp_send.py").read_text("utf-8"), "utf-8")
    (sub / "netgrade.toml").write_text('[programs.udp-send]\nfile = "udp_send_v2.py"\n', "utf-8")
    after = locate(opened, pack)
    assert affected({"netgrade.toml", "udp_send_v2.py"}, before, after, files, selected) == {"udp-send": []}
    # a program that was missing and is now found
    (sub / "udp_recv.py").rename(sub / "elsewhere.txt")
    gone = locate(opened, pack)
    assert gone["udp-recv"].status == Presence.MISSING
    assert affected({"udp_recv.py"}, gone, after, files, selected) == {"udp-recv": ["udp_recv.py"]}
    assert affected({"elsewhere.txt"}, gone, after, {}, selected) == {"udp-recv": []}


def _check(cid: str, status: str, duration: float = 0.1) -> CheckResult:
    return CheckResult(id=cid, title=cid, level="must", status=status, score=0, max_score=2, message="",
                       duration_s=duration)


def _result(*programs: tuple[str, list[CheckResult]], notices=()) -> Result:
    r = Result(submission="s", pack="p", runner="local", score=0, max_score=0, started_at="", duration_s=0,
               programs=[ProgramResult(id=pid, file=f"{pid}.py", status="graded", score=0, max_score=0,
                                       checks=checks) for pid, checks in programs])
    for pid, text in notices:
        r.notices.append(text)
        r.notice_messages.append({"id": "{program}: {notice}", "params": {"program": pid, "notice": text}})
    for p in r.programs:
        p.score = sum(c.max_score for c in p.checks if c.status == "pass")
        p.max_score = sum(c.max_score for c in p.checks)
    return r


def test_fixed_and_broke_are_the_checks_whose_passing_changed():
    before = _result(("udp-send", [_check("port", "pass"), _check("one", "fail"), _check("exits", "pass"),
                                   _check("long", "error")]))
    after = _result(("udp-send", [_check("port", "pass"), _check("one", "pass"), _check("exits", "fail"),
                                  _check("long", "fail"), _check("new", "pass")]))
    fixed, broke = changed_checks(before, after)
    assert [c.id for _, c in fixed] == ["one", "new"]
    assert [c.id for _, c in broke] == ["exits"]
    assert changed_checks(after, after) == ([], [])


def test_the_merged_result_is_the_latest_of_every_program_in_the_packs_order():
    pack = packmod.load(None)
    base = _result(("udp-send", [_check("port", "pass")]), ("udp-echo-server", [_check("echo", "pass")]),
                   notices=[("udp-send", "similar"), ("udp-echo-server", "similar too")])
    new = _result(("udp-echo-server", [_check("echo", "fail")]))
    merged = merge(base, new, pack)
    assert [p.id for p in merged.programs] == [pid for pid in pack.programs if pid in ("udp-send", "udp-echo-server")]
    assert {p.id: p.checks[0].status for p in merged.programs} == {"udp-send": "pass", "udp-echo-server": "fail"}
    assert (merged.score, merged.max_score) == (2, 4)
    assert merged.notices == ["similar"]  # the echo server's old notice went with its old result
    assert merge(None, new, pack) is new


@pytest.mark.parametrize("lang,fixed,broke,whole", [("en", "fixed: ", "broke: ", "whole submission: score 2/4"),
                                                     ("zh", "已修好：", "改坏了：", "整份提交：得分 2/4")])
def test_the_changed_checks_come_first_in_the_watchs_language(tmp_path, lang, fixed, broke, whole):
    import io

    from netgrade.grading import Options
    from netgrade.watch import Watch
    pack = packmod.load(None)
    out = io.StringIO()
    written = []
    w = Watch(str(tmp_path), pack, Options(), lang, written.append, out=out)
    w.latest = _result(("udp-send", [_check("port", "pass"), _check("one", "fail")]))
    w.report(_result(("udp-send", [_check("port", "fail"), _check("one", "pass")])))
    lines = out.getvalue().splitlines()
    assert lines[0].startswith(fixed + "udp-send/one") and lines[1].startswith(broke + "udp-send/port"), lines
    assert lines[-1].startswith(whole), lines
    assert [p.checks[0].status for p in written[0].programs] == ["fail"]  # the reports get the merged result
