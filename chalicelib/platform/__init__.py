"""The platform every other layer stands on: configuration, the clock, typed errors, generated ids,
logs, metrics and traces, gettext and time zones, and lazy loading. It imports nothing else of chalicelib."""
