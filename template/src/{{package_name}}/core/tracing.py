"""OpenTelemetry tracing: spans for every request when an exporter consumes them.

With no exporter (no OTEL_EXPORTER_OTLP_ENDPOINT), spans would be built and thrown away on
every request: then nothing is instrumented and `tracer()` hands out OpenTelemetry's no-op
tracer, which costs nothing (docs/performance.md). Set the endpoint and restart to trace.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import FastAPI
from opentelemetry import trace

from .settings import Settings

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

_provider: TracerProvider | None = None


def setup_tracing(
    app: FastAPI, settings: Settings, exporter: SpanExporter | None = None
) -> TracerProvider | None:
    """Create the tracer provider, attach exporters and instrument the app.

    `exporter` is for tests (an in-memory exporter, exported synchronously). Returns None,
    and instruments nothing, when no exporter is configured.
    """
    global _provider
    if exporter is None and not settings.otel_exporter_otlp_endpoint:
        _provider = None
        return None
    # Imported only when tracing is on: the SDK and instrumentation weigh on cold start.
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: settings.service_name}))
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    if settings.otel_exporter_otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        endpoint = settings.otel_exporter_otlp_endpoint.rstrip("/") + "/v1/traces"
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=provider,
        excluded_urls="health/live,health/ready,metrics",
        # One span per request, not one more per ASGI message sent or received.
        exclude_spans=["receive", "send"],
    )
    _provider = provider
    return provider


def tracer(name: str = "app") -> trace.Tracer:
    """A tracer from the app's provider (OpenTelemetry's no-op one when tracing is off)."""
    if _provider is not None:
        return _provider.get_tracer(name)
    return trace.get_tracer(name)


def shutdown_tracing(provider: TracerProvider | None) -> None:
    """Flush and stop exporters."""
    if provider is not None:
        provider.shutdown()
