"""Read what ``codispatch report --db`` needs from a store, without creating or migrating anything.

The rows are turned into the simulation's frames by the pure
:func:`control.accounting.from_store.frames_from_store`.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from sqlalchemy import inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from control.accounting.from_store import StoreRows
from control.accounting.period import ReportInputError, empty_period, period_bounds, within
from control.store.engine import make_engine, with_retries
from control.store.repository import Store

TABLES = ("jobs", "ticks", "forecasts", "sites", "measurements", "carbon_ledger")
"""Tables the report reads (``carbon_ledger`` and ``measurements`` came with migration 0002)."""


def read_store(url: str, start: str | None, end: str | None, retries: int = 2) -> StoreRows:
    """Read the store's rows for the period, without creating or migrating anything."""
    engine, shown = _engine(url)
    store = Store(engine, retries)
    try:
        try:
            tables = set(with_retries(lambda: inspect(engine).get_table_names(), retries))
        except DBAPIError as error:
            raise ReportInputError(f"cannot reach the database {shown}: {_reason(error)}; check the URL and that "
                                   "the server is up") from error
        missing = [t for t in TABLES if t not in tables]
        if missing:
            raise ReportInputError(
                f"the database {shown} has no table(s) {missing}: it is not a codispatch store, or one from before "
                "the carbon ledger; run `codispatch tick --config CONFIG` first (it creates and migrates the store)")
        ledger = store.ledger()
        if ledger.empty:
            ticks = len(store.ticks())
            raise ReportInputError(f"the store {shown} holds no carbon-ledger rows yet ({ticks} tick(s)); run "
                                   "`codispatch tick` (or the daemon) for hours in which jobs run, then report")
        first, last = period_bounds(start, end, ledger["time"])
        if within(ledger, first, last).empty:
            raise empty_period(first, last, f"the store {shown} (carbon_ledger)", ledger["time"])
        ticks = store.ticks()
        ticks["tick_time"] = pd.to_datetime(ticks["tick_time"], utc=True)
        forecasts = store.forecasts()
        for column in ("issue_time", "valid_time"):
            forecasts[column] = pd.to_datetime(forecasts[column], utc=True)
        return StoreRows(
            ledger=ledger,
            measurements=store.measurements(first.to_pydatetime(), last.to_pydatetime()),
            forecasts=within(forecasts, first, last, "valid_time"),
            ticks=within(ticks, first, last, "tick_time"),
            jobs=_jobs(store.jobs_frame()),
            unsettled_plans=_unsettled_plans(store, ticks),
            sites=store.sites(), first=first, last=last, source=shown,
        )
    finally:
        store.close()


def _jobs(frame: pd.DataFrame) -> pd.DataFrame:
    wanted = ["job_id", "work_gpu_h", "remaining_gpu_h", "checkpoint_gb", "state", "deadline_status", "note"]
    return frame[[c for c in wanted if c in frame.columns]]


def _unsettled_plans(store: Store, ticks: pd.DataFrame) -> pd.DataFrame:
    unsettled = ticks.loc[(ticks["status"] == "done") & ticks["settled_at"].isna(), "tick_time"]
    return store.plans([t.to_pydatetime() for t in unsettled])


def _engine(url: str):  # noqa: ANN202
    try:
        parsed = make_url(url)
    except ArgumentError as error:
        raise ReportInputError(f"--db {url!r} is not a database URL; write e.g. sqlite:///var/codispatch.sqlite or "
                               "postgresql+psycopg://user@host/codispatch") from error
    shown = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() == "sqlite":
        path = parsed.database or ""
        if path in ("", ":memory:") or not Path(path).is_file():
            raise ReportInputError(f"no store at {shown} (file {path or '(none)'} does not exist); run "
                                   "`codispatch tick --config CONFIG` first, it creates the store the config names")
    try:
        return make_engine(url), shown
    except (ArgumentError, ImportError) as error:
        raise ReportInputError(f"cannot open {shown}: {error}") from error


def _reason(error: DBAPIError) -> str:
    return str(error.orig).strip().splitlines()[0] if error.orig is not None else str(error)
