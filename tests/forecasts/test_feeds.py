"""Feed adapters on the providers' documented formats: good, malformed, duplicated, gapped,
time-shifted and late data (each a FeedError with its flag, never a crash)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from forecasts.feeds import FeedError
from forecasts.feeds.electricitymaps import parse_carbon_intensity
from forecasts.feeds.meters import hourly, parse_meter_file
from forecasts.feeds.open_meteo import (
    SitePlants,
    parse_open_meteo,
    read_open_meteo_csv,
    site_power_mw,
)
from forecasts.feeds.provider import FeedsForecastProvider, FeedSite
from forecasts.feeds.sources import CarbonFolder, NwpFolder, issue_stamp
from forecasts.solar import PvPlant
from forecasts.wind import WindFarm

LAT, LON = 40.77, 114.88  # Zhangjiakou


def open_meteo(start_local: str = "2023-07-03T00:00", hours: int = 72, offset_s: int = 28800,
               wind_unit: str = "km/h") -> dict:
    """An Open-Meteo /v1/forecast response as documented (local ISO times + utc_offset_seconds)."""
    local = pd.date_range(start_local, periods=hours, freq="h")
    hour = local.hour.to_numpy()
    sun = np.clip(np.sin((hour - 6) / 12 * np.pi), 0, None)  # local solar day 06-18
    return {
        "latitude": LAT, "longitude": LON, "generationtime_ms": 0.3, "utc_offset_seconds": offset_s,
        "timezone": "Asia/Shanghai", "timezone_abbreviation": "CST", "elevation": 1400.0,
        "hourly_units": {"time": "iso8601", "temperature_2m": "°C", "wind_speed_10m": wind_unit,
                         "wind_speed_100m": wind_unit, "shortwave_radiation": "W/m²",
                         "direct_normal_irradiance": "W/m²", "diffuse_radiation": "W/m²"},
        "hourly": {"time": [t.strftime("%Y-%m-%dT%H:%M") for t in local],
                   "temperature_2m": [20.0 + 5 * s for s in sun], "wind_speed_10m": [18.0] * hours,
                   "wind_speed_100m": [30.0] * hours, "shortwave_radiation": [800.0 * s for s in sun],
                   "direct_normal_irradiance": [600.0 * s for s in sun], "diffuse_radiation": [150.0 * s for s in sun]},
    }


def test_open_meteo_times_to_utc_units_to_si_radiation_to_interval_starts() -> None:
    frame = parse_open_meteo(open_meteo())
    assert frame.index[0] == pd.Timestamp("2023-07-02T16:00Z")  # 00:00 at +08:00
    assert frame.index.tz is not None and frame.index.is_unique
    assert frame["wind_speed_10m_m_per_s"].iloc[0] == pytest.approx(5.0)  # 18 km/h
    # radiation labelled 13:00 local (mean of 12-13) belongs to the interval starting 12:00 local
    raw = open_meteo()["hourly"]["shortwave_radiation"][13]
    assert frame["ghi_w_per_m2"].at[pd.Timestamp("2023-07-03T04:00Z")] == pytest.approx(raw)
    unix = open_meteo()
    unix["hourly"]["time"] = [int(t.timestamp()) for t in frame.index]
    assert parse_open_meteo(unix).index.equals(frame.index)


@pytest.mark.parametrize("change, match", [
    (lambda p: p.pop("hourly"), "no 'hourly'"),
    (lambda p: p["hourly"].pop("shortwave_radiation"), "lacks hourly"),
    (lambda p: p["hourly"]["temperature_2m"].pop(), "values for"),
    (lambda p: p["hourly"]["time"].__setitem__(5, p["hourly"]["time"][4]), "consecutive"),  # duplicated hour
    (lambda p: p["hourly"]["time"].pop(10) and [p["hourly"][k].pop(10) for k in p["hourly"] if k != "time"], "consecutive"),
    (lambda p: p["hourly_units"].__setitem__("wind_speed_10m", "furlong/fortnight"), "unit"),
    (lambda p: p.pop("utc_offset_seconds"), "utc_offset_seconds"),
    (lambda p: p["hourly"]["shortwave_radiation"].__setitem__(12, 9000.0), "outside"),
    (lambda p: p["hourly"]["wind_speed_10m"].__setitem__(3, "windy"), "non-numeric"),
])
def test_open_meteo_malformed_is_a_flagged_feed_error(change, match) -> None:
    payload = open_meteo()
    change(payload)
    with pytest.raises(FeedError, match=match) as info:
        parse_open_meteo(payload)
    assert info.value.flag == "nwp_malformed"


def test_open_meteo_csv_drop_format_equals_json() -> None:
    frame = parse_open_meteo(open_meteo(wind_unit="m/s"))
    payload = open_meteo(wind_unit="m/s")["hourly"]
    local = pd.DatetimeIndex(pd.to_datetime(payload["time"])).strftime("%Y-%m-%dT%H:%M+08:00")
    table = pd.DataFrame({k: v for k, v in payload.items() if k != "time"}).assign(time=local)
    pd.testing.assert_frame_equal(read_open_meteo_csv(table.to_csv(index=False)), frame, check_freq=False)
    with pytest.raises(FeedError, match="offset"):
        read_open_meteo_csv(table.assign(time=[t[:-6] for t in local]).to_csv(index=False))


def _provider(tmp_path, payload: dict, issue: str, zones=None, carbon=None) -> FeedsForecastProvider:
    (tmp_path / "nwp" / "zjk").mkdir(parents=True, exist_ok=True)
    (tmp_path / "nwp" / "zjk" / f"{issue}.json").write_text(json.dumps(payload))
    plants = SitePlants(PvPlant(LAT, LON, 1400, 3.0), WindFarm(4.0))
    site = FeedSite("zjk", LAT, LON, "north", plants)
    return FeedsForecastProvider([site], NwpFolder(tmp_path / "nwp"), carbon, zones or {},
                                 lambda index: pd.DataFrame({"zjk": np.full(len(index), 600.0)}, index=index))


def test_nwp_to_site_power_and_issue_time_kept(tmp_path) -> None:
    provider = _provider(tmp_path, open_meteo(), "20230702T1200Z")
    bundle, flags = provider.forecast_checked(pd.Timestamp("2023-07-02T18:00Z"), 48)
    assert flags == [] and bundle.issue_time == pd.Timestamp("2023-07-02T12:00Z")
    pv, wind = bundle.pv_mw["zjk"], bundle.wind_mw["zjk"]
    assert pv.max() > 1.0 and pv.min() == 0.0 and pv.max() <= 3.0 / 1.2 + 1e-9  # AC-limited, dark at night
    assert 0 < wind.iloc[0] <= 4.0 * 0.9


def test_a_forecast_issued_after_the_tick_is_never_used(tmp_path) -> None:
    provider = _provider(tmp_path, open_meteo(), "20230702T1200Z")
    later = open_meteo()
    later["hourly"]["wind_speed_100m"] = [60.0] * 72
    (tmp_path / "nwp" / "zjk" / "20230702T1800Z.json").write_text(json.dumps(later))
    at = pd.Timestamp("2023-07-02T17:00Z")
    assert provider.forecast(at, 24).issue_time == pd.Timestamp("2023-07-02T12:00Z")
    assert provider.forecast(at + pd.Timedelta(hours=1), 24).issue_time == pd.Timestamp("2023-07-02T18:00Z")
    with pytest.raises(FeedError) as info:  # only forecasts from after the tick: none usable
        provider.forecast(pd.Timestamp("2023-07-02T11:00Z"), 24)
    assert info.value.flag == "nwp_missing"


def test_nwp_too_short_for_the_horizon_and_time_shifted_are_flagged(tmp_path) -> None:
    provider = _provider(tmp_path, open_meteo(hours=30), "20230702T1200Z")
    with pytest.raises(FeedError) as info:
        provider.forecast(pd.Timestamp("2023-07-02T18:00Z"), 48)
    assert info.value.flag == "nwp_partial"
    shifted = _provider(tmp_path / "b", open_meteo(offset_s=0), "20230702T1200Z")  # local times taken as UTC
    with pytest.raises(FeedError) as info:
        shifted.forecast(pd.Timestamp("2023-07-03T00:00Z"), 24)
    assert info.value.flag == "nwp_time_shifted"


def em_forecast(start: str, hours: int, updated: str, zone: str = "CN-X") -> dict:
    times = pd.date_range(start, periods=hours, freq="h")
    return {"zone": zone, "forecast": [{"carbonIntensity": 500 + k, "datetime": t.strftime("%Y-%m-%dT%H:%M:%S.000Z")}
                                       for k, t in enumerate(times)], "updatedAt": updated}


def em_history(end: str, zone: str = "CN-X") -> dict:
    times = pd.date_range(end=pd.Timestamp(end) - pd.Timedelta(hours=1), periods=24, freq="h")
    return {"zone": zone, "history": [{"zone": zone, "carbonIntensity": 400 + k, "datetime": t.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                                       "updatedAt": end, "createdAt": end, "emissionFactorType": "lifecycle",
                                       "isEstimated": k > 20, "estimationMethod": "TIME_SLICER_AVERAGE" if k > 20 else None}
                                      for k, t in enumerate(times)]}


def test_electricitymaps_latest_history_forecast() -> None:
    latest = {"zone": "DE", "carbonIntensity": 302, "datetime": "2019-05-21T00:00:00.000Z",
              "updatedAt": "2019-05-21T00:35:00.000Z", "emissionFactorType": "lifecycle", "isEstimated": False}
    assert parse_carbon_intensity(latest, "DE").ci_g_per_kwh.iloc[0] == 302
    history = parse_carbon_intensity(em_history("2023-07-03T00:00Z"), "CN-X")
    assert len(history.ci_g_per_kwh) == 24 and int(history.estimated.sum()) == 3
    forecast = parse_carbon_intensity(em_forecast("2023-07-03T00:00Z", 72, "2023-07-03T00:05:00.000Z"))
    assert forecast.updated_at == pd.Timestamp("2023-07-03T00:05Z") and len(forecast.ci_g_per_kwh) == 72
    duplicated = em_history("2023-07-03T00:00Z")
    duplicated["history"].append(dict(duplicated["history"][0], carbonIntensity=999, updatedAt="2023-07-03T01:00Z"))
    repaired = parse_carbon_intensity(duplicated)
    assert len(repaired.ci_g_per_kwh) == 24 and repaired.ci_g_per_kwh.iloc[0] == 999  # newest update wins


@pytest.mark.parametrize("change, match", [
    (lambda p: p.__setitem__("forecast", []), "no data points"),
    (lambda p: p["forecast"][3].__setitem__("carbonIntensity", None), "not a number"),
    (lambda p: p["forecast"][3].__setitem__("carbonIntensity", -5), "outside"),
    (lambda p: p["forecast"][3].__setitem__("datetime", "2023-07-03T03:00:00"), "time zone"),
    (lambda p: p["forecast"][3].__setitem__("datetime", "2023-07-03T03:30:00Z"), "whole UTC hours"),
    (lambda p: p.__setitem__("zone", "FR"), "zone"),
])
def test_electricitymaps_malformed(change, match) -> None:
    payload = em_forecast("2023-07-03T00:00Z", 48, "2023-07-03T00:05Z")
    change(payload)
    with pytest.raises(FeedError, match=match) as info:
        parse_carbon_intensity(payload, "CN-X")
    assert info.value.flag == "carbon_malformed"


def test_carbon_stale_partial_and_late_fall_back_to_the_default_model_with_a_flag(tmp_path) -> None:
    folder = tmp_path / "carbon" / "CN-X"
    folder.mkdir(parents=True)
    at = pd.Timestamp("2023-07-02T18:00Z")

    def provider():
        return _provider(tmp_path, open_meteo(), "20230702T1200Z", {"north": "CN-X"}, CarbonFolder(tmp_path / "carbon"))

    good = em_forecast("2023-07-02T18:00Z", 72, "2023-07-02T18:00Z")
    (folder / f"forecast_{issue_stamp(at)}.json").write_text(json.dumps(good))
    bundle, flags = provider().forecast_checked(at, 48)
    assert flags == [] and bundle.ci_g_per_kwh["zjk"].iloc[0] == 500
    (folder / f"forecast_{issue_stamp(at)}.json").write_text(json.dumps(em_forecast("2023-07-02T18:00Z", 24, "2023-07-02T18:00Z")))
    bundle, flags = provider().forecast_checked(at, 48)
    assert flags == ["carbon_partial:north"] and (bundle.ci_g_per_kwh["zjk"] == 600.0).all()
    (folder / f"forecast_{issue_stamp(at)}.json").write_text(json.dumps(good))
    bundle, flags = provider().forecast_checked(at + pd.Timedelta(hours=12), 24)
    assert flags == ["carbon_stale:north"]
    late = tmp_path / "carbon" / "CN-X" / f"forecast_{issue_stamp(at + pd.Timedelta(hours=1))}.json"
    late.write_text(json.dumps(em_forecast("2023-07-02T19:00Z", 72, "2023-07-02T19:00Z")))
    assert provider().forecast_checked(at, 48)[0].ci_g_per_kwh["zjk"].iloc[0] == 500  # the later file is not seen


def test_meter_files_csv_15_min_and_json_hourly_duplicates_and_gaps() -> None:
    csv = "time,site,pv_mw,wind_mw,it_load_mw,grid_import_mw\n" + "".join(
        f"2023-07-03T1{h}:{m:02d}+08:00,zjk,{1.0 + q},2.0,3.0,0.5\n" for h in (0, 1) for q, m in enumerate((0, 15, 30, 45)))
    readings = parse_meter_file(csv, "push.csv")
    assert readings["time"].iloc[0] == pd.Timestamp("2023-07-03T02:00Z") and set(readings["interval_min"]) == {15}
    blob = json.dumps({"site": "sg", "readings": [{"time": "2023-07-03T02:00Z", "pv_mw": 0.7, "wind_mw": 0.0}]})
    both = pd.concat([readings, parse_meter_file(blob, "push.json")], ignore_index=True)
    frame, problems = hourly(both)
    assert problems == [] and len(frame) == 3
    assert frame.loc[frame["site"] == "zjk", "pv_mw"].iloc[0] == pytest.approx(2.5)  # mean of 1, 2, 3, 4
    gapped, problems = hourly(readings.drop(index=[1]))
    assert problems == ["measurements_gapped"] and len(gapped) == 1  # the hour with 3 of 4 readings waits
    repeat = pd.concat([readings, readings.assign(pv_mw=readings["pv_mw"] + 1).iloc[:1]], ignore_index=True)
    frame, problems = hourly(repeat)
    assert problems == ["measurements_duplicated"]
    assert hourly(pd.concat([readings, readings]))[1] == []  # a file pushed twice is not a problem


@pytest.mark.parametrize("text, name, match", [
    ("time,site,pv_mw\n2023-07-03T00:00+08:00,zjk,1\n", "a.csv", "lacks columns"),
    ("time,site,pv_mw,wind_mw\n2023-07-03T00:00,zjk,1,2\n", "a.csv", "UTC offset"),
    ("time,site,pv_mw,wind_mw\n2023-07-03T00:00Z,zjk,-1,2\n", "a.csv", "negative"),
    ("time,site,pv_mw,wind_mw\n2023-07-03T00:07Z,zjk,1,2\n", "a.csv", "quarter hour"),
    ("{not json", "a.json", "cannot be decoded"),
])
def test_meter_files_malformed(text, name, match) -> None:
    with pytest.raises(FeedError, match=match) as info:
        parse_meter_file(text, name)
    assert info.value.flag == "measurements_malformed"


def test_site_power_uses_the_highest_wind_level() -> None:
    frame = parse_open_meteo(open_meteo())
    plants = SitePlants(PvPlant(LAT, LON, 1400, 0.0), WindFarm(4.0))
    _, with_100m = site_power_mw(plants, frame)
    _, with_10m = site_power_mw(plants, frame.drop(columns="wind_speed_100m_m_per_s"))
    assert not np.allclose(with_100m.to_numpy(), with_10m.to_numpy())  # 30 km/h at 100 m is not the 10 m profile
