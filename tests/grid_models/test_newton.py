"""The numpy Newton-Raphson of the AC check gives pandapower's loadings and voltages."""

from __future__ import annotations

import numpy as np
import pandas as pd

from grid_models.connection import ConnectionSpec, SiteConnectionGrid
from grid_models.ptdf import run_ac

SITES = ["a", "b", "c"]


def _grid() -> SiteConnectionGrid:
    specs = [ConnectionSpec(site=s, hv_kv=220.0, mv_kv=110.0, transformer_mva=8.0 + k, line_km=15.0 + 5 * k,
                            line_max_i_ka=0.12, background_load_mw=1.0 + k, power_factor=0.95)
             for k, s in enumerate(SITES)]
    return SiteConnectionGrid(specs)


def test_newton_checks_equal_pandapower_over_many_hours() -> None:
    """Each hour: the fast check (numpy Newton from the last hour's voltages) against a fresh
    pandapower run of a second, identical grid with the same load and green power, including
    overloaded hours."""
    fast, reference = _grid(), _grid()
    rng = np.random.default_rng(7)
    time = pd.Timestamp("2023-07-03", tz="UTC")
    used_newton = overloaded_hours = 0
    for _hour in range(60):
        load = pd.Series(rng.uniform(0.0, 12.0, len(SITES)), index=SITES)
        green = pd.Series(rng.uniform(0.0, 6.0, len(SITES)), index=SITES)
        used_newton += fast._newton is not None
        got = fast.ac_check(time, load, green)
        reference._newton = None  # always pandapower
        reference.net["converged"] = False  # and not recycled: a cold pandapower solve
        want = reference.ac_check(time, load, green)
        assert got.converged and want.converged
        assert np.isclose(got.max_line_loading_pct, want.max_line_loading_pct, rtol=1e-9, atol=1e-9)
        assert np.isclose(got.min_voltage_pu, want.min_voltage_pu, rtol=1e-10, atol=1e-10)
        assert np.isclose(got.max_voltage_pu, want.max_voltage_pu, rtol=1e-10, atol=1e-10)
        assert np.isclose(got.violation_mw, want.violation_mw, rtol=1e-8, atol=1e-8)
        assert got.overloaded == want.overloaded
        overloaded_hours += bool(got.overloaded)
    assert used_newton == 59  # every hour after the first ran without pandapower
    assert 5 < overloaded_hours < 55  # the comparison covers hours within and over the ratings


def test_newton_flow_equals_run_ac_branch_by_branch() -> None:
    grid = _grid()
    time = pd.Timestamp("2023-07-03", tz="UTC")
    grid.ac_check(time, pd.Series(5.0, index=SITES), pd.Series(1.0, index=SITES))
    newton = grid._newton
    net = grid.net
    net.load.loc[grid._element_arrays["load"], "p_mw"] = [7.0, 2.0, 9.5]
    net.load.loc[grid._element_arrays["load"], "q_mvar"] = np.array([7.0, 2.0, 9.5]) * grid._element_arrays["tan_phi"]
    net.sgen.loc[grid._element_arrays["green"], "p_mw"] = [0.5, 3.0, 0.0]
    s_bus = newton.s_bus(net.load.p_mw.to_numpy(), net.load.q_mvar.to_numpy(), net.sgen.p_mw.to_numpy())
    got = newton.solve(s_bus)
    net["converged"] = False
    want = run_ac(net)
    np.testing.assert_allclose(got.line_loading_pct, want.line_loading_pct, rtol=1e-10)
    np.testing.assert_allclose(got.trafo_loading_pct, want.trafo_loading_pct, rtol=1e-10)
    np.testing.assert_allclose(got.vm_pu, want.vm_pu, rtol=1e-12)
