"""The tick stores its whole plan (job x site x hour, and per site against green and grid limit)
and acts on operator requests in the same transaction."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from control.cli import main
from control.fleet import Fleet
from control.runtime.tick import run_tick
from control.runtime.wiring import make_adapter, open_store
from control.settings import load_settings
from control.store.repository import now_utc
from control.store.tables import (
    AuditRecord,
    PlanHourRecord,
    PlanRecord,
    PlanSiteRecord,
    RequestRecord,
)
from tests.runtime.conftest import START


@pytest.fixture
def submitted(runtime_config, first_jobs):
    assert main(["submit", "--config", str(runtime_config), "--file", str(first_jobs), "--at", START]) == 0
    settings = load_settings(runtime_config)
    store = open_store(settings)
    yield settings, store
    store.close()


def _frame(store, table) -> pd.DataFrame:
    frame = store._frame(table)
    for column in ("tick_time", "hour"):
        if column in frame:
            frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def test_whole_plan_is_stored_and_consistent(submitted) -> None:
    settings, store = submitted
    t0 = pd.Timestamp(START)
    run_tick(settings, store, make_adapter(settings), t0)
    hours, sites, committed = _frame(store, PlanHourRecord), _frame(store, PlanSiteRecord), _frame(store, PlanRecord)
    horizon = settings.mpc.horizon_h
    assert len(sites) == horizon * len(settings.sites)
    assert sites["hour"].min() == t0 and sites["hour"].max() == t0 + pd.Timedelta(hours=horizon - 1)
    # hour 0 is exactly the committed step
    first = hours[hours["hour"] == t0].set_index("job_id").sort_index()
    assert first["site"].to_dict() == committed.set_index("job_id").sort_index()["site"].to_dict()
    assert np.allclose(first["gpus"], committed.set_index("job_id").sort_index()["gpus"])
    assert hours["hour"].nunique() > 1, "the plan beyond the first hour is stored"
    # the per-job rows add up to the site totals; load = GPUs x facility power of one GPU
    per_job = hours.groupby(["site", "hour"])["gpus"].sum()
    per_site = sites.set_index(["site", "hour"])["gpus"]
    assert np.allclose(per_job.reindex(per_site.index, fill_value=0.0), per_site, atol=1e-6)
    fleet = Fleet.from_settings(settings)
    per_gpu = sites["site"].map(dict(zip(fleet.names, fleet.gpu_facility_mw, strict=True)))
    assert np.allclose(sites["load_mw"], sites["gpus"] * per_gpu, rtol=1e-6, atol=1e-9)
    # the plan keeps every limit: green used <= forecast, import <= limit, load = green + grid
    assert (sites["green_used_mw"] <= sites["green_forecast_mw"] + 1e-6).all()
    assert (sites["grid_mw"] <= sites["import_limit_mw"] + 1e-6).all()
    later = sites[sites["hour"] > t0]
    assert np.allclose(later["load_mw"], later["green_used_mw"] + later["grid_mw"], atol=1e-5)


def _request(store, kind: str, job_id: str = "", site: str = "", **payload) -> int:
    return store.add_request(RequestRecord(kind=kind, job_id=job_id, site=site, payload=json.dumps(payload),
                                           requested_by="test", created_at=now_utc()),
                             AuditRecord(at=now_utc(), actor="test", role="operator", action=kind, target=job_id))


def test_cancel_and_deadline_requests_are_applied_by_the_next_tick(submitted) -> None:
    settings, store = submitted
    adapter = make_adapter(settings)
    t0 = pd.Timestamp(START)
    run_tick(settings, store, adapter, t0)
    planned = _frame(store, PlanHourRecord)
    running = sorted(store.jobs_frame().query("state == 'running'")["job_id"])
    assert running, "the first tick runs some job"
    victim = running[0]
    # pull in the deadline of the job planned to finish last: its plan must end before the new one
    jobs = store.jobs_frame().set_index("job_id")
    first_plan = planned[planned["tick_time"] == t0]
    last_hour = first_plan[first_plan["job_id"] != victim].groupby("job_id")["hour"].max()
    other = last_hour.idxmax()
    before_end = last_hour.max()
    need_h = jobs.at[other, "remaining_gpu_h"] / jobs.at[other, "gpus"]
    tight = t0 + pd.Timedelta(hours=int(np.ceil(need_h)) + 3)
    assert tight < before_end, f"{other}: planned until {before_end}, needs {need_h:.1f} h"
    _request(store, "cancel", victim)
    _request(store, "modify", other, deadline=tight.isoformat(), priority=3)
    _request(store, "cancel", "no-such-job")
    run_tick(settings, store, adapter, t0 + pd.Timedelta(hours=1))
    jobs = store.jobs_frame().set_index("job_id")
    assert jobs.at[victim, "state"] == "cancelled"
    assert jobs.at[other, "deadline"] == tight and jobs.at[other, "priority"] == 3
    requests = {r["id"]: r for r in store.requests()}
    assert [r["status"] for r in requests.values()] == ["applied", "applied", "rejected"]
    intents = store.intents()
    cancel = intents[(intents["job_id"] == victim) & (intents["action"] == "cancel")]
    assert len(cancel) == 1 and (cancel["status"] == "applied").all()
    after = _frame(store, PlanHourRecord)
    t1 = t0 + pd.Timedelta(hours=1)
    assert victim not in set(after.loc[after["tick_time"] == t1, "job_id"])
    moved = after[(after["job_id"] == other) & (after["tick_time"] == t1)]
    assert not moved.empty and moved["hour"].max() < tight < before_end, "the deadline change moved the plan"
    # a third tick changes nothing about the applied requests
    run_tick(settings, store, adapter, t0 + pd.Timedelta(hours=2))
    assert [r["status"] for r in store.requests()] == ["applied", "applied", "rejected"]
