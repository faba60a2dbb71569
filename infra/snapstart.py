"""SnapStart, an option of the prod stack (`SnapStart=true`): Lambda snapshots each function's initialized
environment when a version is published and restores it instead of running the cold import.

SnapStart applies only to published versions, invoked through a version or an alias; chalice's template
calls every function unqualified. `python -m infra.snapstart build/cloudformation` therefore rewrites the
packaged template (after `python -m infra.bundle`, since it names versions after the bundle's hash):

- each function gets, under the condition `SnapStartOn`, a published version (`<Function>Version<hash>`:
  its logical id changes with the bundle and the function's settings, and its description with
  `ParametersDigest`, which `make deploy` sets from the parameters' values, so a deploy that changes any
  of them publishes a new one) and the alias `live` on it (`<Function>Live`);
- the API's integrations and its invoke permission, the schedules, the timer queue's trigger and the
  notifications stream's trigger call the alias when the condition holds, the function otherwise. The
  schedules and triggers become plain EventBridge rules and event source mappings for that (a SAM
  event cannot be conditional); their logical ids stay SAM's, so nothing is replaced by the switch.

Switched off (the default), the stack is the one chalice packages, with SnapStart `None`. The restore
hooks live in `chalicelib/entrypoints/snapshot.py`. cfn-lint checks the template under both values (`make template`).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

CONDITION = "SnapStartOn"
ALIAS = "live"
DIGEST_PARAMETER = "ParametersDigest"
PARAMETERS: dict[str, Any] = {
    "SnapStart": {
        "Type": "String", "AllowedValues": ["true", "false"], "Default": "false",
        "Description": "Publish versions with Lambda SnapStart and call them through the alias `live` (restores "
                       "initialized environments instead of cold imports; billed per GB cached and restored)",
    },
    DIGEST_PARAMETER: {
        "Type": "String", "Default": "none", "AllowedPattern": r"^[0-9a-z]{1,64}$",
        "Description": "Set by make deploy: a digest of the other parameters' values, so that a change of a "
                       "parameter alone publishes new versions for the alias (SnapStart)",
    },
}
CONDITIONS: dict[str, Any] = {CONDITION: {"Fn::Equals": [{"Ref": "SnapStart"}, "true"]}}
# Every function's SnapStart setting (merged into chalice's functions by infra/template.py).
FUNCTION_PROPERTY: dict[str, Any] = {"ApplyOn": {"Fn::If": [CONDITION, "PublishedVersions", "None"]}}

_FUNCTION = "AWS::Serverless::Function"
# SAM event properties and the event source mapping's names for them.
_MAPPING_PROPERTIES = {"Queue": "EventSourceArn", "Stream": "EventSourceArn", "BatchSize": "BatchSize",
                       "StartingPosition": "StartingPosition",
                       "MaximumBatchingWindowInSeconds": "MaximumBatchingWindowInSeconds",
                       "BisectBatchOnFunctionError": "BisectBatchOnFunctionError",
                       "MaximumRetryAttempts": "MaximumRetryAttempts", "Enabled": "Enabled"}


def alias_id(function: str) -> str:
    return f"{function}Live"


def _invoked(function: str) -> dict[str, Any]:
    """What a trigger names: the alias's ARN with SnapStart, the function otherwise."""
    return {"Fn::If": [CONDITION, {"Ref": alias_id(function)}, {"Ref": function}]}


def _invoked_arn(function: str) -> dict[str, Any]:
    return {"Fn::If": [CONDITION, {"Ref": alias_id(function)}, {"Fn::GetAtt": [function, "Arn"]}]}


def _version(function: str, properties: dict[str, Any], code_sha256: str) -> tuple[str, dict[str, Any]]:
    digest = hashlib.sha256((code_sha256 + json.dumps(properties, sort_keys=True)).encode()).hexdigest()[:10]
    # The logical id follows the bundle and the template's settings; the description follows the values the
    # parameters give them (a changed description publishes a new version too).
    return f"{function}Version{digest}", {
        "Type": "AWS::Lambda::Version", "Condition": CONDITION,
        "Properties": {"FunctionName": {"Ref": function},
                       "Description": {"Fn::Sub": f"{function} with parameters ${{{DIGEST_PARAMETER}}}"}},
    }


def event_id(function: str, event: str) -> str:
    """The logical id SAM gives what an event of a function creates (so the switch replaces nothing)."""
    return f"{function}{event}"


def _event_resources(function: str, event: str, spec: dict[str, Any]) -> dict[str, Any]:
    kind, properties, name = spec["Type"], spec.get("Properties", {}), event_id(function, event)
    if kind == "Schedule":
        return {
            name: {"Type": "AWS::Events::Rule", "Properties": {
                "ScheduleExpression": properties["Schedule"], "State": "ENABLED",
                "Targets": [{"Id": f"{function}Target", "Arn": _invoked_arn(function)}],
            }},
            f"{name}Permission": {"Type": "AWS::Lambda::Permission", "Properties": {
                "Action": "lambda:InvokeFunction", "FunctionName": _invoked(function),
                "Principal": "events.amazonaws.com", "SourceArn": {"Fn::GetAtt": [name, "Arn"]},
            }},
        }
    if kind in ("SQS", "DynamoDB"):
        mapping = {_MAPPING_PROPERTIES[key]: value for key, value in properties.items()}
        return {name: {"Type": "AWS::Lambda::EventSourceMapping",
                       "Properties": {**mapping, "FunctionName": _invoked(function)}}}
    raise ValueError(f"{function}: no conditional wiring for a {kind} event")


def _point_api_at_alias(node: Any, function: str) -> Any:
    """The REST API's integration URIs name `${<function>.Arn}`: the alias's ARN under the condition."""
    marker = f"${{{function}.Arn}}"
    if isinstance(node, dict):
        sub = node.get("Fn::Sub")
        if len(node) == 1 and isinstance(sub, str) and marker in sub:
            return {"Fn::If": [CONDITION, {"Fn::Sub": sub.replace(marker, f"${{{alias_id(function)}}}")}, node]}
        return {key: _point_api_at_alias(value, function) for key, value in node.items()}
    if isinstance(node, list):
        return [_point_api_at_alias(value, function) for value in node]
    return node


def wire(template: dict[str, Any], code_sha256: str) -> dict[str, Any]:
    """`template` (chalice's, merged) with versions, aliases and every caller wired as the module says."""
    resources: dict[str, Any] = template["Resources"]
    functions = [name for name, resource in resources.items() if resource["Type"] == _FUNCTION]
    added: dict[str, Any] = {}
    for function in functions:
        properties = resources[function]["Properties"]
        for event, spec in sorted(properties.pop("Events", {}).items()):
            added.update(_event_resources(function, event, spec))
        version_id, version = _version(function, properties, code_sha256)
        added[version_id] = version
        added[alias_id(function)] = {"Type": "AWS::Lambda::Alias", "Condition": CONDITION, "Properties": {
            "FunctionName": {"Ref": function}, "Name": ALIAS,
            "FunctionVersion": {"Fn::GetAtt": [version_id, "Version"]},
        }}
    for resource in resources.values():
        if resource["Type"] == "AWS::Lambda::Permission" and resource["Properties"]["FunctionName"] in (
                {"Ref": function} for function in functions):
            resource["Properties"]["FunctionName"] = _invoked(resource["Properties"]["FunctionName"]["Ref"])
        if resource["Type"] == "AWS::Serverless::Api":
            for function in functions:
                resource["Properties"] = _point_api_at_alias(resource["Properties"], function)
    resources.update(added)
    return template


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path, help="chalice package's output (sam.json, deployment.zip)")
    args = parser.parse_args(argv)
    path = args.directory / "sam.json"
    code = hashlib.sha256((args.directory / "deployment.zip").read_bytes()).hexdigest()
    template = wire(json.loads(path.read_text(encoding="utf-8")), code)
    # Compact: the API's integrations, each in both forms, would put an indented template past
    # CloudFormation's 1 MB.
    path.write_text(json.dumps(template, separators=(",", ":"), sort_keys=True) + "\n", encoding="utf-8")
    print(f"{path}: versions and the alias `{ALIAS}` under {CONDITION} for every function")
    return 0


if __name__ == "__main__":
    sys.exit(main())
