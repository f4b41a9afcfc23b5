"""Wiring of the feed adapters (``forecasts.feeds``) from settings, for the daemon and the simulation.

:func:`feeds_provider` builds the one provider both use: with ``live`` (the daemon) a feed with an
URL is fetched over HTTP, else it is read from its drop folder; the simulation always reads the
folders (a recorded period).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from control.settings import Settings
from control.settings.errors import ConfigError
from forecasts.feeds import FeedError
from forecasts.feeds.http import HttpPolicy
from forecasts.feeds.meters import hourly, parse_meter_file
from forecasts.feeds.open_meteo import SitePlants
from forecasts.feeds.provider import CarbonSource, FeedsForecastProvider, FeedSite, NwpSource
from forecasts.feeds.sources import CarbonFolder, CarbonHttp, NwpFolder, NwpHttp
from forecasts.solar import PvPlant
from forecasts.wind import WindFarm

logger = logging.getLogger(__name__)


def http_policy(settings: Settings) -> HttpPolicy:
    f = settings.feeds
    return HttpPolicy(timeout_s=f.http_timeout_s, retries=f.http_retries, backoff_s=f.http_backoff_s)


def feed_sites(settings: Settings) -> list[FeedSite]:
    return [FeedSite(s.name, s.lat, s.lon, s.region, SitePlants(
        PvPlant(s.lat, s.lon, s.altitude_m, s.pv_capacity_mw, s.pv_tilt_deg, s.pv_azimuth_deg, s.pv_dc_ac_ratio),
        WindFarm(s.wind_capacity_mw, s.wind_turbine, s.wind_hub_height_m, s.wind_farm_efficiency)))
        for s in settings.sites]


def read_meter_folder(folder: Path | None) -> tuple[pd.DataFrame, list[str], dict[Path, pd.DataFrame]]:
    """Complete hours of every meter file in ``folder`` (hourly mean MW per site), the problems
    found (flags), and each readable file's readings (to archive the files fully ingested).
    A malformed file is skipped and flagged, never fatal."""
    flags: list[str] = []
    per_file: dict[Path, pd.DataFrame] = {}
    if folder is None or not Path(folder).is_dir():
        return hourly(pd.DataFrame())[0], flags, per_file
    for path in sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in (".csv", ".json") and p.is_file()):
        try:
            per_file[path] = parse_meter_file(path.read_text(encoding="utf-8"), path.name)
        except (FeedError, OSError, UnicodeDecodeError) as exc:
            logger.warning("meter file %s skipped: %s", path, exc)
            flags.append(getattr(exc, "flag", "measurements_malformed"))
    readings = pd.concat(list(per_file.values()), ignore_index=True) if per_file else pd.DataFrame()
    frame, problems = hourly(readings)
    return frame, list(dict.fromkeys(flags + problems)), per_file


def feeds_provider(settings: Settings, live: bool, carbon_model: Callable[[Settings, pd.DatetimeIndex], pd.DataFrame],
                   series_index: pd.DatetimeIndex | None = None,
                   meters: pd.DataFrame | None = None) -> FeedsForecastProvider:
    """The feeds provider of the config (see the module notes). ``series_index``: hours the default
    intensity model is computed over once (the simulation's run); ``meters``: hourly readings
    (default: read ``[feeds] measurements_dir``); ``carbon_model``: the ``[forecast] carbon`` series
    per site (``control.scenario.site_carbon_intensity``), used for regions without a carbon feed."""
    site_carbon_intensity = carbon_model

    f = settings.feeds
    policy = http_policy(settings)
    nwp: NwpSource
    if live and f.nwp_url:
        nwp = NwpHttp(f.nwp_url, f.nwp_forecast_days, policy)
    elif f.nwp_dir is not None:
        nwp = NwpFolder(f.nwp_dir)
    else:
        raise ConfigError("[feeds] nwp_dir is needed to simulate on recorded forecasts (nwp_url is only fetched by "
                          "the daemon)")
    carbon: CarbonSource | None = None
    if f.carbon_zones:
        if live and f.carbon_url:
            carbon = CarbonHttp(f.carbon_url, f.carbon_token(), policy)
        elif f.carbon_dir is not None:
            carbon = CarbonFolder(f.carbon_dir)
        else:
            raise ConfigError("[feeds] carbon_dir is needed to simulate on recorded carbon data")
    cached = site_carbon_intensity(settings, series_index) if series_index is not None else None

    def default_ci(index: pd.DatetimeIndex) -> pd.DataFrame:
        if cached is not None and index.isin(cached.index).all():
            return cached.loc[index]
        return site_carbon_intensity(settings, index)

    if meters is None and not live:
        meters = read_meter_folder(f.measurements_dir)[0]
    return FeedsForecastProvider(feed_sites(settings), nwp, carbon, f.carbon_zones, default_ci, meters,
                                 f.carbon_max_age_h)


def ingest_measurements(settings: Settings, store, provider: FeedsForecastProvider,
                        tick_time: pd.Timestamp) -> list[str]:
    """Store every complete metered hour before ``tick_time`` from the drop folder, with the
    hour's intensity (carbon history, or the default model); returns the flags raised.

    An hour whose readings are incomplete, or whose intensity the carbon feed has not published
    yet, is not stored: the hour waits for it (``[runtime] settle_max_wait_h``). Readings of an
    hour not over yet are time-shifted data: ignored and flagged ``measurements_future``. Files
    whose hours are all stored are moved to ``<measurements_dir>/ingested/``."""
    from control.store.repository import now_utc, utc
    from control.store.tables import MeasurementRecord

    folder = settings.feeds.measurements_dir
    if folder is None:
        return ["measurements_missing"]
    frame, flags, per_file = read_meter_folder(folder)
    sites = settings.site_names
    unknown = sorted(set(frame["site"]) - set(sites))
    if unknown:
        flags.append("measurements_unknown_site")
        logger.warning("meter readings for unknown sites %s ignored; sites are %s", unknown, sites)
    frame = frame[frame["site"].isin(sites)]
    shifted = _time_shifted(settings, frame)
    if shifted:
        flags.append("measurements_time_shifted")
        logger.warning("meter readings of %s put PV output at night (times shifted?); not used", shifted)
        frame = frame[~frame["site"].isin(shifted)]
    future = frame["time"] >= tick_time
    if future.any():
        flags.append("measurements_future")
        logger.warning("%d meter hours at or after the tick %s ignored (time-shifted?)", int(future.sum()), tick_time)
    frame = frame[~future]
    if frame.empty:
        return list(dict.fromkeys(flags))
    since = frame["time"].min()
    stored = store.measurements(utc(since), utc(tick_time))
    seen = set(zip(stored["time"], stored["site"], strict=True))
    frame = frame[[(t, s) not in seen for t, s in zip(frame["time"], frame["site"], strict=True)]]
    if not frame.empty:
        hours = pd.DatetimeIndex(sorted(frame["time"].unique()))
        ci, carbon_flags = provider.ci_history(hours, at=tick_time)
        flags += carbon_flags
        now = now_utc()
        rows = []
        for row in frame.itertuples(index=False):
            value = float(ci.at[row.time, row.site])
            if np.isnan(value):  # the carbon history has no value for the hour yet
                continue
            rows.append(MeasurementRecord(time=utc(row.time), site=row.site, green_mw=float(row.pv_mw + row.wind_mw),
                                          ci_g_per_kwh=value, source="meter", recorded_at=now))
        if len(rows) < len(frame):
            flags.append("carbon_history_gapped")
        store.add_measurements(rows)
    _archive(folder, per_file, store, tick_time)
    return list(dict.fromkeys(flags))


def _time_shifted(settings: Settings, frame: pd.DataFrame) -> list[str]:
    """Sites whose metered PV has more than the allowed share of its energy at night."""
    from forecasts.feeds.checks import MAX_NIGHT_SHARE, night_share

    shifted = []
    for site in settings.sites:
        rows = frame[frame["site"] == site.name]
        if len(rows) and site.pv_capacity_mw > 0:
            share = night_share(site.lat, site.lon, pd.DatetimeIndex(rows["time"]), rows["pv_mw"].to_numpy())
            if share > MAX_NIGHT_SHARE:
                shifted.append(site.name)
    return shifted


def _archive(folder: Path, per_file: dict[Path, pd.DataFrame], store, tick_time: pd.Timestamp) -> None:
    from control.store.repository import utc

    if not per_file:
        return
    earliest = min(f["time"].min() for f in per_file.values() if not f.empty) if any(
        not f.empty for f in per_file.values()) else tick_time
    stored = store.measurements(utc(pd.Timestamp(earliest).floor("h")), utc(tick_time))
    seen = set(zip(stored["time"], stored["site"], strict=True))
    target = Path(folder) / "ingested"
    for path, readings in per_file.items():
        keys = set(zip(readings["time"].dt.floor("h"), readings["site"], strict=True))
        if keys and keys <= seen:
            target.mkdir(exist_ok=True)
            path.replace(target / path.name)
