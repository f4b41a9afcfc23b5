"""The HTTP API against a real uvicorn server on loopback: auth and roles, reads equal to the
store, audited writes that the next tick acts on, limits, and a fuzzed OpenAPI schema."""

from __future__ import annotations

import httpx
import pandas as pd
import pytest

from control.runtime.tick import run_tick
from control.runtime.wiring import make_adapter, open_store
from control.settings import load_settings

from .conftest import copy_fleet, running_server

WRITES = [("post", "/api/jobs/{job}/cancel", None), ("patch", "/api/jobs/{job}", {"priority": 2}),
          ("post", "/api/outages", {"site": "x", "start": "2023-07-03T00:00:00Z", "end": "2023-07-03T02:00:00Z"}),
          ("post", "/api/jobs", {"jobs": []})]
READS = ["/api/status", "/api/jobs", "/api/jobs/{job}", "/api/plan", "/api/forecasts", "/api/ledger", "/api/ticks",
         "/api/audit", "/metrics", "/dashboard", "/dashboard/jobs", "/dashboard/ticks", "/static/app.js",
         "/openapi.json"]


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_no_endpoint_without_a_token_but_healthz(server, fleet) -> None:
    job = "no-such-job"
    with httpx.Client(base_url=server, timeout=30) as client:
        health = client.get("/healthz")  # no token needed; the fleet's ticks are of 2023: overdue
        assert health.status_code == 503 and "overdue" in health.json()["reason"]
        for path in READS:
            for headers in ({}, _auth("cdp_wrong"), {"Authorization": "Basic Zm9vOmJhcg=="}):
                response = client.get(path.format(job=job), headers=headers)
                assert response.status_code == 401, (path, headers, response.status_code)
        for method, path, body in WRITES:
            response = client.request(method, path.format(job=job), json=body)
            assert response.status_code == 401, (path, response.status_code)
            response = client.request(method, path.format(job=job), json=body, headers=_auth(fleet.viewer))
            assert response.status_code == 403, (path, response.status_code)
        html = client.get("/dashboard")
        assert html.headers["www-authenticate"].startswith("Basic")  # a browser shows its login prompt
        assert client.get("/dashboard", auth=("anyone", fleet.viewer)).status_code == 200


def test_reads_equal_the_store(server, fleet) -> None:
    settings = load_settings(fleet.config)
    with open_store(settings) as store:
        jobs = store.jobs_frame()
        ticks = store.ticks()
    with httpx.Client(base_url=server, timeout=30, headers=_auth(fleet.viewer)) as client:
        status = client.get("/api/status").json()
        assert status["last_tick"]["tick_time"] == fleet.ticks[-1].isoformat()
        assert status["ticks"] == len(ticks)
        assert status["jobs_by_state"] == jobs["state"].value_counts().to_dict()
        assert status["lease"] is None or "holder" in status["lease"]
        page = client.get("/api/jobs", params={"limit": 5}).json()
        assert page["total"] == len(jobs) and len(page["items"]) == 5
        running = client.get("/api/jobs", params={"state": "running"}).json()
        assert running["total"] == int((jobs["state"] == "running").sum())
        assert all(j["state"] == "running" for j in running["items"])
        one = running["items"][0]["job_id"]
        detail = client.get(f"/api/jobs/{one}").json()
        row = jobs.set_index("job_id").loc[one]
        assert detail["remaining_gpu_h"] == pytest.approx(row["remaining_gpu_h"])
        assert detail["progress"] == pytest.approx(1 - row["remaining_gpu_h"] / row["work_gpu_h"], abs=1e-6)
        assert detail["history"] and detail["planned_hours"] and detail["expected_finish"]
        assert detail["deadline_risk"] in ("on_track", "at_risk", "late")
        assert detail["why"]["decision"] == "run" and detail["why"]["site"] == row["site"]
        assert detail["why"]["factors"]["factor"] and detail["why"]["summary"]
        plan = client.get("/api/plan").json()
        assert plan["tick_time"] == fleet.ticks[-1].isoformat()
        assert len(plan["hours"]) == settings.mpc.horizon_h * len(settings.sites)
        assert client.get("/api/jobs/nope").status_code == 404
        ledger = client.get("/api/ledger").json()
        assert ledger["total"]["facility_energy_mwh"] >= 0
        forecasts = client.get("/api/forecasts").json()["hours"]
        assert any(r["green_measured_mw"] is not None for r in forecasts)
        metrics = client.get("/metrics").text
        for name in ("codispatch_ticks_total", "codispatch_tick_duration_seconds", "codispatch_solver_seconds",
                     "codispatch_jobs{", "codispatch_planned_power_mw{", "codispatch_grid_headroom_mw{",
                     "codispatch_intents{", "codispatch_feed_age_seconds{", "codispatch_tick_flags_total"):
            assert name in metrics, name
        assert f"codispatch_ticks_total {float(len(ticks))}" in metrics
        schema = client.get("/openapi.json").json()
        assert "/api/jobs/{job_id}/cancel" in schema["paths"]


@pytest.mark.slow
def test_writes_are_validated_audited_and_acted_on_by_the_next_tick(built_fleet, tmp_path) -> None:
    fleet = copy_fleet(built_fleet, tmp_path)
    settings = load_settings(fleet.config)
    with running_server(fleet.config, "--overdue-h", "1e7") as url, \
            httpx.Client(base_url=url, timeout=30, headers=_auth(fleet.operator)) as client:
        with open_store(settings) as store:
            running = sorted(store.jobs_frame().query("state == 'running'")["job_id"])
        victim = running[0]
        assert client.post(f"/api/jobs/{victim}/cancel").status_code == 202
        assert client.patch(f"/api/jobs/{running[-1]}", json={"deadline": "no time"}).status_code == 422
        assert client.patch(f"/api/jobs/{running[-1]}", json={"priority": 5}).status_code == 202
        job = {"job_id": "api-1", "release": fleet.ticks[-1].isoformat(), "deadline": "2027-01-01T00:00:00Z",
               "gpus": 8, "work_gpu_h": 40.0, "home_site": settings.site_names[0]}
        assert client.post("/api/jobs", json={"jobs": [job]}).status_code == 201
        assert client.post("/api/jobs", json={"jobs": [job]}).status_code == 409  # already there: nothing written
        bad = dict(job, job_id="api-2", home_site="atlantis")
        response = client.post("/api/jobs", json={"jobs": [bad]})
        assert response.status_code == 422 and "atlantis" in response.text
        assert client.post("/api/jobs", content=b"x" * 2_000_000,
                           headers={"Content-Type": "application/json"}).status_code == 413
        script = dict(job, job_id="<script>alert(1)</script>")
        assert client.post("/api/jobs", json={"jobs": [script]}).status_code == 422
        audit = client.get("/api/audit").json()
        assert [a["action"] for a in audit[:3]] == ["submit", "modify", "cancel"]
        assert all(a["actor"] == "operator1" and a["at"] for a in audit[:3])
        assert client.get("/healthz").status_code == 200  # --overdue-h 1e7
        database = settings.runtime.database
        moved = database.rename(database.with_name("elsewhere.sqlite"))
        gone = client.get("/healthz")
        assert gone.status_code == 503 and "store gone" in gone.json()["reason"]
        moved.rename(database)
    with open_store(settings) as store:
        run_tick(settings, store, make_adapter(settings), fleet.ticks[-1] + pd.Timedelta(hours=1))
        jobs = store.jobs_frame().set_index("job_id")
        intents = store.intents()
    assert jobs.at[victim, "state"] == "cancelled"
    assert jobs.at[running[-1], "priority"] == 5
    assert "api-1" in jobs.index
    cancel = intents[(intents["job_id"] == victim) & (intents["action"] == "cancel")]
    assert list(cancel["status"]) == ["applied"]


