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
"""

from __future__ import annotations

import argparse
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd


def derive_jobs(
    pods: pd.DataFrame,
    runtimes_s: pd.Series,
    sites: list[dict],
    start: pd.Timestamp,
    days: int,
    trace_day: int,
    gang_scale: int,
    max_hours: float,
    east_share: float,
    seed: int,
) -> pd.DataFrame:
    """Apply the rules in the module docstring; returns the job table."""
    rng = np.random.default_rng(seed)
    gpu_pods = pods[pods["num_gpu"] >= 1].copy()
    offset_s = gpu_pods["creation_time"] - trace_day * 86400
    gpu_pods = gpu_pods[(offset_s >= 0) & (offset_s < days * 86400)].copy()
    gpu_pods["offset_s"] = offset_s.loc[gpu_pods.index]
    gpu_pods = gpu_pods.sort_values(["offset_s", "name"]).reset_index(drop=True)
    n = len(gpu_pods)

    release = (start + pd.to_timedelta(gpu_pods["offset_s"], unit="s")).dt.ceil("h")
    training = runtimes_s[runtimes_s >= 3600].to_numpy() / 3600.0
    duration_h = np.minimum(rng.choice(training, size=n, replace=True), max_hours)
    gpus = gpu_pods["num_gpu"].to_numpy() * gang_scale
    slack = rng.uniform(1.5, 3.0, size=n)
    deadline = release + pd.to_timedelta(np.ceil(duration_h * slack) + 12, unit="h")

    east = [s for s in sites if s.get("tier") == "east"]
    west = [s for s in sites if s.get("tier") != "east"]
    is_east = rng.random(n) < east_share
    home = np.empty(n, dtype=object)
    for mask, group in ((is_east, east), (~is_east, west)):
        weights = np.array([s["gpu_count"] for s in group], dtype=float)
        home[mask] = rng.choice([s["name"] for s in group], size=int(mask.sum()), p=weights / weights.sum())
    restricted = rng.random(n) < 0.10
    allowed = np.where(
        restricted,
        np.where(is_east, ";".join(s["name"] for s in east), ";".join(s["name"] for s in west)),
        "",
    )
    return pd.DataFrame(
        {
            "job_id": [f"job-{i:05d}" for i in range(n)],
            "release": release.dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "deadline": deadline.dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "gpus": gpus,
            "work_gpu_h": np.round(gpus * duration_h, 3),
            "home_site": home,
            "allowed_sites": allowed,
            "priority": (gpu_pods["qos"] == "LS").astype(int).to_numpy(),
            "checkpoint_gb": gpus * 4.0,
            "source_pod": gpu_pods["name"],
        }
    )


def main() -> None:
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
    args = parser.parse_args()

    config = tomllib.loads(args.config.read_text())
    start = pd.Timestamp(config["scenario"]["start"]).tz_convert("UTC")
    pods = pd.read_csv(args.shared / "jobs/alibaba_gpu_v2023/openb_pod_list_default.csv.gz")
    runtimes = pd.read_csv(args.shared / "jobs/philly/philly_runtime.csv.gz")["runtime"]
    jobs = derive_jobs(
        pods, runtimes, config["sites"], start, args.days, args.trace_day, args.gang_scale,
        args.max_hours, args.east_share, args.seed,
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    jobs.to_csv(args.out, index=False)
    print(f"wrote {len(jobs)} jobs to {args.out}: {jobs.work_gpu_h.sum():,.0f} reference GPU-hours")


if __name__ == "__main__":
    main()
