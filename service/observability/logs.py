"""JSON log lines: one object per record, with the request id when there is one."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from service.request_id import current_request_id

__all__ = ["JsonFormatter", "configure_logging"]

# attributes every LogRecord has; anything else came through ``extra=``
_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """Formats a record as one line of JSON.

    Keys: ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``, ``request_id``
    (when the record was made while serving a request), ``traceback`` (when the record
    carries an exception) and every ``extra=`` field.
    """

    def format(self, record: logging.LogRecord) -> str:
        """The record as a JSON line (without the newline)."""
        body: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or current_request_id()
        if request_id is not None:
            body["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in body:
                body[key] = value
        if record.exc_info:
            body["traceback"] = self.formatException(record.exc_info)
        return json.dumps(body, default=str)


def configure_logging(level: int = logging.INFO, stream: TextIO | None = None) -> None:
    """Send every log record (ours and uvicorn's) as JSON lines to ``stream`` (stdout,
    where log collectors expect them; the command line's own messages go to stderr).

    Replaces the root logger's handlers; uvicorn's loggers propagate to it (start
    uvicorn with ``log_config=None`` so it does not install its own handlers).
    """
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
