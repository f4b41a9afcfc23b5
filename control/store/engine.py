"""Database engine (SQLite with WAL and a busy timeout, or PostgreSQL by URL) and migrations."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DBAPIError, OperationalError

from control.store.errors import StorePermanentError, permanent_fix

logger = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
T = TypeVar("T")


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite files get WAL journaling and a 30 s busy timeout so a
    reader never blocks the daemon and a short lock is waited out, not failed."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest version (Alembic ``upgrade head``)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def describe(url: str) -> str:
    """The store as the operator knows it: the SQLite file path, or the URL without its password."""
    if url.startswith("sqlite"):
        return url.split(":///", 1)[-1]
    head, _, tail = url.partition("@")
    return f"{head.split(':', 1)[0]}://...@{tail}" if tail else url


def with_retries(operation: Callable[[], T], retries: int = 5, first_wait_s: float = 0.2, where: str = "",
                 path: Path | None = None) -> T:
    """Run ``operation``; when the database is briefly unavailable (a transient OperationalError:
    locked, server restarting, connection cut), wait 0.2, 0.4, 0.8 ... s and try again, ``retries``
    times, then raise. A permanent error (:data:`control.store.errors.PERMANENT_MARKERS`: missing
    folder, read-only, disk full, bad credentials, not a database) raises
    :class:`StorePermanentError` at once, naming ``where`` (the store) and the fix (``path``: an
    SQLite store's file, to tell its causes apart)."""
    for attempt in range(retries + 1):
        try:
            return operation()
        except DBAPIError as exc:
            message = str(exc.orig) if exc.orig is not None else str(exc)
            fix = permanent_fix(message, path)
            if fix is not None:
                raise StorePermanentError(f"store {where or '(unnamed)'}: {message.strip()}; {fix}") from exc
            if not isinstance(exc, OperationalError) or attempt == retries:
                raise
            wait = first_wait_s * 2**attempt
            logger.warning("database unavailable (%s); retry %d/%d in %.1f s", message.strip(), attempt + 1, retries,
                           wait)
            time.sleep(wait)
    raise AssertionError("unreachable")
