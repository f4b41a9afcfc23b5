"""PTDF flows agree with pandapower's own DC power flow (reference: pandapower rundcpp)."""

from __future__ import annotations

import copy

import numpy as np
import pandapower as pp
import pandapower.networks as pn
import pytest

from grid_models.china import build_china_grid
from grid_models.ptdf import bus_injections_mw, dc_branch_flows_mw, network_ptdf, run_ac


@pytest.mark.parametrize("case", [pn.case39, pn.case118])
def test_ptdf_matches_rundcpp(case) -> None:
    net = case()
    rng = np.random.default_rng(3)
    net.load["p_mw"] *= rng.uniform(0.8, 1.2, len(net.load))  # a different operating point
    ptdf = network_ptdf(net)
    flows = dc_branch_flows_mw(net)
    np.testing.assert_allclose(ptdf.ptdf @ bus_injections_mw(net), flows, atol=1e-6)
    assert ptdf.branch_names[0].startswith("line:") and ptdf.branch_names[-1].startswith("trafo:")


def test_china_network_ptdf_matches_rundcpp(shared_data) -> None:
    china = build_china_grid(shared_data / "grid" / "china")
    assert len(china.net.bus) == 31 and len(china.net.line) == 56
    ptdf = network_ptdf(china.net)
    hour = 4000
    injections = china.injections_mw(np.array([hour]))[0]
    demand = china.demand_mw.iloc[hour]
    for province in china.bus_of:
        china.net.load.loc[china.net.load.name == f"demand:{province}", "p_mw"] = demand[province]
        china.net.sgen.loc[china.net.sgen.name == f"generation:{province}", "p_mw"] = (
            demand.sum() * china.generation_share[province]
        )
    np.testing.assert_allclose(ptdf.ptdf @ injections, dc_branch_flows_mw(china.net), atol=1e-6)
    # corridor ratings come from the data: Ningxia-Zhejiang is 8000 MW
    k = ptdf.branch_names.index("line:Ningxia-Zhejiang")
    assert ptdf.branch_rating_mw[k] == pytest.approx(8000.0)


def test_run_ac_loadings_equal_pandapower_result_tables_over_recycled_hours() -> None:
    """run_ac skips pandapower's result tables and computes loadings from the voltages: over a
    sequence of recycled hours (and after a non-converging one) they equal a full runpp's tables."""

    net = pn.case118()
    net.line.loc[net.line.index[5], "in_service"] = False  # out-of-service branches: loading 0, as pandapower
    loads = net.load.p_mw.to_numpy().copy()
    for k, scale in enumerate([1.0, 1.05, 0.9, 25.0, 1.1, 0.95]):
        net.load["p_mw"] = loads * scale
        flow = run_ac(net)
        if scale > 10:  # far beyond what the network can carry: reported, not raised
            assert not flow.converged and np.isnan(flow.vm_pu).all()
            continue
        assert flow.converged
        assert ("recycled" in flow.tried) == (k not in (0, 4))  # first run and the one after the failure are full
        full = copy.deepcopy(net)
        pp.runpp(full, numba=False)
        np.testing.assert_allclose(flow.line_loading_pct, full.res_line.loading_percent.to_numpy(), rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(flow.trafo_loading_pct, full.res_trafo.loading_percent.to_numpy(), rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(flow.vm_pu, full.res_bus.vm_pu.to_numpy(), rtol=1e-8)
        assert flow.line_loading_pct[5] == 0.0
