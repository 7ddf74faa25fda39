"""Structured logs: one JSON object a line, for our code and third-party loggers alike.

What may be logged is decided here, not at call sites: events carry ids, counts, codes of outcomes and
timings, never the findings, a patient reference, validation messages or any free text of a request.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any

import structlog

# Keys our own events may carry. Anything else is dropped before rendering, so a careless call site
# cannot leak request content into the log.
ALLOWED_KEYS = frozenset({
    "event", "level", "timestamp", "logger", "request_id", "incident_id", "method", "route", "status",
    "duration_ms", "pack_version", "issues", "candidates", "in_scope", "packs", "host", "port", "workers",
    "exception_type", "bytes",
})


def _allow_list(_: Any, __: str, event: MutableMapping[str, Any]) -> Mapping[str, Any]:
    return {k: v for k, v in event.items() if k in ALLOWED_KEYS}


def _foreign_message_only(_: Any, __: str, event: MutableMapping[str, Any]) -> Mapping[str, Any]:
    """Third-party records keep their logger and level but lose formatted arguments (they may hold bound values)."""
    record = event.get("_record")
    if record is not None and not record.name.startswith("plugin"):
        event["event"] = str(record.msg) if isinstance(record.msg, str) and not record.args else f"{record.name} event"
    return event


def configure(level: str = "INFO") -> None:
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, _foreign_message_only],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, _allow_list, structlog.processors.JSONRenderer()],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True  # our middleware logs requests without their content
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def get(name: str = "plugin") -> Any:
    return structlog.get_logger(name)
