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


def run_ac(net: pp.pandapowerNet) -> tuple[bool, str]:
    """Newton-Raphson AC power flow with retries; returns (converged, what was tried)."""
    tried = []
    if net.get("converged", False) and len(net.res_bus) == len(net.bus):
        # the first such run stores pandapower's internal variables, later ones reuse them
        tried.append("recycled from the previous converged run")
        try:
            pp.runpp(net, numba=False, recycle=RECYCLE)
            return True, "; ".join(tried)
        except pp.LoadflowNotConverged:
            pass
    for options in AC_ATTEMPTS:
        tried.append(", ".join(f"{k}={v}" for k, v in options.items()))
        try:
            pp.runpp(net, numba=False, **options)
            return True, "; ".join(tried)
        except pp.LoadflowNotConverged:
            continue
    return False, "; ".join(tried)
