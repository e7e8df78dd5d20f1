"""The service's web pages in a real browser (Playwright driving Debian's chromium, as test_browser.py does),
against a real ``netgrade serve`` on 127.0.0.1 with a real grading worker.

A student signs in with the personal link, uploads the exported references as
a folder, sees which programs were found, follows the progress and reads full
marks; a second student cannot open the first's pages by URL; a file named
like markup and a program printing ``<script>`` are shown as text and nothing
runs.  Every page's console, dialogs and requests are watched: no request
leaves the service's origin.  Screenshots go to ``test-artifacts/``.
"""
from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import pytest
from browserkit import NEEDS_BROWSER, browser  # noqa: F401 - the fixture
from servicekit import GRADE_S, ROOT, Service, course, services, slow_start  # noqa: F401

ARTIFACTS = ROOT / "test-artifacts"
PROGRAMS = ("udp-send", "udp-recv")

pytestmark = [*NEEDS_BROWSER, pytest.mark.xdist_group("service-web")]

#: udp-send that prints markup and sends nothing: its checks fail, and the output is in the report
HOSTILE_SEND = '''import sys
print('<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">', flush=True)
sys.exit(0)
'''
HOSTILE_NAME = "<img src=x onerror=alert(1)>.py"


class Watched:
    """A browser context whose every page's console, errors, dialogs and requests are recorded."""

    def __init__(self, browser, origin: str) -> None:
        self.origin = origin
        self.ctx = browser.new_context(accept_downloads=True)
        self.requests: list[str] = []
        self.console: list[str] = []
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.page = self.ctx.new_page()
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))

    def shot(self, name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"service-{name}.png"), full_page=True)

    def assert_clean(self) -> None:
        away = [u for u in self.requests if not (u.startswith(self.origin + "/") or u == self.origin
                                                  or u.startswith(("data:", "about:")))]
        assert not away, f"requests left the service's origin {self.origin}: {away}"
        assert not self.dialogs, f"a script ran: dialogs {self.dialogs}"
        assert not self.errors, f"page errors: {self.errors}"
        # a CSP refusal is logged on the console: none of our pages may need one
        csp = [c for c in self.console if "Content Security Policy" in c]
        assert not csp, f"the CSP refused something: {csp}"

    def close(self) -> None:
        self.ctx.close()


def sign_in(w: Watched, svc: Service, token: str) -> None:
    """Open the personal link (the token after '#'), as a student would."""
    w.page.goto(f"{svc.url}/#token={token}")
    w.page.wait_for_url(f"{svc.url}/home", timeout=30_000)
    assert "token" not in w.page.url, w.page.url


def upload_folder(w: Watched, folder: Path) -> None:
    w.page.set_input_files("#folder", str(folder))
    w.page.click("#upload button[type=submit]")
    w.page.wait_for_selector("#found", timeout=60_000)


_SNAPSHOT = """() => {
  const box = document.getElementById("status");
  if (!box) { return null; }
  const text = (id) => (document.getElementById(id) || {}).textContent || "";
  return [text("state"), text("done"), text("total"), document.querySelectorAll("#checks li").length];
}"""


def follow(w: Watched, timeout: float) -> list[tuple[str, str, str, int]]:
    """(state, done, total, finished checks listed) as the waiting page shows them, read every 0.1 s until
    the result is there."""
    seen: list[tuple[str, str, str, int]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if w.page.locator("#result").count():
            return seen
        try:
            # one script call reads the four in one go: read one by one, the page's own update (or its reload
            # into the result page) could fall between two of them and pair counts of different moments
            got = w.page.evaluate(_SNAPSHOT)
        except Exception:  # noqa: BLE001 - the page reloads itself when the grading ends
            continue
        if got is None:  # the result page (or a page between the two)
            continue
        now = (got[0], got[1], got[2], int(got[3]))
        if not seen or seen[-1] != now:
            seen.append(now)
        w.page.wait_for_timeout(100)  # the interval of a poll of the page, bounded by the deadline
    raise AssertionError(f"no result on the page after {timeout:g} s; seen {seen}")


def test_student_signs_in_uploads_a_folder_and_sees_full_marks(browser, tmp_path, services, exported):
    data, teacher, tokens = course(tmp_path, None, ["amy", "ben"], "--limits", '{"cooldown_s": 0}',
                                   programs=PROGRAMS)
    svc = Service(data, None, workers=1).start()
    services.append(svc)
    amy = Watched(browser, svc.url)
    try:
        # a cookie planted before sign-in (session fixation) is not the session afterwards
        amy.ctx.add_cookies([{"name": "ng_session", "value": "planted-by-someone-else", "url": svc.url}])
        amy.page.goto(svc.url + "/")
        amy.shot("signin")
        sign_in(amy, svc, tokens["amy"])
        cookie = {c["name"]: c for c in amy.ctx.cookies()}["ng_session"]
        assert cookie["value"] != "planted-by-someone-else" and len(cookie["value"]) >= 40, cookie
        assert cookie["httpOnly"] is True and cookie["sameSite"] == "Lax", cookie
        assert amy.page.text_content("#who") == "amy"
        amy.shot("home")
        # the two graded programs start a second late: the page shows the grading between 0 and the total
        lab = tmp_path / "lab"
        shutil.copytree(exported, lab)
        for name in ("udp_send.py", "udp_recv.py"):
            (lab / name).write_bytes(slow_start((lab / name).read_bytes()))
        upload_folder(amy, lab)
        rows = {r.get_attribute("data-program"): r for r in amy.page.query_selector_all("#found tbody tr")}
        assert sorted(rows) == sorted(PROGRAMS), sorted(rows)
        for pid, fname in (("udp-send", "udp_send.py"), ("udp-recv", "udp_recv.py")):
            assert rows[pid].get_attribute("class") == "ok", (pid, rows[pid].inner_text())
            assert rows[pid].query_selector("code.file").inner_text() == fname
        assert "tcp_chat_server.py" in amy.page.inner_text("#others")  # the pack's other files, listed
        amy.shot("preview")
        amy.page.click("#confirm button[type=submit]")
        amy.page.wait_for_url(re.compile(r".*/submissions/[0-9a-f]{32}$"), timeout=30_000)
        sub_url = amy.page.url
        amy.shot("waiting")
        seen = follow(amy, GRADE_S)
        # the progress as the page showed it, live: done never went down, and while the grading ran the
        # page showed the number of checks and a count short of it
        dones = [int(d) for _, d, _, _ in seen if d.isdigit()]
        assert dones == sorted(dones), seen
        assert any(s == "running" and t.isdigit() and int(d) < int(t) for s, d, t, _ in seen), \
            f"no progress was shown while running: {seen}"
        # each finished check appears in the list as it completes: the list as long as the count shown with
        # it (one snapshot of the page), never more than the total
        assert any(n > 0 for s, _, _, n in seen if s == "running"), f"no finished check was listed: {seen}"
        odd = [(s, d, t, n) for s, d, t, n in seen
               if s == "running" and d.isdigit() and t.isdigit() and not int(d) == n <= int(t)]
        assert not odd, f"a count and its list disagree in {odd}; seen {seen}"
        score = amy.page.text_content("#score")
        got, _, full = score.partition(" / ")
        assert got == full and float(full) > 0, score
        assert set(amy.page.inner_text("#programs").split()) >= set(PROGRAMS)
        # the full report, in its sandboxed frame, under its own no-script policy
        frame = amy.page.frame_locator("#report")
        assert "udp-send" in frame.locator("body").inner_text(timeout=30_000)
        assert amy.page.get_attribute("#report", "sandbox") == ""
        amy.shot("result")
        r = amy.ctx.request.get(sub_url + "/report.html")
        assert r.status == 200 and "sandbox" in r.headers["content-security-policy"], r.headers
        with amy.page.expect_download() as dl:
            amy.page.click("text=Download the result (JSON)")
        assert dl.value.suggested_filename.startswith("result-")
        amy.page.goto(svc.url + "/home")
        assert amy.page.locator("#history tbody tr").count() == 1
        # a second attempt with a broken udp-send: its failing check's message, and the history's difference
        broken = tmp_path / "broken"
        shutil.copytree(exported, broken)
        shutil.copyfile(ROOT / "tests" / "mutants" / "udp-send" / "gbk.py", broken / "udp_send.py")
        upload_folder(amy, broken)
        amy.page.click("#confirm button[type=submit]")
        amy.page.wait_for_url(re.compile(r".*/submissions/[0-9a-f]{32}$"), timeout=30_000)
        follow(amy, GRADE_S)
        got, _, full = amy.page.text_content("#score").partition(" / ")
        assert float(got) < float(full), (got, full)
        report = amy.page.frame_locator("#report").locator("body").inner_text(timeout=30_000)
        assert "fail" in report and "What was expected and what was seen" in report, report[:3000]
        amy.page.goto(svc.url + "/home")
        rows = amy.page.locator("#history tbody tr")
        assert rows.count() == 2
        newest = rows.nth(0).inner_text()
        assert "broke:" in newest and "udp-send/" in newest and "udp-recv/" not in newest, newest
        assert "first graded attempt" in rows.nth(1).inner_text()
        amy.shot("history")
        amy.assert_clean()
        # another student: the same URLs are "not found", as for an id that does not exist
        ben = Watched(browser, svc.url)
        try:
            sign_in(ben, svc, tokens["ben"])
            for suffix in ("", "/report.html", "/result.json"):
                resp = ben.page.goto(sub_url + suffix)
                assert resp.status == 404, (suffix, resp.status)
                assert "not found" in ben.page.inner_text("body"), suffix
                nobody = ben.ctx.request.get(f"{svc.url}/submissions/{'0' * 32}{suffix}")
                assert nobody.status == 404
            ben.shot("not-yours")
            assert ben.page.goto(svc.url + "/home") and ben.page.locator("#history").count() == 0
            # a form posted without the session's CSRF token is refused
            r = ben.ctx.request.post(svc.url + "/signout", form={"csrf": "forged"})
            assert r.status == 403, r.status
            ben.assert_clean()
        finally:
            ben.close()
        # the instructor signs in with the form (their token), sees both students, exports the gradebook
        teach = Watched(browser, svc.url)
        try:
            teach.page.goto(svc.url + "/")
            teach.page.fill("input[name=token]", teacher)
            teach.page.click("#signin button[type=submit]")
            teach.page.wait_for_url(f"{svc.url}/home", timeout=30_000)
            students = teach.page.locator("#class tbody tr")
            assert [students.nth(i).get_attribute("data-student") for i in range(students.count())] == ["amy", "ben"]
            amy_row = teach.page.locator("#class tr[data-student=amy]").inner_text()
            assert "2" in amy_row and full in amy_row, amy_row  # two submissions, full marks at best
            teach.shot("class")
            teach.page.goto(svc.url + "/home?sort=submissions&desc=1&q=a")
            assert teach.page.locator("#class tbody tr").first.get_attribute("data-student") == "amy"
            with teach.page.expect_download() as dl:
                teach.page.click("#gradebook-csv")
            text = Path(dl.value.path()).read_text("utf-8")
            lines = text.splitlines()
            assert lines[0].startswith("student,name,") and lines[1].startswith("amy,") and \
                lines[2].startswith("ben,"), text
            teach.page.goto(svc.url + "/class/health")
            assert teach.page.text_content("#workers") == "1"
            teach.shot("health")
            teach.page.goto(svc.url + "/class/students/amy")
            assert teach.page.locator("#history tbody tr").count() == 2
            teach.assert_clean()
            # the instructor's pages do not exist for a student
            assert amy.page.goto(svc.url + "/class/health").status == 404
        finally:
            teach.close()
        # sign out: the session is gone on the server too
        amy.page.goto(svc.url + "/home")
        amy.page.click("form.signout button")
        amy.page.wait_for_url(svc.url + "/", timeout=30_000)
        r = amy.ctx.request.get(sub_url, max_redirects=0)
        assert r.status == 401, r.status
    finally:
        amy.close()


def test_markup_in_names_and_output_is_text(browser, tmp_path, services):
    data, _teacher, tokens = course(tmp_path, None, ["eve"], "--limits", '{"cooldown_s": 0}', programs=("udp-send",))
    svc = Service(data, None, workers=1).start()
    services.append(svc)
    folder = tmp_path / "eve-lab"
    folder.mkdir()
    (folder / "udp_send.py").write_text(HOSTILE_SEND, "utf-8")
    (folder / HOSTILE_NAME).write_text("print('hello')\n", "utf-8")
    eve = Watched(browser, svc.url)
    try:
        sign_in(eve, svc, tokens["eve"])
        upload_folder(eve, folder)
        others = eve.page.inner_text("#others")
        assert HOSTILE_NAME in others, others  # shown as the text it is
        assert eve.page.locator("#others img").count() == 0
        eve.shot("hostile-preview")
        eve.page.click("#confirm button[type=submit]")
        eve.page.wait_for_url(re.compile(r".*/submissions/[0-9a-f]{32}$"), timeout=30_000)
        follow(eve, GRADE_S)
        got, _, full = eve.page.text_content("#score").partition(" / ")
        assert float(got) < float(full), (got, full)
        frame = eve.page.frame_locator("#report")
        text = frame.locator("body").inner_text(timeout=30_000)
        assert "<script>window.__pwned = 1</script>" in text, text[:2000]  # the output, as text
        assert frame.locator("script").count() == 0 and frame.locator("img[src=x]").count() == 0
        assert eve.page.evaluate("window.__pwned") is None
        eve.shot("hostile-result")
        eve.assert_clean()
    finally:
        eve.close()


#: a pack change the loader accepts (udp-send's title), uploaded on the settings page as a file
PACK_CHANGE = '[programs.udp-send]\ntitle = "UDP sender, pack version 2"\n'


def test_drop_files_then_the_instructor_changes_the_pack_and_regrades(browser, tmp_path, services):
    """A student drops a file onto the upload page (a drop event with a DataTransfer: Playwright cannot
    drag from the desktop) and it is graded; the instructor uploads a pack change on the settings page
    (version 2), regrades everyone, follows the progress page to the end, sees the new version on the
    result and the histogram on the overview; the settings page in Chinese."""
    data, teacher, tokens = course(tmp_path, None, ["amy"], "--limits", '{"cooldown_s": 0}', programs=("udp-send",))
    svc = Service(data, None, workers=1).start()
    services.append(svc)
    amy = Watched(browser, svc.url)
    teach = Watched(browser, svc.url)
    try:
        sign_in(amy, svc, tokens["amy"])
        assert amy.page.is_visible("#drop-hint")  # the script says the page takes a drop
        amy.page.evaluate("""([name, text]) => {
            const dt = new DataTransfer();
            dt.items.add(new File([text], name, {type: "text/x-python"}));
            document.dispatchEvent(new DragEvent("drop", {dataTransfer: dt, bubbles: true, cancelable: true}));
        }""", ["udp_send.py", (ROOT / "reference" / "udp_send.py").read_text("utf-8")])
        amy.page.wait_for_selector("#found", timeout=60_000)
        row = amy.page.locator("#found tr[data-program=udp-send]")
        assert row.get_attribute("class") == "ok" and row.locator("code.file").inner_text() == "udp_send.py"
        amy.shot("dropped")
        amy.page.click("#confirm button[type=submit]")
        amy.page.wait_for_url(re.compile(r".*/submissions/[0-9a-f]{32}$"), timeout=30_000)
        sub_url = amy.page.url
        follow(amy, GRADE_S)
        assert "version 1" in amy.page.text_content("#graded-with")
        amy.assert_clean()

        teach.page.goto(svc.url + "/")
        teach.page.fill("input[name=token]", teacher)
        teach.page.click("#signin button[type=submit]")
        teach.page.wait_for_url(f"{svc.url}/home", timeout=30_000)
        teach.page.click("#settings-link")
        teach.page.wait_for_selector("#pack-form")
        assert teach.page.text_content("#pack-version") == "1"
        pack = tmp_path / "pack.toml"
        pack.write_text(PACK_CHANGE, "utf-8")
        teach.page.set_input_files("#pack-file", str(pack))
        teach.page.fill("#pack-note", "a clearer title")
        teach.page.click("#pack-form button[type=submit]")
        teach.page.wait_for_selector("#pack-saved", timeout=30_000)
        assert teach.page.text_content("#pack-version") == "2"
        assert "UDP sender, pack version 2" in teach.page.input_value("#pack-text")
        teach.shot("settings")
        teach.page.click("#regrade-form button[type=submit]")
        teach.page.wait_for_url(re.compile(r".*/class/regrades/[0-9a-f]{32}$"), timeout=30_000)
        teach.shot("regrade-progress")
        # the page reloads itself until every regraded submission is finished
        teach.page.wait_for_selector("#regrade-done", timeout=GRADE_S * 1000)
        assert teach.page.text_content("#finished") == teach.page.text_content("#regrade-total") == "1"
        assert teach.page.locator("#regraded tbody tr").first.get_attribute("data-state") == "done"
        teach.shot("regrade-done")
        teach.page.goto(svc.url + "/home")
        bins = teach.page.locator("#histogram g.bin")
        assert bins.count() == 10
        assert sum(int(bins.nth(i).get_attribute("data-n")) for i in range(10)) == 1
        assert teach.page.locator("#histogram g.bin[data-bin='90–100']").get_attribute("data-n") == "1"
        assert teach.page.locator("#pass-rates tbody tr").count() > 0
        rates = [r.get_attribute("data-rate") for r in teach.page.query_selector_all("#pass-rates tbody tr")]
        assert set(rates) == {"100 %"}, rates
        teach.shot("class-figures")
        with teach.page.expect_download() as dl:
            teach.page.click("#canvas-csv")
        assert Path(dl.value.path()).read_text("utf-8").splitlines()[0].startswith("Student,ID,SIS User ID")
        # the zh switch on the settings page
        teach.page.goto(svc.url + "/class/settings")
        teach.page.click("nav.langs a[href='?lang=zh']")
        teach.page.wait_for_selector("html[lang=zh]")
        from netgrade.i18n import translations
        zh = translations("zh")
        assert teach.page.text_content("h1") == zh.gettext("Course settings") != "Course settings"
        assert teach.page.text_content("#regrade-form button") == zh.gettext("Regrade")
        teach.shot("settings-zh")
        teach.assert_clean()
        amy.page.goto(sub_url)
        assert "2" in amy.page.text_content("#graded-with")
        amy.assert_clean()
    finally:
        amy.close()
        teach.close()
