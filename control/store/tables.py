"""The store's tables (SQLModel). Every timestamp is timezone-aware UTC.

Schema changes are Alembic migrations in ``control/store/migrations/versions``; never edit a
table here without adding one.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, UniqueConstraint
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
    transfer_left_h: float = 0.0
    """Checkpoint-transfer time it still waits at ``site`` before it works [h]."""
    state: str = "queued"
    """queued | running | held | done | failed (the workload manager refused it for good) |
    expired (past its deadline + ``[runtime] expire_after_h``: no longer scheduled). See
    docs/operations.md."""
    submitted_at: datetime = Field(sa_column=_utc_column())
    deadline_status: str = "on_time"
    """on_time | at_risk (cannot finish ``[runtime] at_risk_margin_h`` before its deadline even
    at its full gang from now) | late (deadline passed, work left). Migration 0004."""
    note: str = ""
    """Why the job is failed, expired, at risk or late (the workload manager's message, the
    deadline arithmetic). Migration 0004."""


class TickRecord(SQLModel, table=True):
    """One control step: planned (plan and intents written), then done (jobs' progress
    recorded), then settled (its hour's carbon ledger booked, once the hour is over)."""

    __tablename__ = "ticks"
    tick_time: datetime = Field(sa_column=_utc_column(primary_key=True))
    status: str
    """planned | done."""
    started_at: datetime = Field(sa_column=_utc_column())
    finished_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    settled_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    """When the hour's ledger rows were booked (None = not yet: the hour is not over or not
    measured yet). Migration 0003."""
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
    """pending | applied | failed (refused for good by the workload manager; ``error`` says why)."""
    created_at: datetime = Field(sa_column=_utc_column())
    applied_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    outcome: str = ""
    """How it was applied: ``sent`` (this process sent it) or ``found`` (the workload manager
    already held it, e.g. sent before a crash)."""
    attempts: int = 0
    """Sends that failed because the workload manager was unavailable or gave an unclassified error."""
    error: str = ""
    """The workload manager's message for a failed intent (or the last failed attempt). Migration 0004."""


class StoreIdentityRecord(SQLModel, table=True):
    """One row, written when the store is created (``codispatch init``): which store this is.
    Checked by every transaction, so a deleted or replaced store is noticed. Migration 0004."""

    __tablename__ = "store_identity"
    name: str = Field(primary_key=True)
    store_id: str
    created_at: datetime = Field(sa_column=_utc_column())
    created_by: str


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


class SiteRecord(SQLModel, table=True):
    """A data centre as the daemon last read it from the config (kept in sync every tick)."""

    __tablename__ = "sites"
    name: str = Field(primary_key=True)
    region: str
    gpu_model: str
    gpu_count: int
    pue: float
    partition: str = ""
    """Workload-manager partition of the site ("" = the file adapter)."""
    updated_at: datetime = Field(sa_column=_utc_column())


class MeasurementRecord(SQLModel, table=True):
    """What a site saw in an hour: renewable supply and grid carbon intensity.

    Written once per (hour, site) by the tick after that hour; it is the history behind the
    persistence and climatology fallbacks when the forecast is missing, stale or corrupt.
    """

    __tablename__ = "measurements"
    __table_args__ = (UniqueConstraint("time", "site", name="uq_measurements_time_site"),)
    id: int | None = Field(default=None, primary_key=True)
    time: datetime = Field(sa_column=_utc_column())
    """Start of the measured hour (UTC)."""
    site: str = Field(index=True)
    green_mw: float
    """Mean renewable supply available to the site over the hour [MW]."""
    ci_g_per_kwh: float
    """Grid carbon intensity over the hour [gCO2/kWh]."""
    source: str
    """Where the value came from, e.g. ``provider_actual`` or ``meter``."""
    recorded_at: datetime = Field(sa_column=_utc_column())


class LedgerRecord(SQLModel, table=True):
    """Carbon ledger: one row per (hour, job) that ran, written when its tick is settled (after
    the hour, once it is measured; in the transaction that marks the tick settled, so each hour
    is booked exactly once)."""

    __tablename__ = "carbon_ledger"
    __table_args__ = (UniqueConstraint("time", "job_id", name="uq_carbon_ledger_time_job"),)
    id: int | None = Field(default=None, primary_key=True)
    time: datetime = Field(sa_column=_utc_column())
    job_id: str = Field(index=True)
    site: str
    gpus: int
    it_energy_mwh: float
    facility_energy_mwh: float
    green_used_mwh: float
    """The job's share of the site's renewable supply used in the hour [MWh]."""
    grid_energy_mwh: float
    ci_g_per_kwh: float
    emissions_t: float
    """Location-based emissions of the grid energy [tCO2]."""
    basis: str
    """``measured`` (the hour's measurement) or ``forecast`` (the tick's forecast: no measurement
    came within ``[runtime] settle_max_wait_h``)."""


class PlanHourRecord(SQLModel, table=True):
    """The whole plan of a tick, per job, site and hour of the horizon (migration 0004).

    Hour 0 is the committed step (whole GPUs, as sent); later hours are the LP's plan for the
    job's class shared among its members by gang size (fractional GPUs: what the controller
    intends now, re-decided every tick). Only non-zero rows are stored."""

    __tablename__ = "plan_hours"
    id: int | None = Field(default=None, primary_key=True)
    tick_time: datetime = Field(sa_column=_utc_column())
    hour: datetime = Field(sa_column=_utc_column())
    job_id: str = Field(index=True)
    site: str
    gpus: float


class PlanSiteRecord(SQLModel, table=True):
    """A tick's plan per site and hour: load against the green forecast and the grid limit."""

    __tablename__ = "plan_sites"
    id: int | None = Field(default=None, primary_key=True)
    tick_time: datetime = Field(sa_column=_utc_column())
    hour: datetime = Field(sa_column=_utc_column())
    site: str
    gpus: float
    load_mw: float
    """Planned facility power (green used + grid import) [MW]."""
    green_forecast_mw: float
    green_used_mw: float
    grid_mw: float
    export_mw: float
    import_limit_mw: float
    ci_g_per_kwh: float


class TickDetailRecord(SQLModel, table=True):
    """Timings and solver figures of a tick (for /metrics and the tick history)."""

    __tablename__ = "tick_details"
    tick_time: datetime = Field(sa_column=_utc_column(primary_key=True))
    build_s: float = 0.0
    solve_s: float = 0.0
    plan_s: float = 0.0
    """Wall time of the tick's planning (forecast, limits, decision, extraction) [s]."""
    objective: float | None = None
    forecast_method: str = ""


class ExplanationRecord(SQLModel, table=True):
    """Why a tick decided what it did for one job (JSON ``factors``, see control.mpc.why)."""

    __tablename__ = "explanations"
    id: int | None = Field(default=None, primary_key=True)
    tick_time: datetime = Field(sa_column=_utc_column())
    job_id: str = Field(index=True)
    decision: str
    """run | hold | wait."""
    site: str = ""
    summary: str = ""
    factors: str = "{}"


class RequestRecord(SQLModel, table=True):
    """An operator's request (cancel, modify, outage) that the next tick acts on."""

    __tablename__ = "requests"
    id: int | None = Field(default=None, primary_key=True)
    kind: str
    """cancel | modify | outage."""
    job_id: str = ""
    site: str = ""
    payload: str = "{}"
    """JSON: ``deadline``/``priority`` (modify), ``start``/``end`` (outage)."""
    status: str = "pending"
    """pending | applied | rejected."""
    requested_by: str = ""
    created_at: datetime = Field(sa_column=_utc_column())
    applied_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    applied_tick: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    outcome: str = ""


class AuditRecord(SQLModel, table=True):
    """Who did what, when: every write through the API or the operator commands."""

    __tablename__ = "audit_log"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=_utc_column())
    actor: str
    """Token name (API) or ``cli:<user>``."""
    role: str
    action: str
    target: str = ""
    detail: str = "{}"
    result: str = ""


class TokenRecord(SQLModel, table=True):
    """An API bearer token: only its SHA-256 is stored (the token itself is shown once)."""

    __tablename__ = "api_tokens"
    name: str = Field(primary_key=True)
    role: str
    """viewer | operator."""
    token_sha256: str = Field(unique=True)
    created_at: datetime = Field(sa_column=_utc_column())
    revoked_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))


class JobHourRecord(SQLModel, table=True):
    """What one job really did in one hour (the workload manager's truth): work, energy, GPUs.

    Written when the tick is finished, in the same transaction as the jobs' progress; the job's
    progress and the hour's ledger rows follow it (not the plan). ``source`` says where it came
    from: ``model`` (the plan carried out by the simulation's rule of
    ``control.simulate.execute_hour``: the file adapter, a dry run) or ``sacct`` (Slurm's
    accounting: elapsed time, state, allocated GPUs)."""

    __tablename__ = "job_hours"
    __table_args__ = (UniqueConstraint("time", "job_id", name="uq_job_hours_time_job"),)
    id: int | None = Field(default=None, primary_key=True)
    time: datetime = Field(sa_column=_utc_column())
    """Start of the hour (= the tick time)."""
    job_id: str = Field(index=True)
    site: str
    gpus: int
    """GPUs the job really held."""
    work_gpu_h: float
    """Reference work done [GPU h]."""
    it_energy_mwh: float
    facility_energy_mwh: float
    transfer_left_h: float = 0.0
    """Checkpoint transfer still to do after the hour [h] (a migration longer than an hour)."""
    migrated: bool = False
    state: str = "running"
    """``running`` | ``completed`` | ``failed`` | ``cancelled`` (from the workload manager)."""
    source: str = "model"
