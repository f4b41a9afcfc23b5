"""The ``codispatch`` command line.

Each sub-command lives in its own module under :mod:`control.commands` and exposes
``register(subparsers)``; this module discovers them, so adding a command touches no shared file.
Logging is configured here and only here.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys
from collections.abc import Sequence

from control import commands
from control.errors import CodispatchError, CommandError

__all__ = ["CommandError", "build_parser", "main"]  # CommandError re-exported for older imports

logger = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="codispatch",
        description="Green compute-power co-dispatch of deferrable AI-training jobs.",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(subparsers)
    return parser


def configure_logging(verbosity: int) -> None:
    level = logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # pandapower logs a numba hint on every power flow; it is noise for our users.
    logging.getLogger("pandapower").setLevel(max(level, logging.ERROR))


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.verbose)
    try:
        return int(args.func(args) or 0)
    except (ValueError, FileNotFoundError, KeyError, CodispatchError) as exc:
        # Input errors carry a message that names the value and the fix: show it, no traceback.
        print(f"codispatch {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    # `python -m control.cli`: run the imported module's main, so that exception classes other
    # modules import from control.cli are the ones caught here
    from control.cli import main as _main

    sys.exit(_main())
