"""Logging setup: text or JSON lines on stderr, with every configured secret masked."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime

from aiohttp.http_exceptions import HttpProcessingError

from exporter.upstream.redact import Redactor


class SecretMask(logging.Filter):
    """Redacts a record's final text, the traceback included, as the upstream client redacts
    what it reads (the same Redactor: every form of the key, the secret and signatures). Text
    from the upstream is clean before it reaches a log call; this covers every other source."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._redactor = Redactor(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg = self._redactor.text(message)
        record.args = None
        if record.exc_text:
            record.exc_text = self._redactor.text(record.exc_text)
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


class MalformedRequestToDebug(logging.Filter):
    """aiohttp logs a malformed client request at ERROR with a traceback and an excerpt of the
    bad line (which may be part of an Authorization header). It is the client's fault, not the
    exporter's: keep one debug line naming the error, without the excerpt."""

    def __init__(self, debug: bool) -> None:
        super().__init__()
        self._debug = debug

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if not isinstance(error, HttpProcessingError):
            return True
        if not self._debug:
            return False
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        record.msg, record.args = "malformed request refused: %s", (type(error).__name__,)
        record.exc_info = record.exc_text = None
        return True


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging(level: str, fmt: str, secrets: Iterable[str] = ()) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    handler.addFilter(SecretMask(secrets))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    server_log = logging.getLogger("aiohttp.server")
    for old_filter in list(server_log.filters):
        server_log.removeFilter(old_filter)
    server_log.addFilter(MalformedRequestToDebug(level == "debug"))
    # aiohttp.access logs every request: per scrape, which is too chatty above debug.
    logging.getLogger("aiohttp.access").setLevel(
        logging.DEBUG if level == "debug" else logging.WARNING
    )
