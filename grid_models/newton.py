"""Repeated AC power flows of one fixed network in which only loads and generation change.

pandapower's ``runpp`` (even recycled) spends most of a small net's ~13 ms per call converting
tables and checking options; the Newton-Raphson iterations themselves take well under a
millisecond for the site connections (24 buses). :class:`NewtonFlow` takes the admittance
matrices, bus types and branch ratings from a net pandapower has solved once, and then runs the
same Newton-Raphson iteration as pandapower's ``newtonpf`` (polar, full Jacobian, same
``tolerance_mva`` and ``max_iteration``, started from the previous hour's voltages like
pandapower's ``recycle``) on numpy arrays. Loadings and voltages are computed as in
:func:`grid_models.ptdf._flow_from_voltages`; tests compare them with pandapower to 1e-9.

Limits: PQ loads and static generators only (no voltage-dependent loads, no PV generators, no
switches that change between calls) -- what :class:`grid_models.connection.SiteConnectionGrid`
builds. Anything else keeps using pandapower (:func:`grid_models.ptdf.run_ac`).
"""

from __future__ import annotations

import numpy as np
import pandapower as pp
import scipy.sparse as sp
from pandapower.pypower.idx_brch import F_BUS, T_BUS
from pandapower.pypower.idx_bus import BASE_KV

from grid_models.ptdf import AcFlow


class NewtonFlow:
    """Newton-Raphson power flow on the admittances of a net pandapower has already solved.

    Parameters
    ----------
    net
        A pandapower net right after a converged :func:`grid_models.ptdf.run_ac` (its ``_ppc``
        internals are read once; the net is not changed).
    """

    def __init__(self, net: pp.pandapowerNet) -> None:
        ppc = net._ppc
        internal = ppc["internal"]
        if len(internal["pv"]) or len(net.get("gen", [])) or len(net.get("storage", [])):
            raise ValueError("NewtonFlow handles PQ buses and one slack per island only (the net has PV buses)")
        if net._options.get("voltage_depend_loads") and (net.load.get("const_z_percent", 0).any()
                                                        or net.load.get("const_i_percent", 0).any()):
            raise ValueError("NewtonFlow needs constant-power loads")
        self.base_mva = float(internal["baseMVA"])
        self.tol = float(net._options["tolerance_mva"])
        self.max_iteration = int(net._options["max_iteration"])
        ybus = internal["Ybus"].tocsr()
        self.ybus = ybus.toarray() if ybus.shape[0] <= 400 else ybus
        self.yf = internal["Yf"].tocsr()
        self.yt = internal["Yt"].tocsr()
        self.ref = np.asarray(internal["ref"], dtype=np.int64)
        self.pq = np.asarray(internal["pq"], dtype=np.int64)
        self.v = np.asarray(internal["V"], dtype=complex).copy()
        n_bus = len(self.v)
        bus_lookup = net._pd2ppc_lookups["bus"]
        self.load_bus = bus_lookup[net.load.bus.to_numpy()]
        self.sgen_bus = bus_lookup[net.sgen.bus.to_numpy()]
        self.load_active = net.load.in_service.to_numpy() * net.load.scaling.to_numpy()
        self.sgen_active = net.sgen.in_service.to_numpy() * net.sgen.scaling.to_numpy()
        self.n_bus = n_bus
        bus = internal["bus"]
        branch = internal["branch"]
        from_kv = bus[branch[:, F_BUS].real.astype(np.int64), BASE_KV].real
        to_kv = bus[branch[:, T_BUS].real.astype(np.int64), BASE_KV].real
        self._i_from_scale = self.base_mva / (np.sqrt(3) * from_kv)
        self._i_to_scale = self.base_mva / (np.sqrt(3) * to_kv)
        in_service = np.asarray(internal["branch_is"], dtype=bool)
        internal_row = np.cumsum(in_service) - 1
        lookup = net._pd2ppc_lookups["branch"]

        def rows(element: str, n: int) -> tuple[np.ndarray, np.ndarray]:
            if element not in lookup or n == 0:
                return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool)
            start, stop = lookup[element]
            return internal_row[start:stop], in_service[start:stop]

        line, trafo = net.line, net.trafo
        self._line_rows, self._line_active = rows("line", len(line))
        self._line_rating_ka = line.max_i_ka.to_numpy() * line.df.to_numpy() * line.parallel.to_numpy()
        self._trafo_rows, self._trafo_active = rows("trafo", len(trafo))
        sn = trafo.sn_mva.to_numpy()
        self._trafo_hv_ka = sn / (np.sqrt(3) * trafo.vn_hv_kv.to_numpy())
        self._trafo_lv_ka = sn / (np.sqrt(3) * trafo.vn_lv_kv.to_numpy())
        self._trafo_share = trafo.df.to_numpy() * trafo.parallel.to_numpy()
        self._n_line, self._n_trafo = len(line), len(trafo)
        self._vm_rows = bus_lookup[net.bus.index.to_numpy()]
        self._bus_in_service = net.bus.in_service.to_numpy()
        # the slack buses' injections are free: only PQ buses enter the mismatch
        self._pvpq = self.pq  # no PV buses (checked above)

    def s_bus(self, load_p_mw: np.ndarray, load_q_mvar: np.ndarray, sgen_p_mw: np.ndarray,
              sgen_q_mvar: np.ndarray | None = None) -> np.ndarray:
        """Complex bus injections [p.u.] from ``net.load`` and ``net.sgen`` values (table order)."""
        p = np.bincount(self.sgen_bus, sgen_p_mw * self.sgen_active, self.n_bus) - np.bincount(
            self.load_bus, load_p_mw * self.load_active, self.n_bus)
        q = -np.bincount(self.load_bus, load_q_mvar * self.load_active, self.n_bus)
        if sgen_q_mvar is not None:
            q = q + np.bincount(self.sgen_bus, sgen_q_mvar * self.sgen_active, self.n_bus)
        return (p + 1j * q) / self.base_mva

    def solve(self, s_bus: np.ndarray, tried: str = "numpy Newton-Raphson from the last hour's voltages") -> AcFlow:
        """Newton-Raphson from the last solution; on convergence the voltages are kept for the next call."""
        v, converged = self._newton(s_bus, self.v.copy())
        if not converged:
            nan = lambda n: np.full(n, np.nan)  # noqa: E731
            return AcFlow(False, tried, nan(self._n_line), nan(self._n_trafo), nan(len(self._vm_rows)))
        self.v = v
        return self._flow(v, tried)

    def _mismatch(self, v: np.ndarray, s_bus: np.ndarray) -> np.ndarray:
        mis = v * np.conj(self.ybus @ v) - s_bus
        pq = self.pq
        return np.concatenate([mis[pq].real, mis[pq].imag])

    def _newton(self, s_bus: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, bool]:
        """pandapower's ``newtonpf`` for PQ buses only: dx = -J^-1 F, angles then magnitudes."""
        pq = self.pq
        n = len(pq)
        va, vm = np.angle(v), np.abs(v)
        f = self._mismatch(v, s_bus)
        converged = np.linalg.norm(f, np.inf) < self.tol
        iteration = 0
        ybus = self.ybus
        dense = isinstance(ybus, np.ndarray)
        while not converged and iteration < self.max_iteration:
            iteration += 1
            ibus = ybus @ v
            diag_v = v
            diag_vnorm = v / np.abs(v)
            # dS/dVm and dS/dVa (pypower dSbus_dV, polar)
            if dense:
                ds_dvm = diag_v[:, None] * np.conj(ybus * diag_vnorm[None, :]) + np.diag(np.conj(ibus) * diag_vnorm)
                ds_dva = 1j * diag_v[:, None] * np.conj(np.diag(ibus) - ybus * diag_v[None, :])
                sub = np.ix_(pq, pq)
                jac = np.block([[ds_dva[sub].real, ds_dvm[sub].real], [ds_dva[sub].imag, ds_dvm[sub].imag]])
                dx = -np.linalg.solve(jac, f)
            else:
                dv = sp.diags(diag_v)
                dvn = sp.diags(diag_vnorm)
                di = sp.diags(ibus)
                ds_dvm = dv @ np.conj(ybus @ dvn) + np.conj(di) @ dvn
                ds_dva = 1j * dv @ np.conj(di - ybus @ dv)
                a = ds_dva[pq][:, pq]
                m = ds_dvm[pq][:, pq]
                jac = sp.bmat([[a.real, m.real], [a.imag, m.imag]], format="csc")
                dx = -sp.linalg.spsolve(jac, f)
            va[pq] += dx[:n]
            vm[pq] += dx[n:]
            v = vm * np.exp(1j * va)
            vm, va = np.abs(v), np.angle(v)
            f = self._mismatch(v, s_bus)
            converged = np.linalg.norm(f, np.inf) < self.tol
        return v, bool(converged)

    def _flow(self, v: np.ndarray, tried: str) -> AcFlow:
        i_from_ka = np.abs(self.yf @ v) * self._i_from_scale
        i_to_ka = np.abs(self.yt @ v) * self._i_to_scale
        line_pct = np.full(self._n_line, np.nan)
        k = self._line_rows
        if len(k):
            line_pct = np.where(self._line_active, np.maximum(i_from_ka[k], i_to_ka[k]) / self._line_rating_ka * 100.0, 0.0)
        trafo_pct = np.full(self._n_trafo, np.nan)
        k = self._trafo_rows
        if len(k):
            ratio = np.maximum(i_from_ka[k] / self._trafo_hv_ka, i_to_ka[k] / self._trafo_lv_ka)
            trafo_pct = np.where(self._trafo_active, ratio * 100.0 / self._trafo_share, 0.0)
        vm = np.where(self._bus_in_service, np.abs(v)[self._vm_rows], np.nan)
        return AcFlow(True, tried, line_pct, trafo_pct, vm)
