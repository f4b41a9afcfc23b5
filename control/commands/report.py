"""``codispatch report``: the carbon-accounting report of a simulation output (or, later, the store)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import pandas as pd

from control.accounting.avoided import avoided_emissions
from control.accounting.checks import conservation_checks, format_checks
from control.accounting.from_run import ledger_for_run
from control.accounting.quality import data_quality_flags
from control.accounting.report import accounting_html, write_ledger_csv, write_page
from control.settings import load_settings

logger = logging.getLogger(__name__)


class ReportInputError(ValueError):
    """The report's input is missing or cannot be read."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("report", help="carbon-accounting report (HTML and CSV ledger) of a run")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--sim", type=Path, help="output directory of `codispatch simulate`")
    source.add_argument("--db", help="database URL of the daemon's store")
    parser.add_argument("--config", type=Path, required=True, help="the scenario TOML the run used")
    parser.add_argument("--policy", default="mpc", help="which simulated policy to account (default mpc)")
    parser.add_argument("--factors", type=Path, default=None,
                        help="restate with this factor-set file (e.g. data/factors/china_2021_national.toml)")
    parser.add_argument("--from", dest="start", default=None, help="first hour: a date (UTC day start) or ISO 8601 time with offset (default: all)")
    parser.add_argument("--to", dest="end", default=None, help="end (exclusive): a date (UTC) or ISO 8601 time with offset")
    parser.add_argument("--format", choices=["html", "csv"], default="html")
    parser.add_argument("--out", type=Path, default=None, help="output directory (default: <sim>/accounting)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.db:
        raise ReportInputError(
            f"--db {args.db}: the store holds jobs, ticks, plans, intents and issued forecasts, but not yet the "
            "settled hourly energy per site (metered or modelled load, green used, grid import) the ledger is "
            "built from, and the ledger is never recomputed from forecasts; report on a simulation output with "
            "--sim DIR (see docs/accounting.md, 'The store')"
        )
    settings = load_settings(args.config)
    dispatch, site_hour = _read_run(args.sim, args.policy, args.start, args.end)
    ledger = ledger_for_run(settings, dispatch, site_hour, args.factors)
    out = args.out or args.sim / "accounting"
    checks = conservation_checks(ledger)
    paths = write_ledger_csv(ledger, out / "ledger", checks)
    print(format_checks(checks))
    if args.format == "html":
        avoided = None
        if args.policy != "agnostic" and (args.sim / "dispatch_agnostic.csv").is_file():
            base = _read_run(args.sim, "agnostic", args.start, args.end)
            avoided = avoided_emissions(ledger, ledger_for_run(settings, *base, args.factors))
        body = accounting_html(ledger, avoided, args.policy, flags=data_quality_flags(ledger))
        paths.append(write_page(out / "report.html", f"codispatch carbon accounting: {args.policy}", body))
    period = ledger.period().set_index("site").loc["TOTAL"]
    unit, label = ("tco2", "tCO2") if ledger.factors.gas == "CO2" else ("tco2e", "tCO2e")
    print(f"{args.policy}: {period.facility_energy_mwh:,.3f} MWh, location-based {period[f'location_{unit}']:,.3f} "
          f"{label}, market-based {period[f'market_{unit}']:,.3f} {label} "
          f"(factor set {ledger.factors.name!r}, version {ledger.factors.version!r})")
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0 if checks["holds"].all() else 1


def _read_run(directory: Path, policy: str, start: str | None, end: str | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    files = [directory / f"dispatch_{policy}.csv", directory / f"site_hour_{policy}.csv"]
    for path in files:
        if not path.is_file():
            raise ReportInputError(f"{path} not found; run `codispatch simulate ... --policies {policy} --out {directory}` first")
    dispatch, site_hour = (pd.read_csv(p) for p in files)
    for frame in (dispatch, site_hour):
        frame["time"] = pd.to_datetime(frame["time"], utc=True)
    first, last = _ts(start, site_hour), _ts(end, site_hour, last=True)
    keep = lambda f: f[(f["time"] >= first) & (f["time"] < last)].reset_index(drop=True)  # noqa: E731
    dispatch, chosen = keep(dispatch), keep(site_hour)
    if chosen.empty:
        raise ReportInputError(
            f"no settled hours in [{first}, {last}); {directory} covers {site_hour['time'].min()} .. "
            f"{site_hour['time'].max()}; choose --from/--to inside it")
    return dispatch, chosen


def _ts(value: str | None, frame: pd.DataFrame, last: bool = False) -> pd.Timestamp:
    if value is None:
        return frame["time"].max() + pd.Timedelta(hours=1) if last else frame["time"].min()
    try:
        stamp = pd.Timestamp(value)
    except ValueError as error:
        raise ReportInputError(f"{value!r} is not a date or time; write e.g. 2023-07-03 or 2023-07-03T08:00+08:00") from error
    if stamp.tzinfo is None:
        if len(value) == 10:  # a bare date: that UTC day's start
            return stamp.tz_localize("UTC")
        raise ReportInputError(f"{value!r} has no UTC offset; write e.g. '{value}Z' or '{value}+08:00'")
    return stamp.tz_convert("UTC")
