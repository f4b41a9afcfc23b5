"""Fixtures of the accounting tests: one real one-day simulation of the default scenario."""

from __future__ import annotations

import pytest

from control.cli import main


@pytest.fixture(scope="session")
def sim(default_config, tmp_path_factory):
    """Output directory of `codispatch simulate` on the default config, 1 day, agnostic and mpc."""
    out = tmp_path_factory.mktemp("sim")
    assert main(["simulate", "--config", str(default_config), "--days", "1", "--policies", "agnostic,mpc",
                 "--out", str(out), "--no-progress"]) == 0
    return out
