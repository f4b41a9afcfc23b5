"""Data-quality flags of a ledger: gaps, estimated values, degraded control steps.

An auditor needs to know which numbers rest on estimates. Each flag is one sentence naming what
is affected and how much; the report lists them beside the totals.
"""

from __future__ import annotations

import logging

import pandas as pd

from control.accounting.ledger import Ledger
from control.decision import DecisionStatus

logger = logging.getLogger(__name__)

GOOD_STATUSES = (DecisionStatus.OPTIMAL, DecisionStatus.RULE, DecisionStatus.NO_JOBS)
"""Step statuses of a normal control step (LP solved to optimality, a rule-based policy, nothing to do)."""
DEGRADED_PREFIXES = ("forecast", "stale", "solver", "ac_", "dc_fallback", "degraded")
"""Step flags that mean the controller acted on missing, stale or fallback information."""


def data_quality_flags(ledger: Ledger, steps: pd.DataFrame | None = None) -> list[str]:
    """Flags of ``ledger`` (and of the control ``steps`` of the run, when given).

    Parameters
    ----------
    ledger : Ledger
        The ledger the report shows.
    steps : DataFrame, optional
        ``time, status, flags`` per control step (``PolicyRun.steps`` or the store's ticks).
    """
    sh = ledger.site_hour
    flags: list[str] = []
    if sh.empty:
        return ["the period holds no settled site-hours: nothing to account"]
    hours = pd.date_range(sh["hour"].min(), sh["hour"].max(), freq="h")
    for site, rows in sh.groupby("site", sort=False):
        missing = hours.difference(pd.DatetimeIndex(rows["hour"]))
        if len(missing):
            flags.append(f"site {site}: {len(missing)} hour(s) without a settled record (gap), first {missing[0]}; "
                         "their energy and emissions are missing from the totals")
    inputs = sh[["facility_energy_mwh", "green_energy_mwh", "grid_energy_mwh", "location_factor_t_per_mwh"]]
    if inputs.isna().any().any():
        flags.append(f"{int(inputs.isna().any(axis=1).sum())} site-hour(s) have missing energy or factor values")
    metered = int(sh["metered"].sum())
    if metered < len(sh):
        flags.append(f"facility energy of {len(sh) - metered} of {len(sh)} site-hours is modelled (IT energy x PUE "
                     "as dispatched), not metered: an estimate")
    flags.extend(ledger.factors.flags)
    if ledger.factors.estimated_hourly is not None:
        count = int(ledger.factors.estimated(sh["hour"].reset_index(drop=True), sh["region"].reset_index(drop=True)).sum())
        if count:
            flags.append(f"{count} of {len(sh)} site-hours ({count / len(sh):.0%}) use an hourly factor the data "
                         "provider estimated")
    if steps is not None and not steps.empty and "flags" in steps:
        text = steps["flags"].fillna("").astype(str)
        degraded = text.str.split(";").map(lambda fs: [f for f in fs if f.startswith(DEGRADED_PREFIXES)])
        n = int((degraded.map(len) > 0).sum())
        if n:
            kinds = sorted({f for fs in degraded for f in fs})
            flags.append(f"{n} of {len(steps)} control steps ran degraded ({', '.join(kinds)}); the dispatch of "
                         "those hours rests on missing, stale or fallback information")
    if steps is not None and "status" in steps:
        bad = steps[~steps["status"].astype(str).isin(GOOD_STATUSES)]
        if len(bad):
            flags.append(f"{len(bad)} control step(s) did not solve to optimality "
                         f"(statuses {sorted(set(bad['status'].astype(str)))})")
    return flags
