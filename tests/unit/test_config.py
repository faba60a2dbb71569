"""Configuration: deployed stages refuse the local default secrets."""
import pytest

from chalicelib.config import Settings


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
    Settings().check()
