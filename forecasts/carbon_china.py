"""Hourly AVERAGE grid carbon intensity of China's regional grids (a model; no hourly series is public).

This is AVERAGE intensity (emissions of the regional generation mix per kWh consumed), NOT
MARGINAL intensity (the emissions of the unit that answers one more kWh). Use it for location-based
accounting and for the shape over the day and the year; it does not tell how much a moved load
changes emissions.

Model, per regional grid and hour ``t`` (demand ``D``, all in MW):

- ``D(t)``: sum of the provinces' hourly demand (PyPSA-China, 2018 basis, local time UTC+8).
- Low-carbon supply ``L(t) = W(t) + S(t) + H + N``: wind ``W`` and solar ``S`` from the installed
  capacities of the provinces times the capacity factor computed from each province's CSWD
  typical-year weather (:mod:`forecasts.wind`, :mod:`forecasts.solar`); hydro ``H`` and nuclear ``N``
  as capacity x a flat capacity factor (:data:`HYDRO_CF`, :data:`NUCLEAR_CF`).
- Fossil share ``f(t) = max(D - L, 0) / D`` (low-carbon output above demand is exported or curtailed;
  inter-regional exchange is otherwise not modelled).
- ``ci(t) = EF * f(t)``, with ``EF`` [g/kWh of fossil output] calibrated so the demand-weighted annual
  mean ``sum(ci D) / sum(D)`` equals the published average factor of the region (MEE/NBS 2022).
  ``implied_fossil_g_per_kwh`` is reported: coal plants emit roughly 800-1000 g/kWh; far outside
  that range means the capacities, demand and published factor disagree (stated, not hidden).

Installed capacity = the sum of the capacity columns of the PyPSA-China files (additions per
period; retirements are not in the data). Inner Mongolia is counted in the North grid.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from forecasts.errors import ForecastInputError
from forecasts.quality import DataQualityError
from forecasts.readable import names_file
from forecasts.solar import PvPlant, pv_power_mw
from forecasts.weather import read_epw, weather_on_index
from forecasts.wind import WindFarm, wind_power_mw

logger = logging.getLogger(__name__)

PUBLISHED_G_PER_KWH = {"North": 677.6, "Northeast": 556.4, "East": 561.7, "Central": 539.5,
                       "Northwest": 585.7, "South": 386.9, "Southwest": 226.8}
"""Published average factors 2022 (MEE/NBS, Dec 2024, via the data README) [gCO2/kWh]."""
REGIONS = {
    "North": ["BJ", "TJ", "HE", "SX", "SD", "NM"],
    "Northeast": ["LN", "JL", "HL"],
    "East": ["SH", "JS", "ZJ", "AH", "FJ"],
    "Central": ["HA", "HB", "HN", "JX"],
    "Northwest": ["SN", "GS", "QH", "NX", "XJ"],
    "South": ["GD", "GX", "YN", "GZ", "HI"],
    "Southwest": ["SC", "CQ", "XZ"],
}
PROVINCE_NAMES = {
    "AH": "Anhui", "BJ": "Beijing", "CQ": "Chongqing", "FJ": "Fujian", "GS": "Gansu", "GD": "Guangdong",
    "GX": "Guangxi", "GZ": "Guizhou", "HI": "Hainan", "HE": "Hebei", "HL": "Heilongjiang", "HA": "Henan",
    "HB": "Hubei", "HN": "Hunan", "JS": "Jiangsu", "JX": "Jiangxi", "JL": "Jilin", "LN": "Liaoning",
    "NM": "InnerMongolia", "NX": "Ningxia", "QH": "Qinghai", "SN": "Shaanxi", "SD": "Shandong",
    "SH": "Shanghai", "SX": "Shanxi", "SC": "Sichuan", "TJ": "Tianjin", "XJ": "Xinjiang", "XZ": "Tibet",
    "YN": "Yunnan", "ZJ": "Zhejiang",
}
STATION_OF = {
    "BJ": "Beijing.Beijing", "TJ": "Beijing.Beijing", "HE": "Hebei.Zhangbei", "SX": "Nei.Mongol.Hohhot",
    "SD": "Jiangsu.Nanjing", "NM": "Nei.Mongol.Hohhot", "LN": "Beijing.Beijing", "JL": "Hebei.Zhangbei",
    "HL": "Hebei.Zhangbei", "SH": "Shanghai.Shanghai", "JS": "Jiangsu.Nanjing", "ZJ": "Shanghai.Shanghai",
    "AH": "Anhui.Hefei", "FJ": "Guangdong.Shaoguan", "HA": "Anhui.Hefei", "HB": "Anhui.Hefei",
    "HN": "Guangdong.Shaoguan", "JX": "Guangdong.Shaoguan", "SN": "Gansu.Xifengzhen", "GS": "Gansu.Jiuquan",
    "QH": "Qinghai.Golmud", "NX": "Ningxia.Hui.Yinchuan", "XJ": "Gansu.Dunhuang", "GD": "Guangdong.Shaoguan",
    "GX": "Guangdong.Shaoguan", "YN": "Guizhou.Guiyang", "GZ": "Guizhou.Guiyang", "HI": "Guangdong.Shaoguan",
    "SC": "Sichuan.Chengdu", "CQ": "Chongqing.Chongqing", "XZ": "Qinghai.Golmud",
}
"""Province -> CSWD station used for its weather (the nearest of the 16 stations; an approximation).
Xinjiang uses Dunhuang: the Hami file has one DHI of 1008 W/m2, which ``forecasts.weather.read_epw``
rejects (limit 1000)."""
HYDRO_CF = 0.40
NUCLEAR_CF = 0.85
DEMAND_UTC_OFFSET_H = 8.0
DEMAND_YEAR = 2018


@names_file
def read_capacities(china_dir: Path) -> pd.DataFrame:
    """Installed capacity per province code [MW]: solar, onwind, offwind, hydro, nuclear, coal."""
    files = {"solar": "solar_capacity.csv", "onwind": "onwind_capacity.csv", "offwind": "offwind_capacity.csv",
             "hydro": "hydroelectricity_capacity.csv", "nuclear": "nuclear_capacity.csv", "coal": "coal_capacity.csv"}
    by_name = {v: k for k, v in PROVINCE_NAMES.items()}
    out = pd.DataFrame(0.0, index=list(PROVINCE_NAMES), columns=list(files))
    for tech, name in files.items():
        path = china_dir / name
        if not path.is_file():
            raise DataQualityError(f"capacity file {path} is missing; expected the PyPSA-China resources")
        frame = pd.read_csv(path)
        names = frame.iloc[:, 0].astype(str).str.replace(" ", "")
        total = frame.iloc[:, 1:].apply(pd.to_numeric, errors="coerce").fillna(0).sum(axis=1)
        for province, value in zip(names, total, strict=True):
            if province in by_name:
                out.loc[by_name[province], tech] = float(value)
    return out


DEMAND_FILE = "Hourly_demand_of_31_province_China_modified_V2.1.csv.gz"


@names_file
def read_demand(china_dir: Path) -> pd.DataFrame:
    """Hourly provincial demand [MW], UTC interval starts (rows are local hours of 2018), columns
    the file's province codes. The one reader of this file (the grid model renames its columns)."""
    path = Path(china_dir) / DEMAND_FILE
    raw = pd.read_csv(path, encoding="utf-8-sig")
    if len(raw) != 8760:
        raise DataQualityError(f"{path}: {len(raw)} rows; expected 8760 hours")
    frame = raw.drop(columns=[raw.columns[0]]).astype(float)
    local = pd.date_range(f"{DEMAND_YEAR}-01-01", periods=8760, freq="h")
    frame.index = (local - pd.Timedelta(hours=DEMAND_UTC_OFFSET_H)).tz_localize("UTC")
    if frame.isna().any().any() or (frame <= 0).any().any():
        raise DataQualityError(f"{path}: missing or non-positive demand values; demand must be > 0 MW every hour")
    return frame


@dataclass(frozen=True)
class RegionalIntensity:
    """Hourly model of one regional grid."""

    region: str
    frame: pd.DataFrame
    """``demand_mw, wind_mw, solar_mw, hydro_mw, nuclear_mw, fossil_share, ci_g_per_kwh``."""
    implied_fossil_g_per_kwh: float
    published_g_per_kwh: float


def regional_intensity(region: str, china_dir: Path, weather_dir: Path) -> RegionalIntensity:
    """Build and calibrate the hourly AVERAGE intensity model of ``region`` (see module docstring)."""
    if region not in REGIONS:
        raise ForecastInputError(f"region {region!r}; allowed {sorted(REGIONS)}")
    demand, caps = read_demand(china_dir), read_capacities(china_dir)
    index = demand.index
    wind = pd.Series(0.0, index=index)
    solar = pd.Series(0.0, index=index)
    for code in REGIONS[region]:
        matches = sorted(weather_dir.glob(f"CHN_{STATION_OF[code]}*.epw.gz"))
        if not matches:
            raise DataQualityError(f"no CSWD weather file for station {STATION_OF[code]} in {weather_dir}")
        year = read_epw(matches[0])
        weather = weather_on_index(year, index)
        pv = PvPlant(year.latitude, year.longitude, year.altitude_m, capacity_dc_mw=1.0, tilt_deg=min(abs(year.latitude), 35))
        wind_mw = caps.loc[code, "onwind"] + caps.loc[code, "offwind"]
        wind += wind_power_mw(WindFarm(capacity_mw=1.0), weather).to_numpy() * wind_mw
        solar += pv_power_mw(pv, weather).to_numpy() * pv.dc_ac_ratio * caps.loc[code, "solar"]
    codes = REGIONS[region]
    hydro = caps.loc[codes, "hydro"].sum() * HYDRO_CF
    nuclear = caps.loc[codes, "nuclear"].sum() * NUCLEAR_CF
    load = demand[codes].sum(axis=1)
    low_carbon = wind + solar + hydro + nuclear
    fossil_share = (load - low_carbon).clip(lower=0.0) / load
    published = PUBLISHED_G_PER_KWH[region]
    weighted_share = float((fossil_share * load).sum() / load.sum())
    if weighted_share <= 0:
        raise DataQualityError(f"{region}: low-carbon supply covers all demand in every hour; cannot calibrate")
    ef = published / weighted_share
    frame = pd.DataFrame({"demand_mw": load, "wind_mw": wind, "solar_mw": solar, "hydro_mw": hydro,
                          "nuclear_mw": nuclear, "fossil_share": fossil_share, "ci_g_per_kwh": ef * fossil_share})
    if not 700 <= ef <= 1100:
        logger.warning("%s: implied fossil factor %.0f g/kWh is outside 700-1100; the capacity and demand "
                       "data do not match the published factor well", region, ef)
    return RegionalIntensity(region, frame, float(ef), published)


def annual_mean_g_per_kwh(model: RegionalIntensity) -> float:
    """Demand-weighted annual mean intensity [g/kWh] (the definition of an average factor)."""
    f = model.frame
    return float((f["ci_g_per_kwh"] * f["demand_mw"]).sum() / f["demand_mw"].sum())
