"""One control tick, idempotent and safe to kill at any point.

Order of a tick at hour ``t``::

    reconcile   send every pending intent the workload manager has not applied, mark it
                applied; finish ticks whose intents are all applied (job progress recorded)
    plan        if tick t has no row: read the jobs, forecast, limits; decide (MPC); store the
                measurement of hour t - 1
    write       tick row + plan + keyed intents + forecasts in ONE transaction
    send        = reconcile again
    settle      book the carbon ledger of every finished hour before t that is not booked yet
                and is measured (or has waited ``settle_max_wait_h``): rows + tick marked
                settled in ONE transaction per hour

Because intents are written before anything is sent, and applying a key twice changes nothing
(adapters check the key; level-triggered reconcile asks the workload manager what it has), a
crash anywhere loses no intent and applies none twice: the next tick (or a restart) resumes.
Settling is level-triggered too (every tick books whatever is due), so a kill before a settle
transaction commits only delays the booking to the next tick, and one after it books nothing twice.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd

from control.errors import InputError
from control.fleet import Fleet, FleetState
from control.mpc.horizon import horizon_plan
from control.mpc.step import MpcStep
from control.operations.requests import (
    TERMINAL_STATES,
    apply_requests,
    outage_windows,
    with_outages,
)
from control.runtime.adapters import AdapterUnavailable, Intent, IntentError, IntentRefused, WorkloadManager
from control.runtime.deadlines import FINAL_STATES, DeadlineStatus, deadline_status
from control.runtime.execution import modelled_hour
from control.runtime.fallback import decide_with_fallbacks, forecast_with_fallbacks
from control.scenario import (
    forecast_provider,
    gpus_in_service,
    grid_from_settings,
    site_carbon_intensity,
    site_tariffs_per_mwh,
)
from control.settings import Settings
from control.store import Store
from control.store.repository import TickExtras, now_utc, utc
from control.store.tables import (
    ForecastRecord,
    IntentRecord,
    MeasurementRecord,
    PlanRecord,
    SiteRecord,
    TickDetailRecord,
    TickRecord,
)
from forecasts.bundle import ForecastBundle
from forecasts.feeds import FeedError
from forecasts.readable import FALLBACK_ERRORS

logger = logging.getLogger(__name__)

KILL_ENV = "CODISPATCH_KILL_AT"
"""Test hook: ``stage:n`` kills this process with SIGKILL the n-th time ``stage`` is reached."""
_reached: Counter[str] = Counter()


def kill_point(stage: str) -> None:
    """Crash-test hook (no effect unless ``CODISPATCH_KILL_AT`` names this stage)."""
    spec = os.environ.get(KILL_ENV)
    if not spec:
        return
    name, _, count = spec.partition(":")
    if name != stage:
        return
    _reached[stage] += 1
    if _reached[stage] == int(count or 1):
        os.kill(os.getpid(), signal.SIGKILL)


@dataclass(frozen=True)
class TickResult:
    tick_time: pd.Timestamp
    status: str
    """planned_and_sent | already_done | resumed | pending (workload manager unavailable)."""
    flags: tuple[str, ...]
    intents_sent: int
    jobs_running: int


class TickInPast(InputError):
    """A tick was asked for an hour before the newest tick in the store."""


def run_tick(settings: Settings, store: Store, adapter: WorkloadManager, at: pd.Timestamp,
             step: MpcStep | None = None) -> TickResult:
    """Run (or resume) the tick of the hour containing ``at``.

    ``step``: the MPC step to plan with; the daemon passes the same one every tick, so each LP
    warm-starts from the last tick's basis (None: a new one, cold).

    Raises
    ------
    TickInPast
        ``at`` is in an hour before the store's newest tick and that hour has no tick: planning
        it would send intents (holds, moves) for jobs that run now, so it is refused before
        anything is sent. (A past hour that has its tick is only resumed or reported
        ``already_done``: nothing new is planned.)
    """
    tick_time = pd.Timestamp(at).tz_convert("UTC").floor("h")
    latest = store.latest_tick_time()
    if latest is not None and tick_time < pd.Timestamp(latest) and store.tick(tick_time) is None:
        raise TickInPast(f"tick at {tick_time:%Y-%m-%d %H:%M} UTC is before the newest tick in the store "
                         f"({pd.Timestamp(latest):%Y-%m-%d %H:%M} UTC): a past hour is never re-planned, it would "
                         "move jobs that run now. Run `codispatch tick` without --at (now), or --at the newest "
                         "tick's hour or later; past ticks are read with `codispatch report`")
    fleet = Fleet.from_settings(settings)
    refresh = getattr(adapter, "refresh", None)
    early: list[str] = []
    try:
        if refresh is not None:
            refresh()  # one read of the workload manager's state per tick (then updated by what we send)
    except AdapterUnavailable as exc:
        logger.warning("workload manager unavailable (%s); intents stay pending until it is back", exc)
        early.append("workload_manager_unavailable")
    runtime = settings.runtime
    sent, flags = reconcile(store, adapter, fleet, runtime.intent_max_attempts)
    flags = early + flags
    existing = store.tick(tick_time)
    if existing is not None and existing.status == "done":
        settle(store, fleet, tick_time, runtime.settle_max_wait_h)
        store.add_tick_flags(tick_time, flags)
        return TickResult(tick_time, "already_done", tuple(dict.fromkeys(flags)), sent, 0)
    status = "resumed"
    running = 0
    if existing is None:
        running, plan_flags = _plan_and_write(settings, store, fleet, tick_time, step)
        flags += plan_flags
        status = "planned_and_sent"
    more, send_flags = reconcile(store, adapter, fleet, runtime.intent_max_attempts)
    flags += send_flags
    store.add_tick_flags(tick_time, flags)
    settle(store, fleet, tick_time, runtime.settle_max_wait_h)
    if "workload_manager_unavailable" in flags:
        status = "pending"
    return TickResult(tick_time, status, tuple(dict.fromkeys(flags)), sent + more, running)


def reconcile(store: Store, adapter: WorkloadManager, fleet: Fleet, max_attempts: int = 3) -> tuple[int, list[str]]:
    """Level-triggered: make the workload manager hold every pending intent, then finish ticks
    (job progress, once per tick; the hour's carbon ledger is booked later by :func:`settle`).

    Per intent: one the manager already holds is marked applied (``found``); otherwise it is
    sent, and marked applied (``sent``) once the manager confirms it (one fresh read for all the
    intents sent in this pass). A refusal for good (:class:`IntentRefused`) marks the intent and
    its job failed with the manager's message (flag ``intent_refused``) and the others go on; an
    unclassified error (:class:`IntentError`, or sent but not confirmed) is retried on the next
    pass, ``max_attempts`` times, then failed (flag ``intent_retry`` until then). A manager that
    is unavailable (:class:`AdapterUnavailable`) stops the pass: everything stays pending (flag
    ``workload_manager_unavailable``) and is retried without limit."""
    flags: list[str] = []
    sent: list[Intent] = []
    record = None
    try:
        for record in store.pending_intents():
            intent = Intent(record.key, record.job_id, record.action, record.site, record.gpus)
            try:
                if adapter.applied(intent):
                    store.mark_applied(record.key, now_utc(), "found")
                    kill_point("marked")
                    continue
                store.check()  # never send for a store that is gone: its record of the send would be lost
                adapter.apply(intent)
            except IntentRefused as exc:
                _refuse(store, intent, str(exc), flags)
                continue
            except IntentError as exc:
                _retry(store, intent, str(exc), max_attempts, flags)
                continue
            sent.append(intent)
            kill_point("sent")
        record = None
        # an older intent of a job superseded by a newer one sent in this pass stands or falls with it
        newest = {i.job_id: i for i in sent}
        confirm = getattr(adapter, "confirm", None)
        held = {i.job_id for i in (confirm(list(newest.values())) if confirm is not None and sent else sent)}
        confirmed = {i.key for i in sent if i.job_id in held}
    except AdapterUnavailable as exc:
        logger.warning("workload manager unavailable (%s); intents stay pending until it is back", exc)
        if record is not None:
            store.record_attempt(record.key, str(exc))
        return len(sent), [*flags, "workload_manager_unavailable"]
    for intent in sent:
        if intent.key in confirmed:
            store.mark_applied(intent.key, now_utc(), "sent")
            kill_point("marked")
        else:
            _retry(store, intent, "sent, but the workload manager does not show it applied", max_attempts, flags)
    throughput = dict(zip(fleet.names, fleet.throughput, strict=True))
    for tick_time in store.planned_ticks():
        accounting = getattr(adapter, "accounting", None)  # workload managers that account what ran (sacct)
        ran = modelled_hour(store, fleet, pd.Timestamp(tick_time), accounting(tick_time) if accounting else None)
        if store.finish_tick(tick_time, throughput, now_utc(), ran, move_h=fleet.move_h):
            kill_point("finished")
    return len(confirmed), flags


def _refuse(store: Store, intent: Intent, message: str, flags: list[str]) -> None:
    if store.fail_intent(intent.key, message, now_utc()):
        logger.error("job %s: the workload manager refused its %s intent %s for good: %s; the job is failed "
                     "(see docs/operations.md, intent_refused)", intent.job_id, intent.action, intent.key, message)
        flags.append("intent_refused")


def _retry(store: Store, intent: Intent, message: str, max_attempts: int, flags: list[str]) -> None:
    attempts = store.record_attempt(intent.key, message)
    if attempts >= max_attempts:
        _refuse(store, intent, f"{message} (after {attempts} attempts)", flags)
        return
    logger.warning("job %s: intent %s failed (%s); attempt %d of %d, retried next pass", intent.job_id, intent.key,
                   message, attempts, max_attempts)
    flags.append("intent_retry")


def settle(store: Store, fleet: Fleet, tick_time: pd.Timestamp, max_wait_h: float) -> dict[str, int]:
    """Book the carbon ledger of every done tick of an hour before ``tick_time`` not booked yet.

    An hour is booked once every site that ran in it has its measurement (``basis = measured``);
    until then it waits, and once ``max_wait_h`` hours have passed since it ended (on the tick
    clock) it is booked on the tick's forecast for the unmeasured sites (``basis = forecast``) with
    a warning. Each hour is one transaction that also marks its tick settled; returns how many
    hours ended ``measured``, ``forecast`` and ``waiting``."""
    per_gpu = dict(zip(fleet.names, fleet.gpu_facility_mw, strict=True))
    pue = dict(zip(fleet.names, fleet.pue, strict=True))
    tick_time = pd.Timestamp(tick_time).tz_convert("UTC").floor("h")
    outcomes: Counter[str] = Counter()
    for hour in store.unsettled_ticks(utc(tick_time)):
        waited_h = (tick_time - (pd.Timestamp(hour) + pd.Timedelta(hours=1))) / pd.Timedelta(hours=1)
        outcome = store.settle_tick(hour, per_gpu, pue, now_utc(), fallback=waited_h >= max_wait_h)
        if not outcome:
            continue
        outcomes[outcome] += 1
        if outcome == "waiting":
            logger.info("hour %s: not booked yet, waiting for its measurement (%.0f h of %g h)", hour, waited_h,
                        max_wait_h)
            continue
        if outcome == "forecast":
            logger.warning("hour %s: no measurement %.0f h after it ended ([runtime] settle_max_wait_h = %g); its "
                           "carbon ledger is booked on the tick's forecast (basis forecast)", hour, waited_h,
                           max_wait_h)
        kill_point("settled")
    return dict(outcomes)


def _plan_and_write(settings: Settings, store: Store, fleet: Fleet, tick_time: pd.Timestamp,
                    step: MpcStep | None = None) -> tuple[int, list[str]]:
    started = time.perf_counter()
    before = store.jobs_frame()
    flags = _deadline_flags(settings, store, fleet, before, tick_time)
    was_running = before.loc[before["state"] == "running", "job_id"]
    requests = store.requests(status="pending")
    applied = apply_requests(store.jobs_frame() if flags else before, requests, tick_time)  # operator requests
    jobs = applied.jobs
    live = ~jobs["state"].isin(TERMINAL_STATES + FINAL_STATES)
    active = jobs[(jobs["release"] <= tick_time) & live & (jobs["remaining_gpu_h"] > 1e-6)]
    upcoming = jobs[(jobs["release"] > tick_time) & live]
    horizon = settings.mpc.horizon_h
    index = pd.date_range(tick_time, periods=horizon, freq="h")
    _sync_sites(settings, store)
    forecast, forecast_flags = _forecast(settings, store, tick_time, index)
    flags += forecast_flags
    limits = _grid(settings, index).limits(index, forecast.green_mw)
    in_service = with_outages(gpus_in_service(settings, index), outage_windows(store.requests(kind="outage")))
    state = FleetState(tick_time, fleet, active.reset_index(drop=True), upcoming.reset_index(drop=True),
                       gpu_available=in_service, tariff_per_mwh=site_tariffs_per_mwh(settings, index))
    decision, solver_flags = decide_with_fallbacks(settings.mpc, state, forecast, limits, store.last_plan(utc(tick_time)),
                                                   step=step)
    flags += solver_flags
    kill_point("decided")
    whole = horizon_plan(state, forecast, limits, decision, settings.mpc)
    stamp = utc(tick_time)
    now = now_utc()
    plan = [PlanRecord(tick_time=stamp, job_id=j, site=s, gpus=int(g)) for j, (s, g) in decision.allocation.items()]
    intents = [IntentRecord(key=f"{tick_time.isoformat()}|{j}|run", tick_time=stamp, job_id=j, action="run",
                            site=s, gpus=int(g), created_at=now) for j, (s, g) in decision.allocation.items()]
    intents += [IntentRecord(key=f"{tick_time.isoformat()}|{j}|hold", tick_time=stamp, job_id=j, action="hold",
                             created_at=now) for j in was_running
                if j not in decision.allocation and j not in applied.cancelled]
    intents += [IntentRecord(key=f"{tick_time.isoformat()}|{j}|cancel", tick_time=stamp, job_id=j, action="cancel",
                             created_at=now) for j in applied.cancelled]
    first = forecast.index[0]
    forecasts = [ForecastRecord(issue_time=utc(forecast.issue_time), valid_time=utc(first), site=site,
                                green_mw=float(forecast.green_mw.at[first, site]),
                                ci_g_per_kwh=float(forecast.ci_g_per_kwh.at[first, site]), method=forecast.method)
                 for site in fleet.names]
    tick = TickRecord(tick_time=stamp, status="planned", started_at=now, solver_status=decision.status,
                      flags=";".join(flags), jobs_active=len(active), jobs_running=len(decision.allocation))
    detail = TickDetailRecord(tick_time=stamp, build_s=decision.build_s, solve_s=decision.solve_s,
                              plan_s=time.perf_counter() - started, forecast_method=forecast.method,
                              objective=decision.objective if np.isfinite(decision.objective) else None)
    store.write_plan(tick, plan, intents, forecasts,
                     TickExtras(whole.jobs, whole.sites, detail, whole.explanations, job_changes=applied.changes,
                                request_outcomes={k: (str(v[0]), v[1]) for k, v in applied.outcomes.items()}))
    kill_point("planned")
    logger.info("tick %s: %d active jobs, %d run, %d intents, MPC %s in %d simplex iterations (%s start), flags %s",
                tick_time, len(active), len(decision.allocation), len(intents), decision.status, decision.iterations,
                "warm" if decision.warm_started else "cold", flags or "none")
    return len(decision.allocation), flags


_grid_cache: list = []


def _grid(settings: Settings, index: pd.DatetimeIndex):  # noqa: ANN202
    """The grid model of ``settings`` (built once per settings object and 60 days in a process
    that runs many ticks on the same settings, e.g. the parity test; a fresh daemon tick loads its
    settings anew and builds it as before). Its limits on ``index`` are the same either way."""
    if _grid_cache:
        cached_settings, covered, grid = _grid_cache[0]
        if cached_settings is settings and index.isin(covered).all():
            return grid
    covered = pd.date_range(index[0], periods=60 * 24, freq="h").union(index)
    grid = grid_from_settings(settings, covered)
    _grid_cache[:] = [(settings, covered, grid)]
    return grid


def _deadline_flags(settings: Settings, store: Store, fleet: Fleet, jobs: pd.DataFrame,
                    tick_time: pd.Timestamp) -> list[str]:
    """Store every job's deadline status (:mod:`control.runtime.deadlines`); log each job that
    enters at_risk, late or expired, and return a ``job_<status>`` flag per status entered."""
    runtime = settings.runtime
    status = deadline_status(jobs, tick_time, fleet.names, fleet.throughput, runtime.at_risk_margin_h,
                             runtime.expire_after_h)
    flags = []
    for job_id, _old, new, note in store.set_deadline_status(status):
        if new == DeadlineStatus.ON_TIME:
            continue
        log = logger.error if new == DeadlineStatus.EXPIRED else logger.warning
        log("job %s is %s: %s", job_id, new, note)
        flags.append(f"job_{new}")
    return list(dict.fromkeys(flags))


def _forecast(settings: Settings, store: Store, tick_time: pd.Timestamp,
              index: pd.DatetimeIndex) -> tuple[ForecastBundle, list[str]]:
    """The configured forecast or the fallback chain (``control.runtime.fallback``); also stores
    the measurement of the hour before the tick when the provider has it."""
    sites = settings.site_names
    provider: list = []
    feed_flags: list[str] = []

    def make() -> ForecastBundle:
        with_past = pd.date_range(tick_time - pd.Timedelta(hours=1), index[-1], freq="h")
        live = {"live": True} if settings.forecast.method == "feeds" else {}  # feeds with an URL are fetched
        provider.append(forecast_provider(settings, tick_time, with_past, **live))
        checked = getattr(provider[0], "forecast_checked", None)
        if checked is None:
            return provider[0].forecast(tick_time, len(index))
        try:
            bundle, raised = checked(tick_time, len(index))
        except FeedError as exc:
            feed_flags.append(exc.flag)
            raise
        feed_flags.extend(raised)
        return bundle

    runtime = settings.runtime
    since = tick_time - pd.Timedelta(days=runtime.climatology_days)
    bundle, flags = forecast_with_fallbacks(make, lambda: store.measurements(utc(since), utc(tick_time)), tick_time,
                                            index, sites, site_carbon_intensity(settings, index),
                                            runtime.forecast_max_age_h, runtime.climatology_days)
    if settings.forecast.method == "feeds":
        from control.feeds import ingest_measurements

        feeds = provider[0] if provider else forecast_provider(settings, tick_time, index, live=True)
        feed_flags += ingest_measurements(settings, store, feeds, tick_time)
    elif provider:
        _record_measurement(store, provider[0], tick_time - pd.Timedelta(hours=1), sites)
    return bundle, feed_flags + flags


def _record_measurement(store: Store, provider, hour: pd.Timestamp, sites: list[str]) -> None:
    """The realised supply and intensity of ``hour`` (from the provider's actual data, which a
    site with meters would replace) as the history of the forecast fallbacks."""
    try:
        actual = provider.actual(pd.DatetimeIndex([hour]))
    except FALLBACK_ERRORS as exc:
        logger.info("no measurement for %s (%s: %s)", hour, type(exc).__name__, exc)
        return
    now = now_utc()
    store.add_measurements([MeasurementRecord(time=utc(hour), site=s, green_mw=float(actual.green_mw.at[hour, s]),
                                              ci_g_per_kwh=float(actual.ci_g_per_kwh.at[hour, s]),
                                              source="provider_actual", recorded_at=now) for s in sites])


def _sync_sites(settings: Settings, store: Store) -> None:
    now = now_utc()
    store.sync_sites([SiteRecord(name=s.name, region=s.region, gpu_model=s.gpu_model, gpu_count=s.gpu_count, pue=s.pue,
                                 partition=settings.runtime.slurm_partitions.get(s.name, s.name)
                                 if settings.runtime.adapter == "slurm" else "", updated_at=now)
                      for s in settings.sites])


def intents_summary(store: Store) -> dict[str, int]:
    frame = store.intents()
    return {"intents": len(frame), "pending": int((frame["status"] == "pending").sum()) if len(frame) else 0}


