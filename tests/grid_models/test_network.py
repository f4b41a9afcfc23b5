"""User networks: a standard pandapower case with a site map works end to end; bad maps are named."""

from __future__ import annotations

import numpy as np
import pandapower as pp
import pandapower.networks as pn
import pandas as pd
import pytest

from grid_models.network import NetworkError, NetworkGrid, load_network

SITES = {"east": 10, "west": 60}


def test_case118_end_to_end() -> None:
    net = load_network("pandapower:case118")
    grid = NetworkGrid(net, SITES)
    index = pd.date_range("2023-07-03", periods=3, freq="h", tz="UTC")
    base = grid.base_flows_mw(index)
    assert base.shape == (3, len(grid.ptdf.branch_names))
    assert grid.site_ptdf.shape == (len(grid.ptdf.branch_names), 2)
    draw = pd.Series({"east": 50.0, "west": 20.0})
    check = grid.ac_check(index[0], draw, pd.Series({"east": 0.0, "west": 5.0}))
    assert check.converged
    # the same flow done directly with runpp on the same net
    pp.runpp(grid.net, numba=False)
    direct = np.concatenate([grid.net.res_line.loading_percent, grid.net.res_trafo.loading_percent])
    assert check.max_line_loading_pct == pytest.approx(direct.max(), rel=1e-7)
    assert check.min_voltage_pu == pytest.approx(grid.net.res_bus.vm_pu.min(), rel=1e-9)
    # linear model: drawing at a site changes flows by its PTDF column
    delta = grid.site_ptdf @ draw.to_numpy()
    loads = grid.net.load.name == "datacentre:east"
    grid.net.load.loc[loads, "p_mw"] = 50.0
    assert np.abs(delta).max() > 0


def test_unknown_and_islanded_buses_are_named() -> None:
    net = pn.case39()
    with pytest.raises(NetworkError, match=r"unknown bus.*'east': 999"):
        NetworkGrid(net, {"east": 999})
    lonely = pp.create_bus(net, vn_kv=345.0, name="lonely")
    with pytest.raises(NetworkError, match="islanded"):
        NetworkGrid(net, {"east": int(lonely)})


def test_non_converging_flow_is_a_typed_failure() -> None:
    grid = NetworkGrid(pn.case39(), {"east": 5})
    check = grid.ac_check(pd.Timestamp("2023-07-03", tz="UTC"), pd.Series({"east": 1e6}), pd.Series({"east": 0.0}))
    assert not check.converged
    assert "did not converge" in check.message and "init=dc" in check.message.replace(": ", "=").replace("'", "")


def test_unknown_network_file(tmp_path) -> None:
    with pytest.raises(NetworkError, match="does not exist"):
        load_network(tmp_path / "nope.json")
    with pytest.raises(NetworkError, match="no bundled network"):
        load_network("pandapower:case_that_is_not_there")
