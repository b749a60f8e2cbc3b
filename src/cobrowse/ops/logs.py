"""Log lines as text (for people) or JSON (one object per line, for log collectors), with context.

``log_format = "json"`` writes each record as one JSON object: ``time`` (UTC, ISO 8601), ``level``,
``logger``, ``message``, ``exc`` (the traceback, if any), and the context fields when known: ``node`` (this
node's id), ``session`` and ``conn``, and any other ``extra=`` fields of the call. Text lines carry the same
context as ``key=value`` after the message.

Context comes from three places, cheapest first: ``extra={"session": 12}`` on a call; :func:`bind` in the
task that serves a socket (a context variable: every later line of that task carries it); and
:func:`set_node` once per process. uvicorn's own loggers are made to propagate to the same handler, so its
lines (start-up, access log) are formatted alike.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

#: Log level names accepted by ``log_level`` (``trace`` is uvicorn's, below debug).
LEVELS = {"critical": 50, "error": 40, "warning": 30, "info": 20, "debug": 10, "trace": 5}
#: Context fields, in the order text lines show them.
CONTEXT_FIELDS = ("node", "session", "conn")

_context: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "cobrowse_log_context", default=None
)
_node: str | None = None
_STANDARD = set(vars(logging.LogRecord("x", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}
_UVICORN = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")


def bind(**fields: Any) -> None:
    """Add context fields to every later log line of the current task (and tasks it starts)."""
    current = _context.get()
    _context.set({**current, **fields} if current else fields)


def set_node(node: str | None) -> None:
    """This process's node id, on every line (one app per process in production; in tests the last wins)."""
    global _node
    _node = node


class ContextFilter(logging.Filter):
    """Puts the context fields on each record that does not already have them (an ``extra=`` wins)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _node is not None and not hasattr(record, "node"):
            record.node = _node
        bound = _context.get()
        if bound:
            for key, value in bound.items():
                if not hasattr(record, key):
                    setattr(record, key, value)
        return True


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {
        key: value for key, value in vars(record).items() if key not in _STANDARD and not key.startswith("_")
    }


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.name == "uvicorn.access" and isinstance(record.args, tuple) and len(record.args) == 5:
            client, method, path, _, status = record.args
            out.update(client=client, method=method, path=path, status=status)
        for key, value in _extras(record).items():
            out.setdefault(key, value)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            out["exc"] = record.exc_text
        if record.stack_info:
            out["stack"] = self.formatStack(record.stack_info)
        return json.dumps(out, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        line = super().formatMessage(record)
        extras = _extras(record)
        context = [f"{key}={extras.pop(key)}" for key in CONTEXT_FIELDS if key in extras]
        context += [f"{key}={value}" for key, value in extras.items()]
        return f"{line} [{' '.join(context)}]" if context else line


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a line is logged (like logging's last-resort handler), so a
    host that swaps stderr (a test harness, a daemoniser) never leaves the handler writing to a closed file."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def make_handler(log_format: str, stream: Any = None) -> logging.Handler:
    handler = logging.StreamHandler(stream) if stream is not None else StderrHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(ContextFilter())
    return handler


def configure_logging(log_level: str, log_format: str, stream: Any = None) -> None:
    """Send every log line (cobrowse's and uvicorn's) to one handler on stderr in ``log_format``.

    Call it after creating the uvicorn config, which installs uvicorn's own logging set-up."""
    logging.addLevelName(LEVELS["trace"], "TRACE")
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(make_handler(log_format, stream))
    root.setLevel(LEVELS[log_level.lower()])
    for name in _UVICORN:
        logger = logging.getLogger(name)
        for old in list(logger.handlers):
            logger.removeHandler(old)
        logger.propagate = True
