"""The CloudFormation merge template (`infra/resources.json`, from `python -m infra.template`): in step
with its generator and the models, shaped as the issue asks, and its least-privilege roles cover
what the functions really do — the scheduled job and the stream handler are run here while every
DynamoDB request is recorded, and each must be allowed by that function's role."""
from __future__ import annotations

import fnmatch
import functools
import json
import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import botocore.session
import pytest
from chalice.utils import to_cfn_resource_name

from chalicelib.adapters import acquirer
from chalicelib.money import tariffs
from chalicelib.platform import clock, secret_store
from chalicelib.platform.config import SECRET_SETTINGS
from chalicelib.store import tables
from chalicelib.store.models import ALL_MODELS, CardPaymentModel, NotificationModel, logical_name
from infra import snapstart, template
from infra.template import API, AUDIT, FUNCTIONS, JOBS, ROLES, STREAM, TIMERS, UPLOADS
from tests.billing_support import add_tariffs, deliver, invoices, key_for, new_site, report
from tests.support import place_order, png, transfer_event, upload

REGION, ACCOUNT = "eu-central-1", "123456789012"
TABLE_WRITES = ("PutItem", "UpdateItem", "DeleteItem", "ConditionCheckItem")


@pytest.fixture(scope="module")
def generated() -> dict[str, Any]:
    return json.loads(template.render())


@pytest.fixture(scope="module")
def resources(generated) -> dict[str, Any]:
    return generated["Resources"]


def test_resources_json_is_generated_from_infra_template():
    on_disk = json.loads(template.TEMPLATE_PATH.read_text(encoding="utf-8"))
    assert on_disk == json.loads(template.render()), "run: python -m infra.template"


# What the template declares ------------------------------------------------------------------


def _of_type(resources: dict[str, Any], kind: str) -> dict[str, Any]:
    return {name: resource for name, resource in resources.items() if resource.get("Type") == kind}


def test_tables_are_the_models_tables_on_demand_with_recovery_and_kept(resources):
    found = _of_type(resources, "AWS::DynamoDB::Table")
    assert set(found) == {tables.logical_id(logical_name(model)) for model in ALL_MODELS}
    standalone = tables.template()["Resources"]  # infra/dynamodb.json, the local stage's tables
    for name, table in found.items():
        props = dict(table["Properties"])
        assert props.pop("DeletionProtectionEnabled") is True, name
        assert props == standalone[name]["Properties"], name
        assert props["BillingMode"] == "PAY_PER_REQUEST", name
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}, name
        assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain", name
        assert tables.logical_id(props["TableName"]["Fn::Sub"].removeprefix("${TablePrefix}")) == name, name


def test_stream_ttl_and_timer_index(resources):
    notifications = resources["NotificationsTable"]["Properties"]
    assert notifications["StreamSpecification"] == {"StreamViewType": "NEW_IMAGE"}
    assert resources["IdempotencyTable"]["Properties"]["TimeToLiveSpecification"] == {
        "AttributeName": "expires_at", "Enabled": True}
    indexes = {index["IndexName"]: index for index in resources["DealsTable"]["Properties"]["GlobalSecondaryIndexes"]}
    assert indexes["by_due"]["KeySchema"] == [{"AttributeName": "timer_shard", "KeyType": "HASH"},
                                              {"AttributeName": "timer_due_at", "KeyType": "RANGE"}]
    assert indexes["by_due"]["Projection"] == {"ProjectionType": "KEYS_ONLY"}  # the job reads its deals in a batch
    streams = [name for name, table in _of_type(resources, "AWS::DynamoDB::Table").items()
               if "StreamSpecification" in table["Properties"]]
    assert streams == ["NotificationsTable"]


def test_the_stream_trigger_reads_the_notifications_tables_real_stream(resources):
    source = resources[STREAM]["Properties"]["Events"][template.STREAM_EVENT]["Properties"]
    assert source["Stream"] == {"Fn::GetAtt": ["NotificationsTable", "StreamArn"]}


def test_the_schedule_fans_timer_shards_out_through_the_timer_queue(resources):
    queue = resources[template.TIMER_QUEUE]
    assert queue["Type"] == "AWS::SQS::Queue"
    # a group's message outlives a few retries but not its use (the schedule sends every group each minute)
    assert 60 < queue["Properties"]["MessageRetentionPeriod"] <= 900
    assert queue["Properties"]["VisibilityTimeout"] >= 6 * _chalice_prod()["lambda_timeout"]
    trigger = resources[TIMERS]["Properties"]["Events"][template.TIMER_EVENT]["Properties"]
    assert trigger["Queue"] == {"Fn::GetAtt": [template.TIMER_QUEUE, "Arn"]}
    for function in FUNCTIONS:
        env = resources[function]["Properties"]["Environment"]["Variables"]
        assert (env.get("TIMER_QUEUE_URL") == {"Ref": template.TIMER_QUEUE}) == (function == JOBS), function
    alarms = _of_type(resources, "AWS::CloudWatch::Alarm")
    assert any(a["Properties"]["MetricName"] == "ApproximateAgeOfOldestMessage" for a in alarms.values())


def _chalice_prod() -> dict[str, Any]:
    return json.loads(template.CHALICE_CONFIG.read_text(encoding="utf-8"))["stages"]["prod"]


def test_prod_is_traced_by_lambda_and_api_gateway_without_the_sdk(resources):
    """Lambda's active tracing (chalice's `xray`) and API Gateway's; the X-Ray SDK stays opt-in (XRAY_SDK)."""
    assert _chalice_prod()["xray"] is True
    assert resources["RestAPI"]["Properties"]["TracingEnabled"] is True
    assert "XRAY_SDK" not in _chalice_prod()["environment_variables"]


def test_bucket_is_private_encrypted_and_only_the_api_and_the_upload_function_get_it(resources):
    bucket = resources["FilesBucket"]
    props = bucket["Properties"]
    assert bucket["Type"] == "AWS::S3::Bucket" and bucket["DeletionPolicy"] == "Retain"
    assert all(props["PublicAccessBlockConfiguration"].values()) and len(props["PublicAccessBlockConfiguration"]) == 4
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    for function in FUNCTIONS:
        env = resources[function]["Properties"]["Environment"]["Variables"]
        assert (env.get("FILES_BUCKET") == {"Ref": "FilesBucket"}) == (function in (API, UPLOADS)), function


def test_unclaimed_uploads_expire_after_a_day_and_new_ones_reach_the_upload_function(resources):
    props = resources["FilesBucket"]["Properties"]
    rule = next(r for r in props["LifecycleConfiguration"]["Rules"] if r["Id"] == "ExpireUnclaimedUploads")
    assert rule == {"Id": "ExpireUnclaimedUploads", "Status": "Enabled", "Prefix": "uploads/",
                    "TagFilters": [{"Key": "state", "Value": "unclaimed"}], "ExpirationInDays": 1}
    [notice] = props["NotificationConfiguration"]["QueueConfigurations"]
    assert notice["Queue"] == {"Fn::GetAtt": [template.UPLOADS_QUEUE, "Arn"]}
    assert notice["Filter"]["S3Key"]["Rules"] == [{"Name": "prefix", "Value": "uploads/files/"}]
    assert resources["FilesBucket"]["DependsOn"] == f"{template.UPLOADS_QUEUE}Policy"
    trigger = resources[UPLOADS]["Properties"]["Events"][template.UPLOADS_EVENT]["Properties"]
    assert trigger["Queue"] == {"Fn::GetAtt": [template.UPLOADS_QUEUE, "Arn"]}
    [allowed] = resources[f"{template.UPLOADS_QUEUE}Policy"]["Properties"]["PolicyDocument"]["Statement"]
    assert allowed["Principal"] == {"Service": "s3.amazonaws.com"} and allowed["Action"] == "sqs:SendMessage"


def test_every_function_gets_its_settings_from_parameters_and_its_secrets_by_arn_only(generated, resources):
    assert not any(parameter.get("NoEcho") for parameter in generated["Parameters"].values()), \
        "secrets live in Secrets Manager, not in parameters"
    for function in FUNCTIONS:
        env = resources[function]["Properties"]["Environment"]["Variables"]
        assert not {name.upper() for name in SECRET_SETTINGS} & set(env), f"{function}: a secret's value in its env"
        assert env["BANK_PAYOUT_URL"] == {"Ref": "BankPayoutUrl"}
        assert env["TABLE_PREFIX"] == {"Ref": "TablePrefix"}
        assert env["MAIL_FROM"] == {"Fn::Sub": "${MailFromName} <${MailFromAddress}>"}
        assert env["NOTIFICATIONS_STREAM_ARN"] == {"Fn::GetAtt": ["NotificationsTable", "StreamArn"]}
    identity = resources["MailIdentity"]
    assert identity["Type"] == "AWS::SES::EmailIdentity"
    assert "MailFromAddress" in json.dumps(identity["Properties"]["EmailIdentity"])


def _secret_arns_in_env(resources: dict[str, Any], function: str) -> dict[str, Any]:
    return {name: value for name, value in resources[function]["Properties"]["Environment"]["Variables"].items()
            if name in {secret.arn_variable for secret in secret_store.SECRETS.values()}}


def test_every_secret_lives_in_secrets_manager_with_its_arn_in_the_outputs(generated, resources):
    created = _of_type(resources, "AWS::SecretsManager::Secret")
    assert set(created) == {template.secret_id(name) for name in secret_store.SECRETS}
    for name in secret_store.SECRETS:
        properties = created[template.secret_id(name)]["Properties"]
        assert properties["Name"] == {"Fn::Sub": f"${{AWS::StackName}}/{name}"}
        assert "SecretString" not in properties and properties["GenerateSecretString"]["PasswordLength"] >= 32
        assert generated["Outputs"][f"{template.secret_id(name)}Arn"]["Value"] == {"Ref": template.secret_id(name)}


def test_every_function_reads_only_its_own_secrets(resources):
    """A function's environment names the ARN of each secret it reads, and its role may read exactly those
    secrets: no wildcard, no other action, nothing for the books audit."""
    for function in FUNCTIONS:
        wanted = template.SECRETS_READ[function]
        env = _secret_arns_in_env(resources, function)
        assert env == {secret_store.SECRETS[name].arn_variable: {"Ref": template.secret_id(name)} for name in wanted}
        grants = _grants(resources, function, "secretsmanager:")
        if not wanted:
            assert grants == [], function
            continue
        (grant,) = grants
        assert grant["Action"] == ["secretsmanager:GetSecretValue"], function
        assert grant["Resource"] == [{"Ref": template.secret_id(name)} for name in sorted(wanted)], function
        policy = _policy(resources, function)
        for name in secret_store.SECRETS:
            arn = policy.resolve({"Ref": template.secret_id(name)})
            assert policy.allows("secretsmanager:GetSecretValue", arn) == (name in wanted), (function, name)
            assert not policy.allows("secretsmanager:PutSecretValue", arn), (function, name)
    assert template.SECRETS_READ[AUDIT] == frozenset()
    assert template.SECRETS_READ[STREAM] == {"jwt"} and template.SECRETS_READ[TIMERS] == {"acquirer-key"}


def test_the_template_covers_every_function_of_the_app():
    import app as app_module

    assert not app_module.app.pure_lambda_functions
    handlers = {to_cfn_resource_name(source.name) for source in app_module.app.event_sources}
    assert {API, *handlers} == set(FUNCTIONS), "give each new function its role in infra/template.py"
    assert {to_cfn_resource_name(name + "_role") for name in ("api_handler", *(s.name for s in
            app_module.app.event_sources))} == set(ROLES.values())


def test_api_gateway_answers_in_the_error_shape_and_never_echoes_the_callers_token(resources):
    """Unknown routes are 404 in the API's shape (API Gateway's own 403 names "Authentication Token", or
    echoes a bearer token back); nothing API Gateway answers itself repeats what the caller sent."""
    body = resources[template.REST_API]["Properties"]["DefinitionBody"]
    responses = body["x-amazon-apigateway-gateway-responses"]
    for kind in ("MISSING_AUTHENTICATION_TOKEN", "INCOMPLETE_SIGNATURE"):
        assert responses[kind]["statusCode"] == "404", kind
        assert json.loads(responses[kind]["responseTemplates"]["application/json"])["error"]["code"] == "not_found"
    assert responses["WAF_FILTERED"]["statusCode"] == "429"
    assert {"DEFAULT_4XX", "DEFAULT_5XX"} <= set(responses)
    for kind, response in responses.items():
        shaped = json.loads(response["responseTemplates"]["application/json"])
        assert set(shaped) == {"error"} and set(shaped["error"]) == {"code", "message"}, kind
        assert "$" not in json.dumps(response), f"{kind} must not template what the caller sent"
    assert body["x-amazon-apigateway-binary-media-types"] == ["*/*"], "files must reach any Accept as bytes"


def test_a_waf_rate_based_rule_guards_the_apis_stage(generated, resources):
    acl = resources["ApiFirewall"]
    assert acl["Type"] == "AWS::WAFv2::WebACL" and acl["Properties"]["Scope"] == "REGIONAL"
    assert acl["Properties"]["DefaultAction"] == {"Allow": {}}
    (rule,) = _deployed(generated, ConsoleAllowedCidrs="")["Resources"]["ApiFirewall"]["Properties"]["Rules"]
    rate = rule["Statement"]["RateBasedStatement"]
    assert rate["AggregateKeyType"] == "IP" and rate["Limit"] == {"Ref": "ApiRateLimit"}
    assert rule["Action"]["Block"]["CustomResponse"]["ResponseCode"] == 429
    assert generated["Parameters"]["ApiRateLimit"]["Type"] == "Number"
    association = resources["ApiFirewallAssociation"]
    _, stage = template._chalice_stage()
    assert association["Properties"]["WebACLArn"] == {"Fn::GetAtt": ["ApiFirewall", "Arn"]}
    assert association["Properties"]["ResourceArn"]["Fn::Sub"].endswith(f"/restapis/${{RestAPI}}/stages/{stage}")
    assert association["DependsOn"] == f"RestAPI{stage}Stage"


def _deployed(generated: dict[str, Any], **parameters: str) -> dict[str, Any]:
    """The template as CloudFormation would create it with these parameters: its conditions decided, the resources
    whose condition is false left out, `Fn::If` chosen and `AWS::NoValue` dropped from lists."""
    def value(node: Any) -> Any:
        if isinstance(node, dict) and len(node) == 1:
            ((function, argument),) = node.items()
            if function == "Ref" and argument in parameters:
                return parameters[argument]
            if function == "Fn::Equals":
                return value(argument[0]) == value(argument[1])
            if function == "Fn::Not":
                return not value(argument[0])
            if function == "Condition":
                return value(generated["Conditions"][argument])
        return node

    def resolve(node: Any) -> Any:
        if isinstance(node, list):
            return [item for item in (resolve(item) for item in node) if item != {"Ref": "AWS::NoValue"}]
        if isinstance(node, dict):
            if set(node) == {"Fn::If"}:
                condition, yes, no = node["Fn::If"]
                return resolve(yes if value(generated["Conditions"][condition]) else no)
            if set(node) == {"Fn::Split"} and isinstance(value(node["Fn::Split"][1]), str):
                return value(node["Fn::Split"][1]).split(node["Fn::Split"][0])
            return {key: resolve(item) for key, item in node.items()}
        return node

    kept = {name: resource for name, resource in generated["Resources"].items()
            if "Condition" not in resource or value(generated["Conditions"][resource["Condition"]])}
    return {**generated, "Resources": resolve(kept)}


CONSOLE_PATHS = ("/console", "/console/", "/console/login", "/console/audit", "/api/console/sites/s1")
OTHER_PATHS = ("/", "/v1/deals", "/web/login", "/billing/s1", "/consoles", "/api/v1/operator/sites", "/static/a.css")


def test_without_console_ranges_nothing_restricts_the_console(generated):
    parameter = generated["Parameters"]["ConsoleAllowedCidrs"]
    assert parameter["Type"] == "String" and parameter["Default"] == ""
    deployed = _deployed(generated, ConsoleAllowedCidrs="")
    assert template.CONSOLE_ADDRESSES not in deployed["Resources"]
    assert not _of_type(deployed["Resources"], "AWS::WAFv2::IPSet")
    (rule,) = deployed["Resources"]["ApiFirewall"]["Properties"]["Rules"]
    assert "RateBasedStatement" in rule["Statement"]


def test_console_ranges_let_only_those_addresses_open_the_console(generated):
    deployed = _deployed(generated, ConsoleAllowedCidrs="203.0.113.0/24,198.51.100.7/32")
    addresses = deployed["Resources"][template.CONSOLE_ADDRESSES]
    assert addresses["Type"] == "AWS::WAFv2::IPSet"
    assert addresses["Properties"]["Addresses"] == ["203.0.113.0/24", "198.51.100.7/32"]
    assert addresses["Properties"]["Scope"] == "REGIONAL" and addresses["Properties"]["IPAddressVersion"] == "IPV4"
    console, rate = sorted(deployed["Resources"]["ApiFirewall"]["Properties"]["Rules"], key=lambda r: r["Priority"])
    assert "RateBasedStatement" in rate["Statement"] and console["Priority"] < rate["Priority"]
    assert console["Action"]["Block"]["CustomResponse"]["ResponseCode"] == 403
    body = console["Action"]["Block"]["CustomResponse"]["CustomResponseBodyKey"]
    assert body in deployed["Resources"]["ApiFirewall"]["Properties"]["CustomResponseBodies"]
    path, outside = console["Statement"]["AndStatement"]["Statements"]
    assert outside == {"NotStatement": {"Statement": {"IPSetReferenceStatement": {
        "Arn": {"Fn::GetAtt": [template.CONSOLE_ADDRESSES, "Arn"]}}}}}
    regex = path["RegexMatchStatement"]
    assert regex["FieldToMatch"] == {"UriPath": {}}
    assert [t["Type"] for t in sorted(regex["TextTransformations"], key=lambda t: t["Priority"])] == [
        "URL_DECODE", "NORMALIZE_PATH", "LOWERCASE"]
    assert all(re.search(regex["RegexString"], path) for path in CONSOLE_PATHS)
    assert not any(re.search(regex["RegexString"], path) for path in OTHER_PATHS)


@pytest.mark.parametrize(("cidrs", "accepted"), [
    ("", True), ("203.0.113.0/24", True), ("203.0.113.0/24,198.51.100.7/32,10.0.0.0/8", True),
    ("203.0.113.0/24, 198.51.100.7/32", False), ("203.0.113.0", False), ("0.0.0.0/0", False),
    ("256.0.0.0/8", False), ("2001:db8::/32", False), ("203.0.113.0/24,", False)])
def test_console_ranges_are_ipv4_ranges_separated_by_commas(generated, cidrs, accepted):
    pattern = generated["Parameters"]["ConsoleAllowedCidrs"]["AllowedPattern"]
    assert bool(re.fullmatch(pattern, cidrs)) is accepted


# The roles -----------------------------------------------------------------------------------


@dataclass
class Policy:
    """One role's policy from the template, with ARNs resolved for tables named `<prefix><name>`."""

    resources: dict[str, Any]
    role: str
    prefix: str

    @property
    def statements(self) -> list[dict[str, Any]]:
        policies = self.resources[self.role]["Properties"]["Policies"]
        assert len(policies) == 1, "the merge replaces chalice's policy with exactly one"
        return policies[0]["PolicyDocument"]["Statement"]

    def table_arn(self, name: str, index: str | None = None) -> str:
        arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{self.prefix}{name}"
        return f"{arn}/index/{index}" if index else arn

    def _resource_arn(self, logical_id: str) -> str:
        resource = self.resources[logical_id]
        if resource.get("Type") == "AWS::DynamoDB::Table":
            name = resource["Properties"]["TableName"]["Fn::Sub"].removeprefix("${TablePrefix}")
            return self.table_arn(name)
        return f"arn:aws:other:{REGION}:{ACCOUNT}:{logical_id}"

    def resolve(self, value: Any) -> str:
        if isinstance(value, str):
            return value
        ((function, argument),) = value.items()
        if function == "Ref":
            return self._resource_arn(argument)
        if function == "Fn::GetAtt":
            logical_id, attribute = argument
            suffix = {"Arn": "", "StreamArn": "/stream/2026-01-01T00:00:00.000"}[attribute]
            return self._resource_arn(logical_id) + suffix
        assert function == "Fn::Sub" and isinstance(argument, str), value
        pseudo = {"AWS::Partition": "aws", "AWS::Region": REGION, "AWS::AccountId": ACCOUNT}

        def variable(match: re.Match) -> str:
            name = match.group(1)
            if name.endswith(".Arn"):
                return self._resource_arn(name.removesuffix(".Arn"))
            return pseudo.get(name, f"<{name}>")

        return re.sub(r"\$\{([^}]+)\}", variable, argument)

    def allows(self, action: str, arn: str) -> bool:
        for statement in self.statements:
            if statement["Effect"] != "Allow":
                continue
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            targets = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            if any(fnmatch.fnmatchcase(action, pattern) for pattern in actions) and any(
                    fnmatch.fnmatchcase(arn, self.resolve(target)) for target in targets):
                return True
        return False


def _policy(resources: dict[str, Any], function: str, prefix: str = "escrowdesk-prod-") -> Policy:
    return Policy(resources, ROLES[function], prefix)


def test_dynamodb_is_granted_only_on_the_stacks_tables_never_on_star(resources):
    tables_ids = set(_of_type(resources, "AWS::DynamoDB::Table"))
    for function in FUNCTIONS:
        for statement in _policy(resources, function).statements:
            actions = statement["Action"]
            assert "*" not in "".join(actions), statement
            if not any(action.startswith("dynamodb:") for action in actions):
                continue
            assert all(action.startswith("dynamodb:") for action in actions), statement
            for target in statement["Resource"]:
                assert isinstance(target, dict), f"{function}: a literal DynamoDB resource {target!r}"
                referenced = target.get("Fn::GetAtt", [None])[0] or re.match(r"\$\{(\w+)\.Arn\}", target["Fn::Sub"])[1]
                assert referenced in tables_ids, target


def test_each_function_reaches_only_its_tables(resources):
    stream, jobs, timers, api = (_policy(resources, function) for function in (STREAM, JOBS, TIMERS, API))
    deals, accounts, journal = (stream.table_arn(name) for name in ("deals", "accounts", "journal"))
    for action in (*TABLE_WRITES, "GetItem", "Query", "Scan"):
        for table in (deals, accounts, journal):
            assert not stream.allows(f"dynamodb:{action}", table), (action, table)
    assert stream.allows("dynamodb:UpdateItem", stream.table_arn("notifications"))
    assert stream.allows("dynamodb:GetRecords", stream.resolve({"Fn::GetAtt": ["NotificationsTable", "StreamArn"]}))
    assert not jobs.allows("dynamodb:GetRecords", stream.resolve({"Fn::GetAtt": ["NotificationsTable", "StreamArn"]}))
    for name in ("users", "invoices", "payments", "gigs", "idempotency", "messages", "team"):
        for action in TABLE_WRITES:
            if (name, action) == ("payments", "PutItem"):
                continue  # a refund the acquirer refused on a retry, parked for an operator: asserted below
            assert not jobs.allows(f"dynamodb:{action}", jobs.table_arn(name)), (action, name)
            assert not timers.allows(f"dynamodb:{action}", timers.table_arn(name)), (action, name)
    for policy in (jobs, timers):  # the refused refund's parked payment is only ever added
        assert policy.allows("dynamodb:PutItem", policy.table_arn("payments"))
    for action in (*TABLE_WRITES, "GetItem", "Query", "Scan"):
        assert not jobs.allows(f"dynamodb:{action}", deals), action  # it only sends the shards on
    for action in ("GetItem", "Query", "Scan", "DeleteItem", "ConditionCheckItem"):
        for table in (accounts, journal):  # a refused refund's money moves, in one transaction; nothing else
            assert not jobs.allows(f"dynamodb:{action}", table), (action, table)
    assert jobs.allows("dynamodb:PutItem", journal) and not jobs.allows("dynamodb:UpdateItem", journal)
    assert jobs.allows("dynamodb:UpdateItem", accounts) and not jobs.allows("dynamodb:PutItem", accounts)
    assert timers.allows("dynamodb:Query", timers.table_arn("deals", "by_due"))
    assert timers.allows("dynamodb:BatchGetItem", timers.table_arn("deals"))
    assert not timers.allows("dynamodb:Query", timers.table_arn("deals", "by_client"))
    assert not timers.allows("dynamodb:Scan", timers.table_arn("deals"))
    assert not timers.allows("dynamodb:GetItem", timers.table_arn("users"))
    queue = jobs.resolve({"Fn::GetAtt": [template.TIMER_QUEUE, "Arn"]})
    assert jobs.allows("sqs:SendMessage", queue) and not jobs.allows("sqs:ReceiveMessage", queue)
    for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"):  # Lambda's SQS trigger
        assert timers.allows(action, queue) and not jobs.allows(action, queue), action
    assert not timers.allows("sqs:SendMessage", queue)
    assert not any(policy.allows("sqs:SendMessage", queue) for policy in (api, stream))
    assert api.allows("dynamodb:DeleteItem", api.table_arn("deals"))
    assert not api.allows("dynamodb:DeleteItem", api.table_arn("accounts"))
    assert not api.allows("dynamodb:Scan", api.table_arn("deals"))
    assert api.allows("dynamodb:Scan", api.table_arn("accounts"))


def test_the_audit_log_is_append_only_for_every_function(resources):
    for function in FUNCTIONS:
        policy = _policy(resources, function)
        for action in ("UpdateItem", "DeleteItem", "BatchWriteItem"):
            assert not policy.allows(f"dynamodb:{action}", policy.table_arn("audit_log")), (function, action)
    api = _policy(resources, API)
    assert api.allows("dynamodb:PutItem", api.table_arn("audit_log"))
    for index in ("by_actor", "by_month"):
        assert api.allows("dynamodb:Query", api.table_arn("audit_log", index))
    assert not api.allows("dynamodb:Scan", api.table_arn("audit_log"))


def _grants(resources: dict[str, Any], function: str, service: str) -> list[dict[str, Any]]:
    return [s for s in _policy(resources, function).statements if any(a.startswith(service) for a in s["Action"])]


def test_s3_only_for_the_api_ses_only_for_the_mailers_and_each_its_own_logs(resources):
    for function in FUNCTIONS:
        s3 = _grants(resources, function, "s3:")
        assert (function in template.USES_FILES) == bool(s3), function
        ses = _grants(resources, function, "ses:")
        assert (function in template.SENDS_MAIL) == bool(ses), function
        assert all(s["Action"] == ["ses:SendEmail"] and "${MailIdentity}" in s["Resource"][0]["Fn::Sub"] for s in ses)
        logs = _grants(resources, function, "logs:")
        assert [s["Resource"] for s in logs] == [[{"Fn::GetAtt": [f"{function}LogGroup", "Arn"]}]]
        assert resources[function]["Properties"]["LoggingConfig"] == {"LogGroup": {"Ref": f"{function}LogGroup"}}
        stream = _grants(resources, function, "dynamodb:GetRecords")
        assert (function == STREAM) == bool(stream), function
    files, uploads = _grants(resources, API, "s3:")
    assert sorted(files["Action"]) == ["s3:GetObject", "s3:PutObject"]
    assert files["Resource"] == [{"Fn::Sub": "${FilesBucket.Arn}/deliverables/*"}]
    assert sorted(uploads["Action"]) == ["s3:GetObject", "s3:PutObject", "s3:PutObjectTagging"]
    assert uploads["Resource"] == [{"Fn::Sub": "${FilesBucket.Arn}/uploads/*"}]
    (thumbnails,) = _grants(resources, UPLOADS, "s3:")
    assert thumbnails["Resource"] == [{"Fn::Sub": "${FilesBucket.Arn}/uploads/*"}]


def test_alarms_on_every_function_the_api_and_the_stream(resources):
    alarms = _of_type(resources, "AWS::CloudWatch::Alarm")
    watched = {(a["Properties"]["MetricName"], json.dumps(a["Properties"]["Dimensions"], sort_keys=True))
               for a in alarms.values()}
    for function in FUNCTIONS:
        dimensions = json.dumps([{"Name": "FunctionName", "Value": {"Ref": function}}], sort_keys=True)
        assert ("Errors", dimensions) in watched and ("Throttles", dimensions) in watched, function
    assert ("IteratorAge", json.dumps([{"Name": "FunctionName", "Value": {"Ref": STREAM}}], sort_keys=True)) in watched
    api_name, stage = template._chalice_stage()
    assert ("5XXError", json.dumps([{"Name": "ApiName", "Value": api_name}, {"Name": "Stage", "Value": stage}],
                                   sort_keys=True)) in watched
    for alarm in alarms.values():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    assert resources["AlarmTopic"]["Properties"]["Subscription"] == [
        {"Protocol": "email", "Endpoint": {"Ref": "AlarmEmail"}}]


# What the functions really do ----------------------------------------------------------------

TRANSACT_ACTIONS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                    "ConditionCheck": "ConditionCheckItem", "Get": "GetItem"}


# SQS API calls and the IAM actions that authorize them
QUEUE_ACTIONS = {"SendMessage": "sqs:SendMessage", "SendMessageBatch": "sqs:SendMessage"}


@dataclass
class Recorder:
    """Every DynamoDB request as (function, IAM action, table, index), every SQS request as (function,
    IAM action, queue URL), who sent e-mail and who asked the card acquirer."""

    function: str | None = API
    requests: set[tuple[str, str, str, str | None]] = field(default_factory=set)
    queue_requests: set[tuple[str, str, str]] = field(default_factory=set)
    mailers: set[str] = field(default_factory=set)
    acquirer_callers: set[str] = field(default_factory=set)
    secrets_read: set[tuple[str, str]] = field(default_factory=set)

    def queue_call(self, params: dict, model: Any, **_: Any) -> None:
        if self.function is not None:
            self.queue_requests.add((self.function, QUEUE_ACTIONS[model.name], params["QueueUrl"]))

    def __call__(self, params: dict, model: Any, **_: Any) -> None:
        if self.function is None:
            return
        if model.name in ("TransactWriteItems", "TransactGetItems"):
            for item in params["TransactItems"]:
                ((kind, body),) = item.items()
                self.requests.add((self.function, TRANSACT_ACTIONS[kind], body["TableName"], None))
        elif model.name in ("BatchGetItem", "BatchWriteItem"):
            self.requests.update((self.function, model.name, table, None) for table in params["RequestItems"])
        else:
            self.requests.add((self.function, model.name, params["TableName"], params.get("IndexName")))

    def of(self, function: str) -> set[tuple[str, str, str | None]]:
        return {(action, table, index) for who, action, table, index in self.requests if who == function}


@pytest.fixture
def recorder(store, monkeypatch):
    """Hooks every DynamoDB client made from now on (PynamoDB makes its own on first use)."""
    from chalicelib.adapters.mail import SinkSender
    from chalicelib.services import notifications

    recording = Recorder()
    original = botocore.session.Session.create_client

    @functools.wraps(original)
    def create_client(session, service_name, *args, **kwargs):
        client = original(session, service_name, *args, **kwargs)
        if service_name == "dynamodb":
            client.meta.events.register("before-parameter-build.dynamodb", recording)
        elif service_name == "sqs":
            client.meta.events.register("before-parameter-build.sqs", recording.queue_call)
        return client

    class RecordingSender(SinkSender):
        def send(self, **kwargs):
            recording.mailers.add(recording.function or "?")
            super().send(**kwargs)

    read_secret = secret_store._document

    def recording_read(name: str, *, fresh: bool = False) -> dict:
        if recording.function is not None:
            recording.secrets_read.add((recording.function, name))
        return read_secret(name, fresh=fresh)

    monkeypatch.setattr(botocore.session.Session, "create_client", create_client)
    monkeypatch.setattr(notifications, "get_sender", RecordingSender)
    get_acquirer = acquirer.get_acquirer

    def recording_acquirer() -> acquirer.Acquirer:
        recording.acquirer_callers.add(recording.function or "?")
        return get_acquirer()

    monkeypatch.setattr(acquirer, "get_acquirer", recording_acquirer)
    monkeypatch.setattr(secret_store, "_document", recording_read)
    return recording


class FakeContext:
    function_name = "escrowdesk-prod-function"
    memory_limit_in_mb = 1024
    invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:escrowdesk-prod-function"
    aws_request_id = "req-1"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 30_000


SCHEDULE_EVENT = {"version": "0", "id": "evt-1", "detail-type": "Scheduled Event", "source": "aws.events",
                  "account": ACCOUNT, "time": "2026-01-01T00:00:00Z", "region": REGION,
                  "resources": [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/every-minute"], "detail": {}}


def _stream_event(records: list[NotificationModel]) -> dict:
    return {"Records": [{
        "eventID": f"e{i}", "eventName": "INSERT", "eventSource": "aws:dynamodb", "awsRegion": REGION,
        "eventSourceARN": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/x/stream/1",
        "dynamodb": {"Keys": {"user_id": {"S": r.user_id}, "id": {"S": r.id}}, "SequenceNumber": str(i),
                     "ApproximateCreationDateTime": 1790000000, "SizeBytes": 10, "StreamViewType": "NEW_IMAGE"},
    } for i, r in enumerate(records)]}


def _timer_queue(monkeypatch) -> tuple[str, str]:
    """The stack's timer queue, on moto: (its URL, now TIMER_QUEUE_URL; its ARN)."""
    import boto3

    from chalicelib.platform import config

    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="escrowdesk-prod-timers")["QueueUrl"]
    monkeypatch.setenv("TIMER_QUEUE_URL", url)
    config.reload()
    return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def _queue_event(url: str, arn: str) -> dict:
    """What Lambda's SQS trigger hands the timer function, one message per event (batch size 1)."""
    import boto3

    (message,) = boto3.client("sqs", region_name=REGION).receive_message(QueueUrl=url)["Messages"]
    return {"Records": [{"messageId": message["MessageId"], "receiptHandle": message["ReceiptHandle"],
                         "body": message["Body"], "attributes": {}, "messageAttributes": {},
                         "md5OfBody": message["MD5OfBody"], "eventSource": "aws:sqs", "eventSourceARN": arn,
                         "awsRegion": REGION}]}


def _pending() -> list[NotificationModel]:
    """What the stream has not handed over yet: pending, in no retry queue."""
    return [r for r in NotificationModel.scan(consistent_read=True)
            if r.email_state == "pending" and r.email_queue is None]


def test_each_role_allows_every_request_its_function_makes(recorder, api, deal, store, resources, monkeypatch):
    """The API funds a client, orders a gig, takes a stray payment (for the operators) and a payout the
    bank does not get, a site reports usage, and a card top-up is paid twice, its duplicate's refund lost; the
    stream handler finds the mail service down and the operators' list unreadable, and queues all of it for retry;
    a day later the scheduled job sends the timer shards to the timer queue, e-mails what failed, fans the stray
    payment out, resends the payout and asks the refund again (the acquirer refuses it: parked for an operator),
    and the timer function fires the order's timer, refreshes the site's counters and asks again the refund of a
    second site's duplicate link payment (refused too: parked) from the queue's messages; on the 1st of the next
    month it issues the site's invoice; the stream handler then e-mails the new notifications and fans a
    second stray payment out to the operators. Each DynamoDB and SQS request must pass its function's
    role; the job, the timer function and the stream must use every grant they have; only the job
    and the stream send e-mail, and exactly the functions given the acquirer's address and key ask it."""
    import app as app_module
    from chalicelib.services import accounts, notifications, payouts, timers

    recorder.function = None  # staff create operators with the CLI, not through a function
    accounts.create_operator("ops@escrowdesk.local", "operator-pass")

    recorder.function = API
    place_order(api, deal)
    assert api.webhook(transfer_event("evt-stray-1", 4200, "GBP", "no number here")).status_code == 200

    class Unreachable:
        def request_payout(self, payout):
            raise ConnectionError("bank down")

    with monkeypatch.context() as patched:
        patched.setattr(payouts, "get_bank", Unreachable)
        payout = api.post("/v1/payouts", {"amount": 5000, "currency": "USD",
                                          "destination": {"type": "card", "number": "4111 1111 1111 1111"}},
                          token=deal["client"])
    assert payout.status_code == 201, payout.body
    recorder.function = AUDIT
    audited = app_module.audit_books(SCHEDULE_EVENT, FakeContext())
    assert audited["entries"] >= 1 and audited["accounts"] >= 1 and audited["imbalances"] == 0, audited
    recorder.function = API
    operator = api.post("/v1/auth/login", {"email": "ops@escrowdesk.local", "password": "operator-pass"})
    add_tariffs(api, operator.json_body["token"])
    site = new_site(api, deal["client"])
    assert report(api, site["id"], key_for(api, deal["client"], site["id"]), event_id="e1", orders=2).status_code == 200
    paying = new_site(api, deal["client"], domains=("paying.example.ua",))  # saves a card: charged on the 1st
    started = api.post(f"/v1/sites/{paying['id']}/payment-method", token=deal["client"]).json_body
    acquirer.LocalAcquirer().answer(started["payment_id"], True)
    for body in acquirer.LocalAcquirer().take_outbox():
        raw = json.dumps(body).encode()
        assert api.post("/v1/webhooks/acquirer", raw=raw,
                        headers={"X-Acquirer-Signature": acquirer.sign(raw)}).status_code == 200
    topup = api.post("/v1/topups", {"amount": 5000, "currency": "USD"}, token=deal["client"]).json_body
    clock.advance(31 * 60)
    renewed = api.post(f"/v1/topups/{topup['id']}/payment-link", token=deal["client"]).json_body
    fake = acquirer.LocalAcquirer()
    fake.answer(topup["payment_url"].rstrip("/").rsplit("/", 1)[1], True)
    fake.answer(renewed["payment_id"], True)  # a duplicate: its refund, lost, is the job's to ask again
    fake.arm(renewed["payment_id"], "timeout")
    for body in fake.take_outbox():
        raw = json.dumps(body).encode()
        assert api.post("/v1/webhooks/acquirer", raw=raw,
                        headers={"X-Acquirer-Signature": acquirer.sign(raw)}).status_code == 200
    fake.arm(renewed["payment_id"], "refuse")  # the job's retry is refused: the money is parked for an operator
    twice = new_site(api, deal["client"], domains=("twice.example.ua",))  # its first invoice paid by two links
    (invoice,) = invoices(api, deal["client"], twice["id"])
    link = f"/v1/sites/{twice['id']}/invoices/{invoice['id']}/payment-link"
    first_link = api.post(link, token=deal["client"]).json_body
    clock.advance(31 * 60)
    second_link = api.post(link, token=deal["client"]).json_body
    fake.answer(first_link["payment_id"], True)
    fake.answer(second_link["payment_id"], True)
    site_card = fake.load(second_link["payment_id"])["card"]["token"]
    fake.arm(site_card, "timeout")  # the duplicate's refund is lost: the site's resend_refund asks again
    assert [answer["outcome"] for answer in deliver(api)] == ["applied", "duplicate"]
    fake.arm(site_card, "refuse")  # and the timer's retry is refused: the money is parked for an operator

    recorder.function = None
    failing = _pending()
    recorder.function = STREAM

    class Down:
        def send(self, **kwargs):
            raise ConnectionError("SES unavailable")

    def unreadable(role):
        raise ConnectionError("throttled")

    with monkeypatch.context() as down:
        down.setattr(notifications, "get_sender", Down)
        down.setattr(notifications, "_members", unreadable)
        outcome = app_module.on_notification_record(_stream_event(failing), FakeContext())
    assert set(outcome) <= {"failed_will_retry", "queued_for_retry", "not_emailed"}, outcome
    assert outcome["queued_for_retry"] == 1  # the stray payment's broadcast

    recorder.function = None  # the stack creates the queue
    queue_url, queue_arn = _timer_queue(monkeypatch)
    clock.advance(timedelta(hours=25).total_seconds())
    recorder.function = JOBS
    outcome = app_module.run_scheduled_jobs(SCHEDULE_EVENT, FakeContext())
    groups = timers.shard_groups()
    assert outcome["fire_due_timers"] == {"groups": len(groups), "shards": store.timer_shards}, outcome
    assert outcome["retry_unsent_email"]["sent"] >= 1, outcome
    assert outcome["resend_payout_requests"]["sent"] == 1, outcome
    assert outcome["resend_card_refunds"] == {"asked": 1, "refused": 1}, outcome

    def fire_queued() -> int:
        fired = []
        for _ in groups:
            recorder.function = None
            event = _queue_event(queue_url, queue_arn)
            recorder.function = TIMERS
            fired.append(app_module.fire_timer_shards(event, FakeContext())["fired"])
        return sum(fired)

    assert fire_queued() == 3  # the order's auto-cancel, the site's counters, the refused refund's resend_refund
    tariffs.forget()
    clock.advance(timedelta(days=32).total_seconds())
    fired = 0
    for _ in range(6):  # a deal's timers fire one a run: the first site falls past due, then the month's invoices
        recorder.function = JOBS
        app_module.run_scheduled_jobs(SCHEDULE_EVENT, FakeContext())
        fired += fire_queued()
    assert fired >= 4  # reminded, past due, the month's invoice of each site (the second's card charged)
    recorder.function = None
    assert any(p.purpose == "autopay" for p in CardPaymentModel.scan())
    parked = {p.id for p in CardPaymentModel.scan() if p.outcome == "parked" and p.status == "succeeded"}
    assert parked == {renewed["payment_id"], second_link["payment_id"]}  # both refusals parked for an operator

    recorder.function = API
    assert api.webhook(transfer_event("evt-stray-2", 4300, "GBP", "no number here either")).status_code == 200
    image = upload(api, deal["client"], "sketch.png", png(), "image/png")
    recorder.function = UPLOADS
    stored = json.dumps({"Records": [{"eventName": "ObjectCreated:Post",
                                      "s3": {"object": {"key": f"uploads/files/{image}"}}}]})
    assert app_module.on_upload_stored({"Records": [{
        "messageId": "m1", "receiptHandle": "r1", "body": stored, "attributes": {}, "messageAttributes": {},
        "md5OfBody": "", "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:eu-central-1:0:uploads",
        "awsRegion": REGION}]}, FakeContext()) == {"processed": 1}

    recorder.function = None
    first = _pending()
    recorder.function = STREAM
    app_module.on_notification_record(_stream_event(first), FakeContext())
    recorder.function = None
    copies = _pending()
    assert copies and all(r.user_id != "role:operator" for r in copies)
    recorder.function = STREAM
    app_module.on_notification_record(_stream_event(copies), FakeContext())
    recorder.function = None
    assert _pending() == []

    prefix = store.table_prefix
    denied = []
    for function in FUNCTIONS:
        policy = _policy(resources, function, prefix)
        requests = recorder.of(function)
        assert requests, f"nothing recorded for {function}: is the hook on PynamoDB's client?"
        for action, table, index in sorted(requests, key=str):
            assert table.startswith(prefix), table
            if not policy.allows(f"dynamodb:{action}", policy.table_arn(table.removeprefix(prefix), index)):
                denied.append((function, action, table, index))
    assert denied == [], ("grant these in infra/template.py (API_EXTRA_ACTIONS, JOB_ACCESS, STREAM_ACCESS),"
                          " then run python -m infra.template")

    declared = template.table_access()
    for function in (JOBS, TIMERS, STREAM, AUDIT, UPLOADS):
        used = {(action, table.removeprefix(prefix), index) for action, table, index in recorder.of(function)}
        granted = {(action, table, None) for table, grant in declared[function].items() for action in grant.actions}
        granted |= {("Query", table, index) for table, grant in declared[function].items() for index in grant.indexes}
        assert granted == used, f"{function}: granted, unused {granted - used}; used, not granted {used - granted}"

    assert recorder.mailers == set(template.SENDS_MAIL)
    assert recorder.acquirer_callers == set(template.CHARGES_CARDS)  # each given ACQUIRER_URL and the merchant's token
    assert all("acquirer-key" in template.SECRETS_READ[function] for function in recorder.acquirer_callers)

    read = {function: {name for who, name in recorder.secrets_read if who == function} for function in FUNCTIONS}
    assert all(read[function] <= template.SECRETS_READ[function] for function in FUNCTIONS), (
        "grant these in infra/template.py (SECRETS_READ)", read)
    assert read[API] >= {"jwt", "bank-webhook", "acquirer-webhook"}

    queue = _policy(resources, JOBS).resolve({"Fn::GetAtt": [template.TIMER_QUEUE, "Arn"]})
    assert {(who, action) for who, action, url in recorder.queue_requests} == {(JOBS, "sqs:SendMessage")}
    assert {url for _, _, url in recorder.queue_requests} == {queue_url}
    assert _policy(resources, JOBS).allows("sqs:SendMessage", queue)



def test_the_api_role_allows_every_request_of_every_route(recorder, api, store, resources):
    """Every route, called by every kind of caller on the authorization matrix's world (an order with
    an extra, an offer, a project and contract, tasks, a payout, a parked payment…): each DynamoDB
    request the API makes must pass the API's role."""
    from tests.unit.test_authz_matrix import EVERYONE, _rows, _world, credentials

    recorder.function = API
    world = _world(api)
    for n, row in enumerate(_rows(world)):
        for who in sorted(EVERYONE):
            token, extra = credentials(world, who)
            keyed = {"Idempotency-Key": f"key-{n}-{who}"} if row.method == "POST" else {}
            api.request(row.method, row.path, row.body, token=token, headers={**row.headers, **extra, **keyed})
    prefix = store.table_prefix
    policy = _policy(resources, API, prefix)
    used = recorder.of(API)
    assert {table.removeprefix(prefix) for _, table, _ in used} >= {"deals", "accounts", "journal", "payouts",
                                                                   "projects", "team", "idempotency"}
    denied = sorted({(action, table, index) for action, table, index in used
                     if not policy.allows(f"dynamodb:{action}", policy.table_arn(table.removeprefix(prefix), index))},
                    key=str)
    assert denied == [], "grant these to the API in infra/template.py, then run python -m infra.template"


# The packaged stack: runtime, architecture, tables, alarms, the dashboard, SnapStart ----------------


@pytest.fixture(scope="module")
def packaged(tmp_path_factory) -> dict[str, Any]:
    """What `make template` deploys, but the bundle: chalice's own template for the prod stage, merged with
    infra/resources.json and wired by infra/snapstart.py, with chalice's dependency build stubbed (a
    one-file zip), so no pip, no network."""
    import hashlib
    import zipfile
    from unittest import mock

    from chalice.awsclient import TypedAWSClient
    from chalice.cli.factory import CLIFactory
    from chalice.deploy.packager import LambdaDeploymentPackager
    from chalice.package import PackageOptions, create_app_packager

    out = tmp_path_factory.mktemp("package")
    stub = out / "built.zip"
    with zipfile.ZipFile(stub, "w") as archive:
        archive.writestr("app.py", "")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_DEFAULT_REGION", REGION)
        factory = CLIFactory(str(template.ROOT))
        config = factory.create_config_obj(chalice_stage_name=template.STAGE)
        options = PackageOptions(TypedAWSClient(factory.create_botocore_session()))
        with mock.patch.object(LambdaDeploymentPackager, "create_deployment_package", return_value=str(stub)):
            create_app_packager(config, options, merge_template=str(template.TEMPLATE_PATH)).package_app(
                config, str(out / "cloudformation"), template.STAGE)
    built = json.loads((out / "cloudformation" / "sam.json").read_text(encoding="utf-8"))
    return snapstart.wire(built, hashlib.sha256(stub.read_bytes()).hexdigest())


def test_functions_run_python_3_13_on_arm64(packaged):
    functions = _of_type(packaged["Resources"], "AWS::Serverless::Function")
    assert set(functions) == set(FUNCTIONS)
    for name, function in functions.items():
        assert function["Properties"]["Runtime"] == "python3.13", name
        assert function["Properties"]["Architectures"] == ["arm64"], name


def test_every_table_is_protected_from_deletion_recoverable_and_kept(packaged):
    found = _of_type(packaged["Resources"], "AWS::DynamoDB::Table")
    assert set(found) == {tables.logical_id(logical_name(model)) for model in ALL_MODELS}
    for name, table in found.items():
        assert table["Properties"]["DeletionProtectionEnabled"] is True, name
        assert table["Properties"]["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}, name
        assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain", name


def test_items_that_expire_have_ttl_on_their_table(resources):
    ttl = {logical_name(model): model.Meta.ttl_attribute for model in ALL_MODELS
           if getattr(model.Meta, "ttl_attribute", None)}
    assert ttl, "the models declare which items expire"
    for name, attribute in ttl.items():
        assert resources[tables.logical_id(name)]["Properties"]["TimeToLiveSpecification"] == {
            "AttributeName": attribute, "Enabled": True}, name


def _alarm_on(resources: dict[str, Any], namespace: str, metric: str) -> dict[str, Any]:
    (alarm,) = [a["Properties"] for a in _of_type(resources, "AWS::CloudWatch::Alarm").values()
                if a["Properties"]["Namespace"] == namespace and a["Properties"]["MetricName"] == metric]
    assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    return alarm


def test_an_alarm_for_each_thing_a_person_must_act_on(generated, resources):
    """5XX from the API; timers over 5 minutes late; an e-mail waiting over 15 minutes; any imbalance the
    books audit finds; a bank payment unmatched for over 2 hours. All to one topic, e-mailed to AlarmEmail."""
    from chalicelib.services import health

    assert generated["Parameters"]["AlarmEmail"]["AllowedPattern"]
    server_errors = _alarm_on(resources, "AWS/ApiGateway", "5XXError")
    assert (server_errors["Threshold"], server_errors["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")
    expected = {health.TIMER_LAG: 300, health.EMAIL_QUEUE_AGE: 900, health.BOOKS_IMBALANCES: 0,
                health.UNMATCHED_PAYMENT_AGE: 2 * 3600}
    for metric, threshold in expected.items():
        alarm = _alarm_on(resources, "Escrowdesk", metric)
        assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (threshold, "GreaterThanThreshold"), metric
        assert alarm["Statistic"] == "Maximum" and alarm["Dimensions"] == [{"Name": "service", "Value": "escrowdesk"}]
    assert _of_type(resources, "AWS::SNS::Topic").keys() == {"AlarmTopic"}


def _dashboard_metrics(resources: dict[str, Any]) -> list[list[Any]]:
    (dashboard,) = _of_type(resources, "AWS::CloudWatch::Dashboard").values()
    body = json.loads(dashboard["Properties"]["DashboardBody"]["Fn::Sub"])
    return [metric for widget in body["widgets"] for metric in widget["properties"]["metrics"]]


def test_the_dashboard_names_only_metrics_the_code_emits(resources, api, deal, store):
    """Given a funded order, a stray payment and a due timer, the every-minute job and the hourly audit
    emit every metric of ours that the dashboard shows, under the dimension it shows."""
    from chalicelib.platform.observability import metrics
    from chalicelib.services import health

    place_order(api, deal)
    assert api.webhook(transfer_event("evt-stray-dash", 4200, "GBP", "no number here")).status_code == 200
    clock.advance(timedelta(hours=25).total_seconds())
    metrics.clear_metrics()
    gauges = health.report_queues(clock.now())
    audit = health.audit_recent_books(clock.now() - timedelta(hours=24))
    emitted = set(metrics.metric_set)
    dimensions = dict(metrics.default_dimensions, service=metrics.service)
    metrics.clear_metrics()
    assert gauges[health.TIMER_LAG] > 0 and gauges[health.UNMATCHED_PAYMENTS] == 1, gauges
    assert audit["imbalances"] == 0, audit
    shown = _dashboard_metrics(resources)
    ours = [m for m in shown if m[0] == "Escrowdesk"]
    assert {m[1] for m in ours} == set(health.EMITTED) and set(health.EMITTED) <= emitted
    for metric in ours:
        assert dict(zip(metric[2:-1:2], metric[3:-1:2], strict=True)) == dimensions, metric
    others = {(m[0], m[1]) for m in shown if m[0] != "Escrowdesk"}
    assert others == {("AWS/ApiGateway", "Count"), ("AWS/ApiGateway", "4XXError"), ("AWS/ApiGateway", "5XXError"),
                      ("AWS/ApiGateway", "Latency"), ("AWS/SQS", "ApproximateAgeOfOldestMessage")}
    assert {m[-1]["stat"] for m in shown if m[1] == "Latency"} == {"p50", "p99"}


def test_the_snapstart_variant_calls_every_function_through_its_alias(packaged):
    """With SnapStart=true each function has a published version and the alias `live`, and the API's
    integrations, the invoke permissions, the schedules and both triggers name the alias; with it off they
    name the function, as chalice's template does."""
    resources = packaged["Resources"]
    assert packaged["Parameters"]["SnapStart"]["AllowedValues"] == ["true", "false"]
    assert packaged["Conditions"]["SnapStartOn"] == {"Fn::Equals": [{"Ref": "SnapStart"}, "true"]}
    versions = _of_type(resources, "AWS::Lambda::Version")
    aliases = _of_type(resources, "AWS::Lambda::Alias")
    for function in FUNCTIONS:
        properties = resources[function]["Properties"]
        assert "Events" not in properties, function
        assert properties["SnapStart"] == {"ApplyOn": {"Fn::If": ["SnapStartOn", "PublishedVersions", "None"]}}
        alias = aliases[f"{function}Live"]
        assert alias["Condition"] == "SnapStartOn" and alias["Properties"]["Name"] == "live"
        version_id = alias["Properties"]["FunctionVersion"]["Fn::GetAtt"][0]
        assert versions[version_id]["Condition"] == "SnapStartOn"
        assert versions[version_id]["Properties"]["FunctionName"] == {"Ref": function}
        assert "${ParametersDigest}" in versions[version_id]["Properties"]["Description"]["Fn::Sub"]

    def through_alias(value: Any, function: str) -> bool:
        return value == {"Fn::If": ["SnapStartOn", {"Ref": f"{function}Live"}, {"Ref": function}]} or (
            value == {"Fn::If": ["SnapStartOn", {"Ref": f"{function}Live"}, {"Fn::GetAtt": [function, "Arn"]}]})

    def function_of(value: Any) -> str:
        return value["Fn::If"][2].get("Ref") or value["Fn::If"][2]["Fn::GetAtt"][0]

    callers: dict[str, set[str]] = {function: set() for function in FUNCTIONS}
    for name, mapping in _of_type(resources, "AWS::Lambda::EventSourceMapping").items():
        target = mapping["Properties"]["FunctionName"]
        assert through_alias(target, function_of(target)), name
        callers[function_of(target)].add(name)
    for name, rule in _of_type(resources, "AWS::Events::Rule").items():
        (rule_target,) = rule["Properties"]["Targets"]
        assert through_alias(rule_target["Arn"], function_of(rule_target["Arn"])), name
        callers[function_of(rule_target["Arn"])].add(name)
    for name, permission in _of_type(resources, "AWS::Lambda::Permission").items():
        target = permission["Properties"]["FunctionName"]
        assert through_alias(target, function_of(target)), name
    assert callers[TIMERS] == {snapstart.event_id(TIMERS, template.TIMER_EVENT)}
    assert callers[STREAM] == {snapstart.event_id(STREAM, template.STREAM_EVENT)}
    assert callers[JOBS] and callers[AUDIT]
    stream = resources[snapstart.event_id(STREAM, template.STREAM_EVENT)]["Properties"]
    assert stream["EventSourceArn"] == {"Fn::GetAtt": ["NotificationsTable", "StreamArn"]}
    assert stream["BisectBatchOnFunctionError"] is True and stream["StartingPosition"] == "TRIM_HORIZON"
    assert stream["MaximumRetryAttempts"] == -1  # the only feed of the sending: retried until its records expire

    api_body = json.dumps(resources[template.REST_API]["Properties"]["DefinitionBody"])
    integrations = re.findall(r'"uri": (\{.*?\}\]\})', api_body)
    assert integrations
    for uri in integrations:
        when_on, when_off = json.loads(uri)["Fn::If"][1:]
        assert "${APIHandlerLive}" in when_on["Fn::Sub"] and "${APIHandler.Arn}" in when_off["Fn::Sub"], uri
    assert "${APIHandler.Arn}" not in re.sub(r'"uri": \{.*?\}\]\}', "", api_body)


def test_tracing_never_records_a_functions_answer_with_its_tokens_and_keys(packaged):
    """Powertools' tracer puts a traced method's return value into X-Ray unless told not to: sign-ups'
    tokens, site keys, payment links. Every function of the packaged prod stage says not to."""
    functions = _of_type(packaged["Resources"], "AWS::Serverless::Function")
    assert set(functions) == set(FUNCTIONS)
    for name, function in functions.items():
        variables = function["Properties"]["Environment"]["Variables"]
        assert variables.get("POWERTOOLS_TRACER_CAPTURE_RESPONSE") == "false", name
