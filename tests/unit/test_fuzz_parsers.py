"""Fuzzing, bounded in examples: the bank's signature header, the JSON body parser behind every
request model, and the webhook end to end. Whatever arrives, the answer is a clear 4xx or a
success, never a crash; nothing is credited without an exact match, nothing twice, and the books
balance throughout."""
from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import app  # noqa: F401  (registers every route, so OPERATIONS is complete)
from chalicelib.access import auth
from chalicelib.entrypoints.api.http import OPERATIONS, parse_body
from chalicelib.platform.errors import BadRequest, Unauthorized, Unprocessable
from chalicelib.services import pagination
from chalicelib.store.models import InvoiceModel, PaymentModel
from tests.support import assert_books_balance, sign, transfer_event

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                         HealthCheck.too_slow])
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=20)
SCHEMAS = sorted({op.request for op in OPERATIONS if op.request is not None}, key=lambda schema: schema.name)


@FUZZ
@given(header=st.one_of(st.none(), st.text(max_size=200),
                        st.lists(st.tuples(st.sampled_from(["t", "v1", "v0", "", " t"]), st.text(max_size=70)),
                                 max_size=5).map(lambda parts: ",".join(f"{k}={v}" for k, v in parts))),
       body=st.binary(max_size=200))
@example(header="t=\u00b2,v1=00", body=b"")  # once a 500: "²".isdigit() is true, int("²") fails
def test_a_garbled_signature_header_is_only_ever_401(header, body):
    with pytest.raises(Unauthorized):
        auth.verify_bank_signature(header, body)


@FUZZ
@given(body=st.binary(max_size=200), junk=st.lists(st.text(alphabet="v01=abcdef ", max_size=20), max_size=3))
def test_the_right_signature_passes_among_junk_parts(body, junk):
    """Other schemes and wrong v1 candidates beside the right one are ignored (a second `t` is not:
    the first timestamp is the one signed)."""
    header = ",".join([*junk, sign(body)])
    auth.verify_bank_signature(header, body)


@pytest.mark.parametrize("schema", SCHEMAS, ids=lambda schema: schema.name)
@FUZZ
@given(data=st.one_of(JSON.map(lambda value: json.dumps(value).encode()), st.binary(max_size=120),
                      st.dictionaries(st.text(max_size=12), JSON, max_size=6).map(lambda d: json.dumps(d).encode())))
def test_every_request_model_parses_or_answers_400_or_422(schema, data):
    try:
        parsed = parse_body(schema, data)
    except (BadRequest, Unprocessable) as refused:
        assert refused.code and refused.message
    else:
        assert isinstance(parsed, schema.model)


@FUZZ
@given(cursor=st.text(max_size=80) | st.builds(lambda key, junk: (pagination.encode_cursor(key) or "") + junk,
                                                st.dictionaries(st.text(max_size=5), st.text(max_size=5), min_size=1,
                                                                max_size=2), st.text(max_size=3)),
       limit=st.text(max_size=6))
def test_query_cursors_and_limits_decode_or_answer_4xx(cursor, limit):
    """Found by schemathesis: a non-ASCII cursor once crashed `hmac.compare_digest` (a 500). A bad cursor
    is 400 `invalid_cursor`, a bad limit 422."""
    for parse, raw in ((pagination.decode_cursor, cursor), (pagination.parse_limit, limit)):
        try:
            parse(raw)
        except (BadRequest, Unprocessable) as refused:
            assert refused.field in ("cursor", "limit")


def _near_transfer(invoice: dict):
    """Events close to a real transfer for `invoice`: each field is right, wrong, or of another type."""
    right = json.loads(transfer_event("evt", invoice["amount"], invoice["currency"], invoice["payment_details"]))
    fields = {
        "event_id": st.sampled_from(["evt-a", "evt-b", "evt-c"]) | st.text(max_size=8) | st.integers(),
        "type": st.sampled_from(["transfer.incoming", "payout.paid", "payout.failed", "refund"]) | JSON,
        "amount": st.sampled_from([invoice["amount"], invoice["amount"] + 1, -invoice["amount"], 0, 2**63])
        | st.floats(allow_nan=False) | st.text(max_size=5),
        "currency": st.sampled_from(["USD", "EUR", "usd", "XXX", ""]) | JSON,
        "purpose": st.sampled_from([invoice["payment_details"], invoice["number"], "", "PI-0000-000000"]) | JSON,
        "payer": st.just(right["payer"]) | JSON,
        "received_at": st.just(right["received_at"]) | JSON,
        "payout_id": st.text(max_size=10),
    }
    return st.fixed_dictionaries({}, optional=fields)


def test_the_signed_webhook_never_crashes_and_credits_only_exact_matches_once(api):
    client = api.signup("payer@example.com")

    @FUZZ
    @given(data=st.data())
    def deliver(data):
        invoice = api.invoice(client, 4200, "USD")
        for _ in range(3):
            event = data.draw(_near_transfer(invoice) | st.binary(max_size=60).map(lambda b: {"raw": b}))
            raw = event["raw"] if "raw" in event else json.dumps(event).encode()
            response = api.webhook(raw)
            assert response.status_code in (200, 400, 404, 409, 422), (raw, response.status_code, response.body)
            if response.status_code >= 400:
                assert set(response.json_body["error"]) >= {"code", "message"}
        credited = sum(int(p.amount) for p in PaymentModel.scan(consistent_read=True) if p.status == "credited")
        paid = sum(int(i.amount) for i in InvoiceModel.scan(consistent_read=True) if i.status == "paid")
        assert credited == paid, "money credited without its invoice being paid exactly"
        assert api.balance(client)[0] == credited
        assert_books_balance()

    deliver()
