"""The ``codispatch`` command line.

Each sub-command lives in its own module under :mod:`control.commands` and exposes
``register(subparsers)``; this module discovers them, so adding a command touches no shared file.
Only the module of the command being run is imported: the others are listed from their source
(the ``add_parser("name", help=...)`` call in ``register``), so ``codispatch --help`` and a
light command do not pay for numpy, pandas, pvlib or pandapower. Logging is configured here and
only here.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import logging
import pkgutil
import sys
from collections.abc import Sequence
from pathlib import Path

from control import commands
from control.commands.flags import parse_time_flag
from control.errors import CodispatchError, CommandError
from forecasts.errors import ForecastInputError
from grid_models.errors import GridInputError

__all__ = ["CommandError", "build_parser", "main", "parse_time_flag"]  # CommandError re-exported for older imports

logger = logging.getLogger(__name__)

USER_ERRORS: tuple[type[BaseException], ...] = (CodispatchError, ForecastInputError, GridInputError, FileNotFoundError)
"""Errors printed as ``codispatch CMD: error: ...`` (exit 2): the project's own input and command
errors, and a missing file. Anything else is a bug and keeps its traceback."""


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser; with ``argv``, only the module of the command it names is imported."""
    parser = argparse.ArgumentParser(
        prog="codispatch",
        description="Green compute-power co-dispatch of deferrable AI-training jobs.",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    index, unlisted = _command_index()
    wanted = None if argv is None else next((a for a in argv if not a.startswith("-")), None)
    if argv is None:
        load = sorted({module for module, _ in index.values()} | set(unlisted))
    else:
        load = sorted(set(unlisted) | ({index[wanted][0]} if wanted in index else set()))
    for name in load:
        register = getattr(importlib.import_module(f"{commands.__name__}.{name}"), "register", None)
        if register is not None:
            register(subparsers)
    for command, (_module, help_text) in sorted(index.items()):
        if command not in subparsers.choices:
            subparsers.add_parser(command, help=help_text, add_help=False)  # listed, loaded when run
    return parser


def _command_index() -> tuple[dict[str, tuple[str, str]], list[str]]:
    """``{command: (module, help)}`` read from each command module's ``register`` source, and the
    modules whose commands cannot be read that way (they are imported)."""
    index: dict[str, tuple[str, str]] = {}
    unlisted: list[str] = []
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        path = Path(commands.__path__[0]) / f"{info.name}.py"
        found = _registered(path) if path.is_file() else None
        if found is None:
            unlisted.append(info.name)
            continue
        for command, help_text in found:
            index[command] = (info.name, help_text)
    return index, unlisted


def _registered(path: Path) -> list[tuple[str, str]] | None:
    """``(name, help)`` of each ``<subparsers>.add_parser("name", help="...")`` in ``register``;
    None when ``register`` has none with literal arguments."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return None
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "register" and node.args.args:
            receiver = node.args.args[0].arg
            found = []
            for call in ast.walk(node):
                if (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                        and call.func.attr == "add_parser" and isinstance(call.func.value, ast.Name)
                        and call.func.value.id == receiver and call.args
                        and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str)):
                    help_node = next((k.value for k in call.keywords if k.arg == "help"), None)
                    help_text = help_node.value if isinstance(help_node, ast.Constant) else ""
                    found.append((call.args[0].value, str(help_text)))
            return found or None
    return None


def configure_logging(verbosity: int) -> None:
    level = logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # pandapower logs a numba hint on every power flow; it is noise for our users.
    logging.getLogger("pandapower").setLevel(max(level, logging.ERROR))


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    configure_logging(args.verbose)
    try:
        return int(args.func(args) or 0)
    except USER_ERRORS as exc:
        # Input errors carry a message that names the value and the fix: show it, no traceback.
        print(f"codispatch {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except RuntimeError as exc:
        from control.store.errors import StoreFailure  # imported already when one was raised

        if not isinstance(exc, StoreFailure):
            raise
        # the store is gone, replaced or unusable: say which and what to do, exit non-zero
        logger.error("%s", exc)
        print(f"codispatch {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    # `python -m control.cli`: run the imported module's main, so that exception classes other
    # modules import from control.cli are the ones caught here
    from control.cli import main as _main

    sys.exit(_main())
