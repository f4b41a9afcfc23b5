"""Conservation checks the report runs and prints: nothing is created or lost between levels."""

from __future__ import annotations

import numpy as np
import pandas as pd

from control.accounting.ledger import CONTRACT_COLUMNS, EMISSION_COLUMNS, ENERGY_COLUMNS, Ledger, total

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
    per_job = total(ledger.job_hour, ["hour", "site"]).set_index(["hour", "site"])
    site = sh.set_index(["hour", "site"])[ENERGY_COLUMNS + EMISSION_COLUMNS]
    aligned = per_job.reindex(site.index)
    # hours without jobs (the site drew nothing) compare as 0; a gas the factor set lacks stays NaN
    aligned = aligned.where(aligned.notna() | site.isna(), 0.0)
    for column in ENERGY_COLUMNS + EMISSION_COLUMNS:
        rows.append((f"sum over jobs = site-hour: {column}", _max_abs_diff(aligned[column], site[column])))
    rows.append(("onsite green + absorbed curtailment + grid = facility energy",
                 _max_abs(sh["onsite_green_mwh"] + sh["curtailment_absorbed_mwh"] + sh["grid_energy_mwh"]
                          - sh["facility_energy_mwh"])))
    rows.append(("contracted + residual = grid", _max_abs(sh["contracted_mwh"] + sh["residual_mwh"] - sh["grid_energy_mwh"])))
    rows.append(("PPA + green power trading + certificates = contracted",
                 _max_abs(sh[CONTRACT_COLUMNS].sum(axis=1) - sh["contracted_mwh"])))
    day = total(ledger.site_day())
    period = ledger.period().set_index("site").loc["TOTAL", ENERGY_COLUMNS + EMISSION_COLUMNS]
    hourly = total(sh)
    rows.append(("site-day totals = hourly totals", _max_abs_diff(day, hourly)))
    rows.append(("period total = hourly totals", _max_abs_diff(period.astype(float), hourly)))
    if summary_emissions_tco2 is not None:
        column = "location_tco2" if ledger.factors.gas == "CO2" else "location_tco2e"
        rows.append((f"summary.json emissions_tco2 = ledger {column} (same factor set)",
                     abs(summary_emissions_tco2 - float(sh[column].sum()))))
    frame = pd.DataFrame(rows, columns=["identity", "max_abs_difference"])
    frame["holds"] = frame["max_abs_difference"] <= TOLERANCE
    return frame


def _max_abs(values: pd.Series) -> float:
    array = np.asarray(values, dtype=float)
    return float(np.abs(array).max()) if array.size else 0.0


def _max_abs_diff(a: pd.Series, b: pd.Series) -> float:
    """Largest |a - b|; NaN on both sides (a gas the factor set does not give) counts as equal,
    NaN on one side only as an infinite difference (a level lost the value)."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    both = np.isnan(x) & np.isnan(y)
    diff = np.where(both, 0.0, np.abs(x - y))
    diff = np.where(np.isnan(diff), np.inf, diff)
    return float(diff.max()) if diff.size else 0.0


def format_checks(checks: pd.DataFrame) -> str:
    """One line when every identity holds; every failing identity otherwise."""
    worst = float(checks["max_abs_difference"].max()) if len(checks) else 0.0
    if checks["holds"].all():
        return f"ledger conservation: all {len(checks)} identities hold (largest difference {worst:.1e}, tolerance {TOLERANCE:g})"
    lines = [f"ledger conservation FAILED (tolerance {TOLERANCE:g}):"]
    for row in checks[~checks["holds"]].itertuples():
        lines.append(f"  {row.identity}: max |difference| {row.max_abs_difference:.2e}")
    return "\n".join(lines)
