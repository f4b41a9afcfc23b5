"""A real store after several ticks, API tokens, and a real uvicorn server on 127.0.0.1."""

from __future__ import annotations

import os
import selectors
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from control.api.auth import create_token
from control.cli import main
from control.runtime.tick import run_tick
from control.runtime.wiring import make_adapter, open_store
from control.settings import load_settings
from tests.conftest import DEFAULT_CONFIG, REPO
from tests.runtime.conftest import (  # noqa: F401
    START,
    first_jobs,
    runtime_config,
    write_runtime_config,
)

TICKS = 4


@contextmanager
def running_server(config: Path, *extra: str, timeout_s: float = 180.0) -> Iterator[str]:
    """``codispatch serve`` on a free loopback port; yields its base URL; stopped by PID."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    process = subprocess.Popen([sys.executable, "-m", "control.cli", "serve", "--config", str(config), "--port", "0",
                                *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO)
    try:
        selector = selectors.DefaultSelector()
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout_s):
            raise RuntimeError("codispatch serve did not start")
        line = process.stdout.readline()
        if "listening on" not in line:
            raise RuntimeError(f"codispatch serve: {line!r} {process.stderr.read()[-2000:] if process.poll() else ''}")
        yield line.split("listening on ")[1].strip()
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()
        process.stderr.close()


@dataclass(frozen=True)
class Fleet:
    config: Path
    viewer: str
    operator: str
    ticks: list[pd.Timestamp]


def build_fleet(directory: Path, n_jobs: int = 12, ticks: int = TICKS) -> Fleet:
    """The default scenario's first ``n_jobs`` jobs submitted and ``ticks`` hourly ticks run."""
    config = write_runtime_config(DEFAULT_CONFIG, directory)
    jobs = directory / "jobs.csv"
    pd.read_csv(DEFAULT_CONFIG.parent.parent / "data" / "jobs" / "default_jobs.csv").head(n_jobs).to_csv(jobs, index=False)
    assert main(["submit", "--config", str(config), "--file", str(jobs), "--at", START]) == 0
    settings = load_settings(config)
    hours = list(pd.date_range(START, periods=ticks, freq="h"))
    with open_store(settings) as store:
        adapter = make_adapter(settings)
        for hour in hours:
            run_tick(settings, store, adapter, hour + pd.Timedelta(minutes=5))
        viewer, operator = create_token(store, "viewer1", "viewer"), create_token(store, "operator1", "operator")
    return Fleet(config, viewer, operator, hours)


@pytest.fixture(scope="session")
def built_fleet(tmp_path_factory) -> Fleet:
    """Built once per test session (ticks are the slow part); tests that write get a copy."""
    return build_fleet(tmp_path_factory.mktemp("fleet"))


def copy_fleet(fleet: Fleet, directory: Path) -> Fleet:
    """The fleet's config and store copied into ``directory`` (a store of its own to write to)."""
    import shutil

    source = fleet.config.parent
    for path in source.iterdir():
        if path.is_file():
            shutil.copy2(path, directory / path.name)
    config = directory / fleet.config.name
    config.write_text(fleet.config.read_text().replace(str(source), str(directory)))
    return Fleet(config, fleet.viewer, fleet.operator, fleet.ticks)


@pytest.fixture(scope="session")
def fleet(built_fleet, tmp_path_factory) -> Fleet:
    return copy_fleet(built_fleet, tmp_path_factory.mktemp("fleet_copy"))


@pytest.fixture(scope="session")
def server(fleet) -> Iterator[str]:
    with running_server(fleet.config) as url:  # default --overdue-h 2: the 2023 ticks are overdue
        yield url
