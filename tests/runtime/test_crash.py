"""Kill `codispatch tick` with SIGKILL inside its stages, restart it, and count what was lost.

After every kill the tick is run again (as cron or the daemon would); at the end every intent in
the store must be applied exactly once by the workload manager (the file adapter's log), none
lost, none duplicated, every tick finished, and the jobs' progress counted once per tick; every
hour before the last is settled: its carbon ledger booked once, on its measurement.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pandas as pd
import pytest

from control.cli import main
from control.fleet import Fleet
from control.runtime.tick import KILL_ENV
from control.runtime.wiring import open_store
from control.settings import load_settings

from .conftest import START, write_runtime_config

STAGES = ("decided", "planned", "sent", "marked", "finished", "settled")


def _tick(config, at: pd.Timestamp, kill: str | None) -> int:
    env = dict(os.environ)
    env.pop(KILL_ENV, None)
    if kill:
        env[KILL_ENV] = kill
    done = subprocess.run([sys.executable, "-m", "control.cli", "tick", "--config", str(config), "--at", at.isoformat()],
                          env=env, capture_output=True, text=True, timeout=300)
    if done.returncode not in (0, -signal.SIGKILL):
        raise AssertionError(f"tick failed ({done.returncode}): {done.stderr[-2000:]}")
    return done.returncode


def _kill_campaign(config, kill_points: list[str]) -> dict[str, int]:
    hours = pd.date_range(START, periods=len(kill_points), freq="h")
    killed = 0
    for hour, point in zip(hours, kill_points, strict=True):
        killed += _tick(config, hour, point) == -signal.SIGKILL
        assert _tick(config, hour, None) == 0  # the restart finishes what the kill interrupted
    settings = load_settings(config)
    store = open_store(settings)
    log = [json.loads(line) for line in settings.runtime.intents_file.read_text().splitlines() if line.strip()]
    applied = pd.Series([r["key"] for r in log])
    intents = store.intents()
    figures = {
        "kill_points_tried": len(kill_points),
        "processes_killed": int(killed),
        "intents": len(intents),
        "intents_lost": int((~intents["key"].isin(applied)).sum() + (intents["status"] != "applied").sum()),
        "intents_duplicated": int(applied.duplicated().sum()),
        "ticks_unfinished": int((store.ticks()["status"] != "done").sum()),
    }
    # progress counted once per tick: replay the applied run intents
    fleet = Fleet.from_settings(settings)
    k = dict(zip(fleet.names, fleet.throughput, strict=True))
    jobs = store.jobs_frame().set_index("job_id")
    remaining = jobs["work_gpu_h"].copy()
    for record in sorted(log, key=lambda r: r["key"]):
        if record["action"] == "run":
            remaining[record["job_id"]] -= min(remaining[record["job_id"]], record["gpus"] * k[record["site"]])
    figures["jobs_progress_mismatch"] = int(((remaining - jobs["remaining_gpu_h"]).abs() > 1e-6).sum())
    # the carbon ledger books each (hour, job) that ran exactly once, once the hour is settled: every
    # hour before the last ticked one (whose measurement only the next tick stores) must be
    ticks = store.ticks()
    ticks["tick_time"] = pd.to_datetime(ticks["tick_time"], utc=True)
    settled = set(ticks.loc[ticks["settled_at"].notna(), "tick_time"])
    figures["hours_unsettled"] = int((ticks["settled_at"].isna() & (ticks["tick_time"] < hours[-1])).sum())
    figures["hours_settled"] = len(settled)
    ledger = store.ledger()
    runs = intents[intents["action"] == "run"].assign(time=lambda f: pd.to_datetime(f["tick_time"], utc=True))
    expected = set(zip(runs.loc[runs["time"].isin(settled), "time"], runs.loc[runs["time"].isin(settled), "job_id"], strict=True))
    booked = list(zip(ledger["time"], ledger["job_id"], strict=True))
    figures["ledger_rows_mismatch"] = len(expected ^ set(booked)) + (len(booked) - len(set(booked)))
    figures["ledger_rows_not_measured"] = int((ledger["basis"] != "measured").sum())
    print("crash test:", figures)
    return figures


def _setup(default_config, tmp_path, jobs: int):
    config = write_runtime_config(default_config, tmp_path)
    path = tmp_path / "jobs.csv"
    pd.read_csv(default_config.parent.parent / "data" / "jobs" / "default_jobs.csv").head(jobs).to_csv(path, index=False)
    assert main(["submit", "--config", str(config), "--at", START, "--file", str(path)]) == 0
    return config


def _assert_nothing_lost(figures: dict[str, int]) -> None:
    assert figures["processes_killed"] > 0
    assert figures["intents"] > 0
    assert figures["intents_lost"] == 0
    assert figures["intents_duplicated"] == 0
    assert figures["ticks_unfinished"] == 0
    assert figures["jobs_progress_mismatch"] == 0
    assert figures["hours_unsettled"] == 0 and figures["hours_settled"] == figures["kill_points_tried"] - 1
    assert figures["ledger_rows_mismatch"] == 0
    assert figures["ledger_rows_not_measured"] == 0  # every hour was measured by the next tick


@pytest.mark.crash
def test_kill_at_each_stage_loses_nothing(default_config, tmp_path) -> None:
    """Quick subset (default run): one kill in each stage of a tick."""
    config = _setup(default_config, tmp_path, jobs=12)
    figures = _kill_campaign(config, ["sent:1", "decided:1", "planned:1", "marked:1", "finished:1", "settled:1"])
    _assert_nothing_lost(figures)
    assert figures["processes_killed"] == 6


@pytest.mark.crash
@pytest.mark.crash_full
def test_kill_at_over_a_hundred_points_loses_nothing(default_config, tmp_path) -> None:
    """On demand (pytest -m crash_full): 120 kill points across the stages and the sends of a tick,
    at least 100 of which kill the process."""
    config = _setup(default_config, tmp_path, jobs=60)
    figures = _kill_campaign(config, full_campaign_points(120))
    _assert_nothing_lost(figures)
    assert figures["processes_killed"] >= 100  # points that a tick never reaches do not count


def full_campaign_points(n: int) -> list[str]:
    """``n`` kill points, one per hour, cycling through the stages; stages reached once per tick
    are hit at their first pass, the per-intent stages (``sent``, ``marked``) at the 1st to 4th
    intent of the tick, so almost every point kills a process."""
    points = []
    for i in range(n):
        stage = STAGES[i % len(STAGES)]
        nth = 1 + (i // len(STAGES)) % 4 if stage in ("sent", "marked") else 1
        points.append(f"{stage}:{nth}")
    return points
