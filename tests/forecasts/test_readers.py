"""Readers of the real layouts: canonical names, UTC, and the repair-or-reject rules."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

from forecasts.carbon_electricitymaps import read_electricitymaps
from forecasts.gefcom import read_gefcom_nwp, read_gefcom_power
from forecasts.quality import DataQualityError, require_utc
from forecasts.stategrid import read_stategrid, to_hourly


def _head(src, dst, n):
    with gzip.open(src, "rt", encoding="utf-8") as handle:
        lines = [next(handle) for _ in range(n + 1)]
    dst.write_text("".join(lines), encoding="utf-8")
    return dst


def test_stategrid_real_file_is_utc_15min_and_complete(shared_data) -> None:
    frame, log = read_stategrid(shared_data / "solar/stategrid/solar_site1_50MW.csv.gz", capacity_mw=50)
    assert str(frame.index.tz) == "UTC"
    # first local row 2019-01-01 00:00 UTC+8 is 2018-12-31 16:00 UTC
    assert frame.index[0] == pd.Timestamp("2018-12-31 16:00", tz="UTC")
    assert len(frame) == 70176 and frame.index.freq == "15min"
    assert {"total_irradiance_w_per_m2", "p_mw", "temp_air_c"} <= set(frame.columns)
    assert frame["p_mw"].max() <= 50 * 1.3
    hourly = to_hourly(frame)
    assert len(hourly) == 70176 // 4
    assert hourly["p_mw"].mean() == pytest.approx(frame["p_mw"].mean(), rel=1e-9)


def test_stategrid_repairs_short_gaps_and_kw(shared_data, tmp_path) -> None:
    src = _head(shared_data / "solar/stategrid/solar_site2_130MW.csv.gz", tmp_path / "head.csv", 400)
    raw = pd.read_csv(src)
    reference, _ = read_stategrid(src, capacity_mw=130)
    raw.loc[200, "Power (MW)"] = np.nan  # one NaN: interpolated (R4)
    raw = raw.drop(index=[210, 211])  # two missing rows: inserted then interpolated (R3, R4)
    raw["Power (MW)"] *= 1000.0  # kW given as MW (R5)
    raw.to_csv(tmp_path / "bad.csv", index=False)
    frame, log = read_stategrid(tmp_path / "bad.csv", capacity_mw=130)
    assert "R5 kW converted to MW" in log.counts and log.counts["R3 missing rows inserted"] == 2
    assert frame["p_mw"].notna().all()
    keep = frame.index.difference(frame.index[[200, 210, 211]])
    np.testing.assert_allclose(frame.loc[keep, "p_mw"], reference.loc[keep, "p_mw"], rtol=1e-9)


def test_stategrid_rejects_impossible_power_and_duplicates(shared_data, tmp_path) -> None:
    src = _head(shared_data / "solar/stategrid/solar_site1_50MW.csv.gz", tmp_path / "head.csv", 200)
    raw = pd.read_csv(src)
    raw.loc[60, "Power (MW)"] = 300.0  # 6x capacity: neither MW nor kW
    raw.to_csv(tmp_path / "x.csv", index=False)
    with pytest.raises(DataQualityError, match="6.00x the capacity"):
        read_stategrid(tmp_path / "x.csv", capacity_mw=50)
    raw = pd.read_csv(src)
    pd.concat([raw, raw.iloc[[5]]]).to_csv(tmp_path / "d.csv", index=False)
    with pytest.raises(DataQualityError, match="duplicated"):
        read_stategrid(tmp_path / "d.csv", capacity_mw=50)


def test_naive_index_rejected_with_fix() -> None:
    with pytest.raises(DataQualityError, match="naive.*tz_localize"):
        require_utc(pd.date_range("2020-01-01", periods=3, freq="h"), "x")


def test_gefcom_power_and_nwp(shared_data) -> None:
    power, log = read_gefcom_power(shared_data / "wind/gefcom2012/train_wp1-4.csv.gz")
    assert list(power.columns) == ["p_pu_1", "p_pu_2", "p_pu_3", "p_pu_4"]
    # label 2009070100 is the hour ending 00:00, stored on its start
    assert power.index[0] == pd.Timestamp("2009-06-30 23:00", tz="UTC")
    assert power.iloc[0, 0] == pytest.approx(0.045)
    assert power.notna().sum().iloc[0] == 18757 and log.counts["R3 missing rows inserted"] > 0
    assert ((power >= 0) & (power <= 1)).where(power.notna(), True).all().all()
    nwp = read_gefcom_nwp(shared_data / "wind/gefcom2012/windforecasts_wf1.csv.gz")
    assert nwp["horizon_h"].between(1, 48).all()
    first = nwp.iloc[0]
    assert first.issue_time == pd.Timestamp("2009-07-01 00:00", tz="UTC") and first.horizon_h == 1
    assert first.valid_start == first.issue_time
    assert set(nwp["issue_time"].dt.hour.unique()) == {0, 12}


def test_gefcom_rejects_mw_instead_of_per_unit(shared_data, tmp_path) -> None:
    src = _head(shared_data / "wind/gefcom2012/train_wp1-4.csv.gz", tmp_path / "p.csv", 50)
    raw = pd.read_csv(src)
    raw["wp1"] *= 100
    raw.to_csv(tmp_path / "mw.csv", index=False)
    with pytest.raises(DataQualityError, match="per-unit"):
        read_gefcom_power(tmp_path / "mw.csv")


def test_electricitymaps_real_zone(shared_data) -> None:
    frame, _ = read_electricitymaps(shared_data / "carbon/electricitymaps/DE_2021_hourly.csv.gz")
    assert len(frame) == 8760 and str(frame.index.tz) == "UTC" and frame.attrs["zone"] == "DE"
    assert frame["ci_direct_g_per_kwh"].iloc[0] == pytest.approx(455.04)
    assert (frame["ci_lca_g_per_kwh"] > frame["ci_direct_g_per_kwh"]).mean() > 0.99  # LCA adds upstream
