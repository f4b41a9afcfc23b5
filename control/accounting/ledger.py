"""The carbon ledger per job, site and hour, from what was dispatched and settled (never forecasts).

Methods
-------
Supply split (per site-hour, then to jobs pro rata to their facility energy)::

    facility = onsite_green + curtailment_absorbed + grid
    grid     = contracted (valid instruments) + residual

Location-based emissions (GHG Protocol Scope 2 Guidance 2015, ch. 6): ``grid x location factor``,
the factor being the grid intensity the hour was settled at (the region's factor of the chosen
factor set, or its hourly value). Market-based (ch. 6-7): energy covered by valid instruments at the
instrument's factor, the rest at the region's residual-mix factor. Own and co-located renewables
used behind the meter are zero in both. Gas: CO2 only (the factor sets used are CO2 factors), so
every total is labelled tCO2, not tCO2e.

24/7 carbon-free energy score per site-hour (no carry-over between hours)::

    cfe = (min(load, clean supply) + grid_cfe_share x grid) / load

where the clean supply used behind the meter is ``green_used`` (= min(load, green available)).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from control.settings import Settings

ENERGY_COLUMNS = ["it_energy_mwh", "facility_energy_mwh", "onsite_green_mwh", "curtailment_absorbed_mwh",
                  "green_energy_mwh", "grid_energy_mwh", "contracted_mwh", "residual_mwh", "cfe_mwh"]
EMISSION_COLUMNS = ["location_tco2", "market_tco2"]


@dataclass(frozen=True)
class FactorTable:
    """Emission factors and clean shares the ledger applies [t/MWh = kg/kWh]."""

    name: str
    version: str
    location_t_per_mwh: dict[str, float] | None
    """Per region; None = the intensity each site-hour was settled at (what the run used)."""
    residual_t_per_mwh: dict[str, float]
    grid_cfe_share: dict[str, float]
    flags: tuple[str, ...] = field(default=())
    """Data-quality notes (estimated values) shown in reports."""

    @classmethod
    def from_settings(cls, settings: Settings, location_override: dict[str, float] | None = None,
                      name: str | None = None, version: str | None = None) -> FactorTable:
        flags = []
        residual, cfe = {}, {}
        for region in settings.regions:
            location = (location_override or {}).get(region.name, region.emission_factor_kg_per_kwh)
            if region.residual_mix_kg_per_kwh is None:
                residual[region.name] = location
                flags.append(f"region {region.name}: no residual-mix factor configured; the location factor "
                             "is used for market-based emissions (an estimate)")
            else:
                residual[region.name] = region.residual_mix_kg_per_kwh
            if region.grid_cfe_share is None:
                cfe[region.name] = 0.0
                flags.append(f"region {region.name}: grid carbon-free share not configured; taken as 0 in the CFE score")
            else:
                cfe[region.name] = region.grid_cfe_share
        acc = settings.accounting
        return cls(name or acc.factor_set, version or acc.factor_set_version,
                   dict(location_override) if location_override else None, residual, cfe, tuple(flags))


@dataclass(frozen=True)
class Ledger:
    job_hour: pd.DataFrame
    site_hour: pd.DataFrame
    factors: FactorTable
    rejected_instruments: pd.DataFrame

    def site_day(self) -> pd.DataFrame:
        """Totals per site and UTC day."""
        frame = self.site_hour.assign(day=self.site_hour["hour"].dt.strftime("%Y-%m-%d"))
        return frame.groupby(["site", "day"], as_index=False)[ENERGY_COLUMNS + EMISSION_COLUMNS].sum()

    def period(self) -> pd.DataFrame:
        """Totals per site over the whole period, and a ``TOTAL`` row."""
        per_site = self.site_hour.groupby("site", as_index=False)[ENERGY_COLUMNS + EMISSION_COLUMNS].sum()
        total = per_site[ENERGY_COLUMNS + EMISSION_COLUMNS].sum().to_frame().T.assign(site="TOTAL")
        out = pd.concat([per_site, total], ignore_index=True)
        out["green_share"] = out["green_energy_mwh"] / out["facility_energy_mwh"].where(out["facility_energy_mwh"] > 0)
        out["cfe_score"] = out["cfe_mwh"] / out["facility_energy_mwh"].where(out["facility_energy_mwh"] > 0)
        return out

    def job_intensity(self) -> pd.DataFrame:
        """Per job: energy, emissions and gCO2 per reference GPU-hour."""
        per_job = self.job_hour.groupby("job_id", as_index=False)[
            ["work_gpu_h", "facility_energy_mwh", "grid_energy_mwh", "location_tco2", "market_tco2"]].sum()
        work = per_job["work_gpu_h"].where(per_job["work_gpu_h"] > 0)
        per_job["location_g_per_gpu_h"] = per_job["location_tco2"] * 1e6 / work
        per_job["market_g_per_gpu_h"] = per_job["market_tco2"] * 1e6 / work
        return per_job.sort_values("location_tco2", ascending=False, ignore_index=True)


def build_ledger(
    dispatch: pd.DataFrame,
    site_hour: pd.DataFrame,
    factors: FactorTable,
    valid_instruments: pd.DataFrame | None = None,
    rejected_instruments: pd.DataFrame | None = None,
) -> Ledger:
    """Ledger from a run's ``dispatch`` (job-hours) and ``site_hour`` (settled site balances).

    ``valid_instruments`` (see :mod:`control.accounting.instruments`) cover each site's grid
    energy over the period; their MWh are spread over the site's hours pro rata to grid energy.
    """
    sh = _site_hour(site_hour, factors, valid_instruments)
    jobs = dispatch.rename(columns={"time": "hour"}).merge(
        sh[["hour", "site", "facility_energy_mwh", *ENERGY_COLUMNS[2:], *EMISSION_COLUMNS]],
        on=["hour", "site"], how="left", suffixes=("", "_site"),
    )
    share = jobs["facility_energy_mwh"] / jobs["facility_energy_mwh_site"].where(jobs["facility_energy_mwh_site"] > 0)
    share = share.fillna(0.0)
    for column in [*ENERGY_COLUMNS[2:], *EMISSION_COLUMNS]:
        jobs[column] = jobs[column] * share
    job_hour = jobs[["job_id", "site", "hour", "work_gpu_h", *ENERGY_COLUMNS, *EMISSION_COLUMNS]].copy()
    empty = pd.DataFrame(columns=["claim_id", "kind", "site", "mwh", "reason"])
    return Ledger(job_hour, sh, factors, rejected_instruments if rejected_instruments is not None else empty)


def _site_hour(site_hour: pd.DataFrame, factors: FactorTable, valid: pd.DataFrame | None) -> pd.DataFrame:
    region = site_hour["region"]
    out = pd.DataFrame({
        "hour": site_hour["time"], "site": site_hour["site"], "region": region,
        "it_energy_mwh": site_hour["it_load_mw"], "facility_energy_mwh": site_hour["load_mw"],
        "onsite_green_mwh": site_hour["green_used_mw"] - site_hour["curtailment_absorbed_mw"],
        "curtailment_absorbed_mwh": site_hour["curtailment_absorbed_mw"],
        "green_energy_mwh": site_hour["green_used_mw"], "grid_energy_mwh": site_hour["grid_import_mw"],
    })
    if factors.location_t_per_mwh is None:
        out["location_factor_t_per_mwh"] = site_hour["ci_g_per_kwh"] / 1000.0  # g/kWh -> t/MWh
    else:
        out["location_factor_t_per_mwh"] = region.map(factors.location_t_per_mwh)
    out["location_tco2"] = out["grid_energy_mwh"] * out["location_factor_t_per_mwh"]
    covered_share, instrument_factor = _instrument_cover(out, valid)
    out["contracted_mwh"] = out["grid_energy_mwh"] * covered_share
    out["residual_mwh"] = out["grid_energy_mwh"] - out["contracted_mwh"]
    out["market_tco2"] = (out["contracted_mwh"] * instrument_factor
                          + out["residual_mwh"] * region.map(factors.residual_t_per_mwh))
    out["cfe_mwh"] = out["green_energy_mwh"] + out["grid_energy_mwh"] * region.map(factors.grid_cfe_share)
    out["cfe_score"] = out["cfe_mwh"] / out["facility_energy_mwh"].where(out["facility_energy_mwh"] > 0)
    return out.reset_index(drop=True)


def _instrument_cover(out: pd.DataFrame, valid: pd.DataFrame | None) -> tuple[pd.Series, pd.Series]:
    """Share of each site-hour's grid energy covered by instruments, and their mean factor."""
    share = pd.Series(0.0, index=out.index)
    factor = pd.Series(0.0, index=out.index)
    if valid is None or valid.empty:
        return share, factor
    grid_total = out.groupby("site")["grid_energy_mwh"].sum()
    for site, group in valid.groupby("site"):
        mwh = group["mwh"].sum()
        total = grid_total.get(site, 0.0)
        rows = out["site"] == site
        share[rows] = min(1.0, mwh / total) if total > 0 else 0.0
        factor[rows] = float(np.average(group["factor_t_per_mwh"], weights=group["mwh"]))
    return share, factor
