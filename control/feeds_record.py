"""A recorded period in the feed adapters' formats, and a replay server that serves it.

:func:`record_period` writes what a deployment of the config's fleet would have received over a
period: Open-Meteo forecast JSON per site every ``nwp_every_h`` hours (with its issue time),
Electricity Maps v3 forecast and history responses per zone every hour, and the sites' meter
files every hour (CSV with 15-minute readings and JSON with hourly ones, alternating). The
weather behind it is the config's CSWD typical-year EPW data laid onto the period (the
"truth", metered through the same pvlib / windpowerlib chains); forecasts add an error that grows
with lead time (a seeded random walk, so a period is reproducible); the hourly intensity is the
config's ``[forecast] carbon`` model (by default the China regional model).

:class:`ReplayServer` serves a recorded period on 127.0.0.1 as the live endpoints would at a
settable clock: the newest forecast issued at or before it, the last 24 hours of history.
"""

from __future__ import annotations

import json
import threading
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import numpy as np
import pandas as pd

from control.feeds import feed_sites
from control.settings import Settings
from forecasts.feeds.open_meteo import site_power_mw
from forecasts.feeds.sources import issue_stamp, parse_stamp
from forecasts.weather import read_epw, weather_on_index

MANIFEST = "period.json"
LOCAL_OFFSET_S = 8 * 3600
"""The recorded Open-Meteo responses are in China Standard Time (``timezone=Asia/Shanghai``)."""
ROUGHNESS_M = 0.1


def _zone(region: str) -> str:
    """Zone label of a region in a recorded period (a label, not an Electricity Maps zone id)."""
    return f"CN-{region}"


def _open_meteo_json(site, weather: pd.DataFrame, run: pd.Timestamp, hours: int, rng: np.random.Generator) -> dict:
    """One forecast run: labels ``run .. run + hours`` (local time, ISO), radiation as the mean of
    the preceding hour, wind in km/h (the API's defaults)."""
    labels = pd.date_range(run, periods=hours + 1, freq="h")
    starts = labels - pd.Timedelta(hours=1)  # radiation labelled T is the mean of [T - 1 h, T)

    def walk(sd: float) -> np.ndarray:
        return np.cumsum(rng.normal(0.0, sd, hours + 1))

    sun = np.clip(1.0 + rng.normal(0.0, 0.05) + walk(0.02), 0.3, 1.6)
    wind = np.clip(1.0 + rng.normal(0.0, 0.05) + walk(0.03), 0.2, 2.0)
    temp = rng.normal(0.0, 0.5) + walk(0.1)
    rad = weather.reindex(starts)
    inst = weather.reindex(labels)
    w10 = inst["wind_speed_10m_m_per_s"].to_numpy() * wind
    w100 = w10 * np.log(100.0 / ROUGHNESS_M) / np.log(10.0 / ROUGHNESS_M)

    def r1(values: np.ndarray) -> list[float]:
        return [round(float(v), 1) for v in values]

    local = (labels + pd.Timedelta(seconds=LOCAL_OFFSET_S)).tz_localize(None)
    return {
        "latitude": site.lat, "longitude": site.lon, "generationtime_ms": 0.4, "utc_offset_seconds": LOCAL_OFFSET_S,
        "timezone": "Asia/Shanghai", "timezone_abbreviation": "CST", "elevation": 0.0,
        "hourly_units": {"time": "iso8601", "temperature_2m": "°C", "wind_speed_10m": "km/h", "wind_speed_100m": "km/h",
                         "shortwave_radiation": "W/m²", "direct_normal_irradiance": "W/m²", "diffuse_radiation": "W/m²"},
        "hourly": {
            "time": [t.strftime("%Y-%m-%dT%H:%M") for t in local],
            "temperature_2m": r1(inst["temp_air_c"].to_numpy() + temp),
            "wind_speed_10m": r1(w10 * 3.6),
            "wind_speed_100m": r1(w100 * 3.6),
            "shortwave_radiation": r1(np.clip(rad["ghi_w_per_m2"].to_numpy() * sun, 0, 1400)),
            "direct_normal_irradiance": r1(np.clip(rad["dni_w_per_m2"].to_numpy() * sun, 0, 1400)),
            "diffuse_radiation": r1(np.clip(rad["dhi_w_per_m2"].to_numpy(), 0, 900)),
        },
    }


def record_period(settings: Settings, out: Path, days: int, nwp_every_h: int = 6, nwp_hours: int = 72,
                  seed: int = 2023) -> Path:
    """Write a recorded period of ``days`` days from ``[scenario] start`` into ``out`` (see the
    module notes); returns the manifest's path. Forecasts and histories extend beyond the period by
    the MPC horizon, so its last tick is planned like the others."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp(settings.scenario.start).tz_convert("UTC")
    horizon = settings.mpc.horizon_h
    end = start + pd.Timedelta(hours=days * 24)
    span = pd.date_range(start - pd.Timedelta(hours=48), end + pd.Timedelta(hours=horizon + nwp_hours + 2), freq="h")
    sites = feed_sites(settings)
    out.mkdir(parents=True, exist_ok=True)
    first_run = (start - pd.Timedelta(hours=1)).floor(f"{nwp_every_h}h")
    runs = pd.date_range(first_run, end + pd.Timedelta(hours=1), freq=f"{nwp_every_h}h")
    meters = {}
    for config_site, site in zip(settings.sites, sites, strict=True):
        if config_site.weather_file is None:
            raise ValueError(f"site {site.name!r} has no weather_file: a recorded period is made from each site's EPW "
                             "weather; give one")
        weather = weather_on_index(read_epw(config_site.weather_file), span)
        weather["wind_speed_100m_m_per_s"] = (weather["wind_speed_10m_m_per_s"] * np.log(100.0 / ROUGHNESS_M)
                                              / np.log(10.0 / ROUGHNESS_M))
        pv, wind = site_power_mw(site.plants, weather)
        meters[site.name] = pd.DataFrame({"pv_mw": pv, "wind_mw": wind})
        folder = out / "nwp" / site.name
        folder.mkdir(parents=True, exist_ok=True)
        for run in runs:
            payload = _open_meteo_json(site, weather, run, max(nwp_hours, horizon + nwp_every_h + 2), rng)
            (folder / f"{issue_stamp(run)}.json").write_text(json.dumps(payload), encoding="utf-8")
    _record_carbon(settings, out, span, start, end, horizon, rng)
    _record_meters(meters, out / "measurements", start - pd.Timedelta(hours=24), end)
    zones = {r: _zone(r) for r in sorted({s.region for s in settings.sites})}
    manifest = {"start": start.isoformat(), "days": days, "sites": [s.name for s in sites], "zones": zones,
                "nwp_every_h": nwp_every_h, "horizon_h": horizon, "seed": seed,
                "made_from": "config EPW weather + [forecast] carbon model (see control/feeds_record.py)"}
    path = out / MANIFEST
    path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return path


def _record_carbon(settings: Settings, out: Path, span: pd.DatetimeIndex, start: pd.Timestamp, end: pd.Timestamp,
                   horizon: int, rng: np.random.Generator) -> None:
    from control.scenario import region_carbon_intensity

    for region in sorted({s.region for s in settings.sites}):
        zone = _zone(region)
        actual = np.round(region_carbon_intensity(settings, region, span).to_numpy(dtype=float)).astype(int)
        series = pd.Series(actual, index=span)
        folder = out / "carbon" / zone
        folder.mkdir(parents=True, exist_ok=True)
        for issue in pd.date_range(start - pd.Timedelta(hours=1), end + pd.Timedelta(hours=1), freq="h"):
            hours = pd.date_range(issue, periods=horizon + 24, freq="h")
            error = 1.0 + np.cumsum(rng.normal(0.0, 0.01, len(hours)))
            updated = _em_time(issue)
            forecast = {"zone": zone, "forecast": [{"carbonIntensity": round(float(v * e)), "datetime": _em_time(t)}
                                                   for t, v, e in zip(hours, series.reindex(hours), error, strict=True)],
                        "updatedAt": updated}
            (folder / f"forecast_{issue_stamp(issue)}.json").write_text(json.dumps(forecast), encoding="utf-8")
            past = pd.date_range(issue - pd.Timedelta(hours=24), periods=24, freq="h")
            history = {"zone": zone, "history": [
                {"zone": zone, "carbonIntensity": int(series[t]), "datetime": _em_time(t), "updatedAt": updated,
                 "createdAt": updated, "emissionFactorType": "lifecycle", "isEstimated": False, "estimationMethod": None}
                for t in past]}
            (folder / f"history_{issue_stamp(issue)}.json").write_text(json.dumps(history), encoding="utf-8")


def _em_time(time: pd.Timestamp) -> str:
    return pd.Timestamp(time).tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _local(time: pd.Timestamp) -> str:
    return (time + pd.Timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M+08:00")


def _record_meters(meters: dict[str, pd.DataFrame], folder: Path, first: pd.Timestamp, end: pd.Timestamp) -> None:
    """One file per hour, named by the time it is pushed (the hour's end): even hours a CSV of
    15-minute readings, odd hours a JSON of hourly ones."""
    folder.mkdir(parents=True, exist_ok=True)
    for hour in pd.date_range(first, end, freq="h", inclusive="left"):
        pushed = issue_stamp(hour + pd.Timedelta(hours=1))
        if hour.hour % 2 == 0:
            lines = ["time,site,pv_mw,wind_mw,it_load_mw,grid_import_mw"]
            for site, frame in meters.items():
                pv, wind = float(frame.at[hour, "pv_mw"]), float(frame.at[hour, "wind_mw"])
                for quarter in range(4):
                    lines.append(f"{_local(hour + pd.Timedelta(minutes=15 * quarter))},{site},{pv!r},{wind!r},,")
            (folder / f"{pushed}.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
        else:
            blocks = [{"site": site, "readings": [{"time": _local(hour), "pv_mw": float(frame.at[hour, "pv_mw"]),
                                                   "wind_mw": float(frame.at[hour, "wind_mw"]), "it_load_mw": None,
                                                   "grid_import_mw": None}]}
                      for site, frame in meters.items()]
            (folder / f"{pushed}.json").write_text(json.dumps(blocks), encoding="utf-8")


def pushed_meter_files(folder: Path, until: pd.Timestamp) -> list[Path]:
    """The recorded meter files pushed at or before ``until``."""
    files = []
    for path in sorted(Path(folder).iterdir()):
        stamp = parse_stamp(path.stem)
        if stamp is not None and stamp <= until:
            files.append(path)
    return files


class ReplayServer:
    """Serves a recorded period's NWP (``/<site>/v1/forecast``) and carbon
    (``/v3/carbon-intensity/forecast|history?zone=``) as of :attr:`clock`, on 127.0.0.1.

    Carbon requests must carry ``auth-token: <token>`` (401 otherwise), like the real API."""

    def __init__(self, period: Path, token: str) -> None:
        self.period = Path(period)
        self.token = token
        self.clock = pd.Timestamp("1970-01-01", tz="UTC")
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                url = urlparse(self.path)
                server.requests.append(url.path)
                status, body, headers = server.answer(url.path, parse_qs(url.query), dict(self.headers))
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ReplayServer:
        self.thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _newest(self, folder: Path, prefix: str) -> tuple[pd.Timestamp, Path] | None:
        best = None
        if folder.is_dir():
            for path in folder.iterdir():
                if not path.name.startswith(prefix) or path.suffix != ".json":
                    continue
                stamp = parse_stamp(path.stem[len(prefix):])
                if stamp is not None and stamp <= self.clock and (best is None or stamp > best[0]):
                    best = (stamp, path)
        return best

    def answer(self, path: str, query: dict, headers: dict) -> tuple[int, bytes, dict]:
        parts = [p for p in path.split("/") if p]
        if len(parts) == 3 and parts[1:] == ["v1", "forecast"]:
            found = self._newest(self.period / "nwp" / parts[0], "")
            if found is None:
                return 404, b'{"error": true, "reason": "no forecast"}', {}
            return 200, found[1].read_bytes(), {"Last-Modified": format_datetime(found[0].to_pydatetime(), usegmt=True)}
        if parts[:2] == ["v3", "carbon-intensity"] and len(parts) == 3 and parts[2] in ("forecast", "history"):
            if {k.lower(): v for k, v in headers.items()}.get("auth-token") != self.token:
                return 401, b'{"error": "unauthorized"}', {}
            zone = (query.get("zone") or [""])[0]
            found = self._newest(self.period / "carbon" / zone, f"{parts[2]}_")
            if found is None:
                return 404, b'{"error": "zone not found"}', {}
            return 200, found[1].read_bytes(), {}
        return 404, b'{"error": "not found"}', {}
