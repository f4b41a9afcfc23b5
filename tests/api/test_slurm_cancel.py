"""A job cancelled through the API (real uvicorn) leaves the real test Slurm at the next tick."""

from __future__ import annotations

import time

import httpx
import pandas as pd
import pytest

from control.api.auth import create_token
from control.cli import main
from control.runtime.slurm import SlurmAdapter
from control.runtime.tick import run_tick
from control.runtime.wiring import make_adapter, open_store
from control.settings import load_settings
from tests.runtime.conftest import START, write_runtime_config
from tests.runtime.slurm_cluster import running_cluster

from .conftest import running_server

pytestmark = [pytest.mark.slurm, pytest.mark.slow]


def test_api_cancel_reaches_slurm_at_the_next_tick(default_config, tmp_path) -> None:
    sites = load_settings(default_config).sites
    with running_cluster([s.name for s in sites], cpus_per_node=max(s.gpu_count for s in sites)):
        config = write_runtime_config(default_config, tmp_path, adapter="slurm")
        jobs = tmp_path / "jobs.csv"
        pd.read_csv(default_config.parent.parent / "data" / "jobs" / "default_jobs.csv").head(6).to_csv(jobs, index=False)
        assert main(["submit", "--config", str(config), "--at", START, "--file", str(jobs)]) == 0
        settings = load_settings(config)
        with open_store(settings) as store:
            adapter = make_adapter(settings)
            assert isinstance(adapter, SlurmAdapter)
            t0 = pd.Timestamp(START)
            run_tick(settings, store, adapter, t0)
            operator = create_token(store, "ops", "operator")
            placed = sorted(store.last_plan(t0 + pd.Timedelta(hours=1), within_h=1.0))
            assert placed, "the first tick runs some job"
            victim = placed[0]
            assert victim in adapter.jobs()
            with running_server(config) as url:
                response = httpx.post(f"{url}/api/jobs/{victim}/cancel", headers={"Authorization": f"Bearer {operator}"},
                                      timeout=30)
                assert response.status_code == 202, response.text
            assert victim in adapter.jobs()  # nothing happens before the next tick
            run_tick(settings, store, adapter, t0 + pd.Timedelta(hours=1))
            deadline = time.time() + 60
            while time.time() < deadline:
                job = adapter.jobs().get(victim)
                if job is None or job.state in ("CANCELLED", "COMPLETED"):
                    break
                time.sleep(0.5)
            job = adapter.jobs().get(victim)
            assert job is None or job.state == "CANCELLED", job
            assert store.jobs_frame().set_index("job_id").at[victim, "state"] == "cancelled"
            others = [j for j in placed[1:] if j in adapter.jobs()]
            assert all(adapter.jobs()[j].state != "CANCELLED" for j in others)
