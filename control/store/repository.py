"""Reads and writes of the store; each public method is one transaction."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

import pandas as pd
from sqlalchemy import Engine
from sqlmodel import Session, select

from control.store.engine import make_engine, migrate, with_retries
from control.store.tables import ForecastRecord, IntentRecord, JobRecord, LeaseRecord, PlanRecord, TickRecord

logger = logging.getLogger(__name__)


class StoreError(ValueError):
    """A write the store refuses (e.g. a job id that already exists)."""


def utc(value: datetime | pd.Timestamp) -> datetime:
    """Timezone-aware UTC datetime (SQLite hands back naive values; they are UTC by contract)."""
    stamp = pd.Timestamp(value)
    return (stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")).to_pydatetime()


class Store:
    """The project's database. ``Store.open(url)`` creates or migrates the schema."""

    def __init__(self, engine: Engine, retries: int = 5) -> None:
        self.engine = engine
        self.retries = retries

    @classmethod
    def open(cls, url: str, retries: int = 5) -> Store:
        engine = make_engine(url)
        with_retries(lambda: migrate(engine), retries)
        return cls(engine, retries)

    def close(self) -> None:
        """Close the engine's pooled connections."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    def _run(self, work):  # noqa: ANN001, ANN202
        def attempt():  # noqa: ANN202
            with Session(self.engine, expire_on_commit=False) as session:
                result = work(session)
                session.commit()
                return result
        return with_retries(attempt, self.retries)

    # jobs ---------------------------------------------------------------------------------
    def add_jobs(self, jobs: pd.DataFrame, now: datetime) -> int:
        """Insert validated jobs (``control.jobs.validate_jobs`` output), all or none."""
        def work(session: Session) -> int:
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
        return self._run(work)

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
                   forecasts: list[ForecastRecord]) -> None:
        """The tick, its plan, its intents and the forecasts it used, in ONE transaction."""
        def work(session: Session) -> None:
            session.add(tick)
            session.add_all(plan)
            session.add_all(intents)
            session.add_all(forecasts)
        self._run(work)

    def pending_intents(self) -> list[IntentRecord]:
        return self._run(lambda s: list(s.exec(select(IntentRecord).where(IntentRecord.status == "pending")
                                                .order_by(IntentRecord.tick_time, IntentRecord.key)).all()))

    def intents(self) -> pd.DataFrame:
        def work(session: Session) -> pd.DataFrame:
            rows = [r.model_dump() for r in session.exec(select(IntentRecord)).all()]
            return pd.DataFrame(rows, columns=list(IntentRecord.model_fields))
        return self._run(work)

    def mark_applied(self, key: str, now: datetime) -> None:
        def work(session: Session) -> None:
            intent = session.get(IntentRecord, key)
            if intent is not None and intent.status != "applied":
                intent.status = "applied"
                intent.applied_at = utc(now)
                session.add(intent)
        self._run(work)

    def finish_tick(self, tick_time: datetime, throughput: dict[str, float], now: datetime) -> bool:
        """Mark a planned tick done and record the jobs' progress from its plan, in one
        transaction, so work is counted exactly once per tick. A job that ran before and is not
        in this plan is held. Returns False if the tick was already done (nothing changed)."""
        def work(session: Session) -> bool:
            tick = session.get(TickRecord, utc(tick_time)) or _naive_get(session, tick_time)
            if tick is None or tick.status == "done":
                return False
            stamp = utc(tick.tick_time).replace(tzinfo=None)
            rows = session.exec(select(PlanRecord).where(PlanRecord.tick_time.in_([tick.tick_time, stamp]))).all()
            planned = {r.job_id: r for r in rows}
            for job in session.exec(select(JobRecord).where(JobRecord.state == "running")).all():
                if job.job_id not in planned:
                    job.state = "held"
                    session.add(job)
            for row in planned.values():
                job = session.get(JobRecord, row.job_id)
                done = min(job.remaining_gpu_h, row.gpus * throughput[row.site])
                job.remaining_gpu_h = max(job.remaining_gpu_h - done, 0.0)
                job.state = "done" if job.remaining_gpu_h <= 1e-6 else "running"
                job.site = row.site
                session.add(job)
            tick.status = "done"
            tick.finished_at = utc(now)
            session.add(tick)
            return True
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

    # lease ----------------------------------------------------------------------------------
    def acquire_lease(self, holder: str, ttl_s: float, now: datetime, name: str = "controller",
                      is_stale=lambda holder: False) -> tuple[bool, str, datetime]:  # noqa: ANN001
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


def _naive_get(session: Session, tick_time: datetime) -> TickRecord | None:
    """SQLite compares stored timestamps as text; look the tick up by its naive UTC form too."""
    naive = utc(tick_time).replace(tzinfo=None)
    return session.exec(select(TickRecord).where(TickRecord.tick_time == naive)).first()


def now_utc() -> datetime:
    return datetime.now(timezone.utc)
