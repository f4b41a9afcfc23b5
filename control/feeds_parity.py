"""Parity of the daemon and the simulation on a recorded period (one controller, tested).

:func:`run_parity` plays a recorded period (``control.feeds_record``) twice with the same config:

1. ``simulate``: the MPC in the simulation loop (:func:`control.simulate.run_policy`), its feeds
   read from the period's folders;
2. ``daemon``: one :func:`control.runtime.tick.run_tick` per simulated hour on a fresh store, the
   NWP and carbon feeds fetched over HTTP from a :class:`control.feeds_record.ReplayServer` on
   127.0.0.1 (clock set to the tick), the meter files dropped into the daemon's drop folder
   as they would be pushed (each hour's file after the hour), the jobs submitted to the store;

and compares the decisions hour by hour (job, site, GPUs), the jobs' progress and the carbon
ledger (per job-hour energy, green, grid, emissions) to ``tolerance``.

Both runs use the same settings, with one thing fixed for the comparison: no AC re-solve
(``[grid] ac_check = false``; the daemon plans on the linear limits, the simulation would tighten
them after an AC overload). The daemon's ticks share one MPC step, as the daemon process does
(:func:`control.runtime.daemon.mpc_step_for`), so both warm-start alike.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from control.feeds import ingest_measurements
from control.feeds_record import MANIFEST, ReplayServer, pushed_meter_files
from control.fleet import Fleet
from control.policies import make_policy
from control.runtime.adapters import FileAdapter
from control.runtime.daemon import mpc_step_for
from control.runtime.tick import run_tick, settle
from control.scenario import forecast_provider, load_scenario
from control.settings import Settings
from control.simulate import PolicyRun, run_policy
from control.store import Store
from control.store.repository import now_utc

logger = logging.getLogger(__name__)

TOKEN_ENV = "CODISPATCH_PARITY_CARBON_TOKEN"


@dataclass
class ParityResult:
    hours: int
    decision_rows: int
    decision_mismatches: pd.DataFrame
    ledger_max_abs_diff: float
    progress_max_abs_diff: float
    tick_flags: dict[str, int] = field(default_factory=dict)
    ledger_rows: int = 0
    http_requests: int = 0
    """Requests the daemon's ticks made to the replay server (NWP + carbon)."""

    @property
    def identical(self) -> bool:
        return self.decision_mismatches.empty

    def summary(self) -> dict:
        return {"hours": self.hours, "decision_rows": self.decision_rows,
                "decision_mismatches": len(self.decision_mismatches), "ledger_rows": self.ledger_rows,
                "ledger_max_abs_diff": self.ledger_max_abs_diff, "progress_max_abs_diff": self.progress_max_abs_diff,
                "tick_flags": self.tick_flags, "http_requests": self.http_requests}


def _overrides(period: Path, manifest: dict, work: Path, live: bool, port: int = 0, jobs: Path | None = None) -> dict:
    feeds = {"carbon_zones": manifest["zones"], "http_retries": 1, "http_backoff_s": 0.05}
    if live:
        feeds |= {"nwp_url": f"http://127.0.0.1:{port}/{{site}}/v1/forecast",
                  "carbon_url": f"http://127.0.0.1:{port}/v3", "carbon_token_env": TOKEN_ENV,
                  "measurements_dir": str(work / "drop")}
    else:
        feeds |= {"nwp_dir": str(period / "nwp"), "carbon_dir": str(period / "carbon"),
                  "measurements_dir": str(period / "measurements")}
    extra = {"jobs": {"file": str(Path(jobs).resolve())}} if jobs is not None else {}
    return extra | {"scenario": {"start": manifest["start"]}, "forecast": {"method": "feeds"}, "feeds": feeds,
            "grid": {"ac_check": False},
            "runtime": {"database": str(work / "store.sqlite"), "intents_file": str(work / "intents.jsonl")}}


def _load(config: Path, overrides: dict) -> Settings:
    """The config with ``overrides`` merged into its tables (a key of a table replaces that key only)."""
    import tomllib

    from control.settings import parse_settings

    data = tomllib.loads(Path(config).read_text(encoding="utf-8"))
    for table, values in overrides.items():
        data[table] = {**data.get(table, {}), **values}
    return parse_settings(data, base_dir=Path(config).resolve().parent, source=str(config))


def simulate_period(config: Path, period: Path, hours: int, work: Path,
                    jobs: Path | None = None) -> tuple[Settings, PolicyRun, pd.DataFrame]:
    """``codispatch simulate``'s loop (MPC) over the first ``hours`` hours of the period."""
    manifest = json.loads((period / MANIFEST).read_text(encoding="utf-8"))
    settings = _load(config, _overrides(period, manifest, work, live=False, jobs=jobs))
    scenario = load_scenario(settings, -(-hours // 24))
    if hours % 24:
        end = scenario.index[hours - 1] + pd.Timedelta(hours=1)
        in_run = scenario.jobs["deadline"] <= end
        scenario = replace(scenario, index=scenario.index[:hours], jobs=scenario.jobs[in_run].reset_index(drop=True))
    run = run_policy(scenario, make_policy("mpc", settings, scenario), ac_check=False)
    return settings, run, scenario.jobs


def daemon_period(config: Path, period: Path, hours: int, work: Path,
                  jobs: pd.DataFrame) -> tuple[Store, dict[str, int], int]:
    """One tick per simulated hour; after the last one, the last hour's meters are taken in and
    settled as the next tick would (without planning beyond the period)."""
    manifest = json.loads((period / MANIFEST).read_text(encoding="utf-8"))
    token = secrets.token_urlsafe(24)
    drop = work / "drop"
    drop.mkdir(parents=True, exist_ok=True)
    flags: dict[str, int] = {}
    previous = os.environ.get(TOKEN_ENV)
    os.environ[TOKEN_ENV] = token
    try:
        with ReplayServer(period, token) as server:
            settings = _load(config, _overrides(period, manifest, work, live=True, port=server.port))
            store = Store.open(settings.runtime.url(), create=True)  # a fresh work directory: its first start
            store.add_jobs(jobs, now_utc())
            adapter = FileAdapter(settings.runtime.intents_file, {s.name: s.gpu_count for s in settings.sites})
            start = pd.Timestamp(manifest["start"]).tz_convert("UTC")
            copied: set[str] = set()
            ticks = pd.date_range(start, periods=hours + 1, freq="h")
            for tick in ticks:
                server.clock = tick
                for path in pushed_meter_files(period / "measurements", tick):
                    if path.name not in copied:
                        shutil.copy(path, drop / path.name)
                        copied.add(path.name)
                if tick == ticks[-1]:
                    feeds = forecast_provider(settings, tick, pd.date_range(tick, periods=1, freq="h"), live=True)
                    flags_end = ingest_measurements(settings, store, feeds, tick)
                    settle(store, Fleet.from_settings(settings), tick, settings.runtime.settle_max_wait_h)
                    for flag in flags_end:
                        flags[flag] = flags.get(flag, 0) + 1
                    break
                result = run_tick(settings, store, adapter, tick + pd.Timedelta(minutes=5),
                                  mpc_step_for(str(config), settings))
                for flag in result.flags:
                    flags[flag] = flags.get(flag, 0) + 1
            requests = len(server.requests)
    finally:
        if previous is None:
            os.environ.pop(TOKEN_ENV, None)
        else:
            os.environ[TOKEN_ENV] = previous
    return store, flags, requests


def simulation_ledger(run: PolicyRun) -> pd.DataFrame:
    """The simulation's per job-hour ledger in the store's layout (green shared pro rata)."""
    site = run.site_hour.set_index(["time", "site"])
    d = run.dispatch.copy()
    key = list(zip(d["time"], d["site"], strict=True))
    load = site["load_mw"].reindex(key).to_numpy()
    green = site["green_used_mw"].reindex(key).to_numpy()
    share = np.divide(green, load, out=np.zeros_like(load), where=load > 0)
    d["green_used_mwh"] = d["facility_energy_mwh"] * share
    d["grid_energy_mwh"] = d["facility_energy_mwh"] - d["green_used_mwh"]
    d["ci_g_per_kwh"] = site["ci_g_per_kwh"].reindex(key).to_numpy()
    d["emissions_t"] = d["grid_energy_mwh"] * d["ci_g_per_kwh"] / 1000.0
    return d


LEDGER_COLUMNS = ["it_energy_mwh", "facility_energy_mwh", "green_used_mwh", "grid_energy_mwh", "ci_g_per_kwh",
                  "emissions_t"]


def run_parity(config: Path, period: Path, work: Path, days: int | None = None,
               jobs: Path | None = None, hours: int | None = None) -> ParityResult:
    """Play the first ``hours`` (or ``days``; default the whole period) of ``period`` through the
    simulation and through the daemon and compare (module notes)."""
    manifest = json.loads((Path(period) / MANIFEST).read_text(encoding="utf-8"))
    n_hours = hours or 24 * (days or int(manifest["days"]))
    work.mkdir(parents=True, exist_ok=True)
    _, run, played = simulate_period(config, Path(period), n_hours, work / "simulate", jobs)
    store, flags, requests = daemon_period(config, Path(period), n_hours, work / "daemon", played)
    played_hours = pd.date_range(pd.Timestamp(manifest["start"]).tz_convert("UTC"), periods=n_hours, freq="h")
    plans = store.plans(list(played_hours))[["tick_time", "job_id", "site", "gpus"]].rename(columns={"tick_time": "time"})
    sim = run.dispatch[["time", "job_id", "site", "gpus"]]
    merged = sim.merge(plans, on=["time", "job_id"], how="outer", suffixes=("_simulate", "_daemon"), indicator=True)
    mismatches = merged[(merged["_merge"] != "both") | (merged["site_simulate"] != merged["site_daemon"])
                        | (merged["gpus_simulate"] != merged["gpus_daemon"])]
    ledger = store.ledger()
    ledger = ledger[ledger["time"].isin(played_hours)]
    expected = simulation_ledger(run)
    both = expected.merge(ledger, on=["time", "job_id"], suffixes=("_simulate", "_daemon"))
    diff = max((float(np.max(np.abs(both[f"{c}_simulate"] - both[f"{c}_daemon"]))) if len(both) else 0.0)
               for c in LEDGER_COLUMNS)
    if len(both) != len(expected) or len(both) != len(ledger):
        diff = float("inf")
    progress = store.jobs_frame().set_index("job_id")["remaining_gpu_h"]
    sim_left = run.jobs.set_index("job_id")["remaining_gpu_h"].clip(lower=0.0)
    progress_diff = float(np.max(np.abs(progress.reindex(sim_left.index).to_numpy() - sim_left.to_numpy()))) \
        if len(sim_left) else 0.0
    store.close()
    return ParityResult(len(played_hours), len(sim), mismatches.drop(columns="_merge"), diff, progress_diff, flags, len(ledger),
                        requests)
