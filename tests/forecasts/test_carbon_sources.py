"""``[forecast] carbon``: the hourly intensity the simulation settles on and the MPC sees."""

from __future__ import annotations

import pandas as pd
import pytest

from control.scenario import site_carbon_intensity
from control.settings import ConfigError, load_settings
from forecasts.carbon_china import PUBLISHED_G_PER_KWH
from forecasts.carbon_electricitymaps import read_electricitymaps

CHINA_REGIONS = {"shanghai": "East", "north_china": "North", "guangdong": "South", "gansu": "Northwest",
                 "ningxia": "Northwest", "inner_mongolia": "North", "guizhou": "South", "sichuan": "Southwest"}
YEAR = pd.date_range("2023-01-01", "2023-12-31 23:00", freq="h", tz="UTC")


def _china(default_config, shared_data, **extra):
    forecast = {"carbon": "china_model", "china_regions": CHINA_REGIONS,
                "china_data_dir": str(shared_data / "grid/china"),
                "china_weather_dir": str(shared_data / "weather/cswd"), **extra}
    return load_settings(default_config, {"forecast": forecast})


def test_china_model_gives_each_site_the_regional_shape_at_its_own_factor(default_config, shared_data) -> None:
    scaled = site_carbon_intensity(_china(default_config, shared_data), YEAR)
    regional = site_carbon_intensity(_china(default_config, shared_data, china_scale_to_region_factor=False), YEAR)
    settings = load_settings(default_config)
    for site in settings.sites:
        factor = settings.region(site.region).emission_factor_kg_per_kwh * 1000.0
        ratio = scaled[site.name] / regional[site.name]
        # one constant factor: province level / the regional model's calibrated mean (= published, 1 %)
        assert ratio.std() < 1e-9
        assert ratio.iloc[0] == pytest.approx(factor / PUBLISHED_G_PER_KWH[CHINA_REGIONS[site.region]], rel=0.01)
        assert regional[site.name].mean() == pytest.approx(PUBLISHED_G_PER_KWH[CHINA_REGIONS[site.region]], rel=0.15)
        assert scaled[site.name].std() > 0.02 * scaled[site.name].mean()  # hourly, not a constant
    # the western solar base is cleaner at local noon than at midnight over the summer
    gansu = scaled["qingyang"]
    local = gansu.index + pd.Timedelta(hours=8)
    summer = (local.month >= 5) & (local.month <= 8)
    assert gansu[summer & (local.hour == 13)].mean() < gansu[summer & (local.hour == 1)].mean()


def test_electricitymaps_source_lays_the_zone_year_onto_the_calendar(default_config, shared_data) -> None:
    path = shared_data / "carbon/electricitymaps/DE_2021_hourly.csv.gz"
    files = {r: str(path) for r in CHINA_REGIONS}
    settings = load_settings(default_config, {"forecast": {"carbon": "electricitymaps", "electricitymaps_files": files}})
    ci = site_carbon_intensity(settings, YEAR)
    source = read_electricitymaps(path)[0]["ci_direct_g_per_kwh"]
    stamp = pd.Timestamp("2023-07-03 12:00", tz="UTC")
    assert ci.loc[stamp].iloc[0] == pytest.approx(source.loc[pd.Timestamp("2021-07-03 12:00", tz="UTC")])


def test_carbon_source_must_cover_every_site_region(default_config, shared_data) -> None:
    partial = {k: v for k, v in CHINA_REGIONS.items() if k != "gansu"}
    with pytest.raises(ConfigError, match=r"no entry for regions \['gansu'\]"):
        _china(default_config, shared_data, china_regions=partial)
    with pytest.raises(ConfigError, match="unknown regions"):
        _china(default_config, shared_data, china_regions={**CHINA_REGIONS, "atlantis": "North"})
    with pytest.raises(ConfigError, match="needs china_regions"):
        load_settings(default_config, {"forecast": {"carbon": "china_model"}})


def test_carbon_source_and_accounting_factor_file_are_not_both_set(default_config, shared_data, repo) -> None:
    factor_files = sorted((repo / "data/factors").glob("*.toml"))
    with pytest.raises(ConfigError, match="keep one"):
        load_settings(default_config, {
            "forecast": {"carbon": "electricitymaps", "electricitymaps_files": {r: "x.csv" for r in CHINA_REGIONS}},
            "accounting": {"factor_file": str(factor_files[0])},
        })
