"""A deployment that is not the default (issue 13, item 16): job derivation without an ``east``
tier, a job file of another fleet, an empty run, and carbon data of another year."""

from __future__ import annotations

import logging
import subprocess
import sys
import tomllib
from pathlib import Path

import pandas as pd
import pytest

from control.jobs import JobFileError, read_jobs

REPO = Path(__file__).resolve().parents[2]


def test_derive_jobs_without_an_east_tier_says_what_to_do(default_config, shared_data, tmp_path) -> None:
    text = default_config.read_text().replace('tier = "east"', 'tier = "load"').replace('"../data/', f'"{REPO}/data/')
    config = tmp_path / "fleet.toml"
    config.write_text(text)
    out = tmp_path / "jobs.csv"
    script = [sys.executable, str(REPO / "scripts" / "derive_default_jobs.py"), "--config", str(config),
              "--shared", str(shared_data), "--days", "2", "--out", str(out)]
    done = subprocess.run(script, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert 'no site has it' in done.stderr and "--east-share 0" in done.stderr
    done = subprocess.run([*script, "--east-share", "0"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    sites = [s["name"] for s in tomllib.loads(text)["sites"]]
    assert len(read_jobs(out, sites)) > 0


def test_job_file_of_another_fleet_says_how_to_get_one(default_config) -> None:
    with pytest.raises(JobFileError) as info:
        read_jobs(REPO / "data" / "jobs" / "default_jobs.csv", ["zurich", "geneva"])
    message = str(info.value)
    assert "line 2 (job 'job-00000'), column home_site" in message and "is not a site of this fleet" in message
    assert "scripts/derive_default_jobs.py --config YOUR.toml" in message


def test_empty_run_warns(tmp_path, caplog) -> None:
    from control.scenario import jobs_in_run

    path = tmp_path / "later.csv"
    path.write_text("job_id,release,deadline,gpus,work_gpu_h,home_site\nj1,2030-01-01T00:00Z,2030-01-02T00:00Z,8,10,shanghai\n")
    jobs = read_jobs(path, ["shanghai"])
    start = pd.Timestamp("2023-07-03T00:00Z")
    with caplog.at_level(logging.WARNING, logger="control.scenario"):
        assert jobs_in_run(jobs, start, start + pd.Timedelta(days=3000)).all()
    assert caplog.text == ""
    with caplog.at_level(logging.WARNING, logger="control.scenario"):
        assert not jobs_in_run(jobs, start, start + pd.Timedelta(days=1), path).any()
    assert "no job of" in caplog.text and "every figure will be zero" in caplog.text and "2030-01-01 00:00" in caplog.text


def test_calendar_outside_the_carbon_year_warns(shared_data, caplog) -> None:
    from forecasts.carbon_sources import electricitymaps_g_per_kwh

    path = shared_data / "carbon/electricitymaps/CH_2021_hourly.csv.gz"
    with caplog.at_level(logging.WARNING, logger="forecasts.carbon_sources"):
        electricitymaps_g_per_kwh(path, pd.date_range("2021-03-01", periods=24, freq="h", tz="UTC"))
    assert caplog.text == ""  # its own year: nothing to say
    with caplog.at_level(logging.WARNING, logger="forecasts.carbon_sources"):
        electricitymaps_g_per_kwh(path, pd.date_range("2024-03-01", periods=24, freq="h", tz="UTC"))
    assert "the carbon data cover 2021" in caplog.text and "calendar is 2024" in caplog.text
