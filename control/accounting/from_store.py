"""The daemon's store as the simulation's ``dispatch`` and ``site_hour`` frames, for the ledger.

A finished tick records the jobs' progress; once its hour is over and measured (the tick after
an hour stores the hour's ``measurements``: green supply and carbon intensity per site), the hour
is settled: ``carbon_ledger`` rows (hour, job that ran: site, GPUs, IT and facility energy, green
used, grid energy, the carbon intensity and location emissions it was booked at, and whether that
rested on a ``measured`` or, after ``[runtime] settle_max_wait_h``, a ``forecast`` supply) are
booked in one transaction with the tick's ``settled_at``. :func:`control.store.report_rows.read_store`
is the one read; :func:`frames_from_store` (pure) turns its rows into the frames :func:`control.accounting.from_run.ledger_for_run` takes, so the report
of a store is built exactly like that of a simulation. What the store does not record is filled
in and named in :attr:`StoreRun.flags` (see docs/accounting.md, "The store").
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from control.accounting.booking import arrival_wait_h, green_first, hour_progress, location_emissions_t
from control.accounting.period import ReportInputError, within
from control.fleet import Fleet
from control.settings import Settings

logger = logging.getLogger(__name__)

_EPS = 1e-9


@dataclass(frozen=True)
class StoreRows:
    """What the report reads from the store."""

    ledger: pd.DataFrame
    """Every ``carbon_ledger`` row (the whole history: a job's work per hour is replayed from it)."""
    measurements: pd.DataFrame
    """``measurements`` of the period."""
    forecasts: pd.DataFrame
    """``forecasts`` valid in the period (the tick's own hour)."""
    ticks: pd.DataFrame
    """``ticks`` of the period, ``tick_time`` as UTC."""
    jobs: pd.DataFrame
    """``jobs``: ``job_id, work_gpu_h, remaining_gpu_h``, ``checkpoint_gb`` (0 when absent; and ``state``, ``deadline_status``,
    ``note`` when the store has them: the report lists jobs that need the operator)."""
    unsettled_plans: pd.DataFrame
    """Plan rows of done ticks not settled yet: progress recorded, ledger not booked."""
    sites: pd.DataFrame
    """``sites`` as the daemon last synced them from its config."""
    first: pd.Timestamp
    last: pd.Timestamp
    """The period ``[first, last)``."""
    source: str
    """The database URL with any password hidden."""


@dataclass(frozen=True)
class StoreRun:
    """A store's period in the simulation's layout (docs/CONTRACTS.md), plus what it lacks."""

    dispatch: pd.DataFrame
    site_hour: pd.DataFrame
    """The contract's columns (``import_limit_mw``, ``grid_violation_mw`` NaN: not stored) plus
    ``green_available_mw`` from the measurement and ``basis`` of the booked rows."""
    steps: pd.DataFrame
    """``time, status, flags`` of the finished ticks of the period."""
    flags: list[str]
    """Data-quality flags only a store has (estimated values, missing measurements)."""


def frames_from_store(settings: Settings, rows: StoreRows) -> StoreRun:
    """``dispatch``, ``site_hour`` and ``steps`` of the period; pure.

    site_hour per (hour, site), for every config site and every hour with a finished tick or a
    ledger row: the sums of the site's ledger rows (facility energy = ``load_mw``, IT, green used,
    grid import, emissions), the carbon intensity the rows were booked at (a site-hour without
    rows: the measurement's, else the tick's forecast), and the measurement's green supply.
    ``curtailment_absorbed_mw`` is 0 (not stored) and flagged. dispatch per ledger row; the work
    of each job-hour (not stored) is replayed like the tick records progress: GPUs x the site's
    throughput, capped at what the job had left.
    """
    regions = {s.name: s.region for s in settings.sites}
    throughput = {s.name: settings.gpu_models[s.gpu_model].throughput for s in settings.sites}
    _check_sites(rows, regions)
    history = _job_hours(rows.ledger, rows.jobs, throughput, Fleet.from_settings(settings).move_h)
    booked = within(history, rows.first, rows.last)
    done = rows.ticks[rows.ticks["status"] == "done"]
    dispatch = booked[["time", "job_id", "site", "gpus", "work_gpu_h", "it_energy_mwh", "facility_energy_mwh",
                       "migrated"]].copy()
    site_hour = _site_hour(booked, done, rows, regions)
    steps = pd.DataFrame({"time": done["tick_time"], "status": done["solver_status"].astype(str),
                          "flags": done["flags"].fillna("").astype(str)}).reset_index(drop=True)
    flags = _flags(booked, history, site_hour, rows, throughput)
    return StoreRun(dispatch.reset_index(drop=True), site_hour, steps, flags)


def _check_sites(rows: StoreRows, regions: dict[str, str]) -> None:
    unknown = sorted(set(rows.ledger["site"]) - set(regions))
    if unknown:
        raise ReportInputError(f"the store books site(s) {unknown} that the config does not have (it has "
                               f"{sorted(regions)}); report with the config the daemon ran")
    stored = dict(zip(rows.sites["name"], rows.sites["region"], strict=True))
    moved = {s: (stored[s], regions[s]) for s in sorted(set(rows.ledger["site"]) & set(stored))
             if stored[s] != regions[s]}
    if moved:
        site, (was, now) = next(iter(moved.items()))
        raise ReportInputError(f"site {site} is in region {was!r} in the store (the daemon's config) but {now!r} in "
                               f"this config ({len(moved)} site(s) differ); report with the config the daemon ran")


def _job_hours(ledger: pd.DataFrame, jobs: pd.DataFrame, throughput: dict[str, float],
               move_h: Callable[[str, str, float], float]) -> pd.DataFrame:
    """Ledger rows with ``work_gpu_h`` (replayed by the booking rule the tick records progress
    with: :func:`control.accounting.booking.hour_progress`, checkpoint waits included),
    ``nominal_gpu_h`` (a full hour's work) and ``migrated``."""
    out = ledger.sort_values(["job_id", "time"]).reset_index(drop=True)
    nominal = out["gpus"] * out["site"].map(throughput)
    job = jobs.set_index("job_id")
    work_of = job["work_gpu_h"].to_dict()
    checkpoint_of = job["checkpoint_gb"].to_dict() if "checkpoint_gb" in job else {}
    previous = out.groupby("job_id")["site"].shift()
    migrated = (previous.notna() & (previous != out["site"])).to_numpy()
    sites, gpus, k = out["site"].to_numpy(), out["gpus"].to_numpy(dtype=float), nominal.to_numpy() / out["gpus"].to_numpy()
    done = np.empty(len(out))
    for job_id, rows in out.groupby("job_id").indices.items():
        remaining = work_of.get(job_id, np.inf)
        remaining = np.inf if remaining != remaining else remaining  # work not stored: a full hour each
        left_h: float | np.ndarray = 0.0
        for i in rows:
            move = move_h(previous.iat[i], sites[i], float(checkpoint_of.get(job_id, 0.0))) if migrated[i] else 0.0
            d, _, left_h = hour_progress(remaining, gpus[i], k[i], arrival_wait_h(migrated[i], move, left_h))
            done[i] = d
            remaining = max(remaining - float(d), 0.0)
    out["nominal_gpu_h"] = nominal
    out["work_gpu_h"] = done
    out["migrated"] = migrated
    return out.sort_values(["time", "job_id"]).reset_index(drop=True)


def _site_hour(booked: pd.DataFrame, done: pd.DataFrame, rows: StoreRows, regions: dict[str, str]) -> pd.DataFrame:
    hours = sorted(set(done["tick_time"]) | set(booked["time"]))
    index = pd.MultiIndex.from_product([pd.DatetimeIndex(hours), list(regions)], names=["time", "site"])
    frame = index.to_frame(index=False)
    sums = booked.groupby(["time", "site"]).agg(
        it_load_mw=("it_energy_mwh", "sum"), load_mw=("facility_energy_mwh", "sum"),
        green_used_mw=("green_used_mwh", "sum"), grid_import_mw=("grid_energy_mwh", "sum"),
        emissions_t=("emissions_t", lambda x: x.sum(min_count=1)), booked_ci=("ci_g_per_kwh", "mean"),
        jobs=("job_id", "size"), basis=("basis", lambda b: ";".join(sorted(set(b))))).reset_index()
    measured = rows.measurements.rename(columns={"green_mw": "green_available_mw", "ci_g_per_kwh": "measured_ci"})
    issued = (rows.forecasts.sort_values("issue_time").drop_duplicates(["valid_time", "site"], keep="last")
              .rename(columns={"valid_time": "time", "ci_g_per_kwh": "forecast_ci"}))
    frame = (frame.merge(sums, on=["time", "site"], how="left")
             .merge(measured[["time", "site", "green_available_mw", "measured_ci"]], on=["time", "site"], how="left")
             .merge(issued[["time", "site", "forecast_ci"]], on=["time", "site"], how="left"))
    for column in ("it_load_mw", "load_mw", "green_used_mw", "grid_import_mw"):
        frame[column] = frame[column].fillna(0.0)
    frame["jobs"] = frame["jobs"].fillna(0).astype(int)
    frame["emissions_t"] = frame["emissions_t"].where(frame["jobs"] > 0, 0.0)
    frame["basis"] = frame["basis"].fillna("")
    # the intensity the rows were booked at (their emissions / grid), so location emissions = the store's
    booked_ci = (frame["emissions_t"] * 1000.0 / frame["grid_import_mw"].where(frame["grid_import_mw"] > 0))
    booked_ci = booked_ci.fillna(frame["booked_ci"])
    frame["ci_g_per_kwh"] = booked_ci.where(frame["jobs"] > 0, frame["measured_ci"].fillna(frame["forecast_ci"]))
    frame["measured"] = frame["measured_ci"].notna()
    frame["region"] = frame["site"].map(regions)
    frame["curtailment_absorbed_mw"] = 0.0
    frame["import_limit_mw"] = np.nan
    frame["grid_violation_mw"] = np.nan
    columns = ["time", "site", "region", "it_load_mw", "load_mw", "green_available_mw", "green_used_mw",
               "curtailment_absorbed_mw", "grid_import_mw", "import_limit_mw", "grid_violation_mw", "ci_g_per_kwh",
               "emissions_t", "jobs", "basis", "measured", "measured_ci"]
    return frame[columns]


def _flags(booked: pd.DataFrame, history: pd.DataFrame, site_hour: pd.DataFrame, rows: StoreRows,
           throughput: dict[str, float]) -> list[str]:
    flags = [f"curtailment absorbed is not recorded by the store: curtailment_absorbed_mwh is set to 0 for all "
             f"{len(site_hour)} site-hours (an estimated value; all green used is counted as on-site green)"]
    forecast = booked[booked["basis"] == "forecast"]
    if len(forecast):
        flags.append(
            f"{len(forecast)} of {len(booked)} job-hours ({forecast['facility_energy_mwh'].sum():,.3f} MWh, "
            f"{forecast['emissions_t'].sum():,.3f} tCO2 location-based) were booked on the tick's forecast of green "
            "supply and carbon intensity, not a measurement: estimated values" + _restated(site_hour))
    unbooked = booked[~booked["basis"].isin(["measured", "forecast"])]
    if len(unbooked):
        flags.append(f"{len(unbooked)} job-hour(s) were booked with neither a measurement nor a forecast "
                     f"(basis {sorted(set(unbooked['basis']))}): no carbon intensity, their emissions are missing")
    unmeasured = site_hour[(site_hour["jobs"] > 0) & ~site_hour["measured"]]
    if len(unmeasured):
        hours = pd.DatetimeIndex(unmeasured["time"].unique())
        flags.append(f"{len(unmeasured)} site-hour(s) in {len(hours)} hour(s) have ledger rows but no measurement "
                     f"(first {hours[0]}, last {hours[-1]}); the measurement of an hour is stored by the next tick")
    partial = booked[booked["work_gpu_h"] < booked["nominal_gpu_h"] - _EPS]
    if len(partial):
        flags.append(f"{len(partial)} job-hour(s) in which the job finished or waited for its checkpoint are booked "
                     "at a full hour's energy "
                     f"({partial['facility_energy_mwh'].sum():,.3f} MWh for {partial['work_gpu_h'].sum():,.3f} of "
                     f"{partial['nominal_gpu_h'].sum():,.3f} GPU-h): the store books whole hours, an overestimate")
    # progress of done but unsettled hours is recorded in the jobs and not booked yet
    plans = rows.unsettled_plans
    pending_gpu_h = (plans["gpus"] * plans["site"].map(throughput)).groupby(plans["job_id"]).sum()
    replayed = history.groupby("job_id")["work_gpu_h"].sum()
    jobs = rows.jobs.set_index("job_id").reindex(replayed.index)
    left = (jobs["work_gpu_h"] - replayed - pending_gpu_h.reindex(replayed.index, fill_value=0.0)).clip(lower=0.0)
    off = int(((left - jobs["remaining_gpu_h"]).abs() > 1e-6).sum())
    if off:
        flags.append(f"work per job-hour is not stored and was replayed from the ledger, but for {off} job(s) it "
                     "does not match the progress the store recorded; their g per GPU-hour is uncertain")
    pending = rows.ticks[rows.ticks["status"] != "done"]
    if len(pending):
        flags.append(f"{len(pending)} tick(s) in the period are planned but not finished (intents not yet applied, "
                     f"first {pending['tick_time'].min()}): their hours are not booked yet")
    return flags + job_alerts(rows.jobs)


def job_alerts(jobs: pd.DataFrame, limit: int = 20) -> list[str]:
    """One line per job that needs the operator: state ``failed`` or ``expired``, deadline status
    ``at_risk`` or ``late`` (docs/operations.md, "Job states"), with the store's note."""
    if "state" not in jobs.columns:
        return []
    status = jobs.get("deadline_status", pd.Series("on_time", index=jobs.index))
    notes = jobs.get("note", pd.Series("", index=jobs.index)).fillna("")
    final = jobs["state"].isin(["failed", "expired"])
    risky = ~jobs["state"].isin(["done", "cancelled"]) & status.isin(["at_risk", "late"])
    lines = []
    for k in jobs.index[final | risky]:
        what = jobs.at[k, "state"] if final[k] else status[k]
        job_id = str(jobs.at[k, "job_id"])
        shown = job_id if len(job_id) <= 60 else job_id[:57] + "..."
        lines.append(f"job {shown} is {what}: {notes[k][:300]}")
    if len(lines) > limit:
        lines = lines[:limit] + [f"... and {len(lines) - limit} more jobs needing attention (see the store's jobs table)"]
    return lines


def _restated(site_hour: pd.DataFrame) -> str:
    """How much the forecast-based site-hours that have a measurement now would change if
    restated with it (green first, then grid); the report keeps the booked values."""
    sh = site_hour[site_hour["basis"].str.contains("forecast") & site_hour["measured"]]
    if sh.empty:
        return ""
    green, grid = green_first(sh["load_mw"], sh["green_available_mw"].clip(lower=0.0))
    emissions = location_emissions_t(grid, sh["measured_ci"])
    d_green, d_emissions = float((green - sh["green_used_mw"]).sum()), float((emissions - sh["emissions_t"]).sum())
    if abs(d_green) < 1e-9 and abs(d_emissions) < 1e-9:
        return (f"; {len(sh)} of those site-hours have a measurement now, and restated with it nothing changes "
                "(the forecast equalled the measurement)")
    return (f"; {len(sh)} of those site-hours have a measurement now: restated with it, green used would change by "
            f"{d_green:+.4g} MWh and location emissions by {d_emissions:+.4g} tCO2 (the report keeps the values "
            "as booked)")
