"""The FastAPI application: read endpoints, audited writes, /metrics, /healthz, the dashboard.

Every route but ``/healthz`` needs a token (``Authorization: Bearer <token>``; browsers may send
it as the password of HTTP Basic after their login prompt). Viewers read; operators also write.
Writes become requests in the store that the daemon's next tick acts on.
"""

# no `from __future__ import annotations`: FastAPI must see the route annotations (local aliases) as objects

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import sqlalchemy as sa
from fastapi import Depends, FastAPI, HTTPException, Query, Request, Security
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict, Field
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from control.api.auth import TokenChecker, token_from_header
from control.api.metrics import registry_for
from control.operations import commands, queries
from control.operations.commands import Actor, Forbidden, Role
from control.operations.queries import NotFound, Operations
from control.store import StoreError
from control.store.repository import now_utc, utc

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1_000_000
"""Largest request body accepted [bytes] (a 1,000-job submission fits)."""
STATIC = Path(str(files("control.api") / "static"))
JOB_ID = r"^[A-Za-z0-9_.:\-]{1,128}$"
SITE = r"^[A-Za-z0-9_.\-]{1,64}$"
TIME = Annotated[str, Field(min_length=1, max_length=40, description="ISO 8601 with UTC offset")]


class BodyLimit:
    """Refuse request bodies over ``MAX_BODY_BYTES`` (by Content-Length, and while streaming)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
            await JSONResponse({"detail": f"request body over {MAX_BODY_BYTES} bytes"}, status_code=413)(scope, receive, send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > MAX_BODY_BYTES:
                raise HTTPException(413, f"request body over {MAX_BODY_BYTES} bytes")
            return message

        await self.app(scope, limited, send)


class JobIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    job_id: str = Field(pattern=JOB_ID)
    release: TIME
    deadline: TIME
    gpus: int = Field(ge=1, le=1_000_000)
    min_gpus: int | None = Field(default=None, ge=1, le=1_000_000)
    work_gpu_h: float = Field(gt=0, le=1e9, allow_inf_nan=False)
    home_site: str = Field(pattern=SITE)
    allowed_sites: str = Field(default="", max_length=1024, pattern=r"^[A-Za-z0-9_.;\-]*$")
    priority: int = Field(default=0, ge=0, le=commands.MAX_PRIORITY)
    checkpoint_gb: float = Field(default=0.0, ge=0, le=1e7, allow_inf_nan=False)


class SubmitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    jobs: list[JobIn] = Field(min_length=1, max_length=commands.MAX_SUBMIT_JOBS)


class ModifyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    deadline: TIME | None = None
    priority: int | None = Field(default=None, ge=0, le=commands.MAX_PRIORITY)


class OutageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    site: str = Field(pattern=SITE)
    start: TIME
    end: TIME


JobIdPath = Annotated[str, PathParam(min_length=1, max_length=128)]
_bearer = HTTPBearer(auto_error=False, description="an API token from `codispatch token create`")


def create_app(ops: Operations, overdue_h: float = 2.0) -> FastAPI:
    """The app on ``ops``; ``/healthz`` fails when the newest tick is older than ``overdue_h``."""
    app = FastAPI(title="codispatch", version="1", description=__doc__,
                  docs_url=None, redoc_url=None, openapi_url=None)  # the schema is served below, behind auth
    checker = TokenChecker(ops.store)
    registry = registry_for(ops)

    def actor(request: Request,
              _credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)] = None) -> Actor:
        found = checker.check(token_from_header(request.headers.get("authorization")))
        if found is None:
            html = request.url.path.startswith(("/dashboard", "/static"))
            challenge = 'Basic realm="codispatch", charset="UTF-8"' if html else "Bearer"
            raise HTTPException(401, "a valid token is needed: Authorization: Bearer <token>",
                                headers={"WWW-Authenticate": challenge})
        return found

    def operator(who: Annotated[Actor, Depends(actor)]) -> Actor:
        if who.role != Role.OPERATOR:
            raise HTTPException(403, f"{who.name} is a {who.role}; writes need an operator token")
        return who

    Viewer = Annotated[Actor, Depends(actor)]
    Operator = Annotated[Actor, Depends(operator)]

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-store" if not request.url.path.startswith("/static") else "max-age=300"
        response.headers["Content-Security-Policy"] = ("default-src 'self'; script-src 'self'; style-src 'self' "
                                                       "'unsafe-inline'; img-src 'self' data: blob:; "
                                                       "frame-ancestors 'none'")
        return response

    @app.exception_handler(NotFound)
    async def not_found(_request: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(Forbidden)
    async def forbidden(_request: Request, exc: Forbidden) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=403)

    @app.exception_handler(StoreError)
    async def conflict(_request: Request, exc: StoreError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=409)

    @app.exception_handler(ValueError)
    async def invalid(_request: Request, exc: ValueError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)

    @app.get("/openapi.json", include_in_schema=False)
    def openapi(_who: Viewer) -> JSONResponse:
        return JSONResponse(app.openapi())

    # health and metrics ------------------------------------------------------------------------
    @app.get("/healthz", tags=["monitoring"], summary="200 when the store answers and the last tick is recent")
    def healthz() -> JSONResponse:
        database = ops.store.engine.url.database
        if ops.store.engine.url.get_backend_name() == "sqlite" and database and not Path(database).is_file():
            return JSONResponse({"ok": False, "reason": "store gone (the SQLite file is missing)"}, status_code=503)
        try:
            with ops.store.engine.connect() as connection:
                connection.execute(sa.text("select 1"))
            state = queries.status(ops)
        except sa.exc.SQLAlchemyError as exc:
            logger.warning("healthz: store unavailable (%s)", type(exc).__name__)
            return JSONResponse({"ok": False, "reason": "store unavailable"}, status_code=503)
        last = state["last_tick"]
        if last is None:
            return JSONResponse({"ok": False, "reason": "no tick yet"}, status_code=503)
        age = utc(now_utc()) - utc(pd.Timestamp(last["tick_time"]))
        if age > timedelta(hours=overdue_h):
            return JSONResponse({"ok": False, "reason": f"last tick {last['tick_time']} is overdue "
                                                        f"({age.total_seconds() / 3600:.1f} h > {overdue_h:g} h)"},
                                status_code=503)
        return JSONResponse({"ok": True, "last_tick": last["tick_time"], "flags": last["flags"]})

    @app.get("/metrics", tags=["monitoring"], response_class=PlainTextResponse)
    def metrics(_who: Viewer) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    # reads --------------------------------------------------------------------------------------
    @app.get("/api/status", tags=["read"])
    def get_status(_who: Viewer) -> JSONResponse:
        return JSONResponse(queries.status(ops))

    @app.get("/api/jobs", tags=["read"])
    def get_jobs(_who: Viewer, state: Annotated[str | None, Query(max_length=32)] = None,
                 site: Annotated[str | None, Query(max_length=64)] = None,
                 limit: Annotated[int, Query(ge=1, le=queries.MAX_PAGE)] = 50,
                 offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0) -> JSONResponse:
        # JSONResponse directly: the answer is plain JSON types, FastAPI's encoder pass is not needed
        return JSONResponse(queries.jobs(ops, state=state, site=site, limit=limit, offset=offset))

    @app.get("/api/jobs/{job_id}", tags=["read"])
    def get_job(_who: Viewer, job_id: JobIdPath) -> JSONResponse:
        return JSONResponse(queries.job(ops, job_id))

    @app.get("/api/plan", tags=["read"])
    def get_plan(_who: Viewer, site: Annotated[str | None, Query(max_length=64)] = None) -> JSONResponse:
        return JSONResponse(queries.plan(ops, site=site))

    @app.get("/api/forecasts", tags=["read"])
    def get_forecasts(_who: Viewer, hours: Annotated[int, Query(ge=1, le=24 * 31)] = 48,
                      site: Annotated[str | None, Query(max_length=64)] = None) -> dict[str, Any]:
        return queries.forecasts_vs_measurements(ops, hours=hours, site=site)

    @app.get("/api/ledger", tags=["read"])
    def get_ledger(_who: Viewer, day: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}-\d{2}$")] = None
                   ) -> dict[str, Any]:
        return queries.ledger_totals(ops, day=day)

    @app.get("/api/ticks", tags=["read"])
    def get_ticks(_who: Viewer, limit: Annotated[int, Query(ge=1, le=queries.MAX_PAGE)] = 48) -> list[dict[str, Any]]:
        return queries.ticks(ops, limit=limit)

    @app.get("/api/audit", tags=["read"])
    def get_audit(_who: Viewer, limit: Annotated[int, Query(ge=1, le=queries.MAX_PAGE)] = 100) -> list[dict[str, Any]]:
        return queries.audit_log(ops, limit=limit)

    # writes -------------------------------------------------------------------------------------
    @app.post("/api/jobs", tags=["write"], status_code=201)
    def post_jobs(who: Operator, body: SubmitIn) -> dict[str, Any]:
        return commands.submit(ops, who, [j.model_dump() for j in body.jobs])

    @app.post("/api/jobs/{job_id}/cancel", tags=["write"], status_code=202)
    def post_cancel(who: Operator, job_id: JobIdPath) -> dict[str, Any]:
        return commands.cancel(ops, who, job_id)

    @app.patch("/api/jobs/{job_id}", tags=["write"], status_code=202)
    def patch_job(who: Operator, job_id: JobIdPath, body: ModifyIn) -> dict[str, Any]:
        return commands.modify(ops, who, job_id, deadline=body.deadline, priority=body.priority)

    @app.post("/api/outages", tags=["write"], status_code=202)
    def post_outage(who: Operator, body: OutageIn) -> dict[str, Any]:
        return commands.declare_outage(ops, who, body.site, body.start, body.end)

    # dashboard ----------------------------------------------------------------------------------
    def page(name: str) -> FileResponse:
        return FileResponse(STATIC / name, media_type="text/html; charset=utf-8")

    @app.get("/dashboard", tags=["dashboard"], include_in_schema=False)
    def dashboard(_who: Viewer) -> FileResponse:
        return page("overview.html")

    @app.get("/dashboard/jobs", tags=["dashboard"], include_in_schema=False)
    def dashboard_jobs(_who: Viewer) -> FileResponse:
        return page("jobs.html")

    @app.get("/dashboard/jobs/{job_id}", tags=["dashboard"], include_in_schema=False)
    def dashboard_job(_who: Viewer, job_id: JobIdPath) -> FileResponse:
        return page("job.html")  # the page reads the id from its own URL; nothing is echoed

    @app.get("/dashboard/ticks", tags=["dashboard"], include_in_schema=False)
    def dashboard_ticks(_who: Viewer) -> FileResponse:
        return page("ticks.html")

    @app.get("/static/{name}", include_in_schema=False)
    def static(_who: Viewer, name: Annotated[str, PathParam(pattern=r"^[a-z0-9_.\-]{1,64}$")]) -> FileResponse:
        if name == "plotly.min.js":
            return FileResponse(plotly_js(), media_type="text/javascript")
        path = STATIC / name
        if name.endswith(".html") or not path.is_file():
            raise HTTPException(404, "no such file")
        kind = "text/javascript" if name.endswith(".js") else "text/css" if name.endswith(".css") else "text/plain"
        return FileResponse(path, media_type=kind)

    @app.get("/", include_in_schema=False)
    def root(_who: Viewer) -> Response:
        return Response(status_code=307, headers={"Location": "/dashboard"})

    wrapped = app
    wrapped.add_middleware(BodyLimit)
    return wrapped


def plotly_js() -> Path:
    """plotly.min.js as shipped inside the installed ``plotly`` package (no CDN, no build step)."""
    import plotly

    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not path.is_file():
        raise HTTPException(500, "plotly.min.js is missing from the installed plotly package; reinstall plotly")
    return path
