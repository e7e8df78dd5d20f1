"""The service's tables (SQLAlchemy 2).  Changes go through a migration in ``migrations/versions``.

Times are seconds since the epoch (floats): the same on SQLite and PostgreSQL.
"""
from __future__ import annotations

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

#: a submission in one of these states holds the student's one pending slot
PENDING = ("queued", "running")
STATES = ("queued", "running", "done", "failed")


class Base(DeclarativeBase):
    pass


class Course(Base):
    __tablename__ = "courses"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    pack_text: Mapped[str | None] = mapped_column(Text, nullable=True)  # TOML merged over the default pack
    programs: Mapped[str] = mapped_column(Text, default="[]")  # JSON list: only these programs ([] = all)
    runner: Mapped[str] = mapped_column(String(16), default="auto")
    limits: Mapped[str] = mapped_column(Text, default="{}")  # JSON, see limits.Limits
    lang: Mapped[str] = mapped_column(String(8), default="en")
    created_at: Mapped[float] = mapped_column(Float)
    #: the number of the course's current pack (``pack_text``, ``programs``), a row of ``pack_versions``
    pack_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class PackVersion(Base):
    """Every pack a course has had: version 1 at creation, one more at each accepted change (never edited)."""
    __tablename__ = "pack_versions"
    __table_args__ = (UniqueConstraint("course_id", "version", name="uq_pack_version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"))
    version: Mapped[int] = mapped_column(Integer)
    pack_text: Mapped[str | None] = mapped_column(Text, nullable=True)  # None: the default pack
    programs: Mapped[str] = mapped_column(Text, default="[]")
    created_at: Mapped[float] = mapped_column(Float)
    note: Mapped[str] = mapped_column(String(200), default="")


class Regrade(Base):
    """One regrade asked for on the settings page: which submissions it put back in the queue (its progress
    page follows them)."""
    __tablename__ = "regrades"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # random
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), index=True)
    created_at: Mapped[float] = mapped_column(Float)
    submissions: Mapped[str] = mapped_column(Text)  # JSON list of submission ids
    pack_version: Mapped[int] = mapped_column(Integer)  # the course's pack version when it was asked for


class Student(Base):
    __tablename__ = "students"
    __table_args__ = (UniqueConstraint("course_id", "student_id", name="uq_student"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"))
    student_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[float] = mapped_column(Float)


class Token(Base):
    """A bearer token, stored only as its SHA-256 (a token is 256 random bits: no salt or slow hash needed)."""
    __tablename__ = "tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"))
    student_pk: Mapped[int | None] = mapped_column(ForeignKey("students.id"), nullable=True)  # None: instructor
    role: Mapped[str] = mapped_column(String(16))  # "instructor" | "student"
    created_at: Mapped[float] = mapped_column(Float)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class Submission(Base):
    __tablename__ = "submissions"
    __table_args__ = (
        # one queued-or-running submission per student, held by the database itself (two uploads at once
        # cannot both get in)
        Index("uq_one_pending", "student_pk", unique=True,
              sqlite_where=text("state IN ('queued', 'running')"),
              postgresql_where=text("state IN ('queued', 'running')")),
        Index("ix_submissions_queue", "state", "queued_at"),
    )
    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # random: ids cannot be guessed
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"))
    student_pk: Mapped[int] = mapped_column(ForeignKey("students.id"), index=True)
    state: Mapped[str] = mapped_column(String(16))
    #: leases handed out so far; a result is accepted only from the current one
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    grader_errors: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(100), nullable=True)
    lease_expires: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[float] = mapped_column(Float)
    queued_at: Mapped[float] = mapped_column(Float)
    started_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    finished_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    filename: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(Integer)
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    #: counts as one of the student's attempts: graded, not a grader error
    charged: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str | None] = mapped_column(String(16), nullable=True)  # the result's: graded | error
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    max_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    message: Mapped[str] = mapped_column(Text, default="")
    runner: Mapped[str | None] = mapped_column(String(16), nullable=True)
    done_checks: Mapped[int] = mapped_column(Integer, default=0)
    total_checks: Mapped[int | None] = mapped_column(Integer, nullable=True)
    result_attempt: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: the running attempt's finished checks so far, JSON [[program/check, status], ...] (progress.ProgressWriter)
    finished_checks: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: the course's pack version that graded the current result (None before the first result)
    pack_version: Mapped[int | None] = mapped_column(Integer, nullable=True)


class Upload(Base):
    """The uploaded bytes, committed with the submission's row (nothing half-stored, shared by every worker)."""
    __tablename__ = "uploads"
    submission_id: Mapped[str] = mapped_column(ForeignKey("submissions.id"), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class Grading(Base):
    """One finished attempt of grading a submission; at most one per (submission, attempt)."""
    __tablename__ = "gradings"
    __table_args__ = (UniqueConstraint("submission_id", "attempt", name="uq_grading_attempt"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[str] = mapped_column(ForeignKey("submissions.id"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))  # graded | error
    result: Mapped[str] = mapped_column(Text)  # netgrade.result/1 JSON
    worker: Mapped[str] = mapped_column(String(100))
    seconds: Mapped[float] = mapped_column(Float)
    created_at: Mapped[float] = mapped_column(Float)
    #: the course's pack version this attempt was graded with (None: graded before versions were kept)
    pack_version: Mapped[int | None] = mapped_column(Integer, nullable=True)


class Worker(Base):
    __tablename__ = "workers"
    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    host: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int] = mapped_column(Integer)
    runner: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[float] = mapped_column(Float)
    last_seen: Mapped[float] = mapped_column(Float)
    current: Mapped[str | None] = mapped_column(String(32), nullable=True)
    stopped: Mapped[bool] = mapped_column(Boolean, default=False)


class WebSession(Base):
    """A browser's sign-in (the web pages): the cookie holds a random id, stored here only as its SHA-256.

    A new id at every sign-in (no fixation); the CSRF token of its forms; gone at sign-out.
    """
    __tablename__ = "web_sessions"
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("tokens.id"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float)


class Draft(Base):
    """An upload checked and shown to its student (which programs were found) before it is sent to grading."""
    __tablename__ = "drafts"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    student_pk: Mapped[int] = mapped_column(ForeignKey("students.id"), index=True)
    created_at: Mapped[float] = mapped_column(Float)
    filename: Mapped[str] = mapped_column(String(255))
    data: Mapped[bytes] = mapped_column(LargeBinary)
