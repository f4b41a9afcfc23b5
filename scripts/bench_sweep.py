"""Benchmarks of issue 18 (printed and written as JSON; not a timed test).

1. Sweep scaling: the same short scenarios on a local Dask cluster of 1, then 2 single-threaded
   worker processes (goal: >= 1.8x on two cores); peak memory (RSS) per worker.
2. A year of the default fleet with 1,000 jobs, agnostic + mpc (goal: <= 3 min on one core):
   ``codispatch simulate --days 365`` in a child process, wall and CPU time (user + sys).
3. Optionally the same ``simulate`` over ``--ratio-days`` in a baseline source tree and in this
   one, back to back, for a speed-up ratio that survives a busy machine better than wall times.

The machine is shared: wall times vary with the load (printed with each number); CPU times of
the child process are the steadier figure.

    PYTHONPATH=. .venv/bin/python scripts/bench_sweep.py --json out/bench_sweep.json [--year] \
        [--baseline-tree /tmp/base --ratio-days 30]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def sweep_scaling(n_scenarios: int, days: int) -> dict:
    from control.sweep.execute import ResultCache, plan_runs, run_sweep
    from control.sweep.spec import read_sweep

    tmp = Path(tempfile.mkdtemp(prefix="bench_sweep_"))
    factors = [round(0.5 + 0.25 * k, 2) for k in range(n_scenarios)]
    sweep = tmp / "sweep.toml"
    sweep.write_text(f'[sweep]\npolicies = ["agnostic", "mpc"]\ndays = [{days}]\n'
                     f'[grid]\n"sites[tier=west].pv_capacity_mw:scale" = {factors}\n', encoding="utf-8")
    plan = read_sweep(sweep, REPO / "config" / "default.toml")
    out: dict = {"scenarios": n_scenarios, "days": days, "runs": {}}
    for workers in (1, 2):
        target = tmp / f"w{workers}"
        load = os.getloadavg()[0]
        outcome = run_sweep(plan, target, workers=workers, progress=False)
        cache = ResultCache(target)
        records = [rec for rec in (cache.load(r.key) for r in plan_runs(plan)) if rec is not None]
        if not records:
            raise RuntimeError(f"no scenario finished on {workers} worker(s): {outcome.failed}")
        rss: dict[str, float] = {}
        for r in records:
            rss[r["worker"]] = max(rss.get(r["worker"], 0.0), r["max_rss_mb"])
        out["runs"][str(workers)] = {
            "workers": workers, "compute_s": outcome.compute_s, "elapsed_s": outcome.elapsed_s,
            "done": outcome.done, "failed": len(outcome.failed), "load_avg_1min_before": load,
            "scenario_s_mean": sum(r["elapsed_s"] for r in records) / len(records),
            "peak_rss_mb_per_worker": rss,
        }
        print(f"sweep of {n_scenarios} x {days}-day scenarios on {workers} worker(s): {outcome.compute_s:.1f} s "
              f"(load {load:.1f}); peak RSS per worker {', '.join(f'{v:.0f} MB' for v in rss.values())}", flush=True)
    one, two = out["runs"]["1"]["compute_s"], out["runs"]["2"]["compute_s"]
    out["speedup_1_to_2"] = one / two if two > 0 else None
    print(f"speed-up 1 -> 2 workers: {out['speedup_1_to_2']:.2f}x (goal >= 1.8x)", flush=True)
    shutil.rmtree(tmp, ignore_errors=True)
    return out


def timed_simulate(tree: Path, days: int, out_dir: Path) -> dict:
    """``codispatch simulate`` of the default with the year's jobs in ``tree``: wall, CPU, peak RSS."""
    cmd = [sys.executable, "-m", "control.cli", "simulate", "--config", "config/default.toml",
           "--jobs", "data/jobs/year_jobs.csv", "--days", str(days), "--policies", "agnostic,mpc",
           "--out", str(out_dir), "--no-progress"]
    env = dict(os.environ, PYTHONPATH=str(tree))
    load = os.getloadavg()[0]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=tree, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if status != 0:
        raise RuntimeError(f"simulate in {tree} failed: {proc.stderr.read().decode()[-2000:] if proc.stderr else ''}")
    summary = json.loads((out_dir / "summary.json").read_text())
    return {"tree": str(tree), "days": days, "wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime,
            "peak_rss_mb": usage.ru_maxrss / 1024.0, "load_avg_1min_before": load, "summary": summary}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, required=True)
    parser.add_argument("--scenarios", type=int, default=4)
    parser.add_argument("--days", type=int, default=2)
    parser.add_argument("--no-sweep", action="store_true")
    parser.add_argument("--year", action="store_true", help="also time a year (several minutes)")
    parser.add_argument("--baseline-tree", type=Path, default=None)
    parser.add_argument("--ratio-days", type=int, default=30)
    args = parser.parse_args()
    result: dict = {"machine": {"cores": os.cpu_count(), "note": "shared machine; wall times depend on the load"}}
    if not args.no_sweep:
        result["sweep"] = sweep_scaling(args.scenarios, args.days)
    tmp = Path(tempfile.mkdtemp(prefix="bench_year_"))
    if args.baseline_tree is not None:
        base = timed_simulate(args.baseline_tree, args.ratio_days, tmp / "base")
        new = timed_simulate(REPO, args.ratio_days, tmp / "new")
        same = _figures(base["summary"]) == _figures(new["summary"])
        result["ratio"] = {"days": args.ratio_days, "baseline": _strip(base), "this_tree": _strip(new),
                           "cpu_speedup": base["cpu_s"] / new["cpu_s"], "wall_speedup": base["wall_s"] / new["wall_s"],
                           "summary_figures_equal": same, "differences": _differences(base["summary"], new["summary"])}
        print(f"{args.ratio_days} days: baseline CPU {base['cpu_s']:.1f} s, this tree {new['cpu_s']:.1f} s "
              f"({result['ratio']['cpu_speedup']:.2f}x); wall {base['wall_s']:.1f} -> {new['wall_s']:.1f} s; "
              f"summary figures equal: {same}", flush=True)
    if args.year:
        year = timed_simulate(REPO, 365, tmp / "year")
        result["year"] = _strip(year) | {"goal_s": 180.0, "policies": year["summary"]["policies"]}
        print(f"year (365 days, 1,000 jobs, agnostic + mpc): wall {year['wall_s']:.1f} s, CPU {year['cpu_s']:.1f} s "
              f"(load {year['load_avg_1min_before']:.1f}; goal <= 180 s)", flush=True)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"wrote {args.json}")
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


TIMING_KEYS = ("solve_s_mean", "solve_s_max")


def _figures(summary: dict) -> dict:
    return {p: {k: v for k, v in f.items() if k not in TIMING_KEYS} for p, f in summary["policies"].items()}


def _differences(a: dict, b: dict) -> dict:
    """Figures that differ, with their relative difference."""
    out = {}
    for policy, figures in _figures(a).items():
        for key, value in figures.items():
            other = _figures(b)[policy].get(key)
            if value != other:
                rel = abs(value - other) / max(abs(value), 1e-300) if isinstance(value, float) and isinstance(other, float) else None
                out[f"{policy}.{key}"] = {"baseline": value, "this_tree": other, "relative": rel}
    return out


def _strip(run: dict) -> dict:
    return {k: v for k, v in run.items() if k != "summary"}


if __name__ == "__main__":
    sys.exit(main())
