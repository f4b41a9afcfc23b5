"""A real Dask cluster for tests and benchmarks: ``dask scheduler`` and ``dask worker`` processes on
127.0.0.1 (free ports), started as subprocesses and stopped by PID."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DASK = str(Path(sys.executable).parent / "dask")


@dataclass
class DaskCluster:
    address: str
    scheduler: subprocess.Popen
    workers: list[subprocess.Popen] = field(default_factory=list)
    logs: list = field(default_factory=list)

    def stop(self) -> None:
        for proc in [*self.workers, self.scheduler]:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGTERM)
        for proc in [*self.workers, self.scheduler]:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        for log in self.logs:
            log.close()


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def start_cluster(tmp: Path, n_workers: int, timeout_s: float = 120.0) -> DaskCluster:
    """Scheduler plus ``n_workers`` single-threaded workers without nanny (killing a worker's PID
    removes it for good, as a lost machine would)."""
    scheduler_file = tmp / "scheduler.json"
    log = open(tmp / "scheduler.log", "w")  # noqa: SIM115 - closed with the process
    scheduler = subprocess.Popen(
        [DASK, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard", "--scheduler-file", str(scheduler_file)],
        stdout=log, stderr=subprocess.STDOUT, env=_env(), cwd=tmp,
    )
    deadline = time.monotonic() + timeout_s
    while not scheduler_file.exists() or not scheduler_file.read_text().strip():
        if scheduler.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"dask scheduler did not start; see {tmp / 'scheduler.log'}")
        time.sleep(0.2)
    address = json.loads(scheduler_file.read_text())["address"]
    cluster = DaskCluster(address, scheduler, logs=[log])
    for k in range(n_workers):
        worker_log = open(tmp / f"worker{k}.log", "w")  # noqa: SIM115
        cluster.logs.append(worker_log)
        cluster.workers.append(start_worker(address, k, tmp, worker_log))
    wait_for_workers(address, n_workers, deadline)
    return cluster


def start_worker(address: str, k: int, tmp: Path, log) -> subprocess.Popen:  # noqa: ANN001
    return subprocess.Popen(
        [DASK, "worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard", "--host", "127.0.0.1",
         "--name", f"w{k}", "--local-directory", str(tmp / f"w{k}")],
        stdout=log, stderr=subprocess.STDOUT, env=_env(), cwd=tmp,
    )


def wait_for_workers(address: str, n: int, deadline: float) -> None:
    from distributed import Client

    with Client(address, timeout="30s") as client:
        while len(client.scheduler_info(n_workers=-1)["workers"]) < n:
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {len(client.scheduler_info(n_workers=-1)['workers'])} of {n} dask workers came up")
            time.sleep(0.3)
