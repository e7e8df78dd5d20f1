"""The instructor's course settings in pages (issue 20), in process (the app on SQLite, Starlette's test
client): a pack change is checked as ``--pack`` checks it and becomes a new version that the next grading
records; limits, roster import (the links CSV), regrade with its progress page; the class overview's
histogram, pass rates and the Canvas and Gradescope exports; every form needs its CSRF token and no page
exists for a student.  The migration to pack versions runs on SQLite and PostgreSQL.
"""
from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
import zipfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from netgrade.service import admin, db, queue
from netgrade.service.app import Settings
from netgrade.service.models import Grading, PackVersion, Submission
from servicekit import postgres  # noqa: F401 - the fixture
from sqlalchemy import select
from sqlalchemy.orm import Session
from test_service_pages import REF, csrf_of, make_site, sign_in

#: a pack change the loader accepts: udp-send's title, over the default pack
GOOD_PACK = '[programs.udp-send]\ntitle = "UDP sender (version 2)"\n'
#: one the loader refuses, with its one line
BAD_PACK = '[programs.udp-send\ntitle = "x"\n'


@pytest.fixture
def site(tmp_path):
    return make_site(tmp_path, Settings())


def _submit(c: TestClient) -> str:
    """Upload the reference udp-send and send it for grading; the submission's id."""
    good = csrf_of(c.get("/home").text)
    preview = c.post("/upload", data={"csrf": good}, files=[("files", ("udp_send.py", REF, "text/x-python"))])
    draft = re.search(r"/drafts/([0-9a-f]{32})/submit", preview.text).group(1)
    r = c.post(f"/drafts/{draft}/submit", data={"csrf": good}, follow_redirects=False)
    assert r.status_code == 303, r.text[:300]
    return r.headers["location"].rsplit("/", 1)[1]


def _grade(engine, course_id: int, passed: bool) -> str:
    """Play a worker: lease the next submission and finish it with a result of the course's current pack
    version (what the worker reads with the course), every check passing or not."""
    from netgrade.service.models import Course
    job = queue.claim(engine, "test-worker", 30)
    assert job is not None, "nothing was queued"
    with Session(engine) as s:
        version = s.get(Course, course_id).pack_version
    from netgrade.results import CheckResult, ProgramResult, Result
    from netgrade.verdicts import Level, ProgramStatus, Status
    pts = 10.0 if passed else 0.0
    check = CheckResult("sends", "sends one datagram", Level.MUST, Status.PASS if passed else Status.FAIL, pts, 10.0,
                        "" if passed else "expected a datagram, saw none", 0.1)
    result = Result(job.id, "default", "local", pts, 10.0, "2026-12-01T00:00:00+00:00", 1.0,
                    [ProgramResult("udp-send", "udp_send.py", ProgramStatus.GRADED, pts, 10.0, [check],
                                   "UDP sender")]).to_dict()
    assert queue.finish(engine, job, "test-worker", result, 1.0, 3, version) == "done"
    return job.id


def teacher_client(app, teacher) -> TestClient:
    c = TestClient(app)
    assert sign_in(c, teacher).status_code == 303
    return c


def test_a_bad_pack_shows_its_one_line_error_and_changes_nothing(site):
    engine, app, _, teacher, cid = site
    with teacher_client(app, teacher) as c:
        page = c.get("/class/settings")
        assert page.status_code == 200 and 'id="pack-version">1<' in page.text, page.text[:800]
        r = c.post("/class/settings/pack", data={"csrf": csrf_of(page.text), "pack": BAD_PACK})
        assert r.status_code == 422, r.text[:500]
        err = re.search(r'<p class="error" id="pack-error" role="alert">(.*?)</p>', r.text, re.S)
        assert err and "\n" not in err.group(1).strip() and "pack" in err.group(1).lower(), r.text[:1500]
        assert "[programs.udp-send" in r.text  # the refused text is kept in the form to be fixed
        # the same one line as the loader's (netgrade check --pack)
        with pytest.raises(admin.AdminError) as exc:
            admin.check_pack(BAD_PACK, ["udp-send"])
        assert str(exc.value) in r.text.replace("&#34;", '"').replace("&#39;", "'").replace("&quot;", '"')
        # an unknown program of the course is refused too
        r = c.post("/class/settings/pack", data={"csrf": csrf_of(page.text), "pack": "[checks]\nnope = 1\n"})
        assert r.status_code == 422 and 'id="pack-error"' in r.text, r.text[:800]
    with Session(engine) as s:
        assert s.execute(select(PackVersion.version).where(PackVersion.course_id == cid)).scalars().all() == [1]


def test_a_good_pack_is_version_2_and_the_next_grading_records_it(site):
    engine, app, tokens, teacher, cid = site
    with TestClient(app) as amy:
        sign_in(amy, tokens["amy"])
        first = _submit(amy)
        assert _grade(engine, cid, True) == first
        with teacher_client(app, teacher) as c:
            page = c.get("/class/settings")
            r = c.post("/class/settings/pack", files=[("pack_file", ("pack.toml", GOOD_PACK.encode(), "text/plain"))],
                       data={"csrf": csrf_of(page.text), "pack": "", "note": "a clearer title"},
                       follow_redirects=False)
            assert r.status_code == 303 and "saved=pack-2" in r.headers["location"], (r.status_code, r.text[:500])
            page = c.get(r.headers["location"])
            assert 'id="pack-version">2<' in page.text and "a clearer title" in page.text
            api = TestClient(app, headers={"Authorization": f"Bearer {teacher}"})
            assert api.get("/api/course").json()["pack_version"] == 2
            assert "UDP sender (version 2)" in page.text  # the current pack, shown to be edited
            assert [int(v) for v in re.findall(r'data-version="(\d+)"', page.text)] == [2, 1]
            # the same text again makes no version
            r = c.post("/class/settings/pack", data={"csrf": csrf_of(page.text), "pack": GOOD_PACK})
            assert r.status_code == 200 and 'id="pack-saved"' in r.text and 'id="pack-version">2<' in r.text
        second = _submit(amy)
        assert _grade(engine, cid, True) == second
        with Session(engine) as s:
            assert s.get(Submission, first).pack_version == 1 and s.get(Submission, second).pack_version == 2
            assert s.execute(select(Grading.pack_version).where(Grading.submission_id == second)).scalar() == 2
        page = amy.get(f"/submissions/{second}")
        assert re.search(r'id="graded-with">[^<]*version 2', page.text), page.text[:2000]
        assert re.search(r'id="graded-with">[^<]*version 1', amy.get(f"/submissions/{first}").text)


def test_limits_roster_and_regrade_with_its_progress(site):
    engine, app, tokens, teacher, cid = site
    with TestClient(app) as amy:
        sign_in(amy, tokens["amy"])
        sub = _submit(amy)
        _grade(engine, cid, False)
    with teacher_client(app, teacher) as c:
        page = c.get("/class/settings")
        good = csrf_of(page.text)
        r = c.post("/class/settings/limits", data={"csrf": good, "cooldown_s": "5", "max_attempts": "3",
                                                   "deadline": "2026-12-24T23:59:00+08:00"}, follow_redirects=False)
        assert r.status_code == 303, r.text[:500]
        lim = c.get("/class/settings").text
        assert 'name="cooldown_s" inputmode="decimal" value="5"' in lim and 'value="2026-12-24T23:59:00+08:00"' in lim
        bad = c.post("/class/settings/limits", data={"csrf": good, "deadline": "tomorrow"})
        assert bad.status_code == 422 and "deadline must be ISO 8601" in bad.text, bad.text[:800]
        bad = c.post("/class/settings/limits", data={"csrf": good, "max_files": "many"})
        assert bad.status_code == 422 and "max_files" in bad.text
        assert 'value="2026-12-24T23:59:00+08:00"' in c.get("/class/settings").text  # unchanged by the refusals
        # a roster: the new students' links come back as links.csv; one already there keeps their token
        r = c.post("/class/settings/roster", data={"csrf": good},
                   files=[("roster_file", ("r.csv", b"student_id,name\namy,Amy\ncy,Cy <b>C</b>\n", "text/csv"))])
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv"), r.text[:500]
        assert 'filename="links.csv"' in r.headers["content-disposition"]
        rows = list(csv.DictReader(io.StringIO(r.text)))
        assert [x["student_id"] for x in rows] == ["cy"] and rows[0]["link"].endswith("#token=" + rows[0]["token"])
        with TestClient(app) as cy:
            assert sign_in(cy, rows[0]["token"]).status_code == 303
        page = c.get("/class/settings").text
        assert "Cy &lt;b&gt;C&lt;/b&gt;" in page and "<b>C</b>" not in page  # roster text is text
        bad = c.post("/class/settings/roster", data={"csrf": good, "roster": "only-an-id\n"})
        assert bad.status_code == 422 and "roster line 1" in bad.text
        # regrade the selected student: the progress page follows it to the end
        r = c.post("/class/regrade", data={"csrf": good, "which": "selected", "student": ["amy"]},
                   follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/class/regrades/"), r.text[:500]
        progress = c.get(r.headers["location"]).text
        assert 'id="finished">0<' in progress and 'id="regrade-total">1<' in progress
        assert 'http-equiv="refresh"' in progress and 'data-state="queued"' in progress
        assert _grade(engine, cid, True) == sub
        progress = c.get(r.headers["location"]).text
        assert 'id="finished">1<' in progress and 'id="regrade-done"' in progress
        assert 'http-equiv="refresh"' not in progress
        assert c.post("/class/regrade", data={"csrf": good, "which": "selected"}).status_code == 422
        # another course's instructor, or a made-up id: not found
        assert c.get("/class/regrades/" + "0" * 32).status_code == 404


def test_overview_histogram_pass_rates_and_exports(site):
    engine, app, tokens, teacher, cid = site
    for who, passed in (("amy", True), ("ben", False)):
        with TestClient(app) as st:
            sign_in(st, tokens[who])
            _submit(st)
            _grade(engine, cid, passed)
    with teacher_client(app, teacher) as c:
        home = c.get("/home").text
        bins = dict(re.findall(r'data-bin="([^"]+)" data-n="(\d+)"', home))
        assert bins, home[-4000:]
        assert bins["0–10"] == "1" and bins["90–100"] == "1" and sum(map(int, bins.values())) == 2, bins
        rate = re.search(r'data-check="udp-send/sends" data-rate="([^"]+)"', home)
        assert rate and rate.group(1) == "50 %", home[-3000:]
        canvas = c.get("/class/canvas.csv")
        assert canvas.status_code == 200 and "attachment" in canvas.headers["content-disposition"]
        rows = list(csv.reader(io.StringIO(canvas.text)))
        assert rows[0][:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"], rows[0]
        assert rows[1][0] == "Points Possible" and rows[1][5] == "10"
        assert {r[2]: r[5] for r in rows[2:]} == {"amy": "10", "ben": "0"}, rows
        gs = c.get("/class/gradescope.zip")
        assert gs.status_code == 200 and gs.headers["content-type"] == "application/zip"
        with zipfile.ZipFile(io.BytesIO(gs.content)) as zf:
            assert sorted(zf.namelist()) == ["amy/results.json", "ben/results.json"]
            ben = json.loads(zf.read("ben/results.json"))
        assert ben["score"] == 0.0 and ben["tests"][0]["status"] == "failed", ben


def test_settings_need_the_instructor_and_every_form_its_csrf_token(site):
    _, app, tokens, teacher, _ = site
    with TestClient(app) as amy:
        sign_in(amy, tokens["amy"])
        good = csrf_of(amy.get("/home").text)
        for path in ("/class/settings", "/class/canvas.csv", "/class/gradescope.zip", "/class/regrades/" + "0" * 32):
            assert amy.get(path).status_code == 404, path
        for path in ("/class/settings/pack", "/class/settings/limits", "/class/settings/roster", "/class/regrade"):
            assert amy.post(path, data={"csrf": good, "pack": GOOD_PACK, "which": "all"}).status_code == 404, path
    with TestClient(app) as nobody:
        assert nobody.get("/class/settings").status_code == 401
    with teacher_client(app, teacher) as c:
        page = c.get("/class/settings")
        assert page.headers["content-security-policy"].startswith("default-src 'none'")
        assert not re.search(r"<script(?![^>]*src=\"/static/)", page.text)
        for path, data in (("/class/settings/pack", {"pack": GOOD_PACK}), ("/class/settings/limits", {"max_files": "9"}),
                           ("/class/settings/roster", {"roster": "dan,Dan\n"}), ("/class/regrade", {"which": "all"})):
            assert c.post(path, data=data).status_code == 403, path
            assert c.post(path, data={**data, "csrf": "forged"}).status_code == 403, path
        page = c.get("/class/settings").text
        assert 'id="pack-version">1<' in page and 'name="max_files" inputmode="numeric" value="200"' in page
        assert "dan" not in page


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_migration_to_pack_versions_keeps_every_course(backend, tmp_path, request):
    """A database at 0002 with a course and a graded submission: 0003 makes the course's pack its version 1
    and the grading keeps no version (it is not known); on SQLite and on PostgreSQL."""
    from alembic import command
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'm.db'}"
    else:
        url = request.getfixturevalue("postgres").create_db(f"ng_migrate_{tmp_path.name[-12:].lower()}".replace("-", "_"))
    engine = db.connect(db.normalize_url(url))
    cfg = db._alembic_config(engine)
    with engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0002")
        conn.commit()
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO courses (id, name, pack_text, programs, runner, limits, lang, created_at) "
                             "VALUES (7, 'old', '[programs.udp-send]\ntitle = ''t''\n', '[\"udp-send\"]', 'local', "
                             "'{}', 'en', 1.0)")
    db.upgrade(engine)
    assert db.current_revision(engine) == db.head_revision() == "0003"
    with Session(engine) as s:
        rows = s.execute(select(PackVersion)).scalars().all()
        assert [(r.course_id, r.version, r.programs) for r in rows] == [(7, 1, '["udp-send"]')]
        assert rows[0].pack_text.startswith("[programs.udp-send]")
        from netgrade.service.models import Course
        assert s.get(Course, 7).pack_version == 1
    # and a change afterwards is version 2
    assert admin.set_pack(engine, 7, GOOD_PACK, "after the migration") == 2
    engine.dispose()
    if backend == "sqlite":
        con = sqlite3.connect(tmp_path / "m.db")
        assert con.execute("SELECT count(*) FROM pack_versions").fetchone() == (2,)
        con.close()


def test_the_settings_page_speaks_chinese(site):
    """With the real zh_CN catalog: every fixed text of the settings page and the regrade page (the texts
    the catalog lists for their templates) is shown in Chinese, none left in English."""
    from babel.messages.pofile import read_po
    from netgrade.i18n import translations
    from netgrade.service import web
    engine, app, tokens, teacher, cid = site
    pot = Path(__file__).resolve().parent.parent / "harness" / "locale" / "netgrade.pot"
    with open(pot, "rb") as f:
        texts = {m.id for m in read_po(f) if m.id and any(
            loc.endswith(("settings.html.j2", "regrade.html.j2")) for loc, _ in m.locations)}
    assert len(texts) > 30, texts
    zh = translations("zh")
    assert all(zh.gettext(t) != t for t in texts), [t for t in texts if zh.gettext(t) == t]
    web.environment.cache_clear()
    try:
        with TestClient(app) as amy:
            sign_in(amy, tokens["amy"])
            _submit(amy)
            _grade(engine, cid, True)
        with teacher_client(app, teacher) as c:
            page = c.get("/class/settings?lang=zh")
            assert '<html lang="zh">' in page.text and zh.gettext("Course settings") in page.text
            r = c.post("/class/regrade", data={"csrf": csrf_of(page.text), "which": "all"})
            assert r.status_code == 200 and zh.gettext("Regrade") in r.text
            for text in (page.text, r.text):
                shown = re.sub(r"<[^>]+>", "\n", text)
                left = [t for t in texts if "%(" not in t and re.search(rf"(^|\n)\s*{re.escape(t)}\s*(\n|$)", shown)]
                assert not left, f"English left on a zh page: {left}"
            # a refused roster says why in Chinese, the refused line as it was sent (admin's messages)
            bad = c.post("/class/settings/roster", data={"csrf": csrf_of(page.text), "roster": "only-an-id\n"})
            assert bad.status_code == 422 and "名单第 1 行" in bad.text and "only-an-id" in bad.text, bad.text[-800:]
            assert "roster line" not in bad.text and "wants" not in bad.text, bad.text[-800:]
            twice = c.post("/class/settings/roster", data={"csrf": csrf_of(page.text), "roster": "x1,X\nx1,Y\n"})
            assert twice.status_code == 422 and "出现了两次" in twice.text and "twice" not in twice.text
    finally:
        web.environment.cache_clear()
