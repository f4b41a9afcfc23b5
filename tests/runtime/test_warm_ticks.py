"""The daemon keeps one MPC step between ticks: every tick after the first warm-starts."""

from __future__ import annotations

import logging
import re

import pandas as pd

from control.cli import main
from control.runtime.daemon import mpc_step_for
from control.runtime.tick import run_tick
from control.runtime.wiring import make_adapter, open_store
from control.settings import load_settings

from .conftest import START


def test_ticks_with_the_daemons_step_warm_start_and_log_iterations(runtime_config, first_jobs, caplog) -> None:
    assert main(["submit", "--config", str(runtime_config), "--at", START, "--file", str(first_jobs)]) == 0
    settings = load_settings(runtime_config)
    store, adapter = open_store(settings), make_adapter(settings)
    step = mpc_step_for(str(runtime_config), settings)
    assert mpc_step_for(str(runtime_config), load_settings(runtime_config)) is step  # kept between ticks
    with caplog.at_level(logging.INFO, logger="control.runtime.tick"):
        for hour in pd.date_range(START, periods=3, freq="h"):
            assert run_tick(settings, store, adapter, hour, step).status == "planned_and_sent"
    lines = [r.getMessage() for r in caplog.records if "simplex iterations" in r.getMessage()]
    found = [re.search(r"MPC (\w+) in (\d+) simplex iterations \((warm|cold) start\)", line) for line in lines]
    assert len(found) == 3 and all(found), lines
    assert [m.group(3) for m in found] == ["cold", "warm", "warm"], lines  # the first tick of a process is cold
    assert all(m.group(1) == "optimal" and int(m.group(2)) >= 0 for m in found)
    assert step.warm.has_basis
    # other [mpc] settings (a changed config): a new, cold step
    changed = load_settings(runtime_config, {"mpc": {"solver_time_limit_s": 7.0}})
    assert mpc_step_for(str(runtime_config), changed) is not step
