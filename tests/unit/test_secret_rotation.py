"""Secrets in AWS Secrets Manager (moto) and their rotation without downtime: every secret is rotated with the
documented command in the middle of traffic, and nothing issued or signed before is refused — bearer tokens,
list cursors, download links, one-time links and webhooks signed with the previous secret within the overlap.
After the overlap the previous webhook secret is refused; after a second rotation so is the first JWT key.
Powertools' cache is cleared where its maximum age would have run out."""
from __future__ import annotations

import io
import json
from datetime import timedelta

import boto3
import jwt
import pytest

from chalicelib.adapters import acquirer
from chalicelib.adapters.files import get_files
from chalicelib.entrypoints import cli
from chalicelib.platform import clock, config, secret_store
from tests.support import sent_links, sign, transfer_event

REGION = "eu-central-1"
# What the stack creates: a random string per secret (here readable ones); the outside services' tokens are
# set to what their services issued.
FIRST_VALUES = {"jwt": "first-jwt-key-" + "j" * 32, "totp": "first-totp-key-" + "t" * 32,
                "bank-webhook": "first-bank-secret-" + "b" * 32,
                "acquirer-webhook": "first-acquirer-secret-" + "a" * 32,
                "acquirer-key": "acquirer-token-1", "vchasno-token": "vchasno-token-1",
                "registry-token": "registry-token-1"}
ISSUED_AGAIN = {"acquirer-key": "acquirer-token-2", "vchasno-token": "vchasno-token-2",
                "registry-token": "registry-token-2"}


@pytest.fixture
def stored_secrets(store, monkeypatch):
    """Given every secret in Secrets Manager, and the functions' environment naming only their ARNs."""
    client = boto3.client("secretsmanager", region_name=REGION)
    arns = {}
    for name, value in FIRST_VALUES.items():
        arns[name] = client.create_secret(Name=f"escrowdesk-unit/{name}", SecretString=value)["ARN"]
        monkeypatch.setenv(secret_store.SECRETS[name].arn_variable, arns[name])
    config.reload()
    secret_store.forget()
    yield arns
    secret_store.forget()


def _rotate(name: str, monkeypatch, *args: str) -> int:
    """`python -m chalicelib.entrypoints.cli rotate-secret <name>`; an outside service's token from stdin."""
    if name in ISSUED_AGAIN:
        monkeypatch.setattr("sys.stdin", io.StringIO(ISSUED_AGAIN[name] + "\n"))
        args = (*args, "--value-stdin")
    return cli.main(["rotate-secret", name, *args])


def _stored(arn: str) -> dict:
    return json.loads(boto3.client("secretsmanager", region_name=REGION).get_secret_value(SecretId=arn)["SecretString"])


def _acquirer_event(event_id: str) -> bytes:
    return json.dumps({"event_id": event_id, "type": "payment.failed", "payment_id": "cpy_x", "amount": 100,
                       "currency": "UAH"}).encode()


def _acquirer_webhook(api, raw: bytes, secret: str, at: int | None = None):
    return api.post("/v1/webhooks/acquirer", raw=raw, headers={"X-Acquirer-Signature": acquirer.sign(raw, secret, at)})


def test_the_functions_read_secrets_from_secrets_manager_not_from_their_environment(stored_secrets, api):
    token = api.signup("ann@example.com")
    assert jwt.get_unverified_header(token)["kid"] == secret_store.FIRST_KID
    assert jwt.decode(token, FIRST_VALUES["jwt"], algorithms=["HS256"])["sub"]
    assert config.settings.jwt_secret == config.LOCAL_JWT_SECRET  # the local value is there, and unused
    assert api.get("/v1/me", token=token).status_code == 200
    for name in ("acquirer-key", "vchasno-token", "registry-token"):
        assert secret_store.current(name) == FIRST_VALUES[name]


def test_rotating_every_secret_mid_traffic_refuses_nothing(stored_secrets, api, monkeypatch):
    # Given traffic from before the rotation: a session, a list part-way paged, a download link, a password
    # reset whose e-mail is not sent yet, and webhooks the bank and the acquirer signed with their first secrets
    token = api.signup("ann@example.com")
    invoice = api.invoice(token, 4200, "USD")
    for amount in (1000, 2000, 3000):
        api.invoice(token, amount)
    first_page = api.get("/v1/invoices?limit=2", token=token).json_body
    get_files().put("deliverables/rotation/work.zip", b"the work", "application/zip")
    link = get_files().link("deliverables/rotation/work.zip", "work.zip")
    assert api.post("/v1/auth/password-reset", {"email": "ann@example.com"}).status_code == 202
    early_bank = transfer_event("evt-before", 4200, "USD", invoice["payment_details"])
    early_bank_signature = sign(early_bank, secret=FIRST_VALUES["bank-webhook"])
    early_acquirer = _acquirer_event("evt-acq-before")
    early_acquirer_signature = acquirer.sign(early_acquirer, FIRST_VALUES["acquirer-webhook"])

    # When every secret is rotated with the documented command
    for name in secret_store.SECRETS:
        assert _rotate(name, monkeypatch) == 0, name
    rotated = {name: _stored(arn) for name, arn in stored_secrets.items()}
    for name in ("jwt", "totp"):
        assert rotated[name]["current"] != secret_store.FIRST_KID
        assert rotated[name]["keys"][secret_store.FIRST_KID] == FIRST_VALUES[name]
    for name in ("bank-webhook", "acquirer-webhook"):
        assert rotated[name]["previous"] == FIRST_VALUES[name] and rotated[name]["current"] != FIRST_VALUES[name]
    for name, value in ISSUED_AGAIN.items():
        assert rotated[name] == {"current": value} and secret_store.current(name) == value

    # Then what was issued before still works
    assert api.get("/v1/me", token=token).status_code == 200
    second_page = api.get(f"/v1/invoices?limit=2&cursor={first_page['next_cursor']}", token=token)
    assert second_page.status_code == 200, second_page.body
    seen = {item["id"] for item in first_page["items"] + second_page.json_body["items"]}
    assert len(seen) == 4
    download = api.get(link, headers={"Accept": "application/zip"})
    assert (download.status_code, download.body) == (200, b"the work")
    [reset_link] = sent_links("password_reset")
    reset = api.post("/v1/auth/password-reset/confirm", {"token": reset_link.rsplit("/", 1)[1],
                                                         "password": "a new password"})
    assert reset.status_code == 200, reset.body
    assert api.webhook(early_bank, signature=early_bank_signature).status_code == 200
    assert api.post("/v1/webhooks/acquirer", raw=early_acquirer,
                    headers={"X-Acquirer-Signature": early_acquirer_signature}).status_code == 200
    # the acquirer has not switched yet: it still signs with the first secret, within the overlap
    assert _acquirer_webhook(api, _acquirer_event("evt-acq-late"), FIRST_VALUES["acquirer-webhook"]).status_code == 200

    # And only the newest key signs what is issued from now on
    fresh = api.post("/v1/auth/login", {"email": "ann@example.com", "password": "a new password"}).json_body["token"]
    assert jwt.get_unverified_header(fresh)["kid"] == rotated["jwt"]["current"]
    fresh_page = api.get("/v1/invoices?limit=2", token=fresh).json_body
    assert fresh_page["next_cursor"].split(".")[1] == rotated["jwt"]["current"]
    assert _acquirer_webhook(api, _acquirer_event("evt-acq-new"), rotated["acquirer-webhook"]["current"]
                             ).status_code == 200


def test_after_the_overlap_a_webhook_signed_with_the_previous_secret_is_refused(stored_secrets, api, monkeypatch):
    assert _rotate("bank-webhook", monkeypatch) == 0
    assert _rotate("acquirer-webhook", monkeypatch) == 0
    current = {name: _stored(stored_secrets[name])["current"] for name in ("bank-webhook", "acquirer-webhook")}
    later = clock.wall() + timedelta(hours=config.settings.webhook_secret_overlap_hours, minutes=1)
    monkeypatch.setattr(clock, "wall", lambda: later)
    secret_store.forget()
    at = int(later.timestamp())

    body = transfer_event("evt-after", 4200, "USD", "no number here")
    old_bank = api.webhook(body, signature=sign(body, secret=FIRST_VALUES["bank-webhook"], at=at))
    assert (old_bank.status_code, old_bank.json_body["error"]["code"]) == (401, "invalid_signature")
    assert api.webhook(body, signature=sign(body, secret=current["bank-webhook"], at=at)).status_code == 200
    raw = _acquirer_event("evt-acq-after")
    assert _acquirer_webhook(api, raw, FIRST_VALUES["acquirer-webhook"], at).status_code == 401
    assert _acquirer_webhook(api, raw, current["acquirer-webhook"], at).status_code == 200


def test_a_second_rotation_waits_for_the_tokens_of_the_first_key_then_drops_it(stored_secrets, api, monkeypatch,
                                                                              capsys):
    token = api.signup("ann@example.com")
    assert _rotate("jwt", monkeypatch) == 0
    assert _rotate("jwt", monkeypatch) == 1  # the first key still verifies tokens that have not expired
    assert "not rotated" in capsys.readouterr().err
    later = clock.wall() + timedelta(seconds=config.settings.token_ttl_seconds + 1)
    monkeypatch.setattr(clock, "wall", lambda: later)
    assert _rotate("jwt", monkeypatch) == 0
    ring = _stored(stored_secrets["jwt"])
    assert len(ring["keys"]) == 2 and secret_store.FIRST_KID not in ring["keys"]  # two keys at most: new and previous
    refused = api.get("/v1/me", token=token)
    assert (refused.status_code, refused.json_body["error"]["code"]) == (401, "invalid_token")


def test_the_totp_keyring_keeps_every_key_so_what_it_encrypted_stays_readable(stored_secrets, monkeypatch):
    later = clock.wall()
    for _ in range(3):
        later += timedelta(seconds=1)
        monkeypatch.setattr(clock, "wall", lambda at=later: at)
        assert _rotate("totp", monkeypatch) == 0
    ring = secret_store.keyring("totp")
    assert len(ring.keys) == 4 and ring.key(secret_store.FIRST_KID) == FIRST_VALUES["totp"]


def test_a_webhook_secret_is_not_rotated_again_while_its_previous_value_is_honoured(stored_secrets, monkeypatch):
    assert _rotate("bank-webhook", monkeypatch) == 0
    assert _rotate("bank-webhook", monkeypatch) == 1
    assert _stored(stored_secrets["bank-webhook"])["previous"] == FIRST_VALUES["bank-webhook"]


def test_an_outside_services_token_is_rotated_only_to_the_value_it_issued(stored_secrets, capsys):
    assert cli.main(["rotate-secret", "acquirer-key"]) == 1
    assert "pass the new value it issued" in capsys.readouterr().err
    assert secret_store.current("acquirer-key") == FIRST_VALUES["acquirer-key"]


def test_the_local_stage_keeps_its_plain_local_values_and_has_nothing_to_rotate(api, capsys):
    token = api.signup("ann@example.com")
    assert jwt.decode(token, config.settings.jwt_secret, algorithms=["HS256"])["sub"]
    assert secret_store.webhook_secrets("bank-webhook") == [config.LOCAL_BANK_SECRET]
    assert cli.main(["rotate-secret", "jwt"]) == 1
    assert "JWT_SECRET_ARN" in capsys.readouterr().err


@pytest.mark.parametrize("cursor_of", [
    lambda cursor: cursor.replace(".", ".9", 1),  # a kid the ring never held
    lambda cursor: ".".join(cursor.split(".")[::2]),  # no kid
])
def test_a_cursor_naming_no_key_of_the_ring_is_a_clear_400(api, cursor_of):
    token = api.signup("ann@example.com")
    for amount in (1000, 2000, 3000):
        api.invoice(token, amount)
    cursor = api.get("/v1/invoices?limit=2", token=token).json_body["next_cursor"]
    answer = api.get(f"/v1/invoices?limit=2&cursor={cursor_of(cursor)}", token=token)
    assert (answer.status_code, answer.json_body["error"]["code"]) == (400, "invalid_cursor")


def test_a_function_still_holding_the_old_secret_accepts_what_a_fresher_one_signed(stored_secrets, api, monkeypatch):
    """Given this function cached the secrets, and another function (or the operator) rotated them since: a token
    under the new kid and a webhook signed with the new value make it read the secret again once, not refuse."""
    client = boto3.client("secretsmanager", region_name=REGION)
    token = api.signup("ann@example.com")  # the JWT keyring and, below, the bank's secret are now cached here
    body = transfer_event("evt-cached", 4200, "USD", "no number here")
    assert api.webhook(body, signature=sign(body, secret=FIRST_VALUES["bank-webhook"])).status_code == 200
    now = clock.wall()
    for name in ("jwt", "bank-webhook"):
        stored = client.get_secret_value(SecretId=stored_secrets[name])["SecretString"]
        document = secret_store.next_document(name, stored, value=None, now=now)
        client.put_secret_value(SecretId=stored_secrets[name], SecretString=json.dumps(document))
    ring, bank = _stored(stored_secrets["jwt"]), _stored(stored_secrets["bank-webhook"])
    claims = jwt.decode(token, FIRST_VALUES["jwt"], algorithms=["HS256"])
    fresher = jwt.encode(claims, ring["keys"][ring["current"]], algorithm="HS256", headers={"kid": ring["current"]})

    assert api.get("/v1/me", token=fresher).status_code == 200
    assert api.get("/v1/me", token=token).status_code == 200
    second = transfer_event("evt-fresher", 4200, "USD", "no number here either")
    assert api.webhook(second, signature=sign(second, secret=bank["current"])).status_code == 200


def test_a_forged_kid_reads_the_secret_again_at_most_once_in_a_while(stored_secrets, api, monkeypatch):
    from aws_lambda_powertools.utilities import parameters

    token = api.signup("ann@example.com")
    claims = jwt.decode(token, FIRST_VALUES["jwt"], algorithms=["HS256"])
    reads = []
    provider = parameters.base.DEFAULT_PROVIDERS["secrets"]
    fetch = provider._get
    monkeypatch.setattr(provider, "_get", lambda name, **options: reads.append(name) or fetch(name, **options))
    for attempt in range(5):
        forged = jwt.encode(claims, "a guessed key of thirty-two bytes!", algorithm="HS256",
                            headers={"kid": f"guess-{attempt}"})
        refused = api.get("/v1/me", token=forged)
        assert (refused.status_code, refused.json_body["error"]["code"]) == (401, "invalid_token")
    assert reads == [stored_secrets["jwt"]]


def test_every_secret_the_store_knows_is_a_setting_the_configuration_knows():
    assert sorted(secret.setting for secret in secret_store.SECRETS.values()) == sorted(config.SECRET_SETTINGS)
