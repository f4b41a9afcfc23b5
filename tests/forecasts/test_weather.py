"""forecasts/weather.py: EPW years read into canonical columns and laid on UTC hours."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from forecasts.weather import VARIABLE_MAP, WeatherFileError, read_epw, weather_on_index

WEATHER = Path(__file__).resolve().parents[2] / "data" / "weather"


@pytest.fixture(scope="module")
def year():
    return read_epw(sorted(WEATHER.glob("*.epw.gz"))[0])


def test_epw_year_in_canonical_columns(year) -> None:
    assert list(year.data.columns) == list(VARIABLE_MAP.values())
    assert len(year.data) == 8760 and year.data.index.is_unique
    assert 15 < year.latitude < 55 and 70 < year.longitude < 135 and year.utc_offset_h == 8.0  # a station in China
    data = year.data
    assert (data["ghi_w_per_m2"] >= 0).all() and data["ghi_w_per_m2"].max() < 1400
    assert (data["dhi_w_per_m2"] <= data["ghi_w_per_m2"] + 1e-9).all() or year.quality  # or flagged by the BSRN rule
    assert data["temp_air_c"].between(-50, 50).all()


def test_on_index_uses_local_time_repeats_every_year_and_maps_feb_29(year) -> None:
    index = pd.date_range("2023-03-01 00:00", periods=48, freq="h", tz="UTC")
    frame = weather_on_index(year, index)
    assert frame.index.equals(index) and not frame.isna().any().any()
    # 00:00 UTC is 08:00 local standard time (UTC+8)
    np.testing.assert_allclose(frame.iloc[0].to_numpy(), year.data.loc[(3, 1, 8)].to_numpy())
    later = weather_on_index(year, index + pd.DateOffset(years=2))
    np.testing.assert_array_equal(frame.to_numpy(), later.to_numpy())
    leap = weather_on_index(year, pd.date_range("2024-02-29 00:00", periods=24, freq="h", tz="UTC"))
    feb28 = weather_on_index(year, pd.date_range("2023-02-28 00:00", periods=24, freq="h", tz="UTC"))
    np.testing.assert_array_equal(leap.to_numpy(), feb28.to_numpy())


def test_naive_index_and_missing_file_name_the_fix(year, tmp_path) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        weather_on_index(year, pd.date_range("2023-01-01", periods=3, freq="h"))
    with pytest.raises(WeatherFileError, match="does not exist; point weather_file at an EPW file"):
        read_epw(tmp_path / "nowhere.epw")
