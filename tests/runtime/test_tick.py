"""Ticks: plan, write, send; idempotent; degraded modes flagged on the tick."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from sqlalchemy.exc import OperationalError

from control.cli import main
from control.fleet import Fleet
from control.runtime.adapters import AdapterUnavailable, FileAdapter
from control.runtime.tick import run_tick
from control.runtime.wiring import make_adapter, open_store
from control.settings import load_settings
from control.store.engine import with_retries
from control.store.tables import PlanRecord

from .conftest import START, write_runtime_config


@pytest.fixture
def submitted(runtime_config, first_jobs):
    assert main(["submit", "--config", str(runtime_config), "--at", START, "--file", str(first_jobs)]) == 0
    settings = load_settings(runtime_config)
    return settings, open_store(settings)


def _lines(settings) -> list[dict]:
    path = settings.runtime.intents_file
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_ticks_plan_send_once_and_record_progress(submitted) -> None:
    settings, store = submitted
    adapter = make_adapter(settings)
    hours = pd.date_range(START, periods=4, freq="h")
    results = [run_tick(settings, store, adapter, t + pd.Timedelta(minutes=7)) for t in hours]
    assert all(r.status == "planned_and_sent" for r in results)
    again = run_tick(settings, store, adapter, hours[1])
    assert again.status == "already_done" and again.intents_sent == 0
    keys = [line["key"] for line in _lines(settings)]
    assert len(keys) == len(set(keys)) > 0  # every intent applied exactly once
    intents = store.intents()
    assert (intents["status"] == "applied").all() and set(intents["key"]) == set(keys)
    jobs = store.jobs_frame().set_index("job_id")
    run_hours = intents[intents["action"] == "run"].groupby("job_id").size()
    for job_id, n in run_hours.items():  # work done = GPUs x throughput per hour run, capped at the job
        assert jobs.at[job_id, "remaining_gpu_h"] < jobs.at[job_id, "work_gpu_h"]
        assert n >= 1
    ticks = store.ticks()
    assert list(ticks["status"]) == ["done"] * 4


def _plan_energy(settings, store, hour: pd.Timestamp) -> pd.DataFrame:
    """The plan of the tick at ``hour`` with the facility energy of one hour at full draw [MWh]."""
    plans = store._frame(PlanRecord)
    plans = plans[pd.to_datetime(plans["tick_time"], utc=True) == hour]
    fleet = Fleet.from_settings(settings)
    per_gpu = dict(zip(fleet.names, fleet.gpu_facility_mw, strict=True))
    return plans.assign(facility_energy_mwh=plans["gpus"] * plans["site"].map(per_gpu)).set_index("job_id")


def test_hour_is_booked_on_its_measurement_once_it_is_over(submitted) -> None:
    """Tick T finishes (progress) but books nothing: hour T is not over. Tick T+1 stores T's
    measurement and books T's ledger with basis measured, exactly the energy of T's plan; a
    repeated tick books nothing again."""
    settings, store = submitted
    adapter = make_adapter(settings)
    t0 = pd.Timestamp(START)
    t1 = t0 + pd.Timedelta(hours=1)
    assert run_tick(settings, store, adapter, t0 + pd.Timedelta(minutes=7)).status == "planned_and_sent"
    ticks = store.ticks()
    assert list(ticks["status"]) == ["done"] and ticks["settled_at"].isna().all()
    assert store.ledger().empty  # hour T is not over: not booked on its forecast
    progress = store.jobs_frame()
    assert (progress["remaining_gpu_h"] < progress["work_gpu_h"]).any()  # but the progress is recorded at once
    assert run_tick(settings, store, adapter, t1 + pd.Timedelta(minutes=7)).status == "planned_and_sent"
    assert run_tick(settings, store, adapter, t1 + pd.Timedelta(minutes=30)).status == "already_done"
    ledger = store.ledger()
    plan = _plan_energy(settings, store, t0)
    assert len(plan) > 0 and set(ledger["time"]) == {t0}  # hour T+1 waits for the next tick
    assert not ledger.duplicated(["time", "job_id"]).any() and set(ledger["job_id"]) == set(plan.index)
    assert (ledger["basis"] == "measured").all()
    booked = ledger.set_index("job_id")
    assert (booked["site"] == plan["site"]).all() and (booked["gpus"] == plan["gpus"]).all()
    assert booked["facility_energy_mwh"].to_dict() == pytest.approx(plan["facility_energy_mwh"].to_dict(), abs=1e-12)
    measured = store.measurements(t0, t1).set_index("site")["ci_g_per_kwh"]
    assert booked["ci_g_per_kwh"].to_dict() == pytest.approx(booked["site"].map(measured).to_dict(), abs=1e-12)
    ticks = store.ticks()
    assert ticks["settled_at"].notna().tolist() == [True, False]


def test_unmeasured_hour_is_booked_on_its_forecast_after_the_max_wait(default_config, tmp_path, first_jobs,
                                                                      monkeypatch, caplog) -> None:
    """No measurement ever arrives: hour T waits settle_max_wait_h = 2 hours after it ended (ticks
    T+1, T+2), then tick T+3 books it on the tick's forecast (basis forecast) and warns."""
    config = write_runtime_config(default_config, tmp_path, settle_max_wait_h=2.0)
    assert main(["submit", "--config", str(config), "--at", START, "--file", str(first_jobs)]) == 0
    settings = load_settings(config)
    assert settings.runtime.settle_max_wait_h == 2.0
    store = open_store(settings)
    adapter = make_adapter(settings)
    monkeypatch.setattr("control.runtime.tick._record_measurement", lambda *args: None)
    hours = pd.date_range(START, periods=4, freq="h")
    for hour in hours[:3]:
        run_tick(settings, store, adapter, hour)
    assert store.ledger().empty and store.ticks()["settled_at"].isna().all()
    with caplog.at_level("WARNING", logger="control.runtime.tick"):
        run_tick(settings, store, adapter, hours[3])
    assert any("no measurement" in r.getMessage() and "basis forecast" in r.getMessage() for r in caplog.records)
    ledger = store.ledger()
    plan = _plan_energy(settings, store, hours[0])
    assert set(ledger["time"]) == {hours[0]} and set(ledger["job_id"]) == set(plan.index) and len(plan) > 0
    assert (ledger["basis"] == "forecast").all()
    forecasts = store.forecasts()
    forecasts = forecasts[pd.to_datetime(forecasts["valid_time"], utc=True) == hours[0]].set_index("site")
    booked = ledger.set_index("job_id")
    assert booked["ci_g_per_kwh"].to_dict() == pytest.approx(booked["site"].map(forecasts["ci_g_per_kwh"]).to_dict())
    assert booked["facility_energy_mwh"].to_dict() == pytest.approx(plan["facility_energy_mwh"].to_dict(), abs=1e-12)
    assert store.ticks()["settled_at"].notna().tolist() == [True, False, False, False]


def test_forecast_missing_is_flagged_and_the_tick_still_plans(submitted, monkeypatch) -> None:
    settings, store = submitted

    def broken(*_args, **_kwargs):
        raise KeyError("no weather for this hour")

    monkeypatch.setattr("control.runtime.tick.forecast_provider", broken)
    result = run_tick(settings, store, make_adapter(settings), pd.Timestamp(START))
    assert "forecast_missing" in result.flags
    assert "forecast_missing" in store.ticks()["flags"].iloc[0]


class FlakyAdapter(FileAdapter):
    """A workload manager whose controller is restarting for the first ``down`` calls."""

    def __init__(self, path, capacity, down: int) -> None:
        super().__init__(path, capacity)
        self.down = down

    def apply(self, intent) -> None:
        if self.down > 0:
            self.down -= 1
            raise AdapterUnavailable("slurmctld restarting")
        super().apply(intent)


def test_workload_manager_down_keeps_intents_pending_then_sends_them(submitted) -> None:
    settings, store = submitted
    adapter = FlakyAdapter(settings.runtime.intents_file, {}, down=1)
    hours = pd.date_range(START, periods=3, freq="h")
    first = next(r for r in (run_tick(settings, store, adapter, t) for t in hours) if r.status == "pending")
    assert "workload_manager_unavailable" in first.flags
    assert (store.intents()["status"] == "pending").any()
    later = run_tick(settings, store, adapter, hours[-1] + pd.Timedelta(hours=1))
    assert later.status == "planned_and_sent"
    assert (store.intents()["status"] == "applied").all()
    keys = [line["key"] for line in _lines(settings)]
    assert len(keys) == len(set(keys))


def test_database_briefly_unavailable_is_retried() -> None:
    calls = []

    def sometimes():
        calls.append(1)
        if len(calls) < 3:
            raise OperationalError("select 1", {}, Exception("database is locked"))
        return "ok"

    assert with_retries(sometimes, retries=5, first_wait_s=0.001) == "ok" and len(calls) == 3
    with pytest.raises(OperationalError):
        with_retries(lambda: (_ for _ in ()).throw(OperationalError("x", {}, Exception("down"))), 2, 0.001)


def test_bad_submissions_write_nothing(runtime_config, tmp_path, capsys) -> None:
    base = ["submit", "--config", str(runtime_config), "--at", START]
    assert main([*base, "--job-id", "j1", "--gpus", "8", "--work-gpu-h", "10", "--release", "2023-07-03T00:00Z",
                 "--deadline", "2023-07-02T00:00Z", "--home-site", "shanghai"]) == 2
    assert "is not after the release" in capsys.readouterr().err
    assert main([*base, "--job-id", "j2", "--gpus", "8", "--work-gpu-h", "10", "--release", "2023-07-03T00:00Z",
                 "--deadline", "2023-07-04T00:00Z", "--home-site", "atlantis"]) == 2
    assert "column home_site: value 'atlantis' is not a site" in capsys.readouterr().err
    settings = load_settings(runtime_config)
    assert len(open_store(settings).jobs_frame()) == 0
    assert main([*base, "--job-id", "j3", "--gpus", "8", "--work-gpu-h", "10", "--release", "2023-07-03T00:00Z",
                 "--deadline", "2023-07-04T00:00Z", "--home-site", "shanghai"]) == 0
    assert main([*base, "--job-id", "j3", "--gpus", "8", "--work-gpu-h", "10", "--release", "2023-07-03T00:00Z",
                 "--deadline", "2023-07-04T00:00Z", "--home-site", "shanghai"]) == 2
    assert "already exist" in capsys.readouterr().err
    assert len(open_store(settings).jobs_frame()) == 1
