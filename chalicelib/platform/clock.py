"""The one clock all code reads time from.

In production it is the wall clock. On the local stage an offset (seconds) can be added with
`POST /dev/clock`; it lives in a small file so the API process and the job runner share it.
Tests move it in memory with `advance()`.
"""
from __future__ import annotations

import json
import os
import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

_lock = threading.Lock()
_memory_offset = 0.0
_file_cache: tuple[float, float] | None = None  # (mtime, offset)


def wall() -> datetime:
    """Real UTC time; used where a moved test clock must not matter (webhook freshness)."""
    return datetime.now(UTC)


def now() -> datetime:
    return wall() + timedelta(seconds=offset())


def offset() -> float:
    path = _clock_file()
    if path is None:
        return _memory_offset
    return _read_file_offset(path)


def advance(seconds: float) -> datetime:
    global _memory_offset
    with _lock:
        path = _clock_file()
        if path is None:
            _memory_offset += seconds
        else:
            _write_file_offset(path, _read_file_offset(path) + seconds)
    return now()


def forget_cached_offset() -> None:
    """Read the clock file's offset again at the next `now()` (an environment restored from a snapshot)."""
    global _file_cache
    with _lock:
        _file_cache = None


def reset() -> None:
    global _memory_offset, _file_cache
    with _lock:
        _memory_offset = 0.0
        _file_cache = None
        path = _clock_file()
        if path is not None and os.path.exists(path):
            os.remove(path)


def on_marketplace_calendar(moment: datetime) -> datetime:
    """`moment` in the marketplace's time zone (`MARKETPLACE_TIMEZONE`), for the business rules that
    count calendar days: which day a delivery fell on, the year and date an invoice is dated."""
    from chalicelib.platform.config import settings

    return moment.astimezone(ZoneInfo(settings.marketplace_timezone))


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with a Z, second precision, as the API shows timestamps."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_precise(moment: datetime) -> str:
    """Sortable microsecond timestamp for keys."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _clock_file() -> str | None:
    from chalicelib.platform.config import settings

    return settings.clock_file


def _read_file_offset(path: str) -> float:
    global _file_cache
    try:
        mtime = os.stat(path).st_mtime_ns
    except FileNotFoundError:
        return 0.0
    if _file_cache is not None and _file_cache[0] == mtime:
        return _file_cache[1]
    with open(path, encoding="utf-8") as handle:
        value = float(json.load(handle).get("offset_seconds", 0))
    _file_cache = (mtime, value)
    return value


def _write_file_offset(path: str, value: float) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump({"offset_seconds": value}, handle)
    os.replace(tmp, path)
