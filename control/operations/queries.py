"""Read-only answers about the daemon's store, shared by the HTTP API, the dashboard and the CLI.

Every function takes an :class:`Operations` context (the settings and the open store) and returns
plain JSON-able dicts and lists (UTC ISO 8601 strings, units in the key names). Queries are SQL
with filters and limits, so the status and job list stay fast with many jobs in the store.
"""

from __future__ import annotations

from control.errors import CodispatchError

import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlmodel import Session, select

from control.fleet import Fleet
from control.settings import Settings
from control.store import Store
from control.store.repository import now_utc, utc
from control.store.tables import (
    ExplanationRecord,
    ForecastRecord,
    IntentRecord,
    JobRecord,
    LeaseRecord,
    LedgerRecord,
    MeasurementRecord,
    PlanHourRecord,
    PlanSiteRecord,
    RequestRecord,
    TickDetailRecord,
    TickRecord,
)

MAX_PAGE = 500
"""Largest page of the job list."""
TICK_INTERVAL = timedelta(hours=1)


class NotFound(CodispatchError, KeyError):
    """The job (or other object) asked for is not in the store."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "not found"


@dataclass(frozen=True)
class Operations:
    """What every query and command needs: the validated settings and the open store."""

    settings: Settings
    store: Store

    @cached_property
    def fleet(self) -> Fleet:
        return Fleet.from_settings(self.settings)

    @cached_property
    def throughput(self) -> dict[str, float]:
        """Reference-GPU hours per GPU-hour of each site."""
        return dict(zip(self.fleet.names, self.fleet.throughput.astype(float), strict=True))

    def session(self) -> Session:
        return Session(self.store.engine, expire_on_commit=False)


def iso(value: datetime | pd.Timestamp | None) -> str | None:
    """UTC ISO 8601 text of a stored time (None stays None; SQLite hands back naive UTC)."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, datetime) and not isinstance(value, pd.Timestamp):  # plain datetimes: no pandas cost
        aware = value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
        return aware.isoformat()
    return pd.Timestamp(utc(value)).isoformat()


def _split(flags: str) -> list[str]:
    return [f for f in (flags or "").split(";") if f]


def _latest_planned_tick(session: Session) -> Any:
    """The raw stored tick_time of the newest tick that stored a whole plan (None if none)."""
    return session.exec(select(sa.func.max(PlanSiteRecord.tick_time))).one()


# fleet status ------------------------------------------------------------------------------------
def status(ops: Operations, now: datetime | None = None) -> dict[str, Any]:
    """Last tick (time, status, flags, solver status, timings), the next tick, the lease holder,
    jobs by state and pending operator requests."""
    now = utc(now or now_utc())
    with ops.session() as session:
        last = session.exec(select(TickRecord).order_by(TickRecord.tick_time.desc())).first()
        detail = session.get(TickDetailRecord, last.tick_time) if last is not None else None
        lease = session.exec(select(LeaseRecord).where(LeaseRecord.name == "controller")).first()
        states = dict(session.exec(select(JobRecord.state, sa.func.count()).group_by(JobRecord.state)).all())
        pending = session.exec(select(sa.func.count()).select_from(RequestRecord)
                               .where(RequestRecord.status == "pending")).one()
        intents = dict(session.exec(select(IntentRecord.status, sa.func.count()).group_by(IntentRecord.status)).all())
        failed = session.exec(select(sa.func.count()).select_from(IntentRecord)
                              .where(IntentRecord.status == "pending", IntentRecord.attempts > 0)).one()
        ticks = session.exec(select(sa.func.count()).select_from(TickRecord)).one()
    last_tick = None
    next_tick = pd.Timestamp(now).floor("h") + TICK_INTERVAL
    if last is not None:
        last_tick = {
            "tick_time": iso(last.tick_time), "status": last.status, "flags": _split(last.flags),
            "solver_status": last.solver_status, "jobs_active": last.jobs_active, "jobs_running": last.jobs_running,
            "started_at": iso(last.started_at), "finished_at": iso(last.finished_at), "settled_at": iso(last.settled_at),
            "solve_s": detail.solve_s if detail else None, "plan_s": detail.plan_s if detail else None,
            "forecast_method": detail.forecast_method if detail else None,
        }
    lease_out = None
    if lease is not None:
        lease_out = {"holder": lease.holder, "expires_at": iso(lease.expires_at),
                     "active": utc(lease.expires_at) > now}
    return {
        "now": iso(now), "last_tick": last_tick, "next_tick": iso(next_tick), "ticks": int(ticks),
        "lease": lease_out, "jobs_by_state": {str(k): int(v) for k, v in states.items()},
        "requests_pending": int(pending), "intents_by_status": {str(k): int(v) for k, v in intents.items()},
        "intents_failed": int(failed),
    }


# jobs --------------------------------------------------------------------------------------------
def _job_summary(job: JobRecord) -> dict[str, Any]:
    work = max(job.work_gpu_h, 1e-12)
    return {
        "job_id": job.job_id, "state": job.state, "site": job.site, "home_site": job.home_site, "gpus": job.gpus,
        "min_gpus": job.min_gpus, "priority": job.priority, "work_gpu_h": job.work_gpu_h,
        "remaining_gpu_h": job.remaining_gpu_h, "progress": round(1.0 - job.remaining_gpu_h / work, 6),
        "release": iso(job.release), "deadline": iso(job.deadline), "submitted_at": iso(job.submitted_at),
        "allowed_sites": [s for s in job.allowed_sites.split(";") if s],
    }


def jobs(ops: Operations, state: str | None = None, site: str | None = None, limit: int = 50,
         offset: int = 0) -> dict[str, Any]:
    """One page of jobs (newest deadline last), filtered by state and/or site, with the total."""
    limit = max(1, min(int(limit), MAX_PAGE))
    offset = max(0, int(offset))
    where = []
    if state:
        where.append(JobRecord.state == state)
    if site:
        where.append(JobRecord.site == site)
    with ops.session() as session:
        total = session.exec(select(sa.func.count()).select_from(JobRecord).where(*where)).one()
        rows = session.exec(select(JobRecord).where(*where).order_by(JobRecord.deadline, JobRecord.job_id)
                            .offset(offset).limit(limit)).all()
    items = [_job_summary(r) for r in rows]
    _add_risk(ops, items)
    return {"total": int(total), "limit": limit, "offset": offset, "items": items}


def _throughput(ops: Operations) -> dict[str, float]:
    return ops.throughput


def _planned(ops: Operations, session: Session, job_ids: Iterable[str], latest: Any = None) -> pd.DataFrame:
    """The newest whole plan's rows for ``job_ids`` (``hour, job_id, site, gpus``)."""
    latest = latest if latest is not None else _latest_planned_tick(session)
    ids = list(job_ids)
    if latest is None or not ids:
        return pd.DataFrame(columns=["hour", "job_id", "site", "gpus"])
    rows = session.exec(select(PlanHourRecord.hour, PlanHourRecord.job_id, PlanHourRecord.site, PlanHourRecord.gpus)
                        .where(PlanHourRecord.tick_time == latest, PlanHourRecord.job_id.in_(ids))
                        .order_by(PlanHourRecord.hour)).all()
    frame = pd.DataFrame(rows, columns=["hour", "job_id", "site", "gpus"])
    frame["hour"] = pd.to_datetime(frame["hour"], utc=True)
    return frame


def expected_finishes(plan: pd.DataFrame, remaining_gpu_h: dict[str, float],
                      throughput: dict[str, float]) -> dict[str, pd.Timestamp]:
    """Per job: the end of the planned hour in which its cumulative planned work reaches its
    remaining work (jobs the plan does not finish within the horizon are left out). Vectorised
    over all the jobs of ``plan`` (``hour, job_id, site, gpus``)."""
    if plan.empty:
        return {}
    codes, names = pd.factorize(plan["job_id"])
    hours = pd.DatetimeIndex(pd.to_datetime(plan["hour"], utc=True)).asi8  # ns since the epoch, UTC
    order = np.lexsort((hours, codes))
    codes, hours = codes[order], hours[order]
    work = (plan["gpus"].to_numpy(float) * plan["site"].map(throughput).fillna(0.0).to_numpy(float))[order]
    done = np.cumsum(work)
    starts = np.r_[0, np.flatnonzero(np.diff(codes)) + 1]
    before = np.repeat(np.r_[0.0, done[starts[1:] - 1]], np.diff(np.r_[starts, len(codes)]))
    done -= before  # cumulative work within each job, in hour order
    need = np.array([remaining_gpu_h.get(str(n), np.inf) for n in names])[codes]
    reached = np.flatnonzero((need > 1e-6) & (done >= need - 1e-6))
    first_codes, first_rows = np.unique(codes[reached], return_index=True)
    return {str(names[c]): pd.Timestamp(int(hours[reached[r]]), tz="UTC") + pd.Timedelta(hours=1)
            for c, r in zip(first_codes, first_rows, strict=True)}


def expected_finish(plan: pd.DataFrame, remaining_gpu_h: float, throughput: dict[str, float]) -> pd.Timestamp | None:
    """:func:`expected_finishes` of one job's plan rows (None: not finished within the plan)."""
    if plan.empty:
        return None
    job_id = str(plan["job_id"].iloc[0])
    return expected_finishes(plan, {job_id: remaining_gpu_h}, throughput).get(job_id)


def _risk(job: dict[str, Any], finish: pd.Timestamp | None, now: pd.Timestamp, horizon_end: pd.Timestamp | None) -> str:
    """on_track | at_risk (the plan does not finish it by its deadline) | late (deadline passed at
    the newest plan's time ``now``) | done / cancelled."""
    if job["state"] in ("done", "cancelled"):
        return job["state"]
    deadline = pd.Timestamp(job["deadline"])
    if deadline <= now:
        return "late"
    if finish is not None:
        return "on_track" if finish <= deadline else "at_risk"
    # not finished inside the plan: at risk when the deadline falls inside the horizon
    return "at_risk" if horizon_end is None or deadline <= horizon_end else "on_track"


def _add_risk(ops: Operations, items: list[dict[str, Any]]) -> None:
    throughput = _throughput(ops)
    with ops.session() as session:
        latest = _latest_planned_tick(session)
        plan = _planned(ops, session, [i["job_id"] for i in items], latest)
    # risk as of the newest plan (a replayed or stopped store is not judged by the wall clock)
    now = pd.Timestamp(utc(latest)) if latest is not None else pd.Timestamp(now_utc())
    end = pd.Timestamp(utc(latest)) + pd.Timedelta(hours=ops.settings.mpc.horizon_h) if latest is not None else None
    finishes = expected_finishes(plan, {i["job_id"]: i["remaining_gpu_h"] for i in items}, throughput)
    for item in items:
        finish = finishes.get(item["job_id"])
        item["expected_finish"] = iso(finish)
        item["slack_h"] = None if finish is None else round((pd.Timestamp(item["deadline"]) - finish)
                                                             / pd.Timedelta(hours=1), 3)
        item["deadline_risk"] = _risk(item, finish, now, end)


def job(ops: Operations, job_id: str) -> dict[str, Any]:
    """One job: state, site, GPUs, progress, expected finish vs deadline, its history (intents
    sent per tick, requests), its planned hours, emissions so far, and the latest "why"."""
    with ops.session() as session:
        record = session.get(JobRecord, job_id)
        if record is None:
            raise NotFound(f"job {job_id!r} is not in the store")
        intents = session.exec(select(IntentRecord).where(IntentRecord.job_id == job_id)
                               .order_by(IntentRecord.tick_time)).all()
        ledger = session.exec(select(LedgerRecord).where(LedgerRecord.job_id == job_id)
                              .order_by(LedgerRecord.time)).all()
        requests = session.exec(select(RequestRecord).where(RequestRecord.job_id == job_id)
                                .order_by(RequestRecord.id)).all()
        why = session.exec(select(ExplanationRecord).where(ExplanationRecord.job_id == job_id)
                           .order_by(ExplanationRecord.tick_time.desc())).first()
        plan = _planned(ops, session, [job_id])
    out = _job_summary(record)
    _add_risk(ops, [out])
    out["history"] = [{"tick_time": iso(i.tick_time), "action": i.action, "site": i.site, "gpus": i.gpus,
                       "status": i.status, "applied_at": iso(i.applied_at)} for i in intents]
    out["requests"] = [{"id": r.id, "kind": r.kind, "status": r.status, "payload": json.loads(r.payload),
                        "requested_by": r.requested_by, "created_at": iso(r.created_at), "outcome": r.outcome}
                       for r in requests]
    out["planned_hours"] = [{"hour": iso(h), "site": s, "gpus": round(float(g), 4)}
                            for h, s, g in plan[["hour", "site", "gpus"]].itertuples(index=False)]
    out["ledger"] = [{"time": iso(r.time), "site": r.site, "gpus": r.gpus, "grid_energy_mwh": r.grid_energy_mwh,
                      "green_used_mwh": r.green_used_mwh, "emissions_t": r.emissions_t, "basis": r.basis}
                     for r in ledger]
    out["emissions_t"] = float(sum(r.emissions_t for r in ledger))
    out["energy_mwh"] = float(sum(r.facility_energy_mwh for r in ledger))
    out["why"] = None if why is None else {"tick_time": iso(why.tick_time), "decision": why.decision,
                                           "site": why.site, "summary": why.summary,
                                           "factors": json.loads(why.factors)}
    return out


# plan, forecasts, ledger, ticks ------------------------------------------------------------------
def plan(ops: Operations, site: str | None = None) -> dict[str, Any]:
    """The newest tick's plan per site and hour (load vs green forecast and import limit)."""
    with ops.session() as session:
        latest = _latest_planned_tick(session)
        if latest is None:
            return {"tick_time": None, "hours": []}
        query = select(PlanSiteRecord).where(PlanSiteRecord.tick_time == latest)
        if site:
            query = query.where(PlanSiteRecord.site == site)
        rows = session.exec(query.order_by(PlanSiteRecord.hour, PlanSiteRecord.site)).all()
    keys = ("site", "gpus", "load_mw", "green_forecast_mw", "green_used_mw", "grid_mw", "export_mw",
            "import_limit_mw", "ci_g_per_kwh")
    hours = [{"hour": iso(r.hour), **{k: (round(v, 6) if isinstance(v, float) else v)
                                      for k, v in ((k, getattr(r, k)) for k in keys)},
              "headroom_mw": round(r.import_limit_mw - r.grid_mw, 6)} for r in rows]
    return {"tick_time": iso(latest), "hours": hours}


def forecasts_vs_measurements(ops: Operations, hours: int = 48, site: str | None = None) -> dict[str, Any]:
    """Per site and hour of the last ``hours`` ticks: the green supply and intensity the tick's
    forecast said, and what was measured."""
    since = utc(now_utc()) - timedelta(hours=hours)
    with ops.session() as session:
        last = session.exec(select(sa.func.max(ForecastRecord.valid_time))).one()
        if last is not None:
            since = min(since, utc(last) - timedelta(hours=hours))
        fq = select(ForecastRecord).where(ForecastRecord.valid_time >= since)
        mq = select(MeasurementRecord).where(MeasurementRecord.time >= since)
        if site:
            fq, mq = fq.where(ForecastRecord.site == site), mq.where(MeasurementRecord.site == site)
        forecast = session.exec(fq).all()
        measured = session.exec(mq).all()
    seen = {(iso(m.time), m.site): m for m in measured}
    rows = []
    for f in sorted(forecast, key=lambda r: (utc(r.valid_time), r.site)):
        m = seen.get((iso(f.valid_time), f.site))
        rows.append({"hour": iso(f.valid_time), "site": f.site, "issue_time": iso(f.issue_time), "method": f.method,
                     "green_forecast_mw": f.green_mw, "green_measured_mw": m.green_mw if m else None,
                     "ci_forecast_g_per_kwh": f.ci_g_per_kwh, "ci_measured_g_per_kwh": m.ci_g_per_kwh if m else None})
    return {"hours": rows}


def ledger_totals(ops: Operations, day: str | None = None) -> dict[str, Any]:
    """Carbon-ledger totals: all booked hours, and the UTC day ``day`` (default: the newest booked
    day), per site (energy, green used, grid energy, emissions)."""
    columns = (sa.func.sum(LedgerRecord.facility_energy_mwh), sa.func.sum(LedgerRecord.green_used_mwh),
               sa.func.sum(LedgerRecord.grid_energy_mwh), sa.func.sum(LedgerRecord.emissions_t), sa.func.count())
    with ops.session() as session:
        newest = session.exec(select(sa.func.max(LedgerRecord.time))).one()
        start = pd.Timestamp(day).tz_localize("UTC") if day else (
            pd.Timestamp(utc(newest)).floor("D") if newest is not None else pd.Timestamp(now_utc()).floor("D"))
        end = start + pd.Timedelta(days=1)

        def per_site(*where: Any) -> list[dict[str, Any]]:
            rows = session.exec(select(LedgerRecord.site, *columns).where(*where).group_by(LedgerRecord.site)
                                .order_by(LedgerRecord.site)).all()
            return [{"site": s, "facility_energy_mwh": e or 0.0, "green_used_mwh": g or 0.0,
                     "grid_energy_mwh": m or 0.0, "emissions_t": t or 0.0, "rows": int(n)} for s, e, g, m, t, n in rows]

        total = per_site()
        today = per_site(LedgerRecord.time >= utc(start), LedgerRecord.time < utc(end))

    def summed(rows: list[dict[str, Any]]) -> dict[str, float]:
        keys = ("facility_energy_mwh", "green_used_mwh", "grid_energy_mwh", "emissions_t")
        out = {k: float(sum(r[k] for r in rows)) for k in keys}
        out["green_share"] = out["green_used_mwh"] / out["facility_energy_mwh"] if out["facility_energy_mwh"] else 0.0
        return out
    return {"day": start.date().isoformat(), "total": summed(total), "total_by_site": total,
            "day_total": summed(today), "day_by_site": today}


def ticks(ops: Operations, limit: int = 48) -> list[dict[str, Any]]:
    """The newest ``limit`` ticks, newest first, with flags and timings."""
    limit = max(1, min(int(limit), MAX_PAGE))
    with ops.session() as session:
        rows = session.exec(select(TickRecord, TickDetailRecord)
                            .join(TickDetailRecord, TickDetailRecord.tick_time == TickRecord.tick_time, isouter=True)
                            .order_by(TickRecord.tick_time.desc()).limit(limit)).all()
    return [{"tick_time": iso(t.tick_time), "status": t.status, "flags": _split(t.flags),
             "solver_status": t.solver_status, "jobs_active": t.jobs_active, "jobs_running": t.jobs_running,
             "settled": t.settled_at is not None,
             "duration_s": (utc(t.finished_at) - utc(t.started_at)).total_seconds() if t.finished_at else None,
             "solve_s": d.solve_s if d else None, "plan_s": d.plan_s if d else None} for t, d in rows]


def audit_log(ops: Operations, limit: int = 100) -> list[dict[str, Any]]:
    return [{**r, "at": iso(r["at"]), "detail": json.loads(r["detail"] or "{}")}
            for r in ops.store.audit_log(max(1, min(int(limit), MAX_PAGE)))]


def site_names(ops: Operations) -> list[str]:
    return list(ops.settings.site_names)


def site_power_now(ops: Operations) -> dict[str, dict[str, float]]:
    """Per site: the newest plan's first hour (planned load, grid, headroom, green forecast) and the
    newest booked hour of the ledger (actual facility power, green share) - for /metrics."""
    out: dict[str, dict[str, float]] = {s: {} for s in ops.settings.site_names}
    with ops.session() as session:
        latest = _latest_planned_tick(session)
        if latest is not None:
            for r in session.exec(select(PlanSiteRecord).where(PlanSiteRecord.tick_time == latest,
                                                               PlanSiteRecord.hour == latest)).all():
                out.setdefault(r.site, {}).update(planned_mw=r.load_mw, grid_mw=r.grid_mw,
                                                  headroom_mw=r.import_limit_mw - r.grid_mw,
                                                  green_forecast_mw=r.green_forecast_mw, ci_g_per_kwh=r.ci_g_per_kwh)
        newest = session.exec(select(sa.func.max(LedgerRecord.time))).one()
        if newest is not None:
            rows = session.exec(select(LedgerRecord.site, sa.func.sum(LedgerRecord.facility_energy_mwh),
                                       sa.func.sum(LedgerRecord.green_used_mwh))
                                .where(LedgerRecord.time == newest).group_by(LedgerRecord.site)).all()
            for s, energy, green in rows:
                out.setdefault(s, {}).update(actual_mw=float(energy or 0.0),
                                             green_share=float(green or 0.0) / float(energy) if energy else 0.0)
    return out


def feed_ages_s(ops: Operations, now: datetime | None = None) -> dict[str, float]:
    """Seconds since the newest forecast issue and the newest measured hour's end."""
    now = utc(now or now_utc())
    with ops.session() as session:
        issued = session.exec(select(sa.func.max(ForecastRecord.issue_time))).one()
        measured = session.exec(select(sa.func.max(MeasurementRecord.time))).one()
    out = {}
    if issued is not None:
        out["forecast"] = (now - utc(issued)).total_seconds()
    if measured is not None:
        out["measurements"] = (now - (utc(measured) + timedelta(hours=1))).total_seconds()
    return out


def flag_counts(ops: Operations) -> dict[str, int]:
    """How many ticks raised each flag."""
    with ops.session() as session:
        rows = session.exec(select(TickRecord.flags).where(TickRecord.flags != "")).all()
    counts: dict[str, int] = {}
    for flags in rows:
        for flag in _split(flags):
            counts[flag] = counts.get(flag, 0) + 1
    return counts


def tick_stats(ops: Operations) -> dict[str, float]:
    """Newest tick's duration and solver seconds, and the tick counts by status."""
    with ops.session() as session:
        last = session.exec(select(TickRecord).where(TickRecord.finished_at.is_not(None))
                            .order_by(TickRecord.tick_time.desc())).first()
        detail = session.exec(select(TickDetailRecord).order_by(TickDetailRecord.tick_time.desc())).first()
    out: dict[str, float] = {}
    if last is not None:
        out["duration_s"] = (utc(last.finished_at) - utc(last.started_at)).total_seconds()
        out["tick_timestamp_s"] = utc(last.tick_time).timestamp()
    if detail is not None:
        out["solve_s"], out["plan_s"] = detail.solve_s, detail.plan_s
    return out


__all__ = ["NotFound", "Operations", "audit_log", "expected_finish", "feed_ages_s", "flag_counts",
           "forecasts_vs_measurements", "job", "jobs", "ledger_totals", "plan", "site_names", "site_power_now",
           "status", "tick_stats", "ticks"]
