"""The daemon's schedule, and one daemon per database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import sqlalchemy as sa
from apscheduler.schedulers.background import BackgroundScheduler

from control.runtime.daemon import JOB_IDS, build_scheduler
from control.settings import load_settings

from .conftest import write_runtime_config


def test_schedule_jobs_are_fixed_coalesced_single_and_persistent(default_config, tmp_path) -> None:
    config = write_runtime_config(default_config, tmp_path, misfire_grace_s=123)
    settings = load_settings(config)
    scheduler = build_scheduler(settings, config, "test:host:1", BackgroundScheduler)
    scheduler.start(paused=True)
    try:
        jobs = {job.id: job for job in scheduler.get_jobs()}
        assert set(jobs) == set(JOB_IDS)
        for job in jobs.values():
            assert job.coalesce is True and job.max_instances == 1 and job.misfire_grace_time == 123
            assert job.func.__module__ == "control.runtime.daemon"  # module-level functions
            assert str(job.trigger.timezone) == "UTC"
        assert jobs["control_tick"].trigger.fields[6].name == "minute"
    finally:
        scheduler.shutdown(wait=False)
    with sa.create_engine(settings.runtime.url()).connect() as connection:
        stored = connection.execute(sa.text("select id from apscheduler_jobs")).scalars().all()
    assert set(stored) == set(JOB_IDS)


def _daemon(config) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "control.cli", "daemon", "--config", str(config)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_daemons_on_one_database_exactly_one_acts(default_config, tmp_path) -> None:
    config = write_runtime_config(default_config, tmp_path)
    first = _daemon(config)
    try:
        line = first.stdout.readline()
        assert "scheduler started" in line, first.stderr.read() if first.poll() is not None else line
        second = _daemon(config)
        out, err = second.communicate(timeout=120)
        assert second.returncode == 2
        assert f"daemon:{os.uname().nodename}:{first.pid} holds the lease" in err
        assert "only one daemon may act on a database" in err
        tick = subprocess.run([sys.executable, "-m", "control.cli", "tick", "--config", str(config)],
                              capture_output=True, text=True, timeout=300)
        assert tick.returncode == 2 and "holds the store's lease" in tick.stderr
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=60)
    # the stopped daemon gave its lease back: a tick may act now (the current hour: the daemon's
    # start-up tick ran it, and an hour before the newest tick is refused, issue 13 item 3)
    tick = subprocess.run([sys.executable, "-m", "control.cli", "tick", "--config", str(config)],
                          capture_output=True, text=True, timeout=300)
    assert tick.returncode == 0, tick.stderr
