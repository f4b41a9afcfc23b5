"""``codispatch submit``: add deferrable jobs to the store (one on the command line, or a CSV).

A submission is validated like the simulation's job files (``control.jobs.validate_jobs``) and
written all or nothing: a rejected job writes nothing. The documented drop directory is the CSV
path: ``codispatch submit --config FILE --file drop/*.csv`` (one transaction per file).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from control.jobs import read_jobs, validate_jobs
from control.runtime.wiring import open_store
from control.settings import load_settings
from control.store.repository import now_utc


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("submit", help="submit deferrable jobs to the daemon's store")
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--file", type=Path, nargs="*", default=[], help="job CSV file(s) (columns as for simulate)")
    parser.add_argument("--job-id")
    parser.add_argument("--gpus", type=int)
    parser.add_argument("--min-gpus", type=int, default=None, help="elastic jobs: smallest gang")
    parser.add_argument("--work-gpu-h", type=float, help="work in reference-GPU hours")
    parser.add_argument("--release", help="ISO 8601 with UTC offset")
    parser.add_argument("--deadline", help="ISO 8601 with UTC offset")
    parser.add_argument("--home-site")
    parser.add_argument("--allowed-sites", default="", help="';'-separated sites (data residency); empty = any")
    parser.add_argument("--priority", type=int, default=0)
    parser.add_argument("--checkpoint-gb", type=float, default=0.0)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    batches = [read_jobs(path, settings.site_names) for path in args.file]
    if args.job_id is not None:
        fields = {"job_id": args.job_id, "gpus": args.gpus, "work_gpu_h": args.work_gpu_h, "release": args.release,
                  "deadline": args.deadline, "home_site": args.home_site}
        missing = [f"--{k.replace('_', '-')}" for k, v in fields.items() if v is None]
        if missing:
            raise ValueError(f"job {args.job_id}: missing {', '.join(missing)}")
        row = fields | {"allowed_sites": args.allowed_sites, "priority": args.priority,
                        "checkpoint_gb": args.checkpoint_gb, "min_gpus": args.min_gpus}
        batches.append(validate_jobs(pd.DataFrame([row]), settings.site_names, source="submit"))
    if not batches:
        raise ValueError("nothing to submit: give --job-id ... or --file JOBS.csv")
    store = open_store(settings)
    total = sum(store.add_jobs(batch, now_utc()) for batch in batches)
    print(f"submitted {total} job(s)")
    return 0
