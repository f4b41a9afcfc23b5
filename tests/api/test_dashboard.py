"""The dashboard in real headless Chromium, served by the real server on a store after several
ticks: every view renders without a console error, its numbers equal the API's, and a
screenshot of each view is saved (out/dashboard/)."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import REPO

from .cdp import Chromium

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SHOTS = REPO / "out" / "dashboard"


@pytest.fixture(scope="module")
def browser(fleet):
    with Chromium() as chromium:
        chromium.open_tab({"Authorization": f"Bearer {fleet.viewer}"})
        yield chromium


@pytest.fixture(scope="module")
def api(server, fleet):
    with httpx.Client(base_url=server, timeout=30, headers={"Authorization": f"Bearer {fleet.viewer}"}) as client:
        yield client


def _cells(browser: Chromium, table: str, field: str) -> dict[str, str]:
    return browser.evaluate(
        f"Object.fromEntries(Array.from(document.querySelectorAll('#{table} tbody tr')).map(tr => "
        f"[tr.dataset.key, (tr.querySelector('[data-field={field}]') || {{}}).dataset ? "
        f"(tr.querySelector('[data-field={field}]').dataset.value ?? tr.querySelector('[data-field={field}]').textContent) : null]))")


def _render(browser: Chromium, server: str, path: str, name: str) -> float:
    seconds = browser.load(f"{server}{path}")
    assert browser.console_errors() == [], (path, browser.console_errors())
    shot = browser.screenshot(SHOTS / f"{name}.png")
    assert shot.stat().st_size > 10_000
    return seconds


def test_overview_numbers_equal_the_api(browser, server, api) -> None:
    _render(browser, server, "/dashboard", "overview")
    plan = api.get("/api/plan").json()
    first = {h["site"]: h for h in plan["hours"] if h["hour"] == plan["tick_time"]}
    for field in ("load_mw", "grid_mw", "import_limit_mw", "green_forecast_mw", "ci_g_per_kwh"):
        shown = _cells(browser, "sites-table", field)
        assert set(shown) == set(first)
        for site, value in shown.items():
            assert float(value) == pytest.approx(first[site][field], rel=1e-9, abs=1e-9), (field, site)
    ledger = api.get("/api/ledger").json()
    shown = browser.evaluate("document.getElementById('day-emissions').dataset.value")
    assert float(shown) == pytest.approx(ledger["day_total"]["emissions_t"])
    charts = browser.evaluate("document.querySelectorAll('.js-plotly-plot').length")
    assert charts == 2 * len(first)  # plan and forecast-vs-measured per site


def test_jobs_table_equals_the_api(browser, server, api) -> None:
    _render(browser, server, "/dashboard/jobs", "jobs")
    page = api.get("/api/jobs", params={"limit": 50, "offset": 0}).json()
    assert int(browser.evaluate("document.getElementById('jobs-total').dataset.value")) == page["total"]
    remaining = _cells(browser, "jobs-table", "remaining_gpu_h")
    assert {j["job_id"]: pytest.approx(j["remaining_gpu_h"]) for j in page["items"]} == \
        {k: float(v) for k, v in remaining.items()}
    risk = _cells(browser, "jobs-table", "deadline_risk")
    assert risk == {j["job_id"]: j["deadline_risk"] for j in page["items"]}
    _render(browser, server, "/dashboard/jobs?state=running", "jobs_running")
    running = api.get("/api/jobs", params={"state": "running"}).json()
    assert set(_cells(browser, "jobs-table", "state").values()) <= {"running"}
    assert len(_cells(browser, "jobs-table", "state")) == min(running["total"], 50)


def test_job_page_with_timeline_and_why(browser, server, api) -> None:
    job_id = api.get("/api/jobs", params={"state": "running"}).json()["items"][0]["job_id"]
    _render(browser, server, f"/dashboard/jobs/{job_id}", "job")
    job = api.get(f"/api/jobs/{job_id}").json()
    facts = browser.evaluate("Object.fromEntries(Array.from(document.querySelectorAll('#job [data-field]'))"
                             ".map(e => [e.dataset.field, e.textContent]))")
    assert facts["job"] == job_id and facts["state"] == job["state"] and facts["site"] == job["site"]
    assert facts["remaining GPU-h"] == f"{job['remaining_gpu_h']:.1f}"
    assert browser.evaluate("document.querySelectorAll('#timeline .js-plotly-plot').length") == 1
    summary = browser.evaluate("document.getElementById('why-summary').textContent")
    assert summary == f"{job['why']['decision']} ({job['why']['tick_time']}): {job['why']['summary']}"
    rows = browser.evaluate("document.querySelectorAll('#history-table tbody tr').length")
    assert rows == len(job["history"])


def test_tick_history_with_flags(browser, server, api, fleet) -> None:
    _render(browser, server, "/dashboard/ticks", "ticks")
    ticks = api.get("/api/ticks", params={"limit": 100}).json()
    assert int(browser.evaluate("document.getElementById('ticks-count').dataset.value")) == len(ticks) == len(fleet.ticks)
    shown = _cells(browser, "ticks-table", "jobs_running")
    assert {t["tick_time"]: t["jobs_running"] for t in ticks} == {k: int(float(v)) for k, v in shown.items()}


def test_a_hostile_job_id_is_shown_as_text(browser, server, fleet) -> None:
    hostile = "%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E"
    browser.send("Page.navigate", {"url": f"{server}/dashboard/jobs/{hostile}"})
    import time

    for _ in range(200):
        if browser.evaluate("document.body && document.body.getAttribute('data-ready')"):
            break
        time.sleep(0.05)
    assert browser.evaluate("document.querySelectorAll('img').length") == 0
