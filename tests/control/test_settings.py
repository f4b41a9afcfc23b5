"""Configuration: the default loads; bad input is rejected with a message naming value and fix."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from pydantic import ValidationError

from control.settings import ConfigError, load_settings, parse_settings


def _default_dict(default_config: Path) -> dict:
    return tomllib.loads(default_config.read_text())


def test_default_scenario_has_east_and_west_hubs(default_config: Path) -> None:
    settings = load_settings(default_config)
    tiers = [s.tier for s in settings.sites]
    assert tiers.count("east") >= 3 and tiers.count("west") >= 3
    assert all(s.weather_file.is_file() for s in settings.sites)
    assert settings.jobs.file.is_file()
    assert settings.scenario.start.utcoffset().total_seconds() == 0
    with pytest.raises(ValidationError):
        settings.mpc.horizon_h = 3  # frozen


def test_unknown_key_names_the_key_and_the_valid_ones(default_config: Path) -> None:
    data = _default_dict(default_config)
    data["sites"][0]["pv_capacity_kw"] = 3.0
    with pytest.raises(ConfigError) as info:
        parse_settings(data, base_dir=default_config.parent)
    message = str(info.value)
    assert 'sites["shanghai"].pv_capacity_kw' in message  # the site by name, not index
    assert "pv_capacity_mw" in message  # the valid keys are listed


def test_negative_capacity_is_rejected(default_config: Path) -> None:
    data = _default_dict(default_config)
    data["sites"][2]["wind_capacity_mw"] = -5
    with pytest.raises(ConfigError, match=r'sites\["[a-z_]+"\]\.wind_capacity_mw = -5.*greater than or equal to 0'):
        parse_settings(data, base_dir=default_config.parent)


def test_missing_weather_file_is_named(default_config: Path, tmp_path: Path) -> None:
    data = _default_dict(default_config)
    data["sites"][0]["weather_file"] = "nowhere.epw"
    with pytest.raises(ConfigError, match=r"weather file .*nowhere\.epw does not exist"):
        parse_settings(data, base_dir=tmp_path)


def test_naive_start_and_unknown_region(default_config: Path) -> None:
    data = _default_dict(default_config)
    data["scenario"]["start"] = "2023-07-03T00:00:00"
    data["sites"][1]["region"] = "atlantis"
    with pytest.raises(ConfigError) as info:
        parse_settings(data, base_dir=default_config.parent)
    assert "has no UTC offset" in str(info.value)


def test_site_gpus_must_fit_it_capacity(default_config: Path) -> None:
    data = _default_dict(default_config)
    data["sites"][0]["gpu_count"] = 100_000
    with pytest.raises(ConfigError, match="exceeds it_capacity_mw"):
        parse_settings(data, base_dir=default_config.parent)


def test_missing_config_file() -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings("no/such/file.toml")
