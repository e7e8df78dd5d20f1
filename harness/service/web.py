"""The web pages (issue 20): a student signs in with their personal link, uploads, follows the grading and
reads the result and their history, in a browser, with nothing else installed.

Server-rendered jinja2 templates (``templates/``, ``static/`` beside this
module); every page works without JavaScript (two small same-origin scripts
improve it: the sign-in link, live progress).  Security, on every page:

- the session is a random id in a cookie (HttpOnly, SameSite=Lax, Secure over
  https), stored only as its SHA-256; a new one at every sign-in (no
  fixation); the personal link's token travels after ``#`` (never sent to the
  server, so in no log) and a script posts it at once and removes it from the
  address bar;
- every state-changing form carries a CSRF token (the session's; before
  sign-in a double-submit cookie);
- a strict Content-Security-Policy: nothing from another origin, no inline
  script; the student's report is served with the report's own no-script
  policy plus ``sandbox`` and shown in a sandboxed frame;
- student text (file names, program output, roster names) goes through
  jinja2's autoescaping: always text;
- another student's submission is 404, exactly like one that does not exist.

Fixed text goes through gettext (jinja2's i18n extension); ``translations``
is the one place the catalogs are chosen.
"""
from __future__ import annotations

import asyncio
import csv
import functools
import gettext
import hashlib
import hmac
import io
import json
import os
import secrets
import tempfile
import time
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import jinja2
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from sqlalchemy import delete, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile
from starlette.staticfiles import StaticFiles

from ..i18n import Msg, N_, message
from . import db
from .auth import Principal, token_hash
from .limits import Refused
from .logs import log
from .models import PENDING, Draft, Regrade, Student, Submission, Token, WebSession

HERE = Path(__file__).resolve().parent
LANGS = ("en", "zh")
SESSION_COOKIE = "ng_session"
PRE_COOKIE = "ng_pre"    # the sign-in form's CSRF (double submit), before there is a session
LANG_COOKIE = "ng_lang"
SESSION_S = 12 * 3600
DRAFT_S = 3600
#: every page: only this origin, no inline script, no plugin, not framed by another site
PAGE_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self';"
            " frame-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'self'")
#: FastAPI's pages of the API's documentation (Swagger UI and ReDoc, from their CDN): not ours, no policy of ours
API_DOCS = ("/docs", "/docs/oauth2-redirect", "/redoc")
#: the embedded report: its own policy (no script at all) and a sandbox of its own
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'; sandbox"


def translations(lang: str) -> gettext.NullTranslations:
    """The catalog of the pages' fixed text in ``lang`` (the one place it is chosen).

    netgrade's own catalogs (``netgrade.i18n.translations``, issue 18) once
    they exist; until then the text is shown as written (English).
    """
    try:
        from ..i18n import translations as catalogs  # type: ignore[attr-defined]
    except ImportError:
        return gettext.NullTranslations()
    return catalogs(lang)


@functools.lru_cache(maxsize=None)
def environment(lang: str) -> jinja2.Environment:
    """One template environment per language (gettext installed once, never swapped under a request)."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(HERE / "templates")),
                             autoescape=True, extensions=["jinja2.ext.i18n"], undefined=jinja2.StrictUndefined)
    env.install_gettext_translations(translations(lang), newstyle=True)
    env.filters["when"] = _when
    return env


def _when(ts: float | None) -> str:
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def pick_lang(request: Request) -> str:
    """``?lang=`` (the switch on every page), then the cookie it sets, then Accept-Language."""
    q = request.query_params.get("lang")
    if q in LANGS:
        return q
    c = request.cookies.get(LANG_COOKIE)
    if c in LANGS:
        return c
    best, best_q = "en", -1.0
    for part in (request.headers.get("accept-language") or "").split(","):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                continue
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGS and weight > best_q:
            best, best_q = primary, weight
    return best


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogateescape")).hexdigest()


@dataclass
class Api:
    """The API's helpers the pages share (one set of rules for both)."""
    limiter: object
    course_of: Callable
    limits_of: Callable
    visible: Callable
    status_of: Callable
    latest_result: Callable
    enqueue: Callable
    status_stream: Callable
    gradebook_rows: Callable
    gradebook_csv: Callable
    health_of: Callable
    set_limits: Callable
    requeue: Callable


@dataclass
class Signed:
    principal: Principal
    csrf: str
    id_hash: str


class PageError(Exception):
    """A page's refusal: its HTTP status and its message (a msgid, or a ``Msg`` with parameters), shown in the
    page's language."""

    def __init__(self, status: int, text: str | Msg) -> None:
        super().__init__(str(text))
        self.status, self.message = status, message(text)


# ---------------------------------------------------------------- what an upload holds

def _folder_zip(files: list[tuple[str, bytes]]) -> tuple[str, bytes]:
    """A folder's files (names with their relative paths, as browsers send a chosen folder) as one zip,
    without the chosen folder's own name, so ``folder/udp_send.py`` is ``udp_send.py`` at the top; the
    folders ``netgrade submit`` leaves out (``__pycache__``, ``.git``...) are left out."""
    from .client import SKIP_DIRS  # what `netgrade submit` leaves out of a folder: caches, VCS, venvs
    split = [(name.replace("\\", "/").split("/"), data) for name, data in files]
    kept = [(p, d) for p, d in split if not any(x in SKIP_DIRS for x in p[:-1])]
    if not kept:
        raise PageError(400, N_("the folder holds no file (caches and version-control folders are left out)"))
    parts = [p for p, _ in kept]
    files = [("/".join(p), d) for p, d in kept]
    top = parts[0][0] if all(len(p) > 1 and p[0] == parts[0][0] for p in parts) else None
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for (_, data), p in zip(files, parts):
            rel = "/".join(p[1:] if top else p)
            if any(x in ("", ".", "..") for x in rel.split("/")):
                raise PageError(400, Msg.of(N_("a file of the folder has an unusable path: {path}"), path="/".join(p)))
            zf.writestr(rel, data)
    return "submission.zip", buf.getvalue()


def discovery(data: bytes, filename: str, pack_text: str | None, programs: list[str]) -> dict:
    """Which programs of the course's pack this upload holds, under which names: ``netgrade check``'s rules
    (``submission.locate``: names, aliases, case, netgrade.toml)."""
    from .. import pack as packmod
    from ..submission import SubmissionError, locate, open_submission
    from ..verdicts import Presence
    with tempfile.TemporaryDirectory(prefix="netgrade-draft-") as tmp:
        pack_file = None
        if pack_text:
            pack_file = os.path.join(tmp, "pack.toml")
            Path(pack_file).write_text(pack_text, "utf-8")
        try:
            pack = packmod.load(pack_file)
        except packmod.PackError as exc:
            return {"error": f"the course's pack: {exc}", "programs": [], "others": []}
        wanted = programs or list(pack.programs)
        path = os.path.join(tmp, filename)
        Path(path).write_bytes(data)
        try:
            sub = open_submission(path)
        except SubmissionError as exc:
            return {"error": str(exc).replace(path, filename), "programs": [], "others": []}
        try:
            located = locate(sub, pack)
            used = set()
            rows = []
            for pid in wanted:
                loc = located[pid]
                found = loc.status == Presence.FOUND
                if found and loc.file:
                    used.add(loc.file)
                rows.append({"id": pid, "title": pack.programs[pid].title, "found": found, "file": loc.file,
                             "note": loc.note})
            others = sorted(os.path.relpath(os.path.join(r, f), sub.root).replace(os.sep, "/")
                            for r, _, fs in os.walk(sub.root) for f in fs)
            others = [f for f in others if f not in used][:200]
        except SubmissionError as exc:
            return {"error": str(exc), "programs": [], "others": []}
        finally:
            sub.cleanup()
    return {"error": None, "programs": rows, "others": others}


# ---------------------------------------------------------------- the history's differences

def _verdicts(result: dict | None) -> dict[str, str]:
    if not result:
        return {}
    return {f"{p['id']}/{c['id']}": c["status"] for p in result.get("programs", []) for c in p.get("checks", [])}


def changes(before: dict | None, after: dict | None) -> tuple[list[str], list[str]]:
    """(fixed, broke): checks that passed now and not before, and the other way round."""
    a, b = _verdicts(before), _verdicts(after)
    fixed = sorted(k for k, v in b.items() if v == "pass" and a.get(k, "pass") != "pass")
    broke = sorted(k for k, v in b.items() if v != "pass" and a.get(k) == "pass")
    return fixed, broke


# ---------------------------------------------------------------- the class's figures and exports

def class_summary(results: list[dict], lang: str) -> dict:
    """The class report's figures (``netgrade batch``'s index.html: the score histogram, the pass rate of
    every check) over each student's latest graded result, computed by the same code."""
    from ..outputs.html import class_view
    from ..results import Result
    view = class_view([Result.from_dict(r) for r in results], {}, lang)
    for c in view["checks"]:
        c["bar"] = round(100 * c["rate"]) if c["rate"] is not None else 0
    return {"count": view["count"], "histogram": view["histogram"], "checks": view["checks"],
            "mean": view["mean"], "median": view["median"], "max_score": view["max_score"]}


def canvas_csv(rows: list[dict], assignment: str, which: str) -> str:
    """A Canvas gradebook import: its fixed columns (Student, ID, SIS User ID, SIS Login ID, Section), then
    one assignment column, a "Points Possible" row first; the student id goes into SIS User ID (our id is
    the school's), Canvas's own ID is left empty.  ``which``: the latest or the best score."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", assignment])
    top = max((r["max_score"] for r in rows if r["max_score"] is not None), default=None)
    w.writerow(["Points Possible", "", "", "", "", "" if top is None else f"{top:g}"])
    for r in rows:
        score = r[f"{which}_score"]
        w.writerow([r["name"], "", r["student"], "", "", "" if score is None else f"{score:g}"])
    return buf.getvalue()


def gradescope_zip(results: dict[str, dict], lang: str) -> bytes:
    """Each student's latest result as Gradescope's autograder ``results.json`` (netgrade's own Gradescope
    output, ``netgrade check --gradescope``), one ``STUDENT/results.json`` each, in one zip."""
    from ..outputs import gradescope
    from ..results import Result
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for student, res in sorted(results.items()):
            zf.writestr(f"{student}/results.json", gradescope.render(Result.from_dict(res), lang))
    return buf.getvalue()


# ---------------------------------------------------------------- the routes

def add_pages(app: FastAPI, engine: Engine, settings, api: Api) -> None:
    reads = db.reading(engine)  # the pages' looks take no write lock (``db.reading``)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @app.middleware("http")
    async def _headers(request: Request, call_next):
        response = await call_next(request)
        if request.url.path not in API_DOCS:
            response.headers.setdefault("Content-Security-Policy", PAGE_CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        q = request.query_params.get("lang")
        if q in LANGS:
            response.set_cookie(LANG_COOKIE, q, max_age=365 * 86400, httponly=True, samesite="lax",
                                secure=request.url.scheme == "https")
        return response

    api_busy = app.exception_handlers[OperationalError]  # the API's JSON 503

    @app.exception_handler(OperationalError)
    async def _database_busy(request: Request, exc: OperationalError):
        if request.url.path.startswith("/api/") or request.url.path == "/healthz":
            return await api_busy(request, exc)
        log("database-busy", path=request.url.path, error=str(exc).splitlines()[0][:300])
        # no session lookup: the database is what failed
        return render(request, "error.html.j2", {"message": db.BUSY, "status": 503}, None, status=503,
                      headers={"Retry-After": str(db.RETRY_S)})

    @app.exception_handler(PageError)
    async def _page_error(request: Request, exc: PageError):
        signed = await asyncio.to_thread(session_of, request)
        return render(request, "error.html.j2", {"message": exc.message, "status": exc.status}, signed,
                      status=exc.status)

    def render(request: Request, template: str, ctx: dict, signed: Signed | None, status: int = 200,
               headers: dict | None = None) -> HTMLResponse:
        lang = pick_lang(request)
        ctx = {k: v.render(lang) if isinstance(v, Msg) else v for k, v in ctx.items()}  # a message in lang
        course = student = None
        if signed is not None:
            with Session(reads) as s:
                course = api.course_of(s, signed.principal).name
                student = signed.principal.label if signed.principal.role == "student" else None
        page = environment(lang).get_template(template).render(
            lang=lang, signed=signed, course=course, student=student, path=request.url.path, **ctx)
        return HTMLResponse(page, status_code=status, headers={"Cache-Control": "no-store", **(headers or {})})

    def session_of(request: Request) -> Signed | None:
        sid = request.cookies.get(SESSION_COOKIE)
        if not sid or len(sid) > 100:
            return None
        h = _hash(sid)
        with Session(reads) as s:
            row = s.get(WebSession, h)
            if row is None or row.expires_at < time.time():
                return None
            tok = s.get(Token, row.token_id)
            if tok is None or tok.revoked:
                return None
            label = s.get(Student, tok.student_pk).student_id if tok.role == "student" else "instructor"
            request.state.who = label
            return Signed(Principal(tok.role, tok.course_id, tok.student_pk, label), row.csrf, h)

    def need(request: Request, role: str | None = None) -> Signed:
        signed = session_of(request)
        if signed is None:
            raise PageError(401, N_("sign in first: open your personal link again, or enter your token"))
        if role is not None and signed.principal.role != role:
            raise PageError(404, N_("not found"))
        return signed

    async def form_of(request: Request) -> tuple[dict, list[UploadFile]]:
        form = await request.form()
        fields = {k: v for k, v in form.multi_items() if isinstance(v, str)}
        files = [v for k, v in form.multi_items() if not isinstance(v, str) and getattr(v, "filename", None)]
        return fields, files

    def mine(s: Session, signed: Signed, sub_id: str) -> Submission:
        """The submission if the principal may see it; else the page of an id that does not exist (404)."""
        from .app import ApiError
        try:
            return api.visible(s, signed.principal, sub_id)
        except ApiError:
            raise PageError(404, N_("not found")) from None

    def csrf_ok(expected: str | None, given: str | None) -> bool:
        return bool(expected) and bool(given) and hmac.compare_digest(expected, given)

    # ------------------------------------------------------------ sign in, sign out
    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index(request: Request):
        # the sign-in page even when signed in: a personal link opened in a browser signed in as someone else
        # signs its own student in (a new session); a signed-in visitor without one continues from here
        signed = session_of(request)
        pre = request.cookies.get(PRE_COOKIE)
        if not pre or len(pre) != 43:
            pre = secrets.token_urlsafe(32)
        resp = render(request, "signin.html.j2", {"csrf": pre, "error": None, "already": signed}, None)
        resp.set_cookie(PRE_COOKIE, pre, max_age=3600, httponly=True, samesite="lax",
                        secure=request.url.scheme == "https")
        return resp

    @app.post("/signin", include_in_schema=False)
    async def signin(request: Request):
        fields, _ = await form_of(request)
        return await asyncio.to_thread(_signin, request, fields)

    def _signin(request: Request, fields: dict):
        client = request.client.host if request.client else "?"

        def again(status: int, message: str, headers: dict | None = None):
            pre = request.cookies.get(PRE_COOKIE) or secrets.token_urlsafe(32)
            resp = render(request, "signin.html.j2", {"csrf": pre, "error": message, "already": None}, None,
                          status=status, headers=headers)
            resp.set_cookie(PRE_COOKIE, pre, max_age=3600, httponly=True, samesite="lax",
                            secure=request.url.scheme == "https")
            return resp
        if not csrf_ok(request.cookies.get(PRE_COOKIE), fields.get("csrf")):
            return again(403, "the sign-in form had expired (or came from another site): try again")
        wait = api.limiter.retry_after(client)
        if wait is not None:
            return again(429, "too many wrong tokens from this address: try again in a minute",
                         {"Retry-After": str(int(wait + 0.999))})
        token = (fields.get("token") or "").strip()
        given_id = (fields.get("student_id") or "").strip()
        with Session(engine) as s, s.begin():
            tok = s.execute(select(Token).where(Token.token_hash == token_hash(token), Token.revoked.is_(False))
                            ).scalar() if token else None
            student = s.get(Student, tok.student_pk) if tok is not None and tok.student_pk else None
            if tok is None or (given_id and (student is None or student.student_id != given_id)):
                api.limiter.failed(client)
                return again(401, "this token is unknown or revoked (or belongs to another student id)")
            old = request.cookies.get(SESSION_COOKIE)
            if old and len(old) <= 100:  # a new id at every sign-in: a planted cookie is worth nothing
                s.execute(delete(WebSession).where(WebSession.id_hash == _hash(old)))
            s.execute(delete(WebSession).where(WebSession.expires_at < time.time()))
            sid = secrets.token_urlsafe(32)
            now = time.time()
            s.add(WebSession(id_hash=_hash(sid), token_id=tok.id, csrf=secrets.token_urlsafe(32), created_at=now,
                             expires_at=now + SESSION_S))
            who = student.student_id if student else "instructor"
        log("signed-in", who=who)
        resp = RedirectResponse("/home", status_code=303)
        resp.set_cookie(SESSION_COOKIE, sid, max_age=SESSION_S, httponly=True, samesite="lax",
                        secure=request.url.scheme == "https", path="/")
        resp.delete_cookie(PRE_COOKIE)
        return resp

    @app.post("/signout", include_in_schema=False)
    async def signout(request: Request):
        fields, _ = await form_of(request)
        signed = await asyncio.to_thread(session_of, request)
        if signed is not None:
            if not csrf_ok(signed.csrf, fields.get("csrf")):
                raise PageError(403, N_("this form had expired (or came from another site): reload the page"))
            with Session(engine) as s, s.begin():
                s.execute(delete(WebSession).where(WebSession.id_hash == signed.id_hash))
        resp = RedirectResponse("/", status_code=303)
        resp.delete_cookie(SESSION_COOKIE, path="/")
        return resp

    # ------------------------------------------------------------ the student's pages
    def _history(s: Session, student_pk: int) -> list[dict]:
        subs = s.execute(select(Submission).where(Submission.student_pk == student_pk)
                         .order_by(Submission.created_at)).scalars().all()
        rows, before = [], None
        for sub in subs:
            res = api.latest_result(s, sub) if sub.state == "done" else None
            fixed, broke = changes(before, res) if res is not None and before is not None else ([], [])
            rows.append({"id": sub.id, "created_at": sub.created_at, "state": sub.state, "score": sub.score,
                         "max_score": sub.max_score, "late": sub.late, "fixed": fixed, "broke": broke,
                         "first": before is None and res is not None})
            if res is not None:
                before = res
        rows.reverse()
        return rows

    def _limits_view(s: Session, p: Principal) -> dict:
        lim = api.limits_of(api.course_of(s, p))
        mine = Submission.student_pk == p.student_pk
        pending = s.execute(select(Submission.id).where(mine, Submission.state.in_(PENDING))).scalar()
        from sqlalchemy import func
        last_at = s.execute(select(func.max(Submission.created_at)).where(mine, Submission.state != "failed")).scalar()
        wait = None
        if last_at is not None and lim.cooldown_s:
            left = last_at + lim.cooldown_s - time.time()
            wait = int(left + 0.999) if left > 0 else None
        charged = s.execute(select(func.count()).select_from(Submission).where(mine, Submission.charged.is_(True))
                            ).scalar()
        return {"max_upload_mib": round(lim.max_upload_bytes / 2**20, 1), "max_files": lim.max_files,
                "cooldown_s": lim.cooldown_s, "wait_s": wait, "pending": pending, "deadline": lim.deadline,
                "after_deadline": lim.after_deadline, "max_attempts": lim.max_attempts, "charged": charged}

    @app.get("/home", response_class=HTMLResponse, include_in_schema=False)
    def home(request: Request):
        signed = need(request)
        p = signed.principal
        if p.role != "student":
            return _overview(request, signed)
        with Session(reads) as s:
            ctx = {"limits": _limits_view(s, p), "history": _history(s, p.student_pk)}
        return render(request, "home.html.j2", ctx, signed)

    # ------------------------------------------------------------ the instructor's pages
    SORTS = ("student", "name", "submissions", "latest_score", "best_score", "last_at")

    def _overview(request: Request, signed: Signed) -> HTMLResponse:
        """One row per roster student, one column per program (its latest score); sorted and filtered by
        the query (``sort``, ``desc``, ``q``): links that work without scripts."""
        p = signed.principal
        sort = request.query_params.get("sort", "student")
        sort = sort if sort in SORTS else "student"
        desc = request.query_params.get("desc") == "1"
        q = (request.query_params.get("q") or "").strip().lower()[:100]
        with Session(reads) as s:
            course = api.course_of(s, p)
            rows = api.gradebook_rows(s, p.course_id)
            programs = json.loads(course.programs or "[]")
            latest = []  # each student's latest graded result: the histogram and the pass rates
            for r in rows:
                r["programs"] = {}
                r["last_at"] = None
                if r["latest_id"]:
                    sub = s.get(Submission, r["latest_id"])
                    r["last_at"] = sub.created_at
                    res = api.latest_result(s, sub) or {}
                    for prog in res.get("programs", []):
                        r["programs"][prog["id"]] = (prog["score"], prog["max_score"])
                        if prog["id"] not in programs:
                            programs.append(prog["id"])
                    if res:
                        latest.append(res)
        summary = class_summary(latest, pick_lang(request))
        if q:
            rows = [r for r in rows if q in r["student"].lower() or q in r["name"].lower()]
        rows.sort(key=lambda r: (r[sort] is None, r[sort] if r[sort] is not None else 0), reverse=desc)
        return render(request, "instructor.html.j2", {"rows": rows, "programs": programs, "sort": sort,
                                                      "desc": desc, "q": q, "summary": summary}, signed)

    @app.get("/class/gradebook.csv", include_in_schema=False)
    def class_csv(request: Request):
        signed = need(request, "instructor")
        with Session(reads) as s:
            rows = api.gradebook_rows(s, signed.principal.course_id)
        return Response(api.gradebook_csv(rows), media_type="text/csv",
                        headers={"Content-Disposition": 'attachment; filename="gradebook.csv"',
                                 "Cache-Control": "no-store"})

    @app.get("/class/students/{student_id}", response_class=HTMLResponse, include_in_schema=False)
    def class_student(student_id: str, request: Request):
        signed = need(request, "instructor")
        with Session(reads) as s:
            st = s.execute(select(Student).where(Student.course_id == signed.principal.course_id,
                                                 Student.student_id == student_id)).scalar()
            if st is None:
                raise PageError(404, N_("not found"))
            ctx = {"who": {"id": st.student_id, "name": st.name}, "history": _history(s, st.id)}
        return render(request, "student.html.j2", ctx, signed)

    def _download(body: str | bytes, media: str, name: str) -> Response:
        return Response(body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"',
                                                         "Cache-Control": "no-store"})

    @app.get("/class/canvas.csv", include_in_schema=False)
    def class_canvas(request: Request):
        signed = need(request, "instructor")
        which = "best" if request.query_params.get("score") == "best" else "latest"
        with Session(reads) as s:
            rows = api.gradebook_rows(s, signed.principal.course_id)
            name = api.course_of(s, signed.principal).name
        return _download(canvas_csv(rows, f"netgrade {name}", which), "text/csv", f"canvas-{which}.csv")

    @app.get("/class/gradescope.zip", include_in_schema=False)
    def class_gradescope(request: Request):
        signed = need(request, "instructor")
        with Session(reads) as s:
            latest = {}
            for r in api.gradebook_rows(s, signed.principal.course_id):
                res = api.latest_result(s, s.get(Submission, r["latest_id"])) if r["latest_id"] else None
                if res is not None:
                    latest[r["student"]] = res
        return _download(gradescope_zip(latest, pick_lang(request)), "application/zip", "gradescope.zip")

    # ------------------------------------------------------------ course settings
    LIMIT_FIELDS = ("max_upload_bytes", "max_files", "max_unpacked_bytes", "cooldown_s", "max_attempts",
                    "deadline", "after_deadline", "max_grader_tries")
    #: a limit the form may leave empty: "none" (the others keep their value when left empty)
    OPTIONAL_LIMITS = ("max_attempts", "deadline")

    def _settings(request: Request, signed: Signed, status: int = 200, **errors) -> HTMLResponse:
        from . import admin
        cid = signed.principal.course_id
        with Session(reads) as s:
            course = api.course_of(s, signed.principal)
            lim = api.limits_of(course).to_dict()
            students = s.execute(select(Student).where(Student.course_id == cid)
                                 .order_by(Student.student_id)).scalars().all()
            roster = [{"id": x.student_id, "name": x.name} for x in students]
            ctx = {"pack_text": course.pack_text, "version": course.pack_version,
                   "programs": json.loads(course.programs or "[]"), "limits": lim}
        ctx["versions"] = [{"version": v.version, "created_at": v.created_at, "note": v.note,
                            "default": v.pack_text is None, "size": len((v.pack_text or "").encode("utf-8"))}
                           for v in admin.pack_versions(engine, cid)]
        ctx.update(roster=roster, saved=request.query_params.get("saved", "")[:40],
                   pack_error=None, limits_error=None, roster_error=None, regrade_error=None, draft=None)
        ctx.update(errors)
        return render(request, "settings.html.j2", ctx, signed, status=status)

    async def _instructor_form(request: Request):
        """The signed-in instructor and the form, once its CSRF token is the session's (else 403)."""
        signed = await asyncio.to_thread(need, request, "instructor")
        form = await request.form()
        if not csrf_ok(signed.csrf, form.get("csrf") if isinstance(form.get("csrf"), str) else None):
            raise PageError(403, N_("this form had expired (or came from another site): reload the page"))
        return signed, form

    async def _text_or_file(form, text_field: str, file_field: str) -> str | None:
        """The chosen file's text when one was chosen, else the text field's; None: the file is not UTF-8."""
        upload = form.get(file_field)
        if upload is not None and not isinstance(upload, str) and upload.filename:
            try:
                return (await upload.read()).decode("utf-8-sig")
            except UnicodeDecodeError:
                return None
        text = form.get(text_field)
        return text if isinstance(text, str) else ""

    @app.get("/class/settings", response_class=HTMLResponse, include_in_schema=False)
    def class_settings(request: Request):
        return _settings(request, need(request, "instructor"))

    @app.post("/class/settings/pack", include_in_schema=False)
    async def class_pack(request: Request):
        signed, form = await _instructor_form(request)
        text = await _text_or_file(form, "pack", "pack_file")
        if text is None:
            return await asyncio.to_thread(_settings, request, signed, 422,
                                           pack_error=Msg(N_("the pack file is not UTF-8 text")), draft="")
        note = form.get("note") if isinstance(form.get("note"), str) else ""
        return await asyncio.to_thread(_set_pack, request, signed, text, note.strip())

    def _set_pack(request: Request, signed: Signed, text: str, note: str):
        from . import admin
        try:
            version = admin.set_pack(engine, signed.principal.course_id, text, note)
        except admin.AdminError as exc:  # the loader's one line; nothing changed
            return _settings(request, signed, 422, pack_error=exc.message, draft=text)
        log("pack-changed", version=version)
        return RedirectResponse(f"/class/settings?saved={'pack-' + str(version) if version else 'pack-same'}#pack",
                                status_code=303)

    @app.post("/class/settings/limits", include_in_schema=False)
    async def class_limits(request: Request):
        signed, form = await _instructor_form(request)
        fields = {k: v.strip() for k, v in form.multi_items() if k in LIMIT_FIELDS and isinstance(v, str)}
        return await asyncio.to_thread(_set_limits, request, signed, fields)

    def _set_limits(request: Request, signed: Signed, fields: dict):
        from pydantic import ValidationError

        from .app import ApiError, LimitsIn
        changes = {k: (v or None) for k, v in fields.items() if v or k in OPTIONAL_LIMITS}
        try:
            checked = LimitsIn(**changes).model_dump(exclude_unset=True)
            api.set_limits(signed.principal.course_id, checked)
        except ValidationError as exc:
            e = exc.errors()[0]
            where = ".".join(str(x) for x in e.get("loc", ()))
            return _settings(request, signed, 422, limits_error=f"{where}: {e.get('msg', 'invalid')}")
        except ApiError as exc:
            return _settings(request, signed, 422, limits_error=exc.reason)
        log("limits-changed", fields=sorted(changes))
        return RedirectResponse("/class/settings?saved=limits#limits", status_code=303)

    @app.post("/class/settings/roster", include_in_schema=False)
    async def class_roster(request: Request):
        signed, form = await _instructor_form(request)
        text = await _text_or_file(form, "roster", "roster_file")
        if text is None:
            return await asyncio.to_thread(_settings, request, signed, 422,
                                           roster_error=Msg(N_("the roster file is not UTF-8 text")))
        return await asyncio.to_thread(_add_roster, request, signed, text)

    def _add_roster(request: Request, signed: Signed, text: str):
        """The new students' personal links, as the links CSV download (their tokens are in it only)."""
        from . import admin
        try:
            rows = admin.parse_roster(text)
            if not rows:
                raise admin.AdminError(Msg(N_("the roster is empty: one line 'student id, name[, email]' per student")))
            issued, skipped = admin.add_students(engine, signed.principal.course_id, rows, settings.base_url)
        except admin.AdminError as exc:
            return _settings(request, signed, 422, roster_error=exc.message)
        log("roster", added=len(issued), skipped=len(skipped))
        if not issued:
            return _settings(request, signed, roster_error=None, saved=f"roster-0-{len(skipped)}")
        return Response(admin.links_csv(issued), media_type="text/csv",
                        headers={"Content-Disposition": 'attachment; filename="links.csv"',
                                 "Cache-Control": "no-store"})

    @app.post("/class/regrade", include_in_schema=False)
    async def class_regrade(request: Request):
        signed, form = await _instructor_form(request)
        which = form.get("which")
        chosen = [v for v in form.getlist("student") if isinstance(v, str)][:5000]
        return await asyncio.to_thread(_regrade, request, signed, which, chosen)

    def _regrade(request: Request, signed: Signed, which, chosen: list[str]):
        cid = signed.principal.course_id
        if which not in ("all", "selected") or (which == "selected" and not chosen):
            return _settings(request, signed, 422, regrade_error="say which: all students, or tick some")
        with Session(reads) as s:
            q = select(Submission.id).where(Submission.course_id == cid, Submission.state.in_(("done", "failed")))
            if which == "selected":
                q = q.join(Student, Student.id == Submission.student_pk).where(Student.student_id.in_(chosen))
            ids = list(s.execute(q.order_by(Submission.created_at)).scalars())
            version = api.course_of(s, signed.principal).pack_version
        if not ids:
            return _settings(request, signed, 422, regrade_error="nothing to regrade: no finished submission")
        out = api.requeue(ids)
        rid = uuid.uuid4().hex
        with Session(engine) as s, s.begin():
            s.add(Regrade(id=rid, course_id=cid, created_at=time.time(), submissions=json.dumps(out["queued"]),
                          pack_version=version))
        return RedirectResponse(f"/class/regrades/{rid}", status_code=303)

    @app.get("/class/regrades/{regrade_id}", response_class=HTMLResponse, include_in_schema=False)
    def class_regrade_progress(regrade_id: str, request: Request):
        """A regrade's progress: each submission's state and checks done, the count finished; the page
        reloads itself (a meta refresh: no script) until every one is finished."""
        signed = need(request, "instructor")
        with Session(reads) as s:
            rg = s.get(Regrade, regrade_id) if len(regrade_id) <= 32 else None
            if rg is None or rg.course_id != signed.principal.course_id:
                raise PageError(404, N_("not found"))
            rows = []
            for sid in json.loads(rg.submissions):
                sub = s.get(Submission, sid)
                rows.append({"id": sub.id, "student": s.get(Student, sub.student_pk).student_id,
                             "state": sub.state, "done": sub.done_checks, "total": sub.total_checks,
                             "score": sub.score, "max_score": sub.max_score, "pack_version": sub.pack_version,
                             "finished": sub.state in ("done", "failed")})
            ctx = {"rows": rows, "finished": sum(r["finished"] for r in rows), "version": rg.pack_version,
                   "created_at": rg.created_at}
        return render(request, "regrade.html.j2", ctx, signed)

    @app.get("/class/health", response_class=HTMLResponse, include_in_schema=False)
    def class_health(request: Request):
        signed = need(request, "instructor")
        return render(request, "health.html.j2", {"h": api.health_of(signed.principal.course_id)}, signed)

    @app.post("/upload", include_in_schema=False)
    async def upload(request: Request):
        signed = await asyncio.to_thread(need, request, "student")
        fields, files = await form_of(request)
        if not csrf_ok(signed.csrf, fields.get("csrf")):
            raise PageError(403, N_("this form had expired (or came from another site): reload the page"))
        parts = [(f.filename or "", await f.read()) for f in files]
        return await asyncio.to_thread(_draft, request, signed, parts)

    def _draft(request: Request, signed: Signed, parts: list[tuple[str, bytes]]):
        from . import uploads
        p = signed.principal
        if not parts:
            raise PageError(400, N_("no file was chosen: choose your program files, a folder or an archive"))
        if any("/" in n or "\\" in n for n, _ in parts):  # a folder: its files with their paths
            parts = [_folder_zip(parts)]
        with Session(reads) as s:
            course = api.course_of(s, p)
            lim = api.limits_of(course)
            pack_text, programs = course.pack_text, json.loads(course.programs or "[]")
        try:
            stored = uploads.accept(parts, lim)
        except uploads.UploadError as exc:
            raise PageError(exc.status, Msg.of(N_("the upload was refused: {reason}"), reason=exc.message)) from None
        found = discovery(stored.data, stored.filename, pack_text, programs)
        did = uuid.uuid4().hex
        now = time.time()
        with Session(engine) as s, s.begin():
            s.execute(delete(Draft).where(Draft.student_pk == p.student_pk))  # one draft at a time
            s.add(Draft(id=did, student_pk=p.student_pk, created_at=now, filename=stored.filename, data=stored.data))
        return render(request, "preview.html.j2", {"draft": did, "found": found,
                                                   "names": [n for n, _ in parts]}, signed)

    @app.post("/drafts/{draft_id}/submit", include_in_schema=False)
    async def submit_draft(draft_id: str, request: Request):
        signed = await asyncio.to_thread(need, request, "student")
        fields, _ = await form_of(request)
        if not csrf_ok(signed.csrf, fields.get("csrf")):
            raise PageError(403, N_("this form had expired (or came from another site): reload the page"))
        return await asyncio.to_thread(_submit_draft, draft_id, signed)

    def _submit_draft(draft_id: str, signed: Signed):
        from . import uploads
        from .app import ApiError
        p = signed.principal
        with Session(reads) as s:
            d = s.get(Draft, draft_id) if len(draft_id) <= 32 else None
            if d is None or d.student_pk != p.student_pk or d.created_at < time.time() - DRAFT_S:
                raise PageError(404, N_("this upload is no longer waiting to be sent: upload it again"))
            stored = uploads.Stored(d.filename, d.data)
            lim = api.limits_of(api.course_of(s, p))
        try:
            sid = api.enqueue(p, stored, lim)
        except (ApiError, Refused) as exc:  # its reason in the page's language
            raise PageError(exc.status, Msg.of(N_("not sent for grading: {reason}"), reason=exc.message)) from None
        with Session(engine) as s, s.begin():
            s.execute(delete(Draft).where(Draft.id == draft_id))
        return RedirectResponse(f"/submissions/{sid}", status_code=303)

    @app.get("/submissions/{sub_id}", response_class=HTMLResponse, include_in_schema=False)
    def submission_page(sub_id: str, request: Request):
        signed = need(request)
        with Session(reads) as s:
            st = api.status_of(s, mine(s, signed, sub_id))
        result = st.pop("result", None)
        return render(request, "submission.html.j2", {"st": st, "result": result}, signed)

    def graded(request: Request, sub_id: str) -> dict:
        """The signed-in principal's submission's result; 404 when not theirs, 409 before it is graded."""
        signed = need(request)
        with Session(reads) as s:
            sub = mine(s, signed, sub_id)
            res = api.latest_result(s, sub)
        if res is None:
            raise PageError(409, N_("not graded yet"))
        return res

    @app.get("/submissions/{sub_id}/report.html", include_in_schema=False)
    def submission_report(sub_id: str, request: Request):
        from .grader import render_report
        return HTMLResponse(render_report(graded(request, sub_id), pick_lang(request)),
                            headers={"Content-Security-Policy": REPORT_CSP, "Cache-Control": "no-store"})

    @app.get("/submissions/{sub_id}/result.json", include_in_schema=False)
    def submission_json(sub_id: str, request: Request):
        return JSONResponse(graded(request, sub_id),
                            headers={"Content-Disposition": f'attachment; filename="result-{sub_id}.json"',
                                     "Cache-Control": "no-store"})

    @app.get("/submissions/{sub_id}/events", include_in_schema=False)
    async def submission_events(sub_id: str, request: Request):
        signed = await asyncio.to_thread(need, request)

        def check():
            with Session(reads) as s:
                mine(s, signed, sub_id)
        await asyncio.to_thread(check)
        return StreamingResponse(api.status_stream(sub_id), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store"})
