"""Job table: the embedded derived jobs are valid; bad jobs are rejected with a clear message."""

from __future__ import annotations

import pandas as pd
import pytest

from control.jobs import JobFileError, allowed_matrix, read_jobs, validate_jobs
from control.settings import load_settings

SITES = ["a", "b"]


def _one(**overrides) -> pd.DataFrame:
    row = {"job_id": "j1", "release": "2023-07-03T00:00:00Z", "deadline": "2023-07-04T00:00:00Z",
           "gpus": 64, "work_gpu_h": 640.0, "home_site": "a", "allowed_sites": "", "priority": 0,
           "checkpoint_gb": 10.0}
    row.update(overrides)
    return pd.DataFrame([row])


def test_default_jobs_are_valid_and_from_the_traces(default_config) -> None:
    settings = load_settings(default_config)
    jobs = read_jobs(settings.jobs.file, settings.site_names)
    assert len(jobs) > 1000
    assert jobs["release"].dt.tz is not None
    assert (jobs["deadline"] > jobs["release"]).all()
    assert jobs["source_pod"].str.startswith("openb-pod-").all()


def test_deadline_before_release_is_rejected() -> None:
    with pytest.raises(JobFileError, match=r"job 'j1'\), column deadline: value 2023-07-02T00:00:00Z is not after the release"):
        validate_jobs(_one(deadline="2023-07-02T00:00:00Z"), SITES)


def test_naive_time_unknown_site_and_bad_numbers() -> None:
    with pytest.raises(JobFileError, match="no UTC offset"):
        validate_jobs(_one(release="2023-07-03T00:00:00"), SITES)
    with pytest.raises(JobFileError, match="column home_site: value 'zz' is not a site"):
        validate_jobs(_one(home_site="zz"), SITES)
    with pytest.raises(JobFileError, match=r"column gpus: value 0 must be >= 1"):
        validate_jobs(_one(gpus=0), SITES)
    with pytest.raises(JobFileError, match="allows unknown site"):
        validate_jobs(_one(allowed_sites="a;q"), SITES)


def test_allowed_matrix() -> None:
    jobs = validate_jobs(pd.concat([_one(), _one(job_id="j2", allowed_sites="b")]), SITES)
    assert allowed_matrix(jobs, SITES).tolist() == [[True, True], [False, True]]
