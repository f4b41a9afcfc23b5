"""``codispatch bench``: time one control step at fleet scale, optionally against the naive LP."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from control.errors import InputError
from control.settings import load_settings

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "config" / "default.toml"
DEFAULT_SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("bench", help="benchmark one control step on a workload from the real traces")
    parser.add_argument("--jobs", type=int, default=1000, help="number of jobs (default 1000)")
    parser.add_argument("--sites", type=int, default=8, help="number of sites (default 8)")
    parser.add_argument("--horizon-h", type=int, default=48, help="horizon [h] (default 48)")
    parser.add_argument("--naive", action="store_true", help="also solve the one-variable-per-job-site-hour LP")
    parser.add_argument("--json", type=Path, help="write the numbers to this JSON file")
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="scenario the sites are taken from")
    parser.add_argument("--shared-data", type=Path, default=DEFAULT_SHARED, help="folder with the real traces")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from control.bench import make_case, run_naive, run_step

    for name in ("jobs", "sites", "horizon_h"):
        if getattr(args, name) < 1:
            raise InputError(f"--{name.replace('_', '-')}={getattr(args, name)}; it must be at least 1")
    settings = load_settings(args.config)
    case = make_case(settings, args.shared_data, args.jobs, args.sites, args.horizon_h)
    numbers = run_step(case, settings)
    if args.naive:
        numbers.update(run_naive(case, settings))
        numbers["speedup_vs_naive"] = numbers["naive_step_s"] / numbers["step_s"]
        bound = numbers["naive_objective"]
        numbers["gap_to_naive_lp_bound"] = (numbers["executed_objective"] - bound) / max(abs(bound), 1e-9)
    width = max(len(k) for k in numbers)
    for key, value in numbers.items():
        shown = f"{value:,.4f}" if isinstance(value, float) else str(value)
        print(f"{key:<{width}}  {shown}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(numbers, indent=2) + "\n", encoding="utf-8")
    return 0
