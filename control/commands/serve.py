"""``codispatch serve``: the operator's HTTP API, /metrics, /healthz and dashboard (see
docs/operations.md: tokens, roles, TLS behind a reverse proxy)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from control.errors import CommandError

logger = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("serve", help="serve the HTTP API, metrics and dashboard (loopback by default)")
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to bind (default loopback; put TLS in front with a reverse proxy)")
    parser.add_argument("--port", type=int, default=8080, help="TCP port (0 = any free port)")
    parser.add_argument("--overdue-h", type=float, default=2.0, help="/healthz fails when the last tick is older")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from control.api.app import create_app
    from control.operations.queries import Operations
    from control.runtime.wiring import open_store
    from control.settings import load_settings

    if not 0 <= args.port <= 65535:
        raise CommandError(f"--port {args.port}: use 0..65535")
    if args.host not in ("127.0.0.1", "::1", "localhost"):
        logger.warning("serving on %s: reachable beyond this host; use TLS (a reverse proxy) and tokens", args.host)
    settings = load_settings(args.config)
    ops = Operations(settings, open_store(settings))
    app = create_app(ops, overdue_h=args.overdue_h)
    config = uvicorn.Config(app, host=args.host, port=args.port, log_level="warning", access_log=False,
                            proxy_headers=False, server_header=False, limit_concurrency=64,
                            h11_max_incomplete_event_size=64 * 1024)
    server = uvicorn.Server(config)
    original = server.startup

    async def startup(sockets=None) -> None:
        await original(sockets)
        for sock in server.servers[0].sockets if server.servers else []:
            host, port = sock.getsockname()[:2]
            print(f"codispatch serve: listening on http://{host}:{port}", flush=True)

    server.startup = startup  # type: ignore[method-assign]
    server.run()
    ops.store.close()
    return 0
