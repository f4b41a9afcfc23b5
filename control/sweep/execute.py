"""Run a sweep's scenarios on Dask, cache each result by its key, and resume what is missing.

Output directory layout::

    DIR/plan.json                    every scenario: id, key, parameters, days, start
    DIR/scenarios/<key>/result.json  one finished scenario (written atomically: a killed sweep
                                     leaves either the whole file or none)
    DIR/scenarios/<key>/error.json   one failed scenario (re-run by the next sweep)
    DIR/results.parquet, results.csv, index.html   (control.sweep.results)

Execution: a ``LocalCluster`` of single-threaded worker processes on this machine (default: one
per core), or an existing scheduler (``tcp://HOST:PORT``). Tasks go out with ``Client.map`` and
come back with ``as_completed`` as they finish; each result is written by this process the
moment it arrives. Dask reschedules the task of a worker that dies; a scenario that raises is
reported with its error and the others go on.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from distributed import WorkerPlugin

from control.sweep.spec import ScenarioSpec, SweepPlan
from control.sweep.task import code_version, make_task, run_task, scenario_key

logger = logging.getLogger(__name__)


class SolverThreads(WorkerPlugin):
    """Dask worker plugin: start HiGHS's thread pool with one thread before any task solves.

    HiGHS sizes its global scheduler on the first ``run``; later solvers in the process reuse
    it. A tiny LP solved with ``threads = 1`` at worker start keeps every MPC solve of the
    worker on one thread (the worker itself has one thread: one scenario per core). NumPy's
    BLAS threads are set to 1 by Dask's own ``distributed.nanny.pre-spawn-environ``.
    """

    name = "codispatch-solver-threads"
    idempotent = True

    def setup(self, worker: Any) -> None:  # noqa: ANN401 - dask's Worker
        pin_solver_threads()


def pin_solver_threads() -> None:
    import highspy

    h = highspy.Highs()
    h.silent()
    h.setOptionValue("threads", 1)
    x = h.addVariable(0.0, 1.0)
    h.addConstr(x >= 0.5)
    h.minimize(x)


@dataclass(frozen=True)
class ScenarioRun:
    scenario: ScenarioSpec
    key: str


@dataclass
class SweepOutcome:
    total: int
    reused: int
    done: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    """scenario id -> error text."""
    elapsed_s: float = 0.0
    """Wall time of the run, cluster start and stop included."""
    compute_s: float = 0.0
    """Wall time from the first task submitted to the last result stored."""
    workers: int = 0


class ResultCache:
    """Finished scenarios under ``DIR/scenarios/<key>/``."""

    def __init__(self, out_dir: Path) -> None:
        self.root = out_dir / "scenarios"
        self.root.mkdir(parents=True, exist_ok=True)

    def result_path(self, key: str) -> Path:
        return self.root / key / "result.json"

    def error_path(self, key: str) -> Path:
        return self.root / key / "error.json"

    def done(self, key: str) -> bool:
        return self.result_path(key).is_file()

    def load(self, key: str) -> dict[str, Any] | None:
        path = self.result_path(key)
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None

    def load_error(self, key: str) -> dict[str, Any] | None:
        path = self.error_path(key)
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None

    def store(self, key: str, record: dict[str, Any]) -> None:
        ok = record.get("status") == "done"
        path = self.result_path(key) if ok else self.error_path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(record, indent=1, default=str) + "\n", encoding="utf-8")
        os.replace(tmp, path)
        if ok and self.error_path(key).exists():
            self.error_path(key).unlink()


def plan_runs(plan: SweepPlan) -> list[ScenarioRun]:
    version = code_version()
    return [ScenarioRun(s, scenario_key(s, version)) for s in plan.scenarios]


def write_plan(plan: SweepPlan, runs: list[ScenarioRun], out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    data = {
        "name": plan.name,
        "base_config": str(plan.base_config.resolve()),
        "sweep_file": str(plan.sweep_file.resolve()),
        "code_version": code_version(),
        "keys": list(plan.keys),
        "scenarios": [
            {"scenario_id": r.scenario.scenario_id, "key": r.key, "params": r.scenario.params,
             "days": r.scenario.days, "start": r.scenario.start, "policies": list(r.scenario.policies)}
            for r in runs
        ],
    }
    tmp = out_dir / "plan.json.tmp"
    tmp.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, out_dir / "plan.json")


def run_sweep(plan: SweepPlan, out_dir: Path, scheduler: str | None = None, workers: int | None = None,
              progress: bool = True) -> SweepOutcome:
    """Run every scenario of ``plan`` not already in ``out_dir``; see the module docstring."""
    runs = plan_runs(plan)
    write_plan(plan, runs, out_dir)
    cache = ResultCache(out_dir)
    unique: dict[str, ScenarioRun] = {}
    for run in runs:
        unique.setdefault(run.key, run)  # two scenarios with the same config run once
    todo = [r for r in unique.values() if not cache.done(r.key)]
    outcome = SweepOutcome(total=len(runs), reused=len(unique) - len(todo))
    _say(f"sweep {plan.name!r}: {len(runs)} scenarios, {outcome.reused} already done, {len(todo)} to run", progress)
    if not todo:
        return outcome
    started = time.perf_counter()
    from distributed import Client, LocalCluster, as_completed

    if not logger.isEnabledFor(logging.INFO):
        # Dask logs every worker start and stop at INFO; keep the terminal for progress and errors
        for name in ("distributed", "distributed.nanny", "distributed.scheduler", "distributed.worker", "distributed.core"):
            logging.getLogger(name).setLevel(logging.ERROR)

    cluster = None
    if scheduler is None:
        n = workers or os.cpu_count() or 1
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    else:
        client = Client(scheduler, timeout="30s")
    try:
        client.register_plugin(SolverThreads())
        outcome.workers = len(client.scheduler_info(n_workers=-1)["workers"])
        _say(f"running on {client.scheduler.address} with {outcome.workers} workers", progress)
        version = code_version()
        tasks = [make_task(r.scenario, r.key, version) for r in todo]
        submitted = time.perf_counter()
        futures = client.map(run_task, tasks, key=[f"codispatch-sweep-{r.key}" for r in todo], pure=False)
        by_key = {f.key: r for f, r in zip(futures, todo, strict=True)}
        bar = _progress_bar(len(todo), progress)
        for future in as_completed(futures):
            run = by_key[future.key]
            if future.status == "error":
                exc = future.exception()
                record: dict[str, Any] = {"scenario_id": run.scenario.scenario_id, "key": run.key, "status": "failed",
                          "error": f"{type(exc).__name__}: {exc}"}
            else:
                record = future.result()
            record["params"] = run.scenario.params
            record["days"] = run.scenario.days
            record["start"] = run.scenario.start
            cache.store(run.key, record)
            future.release()
            if record["status"] == "done":
                outcome.done += 1
            else:
                outcome.failed[run.scenario.scenario_id] = record["error"]
                _say(f"scenario {run.scenario.scenario_id} {run.scenario.params} failed: {record['error']}", progress,
                     bar)
            bar.update(1)
            bar.set_postfix(done=outcome.done, failed=len(outcome.failed))
        bar.close()
        outcome.compute_s = time.perf_counter() - submitted
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    outcome.elapsed_s = time.perf_counter() - started
    return outcome


def _progress_bar(total: int, show: bool):  # noqa: ANN202
    from tqdm import tqdm

    return tqdm(total=total, desc="scenarios", unit="scenario", disable=not show, file=sys.stderr)


def _say(message: str, show: bool, bar=None) -> None:  # noqa: ANN001
    logger.info(message)
    if show:
        (bar.write if bar is not None else print)(message)
