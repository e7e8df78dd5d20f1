"""Courses and rosters: what ``netgrade serve init`` / ``serve roster`` and the instructor API do."""
from __future__ import annotations

import csv
import io
import json
import re
import time
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..i18n import N_, MessageError, Msg
from . import db
from .auth import new_token, token_hash
from .limits import Limits
from .models import Course, PackVersion, Student, Token

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
_COURSE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_HEADER = {"id", "student_id", "student id", "student", "sid", "学号"}


class AdminError(MessageError):
    """Bad input for a course or roster; one line (the pages show it in their language, the CLI and the
    API's JSON reasons in English)."""


@dataclass
class Issued:
    student_id: str
    name: str
    token: str
    link: str


def check_pack(pack_text: str | None, programs: list[str]) -> None:
    """The pack loads and the programs are in it (as ``netgrade check --pack`` would say)."""
    import os
    import tempfile

    from ..grading import BadInput, load_pack
    path = None
    try:
        if pack_text is not None:
            fd, path = tempfile.mkstemp(suffix=".toml", prefix="netgrade-pack-")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(pack_text)
        pack = load_pack(path, checks=False)
    except BadInput as exc:  # the loader's one line, naming the pack, not the temporary file
        raise AdminError(str(exc).replace(path, "the pack") if path else str(exc)) from None
    finally:
        if path:
            os.unlink(path)
    unknown = [p for p in programs if p not in pack.programs]
    if unknown:
        raise AdminError(Msg.of(N_("unknown program(s): {programs} (see `netgrade list`)"),
                                programs=", ".join(unknown)))


def create_course(engine: Engine, name: str, pack_text: str | None, programs: list[str], runner: str,
                  limits: Limits, lang: str = "en") -> str:
    """Create the course; return its instructor token (shown once, stored as a hash)."""
    if not _COURSE.match(name):
        raise AdminError(Msg.of(N_("course name {name}: letters, digits and '._-', at most 100"), name=repr(name)))
    check_pack(pack_text, programs)
    token = new_token()
    now = time.time()
    try:
        with Session(engine) as s, s.begin():
            course = Course(name=name, pack_text=pack_text, programs=json.dumps(programs), runner=runner,
                            limits=json.dumps(limits.to_dict()), lang=lang, created_at=now)
            s.add(course)
            s.flush()
            s.add(PackVersion(course_id=course.id, version=1, pack_text=pack_text, programs=json.dumps(programs),
                              created_at=now, note="the course was created"))
            s.add(Token(token_hash=token_hash(token), course_id=course.id, student_pk=None, role="instructor",
                        created_at=now, revoked=False))
    except IntegrityError:
        raise AdminError(Msg.of(N_("course {name} exists already"), name=repr(name))) from None
    return token


#: the largest pack the settings page accepts (the default pack is about 10 kB)
MAX_PACK_BYTES = 256 * 1024


def set_pack(engine: Engine, course_id: int, pack_text: str | None, note: str = "") -> int | None:
    """Make ``pack_text`` (None: the default pack) the course's pack, as its next version; return that number.

    The pack is checked first, as ``netgrade check --pack`` checks it (a bad one is an ``AdminError`` with
    the loader's one line, and nothing changes); a pack equal to the current one makes no version (None).
    Results graded afterwards record the new number; earlier ones keep theirs.
    """
    if pack_text is not None:
        pack_text = pack_text.replace("\r\n", "\n")
        if not pack_text.strip():
            pack_text = None
        elif len(pack_text.encode("utf-8")) > MAX_PACK_BYTES:
            raise AdminError(Msg.of(N_("the pack is larger than {kib} KiB"), kib=MAX_PACK_BYTES // 1024))
    with Session(db.reading(engine)) as s:
        c = s.get(Course, course_id)
        programs = json.loads(c.programs or "[]")
        if pack_text == c.pack_text:
            return None
        current = c.pack_version
    check_pack(pack_text, programs)
    try:
        with Session(engine) as s, s.begin():
            c = s.get(Course, course_id)
            if c.pack_version != current:
                raise AdminError(Msg(N_("the pack was changed meanwhile (in another tab?): reload and try again")))
            version = current + 1
            s.add(PackVersion(course_id=course_id, version=version, pack_text=pack_text, programs=c.programs,
                              created_at=time.time(), note=note[:200]))
            c.pack_text, c.pack_version = pack_text, version
    except IntegrityError:
        raise AdminError(Msg(N_("the pack was changed meanwhile (in another tab?): reload and try again"))) from None
    return version


def pack_versions(engine: Engine, course_id: int) -> list[PackVersion]:
    """The course's packs, newest first."""
    with Session(db.reading(engine)) as s:
        rows = s.execute(select(PackVersion).where(PackVersion.course_id == course_id)
                         .order_by(PackVersion.version.desc())).scalars().all()
        s.expunge_all()
        return list(rows)


def course_by_name(engine: Engine, name: str) -> Course:
    with Session(db.reading(engine)) as s:
        c = s.execute(select(Course).where(Course.name == name)).scalar()
        if c is None:
            raise AdminError(Msg.of(N_("no course {quoted} (create it with `netgrade serve init --course {name}`)"),
                                   quoted=repr(name), name=name))
        return c


def parse_roster(text: str) -> list[dict]:
    """CSV rows ``student id, name[, email]`` (a header row is recognised and skipped)."""
    rows = []
    for i, row in enumerate(csv.reader(io.StringIO(text))):
        cells = [c.strip() for c in row]
        if not cells or not any(cells):
            continue
        if i == 0 and cells[0].lower() in _HEADER:
            continue
        if len(cells) < 2 or not cells[1]:
            raise AdminError(Msg.of(N_("roster line {line}: wants 'student id, name[, email]', got {row}"),
                                   line=i + 1, row=repr(row)))
        rows.append({"id": cells[0], "name": cells[1], "email": cells[2] if len(cells) > 2 and cells[2] else None})
    return rows


def add_students(engine: Engine, course_id: int, students: list[dict], base_url: str) -> tuple[list[Issued], list[str]]:
    """Add students and issue each a token; returns (issued, skipped ids: already on the roster)."""
    seen = set()
    for st in students:
        sid = str(st.get("id", ""))
        if not _ID.match(sid):
            raise AdminError(Msg.of(N_("student id {sid}: letters, digits and '._@-', at most 64"), sid=repr(sid)))
        if not str(st.get("name", "")).strip() or len(str(st["name"])) > 200:
            raise AdminError(Msg.of(N_("student {sid}: a name of 1 to 200 characters is needed"), sid=sid))
        if sid in seen:
            raise AdminError(Msg.of(N_("student id {sid} twice in the roster"), sid=repr(sid)))
        seen.add(sid)
    issued, skipped = [], []
    now = time.time()
    with Session(engine) as s, s.begin():
        have = set(s.execute(select(Student.student_id).where(Student.course_id == course_id)).scalars())
        for st in students:
            sid = str(st["id"])
            if sid in have:
                skipped.append(sid)
                continue
            row = Student(course_id=course_id, student_id=sid, name=str(st["name"]).strip(),
                          email=(st.get("email") or None), created_at=now)
            s.add(row)
            s.flush()
            token = new_token()
            s.add(Token(token_hash=token_hash(token), course_id=course_id, student_pk=row.id, role="student",
                        created_at=now, revoked=False))
            # the token travels in the link's fragment: browsers never send it to the server, so it is in no log
            issued.append(Issued(sid, row.name, token, f"{base_url.rstrip('/')}/#token={token}"))
    return issued, skipped


def links_csv(issued: list[Issued]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["student_id", "name", "token", "link"])
    for i in issued:
        w.writerow([i.student_id, i.name, i.token, i.link])
    return buf.getvalue()
