"""`make deploy STAGE=prod` (infra/deploy.py) with the AWS CLI stubbed by a script that records its
arguments and answers like CloudFormation, and the smoke check sent to the service on moto: no
credentials, no network."""
from __future__ import annotations

import json
import stat
import sys
from pathlib import Path

import pytest

from infra import deploy

URL = "https://abc123.execute-api.eu-central-1.amazonaws.com/v1/"


def _fake_aws(tmp_path: Path) -> tuple[Path, Path]:
    """An `aws` that logs each call (one JSON line) and answers describe-stacks with the stack's URL."""
    log = tmp_path / "aws-calls.jsonl"
    script = tmp_path / "aws"
    outputs = json.dumps([{"OutputKey": "EndpointURL", "OutputValue": URL}])
    script.write_text(f"#!{sys.executable}\nimport json, sys\n"
                      f"open({str(log)!r}, 'a').write(json.dumps(sys.argv[1:]) + '\\n')\n"
                      f"print({outputs!r} if sys.argv[2] == 'describe-stacks' else '')\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script, log


@pytest.fixture
def routed(api, monkeypatch):
    """The smoke check's HTTP requests, answered by the service itself (chalice's test client on moto)."""
    seen = []

    def http(method, url, body):
        assert url.startswith(URL.rstrip("/")), url
        path = url.removeprefix(URL.rstrip("/"))
        seen.append((method, path))
        response = api.request(method, path, body)
        return response.status_code, response.json_body

    monkeypatch.setattr(deploy, "http_json", http)
    return seen


def test_deploy_packages_deploys_with_the_operators_parameters_then_smoke_checks(tmp_path, routed, monkeypatch):
    """Given a parameters file outside the repository, the deploy uploads the bundle, deploys the stack with
    every parameter and the capabilities its roles need, reads the URL back, and the smoke check gets the
    API's description, signs up and logs in."""
    aws, log = _fake_aws(tmp_path)
    parameters = tmp_path / "prod-parameters.json"
    parameters.write_text(json.dumps({"AppUrl": "https://api.example.com", "AlarmEmail": "ops@example.com",
                                      "SnapStart": "true"}))
    build = tmp_path / "build"
    build.mkdir()
    monkeypatch.setattr(deploy, "BUILD", build)

    assert deploy.main(["--stage", "prod", "--stack", "escrowdesk-prod", "--bucket", "artifacts",
                        "--parameters", str(parameters), "--aws", str(aws)]) == 0

    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert [call[:2] for call in calls] == [["cloudformation", "package"], ["cloudformation", "deploy"],
                                           ["cloudformation", "describe-stacks"]]
    deployed = calls[1]
    assert deployed[deployed.index("--stack-name") + 1] == "escrowdesk-prod"
    overrides = deployed[deployed.index("--parameter-overrides") + 1:]
    assert overrides == ["AlarmEmail=ops@example.com", "AppUrl=https://api.example.com",
                         f"ParametersDigest={deploy.digest(json.loads(parameters.read_text()))}", "SnapStart=true"]
    assert {"CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"} <= set(deployed)
    assert routed == [("GET", "/openapi.json"), ("POST", "/v1/auth/signup"), ("POST", "/v1/auth/login")]


def test_a_changed_parameter_changes_the_digest_that_publishes_new_versions():
    assert deploy.digest({"AppUrl": "https://a.example"}) != deploy.digest({"AppUrl": "https://b.example"})
    assert deploy.digest({"AppUrl": "https://a.example", "ParametersDigest": "old"}) == deploy.digest(
        {"AppUrl": "https://a.example"})


def test_a_parameters_file_inside_the_repository_or_missing_is_refused(tmp_path):
    with pytest.raises(deploy.DeployFailed, match="outside"):
        deploy.read_parameters(deploy.ROOT / "pyproject.toml")
    with pytest.raises(deploy.DeployFailed, match="no parameters file"):
        deploy.read_parameters(tmp_path / "absent.json")
    listed = tmp_path / "cfn.json"
    listed.write_text(json.dumps([{"ParameterKey": "TablePrefix", "ParameterValue": "escrowdesk-prod-"}]))
    assert deploy.read_parameters(listed) == {"TablePrefix": "escrowdesk-prod-"}


def test_a_failing_smoke_check_fails_the_deploy(tmp_path, monkeypatch, capsys):
    aws, _ = _fake_aws(tmp_path)
    parameters = tmp_path / "p.json"
    parameters.write_text("{}")
    monkeypatch.setattr(deploy, "http_json", lambda method, url, body: (502, {"message": "Internal server error"}))
    assert deploy.main(["--bucket", "artifacts", "--parameters", str(parameters), "--aws", str(aws)]) == 1
    assert "openapi.json answered 502" in capsys.readouterr().err
