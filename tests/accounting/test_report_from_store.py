"""``codispatch report --db``: the ledger of real ticks of the default scenario, read from the store.

Five ticks (file adapter, ``--at``) of the first eight default jobs write a SQLite store; each tick
books the hour before it on its measurement (settle), so the first four hours are booked
``measured`` and the last waits for the next tick. The report built from it must add up to the
store's own ``carbon_ledger`` rows, pass the conservation checks, and say what the store could not
give (curtailment; forecast-based bookings and unmeasured hours are covered by hand-made rows).
"""

from __future__ import annotations

import re
import socket
import sqlite3

import pandas as pd
import pytest

from control.accounting.checks import conservation_checks
from control.accounting.from_run import ledger_for_run
from control.accounting.from_store import StoreRows, frames_from_store
from control.accounting.period import ReportInputError
from control.cli import main
from control.fleet import Fleet
from control.jobs import read_jobs
from control.runtime.tick import run_tick
from control.runtime.wiring import make_adapter, open_store
from control.settings import load_settings
from control.store.engine import make_engine
from control.store.repository import Store, now_utc
from control.store.tables import PlanRecord
from tests.runtime.conftest import START, write_runtime_config

TICKS = 5
ENERGY = {"it_energy_mwh": "it_energy_mwh", "facility_energy_mwh": "facility_energy_mwh",
          "green_energy_mwh": "green_used_mwh", "grid_energy_mwh": "grid_energy_mwh", "location_tco2": "emissions_t"}
"""Ledger (report) column -> carbon_ledger (store) column."""


def _run_ticks(default_config, directory, ticks: int = TICKS, **runtime) -> str:
    """Submit the first eight default jobs and tick ``ticks`` hours (file adapter, as
    ``codispatch tick --at`` does); the store's URL."""
    settings = load_settings(write_runtime_config(default_config, directory, **runtime))
    jobs = read_jobs(default_config.parent.parent / "data" / "jobs" / "default_jobs.csv", settings.site_names).head(8)
    store = open_store(settings)
    try:
        store.add_jobs(jobs, now_utc())
        adapter = make_adapter(settings)
        for hour in pd.date_range(START, periods=ticks, freq="h"):
            assert run_tick(settings, store, adapter, hour + pd.Timedelta(minutes=7)).status == "planned_and_sent"
    finally:
        store.close()
    return settings.runtime.url()


@pytest.fixture(scope="module")
def ticked(default_config, tmp_path_factory) -> str:
    return _run_ticks(default_config, tmp_path_factory.mktemp("ticked"))


def _store_ledger(url: str) -> pd.DataFrame:
    store = Store(make_engine(url))
    try:
        return store.ledger()
    finally:
        store.close()


def _report(url: str, default_config, out, fmt: str, *extra: str) -> int:
    return main(["report", "--db", url, "--config", str(default_config), "--format", fmt, "--out", str(out), *extra])


def _unsettled_work(url: str, default_config) -> pd.DataFrame:
    """``job_id, site, gpus, nominal_gpu_h`` of the plans of done ticks not settled yet (their
    progress is recorded, their ledger rows are not booked yet), oldest first."""
    store = Store(make_engine(url))
    try:
        ticks, plans = store.ticks(), store._frame(PlanRecord)
    finally:
        store.close()
    waiting = pd.to_datetime(ticks.loc[(ticks["status"] == "done") & ticks["settled_at"].isna(), "tick_time"], utc=True)
    plans = plans[pd.to_datetime(plans["tick_time"], utc=True).isin(waiting)].sort_values(["tick_time", "job_id"])
    fleet = Fleet.from_settings(load_settings(default_config))
    throughput = dict(zip(fleet.names, fleet.throughput, strict=True))
    return plans.assign(nominal_gpu_h=plans["gpus"] * plans["site"].map(throughput))


def _assert_matches_store(url: str, out, default_config) -> None:
    booked = _store_ledger(url)
    assert len(booked) > 0 and (booked["basis"] == "measured").all()  # every booked hour was measured first
    period = pd.read_csv(out / "ledger" / "period.csv").set_index("site")
    for column, stored in ENERGY.items():
        assert period.at["TOTAL", column] == pytest.approx(booked[stored].sum(), abs=1e-6), column
    assert period.at["TOTAL", "location_tco2"] > 0  # some grid energy was drawn and booked
    per_site = booked.groupby("site")["facility_energy_mwh"].sum()
    for site, mwh in per_site.items():
        assert period.at[site, "facility_energy_mwh"] == pytest.approx(mwh, abs=1e-6)
    job_hour = pd.read_csv(out / "ledger" / "job_hour.csv")
    assert len(job_hour) == len(booked)  # one ledger job-hour per booked row, none invented or lost
    merged = job_hour.assign(hour=pd.to_datetime(job_hour["hour"], utc=True)).merge(
        booked.add_prefix("store_"), left_on=["hour", "job_id"], right_on=["store_time", "store_job_id"],
        validate="one_to_one")
    assert (merged["site"] == merged["store_site"]).all()
    for column, stored in ENERGY.items():
        assert (merged[column] - merged[f"store_{stored}"]).abs().max() <= 1e-9, column
    store = Store(make_engine(url))
    try:  # the work replayed per job-hour adds up to the progress the ticks recorded
        jobs = store.jobs_frame().set_index("job_id")
    finally:
        store.close()
    done = (jobs["work_gpu_h"] - jobs["remaining_gpu_h"])
    per_job = pd.read_csv(out / "ledger" / "job_intensity.csv").set_index("job_id")["work_gpu_h"]
    replayed = per_job.reindex(jobs.index, fill_value=0.0)
    unsettled = _unsettled_work(url, default_config)
    assert len(unsettled) > 0  # the last ticked hour: progress recorded, ledger not booked yet
    for row in unsettled.itertuples():  # + its work, as the tick recorded it (capped at what was left)
        replayed[row.job_id] += min(jobs.at[row.job_id, "work_gpu_h"] - replayed[row.job_id], row.nominal_gpu_h)
    assert replayed[replayed > 0].to_dict() == pytest.approx(done[done > 0].to_dict(), abs=1e-9)
    checks = pd.read_csv(out / "ledger" / "conservation.csv")
    assert checks["holds"].all() and len(checks) >= 20


def test_csv_ledger_equals_the_store(ticked, default_config, tmp_path, capsys) -> None:
    assert _report(ticked, default_config, tmp_path, "csv") == 0
    printed = capsys.readouterr().out
    _assert_matches_store(ticked, tmp_path, default_config)
    assert "all 21 identities hold" in printed
    assert "curtailment absorbed is not recorded by the store" in printed
    booked = _store_ledger(ticked)
    total = booked["emissions_t"].sum()
    energy = booked["facility_energy_mwh"].sum()
    assert f"daemon: {energy:,.3f} MWh, location-based {total:,.3f} tCO2" in printed
    sh = pd.read_csv(tmp_path / "ledger" / "site_hour.csv")
    # every config site in every booked hour, idle ones with zero energy (the period ends at the last
    # booked hour; the last ticked hour is not settled yet)
    assert len(sh) == (TICKS - 1) * 8
    assert (sh["curtailment_absorbed_mwh"] == 0).all()


def test_html_names_factor_set_and_flags(ticked, default_config, tmp_path) -> None:
    assert _report(ticked, default_config, tmp_path, "html") == 0
    _assert_matches_store(ticked, tmp_path, default_config)
    page = (tmp_path / "report.html").read_text()
    assert '<b id="factor-set">China average grid emission factors</b>' in page
    assert '<b id="factor-version">2022 (MEE/NBS, released 2024-12)</b>' in page
    assert "read from the daemon&#x27;s store" in page
    items = re.findall(r"<li>(.*?)</li>", page)
    curtailment = [i for i in items if i.startswith("curtailment absorbed is not recorded by the store")]
    assert curtailment and f"for all {(TICKS - 1) * 8} site-hours (an estimated value" in curtailment[0]
    # every booked hour was settled on its measurement: no forecast-based or unmeasured bookings
    assert not any("booked on the tick's forecast" in i for i in items)
    assert not any("have ledger rows but no measurement" in i for i in items)


def test_unsettled_hour_is_not_a_progress_mismatch(ticked, default_config, tmp_path, capsys) -> None:
    assert _report(ticked, default_config, tmp_path, "csv") == 0
    assert "does not match the progress" not in capsys.readouterr().out


def test_period_selects_hours_and_empty_period_names_the_range(ticked, default_config, tmp_path, capsys) -> None:
    first = pd.Timestamp(START) + pd.Timedelta(hours=1)
    to = first + pd.Timedelta(hours=2)
    assert _report(ticked, default_config, tmp_path, "csv", "--from", first.isoformat(), "--to", to.isoformat()) == 0
    booked = _store_ledger(ticked)
    chosen = booked[(booked["time"] >= first) & (booked["time"] < to)]
    period = pd.read_csv(tmp_path / "ledger" / "period.csv").set_index("site")
    assert period.at["TOTAL", "facility_energy_mwh"] == pytest.approx(chosen["facility_energy_mwh"].sum(), abs=1e-6)
    assert period.at["TOTAL", "location_tco2"] == pytest.approx(chosen["emissions_t"].sum(), abs=1e-6)
    capsys.readouterr()
    assert _report(ticked, default_config, tmp_path, "csv", "--from", "2024-01-01", "--to", "2024-01-02") == 2
    error = capsys.readouterr().err
    assert "no settled hours in [2024-01-01 00:00:00+00:00, 2024-01-02 00:00:00+00:00)" in error
    # the last ticked hour is not settled yet: the booked range ends an hour before it
    assert f"covers {pd.Timestamp(START)} .. {pd.Timestamp(START) + pd.Timedelta(hours=TICKS - 2)}" in error


def test_unknown_site_in_the_store_is_an_error(ticked, default_config, tmp_path, capsys) -> None:
    site = _store_ledger(ticked)["site"].iloc[0]
    text = default_config.read_text().replace('"../data/', f'"{default_config.parent.parent / "data"}/')
    renamed = tmp_path / "renamed.toml"
    renamed.write_text(text.replace(f'name = "{site}"', f'name = "{site}_new"', 1))
    assert main(["report", "--db", ticked, "--config", str(renamed), "--format", "csv", "--out", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert f"the store books site(s) ['{site}'] that the config does not have" in error
    assert "report with the config the daemon ran" in error


def test_store_errors(default_config, tmp_path, capsys) -> None:
    missing = tmp_path / "nowhere.sqlite"
    assert _report(f"sqlite:///{missing}", default_config, tmp_path / "a", "csv") == 2
    assert "run `codispatch tick --config CONFIG` first" in capsys.readouterr().err
    assert not missing.exists()  # a report never creates a store

    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as connection:
        connection.execute("create table notes (x integer)")
    assert _report(f"sqlite:///{other}", default_config, tmp_path / "b", "csv") == 2
    error = capsys.readouterr().err
    assert "has no table(s) ['jobs', 'ticks'" in error and "run `codispatch tick --config CONFIG` first" in error

    fresh = f"sqlite:///{tmp_path / 'fresh.sqlite'}"
    Store.open(fresh, create=True).close()  # migrated, nothing booked
    assert _report(fresh, default_config, tmp_path / "c", "csv") == 2
    assert "holds no carbon-ledger rows yet (0 tick(s))" in capsys.readouterr().err

    assert main(["report", "--db", fresh, "--config", str(default_config)]) == 2
    assert "give the output directory with --out DIR" in capsys.readouterr().err

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    down = f"postgresql+psycopg://codispatch:secret@127.0.0.1:{port}/codispatch"
    assert _report(down, default_config, tmp_path / "d", "csv") == 2
    error = capsys.readouterr().err
    assert f"cannot reach the database postgresql+psycopg://codispatch:***@127.0.0.1:{port}/codispatch" in error
    assert "secret" not in error


@pytest.mark.postgres
def test_postgres_store(default_config, postgres_url, tmp_path) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(postgres_url)
    with engine.begin() as connection:  # a clean schema
        connection.execute(sa.text("drop schema public cascade; create schema public"))
    engine.dispose()
    url = _run_ticks(default_config, tmp_path, ticks=4, database_url=postgres_url)  # 3 settled hours
    assert _report(url, default_config, tmp_path / "report", "html") == 0
    _assert_matches_store(url, tmp_path / "report", default_config)


def _rows(**changes) -> StoreRows:
    """Hand-made store rows: job A at shanghai in three hours (measured, forecast with a differing
    measurement, forecast without measurement; it finishes in the third), job B at zhongwei."""
    h = pd.date_range("2023-07-03", periods=4, freq="h", tz="UTC")
    columns = ["time", "job_id", "site", "gpus", "it_energy_mwh", "facility_energy_mwh", "green_used_mwh",
               "grid_energy_mwh", "ci_g_per_kwh", "emissions_t", "basis"]
    ledger = pd.DataFrame([
        (h[0], "A", "shanghai", 10, 0.012, 0.0162, 0.0062, 0.0100, 584.9, 0.0100 * 0.5849, "measured"),
        (h[1], "A", "shanghai", 10, 0.012, 0.0162, 0.0000, 0.0162, 584.9, 0.0162 * 0.5849, "forecast"),
        (h[1], "B", "zhongwei", 20, 0.015, 0.01725, 0.01725, 0.0, 642.3, 0.0, "forecast"),
        (h[2], "A", "shanghai", 10, 0.012, 0.0162, 0.0000, 0.0162, 584.9, 0.0162 * 0.5849, "forecast"),
    ], columns=columns)
    measurements = pd.DataFrame([(h[0], "shanghai", 0.0062, 584.9), (h[0], "zhongwei", 0.2, 642.3),
                                 (h[1], "shanghai", 0.0100, 584.9), (h[1], "zhongwei", 0.3, 642.3)],
                                columns=["time", "site", "green_mw", "ci_g_per_kwh"])
    forecasts = pd.DataFrame([(h[2], h[2], "zhongwei", 0.1, 642.3)],
                             columns=["issue_time", "valid_time", "site", "green_mw", "ci_g_per_kwh"])
    ticks = pd.DataFrame({"tick_time": h, "status": ["done", "done", "done", "planned"],
                          "solver_status": "optimal", "flags": ""})
    jobs = pd.DataFrame({"job_id": ["A", "B"], "work_gpu_h": [25.0, 100.0], "remaining_gpu_h": [0.0, 89.0]})
    sites = pd.DataFrame({"name": ["shanghai", "zhongwei"], "region": ["shanghai", "ningxia"]})
    unsettled_plans = pd.DataFrame(columns=["tick_time", "job_id", "site", "gpus"])
    fields = dict(ledger=ledger, measurements=measurements, forecasts=forecasts, ticks=ticks, jobs=jobs, sites=sites,
                  unsettled_plans=unsettled_plans, first=h[0], last=h[3] + pd.Timedelta(hours=1), source="sqlite:///hand-made")
    return StoreRows(**(fields | changes))


def test_frames_from_hand_made_rows(default_config) -> None:
    settings = load_settings(default_config)
    run = frames_from_store(settings, _rows())
    work = run.dispatch.set_index(["job_id", "time"])["work_gpu_h"]
    assert list(work.loc["A"]) == [10.0, 10.0, 5.0]  # H800 throughput 1.0 x 10 GPUs, capped at 25 GPU-h
    assert work.loc["B"].iloc[0] == pytest.approx(11.0)  # 910B throughput 0.55 x 20 GPUs
    sh = run.site_hour.set_index(["time", "site"])
    h = pd.date_range("2023-07-03", periods=3, freq="h", tz="UTC")
    assert len(sh) == 3 * 8  # three finished ticks x the config's eight sites; the planned tick is not booked
    assert sh.loc[(h[1], "shanghai"), "load_mw"] == pytest.approx(0.0162)
    assert sh.loc[(h[1], "shanghai"), "green_available_mw"] == pytest.approx(0.0100)  # the measurement
    assert sh.loc[(h[1], "shanghai"), "ci_g_per_kwh"] == pytest.approx(584.9)  # as booked
    assert sh.loc[(h[2], "zhongwei"), "ci_g_per_kwh"] == pytest.approx(642.3)  # idle, unmeasured: the forecast
    assert sh.loc[(h[0], "zhongwei"), "load_mw"] == 0.0
    text = "\n".join(run.flags)
    assert "3 of 4 job-hours (0.050 MWh, 0.019 tCO2 location-based) were booked on the tick's forecast" in text
    # restated: green first, min(0.0162, 0.0100) more green, so 0.0100 MWh less grid at 0.5849 t/MWh
    assert "green used would change by +0.01 MWh and location emissions by -0.005849 tCO2" in text
    assert "1 site-hour(s) in 1 hour(s) have ledger rows but no measurement (first 2023-07-03 02:00:00+00:00" in text
    assert "1 job-hour(s) in which the job finished or waited for its checkpoint are booked at a full hour's energy (0.016 MWh for 5.000 of" in text
    assert "1 tick(s) in the period are planned but not finished" in text
    assert "does not match the progress" not in text
    ledger = ledger_for_run(settings, run.dispatch, run.site_hour)
    total = ledger.period().set_index("site").loc["TOTAL"]
    assert total["location_tco2"] == pytest.approx(_rows().ledger["emissions_t"].sum(), abs=1e-12)
    assert total["facility_energy_mwh"] == pytest.approx(_rows().ledger["facility_energy_mwh"].sum(), abs=1e-12)
    assert conservation_checks(ledger)["holds"].all()

    jobs = _rows().jobs.assign(remaining_gpu_h=[0.0, 50.0])
    flags = frames_from_store(settings, _rows(jobs=jobs)).flags
    assert any("for 1 job(s) it does not match the progress" in flag for flag in flags)
    sites = _rows().sites.assign(region=["shanghai", "gansu"])
    with pytest.raises(ReportInputError, match="site zhongwei is in region 'gansu' in the store"):
        frames_from_store(settings, _rows(sites=sites))


def test_progress_of_an_unsettled_hour_is_not_a_mismatch(default_config) -> None:
    """Job B ran 20 GPUs at zhongwei in a done hour that is not settled: its progress is in the
    jobs table, not in the ledger; the replay counts it and raises no flag."""
    settings = load_settings(default_config)
    k = settings.gpu_models[settings.site("zhongwei").gpu_model].throughput
    jobs = pd.DataFrame({"job_id": ["A", "B"], "work_gpu_h": [25.0, 100.0], "remaining_gpu_h": [0.0, 89.0 - 20 * k]})
    pending = pd.DataFrame([(pd.Timestamp("2023-07-03 03:00", tz="UTC"), "B", "zhongwei", 20)],
                           columns=["tick_time", "job_id", "site", "gpus"])
    mismatch = "does not match the progress"
    assert not any(mismatch in f for f in frames_from_store(settings, _rows()).flags)
    assert any(mismatch in f for f in frames_from_store(settings, _rows(jobs=jobs)).flags)
    assert not any(mismatch in f for f in frames_from_store(settings, _rows(jobs=jobs, unsettled_plans=pending)).flags)
