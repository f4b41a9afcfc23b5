"""``codispatch init``: create the store a config names (once, before the first daemon or tick).

Every other command refuses a store that does not exist, so a deleted or moved store is never
silently replaced by an empty one (see docs/operations.md, "Store identity").
"""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("init", help="create the store named by the config (first start only)")
    parser.add_argument("--config", type=Path, required=True)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from control.runtime.wiring import open_store
    from control.settings import load_settings

    settings = load_settings(args.config)
    with open_store(settings, create=True) as store:
        identity = store.identity()
        assert identity is not None
        print(f"store {store.where}: identity {identity.store_id}, created {identity.created_at:%Y-%m-%d %H:%M:%S} UTC "
              f"by {identity.created_by}")
    return 0
