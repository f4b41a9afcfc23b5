"""Reads and writes of the store; each public method is one transaction."""

from __future__ import annotations

import json
import logging
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine, inspect
from sqlalchemy import insert as sa_insert
from sqlmodel import Session, SQLModel, select

from control.accounting.booking import arrival_wait_h, green_share, hour_progress, location_emissions_t
from control.errors import InputError
from control.store.engine import describe, make_engine, migrate, with_retries
from control.store.errors import StoreGone, StorePermanentError
from control.store.tables import (
    AuditRecord,
    ExplanationRecord,
    ForecastRecord,
    IntentRecord,
    JobHourRecord,
    JobRecord,
    LeaseRecord,
    LedgerRecord,
    MeasurementRecord,
    PlanHourRecord,
    PlanRecord,
    PlanSiteRecord,
    RequestRecord,
    SiteRecord,
    StoreIdentityRecord,
    TickDetailRecord,
    TickRecord,
    TokenRecord,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TickExtras:
    """What a tick writes besides its committed step (all in the same transaction)."""

    plan_hours: pd.DataFrame
    """``hour, job_id, site, gpus`` (see control.mpc.horizon)."""
    plan_sites: pd.DataFrame
    detail: TickDetailRecord | None = None
    explanations: list[dict] = field(default_factory=list)
    job_changes: dict[str, dict[str, object]] = field(default_factory=dict)
    request_outcomes: dict[int, tuple[str, str]] = field(default_factory=dict)


class StoreError(InputError):
    """A write the store refuses (e.g. a job id that already exists)."""


def utc(value: datetime | pd.Timestamp) -> datetime:
    """Timezone-aware UTC datetime (SQLite hands back naive values; they are UTC by contract)."""
    stamp = pd.Timestamp(value)
    return (stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")).to_pydatetime()


INIT_HINT = "create a new store once with `codispatch init --config FILE` (first start only)"


class Store:
    """The project's database.

    ``Store.open(url)`` opens an existing store (migrating its schema) and refuses one that is
    missing or was never created; ``Store.open(url, create=True)`` (``codispatch init``) creates
    it and writes its identity row. An opened store checks on every transaction that it is
    still the same store (identity row; for SQLite also the file's device and inode), so a
    store deleted or replaced under a running process raises :class:`StoreGone` instead of
    being recreated empty.
    """

    def __init__(self, engine: Engine, retries: int = 5, store_id: str | None = None) -> None:
        self.engine = engine
        self.retries = retries
        self.where = describe(engine.url.render_as_string(hide_password=True))
        self.store_id = store_id
        """Identity checked by every transaction (None: a store opened without :meth:`open`, unchecked)."""
        self._path = _sqlite_path(engine)
        self._file_id = _file_id(self._path) if self._path is not None and store_id is not None else None

    @classmethod
    def open(cls, url: str, retries: int = 5, create: bool = False) -> Store:
        """Open the store at ``url``; with ``create``, create it if it does not exist yet.

        Raises
        ------
        StoreGone
            No store exists at ``url`` (or it has no identity) and ``create`` is False.
        StorePermanentError
            The store cannot be used (missing folder, read-only, disk full, ...): no retry helps.
        """
        engine = make_engine(url)
        where = describe(engine.url.render_as_string(hide_password=True))
        path = _sqlite_path(engine)
        if path is not None and not path.parent.is_dir():
            engine.dispose()
            raise StorePermanentError(f"store {where}: its folder {path.parent} does not exist; create it "
                                      f"(mkdir -p {path.parent}) or set [runtime] database to an existing folder")
        if not create and not _exists(engine, path, retries, where):
            engine.dispose()
            raise StoreGone(f"no codispatch store at {where}; {INIT_HINT}. If it existed, it was deleted or moved: "
                            "restore it from a backup rather than starting empty")
        try:
            with_retries(lambda: migrate(engine), retries, where=where, path=path)
            store_id = with_retries(lambda: _identity(engine, create), retries, where=where, path=path)
        except BaseException:
            engine.dispose()
            raise
        if store_id is None:
            engine.dispose()
            raise StoreGone(f"the database at {where} has tables but no store identity: it was not created by "
                            f"codispatch init; {INIT_HINT}, or point [runtime] at the right store")
        return cls(engine, retries, store_id)

    def close(self) -> None:
        """Close the engine's pooled connections."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    def _check_file(self, when: str) -> None:
        if self._file_id is None or self._path is None:
            return
        current = _file_id(self._path)
        if current is None:
            raise StoreGone(f"the store file {self.where} was deleted {when}; codispatch refuses to act on a store "
                            "that is gone (restore it from a backup and restart)")
        if current != self._file_id:
            raise StoreGone(f"the store file {self.where} was replaced {when} (another file now has its name); "
                            "codispatch refuses to act on a different store: restart to use the new one")

    def check(self) -> None:
        """Raise :class:`StoreGone` if the store file was deleted or replaced since it was opened
        (a file-system check, no transaction: cheap enough before each send)."""
        self._check_file("while codispatch ran")

    def _run(self, work):
        def attempt():
            self._check_file("while codispatch ran")
            with Session(self.engine, expire_on_commit=False) as session:
                if self.store_id is not None:
                    found = session.get(StoreIdentityRecord, "store")
                    if found is None or found.store_id != self.store_id:
                        raise StoreGone(f"the store at {self.where} is not the store this process opened (identity "
                                        f"{self.store_id}, found {found.store_id if found else 'none'}): it was "
                                        "replaced or emptied; codispatch refuses to act (restore it and restart)")
                result = work(session)
                session.commit()
            self._check_file("during the transaction (what it wrote is lost)")
            return result
        return with_retries(attempt, self.retries, where=self.where, path=self._path)

    def identity(self) -> StoreIdentityRecord | None:
        """The store's identity row (None for a store that has none)."""
        return self._run(lambda s: s.get(StoreIdentityRecord, "store"))

    # jobs ---------------------------------------------------------------------------------
    def add_jobs(self, jobs: pd.DataFrame, now: datetime) -> int:
        """Insert validated jobs (``control.jobs.validate_jobs`` output), all or none."""
        return self._run(lambda session: _add_jobs(session, jobs, now))

    def jobs_frame(self) -> pd.DataFrame:
        """All jobs in the job-table layout plus ``remaining_gpu_h``, ``site`` and ``state``."""
        def work(session: Session) -> pd.DataFrame:
            rows = [r.model_dump() for r in session.exec(select(JobRecord)).all()]
            columns = list(JobRecord.model_fields)
            frame = pd.DataFrame(rows, columns=columns)
            for column in ("release", "deadline", "submitted_at"):
                frame[column] = pd.to_datetime(frame[column], utc=True)
            return frame
        return self._run(work)

    # ticks, plans, intents ----------------------------------------------------------------
    def tick(self, tick_time: datetime) -> TickRecord | None:
        return self._run(lambda s: s.get(TickRecord, utc(tick_time)) or _naive_get(s, tick_time))

    def write_plan(self, tick: TickRecord, plan: list[PlanRecord], intents: list[IntentRecord],
                   forecasts: list[ForecastRecord], extra: TickExtras | None = None) -> None:
        """The tick, its plan, its intents and the forecasts it used, in ONE transaction; with
        ``extra`` also the whole horizon plan, the tick's details and explanations, and the
        operator requests it acted on (marked applied/rejected, job rows changed)."""
        def work(session: Session) -> None:
            session.add(tick)
            session.add_all(plan)
            session.add_all(intents)
            session.add_all(forecasts)
            if extra is None:
                return
            stamp = utc(tick.tick_time)
            if len(extra.plan_hours):
                _insert(session, PlanHourRecord, _records(extra.plan_hours, tick_time=stamp))
            if len(extra.plan_sites):
                _insert(session, PlanSiteRecord, _records(extra.plan_sites, tick_time=stamp))
            if extra.explanations:
                _insert(session, ExplanationRecord, [dict(e, tick_time=stamp, factors=json.dumps(e["factors"]))
                                                     for e in extra.explanations])
            if extra.detail is not None:
                session.add(extra.detail)
            for job_id, change in extra.job_changes.items():
                job = session.get(JobRecord, job_id)
                if job is None:
                    continue
                for column, value in change.items():
                    setattr(job, column, utc(value) if column == "deadline" else value)
                session.add(job)
            for request_id, (status, outcome) in extra.request_outcomes.items():
                request = session.get(RequestRecord, request_id)
                if request is not None and request.status == "pending":
                    request.status, request.outcome = str(status), outcome
                    request.applied_at, request.applied_tick = now_utc(), stamp
                    session.add(request)
        self._run(work)

    # operator requests, audit, tokens -----------------------------------------------------------
    def add_request(self, request: RequestRecord, audit: AuditRecord) -> int:
        """Store an operator request and its audit row in one transaction; returns its id."""
        def work(session: Session) -> int:
            session.add(request)
            session.flush()
            audit.target = audit.target or f"request:{request.id}"
            session.add(audit)
            return int(request.id)
        return self._run(work)

    def requests(self, status: str | None = None, kind: str | None = None) -> list[dict]:
        def work(session: Session) -> list[dict]:
            query = select(RequestRecord).order_by(RequestRecord.id)
            if status is not None:
                query = query.where(RequestRecord.status == status)
            if kind is not None:
                query = query.where(RequestRecord.kind == kind)
            return [r.model_dump() for r in session.exec(query).all()]
        return self._run(work)

    def audit(self, record: AuditRecord) -> None:
        self._run(lambda s: s.add(record))

    def add_jobs_audited(self, jobs: pd.DataFrame, now: datetime, audit: AuditRecord) -> int:
        """:meth:`add_jobs` and its audit row in one transaction."""
        def work(session: Session) -> int:
            count = _add_jobs(session, jobs, now)
            session.add(audit)
            return count
        return self._run(work)

    def audit_log(self, limit: int = 100) -> list[dict]:
        return self._run(lambda s: [r.model_dump() for r in s.exec(
            select(AuditRecord).order_by(AuditRecord.id.desc()).limit(limit)).all()])

    def add_token(self, record: TokenRecord) -> None:
        def work(session: Session) -> None:
            if session.get(TokenRecord, record.name) is not None:
                raise StoreError(f"a token named {record.name!r} exists; revoke it or choose another name")
            session.add(record)
        self._run(work)

    def revoke_token(self, name: str, now: datetime) -> bool:
        def work(session: Session) -> bool:
            token = session.get(TokenRecord, name)
            if token is None or token.revoked_at is not None:
                return False
            token.revoked_at = utc(now)
            session.add(token)
            return True
        return self._run(work)

    def tokens(self) -> list[TokenRecord]:
        return self._run(lambda s: list(s.exec(select(TokenRecord).order_by(TokenRecord.name)).all()))

    def token_by_hash(self, digest: str) -> TokenRecord | None:
        return self._run(lambda s: s.exec(select(TokenRecord).where(TokenRecord.token_sha256 == digest)).first())

    def last_plan(self, before: datetime, within_h: float = 3.0) -> dict[str, tuple[str, int]]:
        """``job -> (site, gpus)`` committed by the latest tick in ``[before - within_h, before)``
        (empty if there is none): what the solver chain carries on when a solve fails."""
        def work(session: Session) -> dict[str, tuple[str, int]]:
            start = utc(before) - timedelta(hours=within_h)
            tick = session.exec(select(TickRecord).where(TickRecord.tick_time >= start, TickRecord.tick_time < utc(before))
                                .order_by(TickRecord.tick_time.desc())).first()
            if tick is None:
                return {}
            rows = session.exec(select(PlanRecord).where(PlanRecord.tick_time == tick.tick_time)).all()
            return {r.job_id: (r.site, r.gpus) for r in rows}
        return self._run(work)

    def pending_intents(self) -> list[IntentRecord]:
        return self._run(lambda s: list(s.exec(select(IntentRecord).where(IntentRecord.status == "pending")
                                                .order_by(IntentRecord.tick_time, IntentRecord.key)).all()))

    def intents(self) -> pd.DataFrame:
        def work(session: Session) -> pd.DataFrame:
            rows = [r.model_dump() for r in session.exec(select(IntentRecord)).all()]
            return pd.DataFrame(rows, columns=list(IntentRecord.model_fields))
        return self._run(work)

    def mark_applied(self, key: str, now: datetime, outcome: str = "sent") -> None:
        """Record that the workload manager holds intent ``key`` (``outcome``: ``sent`` by this
        process, or ``found`` already applied). A second call changes nothing."""
        def work(session: Session) -> None:
            intent = session.get(IntentRecord, key)
            if intent is not None and intent.status != "applied":
                intent.status = "applied"
                intent.applied_at = utc(now)
                intent.outcome = outcome
                session.add(intent)
        self._run(work)

    def record_attempt(self, key: str, error: str = "") -> int:
        """Count a failed send of intent ``key`` (workload manager away, or an unclassified error
        ``error``); returns the attempts so far."""
        def work(session: Session) -> int:
            intent = session.get(IntentRecord, key)
            if intent is None:
                return 0
            intent.attempts += 1
            if error:
                intent.error = error[:2000]
            session.add(intent)
            return intent.attempts
        return self._run(work)

    def fail_intent(self, key: str, error: str, now: datetime) -> bool:
        """Mark intent ``key`` failed (the workload manager refused it for good, ``error`` is its
        message) and its job ``failed`` with that note, in ONE transaction. Returns False if the
        intent was not pending (nothing changed)."""
        def work(session: Session) -> bool:
            intent = session.get(IntentRecord, key)
            if intent is None or intent.status != "pending":
                return False
            intent.status = "failed"
            intent.error = error[:2000]
            intent.applied_at = utc(now)
            intent.outcome = "refused"
            session.add(intent)
            job = session.get(JobRecord, intent.job_id)
            if job is not None and job.state != "done":
                job.state = "failed"
                job.note = (f"{intent.action} intent of the tick at {utc(intent.tick_time):%Y-%m-%d %H:%M} UTC refused "
                            f"by the workload manager: {error}")[:2000]
                session.add(job)
            return True
        return self._run(work)

    def add_tick_flags(self, tick_time: datetime, flags: list[str]) -> None:
        """Add ``flags`` to tick ``tick_time``'s flags (each once); no tick, no change."""
        def work(session: Session) -> None:
            tick = session.get(TickRecord, utc(tick_time)) or _naive_get(session, tick_time)
            if tick is None or not flags:
                return
            merged = list(dict.fromkeys([f for f in tick.flags.split(";") if f] + list(flags)))
            if ";".join(merged) != tick.flags:
                tick.flags = ";".join(merged)
                session.add(tick)
        self._run(work)

    def latest_tick_time(self) -> datetime | None:
        """The newest tick's hour (None when no tick ran yet)."""
        def work(session: Session) -> datetime | None:
            tick = session.exec(select(TickRecord).order_by(TickRecord.tick_time.desc())).first()
            return None if tick is None else utc(tick.tick_time)
        return self._run(work)

    def set_deadline_status(self, status: pd.DataFrame) -> list[tuple[str, str, str, str]]:
        """Store each job's deadline status and note (``status``: job_id, status, note; see
        :mod:`control.runtime.deadlines`); ``expired`` jobs get state ``expired``. One
        transaction; returns ``(job_id, old, new, note)`` of the jobs whose status changed."""
        def work(session: Session) -> list[tuple[str, str, str, str]]:
            changed = []
            for job_id, new, note in status[["job_id", "status", "note"]].itertuples(index=False):
                job = session.get(JobRecord, job_id)
                if job is None or job.state in ("done", "failed", "expired"):
                    continue
                old = job.deadline_status
                if new == "expired":
                    job.state = "expired"
                else:
                    job.deadline_status = new
                if old != new or job.note != note:
                    job.note = note
                    session.add(job)
                if old != new:
                    changed.append((job_id, old, new, note))
            return changed
        return self._run(work)

    def finish_tick(self, tick_time: datetime, throughput: dict[str, float], now: datetime,
                    executions: list[JobHourRecord] | None = None,
                    move_h: Callable[[str, str, float], float] | None = None) -> bool:
        """Mark a planned tick done and record the jobs' progress, in one transaction, so work is
        counted exactly once per tick. With ``executions`` (what each job really did in the hour:
        the workload manager's truth, see :class:`JobHourRecord`) progress follows them and they are
        stored; without, each planned job is counted by the booking rule of
        :func:`control.accounting.booking.hour_progress` (as in the simulation): its plan's GPUs x
        throughput, after waiting for its checkpoint when it moved (``move_h(from, to, checkpoint_gb)``).
        A job that ran before and is not in this plan is held; a job whose intent the
        workload manager refused did not run and gets no progress. The hour's carbon ledger is not
        booked here but by :meth:`settle_tick` once the hour is over and measured. Returns False
        if the tick was already done or still has pending intents (nothing changed)."""
        def work(session: Session) -> bool:
            tick = session.get(TickRecord, utc(tick_time)) or _naive_get(session, tick_time)
            if tick is None or tick.status == "done":
                return False
            intents = _intent_rows(session, tick)
            if any(i.status == "pending" for i in intents):
                return False  # the workload manager does not hold all of it yet
            refused = {i.job_id for i in intents if i.status == "failed"}
            planned = {r.job_id: r for r in _plan_rows(session, tick) if r.job_id not in refused}
            # a job whose intent was refused did not run: no hour is stored for it
            hours = None if executions is None else [e for e in executions if e.job_id not in refused]
            ran = {e.job_id: e for e in hours} if hours is not None else None
            for job in session.exec(select(JobRecord).where(JobRecord.state == "running")).all():
                if job.job_id not in planned:
                    job.state = "held"
                    session.add(job)
            for row in planned.values():
                job = session.get(JobRecord, row.job_id)  # type: ignore[assignment]  # planned jobs are stored
                if ran is None:
                    migrated = bool(job.site) and job.site != row.site
                    moving_h = move_h(job.site, row.site, job.checkpoint_gb) if migrated and move_h is not None else 0.0
                    waiting_h = arrival_wait_h(migrated, moving_h, job.transfer_left_h or 0.0)
                    step_done, _, left_h = hour_progress(job.remaining_gpu_h, row.gpus, throughput[row.site], waiting_h)
                    done = float(step_done)
                    job.transfer_left_h = float(left_h)
                else:
                    execution = ran.get(row.job_id)
                    done = min(job.remaining_gpu_h, execution.work_gpu_h) if execution is not None else 0.0
                job.remaining_gpu_h = max(job.remaining_gpu_h - done, 0.0)
                job.state = "done" if job.remaining_gpu_h <= 1e-6 else "running"
                if ran is not None and row.job_id in ran and ran[row.job_id].state in ("failed", "cancelled"):
                    job.state = ran[row.job_id].state
                job.site = row.site
                session.add(job)
            if hours:
                session.add_all(hours)
            tick.status = "done"
            tick.finished_at = utc(now)
            session.add(tick)
            return True
        return self._run(work)

    def transfer_left_h(self) -> dict[str, float]:
        """Per job: checkpoint transfer still to do after its last hour that ran [h]."""
        def work(session: Session) -> dict[str, float]:
            rows = session.exec(select(JobHourRecord).order_by(JobHourRecord.time)).all()
            return {r.job_id: r.transfer_left_h for r in rows}
        return self._run(work)

    def job_hours(self) -> pd.DataFrame:
        """What each job really did, hour by hour (``time`` as UTC)."""
        frame = self._frame(JobHourRecord)
        frame["time"] = pd.to_datetime(frame["time"], utc=True)
        return frame.sort_values(["time", "job_id"]).reset_index(drop=True)

    def unsettled_ticks(self, before: datetime) -> list[datetime]:
        """Done ticks of hours before ``before`` whose carbon ledger is not booked yet, oldest first."""
        return self._run(lambda s: [utc(t.tick_time) for t in s.exec(
            select(TickRecord).where(TickRecord.status == "done", TickRecord.settled_at.is_(None),
                                     TickRecord.tick_time < utc(before)).order_by(TickRecord.tick_time)).all()])

    def settle_tick(self, tick_time: datetime, gpu_facility_mw: dict[str, float], pue: dict[str, float],
                    now: datetime, fallback: bool = False) -> str:
        """Book the carbon-ledger rows of a done tick's hour and mark the tick settled, in ONE
        transaction (``gpu_facility_mw``: facility power of one busy GPU per site [MW]).

        Returns ``measured`` when every site that ran in the hour has its measurement (all rows
        ``basis = measured``); ``waiting`` (nothing written) when one lacks it and ``fallback`` is
        False; with ``fallback``, ``forecast``: the unmeasured sites' rows are booked on the tick's
        forecast (``basis = forecast``). ``""`` when the tick is not done or already settled
        (nothing changed). The unique (time, job_id) constraint of ``carbon_ledger`` refuses a
        second booking of an hour."""
        def work(session: Session) -> str:
            tick = session.get(TickRecord, utc(tick_time)) or _naive_get(session, tick_time)
            if tick is None or tick.status != "done" or tick.settled_at is not None:
                return ""
            hour = utc(tick.tick_time)
            refused = {i.job_id for i in _intent_rows(session, tick) if i.status == "failed"}
            planned = list({r.job_id: r for r in _plan_rows(session, tick) if r.job_id not in refused}.values())
            ran = [r for r in _job_hour_rows(session, tick) if r.job_id not in refused]
            if ran:  # the ledger follows what really ran, not the plan
                planned = [PlanRecord(tick_time=hour, job_id=r.job_id, site=r.site, gpus=r.gpus) for r in ran]
                facility = {r.job_id: r.facility_energy_mwh for r in ran}
            else:
                facility = {r.job_id: r.gpus * gpu_facility_mw[r.site] for r in planned}
            supply = _supply(session, hour, sorted({r.site for r in planned}))
            unmeasured = [site for site, (_, _, basis) in supply.items() if basis != "measured"]
            if unmeasured and not fallback:
                return "waiting"
            session.add_all(_ledger_rows(hour, planned, supply, facility, pue))
            tick.settled_at = utc(now)
            session.add(tick)
            return "forecast" if unmeasured else "measured"
        return self._run(work)

    def planned_ticks(self) -> list[datetime]:
        """Ticks whose plan is written but not finished, oldest first."""
        return self._run(lambda s: [utc(t.tick_time) for t in s.exec(
            select(TickRecord).where(TickRecord.status == "planned").order_by(TickRecord.tick_time)).all()])

    def ticks(self) -> pd.DataFrame:
        def work(session: Session) -> pd.DataFrame:
            rows = [r.model_dump() for r in session.exec(select(TickRecord).order_by(TickRecord.tick_time)).all()]
            return pd.DataFrame(rows, columns=list(TickRecord.model_fields))
        return self._run(work)

    # sites, measurements, ledger ------------------------------------------------------------
    def sync_sites(self, sites: list[SiteRecord]) -> None:
        """Insert or update the sites (the config is the source of truth)."""
        def work(session: Session) -> None:
            for site in sites:
                session.merge(site)
        self._run(work)

    def sites(self) -> pd.DataFrame:
        return self._frame(SiteRecord)

    def add_measurements(self, rows: list[MeasurementRecord]) -> int:
        """Insert measurements of (hour, site) pairs not yet stored; returns how many were new."""
        def work(session: Session) -> int:
            if not rows:
                return 0
            times = sorted({utc(r.time) for r in rows})
            stored = session.exec(select(MeasurementRecord.time, MeasurementRecord.site)
                                  .where(MeasurementRecord.time >= times[0], MeasurementRecord.time <= times[-1])).all()
            seen = {(utc(t), s) for t, s in stored}
            new = []
            for row in rows:
                if (utc(row.time), row.site) not in seen:
                    seen.add((utc(row.time), row.site))
                    new.append(row)
            session.add_all(new)
            return len(new)
        return self._run(work)

    def measurements(self, since: datetime, until: datetime) -> pd.DataFrame:
        """Measurements with ``since <= time < until``: columns ``time`` (UTC), ``site``,
        ``green_mw``, ``ci_g_per_kwh``, ``source``."""
        def work(session: Session) -> pd.DataFrame:
            rows = [r.model_dump() for r in session.exec(select(MeasurementRecord).where(
                MeasurementRecord.time >= utc(since), MeasurementRecord.time < utc(until))).all()]
            frame = pd.DataFrame(rows, columns=list(MeasurementRecord.model_fields))
            frame["time"] = pd.to_datetime(frame["time"], utc=True)
            return frame
        return self._run(work)

    def ledger(self) -> pd.DataFrame:
        frame = self._frame(LedgerRecord)
        frame["time"] = pd.to_datetime(frame["time"], utc=True)
        return frame.sort_values(["time", "job_id"]).reset_index(drop=True)

    def forecasts(self) -> pd.DataFrame:
        return self._frame(ForecastRecord)

    def plans(self, tick_times: list[datetime]) -> pd.DataFrame:
        """The plan rows of the ticks at ``tick_times`` (``tick_time`` as UTC, ``job_id``, ``site``, ``gpus``)."""
        stamps = [utc(t) for t in tick_times]
        stamps += [t.replace(tzinfo=None) for t in stamps]  # SQLite keeps naive UTC text, see _naive_get

        def work(session: Session) -> pd.DataFrame:
            rows = session.exec(select(PlanRecord).where(PlanRecord.tick_time.in_(stamps))).all() if stamps else []
            return pd.DataFrame([r.model_dump() for r in rows], columns=list(PlanRecord.model_fields))
        frame = self._run(work)
        frame["tick_time"] = pd.to_datetime(frame["tick_time"], utc=True)
        return frame

    def _frame(self, table: type[SQLModel]) -> pd.DataFrame:
        def work(session: Session) -> pd.DataFrame:
            rows = [r.model_dump() for r in session.exec(select(table)).all()]
            return pd.DataFrame(rows, columns=list(table.model_fields))
        return self._run(work)

    # lease ----------------------------------------------------------------------------------
    def acquire_lease(self, holder: str, ttl_s: float, now: datetime, name: str = "controller",
                      is_stale=lambda holder: False) -> tuple[bool, str, datetime]:
        """Take or renew the lease; returns (acquired, current holder, expiry).

        The lease is free when it expired, or when ``is_stale(current holder)`` says its holder
        is gone (e.g. a process on this host that was killed)."""
        def work(session: Session) -> tuple[bool, str, datetime]:
            lease = session.exec(select(LeaseRecord).where(LeaseRecord.name == name).with_for_update()).first()
            expires = utc(now) + timedelta(seconds=ttl_s)
            if lease is None:
                session.add(LeaseRecord(name=name, holder=holder, expires_at=expires))
                return True, holder, expires
            if lease.holder == holder or utc(lease.expires_at) <= utc(now) or is_stale(lease.holder):
                lease.holder, lease.expires_at = holder, expires
                session.add(lease)
                return True, holder, expires
            return False, lease.holder, utc(lease.expires_at)
        return self._run(work)

    def release_lease(self, holder: str, name: str = "controller") -> None:
        def work(session: Session) -> None:
            lease = session.get(LeaseRecord, name)
            if lease is not None and lease.holder == holder:
                session.delete(lease)
        self._run(work)


def _add_jobs(session: Session, jobs: pd.DataFrame, now: datetime) -> int:
    ids = list(jobs["job_id"])
    existing = session.exec(select(JobRecord.job_id).where(JobRecord.job_id.in_(ids))).all()
    if existing:
        raise StoreError(f"job id(s) {sorted(existing)[:5]} already exist; give new ids (nothing was written)")
    for row in jobs.itertuples(index=False):
        session.add(JobRecord(
            job_id=row.job_id, release=utc(row.release), deadline=utc(row.deadline), gpus=int(row.gpus),
            min_gpus=int(row.min_gpus), work_gpu_h=float(row.work_gpu_h), remaining_gpu_h=float(row.work_gpu_h),
            home_site=row.home_site, allowed_sites=row.allowed_sites, priority=int(row.priority),
            checkpoint_gb=float(row.checkpoint_gb), submitted_at=utc(now),
        ))
    return len(ids)


def _insert(session: Session, table: type, rows: list[dict]) -> None:
    """One multi-row INSERT in the session's transaction."""
    session.connection().execute(sa_insert(table.__table__), rows)


def _records(frame: pd.DataFrame, **constant: object) -> list[dict]:
    """Rows of ``frame`` as dicts for a bulk insert (timestamps as UTC datetimes)."""
    out = frame.copy()
    for column in out.columns:
        if isinstance(out[column].dtype, pd.DatetimeTZDtype):
            out[column] = [utc(v) for v in out[column]]
    rows = out.to_dict("records")
    for row in rows:
        row.update(constant)
    return rows


def _plan_rows(session: Session, tick: TickRecord) -> list[PlanRecord]:
    """The plan rows of ``tick`` (matched by its stored and its naive UTC time, see :func:`_naive_get`)."""
    stamp = utc(tick.tick_time).replace(tzinfo=None)
    return list(session.exec(select(PlanRecord).where(PlanRecord.tick_time.in_([tick.tick_time, stamp]))
                             .order_by(PlanRecord.job_id)).all())


def _intent_rows(session: Session, tick: TickRecord) -> list[IntentRecord]:
    """The intents of ``tick`` (matched like :func:`_plan_rows`)."""
    stamp = utc(tick.tick_time).replace(tzinfo=None)
    return list(session.exec(select(IntentRecord).where(IntentRecord.tick_time.in_([tick.tick_time, stamp]))).all())


def _supply(session: Session, hour: datetime, sites: list[str]) -> dict[str, tuple[float, float, str]]:
    """Per site: renewable supply [MW], carbon intensity [g/kWh] and basis of the hour, from the
    hour's measurement, else the latest forecast issued for it (``forecast``), else none."""
    supply: dict[str, tuple[float, float, str]] = {}
    for site in sites:
        measured = session.exec(select(MeasurementRecord).where(MeasurementRecord.time == hour,
                                                                MeasurementRecord.site == site)).first()
        if measured is not None:
            supply[site] = (measured.green_mw, measured.ci_g_per_kwh, "measured")
            continue
        issued = session.exec(select(ForecastRecord).where(ForecastRecord.valid_time == hour, ForecastRecord.site == site)
                              .order_by(ForecastRecord.issue_time.desc())).first()
        supply[site] = (issued.green_mw, issued.ci_g_per_kwh, "forecast") if issued else (0.0, float("nan"), "none")
    return supply


def _job_hour_rows(session: Session, tick: TickRecord) -> list[JobHourRecord]:
    stamp = utc(tick.tick_time).replace(tzinfo=None)
    return list(session.exec(select(JobHourRecord).where(JobHourRecord.time.in_([tick.tick_time, stamp]))
                             .order_by(JobHourRecord.job_id)).all())


def _ledger_rows(hour: datetime, planned: list[PlanRecord], supply: dict[str, tuple[float, float, str]],
                 facility_mwh: dict[str, float], pue: dict[str, float]) -> list[LedgerRecord]:
    """The hour's ledger rows. ``facility_mwh``: each job's facility energy in the hour (what ran,
    or the plan at full draw). Per site, renewables (``supply``: the hour's measurement, else the
    tick's forecast) cover the load first; each job gets the site's green share of its energy,
    and its grid energy is booked at the site's carbon intensity (location-based)."""
    sites = {row.site for row in planned}
    load_mwh = {site: sum(facility_mwh[r.job_id] for r in planned if r.site == site) for site in sites}
    rows = []
    for row in planned:
        green_mw, ci, basis = supply[row.site]
        facility = facility_mwh[row.job_id]
        share = float(green_share(load_mwh[row.site], green_mw))
        grid = facility * (1.0 - share)
        rows.append(LedgerRecord(time=hour, job_id=row.job_id, site=row.site, gpus=row.gpus,
                                 it_energy_mwh=facility / pue.get(row.site, 1.0), facility_energy_mwh=facility,
                                 green_used_mwh=facility * share, grid_energy_mwh=grid, ci_g_per_kwh=ci,
                                 emissions_t=float(location_emissions_t(grid, ci)), basis=basis))
    return rows


def _naive_get(session: Session, tick_time: datetime) -> TickRecord | None:
    """SQLite compares stored timestamps as text; look the tick up by its naive UTC form too."""
    naive = utc(tick_time).replace(tzinfo=None)
    return session.exec(select(TickRecord).where(TickRecord.tick_time == naive)).first()


def _sqlite_path(engine: Engine) -> Path | None:
    if engine.url.get_backend_name() != "sqlite" or not engine.url.database or engine.url.database == ":memory:":
        return None
    return Path(engine.url.database).absolute()


def _file_id(path: Path) -> tuple[int, int] | None:
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    return stat.st_dev, stat.st_ino


def _exists(engine: Engine, path: Path | None, retries: int, where: str) -> bool:
    """Is there a codispatch store (a migrated schema) at ``engine``? Never creates one."""
    if path is not None and not path.exists():
        return False

    def look() -> bool:
        with engine.connect() as connection:
            return inspect(connection).has_table("alembic_version")
    return with_retries(look, retries, where=where, path=path)


def _identity(engine: Engine, create: bool) -> str | None:
    """The store's id; written now when ``create`` (explicit creation) or when the store holds
    data from before identities existed (adopted once, logged); None otherwise."""
    with Session(engine, expire_on_commit=False) as session:
        found = session.get(StoreIdentityRecord, "store")
        if found is not None:
            return found.store_id
        legacy = session.exec(select(JobRecord.job_id).limit(1)).first() is not None or \
            session.exec(select(TickRecord.tick_time).limit(1)).first() is not None
        if not create and not legacy:
            return None
        record = StoreIdentityRecord(name="store", store_id=uuid.uuid4().hex, created_at=now_utc(),
                                     created_by=f"{socket.gethostname()}:{os.getpid()}")
        session.add(record)
        session.commit()
        if legacy and not create:
            logger.warning("store %s had no identity (made before migration 0004); adopted as %s",
                           describe(engine.url.render_as_string(hide_password=True)), record.store_id)
        else:
            logger.warning("created a new store %s (identity %s)", describe(engine.url.render_as_string(hide_password=True)),
                           record.store_id)
        return record.store_id


def now_utc() -> datetime:
    return datetime.now(UTC)
