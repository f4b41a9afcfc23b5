"""``codispatch report``: the carbon-accounting report of a simulation output or of the daemon's store."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import pandas as pd

from control.accounting.avoided import avoided_emissions
from control.accounting.checks import conservation_checks, format_checks
from control.accounting.from_run import ledger_for_run
from control.accounting.from_store import frames_from_store
from control.accounting.period import ReportInputError, empty_period, period_bounds, within
from control.accounting.quality import data_quality_flags
from control.reporting.accounting_report import STORE_BASIS, accounting_html, write_ledger_csv, write_page
from control.settings import load_settings
from control.store.report_rows import read_store
from control.safe_csv import read_csv

logger = logging.getLogger(__name__)

__all__ = ["ReportInputError", "register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("report", help="carbon-accounting report (HTML and CSV ledger) of a run")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--sim", type=Path, help="output directory of `codispatch simulate`")
    source.add_argument("--db", nargs="?", const="", default=None,
                        help="the daemon's store: its database URL, or nothing for the config's [runtime] store")
    parser.add_argument("--config", type=Path, required=True, help="the scenario TOML the run used")
    parser.add_argument("--policy", default="mpc", help="which simulated policy to account (default mpc; --sim only)")
    parser.add_argument("--factors", type=Path, default=None,
                        help="restate with this factor-set file (e.g. data/factors/china_2021_national.toml)")
    parser.add_argument("--from", dest="start", default=None, help="first hour: a date (UTC day start) or ISO 8601 time with offset (default: all)")
    parser.add_argument("--to", dest="end", default=None, help="end (exclusive): a date (UTC) or ISO 8601 time with offset")
    parser.add_argument("--format", choices=["html", "csv"], default="html")
    parser.add_argument("--out", type=Path, default=None, help="output directory (default: <sim>/accounting; required with --db)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    if args.db == "":
        args.db = settings.runtime.url()
    if args.db:
        if args.out is None:
            raise ReportInputError(f"--db {args.db}: give the output directory with --out DIR")
        stored = frames_from_store(settings, read_store(args.db, args.start, args.end))
        dispatch, site_hour, label, out = stored.dispatch, stored.site_hour, "daemon", args.out
    else:
        dispatch, site_hour = _read_run(args.sim, args.policy, args.start, args.end)
        label, out = args.policy, args.out or args.sim / "accounting"
    ledger = ledger_for_run(settings, dispatch, site_hour, args.factors)
    checks = conservation_checks(ledger)
    paths = write_ledger_csv(ledger, out / "ledger", checks)
    print(format_checks(checks))
    if args.db:
        flags = data_quality_flags(ledger, stored.steps) + stored.flags
        print("data quality:\n" + "\n".join(f"  - {flag}" for flag in flags))
    if args.format == "html":
        if args.db:  # the store holds no counterfactual: no avoided emissions
            body = accounting_html(ledger, None, label, flags=flags, basis=STORE_BASIS)
        else:
            body = accounting_html(ledger, _avoided(settings, args, ledger), label, flags=data_quality_flags(ledger))
        paths.append(write_page(out / "report.html", f"codispatch carbon accounting: {label}", body))
    period = ledger.period().set_index("site").loc["TOTAL"]
    unit, gas = ("tco2", "tCO2") if ledger.factors.gas == "CO2" else ("tco2e", "tCO2e")
    print(f"{label}: {period.facility_energy_mwh:,.3f} MWh, location-based {period[f'location_{unit}']:,.3f} "
          f"{gas}, market-based {period[f'market_{unit}']:,.3f} {gas} "
          f"(factor set {ledger.factors.name!r}, version {ledger.factors.version!r})")
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0 if checks["holds"].all() else 1


def _avoided(settings, args: argparse.Namespace, ledger) -> pd.DataFrame | None:  # noqa: ANN001
    """Avoided emissions against the simulation's ``agnostic`` run, when it was simulated."""
    if args.policy == "agnostic" or not (args.sim / "dispatch_agnostic.csv").is_file():
        return None
    base = _read_run(args.sim, "agnostic", args.start, args.end)
    return avoided_emissions(ledger, ledger_for_run(settings, *base, args.factors))


def _read_run(directory: Path, policy: str, start: str | None, end: str | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    files = [directory / f"dispatch_{policy}.csv", directory / f"site_hour_{policy}.csv"]
    for path in files:
        if not path.is_file():
            raise ReportInputError(f"{path} not found; run `codispatch simulate ... --policies {policy} --out {directory}` first")
    dispatch, site_hour = (read_csv(p) for p in files)
    for frame in (dispatch, site_hour):
        frame["time"] = pd.to_datetime(frame["time"], utc=True)
    first, last = period_bounds(start, end, site_hour["time"])
    dispatch, chosen = within(dispatch, first, last), within(site_hour, first, last)
    if chosen.empty:
        raise empty_period(first, last, str(directory), site_hour["time"])
    return dispatch, chosen
