"""Engines and migrations for the case database (SQLite by default, PostgreSQL in production and tests)."""

from __future__ import annotations

import fcntl
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).with_name("migrations")


def make_engine(url: str, *, read_only: bool = False) -> Engine:
    """``read_only``: for hot read paths (the live inbox poll); on SQLite its transactions do not take
    the write lock, so they never queue behind the worker's batches."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30}, hide_parameters=True)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_deferred if read_only else _sqlite_begin_immediate)
        return engine
    # hide_parameters: SQL errors must never carry a child's name or address into a log.
    return create_engine(url, pool_pre_ping=True, pool_size=2 if read_only else 10, max_overflow=10,
                         hide_parameters=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # The web and the worker share the file: WAL lets readers run while the worker writes.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    # WAL + NORMAL: commits survive a process crash (kill -9); only an OS crash can lose the last ones.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
    # Let SQLAlchemy emit BEGIN itself (below), instead of pysqlite's deferred BEGIN.
    dbapi_connection.isolation_level = None


def _sqlite_begin_deferred(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN")


def _sqlite_begin_immediate(connection: Any) -> None:
    # A deferred transaction that reads and then writes fails with SQLITE_BUSY when the other process
    # wrote in between; taking the write lock at BEGIN makes the two processes queue instead.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


MIGRATION_LOCK_ID = 7_104_2026  # PostgreSQL advisory lock: one migrating process at a time


def migrate(url: str) -> None:
    """Brings the schema to the newest revision (idempotent; safe when the web and the worker both run it)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        lock_path = Path(f"{parsed.database}.migrate.lock") if parsed.database not in (None, ":memory:") else None
        if lock_path is None:
            command.upgrade(alembic_config(url), "head")
            return
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        with lock_path.open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            command.upgrade(alembic_config(url), "head")
        return
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:id)"), {"id": MIGRATION_LOCK_ID})
            try:
                command.upgrade(alembic_config(url), "head")
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": MIGRATION_LOCK_ID})
    finally:
        engine.dispose()
