"""Expected finish of jobs from the stored plan (vectorised over a page of jobs)."""

from __future__ import annotations

import pandas as pd

from control.operations.queries import expected_finishes


def test_expected_finish_is_the_end_of_the_hour_the_planned_work_reaches_the_remaining() -> None:
    h = pd.date_range("2023-07-02T20:00Z", periods=3, freq="h")
    plan = pd.DataFrame({"hour": [h[2], h[0], h[1], h[0], h[1], h[1]], "job_id": ["a", "a", "a", "b", "b", "b"],
                         "site": ["y", "x", "x", "x", "y", "y"], "gpus": [2.0, 1.0, 1.0, 1.0, 1.0, 1.0]})
    speed = {"x": 1.0, "y": 2.0}
    # a: 1 (20h) + 1 (21h) + 4 (22h at the faster site); b: 1 (20h) + 2 + 2 (21h, two sites)
    assert expected_finishes(plan, {"a": 2.0, "b": 5.0}, speed) == {"a": h[1] + pd.Timedelta(hours=1),
                                                                  "b": h[1] + pd.Timedelta(hours=1)}
    assert expected_finishes(plan, {"a": 2.5, "b": 5.5}, speed) == {"a": h[2] + pd.Timedelta(hours=1)}
    assert expected_finishes(plan, {"a": 0.0}, speed) == {}  # done jobs have no expected finish
