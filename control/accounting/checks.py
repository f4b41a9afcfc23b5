"""Conservation checks the report runs and prints: nothing is created or lost between levels."""

from __future__ import annotations

import numpy as np
import pandas as pd

from control.accounting.ledger import EMISSION_COLUMNS, ENERGY_COLUMNS, Ledger

TOLERANCE = 1e-6
"""Largest absolute difference allowed [MWh or tCO2]."""


def conservation_checks(ledger: Ledger, summary_emissions_tco2: float | None = None) -> pd.DataFrame:
    """One row per identity with the largest absolute difference found and whether it holds.

    Identities: jobs sum to their site-hour for every energy and emission column (on hours
    with jobs; hours without jobs have no facility energy); the supply split adds up to the
    facility energy; contracted + residual = grid; site-day and period totals equal the hourly
    sum; and, when given, the simulation summary's emissions equal the location-based total.
    """
    sh = ledger.site_hour
    rows = []
    per_job = ledger.job_hour.groupby(["hour", "site"])[ENERGY_COLUMNS + EMISSION_COLUMNS].sum()
    site = sh.set_index(["hour", "site"])[ENERGY_COLUMNS + EMISSION_COLUMNS]
    aligned = per_job.reindex(site.index, fill_value=0.0)
    for column in ENERGY_COLUMNS + EMISSION_COLUMNS:
        rows.append((f"sum over jobs = site-hour: {column}", _max_abs(aligned[column] - site[column])))
    rows.append(("onsite green + absorbed curtailment + grid = facility energy",
                 _max_abs(sh["onsite_green_mwh"] + sh["curtailment_absorbed_mwh"] + sh["grid_energy_mwh"]
                          - sh["facility_energy_mwh"])))
    rows.append(("contracted + residual = grid", _max_abs(sh["contracted_mwh"] + sh["residual_mwh"] - sh["grid_energy_mwh"])))
    day = ledger.site_day()[ENERGY_COLUMNS + EMISSION_COLUMNS].sum()
    period = ledger.period().set_index("site").loc["TOTAL", ENERGY_COLUMNS + EMISSION_COLUMNS]
    hourly = sh[ENERGY_COLUMNS + EMISSION_COLUMNS].sum()
    rows.append(("site-day totals = hourly totals", _max_abs(day - hourly)))
    rows.append(("period total = hourly totals", _max_abs(period.astype(float) - hourly)))
    if summary_emissions_tco2 is not None:
        rows.append(("summary.json emissions_tco2 = ledger location_tco2",
                     abs(summary_emissions_tco2 - float(sh["location_tco2"].sum()))))
    frame = pd.DataFrame(rows, columns=["identity", "max_abs_difference"])
    frame["holds"] = frame["max_abs_difference"] <= TOLERANCE
    return frame


def _max_abs(values: pd.Series) -> float:
    array = np.asarray(values, dtype=float)
    return float(np.abs(array).max()) if array.size else 0.0


def format_checks(checks: pd.DataFrame) -> str:
    """One line when every identity holds; every failing identity otherwise."""
    worst = float(checks["max_abs_difference"].max()) if len(checks) else 0.0
    if checks["holds"].all():
        return f"ledger conservation: all {len(checks)} identities hold (largest difference {worst:.1e}, tolerance {TOLERANCE:g})"
    lines = [f"ledger conservation FAILED (tolerance {TOLERANCE:g}):"]
    for row in checks[~checks["holds"]].itertuples():
        lines.append(f"  {row.identity}: max |difference| {row.max_abs_difference:.2e}")
    return "\n".join(lines)
