"""Where feeds come from: drop folders (recorded or pushed files) or HTTP endpoints.

Every source answers "the newest data issued at or before ``at``": a file or response issued
after ``at`` is never returned (``nwp_future`` / ``carbon_future`` when an endpoint hands one out).

Drop-folder layout (docs/operations.md)::

    <nwp_dir>/<site>/<issue>.json | .csv          Open-Meteo JSON, or the documented CSV
    <carbon_dir>/<zone>/forecast_<issue>.json     Electricity Maps v3 /carbon-intensity/forecast
    <carbon_dir>/<zone>/history_<issue>.json      Electricity Maps v3 /carbon-intensity/history
    <measurements_dir>/*.csv | *.json             site meter readings (forecasts/feeds/meters.py)

``<issue>`` is the UTC issue time written ``YYYYmmddTHHMMZ`` (e.g. ``20230702T1800Z``).
"""

from __future__ import annotations

import email.utils
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from forecasts.feeds.electricitymaps import CarbonSeries, parse_carbon_intensity
from forecasts.feeds.errors import FeedError
from forecasts.feeds.http import HttpPolicy, get_json
from forecasts.feeds.open_meteo import (
    HOURLY_VARIABLES,
    parse_open_meteo,
    read_open_meteo_csv,
)

logger = logging.getLogger(__name__)

STAMP_FORMAT = "%Y%m%dT%H%MZ"


def issue_stamp(time: pd.Timestamp) -> str:
    return pd.Timestamp(time).tz_convert("UTC").strftime(STAMP_FORMAT)


def parse_stamp(text: str) -> pd.Timestamp | None:
    try:
        return pd.Timestamp(pd.to_datetime(text, format=STAMP_FORMAT, utc=True))
    except (ValueError, TypeError):
        return None


def _issued(folder: Path, prefix: str, suffixes: tuple[str, ...]) -> list[tuple[pd.Timestamp, Path]]:
    """Files ``<prefix><stamp><suffix>`` of ``folder``, oldest first (names that do not parse are skipped)."""
    if not folder.is_dir():
        return []
    found = []
    for path in folder.iterdir():
        if path.suffix.lower() not in suffixes or not path.name.startswith(prefix):
            continue
        stamp = parse_stamp(path.stem[len(prefix):])
        if stamp is None:
            logger.warning("%s: name is not %s<YYYYmmddTHHMMZ>%s; ignored", path, prefix, suffixes[0])
            continue
        found.append((stamp, path))
    return sorted(found)


@dataclass(frozen=True)
class Weather:
    """One site's NWP forecast as parsed, with its issue time."""

    issue_time: pd.Timestamp
    frame: pd.DataFrame


class NwpFolder:
    """Open-Meteo JSON (or CSV) files per site and issue time."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def latest(self, site: str, lat: float, lon: float, at: pd.Timestamp) -> Weather:
        issued = [(t, p) for t, p in _issued(self.root / site, "", (".json", ".csv")) if t <= at]
        if not issued:
            raise FeedError("nwp_missing", f"no NWP file issued at or before {at} in {self.root / site}")
        stamp, path = issued[-1]
        text = path.read_text(encoding="utf-8")
        if path.suffix.lower() == ".csv":
            return Weather(stamp, read_open_meteo_csv(text))
        import json

        try:
            payload = json.loads(text)
        except json.JSONDecodeError as exc:
            raise FeedError("nwp_malformed", f"{path} is not JSON ({exc.msg})") from None
        return Weather(stamp, parse_open_meteo(payload))


class NwpHttp:
    """An Open-Meteo compatible endpoint (``/v1/forecast`` or a mirror); ``{site}`` in the URL is
    replaced by the site name. The issue time is the response's ``Last-Modified`` header when it
    has one, else the time of the request (``at``)."""

    def __init__(self, url: str, forecast_days: int, policy: HttpPolicy) -> None:
        self.url = url
        self.forecast_days = forecast_days
        self.policy = policy

    def latest(self, site: str, lat: float, lon: float, at: pd.Timestamp) -> Weather:
        params = {"latitude": f"{lat}", "longitude": f"{lon}", "hourly": ",".join(HOURLY_VARIABLES),
                  "wind_speed_unit": "ms", "timezone": "GMT", "forecast_days": str(self.forecast_days),
                  "past_days": "1"}
        payload, headers = get_json(self.url.replace("{site}", site), "nwp", params, policy=self.policy)
        issue = at
        modified = headers.get("last-modified")
        if modified:
            try:
                issue = pd.Timestamp(email.utils.parsedate_to_datetime(modified)).tz_convert("UTC")
            except (TypeError, ValueError):
                raise FeedError("nwp_malformed", f"NWP Last-Modified header {modified!r} is not an HTTP date") from None
        if issue > at:
            raise FeedError("nwp_future", f"NWP for {site} says it was issued {issue}, after the tick time {at}; "
                            "a tick never uses a forecast issued after it (check the server's clock)")
        return Weather(issue, parse_open_meteo(payload))


class CarbonFolder:
    """Electricity Maps v3 responses saved per zone and issue time."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def forecast(self, zone: str, at: pd.Timestamp) -> CarbonSeries:
        issued = [(t, p) for t, p in _issued(self.root / zone, "forecast_", (".json",)) if t <= at]
        if not issued:
            raise FeedError("carbon_missing", f"no carbon forecast issued at or before {at} in {self.root / zone}")
        stamp, path = issued[-1]
        series = _read_carbon(path, zone)
        return CarbonSeries(series.zone, series.ci_g_per_kwh, series.estimated, series.updated_at or stamp)

    def history(self, zone: str, at: pd.Timestamp | None = None) -> CarbonSeries:
        """All history points of files issued at or before ``at`` (every file when None); a
        repeated hour keeps the value of the newest file."""
        files = [(t, p) for t, p in _issued(self.root / zone, "history_", (".json",)) if at is None or t <= at]
        if not files:
            raise FeedError("carbon_missing", f"no carbon history issued at or before {at} in {self.root / zone}")
        parts = [_read_carbon(p, zone) for _, p in files]
        ci = pd.concat([p.ci_g_per_kwh for p in parts])
        estimated = pd.concat([p.estimated for p in parts])
        keep = ~ci.index.duplicated(keep="last")
        order = ci[keep].sort_index().index
        return CarbonSeries(zone, ci[keep].reindex(order), estimated[keep].reindex(order), files[-1][0])


def _read_carbon(path: Path, zone: str) -> CarbonSeries:
    import json

    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise FeedError("carbon_malformed", f"{path} is not JSON ({exc.msg})") from None
    return parse_carbon_intensity(payload, zone)


@dataclass(frozen=True)
class CarbonHttp:
    """The Electricity Maps API v3 (``base_url`` e.g. ``https://api.electricitymaps.com/v3``), with
    the ``auth-token`` header. The token is held here only; it is never logged or stored."""

    base_url: str
    token: str = field(repr=False)
    policy: HttpPolicy = field(default_factory=HttpPolicy)

    def _get(self, endpoint: str, zone: str) -> object:
        headers: Mapping[str, str] = {"auth-token": self.token} if self.token else {}
        payload, _ = get_json(f"{self.base_url.rstrip('/')}/carbon-intensity/{endpoint}", "carbon", {"zone": zone},
                              headers, self.policy)
        return payload

    def forecast(self, zone: str, at: pd.Timestamp) -> CarbonSeries:
        series = parse_carbon_intensity(self._get("forecast", zone), zone)
        if series.updated_at is not None and series.updated_at > at:
            raise FeedError("carbon_future", f"carbon forecast for {zone} updated {series.updated_at}, after the tick "
                            f"time {at}; a tick never uses a forecast issued after it")
        return series

    def history(self, zone: str, at: pd.Timestamp | None = None) -> CarbonSeries:
        series = parse_carbon_intensity(self._get("history", zone), zone)
        if at is not None:
            keep = series.ci_g_per_kwh.index < at
            series = CarbonSeries(zone, series.ci_g_per_kwh[keep], series.estimated[keep], series.updated_at)
        return series
