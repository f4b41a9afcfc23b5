"""The daemon's ticks on live feeds served by local HTTP servers (the real formats): bad data of
every kind takes the documented fallback and is flagged on the tick, never a crash; the
Electricity Maps token appears in no log line, error, report or store row."""

from __future__ import annotations

import json
import logging
import secrets
import shutil
from pathlib import Path

import pandas as pd
import pytest

from control.cli import main
from control.feeds_record import MANIFEST, ReplayServer, pushed_meter_files
from control.jobs import read_jobs
from control.runtime.adapters import FileAdapter
from control.runtime.tick import run_tick
from control.settings import load_settings
from control.store import Store
from control.store.repository import now_utc

from .conftest import write_runtime_config

START = pd.Timestamp("2023-07-02T16:00Z")
TOKEN_ENV = "CODISPATCH_TEST_EM_TOKEN"


def live_config(default_config: Path, period: Path, directory: Path, port: int) -> Path:
    """The default config as a live deployment: NWP and carbon over HTTP, meters in a drop folder."""
    path = write_runtime_config(default_config, directory)
    zones = json.loads((period / MANIFEST).read_text())["zones"]
    lines = ["", "[forecast]", 'method = "feeds"', "", "[feeds]",
             f'nwp_url = "http://127.0.0.1:{port}/{{site}}/v1/forecast"', f'carbon_url = "http://127.0.0.1:{port}/v3"',
             f'carbon_token_env = "{TOKEN_ENV}"', f'measurements_dir = "{directory / "drop"}"',
             "http_retries = 1", "http_backoff_s = 0.05", "http_timeout_s = 5", "", "[feeds.carbon_zones]"]
    lines += [f'{region} = "{zone}"' for region, zone in zones.items()]
    path.write_text(path.read_text() + "\n".join(lines) + "\n")
    (directory / "drop").mkdir(exist_ok=True)
    return path


def _jobs(settings, tmp_path: Path):  # noqa: ANN001, ANN202
    rows = [{"job_id": f"j{k}", "release": START.isoformat(), "deadline": (START + pd.Timedelta(hours=20)).isoformat(),
             "gpus": 256, "work_gpu_h": 900.0, "home_site": site} for k, site in enumerate(settings.site_names[:4])]
    pd.DataFrame(rows).to_csv(tmp_path / "jobs.csv", index=False)
    return read_jobs(tmp_path / "jobs.csv", settings.site_names)


def _drop_meters(period: Path, drop: Path, until: pd.Timestamp) -> None:
    for path in pushed_meter_files(period / "measurements", until):
        if not (drop / path.name).exists() and not (drop / "ingested" / path.name).exists():
            shutil.copy(path, drop / path.name)


def test_token_is_in_no_log_error_report_or_store(default_config, one_day, tmp_path, monkeypatch, caplog, capsys) -> None:
    token = "emtok-" + secrets.token_hex(16)
    monkeypatch.setenv(TOKEN_ENV, token)
    caplog.set_level(logging.DEBUG)
    results = []
    with ReplayServer(one_day, token) as server:
        config = live_config(default_config, one_day, tmp_path, server.port)
        settings = load_settings(config)
        assert token not in repr(settings) and token not in settings.model_dump_json()
        store = Store.open(settings.runtime.url())
        store.add_jobs(_jobs(settings, tmp_path), now_utc())
        adapter = FileAdapter(settings.runtime.intents_file, {s.name: s.gpu_count for s in settings.sites})
        for k in range(3):
            tick = START + pd.Timedelta(hours=k)
            server.clock = tick
            server.token = "a-rotated-token" if k == 1 else token  # the API refuses ours once: 401
            _drop_meters(one_day, tmp_path / "drop", tick)
            results.append(run_tick(settings, store, adapter, tick + pd.Timedelta(minutes=5)))
        store.close()
    assert all(r.status == "planned_and_sent" for r in results)
    assert results[0].flags == () and results[2].flags == ()
    refused = [f for f in results[1].flags if f.startswith("carbon_unavailable:")]
    assert len(refused) == 8, results[1].flags  # every zone fell back to the default model, flagged
    assert "401" in caplog.text  # the refusal is logged ...
    assert main(["report", "--config", str(config), "--db", "--out", str(tmp_path / "report")]) == 0
    written = [p.read_bytes() for p in (tmp_path / "report").rglob("*") if p.is_file()]
    assert written
    haystacks = [caplog.text, capsys.readouterr().out, " ".join(";".join(r.flags) for r in results),
                 (tmp_path / "store.sqlite").read_bytes().decode("latin-1"), *(w.decode("latin-1") for w in written),
                 (tmp_path / "intents.jsonl").read_text()]
    assert all(token not in text for text in haystacks)  # ... but never the token


def _tick(settings, store, adapter, server, tick, clock=None):  # noqa: ANN001, ANN202
    server.clock = clock if clock is not None else tick
    return run_tick(settings, store, adapter, tick + pd.Timedelta(minutes=5))


@pytest.mark.slow
def test_bad_feeds_take_the_fallback_and_are_flagged(default_config, one_day, tmp_path, monkeypatch) -> None:
    """Malformed, late (stale), from the future, time-shifted NWP; stale carbon; duplicated,
    gapped and time-shifted meters: each tick still plans, with its flags."""
    period = tmp_path / "period"
    shutil.copytree(one_day, period)
    token = secrets.token_hex(8)
    monkeypatch.setenv(TOKEN_ENV, token)
    nwp = period / "nwp" / "shanghai"
    with ReplayServer(period, token) as server:
        settings = load_settings(live_config(default_config, period, tmp_path, server.port))
        store = Store.open(settings.runtime.url())
        store.add_jobs(_jobs(settings, tmp_path), now_utc())
        adapter = FileAdapter(settings.runtime.intents_file, {s.name: s.gpu_count for s in settings.sites})
        drop = tmp_path / "drop"
        hours = [START + pd.Timedelta(hours=k) for k in range(8)]

        def flags(k: int, clock=None) -> tuple[str, ...]:  # noqa: ANN001
            _drop_meters(period, drop, hours[k])
            result = _tick(settings, store, adapter, server, hours[k], clock)
            assert result.status == "planned_and_sent"
            return result.flags

        assert flags(0) == ()
        good = (nwp / "20230702T1200Z.json").read_text()
        (nwp / "20230702T1200Z.json").write_text(good[: len(good) // 2])  # cut short mid-transfer
        assert {"nwp_malformed", "forecast_missing"} <= set(flags(1))
        (nwp / "20230702T1200Z.json").write_text(good)
        shifted = json.loads((nwp / "20230702T1800Z.json").read_text())
        shifted["utc_offset_seconds"] = 0  # local China times sent as UTC
        (nwp / "20230702T1800Z.json").write_text(json.dumps(shifted))
        assert {"nwp_time_shifted", "forecast_missing"} <= set(flags(2))
        # a server whose clock runs ahead hands the 19:00Z tick the 00:00Z run
        assert {"nwp_future", "forecast_missing"} <= set(flags(3, clock=START + pd.Timedelta(hours=8, minutes=30)))
        for run in sorted(nwp.iterdir())[1:]:  # runs after 12:00Z never arrive: it gets old
            run.unlink()
        stale = flags(4)
        assert "forecast_stale" in stale and any(f in stale for f in ("forecast_persistence", "forecast_climatology",
                                                                      "forecast_conservative")), stale
        for path in sorted((period / "carbon" / "CN-sichuan").glob("forecast_*"))[1:]:
            path.unlink()
        # meters: a conflicting repeat, a missing quarter hour, PV output at night (an offset too early)
        old = pd.Timestamp("2023-06-30T05:00Z")
        stamp = lambda t: t.strftime("%Y-%m-%dT%H:%MZ")  # noqa: E731
        (drop / "dup.csv").write_text(f"time,site,pv_mw,wind_mw\n{stamp(old)},chengdu,0.1,0.0\n{stamp(old)},chengdu,0.2,0.0\n")
        (drop / "gap.csv").write_text("time,site,pv_mw,wind_mw\n" + "".join(
            f"{stamp(old + pd.Timedelta(minutes=m))},guian,0.1,0.0\n" for m in (0, 15, 30)))
        night = pd.Timestamp("2023-06-30T13:00Z")  # 21:00 China time: dark
        (drop / "shift.csv").write_text("time,site,pv_mw,wind_mw\n" + "".join(
            f"{stamp(night + pd.Timedelta(hours=h))},shanghai,1.2,0.0\n" for h in range(3)))
        late = flags(6)
        assert {"carbon_stale:sichuan", "measurements_duplicated", "measurements_gapped",
                "measurements_time_shifted"} <= set(late), late
        measured = store.measurements(old - pd.Timedelta(days=1), START)
        assert not ((measured["site"] == "guian") & (measured["time"] == old)).any()  # the gapped hour waits
        store.close()



def test_daemon_needs_no_jobs_file_and_runs_the_due_tick_at_start_up(default_config, tmp_path) -> None:
    import re

    from control.runtime.daemon import next_tick_time, start_daemon
    from control.scenario import load_scenario
    from control.settings.errors import ConfigError

    config = write_runtime_config(default_config, tmp_path)
    config.write_text(re.sub(r'\[jobs\]\nfile = "[^"]*"\n', "", config.read_text()))
    settings = load_settings(config)
    assert settings.jobs is None
    scheduler, release = start_daemon(config)
    try:
        assert "startup_tick" in {job.id for job in scheduler.get_jobs()}  # the current hour is due
    finally:
        release()
    assert next_tick_time(pd.Timestamp("2023-07-03T10:20Z")) == pd.Timestamp("2023-07-03T11:00:05Z")
    assert next_tick_time(pd.Timestamp("2023-07-03T10:00:01Z")) == pd.Timestamp("2023-07-03T10:00:05Z")
    with pytest.raises(ConfigError, match="the daemon needs none"):
        load_scenario(settings, 1)
