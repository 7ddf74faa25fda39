"""create_app(settings): packs loaded in lifespan, exception handlers that answer OperationOutcome, request logs."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from plugin import engine, logs
from plugin.api import auth, openapi
from plugin.api.body_limit import BodyLimit  # the one place a body over the limit is answered (413)
from plugin.api.request_body import Unacceptable
from plugin.api.request_log import RequestLog
from plugin.api.responses import outcome_response, problem
from plugin.api.routes import cds, evaluate, knowledge, versions
from plugin.errors import InputInvalid, InputUnreadable, Issue, IssueType, Severity
from plugin.settings import Settings, get_settings
from plugin.store import db
from plugin.version import __version__

log = logs.get("plugin.api")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    logs.configure(settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.catalog = engine.load_knowledge(settings.mappings_dir, settings.schemas_dir)
        await run_in_threadpool(db.migrate, app.state.db)
        log.info("knowledge loaded", pack_version=app.state.catalog.version, packs=len(app.state.catalog.packs))
        yield
        log.info("shutting down")
        app.state.db.dispose()

    app = FastAPI(
        title="rad-ddx", version=__version__, lifespan=lifespan,
        description="Structured radiology findings in; a coded, explained differential diagnosis out, as FHIR R4 "
                    "(application/fhir+json; fhirVersion=4.0). Decision support, not a diagnosis.",
    )
    # No trailing-slash redirects: their Location is built from the Host header the client sent (an open redirect
    # with authentication off); `/health/` is simply not a path here (404).
    app.router.redirect_slashes = False
    app.state.settings = settings
    app.state.catalog = None
    app.state.db = db.make_engine(settings.database_url)  # no connection yet; the schema is migrated in lifespan
    app.include_router(evaluate.router)
    app.include_router(knowledge.router)
    app.include_router(cds.router)
    app.include_router(versions.router)
    openapi.install(app)
    auth.install(app, settings, app.state.db)  # innermost middleware: refusals are logged by RequestLog with their request id
    _install_handlers(app)

    # Outermost last: RequestLog -> CORS -> BodyLimit -> Authenticate (added by auth.install) -> routes.
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST"],
                           allow_headers=["authorization", "content-type", "x-request-id", "x-api-key"])
    app.add_middleware(RequestLog)
    return app


def _install_handlers(app: FastAPI) -> None:
    @app.exception_handler(ClientDisconnect)
    async def client_gone(_: Request, __: ClientDisconnect) -> Any:
        # The client left before its body was complete: not a server fault; nobody reads this answer.
        return problem(400, IssueType.INCOMPLETE, "The client closed the connection before the body was complete.")

    @app.exception_handler(InputUnreadable)
    async def unreadable(_: Request, exc: InputUnreadable) -> Any:
        return outcome_response(400, exc.issues)

    @app.exception_handler(InputInvalid)
    async def invalid(request: Request, exc: InputInvalid) -> Any:
        request.state.log = {"issues": len(exc.issues)}
        return outcome_response(422, exc.issues)

    @app.exception_handler(Unacceptable)
    async def unacceptable(_: Request, exc: Unacceptable) -> Any:
        return problem(exc.status, exc.code, exc.message)

    @app.exception_handler(RequestValidationError)
    async def bad_parameters(_: Request, exc: RequestValidationError) -> Any:
        issues = [Issue(Severity.ERROR, IssueType.VALUE, "Invalid request parameter.", ".".join(str(p) for p in e["loc"][1:]) or None)
                  for e in exc.errors()]
        return outcome_response(400, issues)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> Any:
        code = {404: IssueType.NOT_FOUND, 405: IssueType.NOT_SUPPORTED}.get(exc.status_code, IssueType.INVALID)
        text = {404: "No such path.", 405: "Method not allowed on this path."}.get(exc.status_code, "Request refused.")
        return problem(exc.status_code, code, text, headers=dict(exc.headers or {}))

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> Any:
        incident = str(uuid.uuid4())
        log.error("unexpected error", incident_id=incident, exception_type=type(exc).__name__)
        return outcome_response(500, [Issue(Severity.FATAL, IssueType.EXCEPTION, f"Internal error; incident {incident}.")])
