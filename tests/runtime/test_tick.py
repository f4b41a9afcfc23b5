"""Ticks: plan, write, send; idempotent; degraded modes flagged on the tick."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from sqlalchemy.exc import OperationalError

from control.cli import main
from control.runtime.adapters import AdapterUnavailable, FileAdapter
from control.runtime.tick import run_tick
from control.runtime.wiring import make_adapter, open_store
from control.settings import load_settings
from control.store.engine import with_retries

from .conftest import START


@pytest.fixture
def submitted(runtime_config, first_jobs):
    assert main(["submit", "--config", str(runtime_config), "--file", str(first_jobs)]) == 0
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
    base = ["submit", "--config", str(runtime_config)]
    assert main([*base, "--job-id", "j1", "--gpus", "8", "--work-gpu-h", "10", "--release", "2023-07-03T00:00Z",
                 "--deadline", "2023-07-02T00:00Z", "--home-site", "shanghai"]) == 2
    assert "not after release" in capsys.readouterr().err
    assert main([*base, "--job-id", "j2", "--gpus", "8", "--work-gpu-h", "10", "--release", "2023-07-03T00:00Z",
                 "--deadline", "2023-07-04T00:00Z", "--home-site", "atlantis"]) == 2
    assert "home_site='atlantis'" in capsys.readouterr().err
    settings = load_settings(runtime_config)
    assert len(open_store(settings).jobs_frame()) == 0
    assert main([*base, "--job-id", "j3", "--gpus", "8", "--work-gpu-h", "10", "--release", "2023-07-03T00:00Z",
                 "--deadline", "2023-07-04T00:00Z", "--home-site", "shanghai"]) == 0
    assert main([*base, "--job-id", "j3", "--gpus", "8", "--work-gpu-h", "10", "--release", "2023-07-03T00:00Z",
                 "--deadline", "2023-07-04T00:00Z", "--home-site", "shanghai"]) == 2
    assert "already exist" in capsys.readouterr().err
    assert len(open_store(settings).jobs_frame()) == 1
