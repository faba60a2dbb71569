"""LOCAL_FAULTS: its spelling, and that faults reach only the API's request threads."""
from __future__ import annotations

import threading

import pytest

from infra.local import faults


def test_rates_parse_and_bad_ones_are_refused():
    assert faults.parse("") == {"throttle": 0.0, "conflict": 0.0, "crash": 0.0}
    assert faults.parse("throttle=0.02, crash=0.5") == {"throttle": 0.02, "conflict": 0.0, "crash": 0.5}
    for bad in ("fire=0.1", "crash=2", "throttle=-0.1", "throttle=0.6,conflict=0.6", "crash=x"):
        with pytest.raises(ValueError):
            faults.parse(bad)


def test_only_threads_serving_a_request_see_faults(api):
    uninstall = faults.install({"throttle": 0.0, "conflict": 0.0, "crash": 1.0}, seed=1)
    try:
        api.signup("quiet@example.com")  # this thread is not serving: no fault
        seen: list[BaseException] = []

        def serve():
            faults.serving(True)
            try:
                api.signup("crashed@example.com")
            except BaseException as error:  # recorded for the assertion below
                seen.append(error)

        worker = threading.Thread(target=serve)
        worker.start()
        worker.join()
    finally:
        uninstall()
    # the crash came after the commit: the account exists although its caller got a 500
    assert faults.injected["crash"] >= 1 and seen, seen
    assert api.post("/v1/auth/login", {"email": "crashed@example.com", "password": "correct horse"}).status_code == 200
