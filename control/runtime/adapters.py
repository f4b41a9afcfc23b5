"""Workload-manager adapters: observe jobs, apply an intent idempotently, report capacity.

An intent is keyed (``<tick>|<job>|<action>``); applying the same key twice must change nothing.
That, plus writing intents before sending them, is what makes a tick safe to kill at any point.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

logger = logging.getLogger(__name__)


class AdapterUnavailable(RuntimeError):
    """The workload manager cannot be reached now (controller restarting, down, or a command
    timed out): transient; every pending intent stays pending and is retried without limit."""


class IntentRefused(RuntimeError):
    """The workload manager refused this one intent for good (a job name it does not accept, a
    gang larger than the partition, an unknown partition): the intent is marked failed with
    the message, the job ``failed``; the other intents go on."""


class IntentError(RuntimeError):
    """This one intent failed with an error that is neither known transient nor known permanent:
    retried on the next passes, and marked failed after ``[runtime] intent_max_attempts``."""


@dataclass(frozen=True)
class Intent:
    key: str
    job_id: str
    action: str
    """``run`` (place at ``site`` with ``gpus`` and release), ``hold``, or ``cancel`` (an
    operator's request: the job leaves the workload manager)."""
    site: str = ""
    gpus: int = 0


@dataclass(frozen=True)
class JobObservation:
    job_id: str
    site: str
    state: str
    """``running`` | ``held`` | ``unknown``."""
    applied_keys: frozenset[str] = frozenset()


class WorkloadManager(Protocol):
    def observe(self) -> dict[str, JobObservation]: ...

    def apply(self, intent: Intent) -> None: ...

    def capacity(self) -> dict[str, int]: ...

    def applied(self, intent: Intent) -> bool:
        """Does the workload manager already hold this intent? (Asked of the manager's own state,
        not remembered by us: level-triggered.)"""
        ...

    def refresh(self) -> None:
        """Forget what was read of the manager's state: the next question reads it anew (once)."""
        ...

    def confirm(self, intents: list[Intent]) -> list[Intent]:
        """Of intents just sent, those the manager now verifiably holds (one fresh read)."""
        ...


class FileAdapter:
    """Dry-run adapter: every applied intent becomes one JSON line (fsynced) in ``path``.

    For sites without Slurm, and for tests: the file is the workload manager's memory, so a key
    found in it is applied, and applying it again writes nothing. The file is read once into an
    index (key -> record, job -> last state) and afterwards only the bytes appended since (by
    this process or another) are parsed, so each intent costs the same however long the file
    grows.
    """

    def __init__(self, path: Path, capacity_gpus: dict[str, int]) -> None:
        self.path = Path(path)
        self._capacity = dict(capacity_gpus)
        self._keys: dict[str, dict] = {}
        self._jobs: dict[str, JobObservation] = {}
        self._job_keys: dict[str, set[str]] = {}
        self._offset = 0
        self._identity: tuple[int, int] | None = None
        self._line = 0
        self.bytes_parsed = 0
        """Bytes of the file parsed so far (the index's cost; tests assert it)."""

    def _sync(self) -> None:
        """Parse what was appended to the file since the last call (all of it the first time,
        or when the file was replaced or truncated)."""
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            stat = None
        identity = None if stat is None else (stat.st_dev, stat.st_ino)
        if identity != self._identity or (stat is not None and stat.st_size < self._offset):
            self._keys, self._jobs, self._job_keys, self._offset, self._line = {}, {}, {}, 0, 0
            self._identity = identity
        if stat is None or stat.st_size == self._offset:
            return
        with self.path.open("rb") as handle:
            handle.seek(self._offset)
            chunk = handle.read(stat.st_size - self._offset)
        complete = chunk.rfind(b"\n") + 1  # a line still being written (no newline yet) waits
        self.bytes_parsed += complete
        for raw in chunk[:complete].splitlines():
            self._line += 1
            if not raw.strip():
                continue
            try:
                record = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError):  # a line cut short by a crash mid-write is not applied
                logger.warning("%s line %d is incomplete; ignored", self.path, self._line)
                continue
            self._index(record)
        self._offset += complete

    def _index(self, record: dict) -> None:
        self._keys[record["key"]] = record
        job_id = record["job_id"]
        self._job_keys.setdefault(job_id, set()).add(record["key"])
        self._jobs[job_id] = JobObservation(job_id, record["site"], "running" if record["action"] == "run" else "held")

    def refresh(self) -> None:
        self._sync()

    def applied(self, intent: Intent) -> bool:
        self._sync()
        return intent.key in self._keys

    def confirm(self, intents: list[Intent]) -> list[Intent]:
        self._sync()
        return [i for i in intents if i.key in self._keys]

    def apply(self, intent: Intent) -> None:
        if self.applied(intent):
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        record = {"key": intent.key, "job_id": intent.job_id, "action": intent.action, "site": intent.site,
                  "gpus": intent.gpus}
        line = (json.dumps(record) + "\n").encode("utf-8")
        with self.path.open("ab") as handle:
            if handle.tell() > self._offset:  # another writer appended since we read: parse it first
                self._sync()
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())
        stat = os.stat(self.path)
        self._identity = (stat.st_dev, stat.st_ino)
        self._index(record)
        self._offset += len(line)
        self._line += 1

    def observe(self) -> dict[str, JobObservation]:
        self._sync()
        return {j: JobObservation(o.job_id, o.site, o.state, frozenset(self._job_keys[j])) for j, o in self._jobs.items()}

    def capacity(self) -> dict[str, int]:
        return dict(self._capacity)
