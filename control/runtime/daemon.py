"""The daemon: APScheduler 3 in UTC, a control tick every hour, a daily report and housekeeping.

Jobs are module-level functions with fixed ids (``control_tick``, ``lease_renewal``,
``daily_report``, ``housekeeping``), ``coalesce=True`` (missed runs collapse into one), ``max_instances=1`` (a slow
tick never overlaps the next), a misfire grace from ``[runtime] misfire_grace_s``, and a
persistent job store in the project's database. Only the holder of the store's lease acts: a
second daemon on the same database exits with a message naming the holder.

The daemon opens its store once, at start (it must exist: ``codispatch init``), and every job
uses that store, which checks its identity on each transaction. When the store is deleted,
replaced or fails permanently (read-only, disk full), the job logs an error, the scheduler
stops and ``codispatch daemon`` exits 2; it never creates a new store (systemd restarts it, and
the restart refuses a missing store the same way, naming it).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import timedelta, timezone
from pathlib import Path

import pandas as pd
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from control.errors import CodispatchError

from control.mpc.step import MpcStep
from control.runtime.tick import reconcile, run_tick
from control.runtime.wiring import holder_is_gone, lease_holder, make_adapter, open_store
from control.settings import Settings, load_settings
from control.store import Store, StoreFailure
from control.store.repository import now_utc
from control.safe_csv import write_csv

logger = logging.getLogger(__name__)

JOB_IDS = ("control_tick", "lease_renewal", "daily_report", "housekeeping")


class LeaseLost(CodispatchError, RuntimeError):
    """Another process holds the store's lease."""


_STEPS: dict[str, MpcStep] = {}
"""The daemon's MPC step per config, kept between ticks in this process (its warm start)."""


def mpc_step_for(config_path: str, settings: Settings) -> MpcStep:
    """The MPC step this process keeps for ``config_path``; a new (cold) one when the ``[mpc]``
    settings changed since the last tick or the process is new."""
    step = _STEPS.get(config_path)
    if step is None or step.settings != settings.mpc:
        step = _STEPS[config_path] = MpcStep(settings.mpc, use_network=True)
    return step


_stores: dict[str, Store] = {}
"""config path -> the store this daemon opened at start (jobs never open a new one)."""
_scheduler: list[BaseScheduler] = []
fatal: list[StoreFailure] = []
"""The store failure that stopped the daemon (``codispatch daemon`` exits 2 with it)."""


def _store(config_path: str, settings: Settings) -> Store:
    store = _stores.get(config_path)
    if store is None:  # a job run outside start_daemon (tests): open the existing store
        store = _stores[config_path] = open_store(settings)
    return store


def stop_on_store_failure(job: Callable[[str, str], None]) -> Callable[[str, str], None]:
    """A scheduled job that stops the daemon (error logged, exit 2) when the store is gone,
    replaced or permanently unusable, instead of carrying on against another store."""
    @functools.wraps(job)
    def guarded(config_path: str, holder: str) -> None:
        try:
            job(config_path, holder)
        except StoreFailure as exc:
            logger.error("%s: %s; the daemon stops (exit 2)", job.__name__, exc)
            fatal.append(exc)
            for scheduler in _scheduler:
                scheduler.shutdown(wait=False)
    return guarded


@stop_on_store_failure
def control_tick_job(config_path: str, holder: str) -> None:
    """Scheduled every hour: renew the lease, then run the tick of the current hour."""
    settings = load_settings(config_path)
    store = _store(config_path, settings)
    acquired, current, until = store.acquire_lease(holder, settings.runtime.lease_s, now_utc())
    if not acquired:
        logger.error("lease held by %s until %s; this daemon (%s) does not act", current, until, holder)
        return
    result = run_tick(settings, store, make_adapter(settings), pd.Timestamp(now_utc()), mpc_step_for(config_path, settings))
    logger.info("tick %s: %s, flags %s", result.tick_time, result.status, result.flags or "none")


@stop_on_store_failure
def lease_renewal_job(config_path: str, holder: str) -> None:
    """Every third of the lease time: keep the lease while the daemon is alive."""
    settings = load_settings(config_path)
    acquired, current, until = _store(config_path, settings).acquire_lease(holder, settings.runtime.lease_s, now_utc())
    if not acquired:
        logger.error("lost the lease to %s (until %s); this daemon no longer acts", current, until)


@stop_on_store_failure
def daily_report_job(config_path: str, holder: str) -> None:
    """Once a day: a one-line-per-tick CSV of the last day (status, flags, jobs) next to the store."""
    settings = load_settings(config_path)
    ticks = _store(config_path, settings).ticks()
    since = pd.Timestamp(now_utc()) - pd.Timedelta(days=1)
    if len(ticks):
        ticks["tick_time"] = pd.to_datetime(ticks["tick_time"], utc=True)
        ticks = ticks[ticks["tick_time"] >= since]
    out = Path(settings.runtime.database).with_name(f"ticks_{since:%Y%m%d}.csv")
    write_csv(ticks, out, index=False)
    degraded = int((ticks["flags"] != "").sum()) if len(ticks) else 0
    logger.info("daily report %s: %d ticks, %d degraded (holder %s)", out, len(ticks), degraded, holder)


@stop_on_store_failure
def housekeeping_job(config_path: str, holder: str) -> None:
    """Once a day: finish anything a crash left half done (reconcile) while no tick runs."""
    settings = load_settings(config_path)
    store = _store(config_path, settings)
    acquired, _, _ = store.acquire_lease(holder, settings.runtime.lease_s, now_utc())
    if acquired:
        from control.fleet import Fleet

        fleet = Fleet.from_settings(settings)
        reconcile(store, make_adapter(settings), fleet)


def build_scheduler(settings: Settings, config_path: Path, holder: str,
                    scheduler_class: type[BaseScheduler] = BlockingScheduler) -> BaseScheduler:
    """The scheduler with its three jobs in the store's job table (replaced on every start)."""
    runtime = settings.runtime
    scheduler = scheduler_class(
        timezone=timezone.utc,
        jobstores={"default": SQLAlchemyJobStore(url=runtime.url(), tablename="apscheduler_jobs")},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": runtime.misfire_grace_s},
    )
    args = [str(Path(config_path).resolve()), holder]
    scheduler.add_job(control_tick_job, "cron", minute=0, second=5, id="control_tick", args=args, replace_existing=True)
    scheduler.add_job(lease_renewal_job, "interval", seconds=max(runtime.lease_s // 3, 5), id="lease_renewal",
                      args=args, replace_existing=True)
    scheduler.add_job(daily_report_job, "cron", hour=runtime.report_hour_utc, minute=20, id="daily_report",
                      args=args, replace_existing=True)
    _scheduler[:] = [scheduler]
    scheduler.add_job(housekeeping_job, "cron", hour=runtime.report_hour_utc, minute=40, id="housekeeping",
                      args=args, replace_existing=True)
    return scheduler


def start_daemon(config_path: Path) -> tuple[BaseScheduler, Callable[[], None]]:
    """Take the lease (or raise :class:`LeaseLost`), reconcile, and build the scheduler.

    Returns the scheduler and a function that gives the lease back (call it on shutdown)."""
    settings = load_settings(config_path)
    store = open_store(settings)
    _stores[str(Path(config_path).resolve())] = store
    holder = lease_holder("daemon")
    acquired, current, until = store.acquire_lease(holder, settings.runtime.lease_s, now_utc(), is_stale=holder_is_gone)
    if not acquired:
        raise LeaseLost(f"{current} holds the lease on {settings.runtime.url()} until {until:%Y-%m-%d %H:%M:%S} UTC; "
                        f"only one daemon may act on a database. Stop it, or wait {timedelta(seconds=settings.runtime.lease_s)} "
                        "after it died")
    from control.fleet import Fleet

    fleet = Fleet.from_settings(settings)
    sent, flags = reconcile(store, make_adapter(settings), fleet)
    logger.info("start-up reconcile: %d intents re-sent, flags %s", sent, flags or "none")
    scheduler = build_scheduler(settings, config_path, holder)
    startup_tick(scheduler, config_path, store, holder)
    return scheduler, lambda: store.release_lease(holder)


def startup_tick(scheduler: BaseScheduler, config_path: Path, store, holder: str) -> bool:  # noqa: ANN001
    """When the current hour's tick is due (not done yet), schedule it to run as soon as the
    scheduler starts (job ``startup_tick``), so a daemon started at 10:20 does not wait until
    11:00 to plan; returns whether it was scheduled."""
    hour = pd.Timestamp(now_utc()).floor("h")
    existing = store.tick(hour)
    if existing is not None and existing.status == "done":
        return False
    logger.info("tick %s is due: it runs at start-up", hour)
    scheduler.add_job(control_tick_job, "date", run_date=now_utc(), id="startup_tick", replace_existing=True,
                      args=[str(Path(config_path).resolve()), holder])
    return True


def next_tick_time(now: pd.Timestamp | None = None) -> pd.Timestamp:
    """When the scheduler runs the next control tick (every hour at :00:05 UTC)."""
    now = pd.Timestamp(now if now is not None else now_utc())
    candidate = now.floor("h") + pd.Timedelta(seconds=5)
    return candidate if candidate > now else candidate + pd.Timedelta(hours=1)
