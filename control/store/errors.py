"""Store failures that no retry can cure, told apart from brief outages.

A store problem is **transient** when waiting can cure it (a lock held by another process, a
PostgreSQL server restarting or a connection cut mid-transaction): the transaction is retried
with back-off. It is **permanent** when only the operator can (the folder does not exist, the
file or file system is read-only, the disk is full, credentials are wrong, the file is not a
database): :class:`StorePermanentError` is raised at once, naming the store and the fix. A
store that vanished or was replaced under a running process is :class:`StoreGone`: the process
refuses to act instead of creating a new, empty store.
"""

from __future__ import annotations

import os
from pathlib import Path


class StoreFailure(RuntimeError):
    """The store cannot be used; the message names the store and what to do."""


class StorePermanentError(StoreFailure):
    """A store error that retrying cannot fix (missing folder, read-only, disk full, ...)."""


class StoreGone(StoreFailure):
    """The store is missing, was never created (``codispatch init``), or was replaced."""


PERMANENT_MARKERS: tuple[tuple[str, str], ...] = (
    ("unable to open database file", "the store's folder does not exist or cannot be written: create the folder "
                                     "(mkdir -p) or set [runtime] database to a writable path"),
    ("readonly database", "the store file or its file system is read-only: make it writable (chmod, remount rw) "
                          "or move [runtime] database to a writable path"),
    ("read-only transaction", "the database is read-only (a replica or default_transaction_read_only): point "
                              "[runtime] database_url at the primary"),
    ("database or disk is full", "the disk holding the store is full: free space, then restart"),
    ("no space left on device", "the disk holding the store is full: free space, then restart"),
    ("could not extend file", "the database server's disk is full: free space, then restart"),
    ("disk i/o error", "the store's disk failed an I/O operation: check the file system (dmesg), then restart"),
    ("file is not a database", "the store file is not an SQLite database: restore it from a backup or point "
                               "[runtime] database at the right file"),
    ("database disk image is malformed", "the store file is corrupt: restore it from a backup"),
    ("password authentication failed", "wrong database credentials: fix [runtime] database_url or the password file"),
    ("no such table", "the database has no codispatch schema (emptied or never created): run `codispatch init "
                      "--config FILE` on a new store, or restore the store and restart"),
    ('relation "', "the database has no codispatch schema (emptied or never created): run `codispatch init "
                   "--config FILE` on a new store, or restore the store and restart"),
    ("does not exist", "the database or role does not exist: create it, or fix [runtime] database_url"),
    ("permission denied", "the database user lacks rights: grant them, or fix [runtime] database_url"),
)
"""(lower-case fragment of the driver's message, the fix) of the permanent errors."""


def permanent_fix(message: str, path: Path | None = None) -> str | None:
    """The fix for a permanent store error message, or None when the error may be transient.

    ``path`` (an SQLite store's file) tells the causes of SQLite's "unable to open database
    file" apart: a missing folder, or a read-only file system."""
    lowered = message.lower()
    if path is not None and "unable to open database file" in lowered:
        if not path.parent.is_dir():
            return f"its folder {path.parent} does not exist: create it (mkdir -p) or set [runtime] database"
        if os.statvfs(path.parent).f_flag & os.ST_RDONLY:
            return (f"the file system holding {path.parent} is read-only: remount it read-write or move "
                    "[runtime] database to a writable path")
    for marker, fix in PERMANENT_MARKERS:
        if marker in lowered:
            return fix
    return None
