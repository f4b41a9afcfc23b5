"""Deferrable AI-training workloads drawn from real GPU-cluster traces.

Inputs (public traces, see ``../shared/data/README.md``): Alibaba cluster-trace-gpu-v2023
``openb_pod_list_default.csv.gz`` (arrival times, GPU counts, QoS) and Microsoft Philly
``philly_runtime.csv.gz`` (job runtimes). The rules are in :func:`derive_jobs`; the embedded
default job file is made by ``scripts/derive_default_jobs.py`` with them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from control.errors import InputError

ALIBABA_PODS = Path("jobs/alibaba_gpu_v2023/openb_pod_list_default.csv.gz")
PHILLY_RUNTIMES = Path("jobs/philly/philly_runtime.csv.gz")


def read_traces(shared_data: Path) -> tuple[pd.DataFrame, pd.Series]:
    """The Alibaba pod table and the Philly runtimes [s] from the shared data folder."""
    pods_path, runtimes_path = shared_data / ALIBABA_PODS, shared_data / PHILLY_RUNTIMES
    for path in (pods_path, runtimes_path):
        if not path.is_file():
            raise FileNotFoundError(f"trace file {path} not found; pass the shared data folder (../shared/data)")
    return pd.read_csv(pods_path), pd.read_csv(runtimes_path)["runtime"]


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
    sample: int | None = None,
) -> pd.DataFrame:
    """Job table from the traces.

    Rules (deterministic for a seed): pods with ``num_gpu >= 1``, ``trace_day`` days into the
    trace laid onto ``start``, ``days`` kept, release rounded up to the hour; gang = ``num_gpu x
    gang_scale``; duration = a Philly runtime >= 1 h drawn at random, clipped to ``max_hours``;
    work = gang x duration [reference-GPU h]; deadline = release + ceil(duration x U(1.5, 3)) +
    12 h; home site: ``east_share`` of jobs to sites with tier ``east`` (split by GPU count), the
    rest to the others; 10 % restricted to their home tier; priority 1 for QoS ``LS``; checkpoint
    4 GB per GPU.

    With ``sample`` (long runs, e.g. a year), ``sample`` pods are drawn at random from the dense
    part of the trace (from ``trace_day`` on, all of it) and spread evenly over ``days`` in their
    arrival order, each keeping its recorded time of day.
    """
    rng = np.random.default_rng(seed)
    gpu_pods = pods[pods["num_gpu"] >= 1].copy()
    offset_s = gpu_pods["creation_time"] - trace_day * 86400
    if sample is None:
        gpu_pods = gpu_pods[(offset_s >= 0) & (offset_s < days * 86400)].copy()
        gpu_pods["offset_s"] = offset_s.loc[gpu_pods.index]
    else:
        dense = gpu_pods[offset_s >= 0]
        if sample > len(dense):
            raise InputError(f"sample={sample} exceeds the {len(dense)} GPU pods from trace day {trace_day} on")
        gpu_pods = dense.loc[np.sort(rng.choice(dense.index.to_numpy(), size=sample, replace=False))].copy()
        gpu_pods = gpu_pods.sort_values("creation_time")
        day = np.floor(np.arange(sample) * days / sample)
        gpu_pods["offset_s"] = day * 86400 + gpu_pods["creation_time"].to_numpy() % 86400
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
    if east_share > 0 and not east:
        raise InputError(
            f"east_share={east_share} sends jobs to sites with tier = \"east\", but no site has it "
            f"(sites: {[s.get('name') for s in sites]}); set tier = \"east\" on your load-centre sites, "
            "or pass --east-share 0 to give every job a home among all sites"
        )
    if east_share < 1 and not west:
        raise InputError(
            f"east_share={east_share} leaves {1 - east_share:.0%} of jobs for sites not tiered \"east\", but every "
            "site is; pass --east-share 1, or tier some sites differently"
        )
    is_east = rng.random(n) < east_share
    home = np.empty(n, dtype=object)
    for mask, group in ((is_east, east), (~is_east, west)):
        if not mask.any():
            continue
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


