"""Measured irradiance -> plant AC power with pvlib, and calibration of unknown plant parameters.

Chain (hourly, solar position at the middle of each UTC hour)
    measured irradiance taken as horizontal -> Erbs decomposition into DNI and DHI -> Hay-Davies
    transposition to the plane of array (tilt, azimuth) -> SAPM cell temperature (open rack,
    1 m/s wind: the files carry no wind) -> PVWatts DC (temperature coefficient -0.35 %/K)
    -> AC limit (clipping).

Calibration on the fit period only (unflagged days):

1. Irradiance column: the one most correlated with measured power (labels are not trusted, see
   :mod:`forecasts.stategrid`).
2. Longitude from the irradiance-weighted mean hour (solar noon; the equation of time averages to
   about zero over a year); altitude from mean pressure (barometric formula).
3. Latitude, tilt and azimuth on a grid; for each, the DC scale ``capacity_dc_mw * (1 - losses)``
   has a closed-form least-squares value on unclipped hours. DC capacity and losses are not
   separately identifiable from power alone: losses are fixed at the PVWatts default (14 %) and
   the DC capacity absorbs the rest. A fitted tilt near 0 means the sensor is already in the plane
   of the array (site 1); a large tilt means a horizontal sensor (site 2).
4. AC limit: the 99.9th percentile of measured hourly power in the fit period.

Day flags (:func:`flag_days`) use measured data only, with reference values from the fit
period; never the model's error in the scoring period:

``gap``       a daylight hour (clear-sky GHI > 50 W/m2) without power or irradiance.
``sensor``    daily irradiance < 5 % of clear-sky while power > 2 % of capacity x daylight hours
              (zeros stored as gaps), or irradiance frozen (same value > 10 W/m2 for 3+ hours).
``outage``    power < 1 % of capacity for 2+ daylight hours with irradiance > 300 W/m2.
``curtailed`` daily performance ratio (energy / irradiation) below 0.75 of the fit period's median
              for the same calendar month, or above 1.33 of it (irradiance sensor under-reading).

Curtailment persistence (optional, :func:`curtailment_caps`; off by default)
    An export cap carried forward from measured data strictly BEFORE the day modelled, as an
    operator who knows a standing curtailment order would. A *ceiling day* is a day flagged
    ``curtailed`` on the low side (performance ratio < 0.75 of the reference) and neither
    ``outage``, ``sensor`` nor ``gap``: the same measured-data rule as the flags. Its ceiling is
    its highest hourly measured power. After ``CAP_ARM_DAYS`` (2) ceiling days in a row (days
    with a fault flag or too dark for a performance ratio are skipped, an ordinary day breaks the
    streak) the order is taken as standing: the next day's model is ``min(physical model,
    ceiling)``, and every further ceiling day replaces the ceiling with its own. The cap is
    released after any other day whose hourly peak exceeds it; an ordinary day at or below it
    (e.g. cloudy) leaves it standing. One curtailed day alone is treated as dispatch of that day,
    not as an order. No measurement of the day modelled or later, and no model error, enters the
    cap; the first day of the frame has none. Numbers, sensitivity and the choice of default:
    ``docs/solar_calibration.md``.

References
----------
Erbs, D. G., Klein, S. A., Duffie, J. A. (1982). Solar Energy 28(4), 293-302.
Hay, J. E., Davies, J. A. (1980). First Canadian Solar Radiation Data Workshop, 59-72.
Dobos, A. P. (2014). PVWatts Version 5 Manual. NREL/TP-6A20-62641.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pvlib

logger = logging.getLogger(__name__)

LOSSES_PCT = 14.0
GAMMA_PDC_PER_C = -0.0035
WIND_ASSUMED_M_PER_S = 1.0
LATITUDES_DEG = np.arange(20.0, 50.1, 2.5)
TILTS_DEG = np.arange(0.0, 60.1, 5.0)
AZIMUTHS_DEG = np.arange(150.0, 210.1, 15.0)
DAYLIGHT_CLEARSKY_W_PER_M2 = 50.0
PR_LOW, PR_HIGH = 0.75, 1.33
CAP_ARM_DAYS = 2
"""Ceiling days in a row before an export cap is carried forward (see the module docstring)."""


@dataclass(frozen=True)
class PlantFit:
    """Calibrated plant (all fitted on the fit period)."""

    irradiance_column: str
    latitude_deg: float
    longitude_deg: float
    altitude_m: float
    tilt_deg: float
    azimuth_deg: float
    capacity_dc_mw: float
    capacity_ac_mw: float
    losses_pct: float = LOSSES_PCT
    monthly_pr_ref: tuple[float, ...] = ()
    """Median daily performance ratio [MWh per kWh/m2] per calendar month 1-12 (fit period)."""


def _solar(index: pd.DatetimeIndex, lat: float, lon: float, alt: float) -> pd.DataFrame:
    mid = index + pd.Timedelta(minutes=30)
    pos = pvlib.solarposition.get_solarposition(mid, lat, lon, altitude=alt)
    pos.index = index
    return pos


def clearsky_ghi(index: pd.DatetimeIndex, lat: float, lon: float, alt: float) -> pd.Series:
    """Clear-sky GHI (Ineichen with bundled Linke turbidity) at the middle of each hour [W/m2]."""
    location = pvlib.location.Location(lat, lon, altitude=alt)
    clear = location.get_clearsky(index + pd.Timedelta(minutes=30), model="ineichen")
    return pd.Series(clear["ghi"].to_numpy(), index=index)


def unit_dc_power(ghi: pd.Series, temp_air_c: pd.Series, pos: pd.DataFrame, tilt: float, azimuth: float) -> np.ndarray:
    """DC power per MW of DC rating after losses, from horizontal irradiance [MW/MW]."""
    zenith = pos["apparent_zenith"].to_numpy()
    doy = ghi.index.dayofyear.to_numpy()
    values = np.nan_to_num(ghi.to_numpy(dtype=float))
    split = pvlib.irradiance.erbs(values, zenith, doy)
    dni_extra = pvlib.irradiance.get_extra_radiation(doy)
    poa = pvlib.irradiance.get_total_irradiance(
        tilt, azimuth, zenith, pos["azimuth"].to_numpy(), np.nan_to_num(np.asarray(split["dni"])),
        values, np.nan_to_num(np.asarray(split["dhi"])), dni_extra=dni_extra, model="haydavies",
    )
    poa_global = np.clip(np.nan_to_num(np.asarray(poa["poa_global"], dtype=float)), 0.0, None)
    params = pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"]["open_rack_glass_polymer"]
    temp_cell = pvlib.temperature.sapm_cell(poa_global, temp_air_c.to_numpy(), WIND_ASSUMED_M_PER_S, **params)
    dc = pvlib.pvsystem.pvwatts_dc(poa_global, temp_cell, 1.0, GAMMA_PDC_PER_C)
    return np.asarray(dc, dtype=float) * (1 - LOSSES_PCT / 100.0)


def model_power_mw(fit: PlantFit, hourly: pd.DataFrame) -> pd.Series:
    """Modelled AC power [MW] of a calibrated plant from hourly measured weather."""
    pos = _solar(hourly.index, fit.latitude_deg, fit.longitude_deg, fit.altitude_m)
    unit = unit_dc_power(hourly[fit.irradiance_column], hourly["temp_air_c"].fillna(15.0), pos,
                         fit.tilt_deg, fit.azimuth_deg)
    power = np.clip(unit * fit.capacity_dc_mw, 0.0, fit.capacity_ac_mw)
    return pd.Series(power, index=hourly.index, name="p_model_mw").where(hourly[fit.irradiance_column].notna())


def estimate_longitude(irradiance: pd.Series) -> float:
    """Longitude [deg E] from the irradiance-weighted mean UTC hour (solar noon)."""
    hour = np.asarray(irradiance.index.hour) + 0.5
    weight = irradiance.fillna(0.0).to_numpy()
    angle = 2 * np.pi * hour / 24.0  # circular mean: noon near 0 h UTC must not wrap
    noon_h = (np.arctan2((weight * np.sin(angle)).sum(), (weight * np.cos(angle)).sum()) * 24 / (2 * np.pi)) % 24
    return float(((12.0 - noon_h) * 15.0 + 180.0) % 360.0 - 180.0)


def altitude_from_pressure_m(pressure_hpa: float) -> float:
    """Standard-atmosphere altitude [m] of a mean station pressure [hPa]."""
    return float(44330.0 * (1.0 - (pressure_hpa / 1013.25) ** (1 / 5.255)))


def solar_day(index: pd.DatetimeIndex, longitude_deg: float) -> pd.DatetimeIndex:
    """Local solar day of each UTC hour (days split at local solar midnight, not at 00 UTC)."""
    return (index + pd.Timedelta(hours=round(longitude_deg / 15.0))).floor("D")


def flag_days(hourly: pd.DataFrame, irradiance_column: str, capacity_mw: float, clear_ghi: pd.Series,
              monthly_pr_ref: tuple[float, ...] | None, longitude_deg: float) -> pd.DataFrame:
    """Day flags from measured data (rules in the module docstring); index = local solar day."""
    day = solar_day(hourly.index, longitude_deg)
    daylight = clear_ghi > DAYLIGHT_CLEARSKY_W_PER_M2
    irr, power = hourly[irradiance_column], hourly["p_mw"]
    grouped = pd.DataFrame({
        "gap": (daylight & (irr.isna() | power.isna())),
        "irr_kwh": irr.fillna(0) / 1000.0,
        "clear_kwh": clear_ghi / 1000.0,
        "energy_mwh": power.fillna(0),
        "daylight_h": daylight.astype(float),
        "outage_h": (daylight & (irr > 300) & (power < 0.01 * capacity_mw)).astype(float),
    }).groupby(day)
    out = pd.DataFrame({"gap": grouped["gap"].any()})
    sums = grouped[["irr_kwh", "clear_kwh", "energy_mwh", "daylight_h", "outage_h"]].sum()
    frozen = (irr.diff().eq(0) & irr.gt(10) & daylight)
    run3 = frozen.rolling(2).sum().ge(2)  # 3 equal values in a row
    out["sensor"] = ((sums["irr_kwh"] < 0.05 * sums["clear_kwh"])
                     & (sums["energy_mwh"] > 0.02 * capacity_mw * sums["daylight_h"])) | run3.groupby(day).any()
    out["outage"] = sums["outage_h"] >= 2
    pr = sums["energy_mwh"] / sums["irr_kwh"].where(sums["irr_kwh"] > 0.5)
    out["pr"] = pr
    if monthly_pr_ref:
        ref = np.asarray(monthly_pr_ref)[out.index.month - 1]
        out["curtailed"] = (pr < PR_LOW * ref) | (pr > PR_HIGH * ref)
    else:
        out["curtailed"] = False
    out["flagged"] = out[["gap", "sensor", "outage", "curtailed"]].any(axis=1)
    return out


def calibrate(hourly: pd.DataFrame, capacity_mw: float, irradiance_columns: list[str]) -> PlantFit:
    """Fit a :class:`PlantFit` on ``hourly`` (the fit period only; see module docstring)."""
    corr = {c: hourly[c].corr(hourly["p_mw"]) for c in irradiance_columns}
    column = max(corr, key=lambda c: corr[c])
    lon = estimate_longitude(hourly[column])
    alt = altitude_from_pressure_m(float(hourly["pressure_hpa"].mean())) if "pressure_hpa" in hourly else 0.0
    cap_ac = float(hourly["p_mw"].quantile(0.999))
    temp = hourly["temp_air_c"].fillna(15.0)
    measured = hourly["p_mw"].to_numpy()
    best: tuple[float, tuple[float, float, float, float]] = (np.inf, (np.nan, np.nan, np.nan, np.nan))
    for lat in LATITUDES_DEG:
        pos = _solar(hourly.index, lat, lon, alt)
        clear = clearsky_ghi(hourly.index, lat, lon, alt)
        flags = flag_days(hourly, column, capacity_mw, clear, None, lon)
        good = ~flags["flagged"].reindex(solar_day(hourly.index, lon)).to_numpy()
        usable = good & np.isfinite(measured) & (measured < 0.95 * cap_ac)
        for tilt in TILTS_DEG:
            for azimuth in (AZIMUTHS_DEG if tilt > 0 else [180.0]):
                unit = unit_dc_power(hourly[column], temp, pos, tilt, azimuth)
                scale = (unit[usable] @ measured[usable]) / max(unit[usable] @ unit[usable], 1e-12)
                model = np.clip(unit * scale, 0, cap_ac)
                sse = float(np.sum((model[usable] - measured[usable]) ** 2))
                if sse < best[0]:
                    best = (sse, (lat, tilt, azimuth, scale))
    lat, tilt, azimuth, scale = best[1]
    fit = PlantFit(column, float(lat), lon, alt, float(tilt), float(azimuth), float(scale), cap_ac)
    clear = clearsky_ghi(hourly.index, lat, lon, alt)
    flags = flag_days(hourly, column, capacity_mw, clear, None, lon)
    pr = flags.loc[~flags["flagged"], "pr"]
    monthly = pr.groupby(pr.index.month).median().reindex(range(1, 13))
    monthly = monthly.fillna(monthly.median())
    logger.info("calibrated %s", fit)
    return PlantFit(**{**fit.__dict__, "monthly_pr_ref": tuple(float(v) for v in monthly)})


def _ceiling_days(flags: pd.DataFrame, monthly_pr_ref: tuple[float, ...]) -> pd.Series:
    """Days curtailed on the low side of the flag rule and free of fault flags (measured data only)."""
    ref = np.asarray(monthly_pr_ref)[flags.index.month - 1]
    faulty = flags["outage"] | flags["sensor"] | flags["gap"]
    return flags["curtailed"] & (flags["pr"] < PR_LOW * ref) & ~faulty


def _caps_from_flags(peak: pd.Series, flags: pd.DataFrame, monthly_pr_ref: tuple[float, ...],
                     arm_days: int) -> pd.Series:
    ceiling = _ceiling_days(flags, monthly_pr_ref)
    faulty = flags["outage"] | flags["sensor"] | flags["gap"] | flags["pr"].isna()
    caps: dict[pd.Timestamp, float] = {}
    cap, streak = np.nan, 0
    for day in flags.index:
        caps[day] = cap  # in force on ``day``: set only by earlier days
        top = float(peak.get(day, np.nan))
        if not np.isfinite(top):
            continue
        if ceiling[day]:
            streak += 1
            if np.isfinite(cap) or streak >= arm_days:
                cap = top
            continue
        if not faulty[day]:
            streak = 0
        if np.isfinite(cap) and top > cap:
            cap, streak = np.nan, 0
    return pd.Series(caps, dtype=float, name="cap_mw")


def curtailment_caps(fit: PlantFit, hourly: pd.DataFrame, capacity_mw: float,
                     arm_days: int = CAP_ARM_DAYS) -> pd.Series:
    """Export cap [MW] in force on each local solar day (NaN: none), from measured data before it.

    Rule in the module docstring (curtailment persistence). The cap of day D depends only on the
    rows of ``hourly`` before D's local solar midnight and on the fit-period references in ``fit``.
    """
    clear = clearsky_ghi(hourly.index, fit.latitude_deg, fit.longitude_deg, fit.altitude_m)
    flags = flag_days(hourly, fit.irradiance_column, capacity_mw, clear, fit.monthly_pr_ref, fit.longitude_deg)
    peak = hourly["p_mw"].groupby(solar_day(hourly.index, fit.longitude_deg)).max()
    return _caps_from_flags(peak, flags, fit.monthly_pr_ref, arm_days)


def apply_caps(model: pd.Series, caps: pd.Series, longitude_deg: float) -> pd.Series:
    """Hourly ``min(model, cap of the hour's solar day)``; hours of days without a cap unchanged."""
    cap = caps.reindex(solar_day(model.index, longitude_deg)).to_numpy()
    values = model.to_numpy(dtype=float)
    capped = np.where(np.isfinite(cap) & np.isfinite(values), np.minimum(values, cap), values)
    return pd.Series(capped, index=model.index, name=model.name)


@dataclass(frozen=True)
class SolarScore:
    """Scores of the calibrated model on the scoring period."""

    daily_energy_nmae: float
    daily_energy_nmae_unflagged: float
    hourly_nrmse: float
    hourly_nrmse_unflagged: float
    days_scored: int
    days_unflagged: int
    flag_counts: dict[str, int]
    curtailment_persistence: bool = False
    days_capped: int = 0
    """Scored days on which a carried-forward export cap was in force (0 without persistence)."""


def score_model(fit: PlantFit, hourly: pd.DataFrame, capacity_mw: float,
                curtailment_persistence: bool = False) -> tuple[SolarScore, pd.DataFrame]:
    """Score ``fit`` on ``hourly`` (the scoring period). Returns the score and the daily table.

    ``curtailment_persistence``: cap the physical model by :func:`curtailment_caps` (export ceiling
    carried forward from measured data of earlier days). Flags, and so the unflagged days, are the
    same either way. The daily table has ``cap_mw`` (NaN without a cap).
    """
    model = model_power_mw(fit, hourly)
    clear = clearsky_ghi(hourly.index, fit.latitude_deg, fit.longitude_deg, fit.altitude_m)
    flags = flag_days(hourly, fit.irradiance_column, capacity_mw, clear, fit.monthly_pr_ref, fit.longitude_deg)
    day = solar_day(hourly.index, fit.longitude_deg)
    caps = pd.Series(np.nan, index=flags.index, name="cap_mw")
    if curtailment_persistence:
        caps = _caps_from_flags(hourly["p_mw"].groupby(day).max(), flags, fit.monthly_pr_ref, CAP_ARM_DAYS)
        model = apply_caps(model, caps, fit.longitude_deg)
    both = pd.DataFrame({"measured": hourly["p_mw"], "model": model})
    complete = both.notna().all(axis=1).groupby(day).all() & (both.groupby(day).size() == 24)
    daily = both.groupby(day).sum().where(complete)
    daily = daily.join(flags).join(caps)
    scored = daily.dropna(subset=["measured", "model"])
    clean = scored[~scored["flagged"]]

    def nmae(frame: pd.DataFrame) -> float:
        return float((frame["model"] - frame["measured"]).abs().mean() / frame["measured"].mean())

    hour_ok = both.notna().all(axis=1)
    hour_clean = hour_ok & ~flags["flagged"].reindex(day).to_numpy()

    def nrmse(mask: pd.Series) -> float:
        err = both.loc[mask, "model"] - both.loc[mask, "measured"]
        return float(np.sqrt((err**2).mean()) / capacity_mw)

    counts = {k: int(flags[k].sum()) for k in ("gap", "sensor", "outage", "curtailed", "flagged")}
    return SolarScore(nmae(scored), nmae(clean), nrmse(hour_ok), nrmse(hour_clean), len(scored), len(clean),
                      counts, curtailment_persistence, int(scored["cap_mw"].notna().sum())), daily


def clearsky_power_mw(fit: PlantFit, index: pd.DatetimeIndex, temp_air_c: pd.Series | None = None) -> pd.Series:
    """Clear-sky AC power of the calibrated plant [MW] (Ineichen clear-sky GHI through the chain).

    Known in advance (a model of the sky, not an observation), so forecasts may use it at any
    lead time. Air temperature defaults to 15 degC where not given.
    """
    temp = temp_air_c if temp_air_c is not None else pd.Series(15.0, index=index)
    weather = pd.DataFrame({fit.irradiance_column: clearsky_ghi(index, fit.latitude_deg, fit.longitude_deg,
                                                                  fit.altitude_m), "temp_air_c": temp})
    return model_power_mw(fit, weather).rename("p_clear_mw")
