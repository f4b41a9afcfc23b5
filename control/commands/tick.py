"""``codispatch tick``: one control step now (or at ``--at``), from cron or by hand."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from control.commands.flags import parse_time_flag
from control.errors import CommandError
from control.runtime.tick import run_tick
from control.runtime.wiring import holder_is_gone, lease_holder, make_adapter, open_store
from control.settings import load_settings
from control.store.repository import now_utc


class LeaseHeldError(CommandError):
    """Another daemon or tick holds the store's lease."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("tick", help="run one control step (plan, store, send) and exit")
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--at", default=None, help="UTC time of the step, ISO 8601 with offset (default: now)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    at = parse_time_flag(args.at) if args.at else pd.Timestamp(now_utc())
    store = open_store(settings)
    holder = lease_holder("tick")
    acquired, current, until = store.acquire_lease(holder, settings.runtime.lease_s, now_utc(), is_stale=holder_is_gone)
    if not acquired:
        raise LeaseHeldError(f"{current} holds the store's lease until {until:%Y-%m-%d %H:%M:%S} UTC; "
                             "only one controller may act on a database - stop it or wait")
    try:
        result = run_tick(settings, store, make_adapter(settings), at)
    finally:
        store.release_lease(holder)
    print(f"tick {result.tick_time:%Y-%m-%d %H:%M} UTC: {result.status}, {result.jobs_running} jobs run, "
          f"{result.intents_sent} intents sent" + (f", flags: {', '.join(result.flags)}" if result.flags else ""))
    return 0
