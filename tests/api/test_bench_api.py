"""Benchmark (prints numbers, not a timed test): the status and jobs endpoints and the dashboard's
first paint with 10,000 jobs in the store, on a real uvicorn server and real headless Chromium.

    PYTHONPATH=$PWD .venv/bin/python -m pytest tests/api/test_bench_api.py -m bench -s
"""

from __future__ import annotations

import statistics
import time

import httpx
import pandas as pd
import pytest

from control.api.auth import create_token
from control.jobs import validate_jobs
from control.runtime.tick import run_tick
from control.runtime.wiring import make_adapter, open_store
from control.settings import load_settings
from tests.conftest import DEFAULT_CONFIG
from tests.runtime.conftest import START, write_runtime_config

from .cdp import Chromium
from .conftest import running_server

pytestmark = pytest.mark.bench
N_JOBS = 10_000


def _timed(client: httpx.Client, path: str, repeat: int = 30) -> tuple[float, float]:
    client.get(path)  # warm
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(path)
        seconds.append(time.perf_counter() - started)
        assert response.status_code == 200, response.text
    return statistics.median(seconds) * 1000, max(seconds) * 1000


def test_endpoints_and_first_paint_at_10000_jobs(tmp_path) -> None:
    config = write_runtime_config(DEFAULT_CONFIG, tmp_path)
    settings = load_settings(config)
    source = pd.read_csv(DEFAULT_CONFIG.parent.parent / "data" / "jobs" / "default_jobs.csv")
    copies = [source.assign(job_id=source["job_id"] + f"-{k}") for k in range(-(-N_JOBS // len(source)))]
    jobs = pd.concat(copies, ignore_index=True).sort_values("release").head(N_JOBS)
    frame = validate_jobs(jobs.drop(columns=["source_pod"]), settings.site_names, source="bench")
    with open_store(settings) as store:
        started = time.perf_counter()
        store.add_jobs(frame, pd.Timestamp(START).to_pydatetime())
        print(f"\n{N_JOBS} jobs stored in {time.perf_counter() - started:.1f} s")
        adapter = make_adapter(settings)
        for hour in pd.date_range(START, periods=3, freq="h"):
            started = time.perf_counter()
            result = run_tick(settings, store, adapter, hour)
            print(f"tick {hour:%H:%M}: {result.jobs_running} jobs run, {time.perf_counter() - started:.1f} s")
        token = create_token(store, "bench", "viewer")
        rows = store._frame(__import__("control.store.tables", fromlist=["PlanHourRecord"]).PlanHourRecord)
        print(f"plan_hours rows stored: {len(rows)}")
    headers = {"Authorization": f"Bearer {token}"}
    with running_server(config) as url, httpx.Client(base_url=url, headers=headers, timeout=60) as client:
        assert client.get("/api/jobs").json()["total"] == N_JOBS
        one = client.get("/api/jobs", params={"state": "running"}).json()["items"][0]["job_id"]
        for path in ("/api/status", "/api/jobs", "/api/jobs?limit=50&offset=5000", "/api/jobs?state=running",
                     "/api/jobs?state=queued&limit=200", f"/api/jobs/{one}", "/api/plan", "/metrics"):
            median, worst = _timed(client, path)
            print(f"GET {path:40} median {median:6.1f} ms, max {worst:6.1f} ms")
        with Chromium() as browser:
            browser.open_tab(headers)
            for path in ("/dashboard", "/dashboard/jobs", f"/dashboard/jobs/{one}", "/dashboard/ticks"):
                browser.load(f"{url}{path}")  # warm (plotly.min.js cached)
                seconds = browser.load(f"{url}{path}")
                paint = browser.evaluate("(performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime")
                ready = browser.evaluate("document.body.getAttribute('data-render-ms')")
                assert browser.console_errors() == []
                print(f"{path:28} first contentful paint {paint:7.0f} ms, data rendered {ready} ms after load, "
                      f"ready {seconds * 1000:6.0f} ms after navigation")
