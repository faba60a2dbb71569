"""Configuration: deployed stages refuse the local default secrets."""
import pytest

from chalicelib.platform.config import Settings


def test_local_stage_runs_on_defaults(monkeypatch):
    monkeypatch.setenv("STAGE", "local")
    Settings().check()


def test_packaging_a_deployed_stage_needs_no_secrets(monkeypatch):
    monkeypatch.setenv("STAGE", "prod")
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    monkeypatch.delenv("JWT_SECRET", raising=False)
    Settings().check()


def test_deployed_stage_refuses_default_secrets(monkeypatch):
    monkeypatch.setenv("STAGE", "prod")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "escrowdesk-prod")
    monkeypatch.delenv("JWT_SECRET", raising=False)
    with pytest.raises(RuntimeError, match="JWT_SECRET"):
        Settings().check()
    monkeypatch.setenv("JWT_SECRET", "s" * 32)
    monkeypatch.delenv("BANK_WEBHOOK_SECRET", raising=False)
    with pytest.raises(RuntimeError, match="BANK_WEBHOOK_SECRET"):
        Settings().check()
    monkeypatch.setenv("BANK_WEBHOOK_SECRET", "b" * 32)
    monkeypatch.delenv("ACQUIRER_WEBHOOK_SECRET", raising=False)
    with pytest.raises(RuntimeError, match="ACQUIRER_WEBHOOK_SECRET"):
        Settings().check()
    monkeypatch.setenv("ACQUIRER_WEBHOOK_SECRET", "a" * 32)
    Settings().check()


@pytest.mark.parametrize(("name", "value"), [("WEEKEND_DAYS", "caturday"), ("WEEKEND_DAYS", ""),
                                             ("MARKETPLACE_TIMEZONE", "Mars/Olympus"),
                                             ("MARKETPLACE_TIMEZONE", "../etc/passwd")])
def test_the_marketplace_calendar_refuses_what_is_not_a_calendar(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=name):
        Settings()


def test_the_marketplace_calendar_defaults_to_kwork_and_takes_a_persian_week(monkeypatch):
    assert (Settings().marketplace_timezone, Settings().weekend_days) == ("Europe/Moscow", frozenset({5, 6}))
    monkeypatch.setenv("MARKETPLACE_TIMEZONE", "Asia/Tehran")
    monkeypatch.setenv("WEEKEND_DAYS", "Friday")
    assert (Settings().marketplace_timezone, Settings().weekend_days) == ("Asia/Tehran", frozenset({4}))
