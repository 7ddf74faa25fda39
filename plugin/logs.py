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


# Loggers whose string arguments are the server's own settings, never request content: uvicorn's (host, scheme,
# signal names); its access log, which would carry paths, is switched off in configure().
OWN_ARGUMENTS = frozenset({"uvicorn", "uvicorn.error"})


def _foreign_message_only(_: Any, __: str, event: MutableMapping[str, Any]) -> Mapping[str, Any]:
    """Third-party records keep their message, numbers (process ids, ports, counts) and, for OWN_ARGUMENTS, their
    strings; other arguments (they may hold bound request values) are shown as '(redacted)'."""
    record = event.get("_record")
    # structlog clears record.args before this chain runs; pass_foreign_args hands them over here instead
    args = event.pop("positional_args", None) or ()
    if record is None or record.name.startswith("plugin"):
        return event
    if not isinstance(record.msg, str):
        event["event"] = f"{record.name} event"
    elif not args:
        event["event"] = record.msg
    else:
        args = args if isinstance(args, tuple) else (args,)
        kept = tuple(a if isinstance(a, int | float) or (record.name in OWN_ARGUMENTS and isinstance(a, str)) else "(redacted)"
                     for a in args)
        try:
            event["event"] = record.msg % kept
        except (TypeError, ValueError):  # a format that wanted what was redacted (%d of a string): the bare message
            event["event"] = record.msg
    return event


class _Line:
    """One rendered event a line on the process's current stderr (looked up at each line: servers and tests swap it),
    under its logger's name (logs.get(name)) for the event's `logger` key."""

    def __init__(self, name: str) -> None:
        self.name = name

    def msg(self, message: str) -> None:
        stream = sys.stderr
        stream.write(message + "\n")
        stream.flush()

    debug = info = warning = error = critical = exception = log = msg


def _named(*args: str) -> _Line:
    return _Line(args[0] if args else "plugin")


def _add_logger_name(logger: Any, _: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    event["logger"] = logger.name
    return event


_LEVEL = {"value": logging.INFO}  # the configured level; read at each event, so configure() applies to cached loggers


def _at_level(_: Any, method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    if logging.getLevelName(method.upper()) < _LEVEL["value"]:
        raise structlog.DropEvent
    return event


def configure(level: str = "INFO") -> None:
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, _foreign_message_only], pass_foreign_args=True,
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
    _LEVEL["value"] = logging.getLevelName(level)
    # Our own events skip the standard library (two LogRecords and a formatter per line: most of a request's log
    # cost): structlog renders them itself, the same keys through the same allow-list, one JSON object a line on stderr.
    structlog.configure(
        processors=[_at_level, structlog.contextvars.merge_contextvars, structlog.processors.add_log_level, _add_logger_name,
                    structlog.processors.TimeStamper(fmt="iso", utc=True), _allow_list,
                    structlog.processors.JSONRenderer()],
        logger_factory=_named,
        wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG),  # _at_level filters: see _LEVEL
        cache_logger_on_first_use=True,
    )


def get(name: str = "plugin") -> Any:
    return structlog.get_logger(name)
