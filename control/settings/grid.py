"""Settings of the ``[grid]`` table: which network the sites sit on and the limits checked."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from control.settings.base import ConfigPath, FrozenModel


class GridSettings(FrozenModel):
    """``[grid]`` (optional): meshed network, site-to-bus map, AC-check limits.

    Without ``network`` each site only has its own connection (``[sites.connection]``).
    """

    network: str | None = None
    """``"china"`` (31-province model from ``china_data``), ``"pandapower:case118"`` (a bundled
    pandapower case), or the path of a pandapower JSON / MATPOWER ``.m`` file."""
    china_data: ConfigPath | None = None
    """Folder with the PyPSA-China data (edges, hourly provincial demand, capacities)."""
    site_buses: dict[str, int] = Field(default_factory=dict)
    """Site -> pandapower bus id of a user network."""
    site_provinces: dict[str, str] = Field(default_factory=dict)
    """Site -> province name (China model, and province-shaped background load)."""
    background_profile: Literal["flat", "province_demand"] = "flat"
    """Background load on each site's transformer: constant, or shaped like its province's hourly
    demand (peak = ``background_load_mw``; needs ``china_data`` and ``site_provinces``)."""
    max_loading_pct: float = Field(default=100.0, gt=0, le=200)
    vm_min_pu: float = Field(default=0.95, gt=0.5, lt=1.0)
    vm_max_pu: float = Field(default=1.05, gt=1.0, lt=1.5)
    ac_check: bool = True
    """Run an AC power flow of every committed step."""
    linear_margin: float = Field(default=0.97, gt=0.5, le=1.0)
    tighten_factor: float = Field(default=0.95, gt=0.5, lt=1.0)
    max_resolves: int = Field(default=3, ge=0, le=10)
    """Re-solves with tightened limits when the AC check finds a violation the linear model let through."""

    @model_validator(mode="after")
    def _needs(self) -> "GridSettings":
        if self.network == "china" and self.china_data is None:
            raise ValueError("network = 'china' needs china_data = <folder with the PyPSA-China files>")
        if self.background_profile == "province_demand" and (self.china_data is None or not self.site_provinces):
            raise ValueError("background_profile = 'province_demand' needs china_data and [grid.site_provinces]")
        if self.network not in (None, "china") and not self.site_buses:
            raise ValueError(f"network = {self.network!r} needs [grid.site_buses] mapping each site to a bus id")
        return self
