"""Operator writes shared by the HTTP API and the CLI: submit, cancel, modify, declare an outage.

Each write is checked here (so the API and the CLI refuse the same things with the same message),
stored as a request the next tick acts on (submissions go straight into the jobs table, as
``codispatch submit`` does) and audited in the same transaction: who, what, when.
"""

from __future__ import annotations

import getpass
import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import pandas as pd

from control.errors import InputError
from control.jobs import site_gpus, validate_jobs
from control.operations.queries import NotFound, Operations, iso
from control.operations.requests import TERMINAL_STATES, RequestKind
from control.store.repository import now_utc, utc
from control.store.tables import AuditRecord, JobRecord, RequestRecord

MAX_SUBMIT_JOBS = 1000
"""Most jobs one submission may carry."""
MAX_PRIORITY = 100


class Role(StrEnum):
    VIEWER = "viewer"
    OPERATOR = "operator"


@dataclass(frozen=True)
class Actor:
    """Who writes: an API token's name and role, or ``cli:<user>`` (operator)."""

    name: str
    role: Role

    @classmethod
    def cli(cls) -> Actor:
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = "unknown"
        return cls(f"cli:{user}", Role.OPERATOR)


class Forbidden(PermissionError):
    """The actor's role may not do this."""


def _check_operator(actor: Actor) -> None:
    if actor.role != Role.OPERATOR:
        raise Forbidden(f"{actor.name} has role {actor.role}; writes need an operator token")


def _audit(actor: Actor, action: str, target: str, detail: dict[str, Any], result: str = "accepted") -> AuditRecord:
    return AuditRecord(at=now_utc(), actor=actor.name, role=str(actor.role), action=action, target=target,
                       detail=json.dumps(detail, default=str), result=result)


def _live_job(ops: Operations, job_id: str) -> JobRecord:
    with ops.session() as session:
        job = session.get(JobRecord, job_id)
    if job is None:
        raise NotFound(f"job {job_id!r} is not in the store; list them with `codispatch jobs`")
    if job.state in TERMINAL_STATES:
        raise InputError(f"job {job_id!r} is {job.state} already; nothing to change")
    return job


def _request(ops: Operations, actor: Actor, kind: RequestKind, job_id: str = "", site: str = "",
             payload: dict[str, Any] | None = None) -> dict[str, Any]:
    payload = payload or {}
    record = RequestRecord(kind=str(kind), job_id=job_id, site=site, payload=json.dumps(payload, default=str),
                           requested_by=actor.name, created_at=now_utc())
    target = job_id or f"site:{site}"
    rid = ops.store.add_request(record, _audit(actor, str(kind), target, payload))
    return {"request_id": rid, "kind": str(kind), "job_id": job_id, "site": site, "payload": payload,
            "status": "pending", "note": "the next tick acts on it"}


def cancel(ops: Operations, actor: Actor, job_id: str) -> dict[str, Any]:
    """Ask the next tick to cancel ``job_id`` (it leaves the workload manager)."""
    _check_operator(actor)
    _live_job(ops, job_id)
    return _request(ops, actor, RequestKind.CANCEL, job_id=job_id)


def parse_time(value: str, what: str) -> pd.Timestamp:
    """An ISO 8601 time with a UTC offset, as UTC."""
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise InputError(f"{what} {value!r} is not an ISO 8601 time; write e.g. 2026-12-04T18:00:00Z") from exc
    if pd.isna(stamp):
        raise InputError(f"{what} {value!r} is not a time; write e.g. 2026-12-04T18:00:00Z")
    if stamp.tzinfo is None:
        raise InputError(f"{what} {value!r} has no UTC offset; write e.g. '{value}Z'")
    return stamp.tz_convert("UTC")


def modify(ops: Operations, actor: Actor, job_id: str, deadline: str | None = None,
           priority: int | None = None) -> dict[str, Any]:
    """Ask the next tick to change a job's deadline and/or priority."""
    _check_operator(actor)
    if deadline is None and priority is None:
        raise InputError("nothing to change: give a deadline and/or a priority")
    job = _live_job(ops, job_id)
    payload: dict[str, Any] = {}
    if deadline is not None:
        new = parse_time(deadline, "deadline")
        if new <= pd.Timestamp(utc(job.release)):
            raise InputError(f"deadline {new.isoformat()} is not after the job's release {iso(job.release)}")
        payload["deadline"] = new.isoformat()
    if priority is not None:
        if not 0 <= int(priority) <= MAX_PRIORITY:
            raise InputError(f"priority {priority} is outside 0..{MAX_PRIORITY}")
        payload["priority"] = int(priority)
    return _request(ops, actor, RequestKind.MODIFY, job_id=job_id, payload=payload)


def declare_outage(ops: Operations, actor: Actor, site: str, start: str, end: str) -> dict[str, Any]:
    """Declare that ``site`` has no GPUs in service in ``[start, end)``; ticks plan around it."""
    _check_operator(actor)
    if site not in ops.settings.site_names:
        raise InputError(f"site {site!r} is not in the config; sites are {', '.join(ops.settings.site_names)}")
    first, last = parse_time(start, "start"), parse_time(end, "end")
    if last <= first:
        raise InputError(f"outage end {last.isoformat()} is not after its start {first.isoformat()}")
    if last - first > pd.Timedelta(days=366):
        raise InputError("an outage longer than a year is a config change: remove the site from the config")
    return _request(ops, actor, RequestKind.OUTAGE, site=site,
                    payload={"start": first.isoformat(), "end": last.isoformat()})


def submit(ops: Operations, actor: Actor, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Add jobs (the ``submit`` command's validation; all or nothing), audited."""
    _check_operator(actor)
    if not rows:
        raise InputError("nothing to submit: give at least one job")
    if len(rows) > MAX_SUBMIT_JOBS:
        raise InputError(f"{len(rows)} jobs in one submission; send at most {MAX_SUBMIT_JOBS} at a time")
    now = pd.Timestamp(now_utc())
    frame = validate_jobs(pd.DataFrame(rows), ops.settings.site_names, source="api submit",
                          capacity=site_gpus(ops.settings), now=now)
    ids = [str(j) for j in frame["job_id"]]
    count = ops.store.add_jobs_audited(frame, now.to_pydatetime(), _audit(actor, "submit", ",".join(ids)[:500],
                                                                {"jobs": len(ids)}))
    return {"submitted": count, "job_ids": ids}
