"""Configuration: deployed stages refuse the local default secrets (and secrets in their environment), a missing
stage, and weak password hashing."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.import_time import SECRET_ARNS
from chalicelib.platform.config import REQUIRED_SECRETS, SECRET_SETTINGS, Settings

ROOT = Path(__file__).resolve().parents[2]


def test_the_simulated_lambda_environment_names_every_secret_a_deployed_stage_needs():
    assert set(SECRET_ARNS) == {f"{name.upper()}_ARN" for name in REQUIRED_SECRETS}


def _deployed_with_secret_arns(monkeypatch):
    for name in SECRET_SETTINGS:
        monkeypatch.delenv(name.upper(), raising=False)
    for name, value in SECRET_ARNS.items():
        monkeypatch.setenv(name, value)


def test_local_stage_runs_on_defaults(monkeypatch):
    monkeypatch.setenv("STAGE", "local")
    Settings().check()


def test_packaging_a_deployed_stage_needs_no_secrets(monkeypatch):
    monkeypatch.setenv("STAGE", "prod")
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    monkeypatch.delenv("JWT_SECRET", raising=False)
    Settings().check()


def test_deployed_stage_refuses_to_run_without_each_secrets_arn(monkeypatch):
    monkeypatch.setenv("STAGE", "prod")
    monkeypatch.setenv("PASSWORD_TIME_COST", "2")  # the suite's cheap hashing would be refused too
    monkeypatch.setenv("PASSWORD_MEMORY_KIB", "19456")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "escrowdesk-prod")
    _deployed_with_secret_arns(monkeypatch)
    Settings().check()
    for name in SECRET_ARNS:
        monkeypatch.delenv(name)
        with pytest.raises(RuntimeError, match=name):
            Settings().check()
        monkeypatch.setenv(name, SECRET_ARNS[name])


@pytest.mark.parametrize("name", [name.upper() for name in SECRET_SETTINGS])
def test_a_deployed_stage_refuses_a_secrets_value_in_its_environment(monkeypatch, name):
    monkeypatch.setenv("STAGE", "prod")
    monkeypatch.setenv("PASSWORD_TIME_COST", "2")
    monkeypatch.setenv("PASSWORD_MEMORY_KIB", "19456")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "escrowdesk-prod")
    _deployed_with_secret_arns(monkeypatch)
    monkeypatch.setenv(name, "s" * 32)
    with pytest.raises(RuntimeError, match=f"{name} must not be set"):
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


def _import_app_inside_lambda(**env: str) -> subprocess.CompletedProcess:
    """A fresh interpreter imports app.py the way Lambda does, with only `env` beside the basics."""
    keep = {name: os.environ[name] for name in ("PATH", "HOME", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                                                "AWS_DEFAULT_REGION", "AWS_REGION") if name in os.environ}
    return subprocess.run([sys.executable, "-c", "import app"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env={**keep, "AWS_LAMBDA_FUNCTION_NAME": "escrowdesk-prod", **env})


@pytest.mark.parametrize("stage", [None, "", "local"])
def test_a_function_deployed_without_a_stage_refuses_to_start_instead_of_opening_the_test_doors(stage):
    started = _import_app_inside_lambda(**({} if stage is None else {"STAGE": stage}))
    assert started.returncode != 0
    assert "RuntimeError: STAGE must name a deployed stage inside Lambda" in started.stderr


def test_a_function_deployed_with_its_stage_and_secrets_starts():
    started = _import_app_inside_lambda(STAGE="prod", **SECRET_ARNS)
    assert started.returncode == 0, started.stderr


@pytest.mark.parametrize(("memory_kib", "time_cost", "parallelism"), [(19455, 2, 1), (47103, 1, 1), (7168, 4, 1),
                                                                       (64, 1, 1)])
def test_a_deployed_function_refuses_argon2_parameters_below_owasps_minimum(monkeypatch, memory_kib, time_cost,
                                                                             parallelism):
    monkeypatch.setenv("STAGE", "prod")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "escrowdesk-prod")
    _deployed_with_secret_arns(monkeypatch)
    monkeypatch.setenv("PASSWORD_MEMORY_KIB", str(memory_kib))
    monkeypatch.setenv("PASSWORD_TIME_COST", str(time_cost))
    monkeypatch.setenv("PASSWORD_PARALLELISM", str(parallelism))
    with pytest.raises(RuntimeError, match="below OWASP's argon2id minimum"):
        Settings().check()


@pytest.mark.parametrize(("memory_kib", "time_cost", "parallelism"), [(19456, 2, 1), (47104, 1, 1), (65536, 3, 4)])
def test_owasps_minimum_and_stronger_argon2_parameters_start(monkeypatch, memory_kib, time_cost, parallelism):
    monkeypatch.setenv("STAGE", "prod")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "escrowdesk-prod")
    _deployed_with_secret_arns(monkeypatch)
    monkeypatch.setenv("PASSWORD_MEMORY_KIB", str(memory_kib))
    monkeypatch.setenv("PASSWORD_TIME_COST", str(time_cost))
    monkeypatch.setenv("PASSWORD_PARALLELISM", str(parallelism))
    Settings().check()


def test_the_default_argon2_parameters_are_rfc_9106s_second_recommended_option(monkeypatch):
    for name in ("PASSWORD_MEMORY_KIB", "PASSWORD_TIME_COST", "PASSWORD_PARALLELISM"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert (settings.password_memory_kib, settings.password_time_cost, settings.password_parallelism) == (
        64 * 1024, 3, 4)
