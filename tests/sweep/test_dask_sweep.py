"""Sweeps on a real Dask cluster (a ``dask scheduler`` and two ``dask worker`` processes started
here on 127.0.0.1 and stopped by PID): same results as one-by-one runs, no scenario lost when a
worker dies mid-sweep, nothing done re-run on resume."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from control.scenario import load_scenario
from control.simulate import finite_json, simulate_policies, simulation_summary
from control.sweep.execute import ResultCache, SweepOutcome, plan_runs, run_sweep
from control.sweep.results import results_table, write_results
from control.sweep.spec import read_sweep
from tests.sweep.dask_cluster import REPO, start_cluster

pytestmark = pytest.mark.slow

BASE = REPO / "config" / "default.toml"
TIMING_KEYS = ("solve_s_mean", "solve_s_max")  # wall-clock seconds: differ between any two runs


def _sweep_file(tmp: Path, values: list[float], policies: str = '["agnostic", "mpc"]') -> Path:
    path = tmp / "sweep.toml"
    path.write_text(f"""
[sweep]
name = "test"
policies = {policies}
days = [1]
[grid]
"sites[tier=west].pv_capacity_mw:scale" = {values}
""", encoding="utf-8")
    return path


def _figures(summary: dict) -> dict:
    return {p: {k: v for k, v in f.items() if k not in TIMING_KEYS} for p, f in summary["policies"].items()}


@pytest.fixture
def cluster(tmp_path: Path):
    c = start_cluster(tmp_path, 2)
    yield c
    c.stop()


def test_sweep_on_two_workers_equals_one_by_one_runs_and_resumes(tmp_path: Path, cluster) -> None:
    plan = read_sweep(_sweep_file(tmp_path, [0.5, 1.0, 3.0]), BASE)
    out = tmp_path / "out"
    outcome = run_sweep(plan, out, scheduler=cluster.address, progress=False)
    assert (outcome.total, outcome.done, outcome.reused, outcome.failed) == (3, 3, 0, {})
    cache = ResultCache(out)
    workers = set()
    for run in plan_runs(plan):
        record = cache.load(run.key)
        workers.add(record["worker"])
        s = run.scenario
        scenario = load_scenario(s.settings, s.days)
        alone = finite_json(simulation_summary(s.settings, scenario, s.days, simulate_policies(s.settings, scenario, list(s.policies))))
        assert _figures(record["summary"]) == _figures(alone), s.scenario_id
    assert len(workers) == 2  # both workers ran scenarios
    greens = [cache.load(r.key)["summary"]["policies"]["mpc"]["green_energy_mwh"] for r in plan_runs(plan)]
    assert greens[0] < greens[2]  # more western PV, more green energy: the keys did change the runs

    # resume: everything is done, nothing is submitted
    again = run_sweep(plan, out, scheduler=cluster.address, progress=False)
    assert (again.reused, again.done, again.workers) == (3, 0, 0)
    # a lost result (e.g. the sweep was killed before it arrived) is the only one re-run
    lost = plan_runs(plan)[1].key
    cache.result_path(lost).unlink()
    before = {r.key: cache.result_path(r.key).stat().st_mtime_ns for r in plan_runs(plan) if r.key != lost}
    third = run_sweep(plan, out, scheduler=cluster.address, progress=False)
    assert (third.reused, third.done) == (2, 1)
    assert before == {k: cache.result_path(k).stat().st_mtime_ns for k in before}

    paths = write_results(out, "test")
    table, keys = results_table(out)
    assert keys == ["sites[tier=west].pv_capacity_mw:scale"]
    assert len(table) == 6 and set(table["policy"]) == {"agnostic", "mpc"} and (table["status"] == "done").all()
    assert paths["parquet"].stat().st_size > 0 and "Pareto front" in paths["html"].read_text()


def test_a_worker_killed_mid_sweep_loses_no_scenario(tmp_path: Path, cluster) -> None:
    from distributed import Client

    plan = read_sweep(_sweep_file(tmp_path, [0.5, 1.0, 2.0, 3.0]), BASE)
    out = tmp_path / "out"
    result: dict[str, SweepOutcome] = {}
    thread = threading.Thread(target=lambda: result.update(outcome=run_sweep(plan, out, scheduler=cluster.address, progress=False)))
    thread.start()
    with Client(cluster.address, timeout="30s") as monitor:
        pids = monitor.run(os.getpid)  # worker address -> PID
        deadline = time.monotonic() + 120
        victim = None
        while victim is None and time.monotonic() < deadline:
            busy = [w for w, keys in monitor.processing().items() if any("codispatch-sweep" in str(k) for k in keys)]
            victim = busy[0] if len(busy) == 2 else None  # both workers are in the middle of a scenario
            time.sleep(0.2)
        assert victim is not None, "the sweep never had a scenario running on both workers"
        os.kill(pids[victim], signal.SIGKILL)
    thread.join(timeout=600)
    outcome = result["outcome"]
    assert (outcome.done, outcome.failed) == (4, {})
    cache = ResultCache(out)
    records = [cache.load(r.key) for r in plan_runs(plan)]
    assert all(r is not None and r["status"] == "done" for r in records)
    assert {r["worker"] for r in records} - {victim}  # the survivor took over the lost scenario
