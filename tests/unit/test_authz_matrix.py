"""The authorization matrix: every documented endpoint × every kind of caller, as one table.

The callers are the owner (the client of every deal below, the owner of its invoice, payout,
project, company and site), another client, the contractor of the deals, another contractor, an
operator, nobody (no token) and the site's usage key (X-Site-Key, no token), which opens the site's
usage route and nothing else. For each endpoint the table names who may act on it. Those callers get an
answer that is not a refusal (it may still be 409 or 422: the deal's state decides that, not who is
asking); everyone else gets 401 (no token) or 403/404, and a refused call changes nothing — no deal,
balance or journal line moves. Lists are also checked for what they show: the deal's own items
appear only in the lists of those who may see them.
"""
from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field

import app  # noqa: F401  (registers every route, so OPERATIONS is complete)
from chalicelib.adapters import acquirer
from chalicelib.entrypoints.api.http import OPERATIONS
from chalicelib.entrypoints.web import assets
from chalicelib.store.models import AccountModel, DealModel, JournalLineModel, PayoutModel
from tests.support import assert_books_balance, png, sign, transfer_event, upload

OWNER, CLIENT2, CONTRACTOR, CONTRACTOR2, OPERATOR, NOBODY, SITE_KEY = (
    "owner", "other client", "deal contractor", "other contractor", "operator", "no token", "site key")
USERS = frozenset({OWNER, CLIENT2, CONTRACTOR, CONTRACTOR2, OPERATOR})
EVERYONE = USERS | {NOBODY, SITE_KEY}
SITE_READERS = frozenset({OWNER, OPERATOR})
PDF = {"Accept": "application/pdf"}
PARTIES = frozenset({OWNER, CONTRACTOR})
# operators see every order and contract, its thread and its deliverable (they settle disputes),
# and every invoice (they match stray bank transfers to them)
SUPPORT = PARTIES | {OPERATOR}
CONTRACTORS = frozenset({CONTRACTOR, CONTRACTOR2})
REFUSED = {401, 403, 404}
CARD = "4111 1111 1111 1111"
PAGE_FORM = {"Content-Type": "application/x-www-form-urlencoded"}
PASSWORDS = {OWNER: "correct horse", CLIENT2: "correct horse", CONTRACTOR: "correct horse",
             CONTRACTOR2: "correct horse", OPERATOR: "operator-pass"}
ROLE_LISTS: dict[str, tuple[str, ...]] = {}


@dataclass(frozen=True)
class Row:
    method: str
    path: str
    may: frozenset[str]
    body: dict | None = None
    sees: frozenset[str] | None = None  # for a list: whose answer contains the world's item
    item: str | None = None             # the world's key of that item
    headers: dict = field(default_factory=dict)


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.html", "<h1>done</h1>")
    return buffer.getvalue()


def _world(api) -> dict:
    """Every kind of thing the API keeps, with the owner as its client and the contractor as its
    contractor: an order with an extra, an offer, conversations, an invoice, a payout, a project
    with a contract, a sent task and a draft, a parked payment and a notification."""
    tokens = {OWNER: api.signup("owner@example.com", name="Owner"),
              CLIENT2: api.signup("client2@example.com", name="Client Two"),
              CONTRACTOR: api.signup("seller@example.com", name="Seller"),
              CONTRACTOR2: api.signup("seller2@example.com", name="Seller Two")}
    from chalicelib.services import accounts

    accounts.create_operator("ops@escrowdesk.local", "operator-pass")
    tokens[OPERATOR] = api.post("/v1/auth/login", {"email": "ops@escrowdesk.local",
                                                   "password": "operator-pass"}).json_body["token"]
    ids = {who: api.get("/v1/me", token=token).json_body["id"] for who, token in tokens.items()}
    for number, who in enumerate((OWNER, CLIENT2), 1):
        invoice = api.invoice(tokens[who], 500_000, "USD")
        api.webhook(transfer_event(f"evt-fund-{number}", 500_000, "USD", invoice["payment_details"]))
    w: dict = {"tokens": tokens, "ids": ids, "invoice": api.invoice(tokens[OWNER], 1_000, "USD")["id"]}

    def ok(response, status=(200, 201)):
        assert response.status_code in status, response.body
        return response.json_body

    for who in (CONTRACTOR, CONTRACTOR2):
        ok(api.request("PATCH", "/v1/me/profile", {"custom_offers": True, "skills": ["python"]}, token=tokens[who]))
        w[f"gig:{who}"] = ok(api.post("/v1/gigs", {"title": "Logo", "description": "A logo", "amount": 10_000,
                                                   "currency": "USD", "delivery_days": 3}, token=tokens[who]))["id"]
    gig = w[f"gig:{CONTRACTOR}"]
    w["gig"] = gig
    w["order"] = ok(api.post("/v1/orders", {"gig_id": gig}, token=tokens[OWNER]))["id"]
    ok(api.post(f"/v1/orders/{w['order']}/start", token=tokens[CONTRACTOR]))
    w["extra"] = ok(api.post(f"/v1/orders/{w['order']}/extras", {"title": "Sources", "amount": 500, "extra_days": 1},
                             token=tokens[CONTRACTOR]))["extras"][-1]["id"]
    w["conversation"] = ok(api.post("/v1/conversations", {"user_id": ids[OWNER]}, token=tokens[CONTRACTOR]))["id"]
    ok(api.post(f"/v1/conversations/{w['conversation']}/messages", {"text": "Can you make it in blue?"},
                token=tokens[OWNER]))
    w["offer"] = ok(api.post("/v1/offers", {"client_id": ids[OWNER], "gig_id": gig, "description": "Three concepts",
                                            "amount": 12_000, "currency": "USD", "delivery_days": 5,
                                            "revision_limit": 1}, token=tokens[CONTRACTOR]))["id"]
    w["offer_request"] = ok(api.post("/v1/offer-requests", {"contractor_id": ids[CONTRACTOR], "gig_id": gig,
                                                            "description": "A logo, in blue"},
                                     token=tokens[OWNER]))["id"]
    w["delivered"] = ok(api.post("/v1/orders", {"gig_id": gig}, token=tokens[OWNER]))["id"]
    ok(api.post(f"/v1/orders/{w['delivered']}/start", token=tokens[CONTRACTOR]))
    delivery = {"message": "Here it is", "attachments": [
        {"file_id": upload(api, tokens[CONTRACTOR], "logo.png", png(), "image/png")}]}
    w["file"] = ok(api.post(f"/v1/orders/{w['delivered']}/deliver", delivery,
                            token=tokens[CONTRACTOR]))["deliveries"][0]["files"][0]["id"]
    w["payout"] = ok(api.post("/v1/payouts", {"amount": 2_000, "currency": "USD",
                                              "destination": {"type": "card", "number": CARD}},
                              token=tokens[OWNER]))["id"]
    w["project"] = ok(api.post("/v1/projects", {"title": "Landing page", "description": "A page", "skills": ["python"],
                                                "budget_min": 20_000, "budget_max": 40_000, "currency": "USD"},
                               token=tokens[OWNER]))["id"]
    ok(api.post(f"/v1/projects/{w['project']}/proposals", {"price": 30_000, "days": 5, "text": "I can"},
                token=tokens[CONTRACTOR]))
    w["contract"] = ok(api.post(f"/v1/projects/{w['project']}/proposals/{ids[CONTRACTOR]}/select",
                                token=tokens[OWNER]))["id"]
    w["deliverable_file"] = upload(api, tokens[CONTRACTOR], "site.zip", _zip(), "application/zip")
    w["project2"] = ok(api.post("/v1/projects", {"title": "Second", "description": "Another", "skills": ["python"],
                                                 "budget_min": 20_000, "budget_max": 40_000, "currency": "USD"},
                                token=tokens[OWNER]))["id"]
    ok(api.post(f"/v1/projects/{w['project2']}/proposals", {"price": 25_000, "days": 4, "text": "Me"},
                token=tokens[CONTRACTOR]))
    invited = ok(api.post("/v1/team/invitations", {"emails": "seller@example.com"}, token=tokens[OWNER]))
    assert [r["status"] for r in invited["results"]] == ["invited"]
    ok(api.post(f"/v1/team/requests/{ids[OWNER]}/accept", token=tokens[CONTRACTOR]))
    task = {"contractor_id": ids[CONTRACTOR], "title": "Translate", "description": "EN → UK", "amount": 3_000,
            "currency": "USD"}
    w["task"] = ok(api.post("/v1/tasks", task, token=tokens[OWNER]))["id"]
    ok(api.post(f"/v1/tasks/{w['task']}/send", token=tokens[OWNER]))
    w["draft"] = ok(api.post("/v1/tasks", task, token=tokens[OWNER]))["id"]
    parked = transfer_event("evt-stray", 777, "USD", "no invoice named here")
    w["payment"] = ok(api.webhook(parked))["payment"]["id"]
    w["notification"] = api.get("/v1/notifications", token=tokens[OWNER]).json_body["items"][0]["id"]
    w["documents"] = w["task"]
    w["topup"] = ok(api.post("/v1/topups", {"amount": 100, "currency": "USD"}, token=tokens[OWNER]))["id"]
    _sites(api, w, ok)
    return w


def _sites(api, w: dict, ok) -> None:
    """Tariffs, and the owner's site with its key, its first invoice and a personal contract."""
    from tests.billing_support import OWNER as CONTACT
    from tests.billing_support import add_tariffs

    tokens = w["tokens"]
    add_tariffs(api, tokens[OPERATOR])
    w["site"] = ok(api.post("/v1/sites", {"name": "Shop", "domains": ["shop.example.ua"], "owner": CONTACT,
                                          "tariff": "start"}, token=tokens[OWNER]))["id"]
    w["site_key"] = ok(api.post(f"/v1/sites/{w['site']}/keys", token=tokens[OWNER]))["key"]
    w["site_invoice"] = api.get(f"/v1/sites/{w['site']}/invoices", token=tokens[OWNER]).json_body["items"][0]["id"]
    pdf = upload(api, tokens[OPERATOR], "contract.pdf", b"%PDF-1.4 contract", "application/pdf")
    w["site_contract"] = ok(api.post(f"/v1/operator/sites/{w['site']}/contracts", {"file_id": pdf},
                                     token=tokens[OPERATOR]))["id"]
    w["contract_file"] = upload(api, tokens[OPERATOR], "again.pdf", b"%PDF-1.4 again", "application/pdf")


def credentials(w: dict, who: str) -> tuple[str | None, dict]:
    """The bearer token and headers a caller sends."""
    if who == SITE_KEY:
        return None, {"X-Site-Key": w["site_key"]}
    return (None if who == NOBODY else w["tokens"][who]), {}


def _rows(w: dict) -> list[Row]:
    k = w["ids"][CONTRACTOR]
    o, x, c, t = w["order"], w["offer"], w["contract"], w["task"]
    reason = {"reason": "no_longer_needed"}
    signup = {"email": "new-user@example.com", "password": "correct horse", "name": "New"}
    bank = json.dumps({"event_id": "evt-x", "type": "transfer.incoming"}).encode()
    return [
        Row("POST", "/v1/auth/signup", EVERYONE, signup),
        Row("POST", "/v1/auth/login", EVERYONE, {"email": "owner@example.com", "password": "correct horse"}),
        Row("GET", "/v1/me", USERS),
        Row("PATCH", "/v1/me", USERS, {"timezone": "Europe/Kyiv"}),
        Row("GET", "/v1/me/notification-settings", USERS),
        Row("PATCH", "/v1/me/notification-settings", USERS, {"email": {"order_started": False}}),
        Row("GET", "/v1/balances", USERS),
        Row("GET", "/v1/ledger", USERS),
        Row("GET", "/v1/notifications", USERS, sees=frozenset({OWNER}), item="notification"),
        Row("POST", f"/v1/notifications/{w['notification']}/read", frozenset({OWNER})),
        # the bank's webhook takes no bearer token at all: only the bank's signature lets it in
        Row("POST", "/v1/webhooks/bank", frozenset(), {"event_id": "evt-x"},
            headers={"X-Bank-Signature": sign(bank) + "0"}),
        Row("GET", "/v1/operator/payments/unmatched", frozenset({OPERATOR}), sees=frozenset({OPERATOR}),
            item="payment"),
        Row("GET", f"/v1/operator/payments/{w['payment']}", frozenset({OPERATOR})),
        Row("POST", f"/v1/operator/payments/{w['payment']}/apply", frozenset({OPERATOR}),
            {"invoice_id": w["invoice"], "reason": "the payer paid a part"}),
        Row("POST", f"/v1/operator/payments/{w['payment']}/return", frozenset({OPERATOR}), {"reason": "unknown payer"}),
        Row("GET", "/v1/operator/trial-balance", frozenset({OPERATOR})),
        Row("POST", "/v1/payouts", USERS, {"amount": 1, "currency": "USD",
                                           "destination": {"type": "card", "number": CARD}}),
        Row("GET", "/v1/payouts", USERS, sees=frozenset({OWNER}), item="payout"),
        Row("GET", f"/v1/payouts/{w['payout']}", frozenset({OWNER})),
        Row("GET", "/dev/clock", EVERYONE),
        Row("POST", "/dev/clock", EVERYONE, {"advance_seconds": 0}),
        Row("POST", "/dev/jobs/run", EVERYONE),
        Row("POST", f"/dev/users/{w['ids'][CLIENT2]}/email-confirmation", EVERYONE),
        Row("POST", "/v1/invoices", USERS, {"amount": 100, "currency": "USD"}),
        Row("POST", "/v1/topups", USERS, {"amount": 100, "currency": "USD"}),
        Row("GET", f"/v1/topups/{w['topup']}", frozenset({OWNER, OPERATOR})),
        Row("POST", f"/v1/topups/{w['topup']}/payment-link", frozenset({OWNER})),
        Row("GET", "/v1/invoices", USERS, sees=frozenset({OWNER}), item="invoice"),
        Row("GET", f"/v1/invoices/{w['invoice']}", frozenset({OWNER, OPERATOR})),
        Row("GET", f"/v1/invoices/{w['invoice']}/pdf", frozenset({OWNER, OPERATOR}),
            headers={"Accept": "application/pdf"}),
        Row("POST", "/v1/offers", frozenset({CONTRACTOR}), {"client_id": w["ids"][OWNER], "gig_id": w["gig"],
                                                            "description": "More", "amount": 100, "currency": "USD",
                                                            "delivery_days": 1}),
        Row("GET", "/v1/offers", USERS, sees=PARTIES, item="offer"),
        Row("GET", f"/v1/offers/{x}", PARTIES),
        Row("POST", f"/v1/offers/{x}/reject", frozenset({OWNER}), {"reason": "Too expensive"}),
        Row("POST", f"/v1/offers/{x}/accept", frozenset({OWNER})),
        Row("POST", f"/v1/offers/{x}/withdraw", frozenset({CONTRACTOR})),
        Row("POST", "/v1/offer-requests", USERS, {"contractor_id": k, "description": "Another logo"}),
        Row("GET", "/v1/offer-requests", USERS, sees=PARTIES, item="offer_request"),
        Row("GET", f"/v1/offer-requests/{w['offer_request']}", PARTIES),
        Row("POST", f"/v1/offer-requests/{w['offer_request']}/decline", frozenset({CONTRACTOR}), {"reason": "Busy"}),
        Row("POST", f"/v1/offer-requests/{w['offer_request']}/withdraw", frozenset({OWNER})),
        Row("GET", f"/v1/clients/{w['ids'][OWNER]}", USERS),
        Row("GET", f"/v1/users/{k}/reviews", USERS),
        Row("POST", "/v1/conversations", USERS, {"user_id": k}),
        Row("GET", "/v1/conversations", USERS, sees=PARTIES, item="conversation"),
        Row("POST", f"/v1/conversations/{w['conversation']}/messages", PARTIES, {"text": "hello"}),
        Row("GET", f"/v1/conversations/{w['conversation']}/messages", PARTIES),
        Row("POST", f"/v1/orders/{o}/messages", SUPPORT, {"text": "hello"}),
        Row("GET", f"/v1/orders/{o}/messages", SUPPORT),
        Row("GET", f"/v1/contractors/{k}", USERS),
        Row("PATCH", "/v1/me/profile", USERS, {"skills": ["python"]}),
        Row("POST", f"/v1/operator/contractors/{k}/level", frozenset({OPERATOR}), {"level": "advanced"}),
        Row("GET", "/openapi.json", EVERYONE),
        Row("POST", "/v1/gigs", USERS, {"title": "T", "amount": 100, "currency": "USD", "delivery_days": 1}),
        Row("GET", "/v1/gigs", USERS, sees=frozenset({CONTRACTOR}), item="gig"),
        Row("GET", f"/v1/gigs/{w['gig']}", USERS),
        Row("GET", f"/v1/gigs/{w['gig']}/reviews", USERS),
        Row("POST", f"/v1/gigs/{w['gig']}/pause", frozenset({CONTRACTOR})),
        Row("POST", f"/v1/gigs/{w['gig']}/activate", frozenset({CONTRACTOR})),
        Row("PATCH", f"/v1/gigs/{w['gig']}", frozenset({CONTRACTOR}), {"title": "Logo, renamed"}),
        # the catalog is public: anyone, with a token or without
        Row("GET", "/v1/catalog/gigs", EVERYONE),
        Row("GET", "/v1/catalog/categories", EVERYONE),
        Row("GET", f"/v1/catalog/gigs/{w['gig']}", EVERYONE),
        Row("GET", f"/v1/contractors/{k}/reviews", EVERYONE),
        Row("POST", "/v1/orders", USERS, {"gig_id": w[f"gig:{CONTRACTOR2}"]}),
        Row("GET", "/v1/orders", USERS, sees=PARTIES, item="order"),
        Row("GET", f"/v1/orders/{o}", SUPPORT),
        Row("POST", f"/v1/orders/{o}/extras", frozenset({CONTRACTOR}), {"title": "More", "amount": 100,
                                                                        "extra_days": 0}),
        Row("POST", f"/v1/orders/{o}/extras/{w['extra']}/reject", frozenset({OWNER})),
        Row("POST", f"/v1/orders/{o}/extras/{w['extra']}/pay", frozenset({OWNER})),
        Row("POST", f"/v1/orders/{o}/cancellation", PARTIES, reason),
        Row("POST", f"/v1/orders/{o}/cancellation/refuse", PARTIES),
        Row("POST", f"/v1/orders/{o}/cancellation/accept", PARTIES),
        Row("POST", f"/v1/orders/{o}/cancellation/operator", frozenset({CONTRACTOR}), {"message": "Stuck"}),
        Row("POST", f"/v1/orders/{o}/start", frozenset({CONTRACTOR})),
        Row("POST", f"/v1/orders/{o}/deliver", frozenset({CONTRACTOR}), {"message": "Here it is"}),
        Row("GET", f"/v1/orders/{w['delivered']}/files/{w['file']}", SUPPORT),
        Row("GET", f"/v1/orders/{o}/thread", SUPPORT),
        Row("POST", "/v1/uploads", USERS, {"filename": "brief.txt", "size": 10, "content_type": "text/plain"}),
        # a claimed file: the parties of its order and operators (the contractor uploaded it)
        Row("GET", f"/v1/uploads/{w['file']}", SUPPORT),
        # the local stage's upload form: its signed policy is its credential
        Row("POST", "/v1/files", frozenset()),
        Row("POST", f"/v1/orders/{o}/request-revision", frozenset({OWNER}), {"message": "Bigger"}),
        Row("POST", f"/v1/orders/{o}/dispute", frozenset({OWNER}), {"message": "Not what we agreed"}),
        Row("GET", "/v1/operator/disputes", frozenset({OPERATOR})),
        Row("POST", f"/v1/operator/disputes/{o}/resolve", frozenset({OPERATOR}),
            {"refund": 1, "release": 1, "note": "split"}),
        Row("POST", f"/v1/orders/{o}/accept", frozenset({OWNER})),
        Row("POST", f"/v1/orders/{o}/review", frozenset({OWNER}), {"rating": 5, "text": "Great"}),
        Row("POST", f"/v1/orders/{o}/decline", frozenset({CONTRACTOR}), {"reason": "too_busy"}),
        Row("POST", f"/v1/orders/{o}/cancel", frozenset({OWNER}), {"reason": "late"}),
        Row("POST", "/v1/projects", USERS, {"title": "P", "description": "D", "skills": ["python"],
                                            "budget_min": 100, "budget_max": 200, "currency": "USD"}),
        Row("GET", "/v1/projects", USERS, sees=USERS, item="project2"),
        Row("GET", "/v1/projects/mine", USERS, sees=frozenset({OWNER}), item="project"),
        Row("GET", f"/v1/projects/{w['project']}", USERS),
        Row("PATCH", f"/v1/projects/{w['project2']}/proposals/mine", frozenset({CONTRACTOR}),
            {"price": 26_000, "days": 4, "text": "Me"}),
        Row("POST", f"/v1/projects/{w['project2']}/proposals/mine/withdraw", frozenset({CONTRACTOR})),
        # anyone may bid (the client's bid on his own project is 422 own_project)
        Row("POST", f"/v1/projects/{w['project2']}/proposals", USERS, {"price": 30_000, "days": 3, "text": "Me"}),
        Row("GET", f"/v1/projects/{w['project2']}/proposals", frozenset({OWNER})),
        Row("POST", f"/v1/projects/{w['project2']}/proposals/{k}/select", frozenset({OWNER})),
        Row("PATCH", f"/v1/projects/{w['project2']}", frozenset({OWNER}), {"title": "P2, changed"}),
        Row("POST", f"/v1/projects/{w['project2']}/close", frozenset({OWNER})),
        Row("GET", "/v1/contracts", USERS, sees=PARTIES, item="contract"),
        Row("GET", f"/v1/contracts/{c}", SUPPORT),
        Row("POST", f"/v1/contracts/{c}/accept", frozenset({CONTRACTOR})),
        Row("POST", f"/v1/contracts/{c}/fund", frozenset({OWNER})),
        Row("POST", f"/v1/contracts/{c}/deliverable", frozenset({CONTRACTOR}), {"file_id": w["deliverable_file"]}),
        Row("GET", f"/v1/contracts/{c}/deliverable", SUPPORT),
        Row("POST", f"/v1/contracts/{c}/submit", frozenset({CONTRACTOR})),
        Row("POST", f"/v1/contracts/{c}/changes", frozenset({OWNER}), {"message": "Fix it"}),
        Row("POST", f"/v1/contracts/{c}/extend-funding", frozenset({CONTRACTOR})),
        Row("POST", f"/v1/contracts/{c}/cancel", frozenset({OWNER})),
        Row("POST", f"/v1/contracts/{c}/review", PARTIES, {"rating": 5}),
        Row("POST", f"/v1/contracts/{c}/dispute", PARTIES, {"message": "Broken"}),
        Row("POST", f"/v1/operator/contracts/{c}/resolve", frozenset({OPERATOR}),
            {"refund": 1, "release": 1, "note": "split"}),
        Row("POST", f"/v1/contracts/{c}/approve", frozenset({OWNER})),
        Row("POST", f"/v1/contracts/{c}/decline", frozenset({CONTRACTOR}), {"reason": "busy"}),
        # a download link is its own credential: anyone holding a valid one may use it, nobody else
        Row("GET", "/v1/files/not-a-signed-token", frozenset()),
        Row("POST", "/v1/team/invitations", USERS, {"emails": "friend@example.com"}),
        Row("POST", "/v1/invitations/not-a-token/accept", frozenset(), {"password": "correct horse", "name": "X"}),
        Row("POST", "/v1/invitations/not-a-token/decline", frozenset()),
        # the contractor already joined: his answer is a 409, everyone else has no request to answer
        Row("POST", f"/v1/team/requests/{w['ids'][OWNER]}/accept", frozenset({CONTRACTOR})),
        Row("POST", f"/v1/team/requests/{w['ids'][OWNER]}/decline", frozenset({CONTRACTOR})),
        Row("POST", "/v1/auth/password-reset", EVERYONE, {"email": "owner@example.com"}),
        Row("POST", "/v1/auth/password-reset/confirm", frozenset(), {"token": "not-a-token",
                                                                      "password": "a new password"}),
        # the address's confirmation: a new link for oneself (every account here is confirmed: a 409), or the link
        Row("POST", "/v1/me/email-confirmation", USERS),
        Row("POST", "/v1/auth/email-confirmation/confirm", frozenset(), {"token": "not-a-token"}),
        Row("GET", "/web/email-confirmations/not-a-token", frozenset()),
        # the one-click link's own signature is its credential, no log-in: a forged one opens nothing
        Row("GET", "/web/unsubscribe/not-a-token", frozenset()),
        Row("POST", "/web/unsubscribe/not-a-token", frozenset(), headers=PAGE_FORM),
        Row("GET", "/web/email-confirmation", frozenset()),
        Row("POST", "/web/email-confirmation", frozenset(), headers=PAGE_FORM),
        Row("GET", "/web/email-confirmation/done", EVERYONE),
        # the pages people open from e-mails: their link's token is their only credential
        Row("GET", "/web/invitations/not-a-token", frozenset()),
        Row("GET", "/web/invitation", frozenset()),
        Row("POST", "/web/invitation", frozenset(), headers=PAGE_FORM),
        Row("GET", "/web/invitation/done", EVERYONE),
        Row("GET", "/web/password-reset/not-a-token", frozenset()),
        Row("GET", "/web/password", frozenset()),
        Row("POST", "/web/password", frozenset(), headers=PAGE_FORM),
        Row("GET", "/web/password/done", EVERYONE),
        # the test acquirer's page: a payment it does not know is a page saying so, whoever asks
        Row("GET", "/web/checkout/cpy_unknown", frozenset()),
        Row("POST", "/web/checkout/cpy_unknown", frozenset(), headers=PAGE_FORM),
        Row("GET", "/web/checkout/cpy_unknown/done", EVERYONE),
        # the operator console: its session is its own cookie, never a bearer token or a site key
        Row("GET", "/console/login", EVERYONE),
        Row("GET", "/console/disputes", frozenset()),
        Row("GET", "/console/disputes/ord_unknown", frozenset()),
        Row("GET", "/console/disputes/ord_unknown/files/upl_unknown", frozenset()),
        Row("POST", "/console/disputes/ord_unknown/resolve", frozenset(), headers=PAGE_FORM),
        Row("GET", "/console/contractors", frozenset()),
        Row("GET", "/console/contractors/usr_unknown", frozenset()),
        Row("POST", "/console/contractors/usr_unknown/level", frozenset(), headers=PAGE_FORM),
        Row("POST", "/console/login", frozenset(), headers=PAGE_FORM),
        Row("GET", "/console/enrol", frozenset()),
        Row("POST", "/console/enrol", frozenset(), headers=PAGE_FORM),
        Row("POST", "/console/logout", frozenset(), headers=PAGE_FORM),
        Row("GET", "/console", frozenset()),
        Row("GET", "/console/audit", frozenset()),
        # the owners' billing section: its session is its own cookie too
        Row("GET", "/web/login", EVERYONE),
        Row("POST", "/web/login", frozenset(), headers=PAGE_FORM),
        Row("POST", "/web/logout", frozenset(), headers=PAGE_FORM),
        Row("GET", "/billing", frozenset()),
        Row("GET", f"/billing/{w['site']}", frozenset()),
        Row("GET", f"/billing/{w['site']}/tariff", frozenset()),
        Row("POST", f"/billing/{w['site']}/tariff", frozenset(), headers=PAGE_FORM),
        Row("POST", f"/billing/{w['site']}/payment-method", frozenset(), headers=PAGE_FORM),
        Row("POST", f"/billing/{w['site']}/deletion-request", frozenset(), headers=PAGE_FORM),
        Row("POST", f"/billing/{w['site']}/deletion-request/withdraw", frozenset(), headers=PAGE_FORM),
        Row("POST", f"/billing/{w['site']}/requisites", frozenset(), headers=PAGE_FORM),
        Row("POST", f"/billing/{w['site']}/vchasno/activate", frozenset(), headers=PAGE_FORM),
        Row("POST", f"/billing/{w['site']}/vchasno/deactivate", frozenset(), headers=PAGE_FORM),
        Row("GET", f"/billing/{w['site']}/offer", frozenset()),
        Row("GET", f"/billing/{w['site']}/contracts/{w['site']}", frozenset()),
        Row("POST", f"/billing/{w['site']}/invoices/{w['site_invoice']}/pay", frozenset(), headers=PAGE_FORM),
        Row("GET", f"/billing/{w['site']}/invoices/{w['site_invoice']}/pdf", frozenset()),
        Row("POST", f"/billing/{w['site']}/acts", frozenset(), headers=PAGE_FORM),
        Row("GET", f"/billing/{w['site']}/acts/{w['site']}/pdf", frozenset()),
        # the pages' stylesheet, by its hash: anyone's browser
        Row("GET", f"/static/site.{assets.stylesheet()[1]}.css", EVERYONE),
        Row("GET", "/console/payments", frozenset()),
        Row("GET", "/console/payments/pay_unknown", frozenset()),
        Row("POST", "/console/payments/pay_unknown/apply", frozenset(), headers=PAGE_FORM),
        Row("POST", "/console/payments/pay_unknown/return", frozenset(), headers=PAGE_FORM),
        Row("GET", "/console/payouts", frozenset()),
        Row("GET", "/console/books", frozenset()),
        Row("POST", "/console/books/audit", frozenset(), headers=PAGE_FORM),
        Row("GET", "/console/sites", frozenset()),
        Row("GET", f"/console/sites/{w['site']}", frozenset()),
        *(Row("POST", f"/console/sites/{w['site']}/{act}", frozenset(), headers=PAGE_FORM) for act in (
            "owner", "tariff", "autopay/stop", "autopay/resume", "delete", "deletion/refuse", "credit/refund",
            f"invoices/{w['site_invoice']}/write-off")),
        Row("GET", "/console/tariffs", frozenset()),
        Row("POST", "/console/tariffs", frozenset(), headers=PAGE_FORM),
        Row("GET", "/console/tariffs/start", frozenset()),
        Row("POST", "/console/tariffs/start", frozenset(), headers=PAGE_FORM),
        Row("GET", "/v1/team", USERS),
        Row("GET", "/v1/company/settings", USERS),
        Row("PATCH", "/v1/company/settings", USERS - {OPERATOR}, {"send_tasks_at_once": False}),
        Row("POST", "/v1/tasks", USERS, {"contractor_id": k, "title": "T", "amount": 100, "currency": "USD"}),
        Row("GET", "/v1/tasks", USERS, sees=PARTIES, item="task"),
        Row("GET", f"/v1/tasks/{t}", PARTIES),
        Row("GET", f"/v1/tasks/{w['draft']}", frozenset({OWNER})),
        Row("PATCH", f"/v1/tasks/{w['draft']}", frozenset({OWNER}), {"title": "Renamed"}),
        Row("POST", f"/v1/tasks/{w['draft']}/send", frozenset({OWNER})),
        Row("POST", f"/v1/tasks/{t}/done", frozenset({CONTRACTOR})),
        Row("GET", f"/v1/tasks/{t}/act", PARTIES, headers={"Accept": "application/pdf"}),
        Row("GET", "/v1/documents", USERS, sees=PARTIES, item="documents"),
        Row("POST", f"/v1/tasks/{t}/dispute", frozenset({OWNER}), {"reason": "Not what we asked for"}),
        Row("POST", f"/v1/operator/tasks/{t}/resolve", frozenset({OPERATOR}), {"refund": 0, "release": 0, "note": "x"}),
        Row("POST", f"/v1/tasks/{t}/cancel", frozenset({OWNER})),
        Row("DELETE", f"/v1/tasks/{w['draft']}", frozenset({OWNER})),
        *_site_rows(w),
        # last: they end the callers' sessions (a password change hands back a token for a new one)
        Row("POST", "/v1/me/password", USERS, {"current_password": PASSWORDS[OWNER], "new_password": "correct horse"}),
        Row("POST", "/v1/auth/logout", USERS),
    ]


def _site_rows(w: dict) -> list[Row]:
    from tests.billing_support import BUSINESS, EDRPOU, IBAN
    from tests.billing_support import OWNER as CONTACT

    s = w["site"]
    site = {"name": "Another", "domains": ["another.example.ua"], "owner": CONTACT, "tariff": "start"}
    return [
        Row("GET", "/v1/tariffs", USERS),
        Row("POST", "/v1/operator/tariffs", frozenset({OPERATOR}), {**BUSINESS, "code": "pro"}),
        Row("PATCH", "/v1/operator/tariffs/start", frozenset({OPERATOR}), {"name": "Start"}),
        Row("POST", "/v1/sites", USERS, site),
        Row("GET", "/v1/sites", USERS, sees=frozenset({OWNER}), item="site"),
        Row("GET", f"/v1/sites/{s}", SITE_READERS),
        Row("POST", f"/v1/sites/{s}/usage", frozenset({SITE_KEY}), {"event_id": "evt-usage", "orders": 1}),
        Row("POST", f"/v1/sites/{s}/domains", frozenset({OWNER}), {"domain": "www.shop.example.ua"}),
        Row("DELETE", f"/v1/sites/{s}/domains/www.shop.example.ua", frozenset({OWNER})),
        Row("GET", f"/v1/sites/{s}/domains/shop.example.ua", SITE_READERS),
        Row("POST", f"/v1/sites/{s}/domains/shop.example.ua/verify", frozenset({OWNER})),
        Row("GET", f"/v1/sites/{s}/requisites", SITE_READERS),
        Row("PUT", f"/v1/sites/{s}/requisites", frozenset({OWNER}), {"tax_id": EDRPOU, "iban": IBAN}),
        Row("POST", f"/v1/sites/{s}/vchasno/activate", frozenset({OWNER})),
        Row("POST", f"/v1/sites/{s}/vchasno/deactivate", frozenset({OWNER})),
        Row("POST", f"/v1/sites/{s}/tariff", frozenset({OWNER}), {"code": "business"}),
        Row("POST", f"/v1/sites/{s}/invoices/{w['site_invoice']}/payment-link", frozenset({OWNER})),
        Row("POST", f"/v1/sites/{s}/payment-method", frozenset({OWNER})),
        Row("GET", f"/v1/sites/{s}/card-payments", SITE_READERS),
        Row("POST", f"/v1/sites/{s}/acts", frozenset({OWNER}), {"period": "2026-01"}),
        Row("GET", f"/v1/sites/{s}/acts", SITE_READERS),
        Row("GET", "/v1/operator/sites", frozenset({OPERATOR})),
        Row("POST", f"/v1/operator/sites/{s}/autopay/stop", frozenset({OPERATOR})),
        Row("POST", f"/v1/operator/sites/{s}/autopay/resume", frozenset({OPERATOR}), {"reason": "owner asked"}),
        Row("POST", f"/v1/sites/{s}/credit/refund", frozenset({OWNER})),
        Row("POST", f"/v1/operator/sites/{s}/credit/refund", frozenset({OPERATOR}), {"reason": "owner asked"}),
        Row("POST", f"/v1/operator/sites/{s}/tariff", frozenset({OPERATOR}),
            {"code": "start", "reason": "asked by phone"}),
        Row("GET", f"/v1/operator/sites/{s}/audit", frozenset({OPERATOR})),
        Row("GET", f"/v1/sites/{s}/status", frozenset({SITE_KEY})),
        Row("GET", f"/v1/sites/{s}/acts/act_none/pdf", frozenset(), headers=PDF),
        # the acquirer's webhook takes no bearer token either: only its own signature lets it in
        Row("POST", "/v1/webhooks/acquirer", frozenset(), {"event_id": "evt-x"},
            headers={"X-Acquirer-Signature": acquirer.sign(b'{"event_id": "evt-x"}') + "0"}),
        Row("GET", f"/v1/sites/{s}/invoices", SITE_READERS, sees=SITE_READERS, item="site_invoice"),
        Row("GET", f"/v1/sites/{s}/invoices/{w['site_invoice']}", SITE_READERS),
        Row("GET", f"/v1/sites/{s}/invoices/{w['site_invoice']}/pdf", SITE_READERS, headers=PDF),
        Row("GET", f"/v1/sites/{s}/contracts", SITE_READERS),
        Row("GET", f"/v1/sites/{s}/contracts/{w['site_contract']}", SITE_READERS),
        Row("GET", f"/v1/sites/{s}/offer", SITE_READERS, headers=PDF),
        Row("POST", f"/v1/operator/sites/{s}/contracts", frozenset({OPERATOR}), {"file_id": w["contract_file"]}),
        Row("POST", f"/v1/operator/sites/{s}/invoices/{w['site_invoice']}/write-off", frozenset({OPERATOR}),
            {"reason": "goodwill"}),
        Row("POST", f"/v1/operator/sites/{s}/owner", frozenset({OPERATOR}), {"owner": CONTACT}),
        Row("POST", f"/v1/sites/{s}/deletion-request", frozenset({OWNER}), {"reasons": ["other"]}),
        Row("POST", f"/v1/sites/{s}/deletion-request/withdraw", frozenset({OWNER})),
        Row("POST", f"/v1/operator/sites/{s}/deletion-request/refuse", frozenset({OPERATOR}),
            {"reason": "the contract runs on"}),
        Row("POST", f"/v1/operator/sites/{s}/delete", frozenset({OPERATOR})),
        # the key opens the usage route and nothing else, even its own site's pages
        Row("POST", f"/v1/sites/{s}/keys", frozenset({OWNER})),
    ]


def _snapshot() -> tuple:
    """Everything a refused call must leave as it was: deals, balances, journal lines, payouts."""
    deals = sorted((d.id, d.status, d.version, d.escrowed) for d in DealModel.scan(consistent_read=True))
    accounts = sorted((a.owner_id, a.account_key, int(a.available), int(a.held))
                      for a in AccountModel.scan(consistent_read=True))
    lines = sum(1 for _ in JournalLineModel.scan(consistent_read=True))
    payouts = sorted((p.id, p.status) for p in PayoutModel.scan(consistent_read=True))
    return deals, accounts, lines, payouts


def _template(path: str, w: dict) -> str:
    """The route a concrete path was built from, e.g. /v1/orders/{order_id}/start."""
    parts = path.split("/")
    for op in OPERATIONS:
        pattern = op.path.split("/")
        pairs = list(zip(pattern, parts, strict=False))
        if (len(pattern) == len(parts) and all(p == q or p.startswith("{") for p, q in pairs)
                and not any(p.startswith("{") and q in ("mine", "unmatched", "settings") for p, q in pairs)):
            return op.path
    raise AssertionError(f"no route for {path}")


def _item_ids(body) -> set[str]:
    items = body.get("items", []) if isinstance(body, dict) else []
    return {str(item.get(key)) for item in items if isinstance(item, dict) for key in ("id", "task_id")}


def test_every_endpoint_answers_each_caller_exactly_what_it_may(api):
    w = _world(api)
    rows = _rows(w)
    routes = {(op.method, op.path) for op in OPERATIONS}
    covered = {(row.method, _template(row.path, w)) for row in rows}
    assert routes - covered == set(), f"endpoints missing from the matrix: {sorted(routes - covered)}"

    wrong: list[str] = []
    ROLE_LISTS.update({op.path: op.query for op in OPERATIONS})
    for row in rows:
        def call(who: str, row: Row = row):
            token, extra = credentials(w, who)
            body = row.body
            if row.method == "POST" and row.path == "/v1/auth/signup":
                body = {**row.body, "email": f"new-{len(wrong)}-{who.replace(' ', '-')}@example.com"}
            if row.path == "/v1/me/password" and who in PASSWORDS:
                body = {"current_password": PASSWORDS[who], "new_password": PASSWORDS[who]}
            path = row.path
            if who in CONTRACTORS and row.method == "GET" and "role" in ROLE_LISTS.get(row.path, ()):
                path += "?role=contractor"  # role lists show the client's side unless asked
            return api.request(row.method, path, body, token=token, headers={**row.headers, **extra})

        refused = [who for who in EVERYONE if who not in row.may]
        before = _snapshot()  # once per row: four scans per refused call made this table take minutes
        for who in sorted(refused):
            response = call(who)
            expected = {401} if who in (NOBODY, SITE_KEY) else REFUSED
            if row.path.startswith(("/v1/files", "/v1/invitations/", "/v1/auth/password-reset/", "/web/",
                                    "/v1/auth/email-confirmation/", "/console", "/billing")):
                expected = REFUSED | {400, 410, 422}  # their credential is in the request, not a bearer token
            if row.path.startswith("/v1/webhooks/"):
                expected = {401}  # the bank's signature is checked before anything reads the body
            if response.status_code not in expected:
                wrong.append(f"{row.method} {row.path} as {who}: {response.status_code}, expected {sorted(expected)}")
            if row.path.startswith(("/web/", "/console", "/billing")):  # pages answer in HTML, refusals too
                if not response.headers.get("Content-Type", "").startswith("text/html"):
                    wrong.append(f"{row.method} {row.path} as {who}: a page answered {response.headers}")
            elif response.status_code >= 400 and set(response.json_body["error"]) < {"code", "message"}:
                wrong.append(f"{row.method} {row.path} as {who}: error not in the API's shape: {response.body!r}")
        if refused and _snapshot() != before:
            wrong.append(f"{row.method} {row.path}: refused to {sorted(refused)} but changed state")
        for who in sorted(row.may):
            response = call(who)
            if row.path == "/v1/me/password" and response.status_code == 200:
                w["tokens"][who] = response.json_body["token"]  # the change ended every earlier session
            if response.status_code in REFUSED or response.status_code >= 500:
                wrong.append(f"{row.method} {row.path} as {who}: refused with {response.status_code}: "
                             f"{response.body[:200]!r}")
            elif row.sees is not None:
                shows = w[row.item] in _item_ids(response.json_body)
                if shows != (who in row.sees):
                    wrong.append(f"{row.method} {row.path} as {who}: {'shows' if shows else 'hides'} the "
                                 f"{row.item}")
    assert wrong == [], "\n".join(wrong)
    assert_books_balance()
