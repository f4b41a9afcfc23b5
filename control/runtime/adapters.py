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
    """The workload manager cannot be reached now (e.g. its controller is restarting)."""


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


class FileAdapter:
    """Dry-run adapter: every applied intent becomes one JSON line (fsynced) in ``path``.

    For sites without Slurm, and for tests: the file is the workload manager's memory, so a key
    found in it is applied, and applying it again writes nothing.
    """

    def __init__(self, path: Path, capacity_gpus: dict[str, int]) -> None:
        self.path = Path(path)
        self._capacity = dict(capacity_gpus)

    def _lines(self) -> list[dict]:
        if not self.path.exists():
            return []
        records = []
        for number, line in enumerate(self.path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:  # a line cut short by a crash mid-write is not applied
                logger.warning("%s line %d is incomplete; ignored", self.path, number)
        return records

    def applied(self, intent: Intent) -> bool:
        return any(r["key"] == intent.key for r in self._lines())

    def apply(self, intent: Intent) -> None:
        if self.applied(intent):
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"key": intent.key, "job_id": intent.job_id, "action": intent.action,
                           "site": intent.site, "gpus": intent.gpus}) + "\n"
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())

    def observe(self) -> dict[str, JobObservation]:
        state: dict[str, JobObservation] = {}
        keys: dict[str, set[str]] = {}
        for record in self._lines():
            keys.setdefault(record["job_id"], set()).add(record["key"])
            running = record["action"] == "run"
            state[record["job_id"]] = JobObservation(record["job_id"], record["site"], "running" if running else "held")
        return {j: JobObservation(o.job_id, o.site, o.state, frozenset(keys[j])) for j, o in state.items()}

    def capacity(self) -> dict[str, int]:
        return dict(self._capacity)
