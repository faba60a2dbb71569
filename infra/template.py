"""`python -m infra.template` writes `infra/resources.json`: what `chalice package --merge-template`
adds to chalice's own template so that one CloudFormation stack holds the whole service.

Chalice's template has the five functions (the REST API's `APIHandler`, the every-minute
`RunScheduledJobs`, the hourly `AuditBooks`, the timer queue's `FireTimerShards`, the notifications
stream's `OnNotificationRecord`), a role each, and the REST API.
The merge (chalice's `TemplateDeepMerger`: dictionaries merge, our values win, lists are replaced)
adds, from this module:

- the DynamoDB tables, built from the PynamoDB models by the same code as `infra/dynamodb.json`
  (on demand, point-in-time recovery, the notifications stream, TTL on idempotency records, every
  index), kept on stack deletion or replacement;
- the S3 bucket for deliverables and documents, the SES identity mail is sent as, the timer queue
  through which the schedule fans the timer shards out (one message, so one invocation, per group);
- the REST API's edge: gateway responses in the API's error shape (an unknown route is a 404 that
  never echoes the caller's Authorization header), `*/*` binary media types so files reach any caller
  as bytes, and a WAF web ACL whose rate-based rule is the outer limit per source address (and, when
  `ConsoleAllowedCidrs` is given, whose first rule lets only those ranges open `/console`);
- the parameters (the bank's payout endpoint, the sender, the alarm address, outside services' addresses), the
  secrets in Secrets Manager (keys, webhook secrets, outside services' tokens; `SECRETS_READ`), and every
  function's environment built from them and from the resources: a secret's ARN, never its value;
- the stream trigger pointed at the notifications table's real stream, the queue trigger at the timer
  queue, and X-Ray tracing on the REST API (the functions' active tracing is the stage's `xray`);
- each function's role policy, replaced by one that grants only what that function does: the
  DynamoDB actions on the tables and indexes it uses (`table_access()`), S3 for the API, SES for the
  functions that send e-mail, the stream for the stream function, the timer queue for the job (send)
  and the timer function (receive), `secretsmanager:GetSecretValue` on exactly the secrets it reads, its own
  log group, X-Ray;
- a log group per function, and alarms (errors, throttles, the API's 5XX, the stream's iterator age,
  a job that stops running, timers waiting on the queue) on an SNS topic that e-mails `AlarmEmail`;
- the operations dashboard and the alarms on the service's own metrics (infra/operations.py), and the
  SnapStart parameter and each function's SnapStart setting (infra/snapstart.py, which also wires the
  versions and the alias into the packaged template).

`tests/unit/test_cloud_template.py` keeps `infra/resources.json` in step with this module and runs the
job and the stream handler to check that `table_access()` covers every DynamoDB request they make.

Why one file of this size: the stack's resources are read as one document, in the order the template
shows them; the dashboard, SnapStart and the bundle already live in modules of their own."""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chalicelib.platform import secret_store
from chalicelib.store import tables
from chalicelib.store.models import ALL_MODELS, logical_name
from infra import operations, snapstart

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE_PATH = ROOT / "infra" / "resources.json"
CHALICE_CONFIG = ROOT / ".chalice" / "config.json"
STAGE = "prod"

# Chalice's logical ids for the functions (the handlers' names in CamelCase) and their roles.
API, JOBS, TIMERS, STREAM = "APIHandler", "RunScheduledJobs", "FireTimerShards", "OnNotificationRecord"
AUDIT, UPLOADS = "AuditBooks", "OnUploadStored"
FUNCTIONS = (API, JOBS, TIMERS, STREAM, AUDIT, UPLOADS)
ROLES = {API: "ApiHandlerRole", JOBS: "RunScheduledJobsRole", TIMERS: "FireTimerShardsRole",
         STREAM: "OnNotificationRecordRole", AUDIT: "AuditBooksRole", UPLOADS: "OnUploadStoredRole"}
STREAM_EVENT = "OnNotificationRecordDynamodbEventSource"
STREAM_TABLE = "notifications"
TIMER_EVENT = "FireTimerShardsSqsEventSource"
TIMER_QUEUE = "TimerQueue"
# A queued group of shards is only a reminder (the schedule sends every group again a minute later), so
# it lives 10 minutes; a receive hides it for 6x the function's timeout, as Lambda's SQS trigger asks.
TIMER_QUEUE_RETENTION_SECONDS = 600
TIMER_QUEUE_VISIBILITY_SECONDS = 180
# The files bucket tells this queue of each new upload (chalice cannot package `on_s3_event`); the upload
# function's trigger consumes it. A lost message only delays a thumbnail: the claim makes a missing one.
UPLOADS_EVENT = "OnUploadStoredSqsEventSource"
UPLOADS_QUEUE = "UploadsQueue"
UPLOADS_QUEUE_VISIBILITY_SECONDS = 360
UPLOADS_PREFIX = "uploads/"  # chalicelib/services/uploads.py: uploads/files/<id>, thumbnails uploads/thumbs/<id>.png
UPLOADED_FILES_PREFIX = "uploads/files/"
# An upload nothing claimed carries this tag (chalicelib/adapters/files.py UNCLAIMED_TAG) and is removed a day on.
UNCLAIMED_TAG = {"Key": "state", "Value": "unclaimed"}

TABLE_ACTIONS = ("BatchGetItem", "ConditionCheckItem", "DeleteItem", "GetItem", "PutItem", "Query", "Scan",
                 "UpdateItem")
FILES_PREFIX = "deliverables/"  # chalicelib/services/projects.py keys every upload under it
LOG_RETENTION_DAYS = 90


@dataclass(frozen=True)
class Access:
    """What one function does to one table: the actions on its items, and the indexes it queries."""

    actions: frozenset[str]
    indexes: frozenset[str] = frozenset()


def access(*actions: str, indexes: Iterable[str] = ()) -> Access:
    unknown = set(actions) - set(TABLE_ACTIONS)
    assert not unknown, f"not a table action: {unknown}"
    return Access(frozenset(actions), frozenset(indexes))


def _indexes() -> dict[str, frozenset[str]]:
    """Every table's global secondary indexes, from the models."""
    found: dict[str, set[str]] = {}
    for model in ALL_MODELS:
        names = found.setdefault(logical_name(model), set())
        names.update(index["index_name"] for index in model._get_schema()["global_secondary_indexes"])
    return {name: frozenset(indexes) for name, indexes in found.items()}


# The API serves every table: reads, queries (the tables and all their indexes), writes and
# transactions. It deletes only a B2B task's draft (services/tasks.delete) and a site's claims (a domain
# disconnected, a usage key replaced, a deleted site's: services/sites.py) and a paused or re-tagged gig's
# catalog rows (store/catalog.py), and scans only the accounts
# (services/balances.trial_balance, the operators' books) and the few tariffs (services/tariff_catalog).
# A list of deals reads its page in one batch (the deals' list indexes hold keys only: store/lookup.in_order).
API_ACTIONS = ("ConditionCheckItem", "GetItem", "PutItem", "Query", "UpdateItem")
API_EXTRA_ACTIONS = {"deals": ("DeleteItem", "BatchGetItem"), "accounts": ("Scan",), "tariffs": ("Scan",),
                     "keys": ("DeleteItem",), "catalog": ("DeleteItem",)}
# Tables whose items are only ever added: the operators' audit trail (store/audit_log.py puts each record once, in its
# act's transaction, on a key nobody has). The API's role may put and read them, never update or delete them.
APPEND_ONLY = frozenset({"audit_log"})


def _api_access() -> dict[str, Access]:
    grants: dict[str, Access] = {}
    for table, indexes in _indexes().items():
        actions = set(API_ACTIONS) | set(API_EXTRA_ACTIONS.get(table, ()))
        if table in APPEND_ONLY:
            actions -= {"UpdateItem", "DeleteItem", "BatchWriteItem"}
        grants[table] = access(*sorted(actions), indexes=indexes)
    return grants


# The scheduled job (chalicelib/entrypoints/jobs.py), one statement per job:
# - fire_due_timers (services/timers.dispatch): sends one message per group of timer shards to the
#   timer queue (SQS, below), touching no table;
# - retry_unsent_email (services/notifications.retry_unsent): queries `by_email_queue` (only the e-mails that
#   failed at the first try, and claims whose sender died), reads each notification, delivers it (the
#   recipient from users — or a site's contact person from sites — an operators' broadcast fanned out to the
#   members listed in keys) and sends it through SES;
# - resend_payout_requests (services/payouts.resend_unsent): queries the payouts' `by_queue` index,
#   asks the bank (over HTTPS) and marks each payout sent;
# - resend_card_refunds (services/card_payments.resend_refunds): queries the card payments' `by_refund` index,
#   marks each refund asked again and asks the acquirer (over HTTPS); a refund the acquirer refuses is parked for an
#   operator (card_payments.refund_refused: the card payment read and settled, a payment put on the operators'
#   queue, the journal entry moving it from card clearing to suspense with its accounts, the operators' notification,
#   one transaction);
# - report_queues (chalicelib/services/health.py): the first due timer of each shard of the deals' `by_due`, the
#   e-mail queue's first entry and the payments waiting on `by_queue`, as metrics.
JOB_ACCESS = {
    "notifications": access("GetItem", "PutItem", "UpdateItem", indexes=("by_email_queue",)),
    "users": access("GetItem"),
    "keys": access("GetItem"),
    "sites": access("GetItem"),
    "payouts": access("UpdateItem", indexes=("by_queue",)),
    "deals": access(indexes=("by_due",)),
    "payments": access("PutItem", indexes=("by_queue",)),
    "card_payments": access("GetItem", "UpdateItem", indexes=("by_refund",)),
    "journal": access("PutItem"),
    "accounts": access("UpdateItem"),
}

# The hourly books audit (chalicelib/services/health.audit_recent_books): scans the journal for its latest entries,
# reads each user account they touched and queries its journal lines, and counts the card charges pending.
AUDIT_ACCESS = {
    "journal": access("Query", "Scan"),
    "accounts": access("GetItem"),
    "card_payments": access("Scan"),
}

# The timer function (services/timers.fire_messages), one invocation per queued group of shards:
# queries each shard of the deals' `by_due` index, reads its due deals in a batch and fires each due timer through
# the engine (engine.apply), one transaction: the deal, the transition's money (a journal entry and its lines,
# the accounts), the contractor's rating counter (profiles, read first) with his listed gigs' catalog rows
# re-ranked (catalog), both parties' notifications and an order's thread entry (threads); a site's
# subscription reads its tariff (tariffs) and the finished days' usage (usage) first, and a month's
# invoice is a service invoice with its number's claim (keys); with a saved card the same transaction
# records the charge (card_payments), which is then asked of the acquirer (and the acquirer's own payment id
# written back on the charge once it answers); falling past due or being
# blocked lists the site's open invoices (service_invoices' by_site). A refund `resend_refund` asks again that the
# acquirer refuses is parked for an operator (card_payments.refund_refused): the card payment read and settled,
# a payment put on the operators' queue and the money moved to suspense, the site's deal read and told, in one
# transaction.
TIMER_ACCESS = {
    "deals": access("GetItem", "BatchGetItem", "UpdateItem", indexes=("by_due",)),
    "journal": access("PutItem"),
    "accounts": access("UpdateItem"),
    "profiles": access("GetItem", "UpdateItem"),
    "catalog": access("UpdateItem"),
    "notifications": access("PutItem"),
    "threads": access("PutItem"),
    "tariffs": access("GetItem"),
    "usage": access("GetItem"),
    "service_invoices": access("PutItem", indexes=("by_site",)),
    "keys": access("PutItem"),
    "card_payments": access("GetItem", "PutItem", "UpdateItem"),
    "payments": access("PutItem"),
}

# The stream function (services/notifications.deliver_stream_records): claims and marks each new
# notification, reads its recipient (users) or fans a broadcast out to the operators (keys, new
# notifications), reads a site's contact person for its billing e-mails (sites), and sends the e-mail
# through SES. It never touches deals, money or anything else.
STREAM_ACCESS = {
    "notifications": access("GetItem", "PutItem", "UpdateItem"),
    "users": access("GetItem"),
    "keys": access("GetItem"),
    "sites": access("GetItem"),
}


# The upload function (services/uploads.on_stored): reads the new upload's item and records its image's size and
# thumbnail on it.
UPLOADS_ACCESS = {
    "uploads": access("GetItem", "UpdateItem"),
}


def table_access() -> dict[str, dict[str, Access]]:
    """function → table (its logical name, as in the models) → what the function does to it."""
    return {API: _api_access(), JOBS: JOB_ACCESS, TIMERS: TIMER_ACCESS, STREAM: STREAM_ACCESS, AUDIT: AUDIT_ACCESS,
            UPLOADS: UPLOADS_ACCESS}


SENDS_MAIL = frozenset({JOBS, STREAM})  # notifications.deliver: from the stream, and the retry job
# services/projects, sites and uploads: presigned uploads, claims and download links; the upload function's
# thumbnails
USES_FILES = frozenset({API, UPLOADS})
USES_OUTSIDE_SERVICES = frozenset({API})  # the state registry and Vchasno (chalicelib/adapters)
# The card acquirer (chalicelib/adapters/acquirer.py): the API asks for payment pages and refunds, the timer function
# charges saved cards and asks a site's refunds again, the job asks a client's top-up refunds again.
CHARGES_CARDS = frozenset({API, JOBS, TIMERS})
# The timer queue: the job sends a message per group of shards, the timer function's trigger consumes them.
QUEUE_ACTIONS = {JOBS: ("sqs:SendMessage",),
                 TIMERS: ("sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage")}
# The S3 actions on uploads: the API signs the presigned POST (its PutObject with tagging), checks, tags and links
# claimed files; the upload function reads an image and writes and tags its thumbnail.
UPLOAD_ACTIONS = {API: ("s3:GetObject", "s3:PutObject", "s3:PutObjectTagging"),
                  UPLOADS: ("s3:GetObject", "s3:PutObject", "s3:PutObjectTagging")}

# The secrets each function reads from Secrets Manager (chalicelib/platform/secret_store.py): its environment names
# their ARNs and its role may read exactly those. The API reads them all (tokens, cursors, links; the webhooks; the
# acquirer, the registry and Vchasno; the operators' second factors). The job renders retried e-mails' one-time
# links (jwt), signs the payout requests it resends (bank-webhook) and asks the acquirer for top-up refunds again
# (acquirer-key); the timer function charges saved cards (acquirer-key); the stream renders one-time links; the
# books audit reads none.
SECRETS_READ: dict[str, frozenset[str]] = {
    API: frozenset(secret_store.SECRETS),
    JOBS: frozenset({"jwt", "bank-webhook", "acquirer-key"}),
    TIMERS: frozenset({"acquirer-key"}),
    STREAM: frozenset({"jwt"}),
    AUDIT: frozenset(),
    UPLOADS: frozenset(),  # thumbnails: it signs nothing
}
SECRET_DESCRIPTIONS = {
    "jwt": "HS256 keyring for bearer tokens, list cursors and links (JWT_SECRET)",
    "totp": "Keyring the operators' second factors are encrypted with at rest (TOTP_ENCRYPTION_KEY)",
    "bank-webhook": "HMAC key shared with the bank: its webhooks and our payout requests (BANK_WEBHOOK_SECRET)",
    "acquirer-webhook": "HMAC key the card acquirer signs its webhooks with (ACQUIRER_WEBHOOK_SECRET)",
    "acquirer-key": "The merchant's token at the card acquirer, sent as X-Token (ACQUIRER_KEY)",
    "vchasno-token": "The token Vchasno issued to the platform, sent as Authorization (VCHASNO_TOKEN)",
    "registry-token": "The registry service's bearer token (REGISTRY_TOKEN)",
}


def secret_id(name: str) -> str:
    """A secret's logical id: `jwt` → `JwtSecret`, `acquirer-key` → `AcquirerKeySecret`."""
    return "".join(part.capitalize() for part in name.split("-")) + "Secret"


# Parameters -----------------------------------------------------------------------------------

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_CIDR = rf"{_OCTET}(\.{_OCTET}){{3}}/(3[0-2]|[12][0-9]|[1-9])"  # an IPv4 range but /0 (WAF refuses it): 203.0.113.0/24
CIDRS_PATTERN = f"^({_CIDR}(,{_CIDR})*)?$"

PARAMETERS: dict[str, Any] = {
    "TablePrefix": {
        "Type": "String", "Default": "escrowdesk-prod-", "AllowedPattern": r"^[A-Za-z0-9_.-]*$",
        "Description": "Table names are <TablePrefix><name>",
    },
    "BankPayoutUrl": {
        "Type": "String", "AllowedPattern": r"^https://\S+$",
        "Description": "The bank's payout endpoint (BANK_PAYOUT_URL)",
    },
    "AcquirerUrl": {
        "Type": "String", "AllowedPattern": r"^https://\S*[^/\s]$",
        "Description": "The card acquirer's API, no trailing slash: payment pages, saved-card charges, refunds"
                       " (ACQUIRER_URL)",
    },
    "AppUrl": {
        "Type": "String", "AllowedPattern": r"^https://\S*[^/\s]$",
        "Description": "The API's public base address, no trailing slash, that links in e-mail point to (APP_URL):"
                       " https://<custom domain>, or the stack's EndpointURL output without its trailing slash",
    },
    "WebAppUrl": {
        "Type": "String", "AllowedPattern": r"^https://\S*[^/\s]$",
        "Description": "The marketplace's web client, no trailing slash, where e-mails' and notifications' links"
                       " lead (WEB_APP_URL; the paths per object are WEB_PATHS in .chalice/config.json)",
    },
    "MailFromAddress": {
        "Type": "String", "AllowedPattern": EMAIL_PATTERN,
        "Description": "The address e-mail is sent from (MAIL_FROM)",
    },
    "MailFromName": {
        "Type": "String", "Default": "escrowdesk", "AllowedPattern": r"^[^<>\"]+$",
        "Description": "The sender's display name (MAIL_FROM)",
    },
    "MailIdentityType": {
        "Type": "String", "Default": "domain", "AllowedValues": ["domain", "address"],
        "Description": "The SES identity to create and send as: the domain of MailFromAddress (verified by the DKIM"
                       " records in the outputs) or the address itself (verified by a link SES mails to it)",
    },
    "VchasnoUrl": {
        "Type": "String", "Default": "https://edo.vchasno.ua", "AllowedPattern": r"^https://\S*[^/\s]$",
        "Description": "Vchasno's API, no trailing slash: the company check and document uploads (VCHASNO_URL)",
    },
    "RegistryUrl": {
        "Type": "String", "AllowedPattern": r"^https://\S*[^/\s]$",
        "Description": "The state registry service: GET <url>/companies/<tax id> (REGISTRY_URL)",
    },
    "ApiRateLimit": {
        "Type": "Number", "Default": 2000, "MinValue": 10, "MaxValue": 2000000000,
        "Description": "The WAF's outer limit: requests one source address may send in 5 minutes before it is"
                       " refused (429) until its rate falls",
    },
    "ConsoleAllowedCidrs": {
        "Type": "String", "Default": "", "AllowedPattern": CIDRS_PATTERN,
        "Description": "The only IPv4 ranges the operator console (/console) answers, comma-separated without spaces"
                       " (203.0.113.0/24,198.51.100.7/32); empty: no restriction. Other addresses get a 403 from"
                       " the WAF",
    },
    "AlarmEmail": {
        "Type": "String", "AllowedPattern": EMAIL_PATTERN,
        "Description": "Where alarms are e-mailed (confirm the subscription SNS sends)",
    },
}

CONDITIONS = {"MailIdentityIsDomain": {"Fn::Equals": [{"Ref": "MailIdentityType"}, "domain"]},
              "ConsoleRestricted": {"Fn::Not": [{"Fn::Equals": [{"Ref": "ConsoleAllowedCidrs"}, ""]}]},
              **snapstart.CONDITIONS}


# Resources ------------------------------------------------------------------------------------

def table_ids() -> dict[str, str]:
    """table (logical name) → its CloudFormation logical id."""
    return {name: tables.logical_id(name) for name in _indexes()}


def _tables() -> dict[str, Any]:
    """The tables as the local stage has them, and here kept on stack deletion or replacement and
    protected from deletion (a `DeleteTable` call fails until the protection is turned off)."""
    resources = tables.cloudformation_resources()
    for resource in resources.values():
        resource["UpdateReplacePolicy"] = "Retain"
        resource["Properties"]["DeletionProtectionEnabled"] = True
    return resources


def _files() -> dict[str, Any]:
    bucket_arn = {"Fn::GetAtt": ["FilesBucket", "Arn"]}
    return {
        "FilesBucket": {
            "Type": "AWS::S3::Bucket",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "BucketEncryption": {"ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]},
                "PublicAccessBlockConfiguration": {
                    "BlockPublicAcls": True, "BlockPublicPolicy": True,
                    "IgnorePublicAcls": True, "RestrictPublicBuckets": True},
                "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
                # Every upload gets a new key; versions keep an overwritten or deleted file recoverable for a while.
                "VersioningConfiguration": {"Status": "Enabled"},
                "LifecycleConfiguration": {"Rules": [{
                    "Id": "ExpireOldVersions", "Status": "Enabled",
                    "NoncurrentVersionExpiration": {"NoncurrentDays": 90},
                    "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
                }, {
                    # uploads nothing claimed within a day (a claim re-tags them `claimed`)
                    "Id": "ExpireUnclaimedUploads", "Status": "Enabled", "Prefix": UPLOADS_PREFIX,
                    "TagFilters": [UNCLAIMED_TAG], "ExpirationInDays": 1,
                }]},
                "NotificationConfiguration": {"QueueConfigurations": [{
                    "Event": "s3:ObjectCreated:*",
                    "Filter": {"S3Key": {"Rules": [{"Name": "prefix", "Value": UPLOADED_FILES_PREFIX}]}},
                    "Queue": {"Fn::GetAtt": [UPLOADS_QUEUE, "Arn"]},
                }]},
            },
            "DependsOn": f"{UPLOADS_QUEUE}Policy",  # S3 checks it may send before it saves the notification
        },
        "FilesBucketPolicy": {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {
                "Bucket": {"Ref": "FilesBucket"},
                "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
                    "Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                    "Resource": [bucket_arn, {"Fn::Sub": "${FilesBucket.Arn}/*"}],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }]},
            },
        },
    }


def _timer_queue() -> dict[str, Any]:
    return {TIMER_QUEUE: {
        "Type": "AWS::SQS::Queue",
        "Properties": {"MessageRetentionPeriod": TIMER_QUEUE_RETENTION_SECONDS,
                       "VisibilityTimeout": TIMER_QUEUE_VISIBILITY_SECONDS, "SqsManagedSseEnabled": True},
    }}


def _uploads_queue() -> dict[str, Any]:
    """The queue the files bucket notifies of new uploads; only S3, for this account's buckets, may send to it (the
    account, not the bucket's ARN: the bucket's notification depends on this policy)."""
    return {
        UPLOADS_QUEUE: {
            "Type": "AWS::SQS::Queue",
            "Properties": {"VisibilityTimeout": UPLOADS_QUEUE_VISIBILITY_SECONDS, "SqsManagedSseEnabled": True},
        },
        f"{UPLOADS_QUEUE}Policy": {
            "Type": "AWS::SQS::QueuePolicy",
            "Properties": {
                "Queues": [{"Ref": UPLOADS_QUEUE}],
                "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
                    "Sid": "FilesBucketEvents", "Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"},
                    "Action": "sqs:SendMessage", "Resource": {"Fn::GetAtt": [UPLOADS_QUEUE, "Arn"]},
                    "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
                }]},
            },
        },
    }


def _mail() -> dict[str, Any]:
    return {"MailIdentity": {
        "Type": "AWS::SES::EmailIdentity",
        "Properties": {"EmailIdentity": {"Fn::If": [
            "MailIdentityIsDomain",
            {"Fn::Select": [1, {"Fn::Split": ["@", {"Ref": "MailFromAddress"}]}]},
            {"Ref": "MailFromAddress"},
        ]}},
    }}


def _secrets() -> dict[str, Any]:
    """One secret each, created holding a random string (a keyring of one key, or a placeholder until the outside
    party's value is set with `rotate-secret <name> --value-stdin`; docs/operations.md)."""
    return {secret_id(name): {
        "Type": "AWS::SecretsManager::Secret",
        "Properties": {
            "Name": {"Fn::Sub": f"${{AWS::StackName}}/{name}"},
            "Description": SECRET_DESCRIPTIONS[name],
            "GenerateSecretString": {"PasswordLength": 64, "ExcludePunctuation": True},
        },
    } for name in secret_store.SECRETS}


def _environment(function: str) -> dict[str, Any]:
    env: dict[str, Any] = {
        "TABLE_PREFIX": {"Ref": "TablePrefix"},
        "BANK_PAYOUT_URL": {"Ref": "BankPayoutUrl"},
        "APP_URL": {"Ref": "AppUrl"},
        "WEB_APP_URL": {"Ref": "WebAppUrl"},
        "MAIL_FROM": {"Fn::Sub": "${MailFromName} <${MailFromAddress}>"},
        "NOTIFICATIONS_STREAM_ARN": {"Fn::GetAtt": [table_ids()[STREAM_TABLE], "StreamArn"]},
    }
    if function in USES_FILES:
        env["FILES_BUCKET"] = {"Ref": "FilesBucket"}
    if function in USES_OUTSIDE_SERVICES:
        env.update({"VCHASNO_URL": {"Ref": "VchasnoUrl"}, "REGISTRY_URL": {"Ref": "RegistryUrl"}})
    if function in CHARGES_CARDS:
        env["ACQUIRER_URL"] = {"Ref": "AcquirerUrl"}
    for name in sorted(SECRETS_READ[function]):
        env[secret_store.SECRETS[name].arn_variable] = {"Ref": secret_id(name)}
    if function == JOBS:
        env["TIMER_QUEUE_URL"] = {"Ref": TIMER_QUEUE}
    return env


def _functions() -> dict[str, Any]:
    resources: dict[str, Any] = {}
    for function in FUNCTIONS:
        properties: dict[str, Any] = {
            "Environment": {"Variables": _environment(function)},
            "LoggingConfig": {"LogGroup": {"Ref": f"{function}LogGroup"}},
            "SnapStart": snapstart.FUNCTION_PROPERTY,
        }
        if function == STREAM:
            # The stream is the only feed of the sending. The handler puts a record it cannot settle in the
            # retry queue instead of failing, so no one record can fail its batch: a batch fails only when the
            # function or DynamoDB does (a broken deployment, an outage). It is then split and retried until its
            # records expire (24 hours), never given up while they can still be sent: the shard waits, and the
            # stream's iterator age alarms.
            properties["Events"] = {STREAM_EVENT: {"Properties": {
                "Stream": {"Fn::GetAtt": [table_ids()[STREAM_TABLE], "StreamArn"]},
                "BisectBatchOnFunctionError": True,
                "MaximumRetryAttempts": -1,
            }}}
        if function == TIMERS:
            properties["Events"] = {TIMER_EVENT: {"Properties": {"Queue": {"Fn::GetAtt": [TIMER_QUEUE, "Arn"]}}}}
        if function == UPLOADS:
            properties["Events"] = {UPLOADS_EVENT: {"Properties": {
                "Queue": {"Fn::GetAtt": [UPLOADS_QUEUE, "Arn"]}}}}
        # cfn-lint's W2530 expects SAM's AutoPublishAlias beside SnapStart; infra/snapstart.py publishes the
        # versions and the alias itself, under the SnapStart condition.
        resources[function] = {"Properties": properties,
                               "Metadata": {"cfn-lint": {"config": {"ignore_checks": ["W2530"]}}}}
        resources[f"{function}LogGroup"] = {
            "Type": "AWS::Logs::LogGroup",
            # Logs go with the stack (they expire after LOG_RETENTION_DAYS anyway); the money's trail is the journal.
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
            "Properties": {"LogGroupName": {"Fn::Sub": f"/aws/lambda/${{AWS::StackName}}/{function}"},
                           "RetentionInDays": LOG_RETENTION_DAYS},
        }
        resources[ROLES[function]] = {"Properties": {"Policies": [{
            "PolicyName": f"{ROLES[function]}Policy",
            "PolicyDocument": {"Version": "2012-10-17", "Statement": policy_statements(function)},
        }]}}
    return resources


def policy_statements(function: str) -> list[dict[str, Any]]:
    ids = table_ids()
    statements: list[dict[str, Any]] = []
    by_actions: dict[tuple[str, ...], list[str]] = {}
    indexes: list[dict[str, Any]] = []
    for table, grant in sorted(table_access()[function].items()):
        if grant.actions:
            by_actions.setdefault(tuple(sorted(grant.actions)), []).append(table)
        indexes += [{"Fn::Sub": f"${{{ids[table]}.Arn}}/index/{index}"} for index in sorted(grant.indexes)]
    for number, (actions, names) in enumerate(sorted(by_actions.items()), start=1):
        statements.append({
            "Sid": f"Tables{number}", "Effect": "Allow", "Action": [f"dynamodb:{a}" for a in actions],
            "Resource": [{"Fn::GetAtt": [ids[name], "Arn"]} for name in names],
        })
    if indexes:
        statements.append({"Sid": "Indexes", "Effect": "Allow", "Action": ["dynamodb:Query"], "Resource": indexes})
    if function == STREAM:
        statements.append({
            "Sid": "NotificationStream", "Effect": "Allow",
            "Action": ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator",
                       "dynamodb:ListStreams"],
            "Resource": [{"Fn::Sub": f"${{{ids[STREAM_TABLE]}.Arn}}/stream/*"}],
        })
    if function in QUEUE_ACTIONS:
        statements.append({
            "Sid": "TimerQueue", "Effect": "Allow", "Action": list(QUEUE_ACTIONS[function]),
            "Resource": [{"Fn::GetAtt": [TIMER_QUEUE, "Arn"]}],
        })
    if SECRETS_READ[function]:
        statements.append({
            "Sid": "Secrets", "Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"],
            "Resource": [{"Ref": secret_id(name)} for name in sorted(SECRETS_READ[function])],
        })
    if function == API:
        statements.append({
            "Sid": "Files", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
            "Resource": [{"Fn::Sub": f"${{FilesBucket.Arn}}/{FILES_PREFIX}*"}],
        })
    if function in UPLOAD_ACTIONS:
        statements.append({
            "Sid": "Uploads", "Effect": "Allow", "Action": list(UPLOAD_ACTIONS[function]),
            "Resource": [{"Fn::Sub": f"${{FilesBucket.Arn}}/{UPLOADS_PREFIX}*"}],
        })
    if function == UPLOADS:
        statements.append({
            "Sid": "UploadsQueue", "Effect": "Allow",
            "Action": ["sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"],
            "Resource": [{"Fn::GetAtt": [UPLOADS_QUEUE, "Arn"]}],
        })
    if function in SENDS_MAIL:
        statements.append({
            "Sid": "Mail", "Effect": "Allow", "Action": ["ses:SendEmail"],
            "Resource": [{"Fn::Sub": "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}"
                                     ":identity/${MailIdentity}"}],
        })
    statements.append({
        "Sid": "Logs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": [{"Fn::GetAtt": [f"{function}LogGroup", "Arn"]}],
    })
    # X-Ray takes no resource-level permissions.
    statements.append({
        "Sid": "Tracing", "Effect": "Allow", "Action": ["xray:PutTelemetryRecords", "xray:PutTraceSegments"],
        "Resource": "*",
    })
    return statements


# The API's edge ---------------------------------------------------------------------------------

REST_API = "RestAPI"  # chalice's logical id for the REST API (an AWS::Serverless::Api with a swagger body)


def _error_body(code: str, message: str) -> str:
    return json.dumps({"error": {"code": code, "message": message}}, separators=(",", ":"))


# What API Gateway answers itself, before the function runs, in the API's error shape. A route the
# API does not have is MISSING_AUTHENTICATION_TOKEN (403 "Missing Authentication Token") or, when the
# caller sends an Authorization header, INCOMPLETE_SIGNATURE, whose default message echoes the bearer
# token back: both become a plain 404. (A path's other methods reach the function, which answers 405.)
# No template repeats `$context.error.message`, which may carry what the caller sent.
GATEWAY_RESPONSES: dict[str, tuple[int | None, str, str]] = {
    "MISSING_AUTHENTICATION_TOKEN": (404, "not_found", "No such route"),
    "INCOMPLETE_SIGNATURE": (404, "not_found", "No such route"),
    "WAF_FILTERED": (429, "too_many_requests", "Too many requests from your address; slow down and retry later"),
    "THROTTLED": (429, "too_many_requests", "Too many requests; retry in a moment"),
    "REQUEST_TOO_LARGE": (413, "request_too_large", "The request is larger than the API accepts"),
    "DEFAULT_4XX": (None, "bad_request", "The request was refused before it reached the service"),
    "DEFAULT_5XX": (None, "internal_error", "Something went wrong on our side"),
}
RETRY_AFTER_SECONDS = {"WAF_FILTERED": 300, "THROTTLED": 1}


def _gateway_responses() -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for kind, (status, code, message) in GATEWAY_RESPONSES.items():
        response: dict[str, Any] = {
            "responseTemplates": {"application/json": _error_body(code, message)},
            "responseParameters": {"gatewayresponse.header.Content-Type": "'application/json'"},
        }
        if status is not None:
            response["statusCode"] = str(status)
        if kind in RETRY_AFTER_SECONDS:
            response["responseParameters"]["gatewayresponse.header.Retry-After"] = f"'{RETRY_AFTER_SECONDS[kind]}'"
        responses[kind] = response
    return responses


# Binary media types: `*/*`, so that API Gateway hands a file route's base64 answer back as bytes
# whatever the caller's Accept header (a browser's starts with text/html). JSON answers are not
# base64-encoded by the function and pass through as they are; request bodies reach the function
# base64-encoded and chalice decodes them.
BINARY_MEDIA_TYPES = ["*/*"]


def _rest_api() -> dict[str, Any]:
    """The REST API's edge, and X-Ray on it so a request's trace starts there; the functions' own segments
    come from the prod stage's `xray` (Lambda's active tracing), which chalice turns into each `Tracing`."""
    return {REST_API: {"Properties": {"TracingEnabled": True, "DefinitionBody": {
        "x-amazon-apigateway-gateway-responses": _gateway_responses(),
        "x-amazon-apigateway-binary-media-types": BINARY_MEDIA_TYPES,
    }}}}


def _firewall() -> dict[str, Any]:
    """The outer limit, before any function runs: a WAF rate-based rule blocks an address that sends more
    than `ApiRateLimit` requests in five minutes (429, in the API's error shape). The service's own limits
    (log-in attempts, invitations, password resets) sit behind it, in DynamoDB. With `ConsoleAllowedCidrs`
    given, a rule before it lets the console's pages answer only those ranges (`_console_rule`)."""
    _, stage = _chalice_stage()
    visibility = {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True}
    return {
        "ApiFirewall": {
            "Type": "AWS::WAFv2::WebACL",
            "Properties": {
                "Scope": "REGIONAL",
                "DefaultAction": {"Allow": {}},
                "Description": "escrowdesk API: rate limit per source address",
                "CustomResponseBodies": {"too_many_requests": {
                    "ContentType": "APPLICATION_JSON",
                    "Content": _error_body("too_many_requests",
                                           "Too many requests from your address; slow down and retry later"),
                }, "console_not_here": {
                    "ContentType": "TEXT_PLAIN",
                    "Content": "The operator console is not available from this address.",
                }},
                "Rules": [{"Fn::If": ["ConsoleRestricted", _console_rule(visibility), {"Ref": "AWS::NoValue"}]}, {
                    "Name": "RequestsPerAddress",
                    "Priority": 1,
                    "Statement": {"RateBasedStatement": {"Limit": {"Ref": "ApiRateLimit"}, "AggregateKeyType": "IP",
                                                         "EvaluationWindowSec": 300}},
                    "Action": {"Block": {"CustomResponse": {
                        "ResponseCode": 429, "CustomResponseBodyKey": "too_many_requests",
                        "ResponseHeaders": [{"Name": "Retry-After", "Value": "300"}],
                    }}},
                    "VisibilityConfig": {**visibility, "MetricName": "RequestsPerAddress"},
                }],
                "VisibilityConfig": {**visibility, "MetricName": "ApiFirewall"},
            },
        },
        CONSOLE_ADDRESSES: {
            "Type": "AWS::WAFv2::IPSet",
            "Condition": "ConsoleRestricted",
            "Properties": {
                "Scope": "REGIONAL",
                "IPAddressVersion": "IPV4",
                "Description": "The addresses the operator console answers, from ConsoleAllowedCidrs",
                "Addresses": {"Fn::Split": [",", {"Ref": "ConsoleAllowedCidrs"}]},
            },
        },
        "ApiFirewallAssociation": {
            "Type": "AWS::WAFv2::WebACLAssociation",
            "DependsOn": f"{REST_API}{stage}Stage",  # SAM's logical id for the API's stage
            "Properties": {
                "ResourceArn": {"Fn::Sub": f"arn:${{AWS::Partition}}:apigateway:${{AWS::Region}}::/restapis/"
                                           f"${{{REST_API}}}/stages/{stage}"},
                "WebACLArn": {"Fn::GetAtt": ["ApiFirewall", "Arn"]},
            },
        },
    }


CONSOLE_ADDRESSES = "ConsoleAllowedAddresses"
# The console's paths as the WAF sees them: `/console` or `/console/...`, after the stage's name when the API is
# called at its execute-api address (`/api/console`), once %-escapes are decoded, `//` and `/./` collapsed and
# letters lower-cased (so no spelling of the path slips past the rule to a route).
CONSOLE_PATH_REGEX = r"^(/[^/]+)?/console(/|$)"


def _console_rule(visibility: Mapping[str, Any]) -> dict[str, Any]:
    """With `ConsoleAllowedCidrs` given: a request for a console page from any other address is blocked (403),
    before the rate limit is counted; every other path is untouched."""
    path = {
        "RegexMatchStatement": {
            "RegexString": CONSOLE_PATH_REGEX,
            "FieldToMatch": {"UriPath": {}},
            "TextTransformations": [{"Priority": 0, "Type": "URL_DECODE"}, {"Priority": 1, "Type": "NORMALIZE_PATH"},
                                    {"Priority": 2, "Type": "LOWERCASE"}],
        },
    }
    allowed = {"IPSetReferenceStatement": {"Arn": {"Fn::GetAtt": [CONSOLE_ADDRESSES, "Arn"]}}}
    return {
        "Name": "ConsoleFromAllowedAddresses",
        "Priority": 0,
        "Statement": {"AndStatement": {"Statements": [path, {"NotStatement": {"Statement": allowed}}]}},
        "Action": {"Block": {"CustomResponse": {"ResponseCode": 403, "CustomResponseBodyKey": "console_not_here"}}},
        "VisibilityConfig": {**visibility, "MetricName": "ConsoleFromAllowedAddresses"},
    }


# Alarms ---------------------------------------------------------------------------------------

def _chalice_stage() -> tuple[str, str]:
    """(app name, API Gateway stage): the REST API's name and stage, its metrics' dimensions."""
    config = json.loads(CHALICE_CONFIG.read_text(encoding="utf-8"))
    return config["app_name"], config["stages"][STAGE]["api_gateway_stage"]


def _alarm(description: str, namespace: str, metric: str, dimensions: Mapping[str, Any], *,
           statistic: str = "Sum", threshold: float = 1, comparison: str = "GreaterThanOrEqualToThreshold",
           period: int = 300, periods: int = 1, missing: str = "notBreaching") -> dict[str, Any]:
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmDescription": {"Fn::Sub": f"${{AWS::StackName}}: {description}"},
            "Namespace": namespace, "MetricName": metric,
            "Dimensions": [{"Name": name, "Value": value} for name, value in dimensions.items()],
            "Statistic": statistic, "Period": period, "EvaluationPeriods": periods,
            "Threshold": threshold, "ComparisonOperator": comparison, "TreatMissingData": missing,
            "AlarmActions": [{"Ref": "AlarmTopic"}], "OKActions": [{"Ref": "AlarmTopic"}],
        },
    }


def _alarms() -> dict[str, Any]:
    api_name, api_stage = _chalice_stage()
    resources: dict[str, Any] = {"AlarmTopic": {
        "Type": "AWS::SNS::Topic",
        "Properties": {"Subscription": [{"Protocol": "email", "Endpoint": {"Ref": "AlarmEmail"}}]},
    }}
    for function in FUNCTIONS:
        name = {"FunctionName": {"Ref": function}}
        resources[f"{function}ErrorsAlarm"] = _alarm(f"{function} failed (Lambda errors)", "AWS/Lambda", "Errors", name)
        resources[f"{function}ThrottlesAlarm"] = _alarm(f"{function} was throttled", "AWS/Lambda", "Throttles", name)
    resources["ApiServerErrorsAlarm"] = _alarm(
        "the API answered 5XX", "AWS/ApiGateway", "5XXError", {"ApiName": api_name, "Stage": api_stage})
    resources[f"{STREAM}IteratorAgeAlarm"] = _alarm(
        "e-mail lags: the notifications stream is over 5 minutes behind", "AWS/Lambda", "IteratorAge",
        {"FunctionName": {"Ref": STREAM}}, statistic="Maximum", threshold=300_000, comparison="GreaterThanThreshold")
    resources[f"{TIMER_QUEUE}AgeAlarm"] = _alarm(
        "timers lag: a group of timer shards waited on the queue for over 5 minutes", "AWS/SQS",
        "ApproximateAgeOfOldestMessage", {"QueueName": {"Fn::GetAtt": [TIMER_QUEUE, "QueueName"]}},
        statistic="Maximum", threshold=300, comparison="GreaterThanThreshold")
    resources[f"{JOBS}NotRunningAlarm"] = _alarm(
        "the scheduled jobs did not run for 10 minutes (timers, e-mail retries, payout requests)", "AWS/Lambda",
        "Invocations", {"FunctionName": {"Ref": JOBS}}, threshold=1, comparison="LessThanThreshold",
        period=600, missing="breaching")
    return resources


# The template ---------------------------------------------------------------------------------

OUTPUTS: dict[str, Any] = {
    "FilesBucketName": {"Value": {"Ref": "FilesBucket"}},
    "AlarmTopicArn": {"Value": {"Ref": "AlarmTopic"}},
    **{f"{secret_id(name)}Arn": {
        "Description": f"The secret `rotate-secret {name} --secret-id <this>` rotates",
        "Value": {"Ref": secret_id(name)},
    } for name in secret_store.SECRETS},
    **{f"MailDkimRecord{n}": {
        "Condition": "MailIdentityIsDomain",
        "Description": "A CNAME record SES needs in the domain's DNS to verify it",
        "Value": {"Fn::Sub": f"${{MailIdentity.DkimDNSTokenName{n}}} CNAME ${{MailIdentity.DkimDNSTokenValue{n}}}"},
    } for n in (1, 2, 3)},
}


def template() -> dict[str, Any]:
    return {
        "Parameters": {**PARAMETERS, **snapstart.PARAMETERS},
        "Conditions": CONDITIONS,
        "Resources": {**_tables(), **_files(), **_timer_queue(), **_uploads_queue(), **_mail(), **_secrets(),
                      **_functions(), **_rest_api(), **_firewall(),
                      **_alarms(), **operations.resources(_chalice_stage())},
        "Outputs": OUTPUTS,
    }


def render() -> str:
    return json.dumps(template(), indent=2, sort_keys=True) + "\n"


def write_template(path: Path = TEMPLATE_PATH) -> None:
    path.write_text(render(), encoding="utf-8")


if __name__ == "__main__":
    write_template()
    print(f"wrote {TEMPLATE_PATH.relative_to(ROOT)}")
