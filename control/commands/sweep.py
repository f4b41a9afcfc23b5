"""``codispatch sweep``: run many scenarios (the base config with some keys changed) on Dask."""

from __future__ import annotations

import argparse
from pathlib import Path

from control.errors import InputError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sweep", help="run a scenario sweep on Dask (local cluster or --scheduler), cached and resumable",
        description="Expand SWEEP.toml into scenarios of BASE.toml, validate all of them, run the missing ones "
                    "on Dask and write DIR/results.parquet, results.csv and index.html. Re-running the same "
                    "command skips scenarios already done (keyed by config and code version).",
    )
    parser.add_argument("--config", type=Path, required=True, help="base scenario TOML, e.g. config/default.toml")
    parser.add_argument("--sweep", type=Path, required=True, help="sweep TOML (see config/examples/sweep_western_renewables.toml)")
    parser.add_argument("--out", type=Path, required=True, help="output directory (also the cache: reuse it to resume)")
    parser.add_argument("--scheduler", default=None,
                        help="address of a running Dask scheduler, e.g. tcp://10.0.0.5:8786 (default: a local cluster)")
    parser.add_argument("--workers", type=int, default=None,
                        help="worker processes of the local cluster (default: one per core)")
    parser.add_argument("--jobs", type=Path, default=None, help="job CSV instead of the base config's [jobs] file")
    parser.add_argument("--dry-run", action="store_true", help="validate and list the scenarios, run nothing")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from control.sweep.execute import plan_runs, run_sweep, write_plan
    from control.sweep.results import write_results
    from control.sweep.spec import read_sweep

    overrides = {"jobs": {"file": str(args.jobs.resolve())}} if args.jobs else None
    plan = read_sweep(args.sweep, args.config, overrides)  # every scenario validated before anything runs
    if args.workers is not None and args.workers < 1:
        raise InputError(f"--workers {args.workers}: give at least 1")
    if args.dry_run:
        runs = plan_runs(plan)
        write_plan(plan, runs, args.out)
        for r in runs:
            print(f"{r.scenario.scenario_id} {r.key} days={r.scenario.days} {r.scenario.params}")
        print(f"{len(runs)} valid scenarios; wrote {args.out / 'plan.json'}")
        return 0
    outcome = run_sweep(plan, args.out, scheduler=args.scheduler, workers=args.workers, progress=not args.no_progress)
    paths = write_results(args.out, plan.name)
    print(f"{outcome.total} scenarios: {outcome.reused} reused, {outcome.done} run, {len(outcome.failed)} failed"
          + (f" ({outcome.elapsed_s:.1f} s on {outcome.workers} workers)" if outcome.done or outcome.failed else ""))
    for scenario_id, error in outcome.failed.items():
        print(f"  failed {scenario_id}: {error}")
    print(f"wrote {paths['parquet']}, {paths['csv']} and {paths['html']}")
    return 1 if outcome.failed else 0
