"""Table definitions: generated from the models into CloudFormation (`infra/dynamodb.json`),
and created on DynamoDB Local from that same file, so local and AWS tables cannot drift."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3

from chalicelib.store.models import ALL_MODELS, logical_name

TEMPLATE_PATH = Path(__file__).resolve().parents[2] / "infra" / "dynamodb.json"


def logical_id(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_")) + "Table"


def cloudformation_resources() -> dict[str, Any]:
    """The `Resources` of every table, as CloudFormation wants them."""
    resources: dict[str, Any] = {}
    for model in ALL_MODELS:
        name = logical_name(model)
        schema = model._get_schema()
        table = resources.setdefault(logical_id(name), _table_resource(name, model))
        props = table["Properties"]
        known = {d["AttributeName"] for d in props["AttributeDefinitions"]}
        for definition in schema["attribute_definitions"]:
            if definition["AttributeName"] not in known:
                props["AttributeDefinitions"].append(dict(definition))
                known.add(definition["AttributeName"])
        existing = {index["IndexName"] for index in props.get("GlobalSecondaryIndexes", [])}
        for index in schema["global_secondary_indexes"]:
            if index["index_name"] in existing:
                continue
            props.setdefault("GlobalSecondaryIndexes", []).append({
                "IndexName": index["index_name"],
                "KeySchema": _keys(index["key_schema"]),
                "Projection": {"ProjectionType": index["projection"]["ProjectionType"]},
            })
    for table in resources.values():
        table["Properties"]["AttributeDefinitions"].sort(key=lambda d: d["AttributeName"])
    return resources


def _table_resource(name: str, model: Any) -> dict[str, Any]:
    schema = model._get_schema()
    props: dict[str, Any] = {
        "TableName": {"Fn::Sub": "${TablePrefix}" + name},
        "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": _keys(schema["key_schema"]),
        "AttributeDefinitions": [],
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
    }
    stream = getattr(model.Meta, "stream_view_type", None)
    if stream:
        props["StreamSpecification"] = {"StreamViewType": stream}
    ttl = getattr(model.Meta, "ttl_attribute", None)
    if ttl:
        props["TimeToLiveSpecification"] = {"AttributeName": ttl, "Enabled": True}
    return {"Type": "AWS::DynamoDB::Table", "DeletionPolicy": "Retain", "Properties": props}


def _keys(keys: list[dict[str, str]]) -> list[dict[str, str]]:
    """HASH first, then RANGE, as DynamoDB requires."""
    return sorted(({"AttributeName": k["AttributeName"], "KeyType": k["KeyType"]} for k in keys),
                  key=lambda k: k["KeyType"])


def template() -> dict[str, Any]:
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Parameters": {"TablePrefix": {"Type": "String", "Default": "escrowdesk-prod-"}},
        "Resources": cloudformation_resources(),
    }


def write_template(path: Path = TEMPLATE_PATH) -> None:
    path.write_text(json.dumps(template(), indent=2, sort_keys=True) + "\n", encoding="utf-8")


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def create_tables(*, endpoint_url: str | None, region: str, prefix: str, path: Path = TEMPLATE_PATH) -> list[str]:
    """Create every table of the template (skipping those that exist); returns their names."""
    client = boto3.client("dynamodb", endpoint_url=endpoint_url, region_name=region)
    existing = set(client.list_tables()["TableNames"])
    names = []
    for resource in load_template(path)["Resources"].values():
        if resource["Type"] != "AWS::DynamoDB::Table":
            continue
        props = resource["Properties"]
        name = prefix + props["TableName"]["Fn::Sub"].removeprefix("${TablePrefix}")
        names.append(name)
        if name in existing:
            continue
        kwargs: dict[str, Any] = {
            "TableName": name,
            "BillingMode": props["BillingMode"],
            "KeySchema": props["KeySchema"],
            "AttributeDefinitions": props["AttributeDefinitions"],
        }
        if props.get("GlobalSecondaryIndexes"):
            kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        if props.get("StreamSpecification"):
            kwargs["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
        client.create_table(**kwargs)
    return names


def delete_tables(*, endpoint_url: str | None, region: str, prefix: str) -> None:
    client = boto3.client("dynamodb", endpoint_url=endpoint_url, region_name=region)
    for name in client.list_tables()["TableNames"]:
        if name.startswith(prefix):
            client.delete_table(TableName=name)


if __name__ == "__main__":
    write_template()
    print(f"wrote {TEMPLATE_PATH}")
