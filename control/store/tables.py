"""The store's tables (SQLModel). Every timestamp is timezone-aware UTC.

Schema changes are Alembic migrations in ``control/store/migrations/versions``; never edit a
table here without adding one.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime
from sqlmodel import Field, SQLModel


def _utc_column(nullable: bool = False, primary_key: bool = False) -> Column:
    return Column(DateTime(timezone=True), nullable=nullable, primary_key=primary_key)


class JobRecord(SQLModel, table=True):
    """A deferrable job and its progress."""

    __tablename__ = "jobs"
    job_id: str = Field(primary_key=True)
    release: datetime = Field(sa_column=_utc_column())
    deadline: datetime = Field(sa_column=_utc_column())
    gpus: int
    min_gpus: int
    work_gpu_h: float
    remaining_gpu_h: float
    home_site: str
    allowed_sites: str = ""
    priority: int = 0
    checkpoint_gb: float = 0.0
    site: str = ""
    """Where it last ran ("" = not yet)."""
    state: str = "queued"
    """queued | running | held | done."""
    submitted_at: datetime = Field(sa_column=_utc_column())


class TickRecord(SQLModel, table=True):
    """One control step: planned (plan and intents written), then done."""

    __tablename__ = "ticks"
    tick_time: datetime = Field(sa_column=_utc_column(primary_key=True))
    status: str
    """planned | done."""
    started_at: datetime = Field(sa_column=_utc_column())
    finished_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    solver_status: str = ""
    flags: str = ""
    """Degraded-mode flags, ``;``-separated (e.g. ``forecast_missing``, ``solver_infeasible``)."""
    jobs_active: int = 0
    jobs_running: int = 0


class PlanRecord(SQLModel, table=True):
    """The committed first step of a tick's plan, per job."""

    __tablename__ = "plans"
    id: int | None = Field(default=None, primary_key=True)
    tick_time: datetime = Field(sa_column=_utc_column())
    job_id: str = Field(index=True)
    site: str
    gpus: int


class IntentRecord(SQLModel, table=True):
    """An action for the workload manager, keyed so that it is applied exactly once."""

    __tablename__ = "intents"
    key: str = Field(primary_key=True)
    """``<tick time>|<job>|<action>``."""
    tick_time: datetime = Field(sa_column=_utc_column())
    job_id: str = Field(index=True)
    action: str
    """run (place at ``site`` with ``gpus`` and release) | hold (stop or keep held)."""
    site: str = ""
    gpus: int = 0
    status: str = "pending"
    """pending | applied."""
    created_at: datetime = Field(sa_column=_utc_column())
    applied_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))


class ForecastRecord(SQLModel, table=True):
    """Site forecasts as issued for a tick (what the plan was based on)."""

    __tablename__ = "forecasts"
    id: int | None = Field(default=None, primary_key=True)
    issue_time: datetime = Field(sa_column=_utc_column())
    valid_time: datetime = Field(sa_column=_utc_column())
    site: str
    green_mw: float
    ci_g_per_kwh: float
    method: str


class LeaseRecord(SQLModel, table=True):
    """Who may act on this store, until when."""

    __tablename__ = "leases"
    name: str = Field(primary_key=True)
    holder: str
    expires_at: datetime = Field(sa_column=_utc_column())
