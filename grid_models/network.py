"""A meshed network (user's pandapower/MATPOWER case or the China model) with data centres on it.

Each data centre is a load at its bus, and its own or contracted renewables an sgen at the same
bus. :meth:`NetworkGrid.limits` gives the controller linear line-flow constraints (PTDF from a DC
power flow); :meth:`NetworkGrid.ac_check` runs a full AC power flow (``runpp``) of a committed
step and reports loadings, voltages and violations.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pandapower as pp
import pandapower.topology as top
from grid_models.errors import GridInputError

from grid_models.limits import AcCheck, CheckMethod, Derating
from grid_models.ptdf import AcFlow, PowerFlowError, bus_injections_mw, network_ptdf, run_ac

logger = logging.getLogger(__name__)


class NetworkError(GridInputError):
    """The network file or the site-to-bus map is unusable; the message says why and how to fix it."""


def load_network(path: str | Path) -> pp.pandapowerNet:
    """Read a pandapower JSON file, a MATPOWER case (``.m``/``.mat``) or a pandapower case name.

    ``pandapower:case118`` loads pandapower's bundled ``pandapower.networks.case118()``.
    """
    text = str(path)
    if text.startswith("pandapower:"):
        import pandapower.networks as pn

        name = text.split(":", 1)[1]
        factory = getattr(pn, name, None)
        if factory is None:
            raise NetworkError(f"pandapower has no bundled network {name!r}; try e.g. 'pandapower:case118'")
        return factory()
    path = Path(path)
    if not path.is_file():
        raise NetworkError(f"network file {path} does not exist; give a pandapower JSON or MATPOWER case")
    if path.suffix == ".json":
        return pp.from_json(str(path))
    if path.suffix in (".m", ".mat"):
        from pandapower.converter import from_mpc

        return from_mpc(str(path), f_hz=50)
    raise NetworkError(f"network file {path} has suffix {path.suffix!r}; use .json (pandapower) or .m/.mat (MATPOWER)")


def check_site_buses(net: pp.pandapowerNet, site_buses: Mapping[str, int]) -> None:
    """Every site sits on an existing bus connected to an external grid (slack)."""
    missing = {s: b for s, b in site_buses.items() if b not in net.bus.index}
    if missing:
        raise NetworkError(
            f"site(s) mapped to unknown bus(es) {missing}; the network has buses "
            f"{int(net.bus.index.min())}..{int(net.bus.index.max())}. Fix [grid.site_buses]."
        )
    graph = top.create_nxgraph(net, respect_switches=True)
    slack_buses = set(net.ext_grid.bus[net.ext_grid.in_service]) | set(net.gen.bus[net.gen.get("slack", False) == True])  # noqa: E712
    if not slack_buses:
        raise NetworkError("the network has no in-service external grid (slack); add one")
    reachable: set[int] = set()
    for bus in slack_buses:
        reachable |= set(top.connected_component(graph, bus))
    islanded = {s: b for s, b in site_buses.items() if b not in reachable}
    if islanded:
        raise NetworkError(
            f"site(s) {islanded} are on buses not connected to any external grid (islanded); "
            "map them to a connected bus or close the switch that isolates them"
        )


class NetworkGrid:
    """Data centres placed on a meshed pandapower network.

    Parameters
    ----------
    net
        The network. Its loads and generators form the base case.
    site_buses
        Site name -> pandapower bus id.
    base_injections
        Optional function ``hours (UTC DatetimeIndex) -> (n_hour, n_bus) injections [MW]`` for a
        time-varying base case (the China model's hourly demand); default: the net as given.
    max_loading_pct, vm_min_pu, vm_max_pu
        Limits of the AC check.
    """

    def __init__(
        self,
        net: pp.pandapowerNet,
        site_buses: Mapping[str, int],
        base_injections: Callable[[pd.DatetimeIndex], np.ndarray] | None = None,
        max_loading_pct: float = 100.0,
        vm_min_pu: float = 0.95,
        vm_max_pu: float = 1.05,
    ) -> None:
        check_site_buses(net, site_buses)
        self.net = net
        self.sites = list(site_buses)
        self.site_buses = dict(site_buses)
        self.max_loading_pct = max_loading_pct
        self.vm_min_pu, self.vm_max_pu = vm_min_pu, vm_max_pu
        self._base_injections = base_injections
        self.ptdf = network_ptdf(net)
        self.static_injection = bus_injections_mw(net)
        self._dc_loads = {
            s: int(pp.create_load(net, b, p_mw=0.0, q_mvar=0.0, name=f"datacentre:{s}")) for s, b in site_buses.items()
        }
        self._dc_green = {s: int(pp.create_sgen(net, b, p_mw=0.0, name=f"green:{s}")) for s, b in site_buses.items()}
        self._base_loads = net.load.index.difference(list(self._dc_loads.values()))
        self._base_sgens = net.sgen.index.difference(list(self._dc_green.values()))

    @property
    def site_ptdf(self) -> np.ndarray:
        """(n_branch, n_site): MW of branch flow per MW *drawn* by each site."""
        return -self.ptdf.columns([self.site_buses[s] for s in self.sites])

    def base_flows_mw(self, index: pd.DatetimeIndex) -> np.ndarray:
        """(n_hour, n_branch) flows with every data centre and its renewables at zero."""
        if self._base_injections is None:
            inj = np.tile(self.static_injection, (len(index), 1))
        else:
            inj = self._base_injections(index)
        return inj @ self.ptdf.ptdf.T

    def linear_limits_mw(self, derating: Derating | None = None) -> np.ndarray:
        """Linear flow limit of each branch [MW]; ``derating``: the run's tightened branches."""
        derating = derating or Derating()
        factors = np.array([derating.branch(name) for name in self.ptdf.branch_names])
        return self.ptdf.branch_rating_mw * self.max_loading_pct / 100.0 * factors

    def overloaded_branches(self, branch_names: list[str]) -> list[str]:
        """The names among ``branch_names`` that are branches of this network."""
        known = set(self.ptdf.branch_names)
        return [name for name in branch_names if name in known]

    def _set_base_case(self, time: pd.Timestamp) -> None:
        if self._base_injections is None:
            return
        inj = self._base_injections(pd.DatetimeIndex([time]))[0]
        # Base injections go on the net's base loads/sgens: loads carry demand, sgens generation.
        for idx in self._base_loads:
            self.net.load.at[idx, "p_mw"] = 0.0
        for idx in self._base_sgens:
            self.net.sgen.at[idx, "p_mw"] = 0.0
        for bus, value in zip(self.net.bus.index, inj, strict=True):
            if value >= 0:
                target = self._base_sgens[self.net.sgen.loc[self._base_sgens, "bus"].to_numpy() == bus]
                if len(target):
                    self.net.sgen.at[target[0], "p_mw"] = value
            else:
                target = self._base_loads[self.net.load.loc[self._base_loads, "bus"].to_numpy() == bus]
                if len(target):
                    self.net.load.at[target[0], "p_mw"] = -value

    def ac_check(self, time: pd.Timestamp, draw_mw: pd.Series, export_mw: pd.Series) -> AcCheck:
        """AC power flow with each site drawing ``draw_mw`` and exporting ``export_mw``.

        Loading above the limit counts as a violation only where the data centres raise it: a
        branch already over its limit in the base case (data centres at zero) may not get worse.
        """
        self._set_base_case(time)
        zero = pd.Series(0.0, index=self.sites)
        base = self._run(time, zero, zero)
        if not base.converged:
            return base
        base_loading = self._last_loading
        check = self._run(time, draw_mw, export_mw)
        if not check.converged:
            return check
        allowed = np.maximum(self.max_loading_pct, base_loading)
        over = self._last_loading > allowed + 1e-6
        violation = float(((self._last_loading[over] - allowed[over]) / 100.0 * self._last_rating[over]).sum())
        return AcCheck(True, check.max_line_loading_pct, check.min_voltage_pu, check.max_voltage_pu,
                       violation, tuple(np.asarray(self._last_names)[over]))

    def dc_check(self, time: pd.Timestamp, draw_mw: pd.Series, export_mw: pd.Series) -> AcCheck:
        """Linear (DC, PTDF) check used when the AC power flow of the network does not converge.

        Voltages are not computed (reported as 1.0 pu); loading and violations are the DC flows'.
        """
        base = self.base_flows_mw(pd.DatetimeIndex([time]))[0]
        # Only the data centres' draw is attributed; exports are the operator's to curtail.
        net_draw = np.array([float(draw_mw.get(s, 0.0)) for s in self.sites])
        flows = base + self.site_ptdf @ net_draw
        limit = self.ptdf.branch_rating_mw * self.max_loading_pct / 100.0
        allowed = np.maximum(limit, np.abs(base))
        excess = np.maximum(np.abs(flows) - allowed, 0.0)
        over = excess > 1e-6
        loading_pct = np.abs(flows) / np.maximum(self.ptdf.branch_rating_mw, 1e-9) * 100.0
        return AcCheck(True, float(loading_pct.max()), 1.0, 1.0, float(excess.sum()),
                       tuple(np.asarray(self.ptdf.branch_names)[over]), "DC check (AC power flow did not converge)",
                       CheckMethod.DC)

    def _run(self, time: pd.Timestamp, draw_mw: pd.Series, export_mw: pd.Series) -> AcCheck:
        for site in self.sites:
            self.net.load.at[self._dc_loads[site], "p_mw"] = float(draw_mw.get(site, 0.0))
            self.net.load.at[self._dc_loads[site], "q_mvar"] = 0.33 * float(draw_mw.get(site, 0.0))
            self.net.sgen.at[self._dc_green[site], "p_mw"] = float(export_mw.get(site, 0.0))
        flow = run_ac(self.net)
        if not flow.converged:
            return AcCheck(False, float("nan"), float("nan"), float("nan"), float("nan"), (),
                           f"AC power flow at {time} did not converge; tried {flow.tried}")
        return self._read_results(flow)

    def _read_results(self, flow: AcFlow) -> AcCheck:
        net = self.net
        loading = []
        names = []
        ratings = []
        if len(net.line):
            loading.append(np.nan_to_num(flow.line_loading_pct))
            names += [f"line:{n if n else i}" for i, n in zip(net.line.index, net.line.name, strict=True)]
            vn = net.bus.loc[net.line.from_bus, "vn_kv"].to_numpy()
            ratings.append(np.sqrt(3) * vn * net.line.max_i_ka.to_numpy() * net.line.parallel.to_numpy())
        if len(net.trafo):
            loading.append(np.nan_to_num(flow.trafo_loading_pct))
            names += [f"trafo:{n if n else i}" for i, n in zip(net.trafo.index, net.trafo.name, strict=True)]
            ratings.append(net.trafo.sn_mva.to_numpy() * net.trafo.parallel.to_numpy())
        loading_pct = np.concatenate(loading) if loading else np.zeros(0)
        rating = np.concatenate(ratings) if ratings else np.zeros(0)
        self._last_loading, self._last_rating, self._last_names = loading_pct, rating, names
        over = loading_pct > self.max_loading_pct + 1e-6
        vm = flow.vm_pu[np.isfinite(flow.vm_pu)]
        return AcCheck(
            converged=True,
            max_line_loading_pct=float(loading_pct.max()) if len(loading_pct) else 0.0,
            min_voltage_pu=float(vm.min()),
            max_voltage_pu=float(vm.max()),
            violation_mw=float(((loading_pct[over] - self.max_loading_pct) / 100.0 * rating[over]).sum()),
            overloaded=tuple(np.asarray(names)[over]),
        )


def raise_if_not_converged(check: AcCheck, time: pd.Timestamp) -> AcCheck:
    if not check.converged:
        raise PowerFlowError(check.message or f"AC power flow at {time} did not converge")
    return check
