"""The database: engines (SQLite in WAL mode by default, PostgreSQL by URL) and Alembic migrations.

The migrations live in this package (``migrations/``), so an installed wheel
carries them: ``upgrade`` brings any earlier schema to the current one and
keeps every row (a netgrade upgrade mid-semester loses no submission).
"""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from ..i18n import N_, Msg

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
DB_NAME = "netgrade.db"


def default_url(data_dir: str | Path) -> str:
    return f"sqlite:///{Path(data_dir).resolve() / DB_NAME}"


def normalize_url(url: str) -> str:
    """``postgresql://`` means psycopg 3 (the driver the ``service`` extra installs)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def safe_url(url: str) -> str:
    """The URL without its password, for logs and messages."""
    from sqlalchemy.engine import make_url
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001
        return "(unparsable URL)"


#: seconds a client is told to wait (Retry-After) before it sends again what a busy database refused
RETRY_S = 5
#: the answer then (the API's JSON reason in English, a page's in its language)
BUSY = Msg(N_("the service's database is busy or unreachable: nothing was changed, try again in a few seconds"))

#: the execution option of a transaction that only reads (``reading``)
READ_ONLY = "netgrade_read_only"


def connect(url: str, busy_s: float = 30.0) -> Engine:
    """An engine for ``url``.  ``busy_s``: how long a statement waits for SQLite's write lock, held by
    another process's transaction, before it fails (OperationalError: "database is locked")."""
    url = normalize_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": busy_s, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001
            # WAL: readers never wait for the writer; a crash loses no committed transaction
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={int(busy_s * 1000)}")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn) -> None:  # noqa: ANN001
            # take the write lock at BEGIN: no deadlock between two read-then-write transactions;
            # a transaction that only reads takes none (WAL: it never waits for the writer)
            conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")

        # let SQLAlchemy's "begin" event issue BEGIN instead of pysqlite's implicit one
        @event.listens_for(engine, "connect", insert=True)
        def _no_implicit(dbapi_conn, _record) -> None:  # noqa: ANN001
            dbapi_conn.isolation_level = None
        return engine
    return create_engine(url, pool_pre_ping=True)


def reading(engine: Engine) -> Engine:
    """``engine`` for transactions that only read: on SQLite they take no write lock, so a look that
    finds nothing to do (an idle worker's poll) never holds up a writer, even if its process is frozen
    mid-transaction (SIGSTOP, a paused VM).  A transaction through it must not write."""
    return engine.execution_options(**{READ_ONLY: True})


def sessions(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def _alembic_config(engine: Engine):
    from alembic.config import Config
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration (creates it on an empty database)."""
    from alembic import command
    cfg = _alembic_config(engine)
    with engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
        conn.commit()


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str:
    from alembic.script import ScriptDirectory
    return ScriptDirectory.from_config(_alembic_config(None)).get_current_head()
