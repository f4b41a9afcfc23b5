"""One control tick, idempotent and safe to kill at any point.

Order of a tick at hour ``t``::

    reconcile   send every pending intent the workload manager has not applied, mark it
                applied; finish ticks whose intents are all applied (job progress recorded)
    plan        if tick t has no row: read the jobs, forecast, limits; decide (MPC)
    write       tick row + plan + keyed intents + forecasts in ONE transaction
    send        = reconcile again

Because intents are written before anything is sent, and applying a key twice changes nothing
(adapters check the key; level-triggered reconcile asks the workload manager what it has), a
crash anywhere loses no intent and applies none twice: the next tick (or a restart) resumes.
"""

from __future__ import annotations

import logging
import os
import signal
from collections import Counter
from dataclasses import dataclass

import pandas as pd

from control.fleet import Fleet, FleetState
from control.policies.mpc import MpcPolicy
from control.runtime.adapters import AdapterUnavailable, Intent, WorkloadManager
from control.scenario import forecast_provider, grid_from_settings, gpus_in_service, site_carbon_intensity, site_tariffs_per_mwh
from control.settings import Settings
from control.store import Store
from control.store.repository import now_utc, utc
from control.store.tables import ForecastRecord, IntentRecord, PlanRecord, TickRecord
from forecasts.bundle import ForecastBundle

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


def run_tick(settings: Settings, store: Store, adapter: WorkloadManager, at: pd.Timestamp) -> TickResult:
    """Run (or resume) the tick of the hour containing ``at``."""
    tick_time = pd.Timestamp(at).tz_convert("UTC").floor("h")
    fleet = Fleet.from_settings(settings)
    throughput = dict(zip(fleet.names, fleet.throughput, strict=True))
    sent, flags = reconcile(store, adapter, throughput)
    existing = store.tick(tick_time)
    if existing is not None and existing.status == "done":
        return TickResult(tick_time, "already_done", tuple(flags), sent, 0)
    status = "resumed"
    running = 0
    if existing is None:
        running, plan_flags = _plan_and_write(settings, store, fleet, tick_time)
        flags += plan_flags
        status = "planned_and_sent"
    more, send_flags = reconcile(store, adapter, throughput)
    flags += send_flags
    if "workload_manager_unavailable" in flags:
        status = "pending"
    return TickResult(tick_time, status, tuple(dict.fromkeys(flags)), sent + more, running)


def reconcile(store: Store, adapter: WorkloadManager, throughput: dict[str, float]) -> tuple[int, list[str]]:
    """Level-triggered: make the workload manager hold every pending intent, then finish ticks."""
    sent = 0
    try:
        for record in store.pending_intents():
            intent = Intent(record.key, record.job_id, record.action, record.site, record.gpus)
            if not adapter.applied(intent):
                adapter.apply(intent)
                sent += 1
                kill_point("sent")
            store.mark_applied(record.key, now_utc())
            kill_point("marked")
    except AdapterUnavailable as exc:
        logger.warning("workload manager unavailable (%s); intents stay pending until it is back", exc)
        return sent, ["workload_manager_unavailable"]
    for tick_time in store.planned_ticks():
        if store.finish_tick(tick_time, throughput, now_utc()):
            kill_point("finished")
    return sent, []


def _plan_and_write(settings: Settings, store: Store, fleet: Fleet, tick_time: pd.Timestamp) -> tuple[int, list[str]]:
    jobs = store.jobs_frame()
    active = jobs[(jobs["release"] <= tick_time) & (jobs["state"] != "done") & (jobs["remaining_gpu_h"] > 1e-6)]
    upcoming = jobs[jobs["release"] > tick_time]
    horizon = settings.mpc.horizon_h
    index = pd.date_range(tick_time, periods=horizon, freq="h")
    forecast, flags = _forecast(settings, tick_time, index)
    limits = grid_from_settings(settings, index).limits(index, forecast.green_mw)
    state = FleetState(tick_time, fleet, active.reset_index(drop=True), upcoming.reset_index(drop=True),
                       gpu_available=gpus_in_service(settings, index), tariff_per_mwh=site_tariffs_per_mwh(settings, index))
    decision = MpcPolicy(settings.mpc).decide(state, forecast, limits)
    flags += list(decision.flags)
    kill_point("decided")
    stamp = utc(tick_time)
    now = now_utc()
    plan = [PlanRecord(tick_time=stamp, job_id=j, site=s, gpus=int(g)) for j, (s, g) in decision.allocation.items()]
    intents = [IntentRecord(key=f"{tick_time.isoformat()}|{j}|run", tick_time=stamp, job_id=j, action="run",
                            site=s, gpus=int(g), created_at=now) for j, (s, g) in decision.allocation.items()]
    was_running = active.loc[active["state"] == "running", "job_id"]
    intents += [IntentRecord(key=f"{tick_time.isoformat()}|{j}|hold", tick_time=stamp, job_id=j, action="hold",
                             created_at=now) for j in was_running if j not in decision.allocation]
    first = forecast.index[0]
    forecasts = [ForecastRecord(issue_time=utc(forecast.issue_time), valid_time=utc(first), site=site,
                                green_mw=float(forecast.green_mw.at[first, site]),
                                ci_g_per_kwh=float(forecast.ci_g_per_kwh.at[first, site]), method=forecast.method)
                 for site in fleet.names]
    tick = TickRecord(tick_time=stamp, status="planned", started_at=now, solver_status=decision.status,
                      flags=";".join(flags), jobs_active=len(active), jobs_running=len(decision.allocation))
    store.write_plan(tick, plan, intents, forecasts)
    kill_point("planned")
    logger.info("tick %s: %d active jobs, %d run, %d intents, flags %s", tick_time, len(active),
                len(decision.allocation), len(intents), flags or "none")
    return len(decision.allocation), flags


def _forecast(settings: Settings, tick_time: pd.Timestamp, index: pd.DatetimeIndex) -> tuple[ForecastBundle, list[str]]:
    """The configured forecast; if it cannot be made, a conservative one (no renewables, the
    regions' average intensity) and the flag ``forecast_missing``."""
    try:
        return forecast_provider(settings, tick_time, index).forecast(tick_time, len(index)), []
    except (KeyError, ValueError, OSError) as exc:
        logger.warning("forecast for %s unavailable (%s); planning with no renewables", tick_time, exc)
        zero = pd.DataFrame(0.0, index=index, columns=settings.site_names)
        ci = site_carbon_intensity(settings, index)
        return ForecastBundle(tick_time, index, zero, zero.copy(), ci, method="conservative"), ["forecast_missing"]


def intents_summary(store: Store) -> dict[str, int]:
    frame = store.intents()
    return {"intents": len(frame), "pending": int((frame["status"] == "pending").sum()) if len(frame) else 0}


