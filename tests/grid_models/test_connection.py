"""Site connections: headroom from ratings, curtailment, capacity errors, AC check of overloads."""

from __future__ import annotations

import copy
import math

import numpy as np
import pandas as pd
import pandapower as pp
import pytest

from grid_models.connection import (
    ConnectionCapacityError,
    ConnectionSpec,
    SiteConnectionGrid,
    check_connection_capacity,
    rated_limits_mw,
)
from grid_models.limits import Derating

SPEC = ConnectionSpec("dc", hv_kv=220, mv_kv=110, transformer_mva=10, line_km=10, line_max_i_ka=0.2,
                      background_load_mw=2.0, power_factor=0.95)
INDEX = pd.date_range("2023-07-03", periods=2, freq="h", tz="UTC")


def test_limits_from_ratings() -> None:
    imp, exp = rated_limits_mw(SPEC)
    assert float(imp) == pytest.approx(10 * 0.95 - 2.0)
    assert float(exp) == pytest.approx(10 * 0.95 + 2.0)
    small_line = ConnectionSpec(**{**SPEC.__dict__, "line_max_i_ka": 0.03})
    assert float(rated_limits_mw(small_line)[0]) == pytest.approx(math.sqrt(3) * 110 * 0.03 * 0.95)


def test_capacity_beyond_connection_is_an_error() -> None:
    with pytest.raises(ConnectionCapacityError, match=r"facility capacity 12.00 MW exceeds its connection"):
        check_connection_capacity(SPEC, 12.0)


def test_time_varying_background_and_tightening() -> None:
    background = pd.DataFrame({"dc": [1.0, 4.0]}, index=INDEX)
    grid = SiteConnectionGrid([SPEC], background, linear_margin=1.0)
    limits = grid.limits(INDEX)
    np.testing.assert_allclose(limits.import_limit_mw["dc"], [8.5, 5.5])
    derating = Derating().tightened(grid.overloaded_sites(["trafo:dc:substation", "line:other:x"]), factor=0.9)
    assert derating.sites == {"dc": 0.9}
    np.testing.assert_allclose(grid.limits(INDEX, derating=derating).import_limit_mw["dc"], [8.5 * 0.9, 5.5 * 0.9])
    np.testing.assert_allclose(grid.limits(INDEX).import_limit_mw["dc"], [8.5, 5.5])  # the grid itself is unchanged


def test_ac_check_sees_an_overloaded_transformer() -> None:
    grid = SiteConnectionGrid([SPEC])
    ok = grid.ac_check(INDEX[0], pd.Series({"dc": 5.0}), pd.Series({"dc": 0.0}))
    assert ok.converged and ok.violation_mw == 0 and ok.max_line_loading_pct < 100
    over = grid.ac_check(INDEX[0], pd.Series({"dc": 9.0}), pd.Series({"dc": 0.0}))
    assert over.violation_mw > 0 and "trafo:dc:substation" in over.overloaded
    direct = copy.deepcopy(grid.net)
    pp.runpp(direct, numba=False)  # pandapower's own full result tables for the same operating point
    assert over.max_line_loading_pct == pytest.approx(float(direct.res_trafo.loading_percent.max()), rel=1e-9)
    green = grid.ac_check(INDEX[0], pd.Series({"dc": 9.0}), pd.Series({"dc": 4.0}))
    assert green.violation_mw == 0  # on-site green relieves the transformer
