"""OpenTelemetry tracing: OTLP export when configured, spans for every request."""

from __future__ import annotations

from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter

from .settings import Settings

_provider: TracerProvider | None = None


def setup_tracing(
    app: FastAPI, settings: Settings, exporter: SpanExporter | None = None
) -> TracerProvider:
    """Create the tracer provider, attach exporters and instrument the app.

    `exporter` is for tests (an in-memory exporter, exported synchronously).
    """
    global _provider
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: settings.service_name}))
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    if settings.otel_exporter_otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        endpoint = settings.otel_exporter_otlp_endpoint.rstrip("/") + "/v1/traces"
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    FastAPIInstrumentor.instrument_app(
        app, tracer_provider=provider, excluded_urls="health/live,health/ready,metrics"
    )
    _provider = provider
    return provider


def tracer(name: str = "app") -> trace.Tracer:
    """A tracer from the app's provider (the global no-op one before set-up)."""
    if _provider is not None:
        return _provider.get_tracer(name)
    return trace.get_tracer(name)


def shutdown_tracing(provider: TracerProvider) -> None:
    """Flush and stop exporters."""
    provider.shutdown()
