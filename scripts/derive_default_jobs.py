"""Derive the embedded default job file from the real GPU-cluster traces.

Inputs (public traces, see ../shared/data/README.md):

* Alibaba cluster-trace-gpu-v2023 ``openb_pod_list_default.csv.gz``: arrival times
  (``creation_time`` [s]), GPU counts (``num_gpu``) and QoS class of 8,152 pods.
* Microsoft Philly ``philly_runtime.csv.gz``: 83,154 job runtimes [s].

Rules (all deterministic, seed fixed):

1. Pods with ``num_gpu >= 1``. The trace's arrivals are dense from day 115 on; ``--trace-day``
   days into the trace is laid onto the scenario start, keeping the arrival pattern (hour of day,
   bursts) as recorded; ``--days`` days are kept. Release = arrival rounded up to the next hour.
2. Gang size = ``num_gpu x --gang-scale``: one pod stands for a multi-node training job
   (default 64 GPUs per pod GPU, i.e. 8 nodes of 8 GPUs for a one-GPU pod).
3. Duration: a Philly runtime drawn at random among runtimes >= 1 h (training runs, not
   debugging), clipped to ``--max-hours``. Work = gang size x duration [reference-GPU hours].
4. Deadline = release + ceil(duration x U(1.5, 3.0)) + 12 h: deferrable, with slack.
5. Home site: eastern sites get ``--east-share`` of the jobs (East Data), split by GPU count;
   the rest go to western sites the same way. 10 % of jobs may only run in their home tier
   (data residency), listed in ``allowed_sites``.
6. Priority 1 for latency-sensitive pods (QoS ``LS``), else 0.
7. Checkpoint size 4 GB per GPU of the gang (weights plus optimiser state, order of magnitude).

Usage::

    python scripts/derive_default_jobs.py --config config/default.toml \\
        --shared ../shared/data --out data/jobs/default_jobs.csv

A year of 1,000 jobs (``data/jobs/year_jobs.csv``)::

    python scripts/derive_default_jobs.py --days 365 --sample 1000 --out data/jobs/year_jobs.csv
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from control.safe_csv import write_csv  # noqa: E402
from control.workload import derive_jobs, read_traces  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, default=Path("config/default.toml"))
    parser.add_argument("--shared", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, default=Path("data/jobs/default_jobs.csv"))
    parser.add_argument("--days", type=int, default=21)
    parser.add_argument("--trace-day", type=int, default=115)
    parser.add_argument("--gang-scale", type=int, default=64)
    parser.add_argument("--max-hours", type=float, default=72.0)
    parser.add_argument("--east-share", type=float, default=0.7)
    parser.add_argument("--seed", type=int, default=20230703)
    parser.add_argument("--sample", type=int, default=None,
                        help="draw this many pods and spread them over --days (long runs)")
    args = parser.parse_args()

    try:
        config = tomllib.loads(args.config.read_text())
        start = pd.Timestamp(config["scenario"]["start"]).tz_convert("UTC")
        pods, runtimes = read_traces(args.shared)
        jobs = derive_jobs(
            pods, runtimes, config["sites"], start, args.days, args.trace_day, args.gang_scale,
            args.max_hours, args.east_share, args.seed, sample=args.sample,
        )
    except (OSError, ValueError, KeyError, tomllib.TOMLDecodeError) as exc:
        print(f"derive_default_jobs: error: {exc}", file=sys.stderr)
        return 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_csv(jobs, args.out, index=False)
    print(f"wrote {len(jobs)} jobs to {args.out}: {jobs.work_gpu_h.sum():,.0f} reference GPU-hours")
    return 0


if __name__ == "__main__":
    sys.exit(main())
