"""PTDF flows agree with pandapower's own DC power flow (reference: pandapower rundcpp)."""

from __future__ import annotations

import numpy as np
import pandapower.networks as pn
import pytest

from grid_models.china import build_china_grid
from grid_models.ptdf import bus_injections_mw, dc_branch_flows_mw, network_ptdf


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
    for province, bus in china.bus_of.items():
        china.net.load.loc[china.net.load.name == f"demand:{province}", "p_mw"] = demand[province]
        china.net.sgen.loc[china.net.sgen.name == f"generation:{province}", "p_mw"] = (
            demand.sum() * china.generation_share[province]
        )
    np.testing.assert_allclose(ptdf.ptdf @ injections, dc_branch_flows_mw(china.net), atol=1e-6)
    # corridor ratings come from the data: Ningxia-Zhejiang is 8000 MW
    k = ptdf.branch_names.index("line:Ningxia-Zhejiang")
    assert ptdf.branch_rating_mw[k] == pytest.approx(8000.0)
