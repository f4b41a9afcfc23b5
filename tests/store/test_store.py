"""The store behaves the same on SQLite and PostgreSQL: migrations, all-or-nothing writes,
UTC-aware times, exactly-once tick completion, leases."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest
import sqlalchemy as sa

from control.jobs import validate_jobs
from control.store import Store, StoreError
from control.store.repository import utc
from control.store.tables import (
    ForecastRecord,
    IntentRecord,
    LedgerRecord,
    MeasurementRecord,
    PlanRecord,
    SiteRecord,
    TickRecord,
)

@pytest.fixture
def stores():
    """Open stores that are closed after the test."""
    opened = []
    yield lambda url: opened.append(Store.open(url, create=True)) or opened[-1]
    for store in opened:
        store.close()


T0 = datetime(2023, 7, 3, 0, tzinfo=timezone.utc)
SITES = ["east", "west"]


def _jobs(*ids: str) -> pd.DataFrame:
    return validate_jobs(pd.DataFrame({
        "job_id": list(ids), "release": ["2023-07-03T00:00:00Z"] * len(ids), "deadline": ["2023-07-04T00:00:00+08:00"] * len(ids),
        "gpus": [8] * len(ids), "work_gpu_h": [20.0] * len(ids), "home_site": ["east"] * len(ids),
    }), SITES)


def test_migrated_schema_and_versions(store_url) -> None:
    Store.open(store_url, create=True).close()
    with Store.open(store_url) as store, store.engine.connect() as connection:  # a second open: no-op upgrade
        tables = set(sa.inspect(connection).get_table_names())
        version = connection.execute(sa.text("select version_num from alembic_version")).scalar_one()
    assert {"jobs", "ticks", "plans", "intents", "forecasts", "leases", "sites", "measurements",
            "carbon_ledger", "job_hours"} <= tables
    from alembic.script import ScriptDirectory
    from alembic.config import Config

    from control.store.engine import MIGRATIONS

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, f"the migration chain must stay linear, found heads {heads}"
    assert version == heads[0]
    assert {"plan_hours", "plan_sites", "requests", "audit_log", "api_tokens"} <= tables
    assert "store_identity" in tables


def test_jobs_all_or_nothing_and_times_stay_utc(store_url, stores) -> None:
    store = stores(store_url)
    assert store.add_jobs(_jobs("a", "b"), T0) == 2
    with pytest.raises(StoreError, match=r"\['b'\] already exist"):
        store.add_jobs(_jobs("c", "b"), T0)
    frame = store.jobs_frame().set_index("job_id")
    assert sorted(frame.index) == ["a", "b"]  # "c" was not written
    assert frame.at["a", "deadline"] == pd.Timestamp("2023-07-03T16:00:00Z")
    assert str(frame["release"].dt.tz) == "UTC"


def test_tick_is_finished_once(store_url, stores) -> None:
    store = stores(store_url)
    store.add_jobs(_jobs("a"), T0)
    tick = TickRecord(tick_time=T0, status="planned", started_at=T0)
    plan = [PlanRecord(tick_time=T0, job_id="a", site="west", gpus=8)]
    intent = IntentRecord(key="k1", tick_time=T0, job_id="a", action="run", site="west", gpus=8, created_at=T0)
    store.write_plan(tick, plan, [intent], [])
    assert store.tick(T0).status == "planned" and [i.key for i in store.pending_intents()] == ["k1"]
    with pytest.raises(Exception):  # noqa: B017  the same intent key twice is refused by the primary key
        store.write_plan(TickRecord(tick_time=T0 + timedelta(hours=1), status="planned", started_at=T0), [],
                         [IntentRecord(key="k1", tick_time=T0, job_id="a", action="run", created_at=T0)], [])
    assert store.tick(T0 + timedelta(hours=1)) is None  # and nothing of that transaction was kept
    store.mark_applied("k1", T0, outcome="found")
    assert store.finish_tick(T0, {"west": 0.5}, T0) is True
    assert store.finish_tick(T0, {"west": 0.5}, T0) is False
    assert store.intents().set_index("key").at["k1", "outcome"] == "found"
    job = store.jobs_frame().set_index("job_id").loc["a"]
    assert job.remaining_gpu_h == pytest.approx(20.0 - 8 * 0.5) and job.state == "running" and job.site == "west"


def test_lease_one_holder_until_expiry(store_url, stores) -> None:
    store = stores(store_url)
    assert store.acquire_lease("a", 60, T0)[0]
    ok, holder, until = store.acquire_lease("b", 60, T0 + timedelta(seconds=30))
    assert not ok and holder == "a" and until == T0 + timedelta(seconds=60)
    assert store.acquire_lease("b", 60, T0 + timedelta(seconds=61))[0]  # expired: taken over
    assert store.acquire_lease("c", 60, T0 + timedelta(seconds=62), is_stale=lambda h: h == "b")[0]
    store.release_lease("c")
    assert store.acquire_lease("d", 60, T0 + timedelta(seconds=63))[0]


def test_ledger_booked_once_with_the_sites_green_share(store_url, stores) -> None:
    """Two jobs share west's 1.5 MW of renewables in proportion to their draw; the rest is grid
    energy at the measured intensity. Hand-computed reference values, exact to 1e-12."""
    store = stores(store_url)
    store.add_jobs(_jobs("a", "b"), T0)
    store.sync_sites([SiteRecord(name=s, region="r", gpu_model="h100", gpu_count=64, pue=1.25, updated_at=T0)
                      for s in SITES])
    assert sorted(store.sites()["name"]) == SITES
    assert store.add_measurements([MeasurementRecord(time=T0, site="west", green_mw=1.5, ci_g_per_kwh=400.0,
                                                     source="meter", recorded_at=T0)]) == 1
    assert store.add_measurements([MeasurementRecord(time=T0, site="west", green_mw=9.0, ci_g_per_kwh=1.0,
                                                     source="meter", recorded_at=T0)]) == 0  # kept once
    tick = TickRecord(tick_time=T0, status="planned", started_at=T0)
    plan = [PlanRecord(tick_time=T0, job_id="a", site="west", gpus=8), PlanRecord(tick_time=T0, job_id="b", site="west", gpus=24),
            PlanRecord(tick_time=T0, job_id="c", site="east", gpus=8)]
    store.add_jobs(_jobs("c"), T0)
    forecast = [ForecastRecord(issue_time=T0, valid_time=T0, site="east", green_mw=0.0, ci_g_per_kwh=600.0, method="x")]
    store.write_plan(tick, plan, [], forecast)
    per_gpu, pue = {"west": 0.1, "east": 0.1}, {"west": 1.25, "east": 1.25}  # facility MW of one busy GPU
    assert store.settle_tick(T0, per_gpu, pue, T0) == ""  # not done: nothing to settle
    assert store.finish_tick(T0, {"west": 0.5, "east": 0.5}, T0)
    assert store.ledger().empty  # finishing records progress only
    later = T0 + timedelta(hours=2)
    assert store.unsettled_ticks(T0) == [] and store.unsettled_ticks(later) == [T0]
    assert store.settle_tick(T0, per_gpu, pue, later) == "waiting"  # east ran and is not measured
    assert store.ledger().empty and store.unsettled_ticks(later) == [T0]
    assert store.settle_tick(T0, per_gpu, pue, later, fallback=True) == "forecast"
    assert store.settle_tick(T0, per_gpu, pue, later, fallback=True) == ""
    assert store.unsettled_ticks(later) == [] and utc(store.tick(T0).settled_at) == later
    ledger = store.ledger().set_index("job_id")
    assert len(ledger) == 3  # booked once
    # west draws 3.2 MW, 1.5 MW green: green share 1.5/3.2 for both jobs
    assert ledger.at["a", "facility_energy_mwh"] == pytest.approx(0.8, abs=1e-12)
    assert ledger.at["a", "it_energy_mwh"] == pytest.approx(0.64, abs=1e-12)
    assert ledger.at["b", "green_used_mwh"] == pytest.approx(2.4 * 1.5 / 3.2, abs=1e-12)
    assert ledger.loc[["a", "b"], "green_used_mwh"].sum() == pytest.approx(1.5, abs=1e-12)
    assert ledger.at["b", "emissions_t"] == pytest.approx(2.4 * (1 - 1.5 / 3.2) * 400.0 / 1000.0, abs=1e-12)
    assert ledger.at["a", "basis"] == "measured" and ledger.at["c", "basis"] == "forecast"
    assert ledger.at["c", "emissions_t"] == pytest.approx(0.8 * 600.0 / 1000.0, abs=1e-12)
    assert str(ledger["time"].dt.tz) == "UTC"
    frame = store.measurements(T0, T0 + timedelta(hours=1))
    assert list(frame["green_mw"]) == [1.5] and str(frame["time"].dt.tz) == "UTC"


def test_settled_when_every_site_that_ran_is_measured(store_url, stores) -> None:
    """A tick with no jobs settles at once (nothing to book); one whose sites are all measured
    books ``measured`` rows; the unique (time, job_id) constraint refuses a second booking."""
    store = stores(store_url)
    store.add_jobs(_jobs("a"), T0)
    t1 = T0 + timedelta(hours=1)
    store.write_plan(TickRecord(tick_time=T0, status="planned", started_at=T0), [], [], [])
    store.write_plan(TickRecord(tick_time=t1, status="planned", started_at=t1),
                     [PlanRecord(tick_time=t1, job_id="a", site="west", gpus=8)], [], [])
    assert store.finish_tick(T0, {"west": 0.5}, T0) and store.finish_tick(t1, {"west": 0.5}, t1)
    per_gpu, pue = {"west": 0.1, "east": 0.1}, {"west": 1.25, "east": 1.25}
    assert store.settle_tick(T0, per_gpu, pue, t1) == "measured" and store.ledger().empty
    assert store.settle_tick(t1, per_gpu, pue, t1) == "waiting"
    store.add_measurements([MeasurementRecord(time=t1, site="west", green_mw=0.2, ci_g_per_kwh=500.0,
                                              source="meter", recorded_at=t1)])
    assert store.settle_tick(t1, per_gpu, pue, t1 + timedelta(hours=1)) == "measured"
    ledger = store.ledger()
    assert list(ledger["basis"]) == ["measured"] and ledger["facility_energy_mwh"].iloc[0] == pytest.approx(0.8)
    assert ledger["emissions_t"].iloc[0] == pytest.approx(0.6 * 500.0 / 1000.0, abs=1e-12)
    with pytest.raises(Exception):  # noqa: B017  a second booking of (hour, job) is refused, and nothing of it kept
        store._run(lambda session: session.add(LedgerRecord(**ledger.iloc[0].drop("id").to_dict())))
    assert len(store.ledger()) == 1


def test_migration_0003_marks_ticks_booked_before_it_settled(store_url) -> None:
    """A store at 0002 booked each tick's ledger when finishing it: upgrading keeps those ticks
    settled (never booked again) and leaves a planned tick unsettled."""
    from alembic import command
    from alembic.config import Config

    from control.store.engine import MIGRATIONS, make_engine

    engine = make_engine(store_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0002")
    with engine.begin() as connection:
        for hour, status, finished in ((0, "done", T0 + timedelta(minutes=5)), (1, "planned", None)):
            connection.execute(sa.text("insert into ticks (tick_time, status, started_at, finished_at, solver_status, "
                                       "flags, jobs_active, jobs_running) values (:t, :s, :t, :f, '', '', 0, 0)"),
                               {"t": T0 + timedelta(hours=hour), "s": status, "f": finished})
    engine.dispose()
    with Store.open(store_url) as store:  # a store from before identities holds data: adopted
        assert store.identity() is not None
        ticks = store.ticks().set_index("status")
        assert utc(ticks.at["done", "settled_at"]) == T0 + timedelta(minutes=5)
        assert pd.isna(ticks.at["planned", "settled_at"])
        assert store.unsettled_ticks(T0 + timedelta(hours=5)) == []
