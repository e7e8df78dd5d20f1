"""The web pages' rules, in process (the app on a SQLite database, Starlette's test client; the browser
tests in test_service_web.py drive the same pages for real): every state-changing form needs its CSRF
token, every page sends the strict policy, the session cookie's flags (Secure over https), a new session
id at sign-in, wrong tokens rate-limited, and the language (switch, Accept-Language, gettext).
"""
from __future__ import annotations

import gettext
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from netgrade.service import admin, db, web
from netgrade.service.app import Settings, create_app
from netgrade.service.limits import Limits

REF = (Path(__file__).resolve().parent.parent / "reference" / "udp_send.py").read_bytes()


def make_site(tmp_path, settings: Settings) -> tuple:
    """A course net101 (udp-send, no cooldown) with students amy and ben on SQLite, and the app:
    (engine, app, student tokens, instructor token, course id)."""
    engine = db.connect(db.default_url(tmp_path))
    db.upgrade(engine)
    teacher = admin.create_course(engine, "net101", None, ["udp-send"], "local", Limits(cooldown_s=0), "en")
    c = admin.course_by_name(engine, "net101")
    issued, _ = admin.add_students(engine, c.id, [{"id": "amy", "name": "Amy"}, {"id": "ben", "name": "Ben"}],
                                   "http://127.0.0.1")
    tokens = {i.student_id: i.token for i in issued}
    return engine, create_app(engine, settings), tokens, teacher, c.id


@pytest.fixture
def site(tmp_path):
    _, app, tokens, teacher, _ = make_site(tmp_path, Settings(auth_failures=3))
    return app, tokens, teacher


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, html[:500]
    return m.group(1)


def sign_in(client: TestClient, token: str):
    page = client.get("/")
    return client.post("/signin", data={"csrf": csrf_of(page.text), "token": token}, follow_redirects=False)


def test_every_form_needs_its_csrf_token(site):
    app, tokens, _ = site
    with TestClient(app) as c:
        page = c.get("/")
        assert c.post("/signin", data={"token": tokens["amy"]}).status_code == 403  # no token
        assert c.post("/signin", data={"csrf": "x" * 43, "token": tokens["amy"]}).status_code == 403
        assert c.get("/home", follow_redirects=False).status_code == 401
        r = c.post("/signin", data={"csrf": csrf_of(page.text), "token": tokens["amy"]}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/home", r.text[:300]
        home = c.get("/home")
        good = csrf_of(home.text)
        files = [("files", ("udp_send.py", REF, "text/x-python"))]
        assert c.post("/upload", data={"csrf": "forged"}, files=files).status_code == 403
        preview = c.post("/upload", data={"csrf": good}, files=files)
        assert preview.status_code == 200 and 'class="ok"' in preview.text, preview.text[:500]
        draft = re.search(r"/drafts/([0-9a-f]{32})/submit", preview.text).group(1)
        assert c.post(f"/drafts/{draft}/submit", data={"csrf": "forged"}).status_code == 403
        assert c.post("/signout", data={}).status_code == 403
        r = c.post(f"/drafts/{draft}/submit", data={"csrf": good}, follow_redirects=False)
        assert r.status_code == 303 and re.fullmatch(r"/submissions/[0-9a-f]{32}", r.headers["location"])
        # the draft is gone once sent: sending it again says so
        assert c.post(f"/drafts/{draft}/submit", data={"csrf": good}).status_code == 404
        # another student cannot send amy's draft, nor see her submission
    with TestClient(app) as ben:
        assert sign_in(ben, tokens["ben"]).status_code == 303
        assert ben.get(r.headers["location"]).status_code == 404
        assert "not found" in ben.get(r.headers["location"]).text


def test_every_page_sends_the_strict_policy_and_the_cookie_flags(site):
    app, tokens, teacher = site
    with TestClient(app, base_url="https://testserver") as c:
        first = c.get("/")
        assert "Secure" in first.headers["set-cookie"]  # the sign-in form's cookie, over https
        r = sign_in(c, tokens["amy"])
        cookie = [h for h in r.headers.get_list("set-cookie") if h.startswith("ng_session=")][0]
        for flag in ("HttpOnly", "Secure", "SameSite=lax", "Path=/"):
            assert flag.lower() in cookie.lower(), cookie
        for path in ("/", "/home", "/static/site.css", "/submissions/" + "0" * 32):
            resp = c.get(path)
            csp = resp.headers["content-security-policy"]
            assert "default-src 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp, \
                (path, csp)
            assert resp.headers["x-content-type-options"] == "nosniff", path
        # no inline script on any page: every <script> has a same-origin src
        for path in ("/home",):
            scripts = re.findall(r"<script([^>]*)>", c.get(path).text)
            assert all('src="/static/' in s for s in scripts), scripts
    with TestClient(app) as c:  # over http: no Secure flag (a local service would lose its cookie)
        r = sign_in(c, teacher)
        cookie = [h for h in r.headers.get_list("set-cookie") if h.startswith("ng_session=")][0]
        assert "secure" not in cookie.lower(), cookie
        assert "Class overview" in c.get("/home").text


def test_sign_in_makes_a_new_session_id_and_wrong_tokens_are_limited(site):
    app, tokens, _ = site
    with TestClient(app) as c:
        assert sign_in(c, tokens["amy"]).status_code == 303
        first = c.cookies["ng_session"]
        assert sign_in(c, tokens["amy"]).status_code == 303
        second = c.cookies["ng_session"]
        assert first != second
    with TestClient(app) as old:  # the first session was removed when the second was made
        old.cookies.set("ng_session", first)
        assert old.get("/home", follow_redirects=False).status_code == 401
    with TestClient(app) as c:
        # the student id, when given, must be the token's
        page = c.get("/")
        r = c.post("/signin", data={"csrf": csrf_of(page.text), "token": tokens["amy"], "student_id": "ben"})
        assert r.status_code == 401 and "another student id" in r.text
        codes = [c.post("/signin", data={"csrf": csrf_of(page.text), "token": "ng_wrong"}).status_code
                 for _ in range(4)]
        assert codes[:2] == [401, 401] and codes[-1] == 429, codes
        assert sign_in(c, tokens["amy"]).status_code == 429  # the address is blocked for a while


def test_language_switch_accept_language_and_gettext(site, monkeypatch):
    app, tokens, _ = site

    class Zh(gettext.NullTranslations):
        def gettext(self, message):
            return {"Sign in": "登录", "Sign out": "退出"}.get(message, message)

    monkeypatch.setattr(web, "translations", lambda lang: Zh() if lang == "zh" else gettext.NullTranslations())
    web.environment.cache_clear()
    try:
        with TestClient(app) as c:
            en = c.get("/", headers={"Accept-Language": "en-US,en;q=0.9"})
            assert '<html lang="en">' in en.text and "登录" not in en.text
            zh = c.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
            assert '<html lang="zh">' in zh.text and "登录" in zh.text
            switched = c.get("/?lang=zh", headers={"Accept-Language": "en"})
            assert '<html lang="zh">' in switched.text and "ng_lang=zh" in switched.headers["set-cookie"]
            assert '<html lang="zh">' in c.get("/", headers={"Accept-Language": "en"}).text  # remembered
            assert '<html lang="en">' in c.get("/?lang=en").text
    finally:
        web.environment.cache_clear()


def test_a_folder_is_zipped_without_its_own_name_and_caches(site):
    """A chosen folder arrives as files with relative paths: graded as the folder's content, without the
    folders `netgrade submit` leaves out; an unusable path is refused in words."""
    app, tokens, _ = site
    with TestClient(app) as c:
        sign_in(c, tokens["amy"])
        good = csrf_of(c.get("/home").text)
        folder = [("lab/udp_send.py", REF), ("lab/notes/readme.txt", b"hi\n"),
                  ("lab/__pycache__/udp_send.cpython-311.pyc", b"\0\1"), ("lab/.git/config", b"[core]\n")]
        page = c.post("/upload", data={"csrf": good},
                      files=[("folder", (n, d, "application/octet-stream")) for n, d in folder])
        assert page.status_code == 200, page.text[:500]
        assert re.search(r'data-program="udp-send">.*?<code class="file">udp_send.py</code>', page.text, re.S)
        others = re.search(r'<ul id="others">(.*?)</ul>', page.text, re.S).group(1)
        assert "notes/readme.txt" in others and "pycache" not in others and ".git" not in others, others
        bad = c.post("/upload", data={"csrf": good},
                     files=[("folder", ("lab/../../etc/passwd", b"x\n", "text/plain"))])
        assert bad.status_code == 400 and "unusable path" in bad.text, bad.text[:500]


def test_a_refusal_is_worded_in_the_page_s_language(site):
    """An error page says why in the page's language, with the real catalog: a fixed refusal, and one
    with a parameter (the student's path stays as sent); in English the words are unchanged."""
    app, tokens, _ = site
    web.environment.cache_clear()

    def alert(page):
        return re.search(r'<p class="error" id="error" role="alert">(.*?)</p>', page.text, re.S).group(1)
    with TestClient(app) as c:
        sign_in(c, tokens["amy"])
        good = csrf_of(c.get("/home").text)
        missing = "/submissions/" + "0" * 32
        assert alert(c.get(missing + "?lang=en")) == "not found"
        zh = c.get(missing + "?lang=zh")
        assert zh.status_code == 404 and alert(zh) == "未找到", zh.text[:500]
        empty = c.post("/upload?lang=zh", data={"csrf": good})
        assert empty.status_code == 400 and "没有选择文件" in alert(empty), empty.text[:500]
        bad = c.post("/upload?lang=zh", data={"csrf": good},
                     files=[("folder", ("lab/../x.py", b"x\n", "text/plain"))])
        assert bad.status_code == 400, bad.text[:500]
        said = alert(bad)
        assert "路径无法使用" in said and "../x.py" in said and "unusable" not in said, said
        # the upload's own rules (uploads.UploadError), the name as sent
        two = c.post("/upload?lang=zh", data={"csrf": good},
                     files=[("files", ("a.py", b"x\n", "text/plain")), ("files", ("A.py", b"y\n", "text/plain"))])
        said = alert(two)
        assert two.status_code == 400 and "同名" in said and "A.py" in said and "same name" not in said, said
        # the limits' refusal (limits.Refused, through the API's enqueue): one submission already waits
        files = [("files", ("udp_send.py", REF, "text/x-python"))]

        def draft() -> str:  # a student has one draft at a time: the newest upload
            preview = c.post("/upload?lang=zh", data={"csrf": good}, files=files)
            return re.search(r"/drafts/([0-9a-f]{32})/submit", preview.text).group(1)
        assert c.post(f"/drafts/{draft()}/submit", data={"csrf": good}, follow_redirects=False).status_code == 303
        second = draft()
        refused = c.post(f"/drafts/{second}/submit?lang=zh", data={"csrf": good})
        said = alert(refused)
        assert refused.status_code == 409 and "排队" in said and "waiting" not in said, said
        en = c.post(f"/drafts/{second}/submit?lang=en", data={"csrf": good})
        assert "you already have a submission waiting" in alert(en), alert(en)


def test_the_pages_speak_chinese_with_netgrade_s_own_catalog(site):
    """With the real zh_CN catalog (no stand-in): the sign-in page and a signed-in student's page show their
    fixed text in Chinese, and none of the English texts the templates mark is left on them."""
    from netgrade.i18n import translations
    app, tokens, _ = site
    web.environment.cache_clear()
    english = {"Sign in", "Student id", "Upload your programs", "Before you upload", "Check my files",
               "Or a whole folder", "Your submissions", "Sign out", "Language"}
    zh = translations("zh")
    assert all(zh.gettext(t) != t for t in english), [t for t in english if zh.gettext(t) == t]
    try:
        with TestClient(app) as c:
            page = c.get("/?lang=zh")
            assert '<html lang="zh">' in page.text and zh.gettext("Sign in") in page.text
            assert sign_in(c, tokens["amy"]).status_code in (302, 303)
            home = c.get("/home")
            assert home.status_code == 200 and zh.gettext("Upload your programs") in home.text, home.text[:800]
            for text in (page.text, home.text):
                shown = re.sub(r"<[^>]+>", "\n", text)  # the words on the page, not the markup
                left = [t for t in english if re.search(rf"(^|\n)\s*{re.escape(t)}\s*(\n|$)", shown)]
                assert not left, f"English left on a zh page: {left}"
    finally:
        web.environment.cache_clear()


def test_the_database_s_guard_refuses_a_second_waiting_submission_in_words(tmp_path, monkeypatch):
    """Two uploads of one student racing past the limits' check: the database's unique guard refuses the
    second with the same 409 and the same words as the limits' refusal."""
    from netgrade.service import app as appmod
    from netgrade.service.limits import ALREADY_WAITING
    monkeypatch.setattr(appmod, "check_new_submission", lambda *a, **k: False)  # as if both passed it at once
    _, app, tokens, _, _ = make_site(tmp_path, Settings())
    auth = {"Authorization": f"Bearer {tokens['amy']}"}
    files = [("files", ("udp_send.py", REF, "text/x-python"))]
    with TestClient(app) as c:
        assert c.post("/api/submissions", headers=auth, files=files).status_code == 202
        second = c.post("/api/submissions", headers=auth, files=files)
        assert second.status_code == 409 and second.json() == {"error": str(ALREADY_WAITING)}, second.text
        assert "waiting or being graded" in second.json()["error"], second.text
