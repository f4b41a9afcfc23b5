"""EPW irradiance quality rule (BSRN limits; issue 13, item 15): one odd hour no longer blocks a
station; hours are reported with the file's own line and the EPW's own date and hour."""

from __future__ import annotations

import gzip
import logging

import pytest

from forecasts.weather import WeatherFileError, read_epw

HAMI = "weather/cswd/CHN_Xinjiang.Uygur.Hami.522030_CSWD.epw.gz"


def test_cswd_hami_dhi_equal_to_ghi_is_flagged_with_its_line_not_rejected(shared_data, caplog) -> None:
    path = shared_data / HAMI
    lines = gzip.open(path, "rt", encoding="latin-1").read().splitlines()
    fields = lines[4800 - 1].split(",")  # line 4800 of the file: 2005-07-19, EPW hour 16
    assert fields[1:4] == ["7", "19", "16"] and fields[13] == fields[15] == "1008"  # GHI = DHI
    with caplog.at_level(logging.WARNING, logger="forecasts.weather"):
        year = read_epw(path)  # used to raise: DHI above a fixed 1000 W/m2
    flag = next(f for f in year.quality if f.line == 4800 and f.column == "dhi_w_per_m2")
    assert flag.action == "flagged" and flag.value == 1008 and flag.epw_time == "2005-07-19 hour 16"
    assert year.data.loc[(7, 19, 15), "dhi_w_per_m2"] == 1008  # extremely rare, physically possible: kept
    assert "BSRN irradiance rule flagged" in caplog.text and str(path) in caplog.text


def test_impossible_and_missing_hours_are_repaired_and_named(shared_data, tmp_path, caplog) -> None:
    source = shared_data / "weather/cswd/CHN_Shanghai.Shanghai.583620_CSWD.epw.gz"
    lines = gzip.open(source, "rt", encoding="latin-1").read().splitlines()
    night, noon = 8 + 2, 8 + 24 * 180 + 13  # line 10: Jan 1 EPW hour 2; line 4341: Jun 30 EPW hour 13
    for line, column, value in ((night, 13, "700"), (noon, 15, "9999")):
        fields = lines[line - 1].split(",")
        fields[column] = value
        lines[line - 1] = ",".join(fields)
    path = tmp_path / "odd.epw"
    path.write_text("\n".join(lines) + "\n", encoding="latin-1")
    with caplog.at_level(logging.WARNING, logger="forecasts.weather"):
        year = read_epw(path)
    repaired = {(f.line, f.column): f for f in year.quality if f.action == "repaired"}
    assert repaired[(night, "ghi_w_per_m2")].value == 700 and repaired[(night, "ghi_w_per_m2")].epw_time == "2005-01-01 hour 2"
    assert repaired[(noon, "dhi_w_per_m2")].value == 9999
    assert year.data.loc[(1, 1, 1), "ghi_w_per_m2"] == 0  # night hour interpolated from its dark neighbours
    noon_key = (6, 30, 12)
    assert 0 < year.data.loc[noon_key, "dhi_w_per_m2"] < 1000
    assert f"first: line {night} (2005-01-01 hour 2) ghi_w_per_m2 = 700" in caplog.text


def test_a_file_of_mostly_impossible_values_is_rejected(shared_data, tmp_path) -> None:
    lines = gzip.open(shared_data / "weather/cswd/CHN_Shanghai.Shanghai.583620_CSWD.epw.gz", "rt",
                      encoding="latin-1").read().splitlines()
    for k in range(8, 8 + 500):
        fields = lines[k].split(",")
        fields[13] = "5000"
        lines[k] = ",".join(fields)
    path = tmp_path / "bad.epw"
    path.write_text("\n".join(lines) + "\n", encoding="latin-1")
    with pytest.raises(WeatherFileError, match=r"ghi_w_per_m2 is outside the BSRN physically possible limits in 500 of 8760 hours \(first: line 9"):
        read_epw(path)


def test_broken_location_line_names_the_file(shared_data, tmp_path) -> None:
    lines = gzip.open(shared_data / "weather/cswd/CHN_Shanghai.Shanghai.583620_CSWD.epw.gz", "rt",
                      encoding="latin-1").read().splitlines()
    lines[0] = ",".join(lines[0].split(",")[:9])  # LOCATION without the altitude
    path = tmp_path / "noalt.epw"
    path.write_text("\n".join(lines) + "\n", encoding="latin-1")
    with pytest.raises(WeatherFileError, match=rf"cannot read {path} as EPW \(KeyError: 'altitude'\); line 1 must read LOCATION"):
        read_epw(path)
    truncated = tmp_path / "cut.epw.gz"
    truncated.write_bytes(gzip.compress("\n".join(lines).encode("latin-1"))[:5000])
    with pytest.raises(WeatherFileError, match=rf"cannot read {truncated} as EPW \(EOFError"):
        read_epw(truncated)
