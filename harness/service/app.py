"""The HTTP API (FastAPI): submissions, results and reports for students; roster, gradebook, regrade, health
for instructors.  Every call but ``/healthz`` needs a bearer token; a student asking for anything not theirs
gets 404 (never 403), so ids cannot be probed.  Every refusal is ``{"error": reason}``.
"""
from __future__ import annotations

import asyncio
import csv
import io
import json
import threading
import time
import uuid
from dataclasses import dataclass

from fastapi import Depends, FastAPI, File, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__
from ..i18n import MessageError, Msg
from . import admin, db, queue, uploads
from .auth import FailureLimiter, Principal, bearer, token_hash
from .limits import ALREADY_WAITING, Limits, Refused, check_new_submission
from .logs import log
from .models import PENDING, Course, Grading, Student, Submission, Token, Upload, Worker


@dataclass
class Settings:
    max_body_bytes: int = 10 * 2**20  # the server's ceiling for any request body (a course may set less)
    auth_failures: int = 10           # failed tokens per client address ...
    auth_window_s: float = 60.0       # ... in this window, then 429
    base_url: str = "http://127.0.0.1:8000"
    reap_every_s: float = 5.0
    worker_alive_s: float = 30.0      # a worker not seen for this long is counted dead
    db_wait_s: float = 10.0           # a request waits this long for a busy database, then 503 (try again)


class ApiError(MessageError):
    """An API refusal: ``reason`` is the JSON's English line (a page that calls the API's helpers says its
    ``message`` in its language)."""

    def __init__(self, status: int, reason: str | Msg, headers: dict | None = None) -> None:
        super().__init__(reason)
        self.status, self.headers = status, headers or {}


def _error(status: int, reason: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": reason}, status_code=status, headers=headers)


class BodyLimit:
    """Refuse a request body over the ceiling with 413 before the app parses any of it."""

    def __init__(self, app, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            return await self.app(scope, receive, send)
        too_big = _error(413, f"the request is larger than {self.limit} bytes (the upload limit)")
        for k, v in scope.get("headers", []):
            if k == b"content-length":
                try:
                    if int(v) > self.limit:
                        return await too_big(scope, receive, send)
                except ValueError:
                    return await _error(400, "bad Content-Length")(scope, receive, send)
        chunks, size = [], 0
        while True:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                return
            body = msg.get("body", b"")
            size += len(body)
            if size > self.limit:
                return await too_big(scope, receive, send)
            chunks.append(body)
            if not msg.get("more_body"):
                break
        whole = b"".join(chunks)
        sent = False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": whole, "more_body": False}
            return await receive()
        return await self.app(scope, replay, send)


class ErrorOut(BaseModel):
    error: str


#: every refusal, on every route: {"error": reason}
ERRORS = {code: {"model": ErrorOut} for code in (400, 401, 403, 404, 409, 413, 422, 429)}


class StudentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    email: str | None = Field(default=None, max_length=200)


class RosterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    students: list[StudentIn] = Field(min_length=1, max_length=5000)


class RegradeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    submission: str | None = Field(default=None, max_length=32)
    all: bool = False


class LimitsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_upload_bytes: int | None = Field(default=None, ge=1)
    max_files: int | None = Field(default=None, ge=1)
    max_unpacked_bytes: int | None = Field(default=None, ge=1)
    cooldown_s: float | None = Field(default=None, ge=0)
    max_attempts: int | None = Field(default=None, ge=1)
    deadline: str | None = Field(default=None, max_length=64)
    after_deadline: str | None = Field(default=None, max_length=16)
    max_grader_tries: int | None = Field(default=None, ge=1, le=10)


def _route_path(request: Request) -> str:
    route = request.scope.get("route")
    return getattr(route, "path", None) or request.url.path[:200]


def create_app(engine: Engine, settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    reads = db.reading(engine)  # the API's looks take no write lock: a frozen writer holds up only writes
    limiter = FailureLimiter(settings.auth_failures, settings.auth_window_s)
    stop_reaper = threading.Event()

    def reaper() -> None:
        while not stop_reaper.wait(settings.reap_every_s):
            try:
                for sid in queue.reap(engine):
                    log("requeued", submission=sid, why="lease expired", by="service")
            except Exception as exc:  # noqa: BLE001 - the database is away: try again later
                log("reaper-failed", error=f"{type(exc).__name__}: {exc}")

    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def lifespan(_app):
        for sid in queue.reap(engine):  # a restart: leases that died with the last run go back at once
            log("requeued", submission=sid, why="lease expired", by="service")
        t = threading.Thread(target=reaper, name="netgrade-reaper", daemon=True)
        t.start()
        log("service-started", version=__version__)
        yield
        stop_reaper.set()
        log("service-stopped")

    app = FastAPI(title="netgrade service", version=__version__, lifespan=lifespan, responses=ERRORS,
                  description="Upload a submission, follow it through the queue, read its result.")

    # ------------------------------------------------------------ errors and logs
    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError):
        return _error(exc.status, exc.reason, exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException):
        return _error(exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(OperationalError)
    async def _database_busy(request: Request, exc: OperationalError):
        # SQLite's write lock held past db_wait_s (a worker frozen mid-transaction), PostgreSQL away:
        # nothing was written, the same request may be sent again; never the service's 500
        log("database-busy", path=_route_path(request), error=str(exc).splitlines()[0][:300])
        return _error(503, str(db.BUSY), {"Retry-After": str(db.RETRY_S)})

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError):
        parts = []
        for e in exc.errors()[:5]:
            where = ".".join(str(x) for x in e.get("loc", ()))
            parts.append(f"{where}: {e.get('msg', 'invalid')}")
        return _error(422, "invalid request: " + "; ".join(parts))

    # inside the request log (the middleware added last is the outermost): a 413 is logged too
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)

    @app.middleware("http")
    async def _log_requests(request: Request, call_next):
        t0 = time.monotonic()
        try:
            response = await call_next(request)
        except Exception as exc:  # noqa: BLE001 - logged, answered as a JSON 500
            log("error", path=_route_path(request), error=f"{type(exc).__name__}: {exc}")
            response = _error(500, "internal error (logged)")
        log("request", method=request.method, path=_route_path(request), status=response.status_code,
            ms=round((time.monotonic() - t0) * 1000, 1), who=getattr(request.state, "who", None))
        return response

    # ------------------------------------------------------------ auth
    def principal(request: Request) -> Principal:
        client = request.client.host if request.client else "?"
        wait = limiter.retry_after(client)
        if wait is not None:
            raise ApiError(429, "too many failed tokens from this address: try again later",
                           {"Retry-After": str(int(wait + 0.999))})
        token = bearer(request.headers.get("authorization"))
        if token is None:
            raise ApiError(401, "a bearer token is needed (Authorization: Bearer TOKEN)",
                           {"WWW-Authenticate": "Bearer"})
        with Session(reads) as s:
            row = s.execute(select(Token).where(Token.token_hash == token_hash(token),
                                                Token.revoked.is_(False))).scalar()
            if row is None:
                limiter.failed(client)
                raise ApiError(401, "unknown or revoked token", {"WWW-Authenticate": "Bearer"})
            if row.role == "student":
                label = s.get(Student, row.student_pk).student_id
            else:
                label = "instructor"
        p = Principal(row.role, row.course_id, row.student_pk, label)
        request.state.who = label
        return p

    def instructor(p: Principal = Depends(principal)) -> Principal:
        if p.role != "instructor":
            raise ApiError(404, "not found")  # the instructor API does not exist for students
        return p

    def student(p: Principal = Depends(principal)) -> Principal:
        if p.role != "student":
            raise ApiError(403, "submissions are made with a student's token")
        return p

    def course_of(s: Session, p: Principal) -> Course:
        return s.get(Course, p.course_id)

    def limits_of(c: Course) -> Limits:
        return Limits.from_dict(json.loads(c.limits or "{}"))

    def visible(s: Session, p: Principal, sub_id: str) -> Submission:
        sub = s.get(Submission, sub_id) if len(sub_id) <= 32 else None
        if sub is None or sub.course_id != p.course_id or (p.role == "student" and sub.student_pk != p.student_pk):
            raise ApiError(404, "not found")
        return sub

    def latest_result(s: Session, sub: Submission) -> dict | None:
        if sub.result_attempt is None:
            return None
        g = s.execute(select(Grading).where(Grading.submission_id == sub.id,
                                            Grading.attempt == sub.result_attempt)).scalar()
        return json.loads(g.result) if g else None

    def total_estimate(s: Session, sub: Submission) -> int | None:
        if sub.total_checks is not None:
            return sub.total_checks
        return s.execute(select(Submission.total_checks).where(
            Submission.course_id == sub.course_id, Submission.total_checks.is_not(None))
            .order_by(Submission.finished_at.desc()).limit(1)).scalar()

    def status_of(s: Session, sub: Submission, with_result: bool = True) -> dict:
        st = s.get(Student, sub.student_pk)
        out = {"id": sub.id, "student": st.student_id, "state": sub.state, "position": queue.position(s, sub),
               "attempt": sub.attempt, "done": sub.done_checks, "total": total_estimate(s, sub),
               "score": sub.score, "max_score": sub.max_score, "status": sub.status, "late": sub.late,
               "charged": sub.charged, "runner": sub.runner, "message": sub.message,
               "created_at": sub.created_at, "started_at": sub.started_at, "finished_at": sub.finished_at,
               "pack_version": sub.pack_version,
               "links": {"self": f"/api/submissions/{sub.id}", "result": f"/api/submissions/{sub.id}/result",
                         "report": f"/api/submissions/{sub.id}/report.html",
                         "events": f"/api/submissions/{sub.id}/events"}}
        # the running attempt's finished checks, in the order they finished: [[program/check, status], ...]
        out["checks"] = json.loads(sub.finished_checks) if sub.state == "running" and sub.finished_checks else []
        if sub.state == "queued":
            out["eta_s"] = eta(s, out["position"])
        if with_result and sub.state in ("done", "failed"):
            out["result"] = latest_result(s, sub)
        return out

    def eta(s: Session, pos: int | None) -> float | None:
        """Seconds until a queued submission starts: its place times the recent mean grading time per worker."""
        if pos is None:
            return None
        mean = s.execute(select(func.avg(Grading.seconds)).where(Grading.created_at > time.time() - 3600)).scalar()
        alive = s.execute(select(func.count()).select_from(Worker).where(
            Worker.stopped.is_(False), Worker.last_seen > time.time() - settings.worker_alive_s)).scalar()
        if not mean or not alive:
            return None
        return round(mean * pos / alive, 1)

    # ------------------------------------------------------------ health
    @app.get("/healthz")
    def healthz():
        with Session(reads) as s:
            s.execute(select(func.count()).select_from(Course))
        return {"status": "ok", "version": __version__}

    @app.get("/api/me")
    def me(p: Principal = Depends(principal)):
        with Session(reads) as s:
            c = course_of(s, p)
            return {"role": p.role, "course": c.name, "student": p.label if p.role == "student" else None,
                    "limits": limits_of(c).to_dict()}

    # ------------------------------------------------------------ submissions
    @app.post("/api/submissions", status_code=202)
    async def submit(request: Request, files: list[UploadFile] = File(...), p: Principal = Depends(student)):
        parts = []
        for f in files:
            parts.append((f.filename or "", await f.read()))
        return await asyncio.to_thread(_store, p, parts)

    def _store(p: Principal, parts: list[tuple[str, bytes]]) -> JSONResponse:
        with Session(reads) as s:
            c = course_of(s, p)
            lim = limits_of(c)
        try:
            stored = uploads.accept(parts, lim)
        except uploads.UploadError as exc:
            raise ApiError(exc.status, exc.message) from None
        sid = enqueue(p, stored, lim)
        with Session(reads) as s:
            body = status_of(s, s.get(Submission, sid), with_result=False)
        return JSONResponse(body, status_code=202, headers={"Location": f"/api/submissions/{sid}"})

    def enqueue(p: Principal, stored: uploads.Stored, lim: Limits) -> str:
        """Commit a checked upload as a queued submission (the limits decide first); its id, or ApiError."""
        sid = uuid.uuid4().hex
        now = time.time()
        try:
            with Session(engine) as s, s.begin():
                mine = (Submission.student_pk == p.student_pk)
                pending = s.execute(select(func.count()).select_from(Submission).where(
                    mine, Submission.state.in_(PENDING))).scalar() > 0
                last_at = s.execute(select(func.max(Submission.created_at)).where(
                    mine, Submission.state != "failed")).scalar()
                deadline = lim.deadline_ts()
                charged_q = select(func.count()).select_from(Submission).where(mine, Submission.charged.is_(True))
                if deadline is not None:
                    charged_q = charged_q.where(Submission.created_at <= deadline)
                late = check_new_submission(lim, now, pending, last_at, s.execute(charged_q).scalar())
                s.add(Submission(id=sid, course_id=p.course_id, student_pk=p.student_pk, state="queued",
                                 attempt=0, grader_errors=0, created_at=now, queued_at=now,
                                 filename=stored.filename, size=len(stored.data), late=late, charged=False,
                                 message="", done_checks=0))
                s.flush()
                s.add(Upload(submission_id=sid, data=stored.data))
        except Refused as exc:
            headers = {"Retry-After": str(int(exc.retry_after + 0.999))} if exc.retry_after else None
            raise ApiError(exc.status, exc.message, headers) from None
        except IntegrityError:  # another upload of the same student got in first
            raise ApiError(409, ALREADY_WAITING) from None
        # committed: from here on it is graded exactly once, whatever stops when
        log("submitted", submission=sid, student=p.label, bytes=len(stored.data), late=late)
        return sid

    @app.get("/api/submissions")
    def list_submissions(student_id: str | None = None, p: Principal = Depends(principal)):
        with Session(reads) as s:
            q = select(Submission).where(Submission.course_id == p.course_id)
            if p.role == "student":
                q = q.where(Submission.student_pk == p.student_pk)
            elif student_id is not None:
                st = s.execute(select(Student).where(Student.course_id == p.course_id,
                                                     Student.student_id == student_id)).scalar()
                if st is None:
                    raise ApiError(404, "not found")
                q = q.where(Submission.student_pk == st.id)
            subs = s.execute(q.order_by(Submission.created_at)).scalars().all()
            return {"submissions": [status_of(s, x, with_result=False) for x in subs]}

    @app.get("/api/submissions/{sub_id}")
    def get_submission(sub_id: str, p: Principal = Depends(principal)):
        with Session(reads) as s:
            return status_of(s, visible(s, p, sub_id))

    @app.get("/api/submissions/{sub_id}/result")
    def get_result(sub_id: str, p: Principal = Depends(principal)):
        with Session(reads) as s:
            sub = visible(s, p, sub_id)
            res = latest_result(s, sub)
            if res is None:
                raise ApiError(409, f"not graded yet (state: {sub.state})")
            return res

    @app.get("/api/submissions/{sub_id}/report.html", response_class=HTMLResponse)
    def get_report(sub_id: str, p: Principal = Depends(principal)):
        from .grader import render_report
        with Session(reads) as s:
            sub = visible(s, p, sub_id)
            res = latest_result(s, sub)
            lang = course_of(s, p).lang
        if res is None:
            raise ApiError(409, f"not graded yet (state: {sub.state})")
        return HTMLResponse(render_report(res, lang))

    @app.get("/api/submissions/{sub_id}/events", response_class=StreamingResponse,
             responses={200: {"content": {"text/event-stream": {}}}})
    async def events(sub_id: str, p: Principal = Depends(principal)):
        """Server-Sent Events: the status whenever it changes, until the submission is done or failed."""
        with Session(reads) as s:
            visible(s, p, sub_id)
        return StreamingResponse(status_stream(sub_id), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store"})

    async def status_stream(sub_id: str):
        """The SSE lines of a submission's status whenever it changes, until it is done or failed."""
        last = None
        deadline = time.monotonic() + 3600
        def current() -> dict:
            with Session(reads) as s:
                return status_of(s, s.get(Submission, sub_id))
        while time.monotonic() < deadline:
            body = await asyncio.to_thread(current)
            key = (body["state"], body["position"], body["done"], body["total"], body["attempt"])
            if key != last:
                last = key
                yield f"event: status\ndata: {json.dumps(body, ensure_ascii=False)}\n\n"
                if body["state"] in ("done", "failed"):
                    return
            # the database is polled (the workers are other processes, on other machines too: no event
            # reaches this one); a worker writes a grading's progress at most every 0.5 s
            await asyncio.sleep(0.5)

    # ------------------------------------------------------------ instructors
    @app.get("/api/course")
    def get_course(p: Principal = Depends(instructor)):
        with Session(reads) as s:
            c = course_of(s, p)
            return {"name": c.name, "programs": json.loads(c.programs), "runner": c.runner, "lang": c.lang,
                    "has_pack": c.pack_text is not None, "pack_version": c.pack_version,
                    "limits": limits_of(c).to_dict()}

    @app.put("/api/course/limits")
    def put_limits(body: LimitsIn, p: Principal = Depends(instructor)):
        return set_limits(p.course_id, body.model_dump(exclude_unset=True))

    def set_limits(course_id: int, changes: dict) -> dict:
        """Merge ``changes`` (LimitsIn's fields) over the course's limits; the new limits, or ApiError 422."""
        with Session(engine) as s, s.begin():
            c = s.get(Course, course_id)
            merged = {**limits_of(c).to_dict(), **changes}
            try:
                lim = Limits.from_dict(merged)
            except (TypeError, ValueError) as exc:
                raise ApiError(422, str(exc)) from None
            c.limits = json.dumps(lim.to_dict())
            return lim.to_dict()

    @app.post("/api/roster", status_code=201)
    def post_roster(body: RosterIn, p: Principal = Depends(instructor)):
        """Add students; each new one's token is in this answer only (it is stored as a hash)."""
        try:
            issued, skipped = admin.add_students(engine, p.course_id, [x.model_dump() for x in body.students],
                                                 settings.base_url)
        except admin.AdminError as exc:
            raise ApiError(422, str(exc)) from None
        log("roster", added=len(issued), skipped=len(skipped))
        return JSONResponse({"added": [{"id": i.student_id, "name": i.name, "token": i.token, "link": i.link}
                                       for i in issued], "skipped": skipped}, status_code=201,
                            headers={"Cache-Control": "no-store"})

    @app.get("/api/roster")
    def get_roster(p: Principal = Depends(instructor)):
        with Session(reads) as s:
            rows = s.execute(select(Student).where(Student.course_id == p.course_id)
                             .order_by(Student.student_id)).scalars().all()
            return {"students": [{"id": r.student_id, "name": r.name, "email": r.email} for r in rows]}

    def gradebook_rows(s: Session, course_id: int) -> list[dict]:
        out = []
        for st in s.execute(select(Student).where(Student.course_id == course_id)
                            .order_by(Student.student_id)).scalars():
            subs = s.execute(select(Submission).where(Submission.student_pk == st.id)
                             .order_by(Submission.created_at)).scalars().all()
            graded = [x for x in subs if x.state == "done"]
            latest = graded[-1] if graded else None
            best = max(graded, key=lambda x: (x.score or 0, x.created_at)) if graded else None
            out.append({"student": st.student_id, "name": st.name, "submissions": len(subs),
                        "attempts_charged": sum(1 for x in subs if x.charged),
                        "latest_id": latest.id if latest else None, "latest_score": latest.score if latest else None,
                        "latest_late": latest.late if latest else None,
                        "best_id": best.id if best else None, "best_score": best.score if best else None,
                        "max_score": (latest.max_score if latest else None),
                        "pending": any(x.state in PENDING for x in subs)})
        return out

    @app.get("/api/gradebook", responses={200: {"content": {"application/json": {}, "text/csv": {}}}})
    def gradebook(format: str = "json", p: Principal = Depends(instructor)):
        if format not in ("json", "csv"):
            raise ApiError(422, "format is json or csv")
        with Session(reads) as s:
            rows = gradebook_rows(s, p.course_id)
        if format == "json":
            return {"students": rows}
        return PlainTextResponse(gradebook_csv(rows), media_type="text/csv")

    def gradebook_csv(rows: list[dict]) -> str:
        buf = io.StringIO()
        cols = ["student", "name", "submissions", "attempts_charged", "latest_id", "latest_score", "latest_late",
                "best_id", "best_score", "max_score", "pending"]
        w = csv.DictWriter(buf, fieldnames=cols)
        w.writeheader()
        for r in rows:
            w.writerow({k: ("" if r[k] is None else r[k]) for k in cols})
        return buf.getvalue()

    @app.post("/api/regrade", status_code=202)
    def regrade(body: RegradeIn, p: Principal = Depends(instructor)):
        """Grade finished submissions again (after a pack change); the student is charged nothing new."""
        if not body.all and not body.submission:
            raise ApiError(422, "say which: {\"submission\": ID} or {\"all\": true}")
        with Session(reads) as s:
            q = select(Submission.id).where(Submission.course_id == p.course_id,
                                            Submission.state.in_(("done", "failed")))
            if not body.all:
                visible(s, p, body.submission)
                q = q.where(Submission.id == body.submission)
            ids = list(s.execute(q).scalars())
        return requeue(ids)

    def requeue(ids: list[str]) -> dict:
        """Put finished submissions back in the queue (a regrade): ``{"queued": [...], "skipped": [...]}``."""
        queued, skipped = [], []
        for sid in ids:
            try:
                with Session(engine) as s, s.begin():
                    res = s.execute(update(Submission).where(Submission.id == sid,
                                                             Submission.state.in_(("done", "failed")))
                                    .values(state="queued", queued_at=time.time(), grader_errors=0,
                                            message="regrade requested"))
                (queued if res.rowcount == 1 else skipped).append(sid)
            except IntegrityError:  # the student has a pending submission: it goes first
                skipped.append(sid)
        log("regrade", queued=len(queued), skipped=len(skipped))
        return {"queued": queued, "skipped": skipped}

    @app.get("/api/health")
    def health(p: Principal = Depends(instructor)):
        return health_of(p.course_id)

    def health_of(course_id: int) -> dict:
        """Workers alive, the queue, and the course's recent grader errors (the last day's, newest first)."""
        now = time.time()
        with Session(reads) as s:
            errors = s.execute(select(Submission).where(
                Submission.course_id == course_id, Submission.finished_at > now - 86400,
                Submission.status == "error").order_by(Submission.finished_at.desc()).limit(20)).scalars().all()
            recent = [{"id": x.id, "student": s.get(Student, x.student_pk).student_id, "finished_at": x.finished_at,
                       "message": x.message[:500]} for x in errors]
            workers = s.execute(select(Worker).where(Worker.stopped.is_(False))).scalars().all()
            alive = [w for w in workers if now - w.last_seen <= settings.worker_alive_s]
            running = s.execute(select(func.count()).select_from(Submission).where(
                Submission.state == "running")).scalar()
            queued_n = s.execute(select(func.count()).select_from(Submission).where(
                Submission.state == "queued")).scalar()
            oldest = s.execute(select(func.min(Submission.queued_at)).where(Submission.state == "queued")).scalar()
        return {"workers_alive": len(alive), "running": running, "queued": queued_n,
                "oldest_queued_age_s": round(now - oldest, 1) if oldest else None,
                "workers": [{"id": w.id, "runner": w.runner, "current": w.current,
                             "last_seen_age_s": round(now - w.last_seen, 1)} for w in alive],
                "recent_errors": recent}

    from . import web
    web.add_pages(app, engine, settings, web.Api(
        limiter=limiter, course_of=course_of, limits_of=limits_of, visible=visible, status_of=status_of,
        latest_result=latest_result, enqueue=enqueue, status_stream=status_stream, gradebook_rows=gradebook_rows,
        gradebook_csv=gradebook_csv, health_of=health_of, set_limits=set_limits, requeue=requeue))
    return app
