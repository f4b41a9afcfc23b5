"""Each data centre's sub-transmission connection as a pandapower network.

Topology of one site (all sites live in one pandapower net, each with its own upstream grid)::

    ext_grid == [HV bus, hv_kv] --trafo (transformer_mva)--> [MV bus, mv_kv] --line--> [site bus]
                                                              background load          data centre (load)
                                                                                        PV + wind (sgen)

The import limit is what the site can draw before the transformer or the line reaches its rating,
given the background load on the transformer at that hour; the export limit is what its
renewables can push back the same way. Renewable output above the export limit is curtailed
unless the co-located data centre absorbs it. :meth:`SiteConnectionGrid.ac_check` verifies a
committed step with a full AC power flow of all connections.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pandapower as pp

from forecasts.bundle import rows_on
from grid_models.errors import GridInputError
from grid_models.limits import AcCheck, Derating, GridLimits
from grid_models.newton import NewtonFlow
from grid_models.ptdf import run_ac

logger = logging.getLogger(__name__)

# Typical 110 kV overhead line: r 0.12 ohm/km, x 0.39 ohm/km, c 9.5 nF/km (e.g. 240 mm2 ACSR).
LINE_R_OHM_PER_KM, LINE_X_OHM_PER_KM, LINE_C_NF_PER_KM = 0.12, 0.39, 9.5
# 220/110 kV substation transformer: short-circuit voltage 12 %, copper losses 0.4 %.
TRAFO_VK_PERCENT, TRAFO_VKR_PERCENT = 12.0, 0.4


class ConnectionCapacityError(GridInputError):
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

    @property
    def line_mva(self) -> float:
        return math.sqrt(3) * self.mv_kv * self.line_max_i_ka


def rated_limits_mw(spec: ConnectionSpec, background_mw: np.ndarray | float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(import, export) limits [MW] of a connection from its element ratings.

    Apparent-power ratings become active power at the load's power factor; the transformer also
    carries the background load (which uses import headroom and makes room for export).
    """
    bg = np.asarray(spec.background_load_mw if background_mw is None else background_mw, dtype=float)
    pf = spec.power_factor
    line_mw = spec.line_mva * pf
    import_mw = np.minimum(spec.transformer_mva * pf - bg, line_mw)
    export_mw = np.minimum(spec.transformer_mva * pf + bg, line_mw)
    return np.maximum(import_mw, 0.0), np.maximum(export_mw, 0.0)


def check_connection_capacity(spec: ConnectionSpec, facility_capacity_mw: float) -> None:
    """A site whose full load exceeds what its connection can ever carry is a configuration error."""
    carry_mw = min(spec.transformer_mva, spec.line_mva) * spec.power_factor
    if facility_capacity_mw > carry_mw + 1e-9:
        raise ConnectionCapacityError(
            f"site {spec.site!r}: facility capacity {facility_capacity_mw:.2f} MW exceeds its connection "
            f"({spec.transformer_mva} MVA transformer, {spec.line_mva:.1f} MVA line at power factor "
            f"{spec.power_factor} = {carry_mw:.2f} MW); raise transformer_mva / line_max_i_ka or lower "
            "it_capacity_mw"
        )


class SiteConnectionGrid:
    """Grid model made of the sites' own connections (no meshed network between them).

    Parameters
    ----------
    specs
        One connection per site.
    background_mw
        Optional hourly background load per site [MW] (UTC index x site); default: each spec's
        constant ``background_load_mw``.
    linear_margin
        Share of the rated headroom given to the linear model (room for losses and reactive power).
    max_loading_pct, vm_min_pu, vm_max_pu
        Limits of the AC check.
    """

    def __init__(
        self,
        specs: list[ConnectionSpec],
        background_mw: pd.DataFrame | None = None,
        linear_margin: float = 0.97,
        max_loading_pct: float = 100.0,
        vm_min_pu: float = 0.95,
        vm_max_pu: float = 1.05,
    ) -> None:
        self.specs = {s.site: s for s in specs}
        self.sites = [s.site for s in specs]
        self.background_mw = background_mw
        self.linear_margin = linear_margin
        self.max_loading_pct = max_loading_pct
        self.vm_min_pu, self.vm_max_pu = vm_min_pu, vm_max_pu
        self._net = pp.create_empty_network(name="site-connections")
        self._unwritten: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        """(load, background, green) of the last check when only the numpy flow saw them."""
        self._elements = {s.site: self._add_connection(s) for s in specs}
        self._element_arrays = {
            kind: np.array([self._elements[site][kind] for site in self.sites])
            for kind in ("load", "background", "green")
        } | {"tan_phi": np.array([math.tan(math.acos(self.specs[site].power_factor)) for site in self.sites])}
        net = self._net
        self._load_rows = net.load.index.get_indexer(self._element_arrays["load"])
        self._background_rows = net.load.index.get_indexer(self._element_arrays["background"])
        self._green_rows = net.sgen.index.get_indexer(self._element_arrays["green"])
        self._load_tan_phi = np.zeros(len(net.load))
        self._load_tan_phi[self._load_rows] = self._element_arrays["tan_phi"]
        self._load_tan_phi[self._background_rows] = self._element_arrays["tan_phi"]
        self._constant_background = np.array([self.specs[s].background_load_mw for s in self.sites], dtype=float)
        self._branch_names = np.asarray([f"trafo:{n}" for n in net.trafo.name] + [f"line:{n}" for n in net.line.name])
        self._branch_ratings_mva = np.concatenate([
            net.trafo.sn_mva.to_numpy(),
            np.sqrt(3) * net.bus.loc[net.line.from_bus, "vn_kv"].to_numpy() * net.line.max_i_ka.to_numpy()])
        self._newton: NewtonFlow | None = None
        """Newton-Raphson on the admittances of the last converged pandapower run (see ac_check)."""

    @property
    def net(self) -> pp.pandapowerNet:
        """The pandapower net of all connections, its loads and generation those of the last AC check."""
        if self._unwritten is not None:
            self._write(*self._unwritten)
        return self._net

    def _write(self, load_mw: np.ndarray, background_mw: np.ndarray, green_mw: np.ndarray) -> None:
        # one vectorised write per column (pandas .loc per element costs more than the power flow)
        net, el = self._net, self._element_arrays
        net.load.loc[el["load"], "p_mw"] = load_mw
        net.load.loc[el["load"], "q_mvar"] = load_mw * el["tan_phi"]
        net.load.loc[el["background"], "p_mw"] = background_mw
        net.load.loc[el["background"], "q_mvar"] = background_mw * el["tan_phi"]
        net.sgen.loc[el["green"], "p_mw"] = green_mw
        self._unwritten = None

    def _add_connection(self, spec: ConnectionSpec) -> dict[str, int]:
        net = self._net
        hv = pp.create_bus(net, vn_kv=spec.hv_kv, name=f"{spec.site}:hv")
        mv = pp.create_bus(net, vn_kv=spec.mv_kv, name=f"{spec.site}:mv")
        site = pp.create_bus(net, vn_kv=spec.mv_kv, name=f"{spec.site}:site")
        pp.create_ext_grid(net, hv, vm_pu=1.0, name=f"{spec.site}:upstream")
        trafo = pp.create_transformer_from_parameters(
            net, hv, mv, sn_mva=spec.transformer_mva, vn_hv_kv=spec.hv_kv, vn_lv_kv=spec.mv_kv,
            vkr_percent=TRAFO_VKR_PERCENT, vk_percent=TRAFO_VK_PERCENT, pfe_kw=0.0, i0_percent=0.0,
            name=f"{spec.site}:substation",
        )
        line = pp.create_line_from_parameters(
            net, mv, site, length_km=spec.line_km, r_ohm_per_km=LINE_R_OHM_PER_KM,
            x_ohm_per_km=LINE_X_OHM_PER_KM, c_nf_per_km=LINE_C_NF_PER_KM, max_i_ka=spec.line_max_i_ka,
            name=f"{spec.site}:connection_line",
        )
        background = pp.create_load(net, mv, p_mw=spec.background_load_mw, q_mvar=0.0, name=f"{spec.site}:background")
        load = pp.create_load(net, site, p_mw=0.0, q_mvar=0.0, name=f"{spec.site}:data_centre")
        green = pp.create_sgen(net, site, p_mw=0.0, name=f"{spec.site}:renewables")
        return {"trafo": trafo, "line": line, "background": background, "load": load, "green": green, "site_bus": site}

    def _background(self, index: pd.DatetimeIndex) -> pd.DataFrame:
        if self.background_mw is None:
            values = {s: self.specs[s].background_load_mw for s in self.sites}
            return pd.DataFrame({s: np.full(len(index), v) for s, v in values.items()}, index=index)
        try:
            return rows_on(self.background_mw, index)[self.sites]
        except KeyError as exc:
            raise KeyError(f"background load: {exc.args[0]}") from None

    def limits(self, index: pd.DatetimeIndex, green_mw: pd.DataFrame | None = None,
               derating: Derating | None = None) -> GridLimits:
        """Linear limits over ``index``; ``derating``: the run's tightened import limits (None = as rated)."""
        background = self._background(index).to_numpy(dtype=float)  # (hour, site)
        pairs = [rated_limits_mw(self.specs[s], background[:, k]) for k, s in enumerate(self.sites)]
        derating = derating or Derating()
        factors = np.array([derating.site(s) for s in self.sites])
        return GridLimits(
            index=index,
            import_limit_mw=pd.DataFrame(np.column_stack([i for i, _ in pairs]) * (self.linear_margin * factors),
                                         index=index, columns=self.sites),
            export_limit_mw=pd.DataFrame(np.column_stack([e for _, e in pairs]) * self.linear_margin,
                                         index=index, columns=self.sites),
        )

    def overloaded_sites(self, element_names: list[str]) -> list[str]:
        """The sites whose connection (transformer or line) is among the overloaded elements."""
        sites = []
        for name in element_names:
            site = name.split(":", 2)[1] if name.startswith(("trafo:", "line:")) else name.split(":")[0]
            if site in self.specs:
                sites.append(site)
        return sites

    def ac_check(self, time: pd.Timestamp, load_mw: pd.Series | np.ndarray, green_mw: pd.Series | np.ndarray) -> AcCheck:
        """AC power flow of all connections with the committed load and the green power injected
        (per site: Series by site name, or arrays in ``self.sites`` order).

        ``green_mw`` is the renewable power actually produced (used on site plus exported, i.e.
        after curtailment). The first check runs pandapower; later ones run the same
        Newton-Raphson on its admittances (:class:`grid_models.newton.NewtonFlow`, ~20x cheaper),
        and fall back to pandapower's retries when that does not converge.
        """
        net = self._net
        background = self._background_at(time)
        p = _site_array(load_mw, self.sites)
        green = _site_array(green_mw, self.sites)
        flow = None
        if self._newton is not None:
            load_p = np.zeros(len(net.load))
            load_p[self._load_rows] = p
            load_p[self._background_rows] = background
            load_q = load_p * self._load_tan_phi
            sgen_p = np.zeros(len(net.sgen))
            sgen_p[self._green_rows] = green
            flow = self._newton.solve(self._newton.s_bus(load_p, load_q, sgen_p))
            self._unwritten = (p, background, green)  # written into the net only if someone reads it
            if not flow.converged:
                flow = None  # pandapower's retries (auto, dc, flat start) decide
        if flow is None:
            self._write(p, background, green)
            flow = run_ac(net, numba=False)  # rare: not worth numba's compile time
            self._newton = NewtonFlow(net) if flow.converged else None
        if not flow.converged:
            return AcCheck(False, float("nan"), float("nan"), float("nan"), float("nan"), (),
                           f"AC power flow of the site connections at {time} did not converge; tried {flow.tried}")
        loading = np.concatenate([flow.trafo_loading_pct, flow.line_loading_pct])
        names, ratings = self._branch_names, self._branch_ratings_mva
        over = loading > self.max_loading_pct + 1e-6
        vm = flow.vm_pu
        return AcCheck(
            converged=True,
            max_line_loading_pct=float(loading.max()),
            min_voltage_pu=float(vm.min()),
            max_voltage_pu=float(vm.max()),
            violation_mw=float(((loading[over] - self.max_loading_pct) / 100.0 * ratings[over]).sum()),
            overloaded=tuple(names[over]),
        )

    def _background_at(self, time: pd.Timestamp) -> np.ndarray:
        """Background load of each site in one hour [MW]."""
        if self.background_mw is None:
            return self._constant_background
        frame = self.background_mw
        row = frame.index.searchsorted(time)
        if row < len(frame) and frame.index[row] == time and list(frame.columns) == self.sites:
            return frame.iloc[row].to_numpy(dtype=float)
        return self._background(pd.DatetimeIndex([time])).iloc[0].to_numpy(dtype=float)


def _site_array(values: pd.Series | np.ndarray, sites: list[str]) -> np.ndarray:
    """``values`` per site in ``sites`` order (0 for a missing site), without a reindex when the
    series already has that index; an array is taken as already in ``sites`` order."""
    if isinstance(values, np.ndarray):
        if values.shape != (len(sites),):
            raise ValueError(f"{values.shape} values for {len(sites)} sites; give one per site in the grid's order")
        return values.astype(float, copy=False)
    if len(values) == len(sites) and all(a == b for a, b in zip(values.index, sites, strict=False)):
        return values.to_numpy(dtype=float)
    return values.reindex(sites, fill_value=0.0).to_numpy(dtype=float)
