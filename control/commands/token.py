"""``codispatch token create|revoke|list``: API bearer tokens (only their SHA-256 is stored)."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("token", help="create, revoke or list API tokens")
    actions = parser.add_subparsers(dest="token_action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="make a token (printed once; store it in a secret file)")
    create.add_argument("--config", type=Path, required=True)
    create.add_argument("--name", required=True, help="who or what uses it, e.g. grafana or alice")
    create.add_argument("--role", required=True, choices=["viewer", "operator"])
    create.add_argument("--output", type=Path, default=None,
                        help="write the token to this file (mode 600) instead of printing it")
    revoke = actions.add_parser("revoke", help="revoke a token by name")
    revoke.add_argument("--config", type=Path, required=True)
    revoke.add_argument("--name", required=True)
    listing = actions.add_parser("list", help="list tokens (names, roles, dates; never the tokens)")
    listing.add_argument("--config", type=Path, required=True)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import os

    from control.api.auth import create_token, revoke_token
    from control.operations.commands import Actor
    from control.runtime.wiring import open_store
    from control.settings import load_settings
    from control.store.repository import now_utc
    from control.store.tables import AuditRecord

    store = open_store(load_settings(args.config))
    who = Actor.cli()
    try:
        if args.token_action == "create":
            token = create_token(store, args.name, args.role)
            store.audit(AuditRecord(at=now_utc(), actor=who.name, role=str(who.role), action="token_create",
                                    target=args.name, detail=f'{{"role": "{args.role}"}}', result="accepted"))
            if args.output is not None:
                fd = os.open(args.output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(token + "\n")
                print(f"token {args.name} ({args.role}) written to {args.output}")
            else:
                print(token)
        elif args.token_action == "revoke":
            revoke_token(store, args.name)
            store.audit(AuditRecord(at=now_utc(), actor=who.name, role=str(who.role), action="token_revoke",
                                    target=args.name, result="accepted"))
            print(f"token {args.name} revoked")
        else:
            for t in store.tokens():
                state = f"revoked {t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else "active"
                print(f"{t.name:24} {t.role:9} created {t.created_at:%Y-%m-%d %H:%M}  {state}")
    finally:
        store.close()
    return 0
