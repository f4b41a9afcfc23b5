"""Deadline status of the store's jobs at a tick (a pure rule; the tick stores and flags it).

Rule, per job not done, failed or expired, at tick time ``t`` (hours)::

    start   = max(t, release)
    needed  = remaining_gpu_h / (gpus x the best throughput among its allowed sites)
    slack   = deadline - start - needed

    expired   deadline <= t - expire_after_h    no longer scheduled: held, state ``expired``
    late      deadline <= t                     still scheduled (the MPC runs it, penalised)
    at_risk   slack < at_risk_margin_h          even at its full gang from now it finishes less
                                                than the margin before its deadline (or after it)
    on_time   otherwise

``expire_after_h`` and ``at_risk_margin_h`` are ``[runtime]`` settings. docs/operations.md says
what the operator does in each case.
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np
import pandas as pd

from control.jobs import allowed_matrix


class DeadlineStatus(StrEnum):
    ON_TIME = "on_time"
    AT_RISK = "at_risk"
    LATE = "late"
    EXPIRED = "expired"


FINAL_STATES = ("done", "failed", "expired")
"""Job states the planner no longer considers."""


def deadline_status(jobs: pd.DataFrame, now: pd.Timestamp, site_names: list[str], throughput: np.ndarray,
                    at_risk_margin_h: float, expire_after_h: float) -> pd.DataFrame:
    """Status and a one-line reason for every job not in a final state.

    Parameters
    ----------
    jobs
        The store's jobs frame (``job_id``, ``release``, ``deadline``, ``gpus``, ``remaining_gpu_h``,
        ``allowed_sites``, ``state``).
    throughput
        Reference-GPU hours per GPU hour of each site in ``site_names``.

    Returns
    -------
    pandas.DataFrame
        ``job_id``, ``status`` (:class:`DeadlineStatus` values), ``note``.
    """
    live = jobs[~jobs["state"].isin(FINAL_STATES)].reset_index(drop=True)
    if live.empty:
        return pd.DataFrame({"job_id": [], "status": [], "note": []})
    now = pd.Timestamp(now).tz_convert("UTC")
    hour = pd.Timedelta(hours=1)
    allowed = allowed_matrix(live, site_names)
    best = np.where(allowed, np.asarray(throughput, dtype=float)[None, :], 0.0).max(axis=1)
    rate = live["gpus"].to_numpy(dtype=float) * best
    remaining = live["remaining_gpu_h"].to_numpy(dtype=float)
    needed_h = np.divide(remaining, rate, out=np.full(len(live), np.inf), where=rate > 0)
    deadline = pd.to_datetime(live["deadline"], utc=True)
    start = pd.to_datetime(live["release"], utc=True).where(lambda r: r > now, now)
    to_deadline_h = ((deadline - now) / hour).to_numpy(dtype=float)
    slack_h = ((deadline - start) / hour).to_numpy(dtype=float) - needed_h
    status = np.select([to_deadline_h <= -expire_after_h, to_deadline_h <= 0, slack_h < at_risk_margin_h],
                       [DeadlineStatus.EXPIRED.value, DeadlineStatus.LATE.value, DeadlineStatus.AT_RISK.value],
                       DeadlineStatus.ON_TIME.value)
    notes = []
    for k, state in enumerate(status):
        due = f"deadline {deadline.iloc[k]:%Y-%m-%d %H:%M} UTC"
        if state == DeadlineStatus.EXPIRED:
            notes.append(f"{due} passed {-to_deadline_h[k]:.0f} h ago (> [runtime] expire_after_h = "
                         f"{expire_after_h:g}) with {remaining[k]:.1f} GPU h left: no longer scheduled")
        elif state == DeadlineStatus.LATE:
            notes.append(f"{due} passed {-to_deadline_h[k]:.0f} h ago with {remaining[k]:.1f} GPU h left; still "
                         f"scheduled until {expire_after_h:g} h after it")
        elif state == DeadlineStatus.AT_RISK:
            notes.append(f"{due}: needs {needed_h[k]:.1f} h at its full gang of {int(live['gpus'].iloc[k])} GPUs, "
                         f"{slack_h[k]:.1f} h of slack (< [runtime] at_risk_margin_h = {at_risk_margin_h:g})")
        else:
            notes.append("")
    return pd.DataFrame({"job_id": live["job_id"].to_numpy(), "status": status, "note": notes})
