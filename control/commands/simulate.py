"""``codispatch simulate``: run policies in closed loop over a scenario and write a report."""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Mapping
from pathlib import Path

from control.accounting.avoided import avoided_emissions
from control.accounting.checks import conservation_checks, format_checks
from control.accounting.from_run import ledger_for_run
from control.accounting.quality import data_quality_flags
from control.policies import POLICY_NAMES, check_policy_names, make_policy
from control.reporting.accounting_report import accounting_html, write_ledger_csv
from control.reporting.simulation_report import format_table, write_simulation_report
from control.scenario import load_scenario
from control.settings import Settings, load_settings
from control.simulate import finite_json, run_policy, simulate_policies, simulation_summary
from control.safe_csv import write_csv

logger = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("simulate", help="simulate policies over a scenario, write summary and report")
    parser.add_argument("--config", type=Path, required=True, help="scenario TOML, e.g. config/default.toml")
    parser.add_argument("--days", type=int, default=7, help="days to simulate (default 7)")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument(
        "--policies", default="agnostic,mpc",
        help=f"comma-separated policies to run (available: {', '.join(POLICY_NAMES)})",
    )
    parser.add_argument("--jobs", type=Path, default=None,
                        help="job CSV to use instead of the config's [jobs] file (e.g. data/jobs/year_jobs.csv)")
    parser.add_argument("--forecast", choices=["perfect", "as_issued", "persistence"], default=None,
                        help="forecast method instead of the config's [forecast] method")
    parser.add_argument("--no-perfect-reference", action="store_true",
                        help="with imperfect forecasts, skip the second mpc run on perfect forecasts (the upper bound "
                             "behind share_of_perfect_forecast_cut)")
    parser.add_argument("--json", action="store_true",
                        help="print the headline figures of mpc as one JSON object (after the table)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    overrides = {}
    if args.jobs:
        overrides["jobs"] = {"file": str(args.jobs.resolve())}
    if args.forecast:
        overrides["forecast"] = {"method": args.forecast}
    settings = load_settings(args.config, overrides)
    names = [n.strip() for n in args.policies.split(",") if n.strip()]
    check_policy_names(names)  # before any work
    scenario = load_scenario(settings, args.days)
    runs = simulate_policies(settings, scenario, names, progress=not args.no_progress)
    if settings.forecast.method != "perfect" and "mpc" in names and not args.no_perfect_reference:
        perfect = load_scenario(settings.model_copy(update={"forecast": settings.forecast.model_copy(
            update={"method": "perfect"})}), args.days)
        runs[PERFECT_REFERENCE] = run_policy(perfect, make_policy("mpc", settings, perfect),
                                             progress=not args.no_progress)
    summary = simulation_summary(settings, scenario, args.days, runs)
    _add_share_of_perfect_forecast_cut(summary["policies"])
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "summary.json").write_text(json.dumps(finite_json(summary), indent=2) + "\n", encoding="utf-8")
    for name, r in runs.items():
        write_csv(r.site_hour, args.out / f"site_hour_{name}.csv", index=False)
        write_csv(r.dispatch, args.out / f"dispatch_{name}.csv", index=False)
    accounting = account_simulation(settings, scenario, runs, summary, args.out)
    report = write_simulation_report(args.out / "report.html", summary, runs, accounting)
    print(format_table(summary["policies"]))
    print(f"\nwrote {args.out / 'summary.json'} and {report}")
    if args.json:
        print(json.dumps(finite_json(headline(summary))))
    return 0


PERFECT_REFERENCE = "mpc_perfect_forecast"
"""The same MPC on perfect forecasts: the upper bound of what better forecasts could give."""
HEADLINE_KEYS = ("emissions_tco2", "share_of_perfect_forecast_cut", "share_of_oracle_cut",
                 "share_of_oracle_cut_executed", "deadline_misses", "grid_violation_mwh", "green_share")


def headline(summary: dict) -> dict:
    """The judged figures of the ``mpc`` run, and the emissions of every policy."""
    mpc = summary["policies"].get("mpc", {})
    return {"days": summary["days"], "forecast": summary["forecast"],
            **{key: mpc.get(key) for key in HEADLINE_KEYS},
            "emissions_tco2_by_policy": {name: p["emissions_tco2"] for name, p in summary["policies"].items()}}


def _add_share_of_perfect_forecast_cut(policies: dict) -> None:
    """(agnostic - mpc) / (agnostic - mpc on perfect forecasts) emissions, when the reference ran."""
    if {"agnostic", "mpc", PERFECT_REFERENCE} <= set(policies):
        agnostic = policies["agnostic"]["emissions_tco2"]
        cut = agnostic - policies[PERFECT_REFERENCE]["emissions_tco2"]
        policies["mpc"]["share_of_perfect_forecast_cut"] = (
            (agnostic - policies["mpc"]["emissions_tco2"]) / cut if cut > 0 else None)


LEDGER_POLICY = "mpc"
BASELINE = "agnostic"


def account_simulation(settings: Settings, scenario, runs: Mapping, summary: dict, out: Path) -> str:  # noqa: ANN001
    """Write ``out/ledger/*.csv`` for the ``mpc`` run and return its HTML report section.

    The counterfactual for avoided emissions is the ``agnostic`` run, simulated here on the same
    scenario if it was not among the policies. Prints the conservation check (which includes
    ``summary.json``'s ``emissions_tco2`` = the ledger's location-based total). Returns "" when no
    ``mpc`` run was simulated.
    """
    if LEDGER_POLICY not in runs:
        logger.info("no %s run: no carbon ledger written", LEDGER_POLICY)
        return ""
    run = runs[LEDGER_POLICY]
    ledger = ledger_for_run(settings, run.dispatch, run.site_hour)
    # only its energy and emissions count here: no AC check of the counterfactual's hours
    baseline = runs.get(BASELINE) or run_policy(scenario, make_policy(BASELINE, settings), ac_check=False)
    avoided = avoided_emissions(ledger, ledger_for_run(settings, baseline.dispatch, baseline.site_hour))
    emissions = summary["policies"][LEDGER_POLICY]["emissions_tco2"]
    checks = conservation_checks(ledger, emissions)
    write_ledger_csv(ledger, out / "ledger", checks)
    print(format_checks(checks))
    if not checks["holds"].all():
        logger.error("the ledger does not conserve energy or emissions; see the checks above")
    flags = data_quality_flags(ledger, run.steps)
    if settings.forecast.method != "perfect":
        flags.append(f"dispatch decided on {settings.forecast.method} forecasts; the ledger uses the settled values")
    return accounting_html(ledger, avoided, LEDGER_POLICY, emissions, flags)
