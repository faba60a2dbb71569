"""Runs every `@app.schedule` handler of a Chalice app at a fixed interval, with the event
EventBridge would send. Locally all schedules share one interval (default 60 s): the jobs run
at the application clock, which `POST /dev/clock` moves, so their own rates matter little here.
"""
from __future__ import annotations

import logging
import threading
from typing import Any

from chalice.app import Chalice, ScheduledEventConfig

from infra.local.events import LambdaContext, scheduled_event

log = logging.getLogger(__name__)


class Scheduler:
    def __init__(self, app: Chalice, *, region: str, stage: str = "local", interval: float = 60.0) -> None:
        self.interval = interval
        self._region = region
        self._function_prefix = f"{app.app_name}-{stage}-"
        self.handlers = {source.name: app.handler_map[source.name] for source in app.event_sources
                         if isinstance(source, ScheduledEventConfig)}

    def run(self, stop: threading.Event) -> None:
        """Run every handler each `interval` seconds (the first time one interval after start) until `stop`."""
        while not stop.wait(self.interval):
            self.run_once()

    def run_once(self) -> dict[str, Any]:
        """Invoke each handler once; returns its result, or the exception it raised, by name."""
        results: dict[str, Any] = {}
        for name, handler in self.handlers.items():
            function_name = self._function_prefix + name
            try:
                results[name] = handler(scheduled_event(function_name, self._region),
                                        LambdaContext(function_name, self._region))
            except Exception as error:
                log.exception("scheduled handler %s failed", name)
                results[name] = error
        return results
