"""The carbon ledger per job, site and hour, from what was dispatched and settled (never forecasts).

Methods
-------
Supply split (per site-hour, then to jobs pro rata to their facility energy)::

    facility = onsite_green + curtailment_absorbed + grid
    grid     = contracted (valid instruments: ppa + green_power_trading + certificate) + residual

Facility energy is the metered value when the site-hour has one (``metered_energy_mwh``), else IT
energy x PUE (plus idle energy of migrating jobs) as the run settled it; with a meter reading the
grid takes the difference (``grid = metered - green used``).

Location-based emissions (GHG Protocol Scope 2 Guidance 2015, ch. 6.6): ``grid x location
factor``, the factor being the chosen factor set's value for the site's region (annual) or for
the region and hour (hourly), or, without a factor-set file, the intensity the hour was settled
at in the run. Market-based (ch. 6.7 and 7): energy covered by valid instruments at the
instrument's factor, the rest at the region's residual-mix factor (without one: the hour's
location factor, so market-based never exceeds location-based unless instruments say so). Own and co-located renewables
used behind the meter count zero in both. CO2 and CO2e are kept apart: a CO2-only factor set
fills ``*_tco2`` and leaves ``*_tco2e`` empty (NaN), a CO2e set the reverse.

24/7 carbon-free energy score per site-hour (no carry-over between hours; Google, "24/7 by 2030",
2021, and the UN 24/7 CFE Compact methodology)::

    cfe = (min(load, clean supply) + grid_cfe_share x grid) / load

where the clean supply used behind the meter is ``green_used`` (<= min(load, green available)).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from control.accounting.factors import FactorTable

logger = logging.getLogger(__name__)

KINDS = ("ppa", "green_power_trading", "certificate")
CONTRACT_COLUMNS = [f"contracted_{k}_mwh" for k in KINDS]
ENERGY_COLUMNS = ["it_energy_mwh", "facility_energy_mwh", "onsite_green_mwh", "curtailment_absorbed_mwh",
                  "green_energy_mwh", "grid_energy_mwh", "contracted_mwh", *CONTRACT_COLUMNS, "residual_mwh",
                  "cfe_mwh"]
EMISSION_COLUMNS = ["location_tco2", "market_tco2", "location_tco2e", "market_tco2e"]
SHARED_COLUMNS = [c for c in ENERGY_COLUMNS if c not in ("it_energy_mwh", "facility_energy_mwh")] + EMISSION_COLUMNS
"""Columns a site-hour hands to its jobs pro rata to their facility energy."""


def total(frame: pd.DataFrame, by: list[str] | None = None) -> pd.DataFrame | pd.Series:
    """Sum of the ledger columns; a column with no values (the gas the factor set does not give)
    stays NaN instead of becoming 0."""
    columns = ENERGY_COLUMNS + EMISSION_COLUMNS
    if by is None:
        return frame[columns].sum(min_count=1)
    return frame.groupby(by, as_index=False)[columns].sum(min_count=1)


@dataclass(frozen=True)
class Ledger:
    job_hour: pd.DataFrame
    site_hour: pd.DataFrame
    factors: FactorTable
    rejected_instruments: pd.DataFrame

    def site_day(self) -> pd.DataFrame:
        """Totals per site and UTC day."""
        frame = self.site_hour.assign(day=self.site_hour["hour"].dt.strftime("%Y-%m-%d"))
        return total(frame, ["site", "day"])

    def period(self) -> pd.DataFrame:
        """Totals per site over the whole period, and a ``TOTAL`` row, with shares."""
        per_site = total(self.site_hour, ["site"])
        grand = total(per_site).to_frame().T.assign(site="TOTAL")
        out = pd.concat([per_site, grand], ignore_index=True)
        load = out["facility_energy_mwh"].where(out["facility_energy_mwh"] > 0)
        out["green_share"] = out["green_energy_mwh"] / load
        out["cfe_score"] = out["cfe_mwh"] / load
        out["factor_set"] = self.factors.name
        out["factor_set_version"] = self.factors.version
        out["factor_gas"] = self.factors.gas
        out["factor_basis"] = self.factors.basis
        out["factor_source"] = self.factors.source
        if self.factors.estimated_hourly is not None and "factor_estimated" in self.site_hour:
            share = self.site_hour.groupby("site")["factor_estimated"].mean()
            overall = float(self.site_hour["factor_estimated"].mean()) if len(self.site_hour) else np.nan
            out["provider_estimated_share"] = out["site"].map(share).where(out["site"] != "TOTAL", overall)
        else:
            out["provider_estimated_share"] = np.nan
        return out

    def job_intensity(self) -> pd.DataFrame:
        """Per job: energy, emissions and g per reference GPU-hour (of the factor set's gas)."""
        columns = ["work_gpu_h", "facility_energy_mwh", "grid_energy_mwh", *EMISSION_COLUMNS]
        per_job = self.job_hour.groupby("job_id", as_index=False)[columns].sum(min_count=1)
        work = per_job["work_gpu_h"].where(per_job["work_gpu_h"] > 0)
        unit = "co2" if self.factors.gas == "CO2" else "co2e"
        for method in ("location", "market"):
            per_job[f"{method}_g{unit}_per_gpu_h"] = per_job[f"{method}_t{unit}"] * 1e6 / work
        return per_job.sort_values(f"location_t{unit}", ascending=False, ignore_index=True)


def build_ledger(
    dispatch: pd.DataFrame,
    site_hour: pd.DataFrame,
    factors: FactorTable,
    valid_instruments: pd.DataFrame | None = None,
    rejected_instruments: pd.DataFrame | None = None,
) -> Ledger:
    """Ledger from a run's ``dispatch`` (job-hours) and ``site_hour`` (settled site balances).

    Parameters
    ----------
    dispatch : DataFrame
        ``time, job_id, site, work_gpu_h, it_energy_mwh, facility_energy_mwh`` per job-hour.
    site_hour : DataFrame
        ``time, site, region, it_load_mw, load_mw, green_used_mw, curtailment_absorbed_mw,
        grid_import_mw, ci_g_per_kwh`` per site-hour (MW over one hour = MWh); optional
        ``metered_energy_mwh`` (NaN where not metered).
    factors : FactorTable
        Location, residual-mix and clean-share factors [t/MWh].
    valid_instruments, rejected_instruments : DataFrame, optional
        From :func:`control.accounting.instruments.check_instruments`. Valid instruments cover
        each site's grid energy over the period; their MWh are spread over the site's hours pro
        rata to grid energy (capped at the grid energy).
    """
    sh = _site_hour(site_hour, factors, valid_instruments)
    jobs = dispatch.rename(columns={"time": "hour"})
    modelled = jobs.groupby(["hour", "site"])["facility_energy_mwh"].transform("sum")
    share = (jobs["facility_energy_mwh"] / modelled.where(modelled > 0)).fillna(0.0)
    jobs = jobs.merge(sh[["hour", "site", "facility_energy_mwh", "metered", *SHARED_COLUMNS]],
                      on=["hour", "site"], how="left", suffixes=("", "_site"))
    metered = jobs["metered"].fillna(False).astype(bool)
    # with a meter reading, jobs split the metered energy pro rata to their modelled energy
    jobs.loc[metered, "facility_energy_mwh"] = (jobs["facility_energy_mwh_site"] * share)[metered]
    site_share = (jobs["facility_energy_mwh"]
                  / jobs["facility_energy_mwh_site"].where(jobs["facility_energy_mwh_site"] > 0)).fillna(0.0)
    for column in SHARED_COLUMNS:
        jobs[column] = jobs[column] * site_share
    job_hour = jobs[["job_id", "site", "hour", "work_gpu_h", *ENERGY_COLUMNS, *EMISSION_COLUMNS]].copy()
    empty = pd.DataFrame(columns=["claim_id", "kind", "site", "mwh", "reason"])
    return Ledger(job_hour, sh, factors, rejected_instruments if rejected_instruments is not None else empty)


def _site_hour(site_hour: pd.DataFrame, factors: FactorTable, valid: pd.DataFrame | None) -> pd.DataFrame:
    region = site_hour["region"].astype(str)
    hours = pd.to_datetime(site_hour["time"], utc=True)
    green = site_hour["green_used_mw"].astype(float)
    facility = site_hour["load_mw"].astype(float)
    grid = site_hour["grid_import_mw"].astype(float)
    metered = pd.Series(False, index=site_hour.index)
    if "metered_energy_mwh" in site_hour:
        reading = site_hour["metered_energy_mwh"].astype(float)
        metered = reading.notna()
        facility = facility.where(~metered, reading)
        grid = grid.where(~metered, (reading - green).clip(lower=0.0))
        green = green.where(~metered, np.minimum(green, reading))
    absorbed = np.minimum(site_hour["curtailment_absorbed_mw"].astype(float), green)
    out = pd.DataFrame({
        "hour": hours, "site": site_hour["site"], "region": region,
        "it_energy_mwh": site_hour["it_load_mw"].astype(float), "facility_energy_mwh": facility,
        "metered": metered, "onsite_green_mwh": green - absorbed, "curtailment_absorbed_mwh": absorbed,
        "green_energy_mwh": green, "grid_energy_mwh": grid,
    })
    out["location_factor_t_per_mwh"] = factors.location_factor(hours, region, site_hour["ci_g_per_kwh"])
    out["factor_estimated"] = factors.estimated(hours, region).to_numpy()
    location = out["grid_energy_mwh"] * out["location_factor_t_per_mwh"]
    covered = _instrument_cover(out, valid)
    out["contracted_mwh"] = 0.0
    instrument_tco2 = pd.Series(0.0, index=out.index)
    for kind in KINDS:
        share, factor = covered[kind]
        out[f"contracted_{kind}_mwh"] = out["grid_energy_mwh"] * share
        out["contracted_mwh"] += out[f"contracted_{kind}_mwh"]
        instrument_tco2 += out[f"contracted_{kind}_mwh"] * factor
    out["residual_mwh"] = out["grid_energy_mwh"] - out["contracted_mwh"]
    market = instrument_tco2 + out["residual_mwh"] * factors.residual_factor(region, out["location_factor_t_per_mwh"])
    co2 = factors.gas == "CO2"
    out["location_tco2"] = location if co2 else np.nan
    out["market_tco2"] = market if co2 else np.nan
    out["location_tco2e"] = np.nan if co2 else location
    out["market_tco2e"] = np.nan if co2 else market
    out["grid_cfe_share"] = factors.cfe_share(hours, region)
    out["cfe_mwh"] = out["green_energy_mwh"] + out["grid_energy_mwh"] * out["grid_cfe_share"]
    out["cfe_score"] = out["cfe_mwh"] / out["facility_energy_mwh"].where(out["facility_energy_mwh"] > 0)
    return out.reset_index(drop=True)


def _instrument_cover(out: pd.DataFrame, valid: pd.DataFrame | None) -> dict[str, tuple[pd.Series, pd.Series]]:
    """Per instrument kind: share of each site-hour's grid energy it covers, and its mean factor.

    A site's instruments together cover at most its grid energy over the period; if they hold
    more, every kind is scaled down in proportion (the surplus is not claimed).
    """
    cover = {k: (pd.Series(0.0, index=out.index), pd.Series(0.0, index=out.index)) for k in KINDS}
    if valid is None or valid.empty:
        return cover
    grid_total = out.groupby("site")["grid_energy_mwh"].sum()
    for site, group in valid.groupby("site"):
        site_grid = float(grid_total.get(site, 0.0))
        held = float(group["mwh"].sum())
        if site_grid <= 0:
            continue
        scale = min(1.0, site_grid / held)
        rows = out["site"] == site
        for kind, of_kind in group.groupby("kind"):
            share, factor = cover[kind]
            share[rows] = of_kind["mwh"].sum() * scale / site_grid
            factor[rows] = float(np.average(of_kind["factor_t_per_mwh"], weights=of_kind["mwh"]))
    return cover


__all__ = ["EMISSION_COLUMNS", "ENERGY_COLUMNS", "FactorTable", "KINDS", "Ledger", "build_ledger", "total"]
