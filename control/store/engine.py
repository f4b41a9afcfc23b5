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
from sqlalchemy.exc import OperationalError

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


def with_retries(operation: Callable[[], T], retries: int = 5, first_wait_s: float = 0.2) -> T:
    """Run ``operation``; when the database is briefly unavailable (OperationalError), wait
    0.2, 0.4, 0.8 ... s and try again, ``retries`` times, then raise."""
    for attempt in range(retries + 1):
        try:
            return operation()
        except OperationalError as exc:
            if attempt == retries:
                raise
            wait = first_wait_s * 2**attempt
            logger.warning("database unavailable (%s); retry %d/%d in %.1f s", exc.orig, attempt + 1, retries, wait)
            time.sleep(wait)
    raise AssertionError("unreachable")
