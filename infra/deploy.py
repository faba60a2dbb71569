"""`make deploy STAGE=prod` (after `make template`): the stack from build/cloudformation deployed with the
AWS CLI, then a smoke check against the URL it serves.

1. `aws cloudformation package` uploads the bundle to `DEPLOY_BUCKET` and points the template at it;
2. `aws cloudformation deploy` creates or updates the stack `DEPLOY_STACK` with the parameters read from
   `DEPLOY_PARAMETERS`, a JSON file the operator keeps outside the repository (the stage's addresses; the
   secrets live in Secrets Manager, not here): either an object `{"AppUrl": "...", ...}` or CloudFormation's list of
   `{"ParameterKey": ..., "ParameterValue": ...}`;
3. the stack's `EndpointURL` output is read back, and the smoke check asks it for `/openapi.json`, signs a
   new account up (`smoke+<time>@<SMOKE_DOMAIN>`) and logs it in. Any step that fails stops with its reason.

The AWS CLI uses the caller's own credentials and region (AWS_PROFILE, AWS_REGION); this module reads none.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from infra.snapstart import DIGEST_PARAMETER

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "build" / "cloudformation"
CAPABILITIES = ("CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND")
SMOKE_DOMAIN = "example.com"
SMOKE_PASSWORD = "smoke-check-password-1"

Run = Callable[[Sequence[str]], str]
Http = Callable[[str, str, dict[str, Any] | None], tuple[int, Any]]


class DeployFailed(Exception):
    """A step of the deploy or of the smoke check failed; the message says which and why."""


def run_cli(command: Sequence[str]) -> str:
    completed = subprocess.run(list(command), capture_output=True, text=True)
    if completed.returncode != 0:
        raise DeployFailed(f"{' '.join(command[:3])} failed: {completed.stderr.strip() or completed.stdout.strip()}")
    return completed.stdout


def http_json(method: str, url: str, body: dict[str, Any] | None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def read_parameters(path: Path) -> dict[str, str]:
    """The stack's parameters from the operator's file (an object, or CloudFormation's list form)."""
    if not path.is_file():
        raise DeployFailed(f"no parameters file at {path}: write one outside the repository (see "
                           "docs/operations-runtime.md) and pass DEPLOY_PARAMETERS=<path>")
    if path.resolve().is_relative_to(ROOT):
        raise DeployFailed(f"{path} is inside the repository: keep the stack's secrets outside it")
    loaded = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(loaded, list):
        return {item["ParameterKey"]: str(item["ParameterValue"]) for item in loaded}
    return {key: str(value) for key, value in loaded.items()}


def digest(parameters: dict[str, str]) -> str:
    """A digest of the parameters' values (`ParametersDigest`: under SnapStart, a changed value publishes
    new versions; the values themselves never reach the template)."""
    text = json.dumps({key: value for key, value in parameters.items() if key != DIGEST_PARAMETER}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def deploy(stack: str, bucket: str, parameters: dict[str, str], *, aws: str = "aws", run: Run | None = None,
           build: Path | None = None) -> str:
    """Package and deploy the stack; its API's URL."""
    run, build = run or run_cli, build or BUILD
    parameters = {**parameters, DIGEST_PARAMETER: digest(parameters)}
    packaged = build / "packaged.json"
    run([aws, "cloudformation", "package", "--template-file", str(build / "sam.json"), "--s3-bucket", bucket,
         "--s3-prefix", stack, "--output-template-file", str(packaged), "--use-json"])
    run([aws, "cloudformation", "deploy", "--template-file", str(packaged), "--stack-name", stack,
         "--s3-bucket", bucket, "--s3-prefix", stack, "--capabilities", *CAPABILITIES,
         "--no-fail-on-empty-changeset", "--parameter-overrides",
         *(f"{key}={value}" for key, value in sorted(parameters.items()))])
    outputs = json.loads(run([aws, "cloudformation", "describe-stacks", "--stack-name", stack,
                              "--query", "Stacks[0].Outputs", "--output", "json"]) or "[]")
    url = next((o["OutputValue"] for o in outputs or [] if o["OutputKey"] == "EndpointURL"), None)
    if not url:
        raise DeployFailed(f"the stack {stack} has no EndpointURL output")
    return str(url)


def smoke(url: str, *, http: Http | None = None, now: Callable[[], float] = time.time) -> list[str]:
    """What a person would try first: the API's description, a sign-up, a log-in. Each line is a pass."""
    http = http or http_json
    base = url.rstrip("/")
    status, spec = http("GET", f"{base}/openapi.json", None)
    if status != 200 or not isinstance(spec, dict) or "openapi" not in spec:
        raise DeployFailed(f"GET /openapi.json answered {status}")
    email = f"smoke+{int(now())}@{SMOKE_DOMAIN}"
    status, body = http("POST", f"{base}/v1/auth/signup",
                        {"email": email, "password": SMOKE_PASSWORD, "name": "Smoke check", "locale": "en"})
    if status != 201 or not body.get("token"):
        raise DeployFailed(f"sign-up answered {status}: {body}")
    status, body = http("POST", f"{base}/v1/auth/login", {"email": email, "password": SMOKE_PASSWORD})
    if status != 200 or not body.get("token"):
        raise DeployFailed(f"log-in answered {status}: {body}")
    return [f"GET {base}/openapi.json: {spec['openapi']}", f"signed up {email}", f"logged in as {email}"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="prod")
    parser.add_argument("--stack", default="escrowdesk-prod", help="the CloudFormation stack's name")
    parser.add_argument("--bucket", required=True, help="an S3 bucket the bundle and template are uploaded to")
    parser.add_argument("--parameters", type=Path, required=True, help="the parameters file, outside the repo")
    parser.add_argument("--aws", default="aws", help="the AWS CLI")
    args = parser.parse_args(argv)
    try:
        if args.stage != "prod":
            raise DeployFailed(f"only the prod stage deploys to AWS (the local stage is make run), not {args.stage}")
        if not args.bucket:
            raise DeployFailed("DEPLOY_BUCKET is empty: name an S3 bucket for the bundle")
        url = deploy(args.stack, args.bucket, read_parameters(args.parameters), aws=args.aws)
        print(f"deployed {args.stack}: {url}")
        for line in smoke(url):
            print(f"smoke: {line}")
    except DeployFailed as failed:
        print(f"deploy: {failed}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
