"""Messages without internals, a fast ``--help``, and no solver banner on stdout (issue 13, item 12),
plus sites without weather and far-away weather files (item 14)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pandas as pd
import pytest

from control.cli import main, parse_time_flag
from control.settings import ConfigError, parse_settings

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("numpy", "pandas", "pvlib", "pandapower", "highspy", "matplotlib", "sqlalchemy", "scipy")


def _default(default_config: Path) -> dict:
    return tomllib.loads(default_config.read_text())


def _python(code: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=REPO, timeout=120)


def test_help_imports_no_heavy_library() -> None:
    started = time.perf_counter()
    done = _python(
        "import sys\nfrom control.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        f"print('LOADED', sorted(m for m in {HEAVY!r} if m in sys.modules))"
    )
    elapsed = time.perf_counter() - started
    assert done.returncode == 0, done.stderr
    assert "submit" in done.stdout and "tick" in done.stdout  # every command is listed
    loaded = done.stdout.strip().splitlines()[-1]
    assert loaded == "LOADED []", f"`codispatch --help` imported {loaded}: import them inside the command's run()"
    print(f"codispatch --help: {elapsed:.2f} s (subprocess, this machine)")


def test_unknown_command_and_command_help_still_work(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(["no-such-command"])
    assert info.value.code == 2 and "invalid choice" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["submit", "--help"])
    assert "--drop-dir" in capsys.readouterr().out


def test_highs_banner_is_not_on_stdout() -> None:
    done = _python(
        "import logging, numpy as np, scipy.sparse as sp\n"
        "logging.basicConfig(level=logging.DEBUG)\n"
        "from types import SimpleNamespace\nfrom control.mpc.solve import solve_lp\n"
        "a = sp.csc_matrix(np.ones((1, 2)))\n"
        "lp = SimpleNamespace(c=np.array([1.0, 2.0]), a=a, row_lb=np.array([1.0]), row_ub=np.array([np.inf]),"
        " col_lb=np.zeros(2), col_ub=np.full(2, np.inf))\n"
        "print('status', solve_lp(lp).status)\nprint('status', solve_lp(lp).status)\n"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["status", "optimal", "status", "optimal"], done.stdout
    assert "HiGHS: Running HiGHS" in done.stderr  # the banner went to the log


def test_config_messages_name_sites_and_hide_pydantic(default_config: Path) -> None:
    data = _default(default_config)
    data["sites"][0]["pue"] = 5
    data["sites"][3]["region"] = "atlantis"
    with pytest.raises(ConfigError) as info:
        parse_settings(data, base_dir=default_config.parent)
    message = str(info.value)
    assert 'sites["shanghai"].pue = 5: Input should be less than or equal to 3' in message
    assert "sites.0" not in message
    data["sites"][0]["pue"] = 1.3
    with pytest.raises(ConfigError) as info:
        parse_settings(data, base_dir=default_config.parent)
    message = str(info.value)
    assert "has region='atlantis', which is not defined" in message
    assert "Value error" not in message and "-  =" not in message and "{...}" not in message


@pytest.mark.parametrize(("text", "expected"), [
    ("now", "is not an ISO 8601 time; write e.g. 2023-07-03T08:00:00Z (omit --at for now)"),
    ("2023-07-03T00:00", "has no UTC offset; append 'Z'"),
    ("2023-02-30T00:00Z", "is not an ISO 8601 time"),
])
def test_time_flags_explain_the_fix(text, expected) -> None:
    with pytest.raises(ValueError) as info:
        parse_time_flag(text)
    assert expected in str(info.value) and "nowZ" not in str(info.value)
    assert parse_time_flag("2023-07-03T08:00:00+08:00") == pd.Timestamp("2023-07-03T00:00:00Z")


def test_site_without_pv_or_wind_needs_no_weather_file(default_config: Path) -> None:
    from control.scenario import site_supply_mw

    data = _default(default_config)
    data["sites"] = data["sites"][:2]
    shanghai = data["sites"][0]
    shanghai["pv_capacity_mw"] = 0.0
    del shanghai["weather_file"]
    settings = parse_settings(data, base_dir=default_config.parent)
    index = pd.date_range("2023-07-03T00:00Z", periods=24, freq="h")
    pv, wind = site_supply_mw(settings, index)
    assert (pv["shanghai"] == 0).all() and (wind["shanghai"] == 0).all() and pv.drop(columns="shanghai").to_numpy().max() > 0
    shanghai["pv_capacity_mw"] = 2.0
    with pytest.raises(ConfigError, match="site 'shanghai' has pv_capacity_mw=2.0 .* but no weather_file"):
        parse_settings(data, base_dir=default_config.parent)


def test_weather_file_far_from_its_site_warns(default_config: Path, caplog) -> None:
    from control.scenario import site_supply_mw

    data = _default(default_config)
    data["sites"] = data["sites"][:1]
    data["sites"][0]["lat"], data["sites"][0]["lon"] = 47.37, 8.54  # Zurich with the Shanghai EPW
    settings = parse_settings(data, base_dir=default_config.parent)
    with caplog.at_level(logging.WARNING, logger="control.scenario"):
        site_supply_mw(settings, pd.date_range("2023-07-03T00:00Z", periods=2, freq="h"))
    text = caplog.text
    assert "site shanghai: weather file" in text and "km from the site at (47.37, 8.54)" in text
    assert "time zone UTC+8 is 7.4 h from the site's solar time" in text
    from forecasts.weather import location_mismatch, read_epw

    site = _default(default_config)["sites"][0]
    near = read_epw(default_config.parent / site["weather_file"])
    assert location_mismatch(near, site["lat"], site["lon"]) == []  # its own station: no warning
