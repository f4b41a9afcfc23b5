"""Settings of the ``[feeds]`` table: where a live deployment's inputs come from.

Used when ``[forecast] method = "feeds"``. Each feed is an HTTP endpoint (the daemon) or a drop
folder (the daemon, and ``codispatch simulate`` on a recorded period); see docs/operations.md.
Credentials are never part of the config: the Electricity Maps token is read from the environment
variable ``carbon_token_env`` or the file ``carbon_token_file``.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from control.settings.base import ConfigPath, FrozenModel


class FeedsSettings(FrozenModel):
    """``[feeds]``: NWP, carbon and meter feeds."""

    nwp_url: str | None = None
    """Open-Meteo compatible forecast endpoint, e.g. ``https://api.open-meteo.com/v1/forecast``
    (``{site}`` is replaced by the site name). Asked for each site's coordinates every tick."""
    nwp_dir: ConfigPath | None = None
    """Drop folder of Open-Meteo JSON / CSV files: ``<nwp_dir>/<site>/<YYYYmmddTHHMMZ>.json``."""
    nwp_forecast_days: int = Field(default=3, ge=1, le=16)
    """``forecast_days`` asked of the endpoint (must cover ``[mpc] horizon_h``)."""
    carbon_url: str | None = None
    """Electricity Maps API v3 base URL, e.g. ``https://api.electricitymaps.com/v3``."""
    carbon_dir: ConfigPath | None = None
    """Drop folder of Electricity Maps v3 responses: ``<carbon_dir>/<zone>/forecast_<stamp>.json``
    and ``history_<stamp>.json``."""
    carbon_zones: dict[str, str] = Field(default_factory=dict)
    """Config region -> Electricity Maps zone (e.g. ``{ sichuan = "CN-SC" }``). Regions not listed
    keep the ``[forecast] carbon`` model (by default the China hourly model)."""
    carbon_token_env: str = "ELECTRICITYMAPS_TOKEN"
    """Environment variable holding the Electricity Maps token (header ``auth-token``)."""
    carbon_token_file: ConfigPath | None = None
    """Or: a file whose first line is the token (readable by the daemon only)."""
    carbon_max_age_h: float = Field(default=6.0, gt=0)
    """A carbon forecast updated longer ago than this is stale: the default model is used [h]."""
    measurements_dir: ConfigPath | None = None
    """Drop folder the sites' SCADA/EMS push meter files into (CSV or JSON, 15-min or hourly)."""
    http_timeout_s: float = Field(default=10.0, gt=0, le=120)
    http_retries: int = Field(default=2, ge=0, le=10)
    http_backoff_s: float = Field(default=0.5, ge=0, le=60)
    """First retry wait, doubled each retry [s]."""

    @field_validator("nwp_url", "carbon_url")
    @classmethod
    def _https(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if not value.startswith(("https://", "http://127.0.0.1", "http://localhost", "http://[::1]")):
            raise ValueError(f"{value!r}: feeds are fetched over https (TLS verified); plain http only to loopback")
        if "token" in value.lower() or "auth" in value.lower():
            raise ValueError("the URL seems to carry a credential; give the token in carbon_token_env or carbon_token_file")
        return value

    def carbon_token(self) -> str:
        """The token from the file or the environment ("" when neither has one). Never logged."""
        import os

        if self.carbon_token_file is not None:
            try:
                return self.carbon_token_file.read_text(encoding="utf-8").splitlines()[0].strip()
            except (OSError, IndexError):
                raise ValueError(f"[feeds] carbon_token_file {self.carbon_token_file} cannot be read or is empty") from None
        return os.environ.get(self.carbon_token_env, "").strip()
