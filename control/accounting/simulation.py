"""The carbon ledger of a simulation's ``mpc`` run: CSV files and the report section.

``codispatch simulate`` calls :func:`account_simulation` once, after writing ``summary.json``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

from control.accounting.avoided import avoided_emissions
from control.accounting.checks import conservation_checks, format_checks
from control.accounting.from_run import ledger_for_run
from control.accounting.quality import data_quality_flags
from control.accounting.report import accounting_html, write_ledger_csv
from control.settings import Settings

logger = logging.getLogger(__name__)

POLICY = "mpc"
BASELINE = "agnostic"


def account_simulation(settings: Settings, scenario, runs: Mapping, summary: dict, out: Path) -> str:  # noqa: ANN001
    """Write ``out/ledger/*.csv`` for the ``mpc`` run and return its HTML report section.

    The counterfactual for avoided emissions is the ``agnostic`` run, simulated here on the same
    scenario if it was not among the policies. Prints the conservation check (which includes
    ``summary.json``'s ``emissions_tco2`` = the ledger's location-based total). Returns "" when no
    ``mpc`` run was simulated.
    """
    if POLICY not in runs:
        logger.info("no %s run: no carbon ledger written", POLICY)
        return ""
    from control.policies import make_policy  # the policies import the simulation; keep this lazy
    from control.simulate import run_policy

    run = runs[POLICY]
    ledger = ledger_for_run(settings, run.dispatch, run.site_hour)
    # only its energy and emissions count here: no AC check of the counterfactual's hours
    baseline = runs.get(BASELINE) or run_policy(scenario, make_policy(BASELINE, settings), ac_check=False)
    avoided = avoided_emissions(ledger, ledger_for_run(settings, baseline.dispatch, baseline.site_hour))
    emissions = summary["policies"][POLICY]["emissions_tco2"]
    checks = conservation_checks(ledger, emissions)
    write_ledger_csv(ledger, out / "ledger", checks)
    print(format_checks(checks))
    if not checks["holds"].all():
        logger.error("the ledger does not conserve energy or emissions; see the checks above")
    flags = data_quality_flags(ledger, run.steps)
    if settings.forecast.method != "perfect":
        flags.append(f"dispatch decided on {settings.forecast.method} forecasts; the ledger uses the settled values")
    return accounting_html(ledger, avoided, POLICY, emissions, flags)
