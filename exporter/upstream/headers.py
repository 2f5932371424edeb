"""The response headers the exporter acts on, read defensively: a value that is not what Binance
sends is ignored (None), never an exception, and never a number too large for what uses it."""

from __future__ import annotations

import email.utils
import logging
import re
import time
from datetime import UTC, datetime

log = logging.getLogger(__name__)

USED_WEIGHT_HEADER = "X-SAPI-USED-IP-WEIGHT-1M"
PAPI_USED_WEIGHT_HEADER = "X-MBX-USED-WEIGHT-1M"  # papi reports its IP weight as /api does
RETRY_AFTER_HEADER = "Retry-After"
DATE_HEADER = "Date"
# Binance's longest IP ban is 3 days: a longer Retry-After (a date in year 9999, 10^400 s) is
# held this long, which also keeps every later sum of seconds finite.
MAX_RETRY_AFTER_SECONDS = 7 * 24 * 3600.0
# The weight limit is 12,000 a minute: nine digits leave room for any future limit.
WEIGHT = re.compile(r"[0-9]{1,9}")
DELAY_SECONDS = re.compile(r"([0-9]+)(?:\.[0-9]+)?")
MAX_DELAY_DIGITS = 9


def parse_used_weight(value: str | None) -> int | None:
    """X-SAPI-USED-IP-WEIGHT-1M as a whole number of at most nine ASCII digits, else None."""
    if value is None:
        return None
    text = value.strip()
    if not WEIGHT.fullmatch(text):
        # The value is not shown: it is the upstream's text, which may echo a secret.
        log.debug("ignored %s: not a whole number of at most 9 digits", USED_WEIGHT_HEADER)
        return None
    return int(text)


def http_date(value: str | None) -> float | None:
    """An HTTP date (any of the three forms HTTP allows) as a Unix time, else None."""
    if not value:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # the asctime form carries no zone: HTTP dates are in GMT
        when = when.replace(tzinfo=UTC)
    try:
        return (when - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds()
    except OverflowError:
        return None


def parse_retry_after(value: str | None, date: str | None = None) -> float | None:
    """Seconds to wait from Retry-After: delay-seconds, or an HTTP date counted from the
    answer's own Date header (so that a skew of the local clock does not shorten it; the local
    clock when Date is missing). None when the value is missing, negative or unreadable."""
    if value is None:
        return None
    text = value.strip()
    delay = DELAY_SECONDS.fullmatch(text)
    if delay:
        # delay-seconds is 1*DIGIT: leading zeros say nothing of its size (0000000001 is 1 s).
        if len(delay.group(1).lstrip("0")) > MAX_DELAY_DIGITS:
            return MAX_RETRY_AFTER_SECONDS
        return min(float(text), MAX_RETRY_AFTER_SECONDS)
    until = http_date(text)
    if until is None:
        log.debug("ignored %s: neither seconds nor an HTTP date", RETRY_AFTER_HEADER)
        return None
    now = http_date(date)
    seconds = until - (time.time() if now is None else now)
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)
