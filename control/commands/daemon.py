"""``codispatch daemon``: run the controller as a service (see docs/operations.md)."""

from __future__ import annotations

import argparse
import logging
import signal
from pathlib import Path

from control.errors import CommandError
from control.runtime import daemon
from control.runtime.daemon import LeaseLost, next_tick_time, start_daemon

logger = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("daemon", help="run hourly control ticks, daily report and housekeeping")
    parser.add_argument("--config", type=Path, required=True)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # a service logs its ticks (status, MPC iterations and warm or cold start, flags) by default
    for name in ("control.runtime.daemon", "control.runtime.tick"):
        logging.getLogger(name).setLevel(min(logging.getLogger(name).getEffectiveLevel(), logging.INFO))
    try:
        scheduler, release_lease = start_daemon(args.config)
    except LeaseLost as exc:
        raise CommandError(str(exc)) from None

    def stop(signum, _frame) -> None:  # noqa: ANN001
        logger.warning("signal %d: stopping after the running job", signum)
        scheduler.shutdown(wait=True)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    due = any(j.id == "startup_tick" for j in scheduler.get_jobs())
    print(f"codispatch daemon: scheduler started (UTC); jobs: {', '.join(j.id for j in scheduler.get_jobs())}; "
          f"it plans the jobs submitted to its store (no [jobs] file needed); "
          f"{'the due tick runs now, then ' if due else ''}next tick at {next_tick_time():%Y-%m-%d %H:%M:%S} UTC",
          flush=True)
    try:
        scheduler.start()
    finally:
        if not daemon.fatal:
            release_lease()
    if daemon.fatal:
        raise daemon.fatal[0]
    return 0
