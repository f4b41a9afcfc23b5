"""A runtime config: the default scenario with its store and intents file in a temp directory."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pandas as pd
import pytest

START = "2023-07-02T20:00:00Z"


def write_runtime_config(default_config: Path, directory: Path, init: bool = True, **runtime) -> Path:
    """A copy of the default config (paths made absolute) with ``[runtime]`` in ``directory``;
    with ``init`` its store is created (what ``codispatch init`` does on a first start)."""
    text = default_config.read_text().replace('"../data/', f'"{default_config.parent.parent / "data"}/')
    data = tomllib.loads(text)
    lines = [text, "", "[runtime]", f'database = "{directory / "store.sqlite"}"',
             f'intents_file = "{directory / "intents.jsonl"}"']
    lines += [f"{key} = {value!r}".replace("'", '"') for key, value in runtime.items()]
    assert "runtime" not in data
    path = directory / "codispatch.toml"
    path.write_text("\n".join(lines) + "\n")
    if init:
        from control.runtime.wiring import open_store
        from control.settings import load_settings

        open_store(load_settings(path), create=True).close()
    return path


@pytest.fixture
def runtime_config(default_config, tmp_path) -> Path:
    return write_runtime_config(default_config, tmp_path)


@pytest.fixture
def first_jobs(default_config, tmp_path) -> Path:
    """The first eight jobs of the default job file, as a CSV to submit."""
    path = tmp_path / "jobs.csv"
    pd.read_csv(default_config.parent.parent / "data" / "jobs" / "default_jobs.csv").head(8).to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def one_day(default_config, tmp_path_factory) -> Path:
    """One recorded day of the default fleet in the feed adapters' formats (control.feeds_record)."""
    from control.feeds_record import record_period
    from control.settings import load_settings

    out = tmp_path_factory.mktemp("period")
    record_period(load_settings(default_config), out, days=1)
    return out
