"""The application factory: settings, modules, middleware, observability, lifespan."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Iterable
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute
from opentelemetry.sdk.trace.export import SpanExporter
from pydantic_settings import BaseSettings

from .core.actors import InlineDispatcher
from .core.db import Database, describe_database_error
from .core.errors import install_error_handlers
from .core.events.bus import EventBus
from .core.health import ReadinessCheck
from .core.health import router as health_router
from .core.logging import configure_logging
from .core.metrics import metrics_endpoint
from .core.middleware import RequestContextMiddleware, RequestGuardMiddleware, SafeRetryMiddleware
from .core.module_settings import load_module_settings
from .core.openapi import document_errors
from .core.plugins import ModuleManifest, discover_modules
from .core.project import PROJECT_NAME
from .core.security import configure_password_work
from .core.settings import ConfigurationError, Settings, get_settings
from .core.tracing import setup_tracing, shutdown_tracing

API_PREFIX = "/api/v1"


def _operation_id(route: APIRoute) -> str:
    # Readable names for the generated TypeScript client: "agent-configs-create".
    tag = route.tags[0] if route.tags else "default"
    return f"{tag}-{route.name}"


async def _database_ready(request: Request) -> str | None:
    state = request.app.state
    try:
        await state.database.ping()
    except Exception as exc:
        return describe_database_error(exc, state.settings.database_url)
    return None


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Start shared services once; stop them in reverse order."""
    settings: Settings = app.state.settings
    if not settings.database_url:
        raise ConfigurationError(
            [
                "DATABASE_URL is not set: run the `dev` command for an embedded PostgreSQL, "
                "or set DATABASE_URL=postgresql+asyncpg://user:pass@host:5432/db"
            ]
        )
    database = Database(settings.database_url, settings)
    app.state.database = database
    modules: list[ModuleManifest] = app.state.modules
    app.state.event_bus = EventBus(app, database, [s for m in modules for s in m.subscriptions])
    try:
        async with AsyncExitStack() as stack:
            # Started first and stopped last, so modules may publish while starting or stopping.
            await stack.enter_async_context(app.state.event_bus.running())
            # Module actors run here unless a module (the worker's tasks) sends them to workers.
            inline = app.state.actor_dispatcher = InlineDispatcher(app)
            for module in modules:
                if module.lifespan is not None:
                    await stack.enter_async_context(module.lifespan(app))
            # Stopped first: jobs running here finish while the modules they use still run.
            await stack.enter_async_context(inline.running())
            # Everything built so far lives as long as the process: move it out of the garbage
            # collector's sight, so a full collection scans only what requests create (it was
            # a 100-250 ms pause of the event loop, the tail of HiAgent calls under load).
            gc.collect()
            gc.freeze()
            yield
    finally:
        await database.dispose()
        shutdown_tracing(app.state.tracer_provider)


def create_app(
    settings: Settings | None = None,
    *,
    span_exporter: SpanExporter | None = None,
    module_settings: Iterable[BaseSettings] = (),
) -> FastAPI:
    """Build the API. Raises `ConfigurationError` listing every configuration problem.

    `module_settings` replaces modules' settings read from the environment (tests, embedding).
    """
    settings = settings or get_settings()
    settings.validate_for_start()
    configure_logging(settings.log_level, json_lines=settings.json_logs)
    configure_password_work(settings.password_hash_threads, settings.password_hash_queue)
    modules: list[ModuleManifest] = discover_modules()
    loaded_settings, problems = load_module_settings(modules, module_settings)
    if problems:
        raise ConfigurationError(problems)
    app = FastAPI(
        title=PROJECT_NAME,
        version="0.1.0",
        lifespan=lifespan,
        generate_unique_id_function=_operation_id,
        # Off in staging and prod unless API_DOCS=true (docs/security.md, Exposure).
        docs_url="/docs" if settings.api_docs_enabled else None,
        openapi_url="/openapi.json" if settings.api_docs_enabled else None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.modules = modules
    app.state.module_settings = loaded_settings
    app.state.readiness_checks = [ReadinessCheck("database", _database_ready)]
    install_error_handlers(app)
    app.include_router(health_router)
    app.add_route("/metrics", metrics_endpoint, include_in_schema=False)
    for module in modules:
        if module.router is not None:
            app.include_router(module.router, prefix=API_PREFIX)
    for module in modules:
        if module.setup is not None:
            module.setup(app)
    document_errors(app, modules, API_PREFIX)
    # Innermost first: retry sits next to the routes, the guard inside the request context, so
    # refused requests are logged, counted and carry their X-Request-ID.
    app.add_middleware(SafeRetryMiddleware)
    app.add_middleware(
        RequestGuardMiddleware,
        max_body_bytes=settings.http_max_body_bytes,
        body_limits={prefix: size for m in modules for prefix, size in m.body_limits.items()},
        api_prefix=API_PREFIX,
    )
    if settings.cors_origins:
        # Bearer tokens, not cookies: no credentials mode (docs/security.md, Exposure).
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
            expose_headers=["X-Request-ID", "Retry-After"],
        )
    app.add_middleware(RequestContextMiddleware)
    # Added last, so outermost: access-log lines carry the request's trace id.
    app.state.tracer_provider = setup_tracing(app, settings, span_exporter)
    return app
