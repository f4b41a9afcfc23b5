"""Power transfer distribution factors (PTDF) of a pandapower network.

The only place that touches pandapower's internal ``_ppc`` (private attributes); everything
else calls :func:`network_ptdf`. Branch rows are the in-service lines, then the in-service
two-winding transformers, in pandapower's element order.

Convention: ``flow_mw = ptdf @ injection_mw`` where injections are positive for generation at
each bus and the slack bus balances the sum; branch flow is positive from the "from"/HV side.

Reference: Wood, Wollenberg, Sheblé, *Power Generation, Operation and Control*, 3rd ed., ch. 7
(linear sensitivity factors); pandapower ``pypower.makePTDF``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandapower as pp
from pandapower.pypower.idx_brch import F_BUS, T_BUS
from pandapower.pypower.idx_bus import BASE_KV, VM
from pandapower.pypower.makePTDF import makePTDF


class PowerFlowError(RuntimeError):
    """A power flow did not converge; the message says where and what was tried."""


@dataclass(frozen=True)
class NetworkPtdf:
    """PTDF of a network on its pandapower bus ids."""

    ptdf: np.ndarray
    """(n_branch, n_bus_pp): MW of branch flow per MW injected at each pandapower bus."""
    bus_ids: np.ndarray
    """pandapower bus id of each column."""
    branch_names: list[str]
    branch_rating_mw: np.ndarray
    """Thermal rating of each branch at unity power factor [MW]."""
    line_ids: np.ndarray
    trafo_ids: np.ndarray

    def columns(self, buses: list[int]) -> np.ndarray:
        """PTDF columns of the given pandapower buses."""
        lookup = {int(b): k for k, b in enumerate(self.bus_ids)}
        return self.ptdf[:, [lookup[int(b)] for b in buses]]


def network_ptdf(net: pp.pandapowerNet) -> NetworkPtdf:
    """Run a DC power flow and return the PTDF of ``net`` (lines, then transformers)."""
    try:
        pp.rundcpp(net, numba=False)
    except Exception as exc:  # pandapower raises several types here
        raise PowerFlowError(f"DC power flow of {net.name or 'network'} failed: {exc}") from exc
    ppc = net._ppc  # noqa: SLF001 - private by design, kept behind this one function
    lookup = net._pd2ppc_lookups  # noqa: SLF001
    slack = int(np.flatnonzero(ppc["bus"][:, 1] == 3)[0])
    full = makePTDF(ppc["baseMVA"], ppc["bus"], ppc["branch"], slack, using_sparse_solver=False)
    bus_ids = net.bus.index.to_numpy()
    ppc_bus = lookup["bus"][bus_ids]
    rows, names, ratings, line_ids, trafo_ids = [], [], [], [], []
    if "line" in lookup["branch"]:
        start, _ = lookup["branch"]["line"]
        for k, (line_id, line) in enumerate(net.line.iterrows()):
            if not line.in_service:
                continue
            rows.append(start + k)
            names.append(f"line:{line['name'] if line['name'] else line_id}")
            vn = net.bus.at[line.from_bus, "vn_kv"]
            ratings.append(np.sqrt(3) * vn * line.max_i_ka * line.parallel * line.df)
            line_ids.append(line_id)
    if "trafo" in lookup["branch"]:
        start, _ = lookup["branch"]["trafo"]
        for k, (trafo_id, trafo) in enumerate(net.trafo.iterrows()):
            if not trafo.in_service:
                continue
            rows.append(start + k)
            names.append(f"trafo:{trafo['name'] if trafo['name'] else trafo_id}")
            ratings.append(trafo.sn_mva * trafo.parallel)
            trafo_ids.append(trafo_id)
    ptdf = full[np.array(rows, dtype=int)][:, ppc_bus] if rows else np.zeros((0, len(bus_ids)))
    return NetworkPtdf(ptdf, bus_ids, names, np.asarray(ratings, dtype=float),
                       np.asarray(line_ids), np.asarray(trafo_ids))


def dc_branch_flows_mw(net: pp.pandapowerNet) -> np.ndarray:
    """Branch flows of pandapower's own DC power flow, in :func:`network_ptdf` row order."""
    pp.rundcpp(net, numba=False)
    lines = net.res_line.p_from_mw[net.line.in_service].to_numpy()
    trafos = net.res_trafo.p_hv_mw[net.trafo.in_service].to_numpy() if len(net.trafo) else np.zeros(0)
    return np.concatenate([lines, trafos])


def bus_injections_mw(net: pp.pandapowerNet) -> np.ndarray:
    """Net active injection per pandapower bus (generation minus load) of the current net [MW]."""
    inj = np.zeros(len(net.bus))
    pos = {int(b): k for k, b in enumerate(net.bus.index)}
    for table, sign, column in (("load", -1, "p_mw"), ("sgen", 1, "p_mw"), ("gen", 1, "p_mw"),
                                ("storage", -1, "p_mw")):
        frame = net[table]
        if len(frame) == 0:
            continue
        active = frame[frame.in_service]
        values = active[column] * active.get("scaling", 1.0)
        np.add.at(inj, [pos[int(b)] for b in active.bus], sign * values.to_numpy())
    return inj


AC_ATTEMPTS = ({"init": "auto"}, {"init": "dc", "max_iteration": 50}, {"init": "flat", "max_iteration": 100})
"""What an AC power flow tries, in order, before it is reported as not converged."""
RECYCLE = {"bus_pq": True, "trafo": False, "gen": False}
"""pandapower's time-series reuse: when the previous power flow of this net converged, only the
buses' P and Q are updated and Newton-Raphson starts from its voltages (the admittance matrix and
the index lookups are kept). Hourly operating points of the same net are close, and only loads
and generation change between them, so this gives the same result in a fraction of the time."""


@dataclass(frozen=True)
class AcFlow:
    """Result of :func:`run_ac`: loadings of ``net.line`` and ``net.trafo`` rows and voltages of
    ``net.bus`` rows, in the tables' order (as pandapower: loading 0 for out-of-service branches,
    voltage NaN for out-of-service buses)."""

    converged: bool
    tried: str
    line_loading_pct: np.ndarray
    trafo_loading_pct: np.ndarray
    vm_pu: np.ndarray


def run_ac(net: pp.pandapowerNet, numba: bool = True) -> AcFlow:
    """Newton-Raphson AC power flow with retries (pandapower, numba-compiled Jacobian).

    pandapower runs with ``only_v_results``: it solves the voltages and skips filling its
    ``res_*`` tables (most of a small net's run time); branch loadings are computed here from the
    voltages and pandapower's own branch admittances, the way pandapower does (current-based
    loading, ``df`` and ``parallel`` included; tests compare them with a full ``runpp`` to 1e-6 %).
    ``net.res_*`` tables are therefore *not* current after this call. ``numba=False`` skips
    numba's one-off compilation of the Jacobian (~6 s), for callers that run pandapower rarely
    (the site connections: :class:`grid_models.newton.NewtonFlow` does their hourly checks).
    """
    tried = []
    if net.get("converged", False) and net.get("_options", {}).get("only_v_results") and "internal" in net.get("_ppc", {}):
        # the first run stores pandapower's internal variables, later ones reuse them
        tried.append("recycled from the previous converged run")
        pp.runpp(net, numba=numba, recycle=RECYCLE, only_v_results=True)
        if net._ppc["success"]:
            return _flow_from_voltages(net, "; ".join(tried))
        net["converged"] = False
    for options in AC_ATTEMPTS:
        tried.append(", ".join(f"{k}={v}" for k, v in options.items()))
        try:
            pp.runpp(net, numba=numba, only_v_results=True, **options)
            return _flow_from_voltages(net, "; ".join(tried))
        except pp.LoadflowNotConverged:
            continue
    nan = lambda n: np.full(n, np.nan)  # noqa: E731
    return AcFlow(False, "; ".join(tried), nan(len(net.line)), nan(len(net.trafo)), nan(len(net.bus)))


def _flow_from_voltages(net: pp.pandapowerNet, tried: str) -> AcFlow:
    """Branch current loadings and bus voltages from the solved complex voltages."""
    ppc = net._ppc
    internal = ppc["internal"]
    v = internal["V"]
    bus = internal["bus"]
    branch = internal["branch"]
    base_mva = internal["baseMVA"]
    from_kv = bus[branch[:, F_BUS].real.astype(np.int64), BASE_KV].real
    to_kv = bus[branch[:, T_BUS].real.astype(np.int64), BASE_KV].real
    i_from_ka = np.abs(internal["Yf"] @ v) * base_mva / (np.sqrt(3) * from_kv)
    i_to_ka = np.abs(internal["Yt"] @ v) * base_mva / (np.sqrt(3) * to_kv)
    in_service = np.asarray(internal["branch_is"], dtype=bool)
    internal_row = np.cumsum(in_service) - 1  # ppc branch row -> row among in-service branches
    lookup = net._pd2ppc_lookups["branch"]

    def rows(element: str, n: int) -> tuple[np.ndarray, np.ndarray]:
        if element not in lookup or n == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool)
        start, stop = lookup[element]
        return internal_row[start:stop], in_service[start:stop]

    line = net.line
    k, active = rows("line", len(line))
    line_pct = np.full(len(line), np.nan)
    if len(k):
        rating_ka = line.max_i_ka.to_numpy() * line.df.to_numpy() * line.parallel.to_numpy()
        line_pct = np.where(active, np.maximum(i_from_ka[k], i_to_ka[k]) / rating_ka * 100.0, 0.0)
    trafo = net.trafo
    k, active = rows("trafo", len(trafo))
    trafo_pct = np.full(len(trafo), np.nan)
    if len(k):
        sn = trafo.sn_mva.to_numpy()
        rated_hv_ka, rated_lv_ka = sn / (np.sqrt(3) * trafo.vn_hv_kv.to_numpy()), sn / (np.sqrt(3) * trafo.vn_lv_kv.to_numpy())
        ratio = np.maximum(i_from_ka[k] / rated_hv_ka, i_to_ka[k] / rated_lv_ka)
        trafo_pct = np.where(active, ratio * 100.0 / (trafo.df.to_numpy() * trafo.parallel.to_numpy()), 0.0)
    vm = ppc["bus"][net._pd2ppc_lookups["bus"][net.bus.index.to_numpy()], VM].real
    vm = np.where(net.bus.in_service.to_numpy(), vm, np.nan)
    return AcFlow(True, tried, line_pct, trafo_pct, vm)
