"""Operator requests the tick acts on (pure): cancel a job, change its deadline or priority,
declare a site outage.

A request is written into the store (``requests`` table, audited) by the API or the CLI; the next
tick reads the pending ones, applies them to the jobs it plans with, and in the transaction that
writes its plan marks them applied (or rejected, with the reason) and updates the job rows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum

import pandas as pd


class RequestKind(StrEnum):
    CANCEL = "cancel"
    MODIFY = "modify"
    OUTAGE = "outage"


class RequestStatus(StrEnum):
    PENDING = "pending"
    APPLIED = "applied"
    REJECTED = "rejected"


TERMINAL_STATES = ("done", "cancelled")
"""Job states the controller never plans again."""


@dataclass
class AppliedRequests:
    """What a tick does with the pending requests."""

    jobs: pd.DataFrame
    """The jobs frame with cancels and modifications applied."""
    outcomes: dict[int, tuple[RequestStatus, str]] = field(default_factory=dict)
    """request id -> (applied | rejected, outcome text)."""
    cancelled: list[str] = field(default_factory=list)
    changes: dict[str, dict[str, object]] = field(default_factory=dict)
    """job id -> new column values (``deadline``, ``priority``, ``state``)."""


def apply_requests(jobs: pd.DataFrame, requests: list[dict], tick_time: pd.Timestamp) -> AppliedRequests:
    """Apply pending ``requests`` (dicts with ``id``, ``kind``, ``job_id``, ``site``, ``payload``)
    in id order to ``jobs`` (the store's jobs frame). Outages need no job change: they are
    read from the store by :func:`outage_windows` and marked applied here."""
    frame = jobs.copy()
    result = AppliedRequests(frame)
    position = {job_id: k for k, job_id in enumerate(frame["job_id"])}
    for request in sorted(requests, key=lambda r: r["id"]):
        rid, kind, job_id = request["id"], request["kind"], request.get("job_id", "")
        payload = json.loads(request.get("payload") or "{}")
        if kind == RequestKind.OUTAGE:
            text = f"site {request['site']} out of service {payload.get('start')} - {payload.get('end')}"
            result.outcomes[rid] = (RequestStatus.APPLIED, text)
            continue
        if job_id not in position:
            result.outcomes[rid] = (RequestStatus.REJECTED, f"job {job_id!r} is not in the store")
            continue
        k = position[job_id]
        state = str(frame.at[k, "state"])
        if state in TERMINAL_STATES:
            result.outcomes[rid] = (RequestStatus.REJECTED, f"job {job_id!r} is {state} already")
            continue
        if kind == RequestKind.CANCEL:
            frame.at[k, "state"] = "cancelled"
            result.cancelled.append(job_id)
            result.changes.setdefault(job_id, {})["state"] = "cancelled"
            result.outcomes[rid] = (RequestStatus.APPLIED, f"cancelled at tick {tick_time.isoformat()}")
            continue
        if kind == RequestKind.MODIFY:
            change: dict[str, object] = {}
            if payload.get("deadline") is not None:
                change["deadline"] = pd.Timestamp(payload["deadline"]).tz_convert("UTC")
            if payload.get("priority") is not None:
                change["priority"] = int(payload["priority"])
            for column, value in change.items():
                frame.at[k, column] = value
            result.changes.setdefault(job_id, {}).update(change)
            result.outcomes[rid] = (RequestStatus.APPLIED, "changed " + ", ".join(f"{c} to {v}" for c, v in change.items()))
            continue
        result.outcomes[rid] = (RequestStatus.REJECTED, f"unknown request kind {kind!r}")
    if "deadline" in frame:
        frame["deadline"] = pd.to_datetime(frame["deadline"], utc=True)
    result.jobs = frame
    return result


def outage_windows(requests: list[dict]) -> list[tuple[str, pd.Timestamp, pd.Timestamp]]:
    """(site, start, end) of outage requests (pending or applied)."""
    windows = []
    for request in requests:
        if request["kind"] != RequestKind.OUTAGE or request["status"] == RequestStatus.REJECTED:
            continue
        payload = json.loads(request.get("payload") or "{}")
        windows.append((request["site"], pd.Timestamp(payload["start"]).tz_convert("UTC"),
                        pd.Timestamp(payload["end"]).tz_convert("UTC")))
    return windows


def with_outages(gpus: pd.DataFrame, windows: list[tuple[str, pd.Timestamp, pd.Timestamp]]) -> pd.DataFrame:
    """GPUs in service (hour x site) with zero in the hours an outage touches."""
    out = gpus.copy()
    index = out.index
    for site, start, end in windows:
        if site in out.columns:
            out.loc[(index + pd.Timedelta(hours=1) > start) & (index < end), site] = 0.0
    return out
