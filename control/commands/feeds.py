"""``codispatch feeds``: record a period in the feed adapters' formats, and prove the daemon
decides as the simulation does on it (``feeds parity``)."""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("feeds", help="recorded feed periods: write one, or check daemon == simulate on one")
    sub = parser.add_subparsers(dest="feeds_command", required=True)
    record = sub.add_parser("record", help="write a recorded period (NWP JSON, Electricity Maps JSON, meter files)")
    record.add_argument("--config", type=Path, required=True, help="scenario TOML (its fleet, weather and carbon model)")
    record.add_argument("--days", type=int, default=7, help="days from [scenario] start (default 7)")
    record.add_argument("--out", type=Path, required=True, help="directory of the period")
    record.set_defaults(func=run_record)
    parity = sub.add_parser("parity", help="play a recorded period through the daemon (HTTP + drop folder) and "
                            "through simulate; compare decisions hour by hour and the ledger")
    parity.add_argument("--config", type=Path, required=True, help="scenario TOML the period was recorded for")
    parity.add_argument("--period", type=Path, required=True, help="directory written by 'feeds record'")
    parity.add_argument("--days", type=int, default=None, help="days to play (default: the whole period)")
    parity.add_argument("--jobs", type=Path, default=None, help="job CSV instead of the config's [jobs] file")
    parity.add_argument("--work", type=Path, default=None, help="working directory (default: a temporary one)")
    parity.add_argument("--tolerance", type=float, default=1e-9, help="ledger tolerance (default 1e-9)")
    parity.set_defaults(func=run_parity_command)


def run_record(args: argparse.Namespace) -> int:
    from control.feeds_record import record_period
    from control.settings import load_settings

    manifest = record_period(load_settings(args.config), args.out, args.days)
    print(f"wrote {args.out} ({args.days} days; manifest {manifest.name})")
    return 0


def run_parity_command(args: argparse.Namespace) -> int:
    from control.feeds_parity import run_parity

    with tempfile.TemporaryDirectory(prefix="codispatch-parity-") as scratch:
        work = args.work or Path(scratch)
        result = run_parity(args.config, args.period, work, args.days, jobs=args.jobs)
    summary = result.summary()
    print(json.dumps(summary, indent=2))
    ok = result.identical and result.ledger_max_abs_diff <= args.tolerance and result.progress_max_abs_diff <= 1e-9
    if not result.identical:
        print(result.decision_mismatches.head(20).to_string())
    print("parity: identical decisions and ledger" if ok else "parity: MISMATCH")
    return 0 if ok else 1
