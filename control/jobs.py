"""Deferrable AI-training jobs: reading and validating the job table.

A job is a gang of ``gpus`` GPUs that needs ``work_gpu_h`` hours of reference-GPU work between
``release`` and ``deadline``. On a site whose GPU model has throughput ``k`` (relative to the
reference), the gang delivers ``gpus * k`` reference-GPU hours per hour. An elastic job
(``min_gpus < gpus``) may run on any whole number of GPUs from ``min_gpus`` to ``gpus``, still on
one site at a time; its speed is taken as proportional to its GPUs (an assumption: real data-
parallel scaling is somewhat sublinear).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

REQUIRED_COLUMNS = ("job_id", "release", "deadline", "gpus", "work_gpu_h", "home_site")
OPTIONAL_COLUMNS = {"allowed_sites": "", "priority": 0, "checkpoint_gb": 0.0, "min_gpus": np.nan}


class JobFileError(ValueError):
    """The job table has a missing column or an invalid value."""


def read_jobs(path: str | Path, site_names: Iterable[str]) -> pd.DataFrame:
    """Read and validate a job CSV (columns in ``docs/CONTRACTS.md``); times become UTC."""
    path = Path(path)
    if not path.is_file():
        raise JobFileError(f"job file {path} does not exist")
    frame = pd.read_csv(path, dtype={"job_id": str, "home_site": str, "allowed_sites": str})
    return validate_jobs(frame, site_names, source=str(path))


def validate_jobs(frame: pd.DataFrame, site_names: Iterable[str], source: str = "jobs") -> pd.DataFrame:
    """Check a job table and return it with canonical dtypes (nothing is repaired silently)."""
    sites = list(site_names)
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise JobFileError(f"{source}: missing column(s) {missing}; required: {list(REQUIRED_COLUMNS)}")
    jobs = frame.copy()
    for column, default in OPTIONAL_COLUMNS.items():
        if column not in jobs.columns:
            jobs[column] = default
    jobs["allowed_sites"] = jobs["allowed_sites"].fillna("").astype(str)
    jobs["job_id"] = jobs["job_id"].astype(str)
    dupes = jobs["job_id"][jobs["job_id"].duplicated()].unique()
    if len(dupes):
        raise JobFileError(f"{source}: job_id must be unique; repeated: {list(dupes[:5])}")
    for column in ("release", "deadline"):
        jobs[column] = _utc(jobs[column], column, source)
    bad = jobs["deadline"] <= jobs["release"]
    if bad.any():
        row = jobs[bad].iloc[0]
        raise JobFileError(
            f"{source}: job {row.job_id} has deadline {row.deadline} not after release {row.release}; "
            f"{int(bad.sum())} job(s) affected. Fix the deadline or the release."
        )
    empty = jobs["min_gpus"].isna()
    jobs["min_gpus"] = jobs["min_gpus"].astype(object)
    jobs.loc[empty, "min_gpus"] = jobs.loc[empty, "gpus"]  # empty = a fixed gang
    for column, kind in (("gpus", "integer"), ("min_gpus", "integer"), ("work_gpu_h", "number"), ("checkpoint_gb", "number"), ("priority", "integer")):
        values = pd.to_numeric(jobs[column], errors="coerce")
        if values.isna().any():
            row = jobs[values.isna()].iloc[0]
            raise JobFileError(f"{source}: job {row.job_id} has {column}={row[column]!r}; it must be a {kind}")
        jobs[column] = values.astype(int if kind == "integer" else float)
    for column, low in (("gpus", 1), ("min_gpus", 1), ("work_gpu_h", 1e-9), ("checkpoint_gb", 0.0)):
        bad = jobs[column] < low
        if bad.any():
            row = jobs[bad].iloc[0]
            raise JobFileError(f"{source}: job {row.job_id} has {column}={row[column]}; it must be >= {low}")
    bad = jobs["min_gpus"] > jobs["gpus"]
    if bad.any():
        row = jobs[bad].iloc[0]
        raise JobFileError(
            f"{source}: job {row.job_id} has min_gpus={row.min_gpus} > gpus={row.gpus}; min_gpus is the "
            "smallest gang an elastic job may run on (leave it empty for a fixed gang)"
        )
    unknown_home = ~jobs["home_site"].isin(sites)
    if unknown_home.any():
        row = jobs[unknown_home].iloc[0]
        raise JobFileError(f"{source}: job {row.job_id} has home_site={row.home_site!r}; sites are {sites}")
    for job_id, allowed in zip(jobs["job_id"], jobs["allowed_sites"], strict=True):
        names = [a for a in allowed.split(";") if a]
        unknown = [a for a in names if a not in sites]
        if unknown:
            raise JobFileError(f"{source}: job {job_id} allows unknown site(s) {unknown}; sites are {sites}")
    return jobs.reset_index(drop=True)


def _utc(values: pd.Series, column: str, source: str) -> pd.Series:
    parsed = pd.to_datetime(values, errors="coerce", utc=False, format="ISO8601")
    if parsed.isna().any():
        bad = values[parsed.isna()].iloc[0]
        raise JobFileError(f"{source}: {column} {bad!r} is not an ISO 8601 time; write e.g. 2023-07-03T08:00:00Z")
    if getattr(parsed.dt, "tz", None) is None:
        raise JobFileError(
            f"{source}: {column} values have no UTC offset (e.g. {values.iloc[0]!r}); "
            "append 'Z' or '+08:00' so times are unambiguous"
        )
    return parsed.dt.tz_convert("UTC")


def allowed_matrix(jobs: pd.DataFrame, site_names: list[str]) -> np.ndarray:
    """Boolean (n_job, n_site): where each job may run (empty ``allowed_sites`` = everywhere)."""
    allowed = np.ones((len(jobs), len(site_names)), dtype=bool)
    index = {name: k for k, name in enumerate(site_names)}
    for row, spec in enumerate(jobs["allowed_sites"].to_numpy()):
        if spec:
            allowed[row, :] = False
            for name in spec.split(";"):
                if name:
                    allowed[row, index[name]] = True
    return allowed
