"""Time-of-use tariffs: read per region in local time, reported as cost, weighed when asked."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from control.mpc import build_lp, extract_plan, solve_lp
from control.mpc.inputs import MpcInputs
from control.settings import ConfigError, parse_settings
from control.settings.core import MpcSettings, RegionSettings

PEAK, VALLEY = 1000.0, 300.0
TOU = [VALLEY] * 8 + [PEAK] * 16  # local 00-08 valley, 08-24 peak


def test_tariff_follows_local_time() -> None:
    region = RegionSettings(name="r", emission_factor_kg_per_kwh=0.5, tariff_by_local_hour_per_mwh=TOU, utc_offset_h=8)
    index = pd.date_range("2023-07-02T15:00Z", periods=3, freq="h")  # local 23:00, 00:00, 01:00
    np.testing.assert_allclose(region.tariff_on(index), [PEAK, VALLEY, VALLEY])
    flat = RegionSettings(name="f", emission_factor_kg_per_kwh=0.5, tariff_per_mwh=42.0)
    np.testing.assert_allclose(flat.tariff_on(index), [42.0] * 3)


def test_a_tariff_needs_24_prices(default_config) -> None:
    import tomllib

    data = tomllib.loads(default_config.read_text())
    data["regions"][0]["tariff_by_local_hour_per_mwh"] = [1.0] * 23
    with pytest.raises(ConfigError, match="give 24 non-negative prices"):
        parse_settings(data, base_dir=default_config.parent)


def _one_job(tariff: np.ndarray) -> MpcInputs:
    n_step = len(tariff)
    return MpcInputs(
        job_ids=np.array(["j"]), remaining_gpu_h=np.array([10.0]), gpus=np.array([10.0]),
        release_step=np.array([0]), deadline_step=np.array([n_step]), priority=np.array([0.0]),
        allowed=np.ones((1, 1), dtype=bool), gpu_count=np.full((1, n_step), 10.0),
        throughput=np.array([1.0]), gpu_facility_mw=np.array([0.01]), green_mw=np.zeros((1, n_step)),
        ci_g_per_kwh=np.full((1, n_step), 500.0), import_limit_mw=np.full((1, n_step), 1.0),
        tariff_per_mwh=tariff[None, :],
    )


@pytest.mark.parametrize(("weight", "hour"), [(0.0, 0), (1e-3, 3)])
def test_the_mpc_moves_work_to_the_valley_only_when_cost_counts(weight: float, hour: int) -> None:
    inp = _one_job(np.array([PEAK, PEAK, PEAK, VALLEY, PEAK]))
    lp = build_lp(inp, MpcSettings(cost_weight_t_per_currency=weight))
    plan = extract_plan(inp, lp, solve_lp(lp).x)
    assert plan.gpus[0, 0, hour] == pytest.approx(10.0)  # same emissions every hour: cost decides


def test_simulated_cost_is_grid_energy_times_the_hourly_tariff(default_config) -> None:
    import tomllib

    from control.policies import AgnosticPolicy
    from control.scenario import load_scenario
    from control.simulate import run_policy

    data = tomllib.loads(default_config.read_text())
    for region in data["regions"]:
        region["tariff_by_local_hour_per_mwh"] = TOU
        region["utc_offset_h"] = 8
    settings = parse_settings(data, base_dir=default_config.parent)
    run = run_policy(load_scenario(settings, days=1), AgnosticPolicy())
    sh = run.site_hour
    assert set(sh["tariff_per_mwh"]) == {PEAK, VALLEY}
    assert run.summary["cost"] == pytest.approx((sh["grid_import_mw"] * sh["tariff_per_mwh"]).sum(), rel=1e-12)
    assert run.summary["cost"] > 0
