"""The grid a controller sees: each site's own connection, optionally on a meshed network.

Import and export headroom come from the site connections; line-flow constraints (PTDF, limits,
base flows) from the network. The AC check runs both and reports the worst of them.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from grid_models.connection import SiteConnectionGrid
from grid_models.limits import AcCheck, Derating, GridLimits
from grid_models.network import NetworkGrid


class CompositeGrid:
    """Site connections plus an optional meshed network (implements the ``GridModel`` contract)."""

    def __init__(self, connections: SiteConnectionGrid, network: NetworkGrid | None = None) -> None:
        self.connections = connections
        self.network = network
        self.sites = connections.sites
        if network is not None:
            missing = sorted(set(self.sites) - set(network.sites))
            if missing:
                raise ValueError(f"sites {missing} have no bus in the network; add them to [grid.site_buses]")

    def limits(self, index: pd.DatetimeIndex, green_mw: pd.DataFrame | None = None,
               derating: Derating | None = None) -> GridLimits:
        """Linear limits over ``index``; ``derating``: what the run tightened so far (None = as rated)."""
        limits = self.connections.limits(index, green_mw, derating)
        if self.network is None:
            return limits
        net = self.network
        ptdf = net.site_ptdf[:, [net.sites.index(s) for s in self.sites]]
        return dataclasses.replace(
            limits,
            ptdf=ptdf,
            branch_names=list(net.ptdf.branch_names),
            branch_limit_mw=net.linear_limits_mw(derating),
            base_flow_mw=pd.DataFrame(net.base_flows_mw(index), index=index, columns=net.ptdf.branch_names),
        )

    def tightened(self, derating: Derating, element_names: list[str], factor: float = 0.95) -> Derating:
        """``derating`` with the overloaded connections and branches lowered by ``factor`` (pure:
        the grid is not changed; the run keeps the result)."""
        branches = self.network.overloaded_branches(element_names) if self.network is not None else []
        return derating.tightened(self.connections.overloaded_sites(element_names), branches, factor)

    def ac_check(
        self, time: pd.Timestamp, load_mw: pd.Series, green_mw: pd.Series,
        draw_mw: pd.Series | None = None, export_mw: pd.Series | None = None,
    ) -> AcCheck:
        """AC check of the connections (load and green injected per site) and of the network
        (net draw and export per site)."""
        local = self.connections.ac_check(time, load_mw, green_mw)
        if self.network is None or not local.converged:
            return local
        draw = draw_mw if draw_mw is not None else (load_mw - green_mw).clip(lower=0.0)
        export = export_mw if export_mw is not None else (green_mw - load_mw).clip(lower=0.0)
        meshed = self.network.ac_check(time, draw, export)
        if not meshed.converged:
            meshed = self.network.dc_check(time, draw, export)
        return AcCheck(
            converged=True,
            max_line_loading_pct=max(local.max_line_loading_pct, meshed.max_line_loading_pct),
            min_voltage_pu=min(local.min_voltage_pu, meshed.min_voltage_pu),
            max_voltage_pu=max(local.max_voltage_pu, meshed.max_voltage_pu),
            violation_mw=local.violation_mw + meshed.violation_mw,
            overloaded=local.overloaded + meshed.overloaded,
            message=meshed.message,
            method=meshed.method,
        )


def voltage_violation(check: AcCheck, vm_min_pu: float, vm_max_pu: float) -> float:
    """How far the worst bus voltage is outside the band [pu] (0 inside)."""
    if not check.converged:
        return float("nan")
    return float(max(0.0, vm_min_pu - check.min_voltage_pu, check.max_voltage_pu - vm_max_pu, np.float64(0.0)))
