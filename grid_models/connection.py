"""A data centre's grid connection as a pandapower network.

Topology (one per site)::

    ext_grid == [HV bus, hv_kv] --trafo (transformer_mva)--> [MV bus, mv_kv] --line--> [site bus]
                                                               background load       data centre (load)
                                                                                     PV, wind (sgen)

The import limit is what the site can draw before the transformer or the line reaches 100 %
loading, given the background load on the transformer; the export limit is what its renewables
can push back the same way. Both come from the element ratings in the network, and an AC power
flow (:func:`ac_check`) verifies a committed step against the real limits.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pandapower as pp

from grid_models.limits import AcCheck, GridLimits

logger = logging.getLogger(__name__)


class ConnectionCapacityError(ValueError):
    """A site's connection cannot carry what the site needs."""


@dataclass(frozen=True)
class ConnectionSpec:
    """Ratings of one site's connection (see ``control.settings.core.ConnectionSettings``)."""

    site: str
    hv_kv: float
    mv_kv: float
    transformer_mva: float
    line_km: float
    line_max_i_ka: float
    background_load_mw: float
    power_factor: float


def build_connection_net(spec: ConnectionSpec) -> pp.pandapowerNet:
    """Build the pandapower network of one site connection (no data-centre load yet)."""
    net = pp.create_empty_network(name=f"connection:{spec.site}")
    hv = pp.create_bus(net, vn_kv=spec.hv_kv, name="hv")
    mv = pp.create_bus(net, vn_kv=spec.mv_kv, name="mv")
    site = pp.create_bus(net, vn_kv=spec.mv_kv, name="site")
    pp.create_ext_grid(net, hv, vm_pu=1.0, name="upstream")
    pp.create_transformer_from_parameters(
        net, hv, mv, sn_mva=spec.transformer_mva, vn_hv_kv=spec.hv_kv, vn_lv_kv=spec.mv_kv,
        vkr_percent=0.4, vk_percent=12.0, pfe_kw=0.0, i0_percent=0.0, name="substation",
    )
    # Typical 110 kV overhead line: r 0.12 ohm/km, x 0.39 ohm/km, c 9.5 nF/km.
    pp.create_line_from_parameters(
        net, mv, site, length_km=spec.line_km, r_ohm_per_km=0.12, x_ohm_per_km=0.39,
        c_nf_per_km=9.5, max_i_ka=spec.line_max_i_ka, name="connection_line",
    )
    q_bg = spec.background_load_mw * math.tan(math.acos(spec.power_factor))
    pp.create_load(net, mv, p_mw=spec.background_load_mw, q_mvar=q_bg, name="background")
    pp.create_load(net, site, p_mw=0.0, q_mvar=0.0, name="data_centre")
    pp.create_sgen(net, site, p_mw=0.0, name="renewables")
    return net


def rated_limits_mw(spec: ConnectionSpec) -> tuple[float, float]:
    """(import, export) limits [MW] of a connection from its element ratings.

    Apparent-power ratings are turned into active power at the data centre's power factor;
    the transformer also carries the background load (which helps export, hurts import).
    """
    line_mva = math.sqrt(3) * spec.mv_kv * spec.line_max_i_ka
    pf = spec.power_factor
    import_mw = min(spec.transformer_mva * pf - spec.background_load_mw, line_mva * pf)
    export_mw = min(spec.transformer_mva * pf + spec.background_load_mw, line_mva * pf)
    return max(import_mw, 0.0), max(export_mw, 0.0)


class SiteConnectionGrid:
    """Grid model made of independent site connections (no meshed network between sites)."""

    def __init__(self, specs: list[ConnectionSpec], ac_margin: float = 0.97) -> None:
        self.specs = {s.site: s for s in specs}
        self.sites = [s.site for s in specs]
        self.nets = {s.site: build_connection_net(s) for s in specs}
        self._rated = {s.site: rated_limits_mw(s) for s in specs}
        # The linear limits keep a small margin below the rating for losses and reactive power.
        self.ac_margin = ac_margin

    def limits(self, index: pd.DatetimeIndex, green_mw: pd.DataFrame | None = None) -> GridLimits:
        imp = np.array([self._rated[s][0] * self.ac_margin for s in self.sites])
        exp = np.array([self._rated[s][1] * self.ac_margin for s in self.sites])
        return GridLimits(
            index=index,
            import_limit_mw=pd.DataFrame(np.tile(imp, (len(index), 1)), index=index, columns=self.sites),
            export_limit_mw=pd.DataFrame(np.tile(exp, (len(index), 1)), index=index, columns=self.sites),
        )

    def ac_check(self, time: pd.Timestamp, load_mw: pd.Series, green_mw: pd.Series) -> AcCheck:
        """Run an AC power flow per site connection with the committed load and green output."""
        max_loading, vmin, vmax, violation = 0.0, np.inf, -np.inf, 0.0
        overloaded: list[str] = []
        for site in self.sites:
            spec, net = self.specs[site], self.nets[site]
            p = float(load_mw.get(site, 0.0))
            net.load.loc[net.load.name == "data_centre", "p_mw"] = p
            net.load.loc[net.load.name == "data_centre", "q_mvar"] = p * math.tan(math.acos(spec.power_factor))
            net.sgen.loc[net.sgen.name == "renewables", "p_mw"] = float(green_mw.get(site, 0.0))
            try:
                pp.runpp(net, numba=False)
            except pp.LoadflowNotConverged:
                return AcCheck(False, np.nan, np.nan, np.nan, np.nan, (site,),
                               f"AC power flow of {site} at {time} did not converge")
            loading = np.concatenate([net.res_trafo.loading_percent.to_numpy(), net.res_line.loading_percent.to_numpy()])
            names = ["substation", "connection_line"]
            ratings = [spec.transformer_mva, math.sqrt(3) * spec.mv_kv * spec.line_max_i_ka]
            for name, pct, rating in zip(names, loading, ratings, strict=True):
                if pct > 100.0 + 1e-6:
                    overloaded.append(f"{site}:{name}")
                    violation += (pct - 100.0) / 100.0 * rating * spec.power_factor
            max_loading = max(max_loading, float(loading.max()))
            vmin = min(vmin, float(net.res_bus.vm_pu.min()))
            vmax = max(vmax, float(net.res_bus.vm_pu.max()))
        return AcCheck(True, max_loading, vmin, vmax, violation, tuple(overloaded))
