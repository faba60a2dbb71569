"""Sites (seed 003): business accounts their owners create and operators support. A site's own
details — name, domains, owner contact, requisites, the Vchasno integration, its usage key, personal
contracts — live in `SiteModel`; its billing life (status, tariff, counters, invoices, deletion) is the
subscription deal of the same id (`processes/subscription.py`), changed only through the engine.

A domain is claimed by proving it: added to a site it is `pending` until the owner publishes the site's
token for it (a DNS TXT record or a file under `/.well-known/`, `chalicelib.adapters.domains`) and asks for
verification. Until then other sites may claim it too (`domain-claims#<host>` lists them); the first to prove
it holds it (`domain#<host>`, unique) and the others' owners are told (`domain_claimed_elsewhere`). The
token is derived from the site and the host (an HMAC), so none is stored. The owner contact and the owner
change only by an operator's act, as the seed sends that to support; while
Vchasno is activated the requisites cannot be edited (deactivate, edit, activate again).

Why one module of this size: every use case here loads the same site, checks the same owner or operator
and changes the site item and its subscription deal together; split into files they would import each other."""
from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable

from chalicelib import engine
from chalicelib.access.auth import Principal
from chalicelib.adapters import domains as domain_proofs
from chalicelib.adapters.state_registry import get_registry
from chalicelib.adapters.vchasno import get_vchasno
from chalicelib.money import periods, tariffs
from chalicelib.notify import outbox
from chalicelib.platform import clock, ids, secret_store
from chalicelib.platform.config import settings
from chalicelib.platform.errors import Conflict, Forbidden, NotFound, Retryable, Unauthorized, Unprocessable
from chalicelib.platform.observability import logger
from chalicelib.processes import Context
from chalicelib.processes.site_deal import (
    ACTIVE,
    BILLED,
    BLOCKED,
    DELETED,
    PLATFORM,
    contact_email_key,
    counters_now,
    domain_key,
    service_code_key,
    site_key,
)
from chalicelib.processes.subscription import PROCESS
from chalicelib.services import deals, idempotency, service_invoices, uploads, views
from chalicelib.services.pagination import page
from chalicelib.services.site_identifiers import Host, host, phone, tax_id, ua_iban
from chalicelib.store import audit_log, lookup
from chalicelib.store.models import AuditLogModel, DealModel, KeyModel, SiteModel, TariffModel, UploadModel, UserModel
from chalicelib.store.uow import UnitOfWork

MAX_DOMAINS = 20
SERVICE_CODE_BASE = 10_000  # the first site's code is 10001: five digits and more
NOT_ACTIVATED, ACTIVATED = "not_activated", "activated"
KEY_PREFIX = "sk_"


# --- reading -------------------------------------------------------------------------------------------------------

def _tariff_map() -> dict[str, TariffModel]:
    return {tariff.code: tariff for tariff in TariffModel.scan()}


def present(site: SiteModel, deal: DealModel, known: dict[str, TariffModel] | None = None) -> dict:
    now = clock.now()
    data = deal.data or {}
    next_invoice = clock.iso(periods.start_of(data["next_period"])) if deal.status in BILLED else None
    return views.site(site, deal, known if known is not None else _tariff_map(), counters_now(deal, now),
                      next_invoice)


def load_deal(site_id: str) -> DealModel:
    return deals.load(PROCESS, site_id)


def load_site(site_id: str) -> SiteModel:
    return lookup.load(SiteModel, site_id, what="site")


def visible(principal: Principal, site_id: str) -> DealModel:
    """The site's subscription as it stands now, for its owner or an operator (anyone else: 404)."""
    deal = load_deal(site_id)
    if principal.user_id != deal.client_id and not principal.is_operator:
        raise NotFound("not_found", "No such site")
    return deal


def owned(principal: Principal, site_id: str) -> DealModel:
    """The site's subscription, for its owner to change (an operator may only read it: 403)."""
    deal = visible(principal, site_id)
    if principal.user_id != deal.client_id:
        raise Forbidden("owner_only", "Only the site's owner may do this")
    if deal.status == DELETED:
        raise Conflict("site_deleted", "The site is deleted")
    return deal


def get(principal: Principal, site_id: str) -> dict:
    deal = visible(principal, site_id)
    return present(load_site(site_id), deal)


def list_mine(principal: Principal, limit: int, cursor: str | None) -> dict:
    known = _tariff_map()
    return deals.list_for(principal, PROCESS, "client", limit, cursor,
                          lambda deal: present(load_site(deal.id), deal, known))


SITE_STATUSES = ("active", "past_due", "blocked", "deletion_requested", "deleted")


def list_by_status(principal: Principal, status: str, limit: int, cursor: str | None) -> dict:
    """Operators: the sites in one status, oldest first (the subscription's queue `sites#<status>`)."""
    principal.require_operator()
    if status not in SITE_STATUSES:
        raise Unprocessable("validation_error", f"status must be one of: {', '.join(SITE_STATUSES)}", field="status")
    known = _tariff_map()
    return page(lambda **kw: DealModel.by_queue.query(f"sites#{status}", **kw), limit, cursor,
                lambda deal: present(load_site(deal.id), deal, known),
                load=lambda listed: lookup.in_order(DealModel, listed))


SEARCH_LIMIT = 50  # the most sites one search shows


def search(principal: Principal, query: str) -> dict:
    """Operators: the sites a service code, a domain, an owner's e-mail, a tax id (EDRPOU or RNOKPP) or a site's
    id names; `how` says which key the query was read as. Every way is key reads, never a scan:

    - a domain: two key reads (`domain#<host>`, the site that proved it; `domain-claims#<host>`, those still
      claiming it), then the sites;
    - an e-mail: the account's e-mail claim (`email#<address>`, one read) and its sites on the `by_client` index
      (one query), plus the sites whose owner contact has that address (the sparse `by_contact_email` index,
      one query);
    - digits: the service code's claim (`service-code#<code>`, one read) and the sites whose requisites name
      that tax id (the sparse `by_tax_id` index, one query);
    - a site's id: one read."""
    principal.require_operator()
    text = " ".join(query.split())
    if not text:
        return {"items": [], "how": "nothing"}
    found: list[str] = []
    if text.startswith("site_"):
        how, found = "site_id", [text] if _site_exists(text) else []
    elif "@" in text:
        how, found = "email", _sites_of_email(text)
    elif text.isdigit():
        how = "code_or_tax_id"
        coded = site_of_service_code(text)
        found = ([coded] if coded else []) + _indexed(SiteModel.by_tax_id, text)
    else:
        how = "domain"
        try:
            h = host(text, field="q")
        except Unprocessable:
            return {"items": [], "how": "unreadable"}
        holder = _holder(h.ascii)
        found = ([holder] if holder else []) + _claimants(h.ascii)
    known = _tariff_map()
    items = []
    for site_id in dict.fromkeys(found):
        try:
            items.append(present(load_site(site_id), load_deal(site_id), known))
        except NotFound:
            continue
        if len(items) >= SEARCH_LIMIT:
            break
    return {"items": items, "how": how}


def site_of_service_code(code: str) -> str | None:
    """The site a service code is of (its claim), if any."""
    try:
        return str(KeyModel.get(service_code_key(code), consistent_read=True).target_id)
    except KeyModel.DoesNotExist:
        return None


def _site_exists(site_id: str) -> bool:
    try:
        load_site(site_id)
    except NotFound:
        return False
    return True


def _indexed(index, value: str) -> list[str]:  # type: ignore[no-untyped-def]
    """The ids of the sites a sparse index keys by `value`, oldest first (ids are time-ordered), at most
    `SEARCH_LIMIT`."""
    return sorted(str(site.id) for site in index.query(value))[:SEARCH_LIMIT]


def _sites_of_email(email: str) -> list[str]:
    from chalicelib.services import accounts

    found: list[str] = []
    user = accounts.find_by_email(email)
    if user is not None:
        found += [str(deal.id) for deal in DealModel.by_client.query(f"{PROCESS.noun}#{user.id}")]
    contacts = _indexed(SiteModel.by_contact_email, contact_email_key({"email": email}) or "")
    return found + [site_id for site_id in contacts if site_id not in found]


def operator_view(principal: Principal, site_id: str, *, audit_limit: int = 20) -> dict:
    """Operators: what the console's site page shows for the acts on it — the site as its owner's API shows it,
    the owner's account, the billing state the audit trail records (auto-pay, credit), the open invoices, the
    tariffs it may move to, and its newest audit records (each with the operator's e-mail)."""
    from chalicelib.services import accounts, tariff_catalog

    principal.require_operator()
    deal = visible(principal, site_id)
    site = present(load_site(site_id), deal)
    try:
        owner_email = accounts.get_user(deal.client_id).email
    except NotFound:
        owner_email = ""
    trail = audit_trail(principal, site_id, audit_limit, None)["items"]
    emails: dict[str, str] = {}
    for record in trail:
        if record["actor_id"] not in emails:
            try:
                emails[record["actor_id"]] = accounts.get_user(record["actor_id"]).email
            except NotFound:
                emails[record["actor_id"]] = record["actor_id"]
        record["actor_email"] = emails[record["actor_id"]]
    return {"site": site, "owner_email": owner_email, "billing": billing_snapshot(deal),
            "open_invoices": [views.service_invoice(invoice) for invoice in service_invoices.open_invoices(deal)],
            "tariffs": [t for t in tariff_catalog.list_all()["items"] if t["active"]], "audit": trail}


# --- creating ------------------------------------------------------------------------------------------------------

def _hosts(domains: list[str]) -> list[Host]:
    hosts = [host(domain) for domain in domains]
    if len({h.ascii for h in hosts}) != len(hosts):
        raise Unprocessable("duplicate_domain", "The same domain is listed twice", field="domains")
    if len(hosts) > MAX_DOMAINS:
        raise Unprocessable("too_many_domains", f"A site has at most {MAX_DOMAINS} domains", field="domains")
    return hosts


def _contact(owner: dict) -> dict:
    """The site's contact person, whom billing e-mails go to (in `locale`, if given: else the holder's)."""
    contact = {"name": owner["name"], "email": owner["email"], "phone": phone(owner["phone"])}
    if owner.get("locale"):
        contact["locale"] = owner["locale"]
    return contact


def _claims_key(ascii_host: str) -> str:
    return f"domain-claims#{ascii_host}"


def _claim_domain(uow: UnitOfWork, site_id: str, h: Host) -> None:
    """A pending claim: refused only when another site has proved the domain already."""
    uow.check(KeyModel, domain_key(h.ascii), condition=KeyModel.key.does_not_exist(),
              on_fail=Conflict("domain_taken", f"{h.name} is already connected to another site"))
    uow.update(KeyModel(_claims_key(h.ascii)), [KeyModel.members.set((KeyModel.members | []).append([site_id]))])


def _active_tariff(code: str) -> TariffModel:
    try:
        tariff = tariffs.load(code)
    except NotFound:
        raise Unprocessable("unknown_tariff", f"No tariff {code!r}", field="tariff") from None
    if not tariff.active:
        raise Unprocessable("tariff_inactive", f"The tariff {code!r} is no longer offered", field="tariff")
    return tariff


def _next_service_code() -> str:
    counter = KeyModel("counter#service_code")
    counter.update(actions=[KeyModel.seq.add(1)])
    return str(SERVICE_CODE_BASE + int(counter.seq))


def create(principal: Principal, name: str, domains: list[str], owner: dict, tariff_code: str) -> tuple[int, dict]:
    """A new site on a tariff; its first invoice (the rest of this month, by days) is issued at once."""
    hosts, contact, tariff = _hosts(domains), _contact(owner), _active_tariff(tariff_code)
    now = clock.now()
    period = periods.period_of(now)
    terms = tariffs.terms(tariff, period)
    site = SiteModel(ids.new_id("site"), service_code=_next_service_code(), name=name,
                     domains=[h.name for h in hosts], contact=contact, vchasno=NOT_ACTIVATED, contracts=[],
                     created_at=clock.iso(now), contact_email_key=contact_email_key(contact))
    deal = DealModel(site.id, client_id=principal.user_id, contractor_id=PLATFORM, subject_id=site.id, title=name,
                     amount=terms.price, currency=tariffs.CURRENCY, commission_bps=0, delivery_days=0,
                     created_at=site.created_at, data={
                         "service_code": site.service_code, "tariff": terms.code, "tariff_name": terms.name,
                         "next_tariff": None, "next_period": period, "billable_from": clock.iso(now),
                         "invoice_seq": 0, "counters": {"products": 0, "orders": 0, "month": period,
                                                        "refreshed_at": None},
                         "usage_days": [], "limit_notified": {}})
    uow = UnitOfWork()
    uow.put(site, condition=SiteModel.id.does_not_exist())
    uow.put(KeyModel(service_code_key(site.service_code), target_id=site.id), condition=KeyModel.key.does_not_exist())
    for h in hosts:
        _claim_domain(uow, site.id, h)
    engine.create(uow, PROCESS, deal, ACTIVE, Context(now, "client"), None, notify="site_created")
    status, body = idempotency.commit(uow, 201, present(site, deal))
    try:  # the first invoice: its timer is due at once; if this lost a race, the job issues it within a minute
        deals.settle(deal, now)
    except (Conflict, Retryable):
        logger.warning("first invoice left to the timer job", extra={"site_id": site.id})
    return status, body


# --- domains and the usage key ---------------------------------------------------------------------------------------

def add_domain(principal: Principal, site_id: str, domain: str) -> tuple[int, dict]:
    owned(principal, site_id)
    h = host(domain, field="domain")
    site = load_site(site_id)
    current = [str(name) for name in site.domains]
    if h.name in current:
        raise Conflict("domain_exists", f"{h.name} is already connected to this site")
    if len(current) >= MAX_DOMAINS:
        raise Conflict("too_many_domains", f"A site has at most {MAX_DOMAINS} domains")
    uow = UnitOfWork()
    _claim_domain(uow, site_id, h)
    domains = [*current, h.name]
    uow.update(site, [SiteModel.domains.set(domains)],  # type: ignore[arg-type]
               condition=SiteModel.domains == current)  # type: ignore[comparison-overlap]
    return idempotency.commit(uow, 201, {"domains": domains})


def remove_domain(principal: Principal, site_id: str, domain: str) -> dict:
    owned(principal, site_id)
    h = host(domain, field="domain")
    site = load_site(site_id)
    current = [str(name) for name in site.domains]
    if h.name not in current:
        raise NotFound("not_found", f"{domain} is not connected to this site")
    remaining = [name for name in current if name != h.name]
    uow = UnitOfWork()
    if _holder(h.ascii) == site_id:
        uow.delete(KeyModel(domain_key(h.ascii)), condition=KeyModel.target_id == site_id)
    _drop_claim(uow, site_id, h.ascii)
    uow.update(site, [SiteModel.domains.set(remaining)],  # type: ignore[arg-type]
               condition=SiteModel.domains == current)  # type: ignore[comparison-overlap]
    uow.commit()
    return {"domains": remaining}


# --- proving a domain ----------------------------------------------------------------------------------------------

PENDING_DOMAIN, VERIFIED_DOMAIN, TAKEN_DOMAIN = "pending", "verified", "taken"


def domain_token(site_id: str, ascii_host: str, key: str | None = None) -> str:
    """The site's token for a host: the same every time it is asked for (until the JWT key rotates), different
    for every (site, host)."""
    secret = key if key is not None else secret_store.signing_key()[1]
    mac = hmac.new(secret.encode(), f"domain-verify\n{site_id}\n{ascii_host}".encode(), hashlib.sha256)
    return mac.hexdigest()[:40]


def _proven(site_id: str, ascii_host: str) -> bool:
    """Whether the host published the site's token under any key of the JWT keyring: a token shown before a
    rotation still proves the domain."""
    verifier, ring = domain_proofs.get_domain_verifier(), secret_store.keyring()
    keys = sorted(ring.keys.items(), key=lambda item: item[0] != ring.current)  # the current key's token first
    return any(verifier.proves(ascii_host, domain_token(site_id, ascii_host, key)) for _, key in keys)


def _holder(ascii_host: str) -> str | None:
    """The site that proved the host, if any."""
    try:
        return str(KeyModel.get(domain_key(ascii_host), consistent_read=True).target_id)
    except KeyModel.DoesNotExist:
        return None


def _claimants(ascii_host: str) -> list[str]:
    try:
        return [str(member) for member in KeyModel.get(_claims_key(ascii_host), consistent_read=True).members or []]
    except KeyModel.DoesNotExist:
        return []


def _drop_claim(uow: UnitOfWork, site_id: str, ascii_host: str) -> None:
    claimants = _claimants(ascii_host)
    if site_id in claimants:
        uow.update(KeyModel(_claims_key(ascii_host)),
                   [KeyModel.members.set([member for member in claimants if member != site_id])],  # type: ignore[misc]
                   condition=KeyModel.members == claimants)  # type: ignore[comparison-overlap]


def _connected(principal: Principal, site_id: str, domain: str, *, to_change: bool) -> tuple[SiteModel, Host]:
    (owned if to_change else visible)(principal, site_id)
    h = host(domain, field="domain")
    site = load_site(site_id)
    if h.name not in [str(name) for name in site.domains]:
        raise NotFound("not_found", f"{domain} is not connected to this site")
    return site, h


def _domain_view(site_id: str, h: Host, holder: str | None) -> dict:
    status = PENDING_DOMAIN if holder is None else VERIFIED_DOMAIN if holder == site_id else TAKEN_DOMAIN
    token = domain_token(site_id, h.ascii)
    return {"domain": h.name, "status": status, "token": token, "txt_record": domain_proofs.txt_record(token),
            "well_known_url": domain_proofs.well_known_url(h.ascii)}


def domain_status(principal: Principal, site_id: str, domain: str) -> dict:
    """Whether the site holds the domain, and how to prove it: the TXT record, or the file to serve."""
    _, h = _connected(principal, site_id, domain, to_change=False)
    return _domain_view(site_id, h, _holder(h.ascii))


def verify_domain(principal: Principal, site_id: str, domain: str) -> dict:
    """Check the published proof; the first site to prove a domain holds it, and the others are told."""
    _, h = _connected(principal, site_id, domain, to_change=True)
    holder = _holder(h.ascii)
    if holder == site_id:
        return _domain_view(site_id, h, holder)
    taken = Conflict("domain_taken", f"{h.name} was proved by another site first")
    if holder is not None:
        raise taken
    view = _domain_view(site_id, h, site_id)
    if not _proven(site_id, h.ascii):
        raise Unprocessable("domain_not_proven", f"Neither the TXT record {view['txt_record']!r} on {h.ascii} nor "
                            f"the token at {view['well_known_url']} was found; publish one and ask again",
                            field="domain")
    uow = UnitOfWork()
    uow.put(KeyModel(domain_key(h.ascii), target_id=site_id), condition=KeyModel.key.does_not_exist(),
            on_fail=taken)
    _drop_claim(uow, site_id, h.ascii)
    uow.check(SiteModel, site_id, condition=SiteModel.domains.contains(h.name),  # still the site's
              on_fail=NotFound("not_found", f"{domain} is not connected to this site"))
    uow.commit()
    _tell_the_others(site_id, h)
    return view


def _tell_the_others(winner: str, h: Host) -> None:
    """Each other site still claiming the host hears that it lost it; one small transaction each, after the
    win, so that no number of rival claims can stop the owner who proved it."""
    for site_id in _claimants(h.ascii):
        if site_id == winner:
            continue
        try:
            site, deal = load_site(site_id), load_deal(site_id)
        except NotFound:
            continue
        if h.name not in [str(name) for name in site.domains]:
            continue
        uow = UnitOfWork()
        outbox.enqueue(uow, deal.client_id, "domain_claimed_elsewhere", {
            "site_id": site_id, "site_name": site.name, "domain": h.name})
        uow.commit()


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def issue_key(principal: Principal, site_id: str) -> tuple[int, dict]:
    """A new usage key, shown once; the previous one stops working in the same transaction."""
    owned(principal, site_id)
    site = load_site(site_id)
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    digest = key_hash(key)
    uow = UnitOfWork()
    uow.put(KeyModel(site_key(digest), target_id=site_id), condition=KeyModel.key.does_not_exist())
    if site.key_hash:
        uow.delete(KeyModel(site_key(site.key_hash)))
    previous = SiteModel.key_hash == site.key_hash if site.key_hash else SiteModel.key_hash.does_not_exist()
    uow.update(site, [SiteModel.key_hash.set(digest)], condition=previous)
    return idempotency.commit(uow, 201, {"key": key, "created_at": clock.iso(clock.now())})


def site_for_key(key: str | None) -> str | None:
    """The site a usage key belongs to, or None."""
    if not key:
        return None
    try:
        return str(KeyModel.get(site_key(key_hash(key)), consistent_read=True).target_id)
    except KeyModel.DoesNotExist:
        return None


# --- requisites and Vchasno ----------------------------------------------------------------------------------------

def get_requisites(principal: Principal, site_id: str) -> dict:
    """The site's requisites; a site without any shows those of the owner's site that has them (the one whose
    requisites changed last), pre-filled for the form and marked `prefilled_from` until saved."""
    deal = visible(principal, site_id)
    site = load_site(site_id)
    if (site.requisites or {}).get("tax_id"):
        return views.requisites(site)
    donor = _owners_latest_requisites(deal.client_id, site_id)
    if donor is None:
        return views.requisites(site)
    prefilled = {key: value for key, value in (donor.requisites or {}).items() if key != "updated_at"}
    return {**views.requisites(site), **prefilled, "updated_at": None, "prefilled_from": donor.id}


def _owners_latest_requisites(owner_id: str, other_than: str) -> SiteModel | None:
    candidates = []
    for deal in DealModel.by_client.query(f"{PROCESS.noun}#{owner_id}"):
        if deal.id == other_than:
            continue
        site = load_site(deal.id)
        if (site.requisites or {}).get("tax_id"):
            candidates.append(site)
    return max(candidates, key=lambda site: site.requisites.get("updated_at") or "", default=None)


CORRECTABLE = ("company_name", "address", "director")


def put_requisites(principal: Principal, site_id: str, raw_tax_id: str, raw_iban: str,
                   corrections: dict | None = None, *, activate_vchasno: bool = False) -> dict:
    """The tax id and IBAN; the registry fills the name, address and director, which the owner may correct
    (the registry's own record is kept beside the corrections). With `activate_vchasno` the requisites are
    saved and Vchasno activated in one transaction: both happen or neither."""
    deal = owned(principal, site_id)
    number, kind = tax_id(raw_tax_id)
    iban = ua_iban(raw_iban)
    site = load_site(site_id)
    if site.vchasno == ACTIVATED:
        raise Conflict("vchasno_active", "Deactivate the Vchasno integration before editing the requisites, "
                                         "then activate it again")
    if activate_vchasno and not get_vchasno().has_account(number):
        raise _no_vchasno_account(number)
    company = get_registry().company(number)
    registry = {"company_name": company.name, "address": company.address, "director": company.director}
    corrected = {key: value for key, value in (corrections or {}).items()
                 if key in CORRECTABLE and value is not None and value != registry[key]}
    requisites = {"tax_id": number, "kind": kind, "iban": iban, **registry, **corrected,
                  "updated_at": clock.iso(clock.now())}
    if corrected:
        requisites["registry"] = registry
    actions = [SiteModel.requisites.set(requisites), SiteModel.tax_id_key.set(number)]
    if activate_vchasno:
        actions.append(SiteModel.vchasno.set(ACTIVATED))
    uow = UnitOfWork()
    uow.update(site, actions, condition=SiteModel.vchasno != ACTIVATED,
               on_fail=Conflict("vchasno_active", "Deactivate the Vchasno integration before editing the "
                                                  "requisites, then activate it again"))
    outbox.enqueue(uow, deal.client_id, "requisites_changed", {
        "site_id": site_id, "site_name": site.name, "tax_id": number, "iban": iban,
        "company_name": requisites["company_name"]})
    if activate_vchasno:
        outbox.enqueue(uow, deal.client_id, "vchasno_activated", {"site_id": site.id, "site_name": site.name,
                                                                  "tax_id": number})
    uow.commit()
    site.requisites = requisites
    if activate_vchasno:
        site.vchasno = ACTIVATED
    return views.requisites(site)


def _no_vchasno_account(number: str) -> Unprocessable:
    return Unprocessable("vchasno_account_not_found",
                         f"Vchasno has no account for {number}. Register your company at https://vchasno.ua with "
                         "this EDRPOU/RNOKPP, then activate the integration again", field="tax_id")


def activate_vchasno(principal: Principal, site_id: str) -> tuple[int, dict]:
    deal = owned(principal, site_id)
    site = load_site(site_id)
    requisites = site.requisites or {}
    if not requisites.get("tax_id"):
        raise Conflict("requisites_missing", "Fill in the requisites (EDRPOU or RNOKPP and IBAN) first")
    if site.vchasno == ACTIVATED:
        return 200, {"status": ACTIVATED}
    if not get_vchasno().has_account(requisites["tax_id"]):
        raise _no_vchasno_account(requisites["tax_id"])
    return _switch_vchasno(deal, site, ACTIVATED, "vchasno_activated")


def deactivate_vchasno(principal: Principal, site_id: str) -> tuple[int, dict]:
    deal = owned(principal, site_id)
    site = load_site(site_id)
    if site.vchasno != ACTIVATED:
        return 200, {"status": NOT_ACTIVATED}
    return _switch_vchasno(deal, site, NOT_ACTIVATED, "vchasno_deactivated")


def _switch_vchasno(deal: DealModel, site: SiteModel, status: str, kind: str) -> tuple[int, dict]:
    uow = UnitOfWork()
    tax = (site.requisites or {}).get("tax_id")
    uow.update(site, [SiteModel.vchasno.set(status)], condition=SiteModel.vchasno == site.vchasno,
               on_fail=Conflict("state_changed", "The integration changed meanwhile; reload and try again"))
    outbox.enqueue(uow, deal.client_id, kind, {"site_id": site.id, "site_name": site.name, "tax_id": tax})
    return idempotency.commit(uow, 200, {"status": status})


# --- the subscription's moves ----------------------------------------------------------------------------------------

def fire_move(principal: Principal, site_id: str, transition: str, *, payload: dict | None = None,
          message: str | None = None, load_payload=None, site_changes=None,
          audit: tuple[str, str] | None = None) -> tuple[int, dict]:
    """Fire a subscription transition as the caller's part; the answer shows the site as the transition
    leaves it (`site_changes(site, deal)`: what its writes change in the site's own item). An operator's
    act names its `audit` (action, reason): its record, the deal's billing data before and after, is
    written in the act's transaction."""
    def role(deal: DealModel):
        if principal.user_id == deal.client_id:
            return "client"
        if principal.is_operator:
            return "operator"
        raise NotFound("not_found", "No such site")

    extra = dict(payload or {})

    seen: dict = {}

    def before(deal: DealModel, actor) -> None:
        seen["before"] = billing_snapshot(deal)
        if load_payload is not None:
            extra.update(load_payload(deal))

    def audited(uow: UnitOfWork, deal: DealModel) -> None:
        if audit is not None:
            action, reason = audit
            audit_log.record(uow, subject=audit_log.site_subject(site_id), actor_id=principal.user_id,
                             action=action, reason=reason, before=seen["before"], after=billing_snapshot(deal))

    def show(deal: DealModel) -> dict:
        site = load_site(site_id)
        if site_changes is not None:
            site_changes(site, deal)
        return present(site, deal)

    return deals.fire(PROCESS, site_id, transition, role, show, message=message, payload=extra, before=before,
                      also=audited)


AUDITED = ("status", "tariff", "next_tariff", "autopay", "autopay_stopped", "client_id")


def billing_snapshot(deal: DealModel) -> dict:
    """What an operator's act on a site may change, as the audit trail records it."""
    d = deal.data or {}
    return {"status": deal.status, "client_id": deal.client_id, "tariff": d.get("tariff"),
            "next_tariff": d.get("next_tariff"), "autopay": bool(d.get("autopay")),
            "autopay_stopped": bool(d.get("autopay_stopped")), "credit": int(d.get("credit") or 0)}


def change_tariff(principal: Principal, site_id: str, code: str, *, reason: str | None = None) -> tuple[int, dict]:
    """An upgrade applies at once with a prorated invoice; a downgrade from the next month (409
    over_limit while a counter exceeds the new limit). An operator changes it by the same rules, with a
    reason the audit trail keeps."""
    if reason is None:
        owned(principal, site_id)  # the owner's own route: an operator uses the audited one
    else:
        principal.require_operator()
    tariff = _active_tariff(code)
    return fire_move(principal, site_id, "change_tariff", load_payload=lambda deal: _tariff_terms(tariff, deal),
                     audit=("change_tariff", reason) if reason is not None else None)


def _tariff_terms(tariff: TariffModel, deal: DealModel) -> dict:
    """What the `change_tariff` transition reads: the chosen tariff's and the current one's terms this month."""
    period = periods.period_of(clock.now())
    current = tariffs.load((deal.data or {})["tariff"])
    return {"tariff": tariffs.terms(tariff, period).to_json(), "current": tariffs.terms(current, period).to_json()}


def preview_tariff_change(principal: Principal, site_id: str, code: str) -> dict:
    """What choosing the tariff `code` would do, for the owner to see before he confirms: the change's own check and
    effects (`change_tariff`'s guard and proration) run on the site as it stands now, and nothing is written; refused
    as the change would be. `when`: `now` (an upgrade; `invoice` is the prorated difference for the rest of this month,
    None while this month is not billed yet), `next_month` (a downgrade, from `from`), or `cancel` (the current tariff
    chosen again drops the downgrade planned)."""
    deal = owned(principal, site_id)
    tariff = _active_tariff(code)
    ctx = Context(clock.now(), "client", payload=_tariff_terms(tariff, deal))
    transition = engine.check(PROCESS, deal, "change_tariff", ctx)
    before = dict(deal.data or {})
    after = dict(transition.effects(deal, ctx)["data"]) if transition.effects else before
    issued = after.get("last_invoice")
    if not issued or int(issued["version"]) != int(deal.version) + 1:
        issued = None
    when = "cancel" if code == before["tariff"] else "now" if after["tariff"] == code else "next_month"
    invoice = None if issued is None else {
        "amount": {"amount": int(issued["amount"]), "currency": tariffs.CURRENCY},
        "credit_applied": {"amount": int(issued.get("credit_applied") or 0), "currency": tariffs.CURRENCY},
        "amount_due": {"amount": int(issued["amount"]) - int(issued.get("credit_applied") or 0),
                       "currency": tariffs.CURRENCY},
        "lines": list(issued["lines"])}
    return {"site_id": site_id, "when": when, "from": before["next_period"] if when == "next_month" else None,
            "tariff": {"code": tariff.code, "name": tariff.name,
                       "price": {"amount": int(ctx.payload["tariff"]["price"]), "currency": tariffs.CURRENCY}},
            "current": {"code": before["tariff"], "name": before.get("tariff_name"),
                        "price": {"amount": int(deal.amount), "currency": tariffs.CURRENCY}},
            "invoice": invoice}


def request_deletion(principal: Principal, site_id: str, reasons: list[str], comment: str) -> tuple[int, dict]:
    def questionnaire(site: SiteModel, deal: DealModel) -> None:
        site.deletion = (deal.data or {}).get("deletion")

    return fire_move(principal, site_id, "request_deletion", payload={"reasons": reasons}, message=comment,
                 site_changes=questionnaire)


def withdraw_deletion(principal: Principal, site_id: str) -> tuple[int, dict]:
    def forgotten(site: SiteModel, deal: DealModel) -> None:
        site.deletion = None

    return fire_move(principal, site_id, "withdraw_deletion", site_changes=forgotten)


def refuse_deletion(principal: Principal, site_id: str, reason: str) -> tuple[int, dict]:
    """An operator's act: the deletion request is refused, with a reason the owner is told and the audit trail
    keeps; the site is served and billed again as after the owner's own withdrawal."""
    principal.require_operator()

    def forgotten(site: SiteModel, deal: DealModel) -> None:
        site.deletion = None

    return fire_move(principal, site_id, "refuse_deletion", message=reason, site_changes=forgotten,
                     audit=("refuse_deletion", reason))


def complete_deletion(principal: Principal, site_id: str, reason: str | None = None) -> tuple[int, dict]:
    """Open invoices stay owed (an operator may write each off, with a reason); the key, the domains and the
    card go. Audited, with the reason if one is given."""
    principal.require_operator()

    def what_goes(deal: DealModel) -> dict:
        site = load_site(site_id)
        return {"site": {"key_hash": site.key_hash, "domain_keys": [ascii_host for ascii_host in (
            host(str(name)).ascii for name in site.domains) if _holder(ascii_host) == site_id]}}

    def gone(site: SiteModel, deal: DealModel) -> None:
        site.domains, site.key_hash, site.payment_method = [], None, None

    return fire_move(principal, site_id, "complete_deletion", load_payload=what_goes, site_changes=gone,
                     audit=("complete_deletion", reason or "no reason given"))


def change_owner(principal: Principal, site_id: str, owner: dict, user_id: str | None,
                 reason: str | None = None) -> tuple[int, dict]:
    """The contact billing e-mails go to, and perhaps the owner: a new owner starts clean (the previous
    owner's card and auto-pay forgotten, the usage key rotated: the shop needs a new one)."""
    principal.require_operator()
    contact = _contact(owner)
    if user_id is not None:
        lookup.load(UserModel, user_id, what="user")

    def old_key(deal: DealModel) -> dict:
        return {"key_hash": load_site(site_id).key_hash}

    def recorded(site: SiteModel, deal: DealModel) -> None:
        site.contact = contact
        if (deal.data or {}).get("previous_owner_id"):
            site.payment_method, site.key_hash = None, None

    return fire_move(principal, site_id, "change_owner", payload={"contact": contact, "owner_id": user_id},
                     load_payload=old_key, site_changes=recorded,
                     audit=("change_owner", reason or "no reason given"))


def resume_autopay(principal: Principal, site_id: str, reason: str) -> tuple[int, dict]:
    """An operator's act: card payments are allowed again; the next card the owner pays with is saved."""
    principal.require_operator()
    return fire_move(principal, site_id, "resume_autopay", audit=("resume_autopay", reason))


def refund_credit(principal: Principal, site_id: str, reason: str | None = None) -> tuple[int, dict]:
    """The site's credit (what it paid beyond its invoices) back to whoever paid the latest surplus, instead of
    spending it on the next invoice: the owner asks on his route, an operator with a reason (audited). The whole
    credit the ledger holds leaves in one transaction with the subscription's `refund_credit`; then the bank
    pays it out to the account the transfer came from (or the acquirer refunds it to the card). Once: nothing
    is left to refund after it (409 no_credit), and the payout's id is the refund's."""
    if reason is None:
        owned(principal, site_id)  # the owner's own route: an operator uses the audited one
    else:
        principal.require_operator()
    asked: dict = {}

    def what_goes_back(deal: DealModel) -> dict:
        asked.clear()
        asked.update(_credit_refund(site_id, int(deal.version)))
        return {"refund": dict(asked)}

    answer = fire_move(principal, site_id, "refund_credit", load_payload=what_goes_back,
                       audit=("refund_credit", reason) if reason is not None else None)
    _send_credit_back(asked)
    return answer


def _credit_refund(site_id: str, version: int) -> dict:
    """What the site's credit account holds and who paid the latest surplus into it (read off its statement)."""
    from chalicelib.money import ledger
    from chalicelib.store.models import CardPaymentModel, JournalLineModel, PaymentModel

    account = ledger.site_credit(site_id, tariffs.CURRENCY)
    amount = ledger.balances(account.owner_id).get(tariffs.CURRENCY, (0, 0))[0]
    refund = {"id": ids.derived_id("crf", site_id, str(version)), "amount": amount, "payment_id": "", "to": "bank"}
    for line in JournalLineModel.query(account.statement_pk, scan_index_forward=False, consistent_read=True):
        if int(line.amount) > 0:
            payment_id = str(line.entry_id).split(":")[0]
            break
    else:
        return refund
    refund["payment_id"] = payment_id
    if payment_id.startswith("cpy_"):
        card = CardPaymentModel.get(payment_id, consistent_read=True)
        return {**refund, "to": "card", "acquirer_id": card.acquirer_id, "card_payment_id": card.id}
    parked = PaymentModel.get(payment_id, consistent_read=True)
    if parked.acquirer_payment_id:  # card money parked by the acquirer's webhook, then applied
        return {**refund, "to": "card", "card_payment_id": str(parked.acquirer_payment_id)}
    return {**refund, "iban": str((parked.payer or {}).get("iban") or "")}


def _send_credit_back(refund: dict) -> None:
    """After the refund's transaction: the money leaves the way it came."""
    from chalicelib.adapters import acquirer
    from chalicelib.money.amounts import Money
    from chalicelib.platform.errors import DomainError
    from chalicelib.services import bank

    if int(refund.get("amount") or 0) <= 0:
        return
    money = Money(int(refund["amount"]), tariffs.CURRENCY)
    if refund["to"] == "bank":
        bank.send_back(("credit", refund["id"]), money, str(refund.get("iban") or ""), refund["id"])
        return
    try:
        acquirer.get_acquirer().refund(refund["card_payment_id"], money, refund.get("acquirer_id"))
    except DomainError:  # an operator asks the acquirer by hand (the metric alarms)
        logger.warning("credit refund not taken by the acquirer", extra={"refund_id": refund["id"]})


def audit_trail(principal: Principal, site_id: str, limit: int, cursor: str | None) -> dict:
    """Operators: what operators did to the site, newest first — who, when, what, before → after, why."""
    principal.require_operator()
    load_site(site_id)
    return page(lambda **kw: AuditLogModel.query(audit_log.site_subject(site_id), scan_index_forward=False, **kw),
                limit, cursor, views.audit_record)


# --- the shop's own view ---------------------------------------------------------------------------------------------

def status_for_key(site_id: str, key: str | None) -> dict:
    """The site's billing state as its shop reads it with its usage key: the status, since when it is blocked,
    and the oldest open invoice with a live payment link (the same one for PAYMENT_LINK_MINUTES)."""
    from chalicelib.services import card_payments

    if site_for_key(key) != site_id:
        raise Unauthorized("invalid_site_key", "X-Site-Key is missing or is not this site's key")
    deal = load_deal(site_id)
    blocked_since = (deal.data or {}).get("blocked_since") if deal.status == BLOCKED else None
    still_open = service_invoices.open_invoices(deal)
    oldest = None
    if still_open:
        invoice = still_open[0]
        oldest = {"number": invoice.number,
                  "amount": {"amount": service_invoices.due(invoice), "currency": invoice.currency},
                  "due_at": invoice.due_at, "payment_url": card_payments.fresh_link(invoice.id) or None}
    return {"status": deal.status, "blocked_since": blocked_since, "oldest_open_invoice": oldest}


# --- contracts -----------------------------------------------------------------------------------------------------

PDF_MAGIC = b"%PDF-"


def contracts(principal: Principal, site_id: str) -> dict:
    """The public offer every site has, and the personal contracts an operator uploaded."""
    from chalicelib.documents.offer import OFFER_EFFECTIVE, OFFER_VERSION

    visible(principal, site_id)
    site = load_site(site_id)
    offer = {"id": "public_offer", "kind": "public_offer", "title": "Public offer", "version": OFFER_VERSION,
             "effective_from": OFFER_EFFECTIVE, "filename": f"offer-{OFFER_VERSION}.pdf", "size": None,
             "uploaded_at": None, "url": f"/v1/sites/{site_id}/offer"}
    personal = [{"id": item["id"], "kind": "personal", "title": item["filename"], "version": None,
                 "effective_from": None, "filename": item["filename"], "size": item["size"],
                 "uploaded_at": item["uploaded_at"], "url": f"/v1/sites/{site_id}/contracts/{item['id']}"}
                for item in site.contracts]
    return {"items": [offer, *personal], "next_cursor": None}


def contract_link(principal: Principal, site_id: str, contract_id: str) -> dict:
    from chalicelib.adapters.files import get_files

    visible(principal, site_id)
    item = next((c for c in load_site(site_id).contracts if c["id"] == contract_id), None)
    if item is None:
        raise NotFound("not_found", "No such contract")
    return {"url": get_files().link(item["key"], item["filename"], "application/pdf"),
            "filename": item["filename"]}


def upload_contract(principal: Principal, site_id: str, file_id: str) -> tuple[int, dict]:
    """An operator attaches a site's personal contract: his upload (`POST /v1/uploads`), a PDF within
    CONTRACT_MAX_BYTES, claimed by the site in the same unit of work as the site's list of contracts."""
    principal.require_operator()
    visible(principal, site_id)

    def a_pdf(record: UploadModel, read: Callable[[], bytes]) -> None:
        if record.content_type != "application/pdf":
            raise Unprocessable("not_a_pdf", "A contract must be a PDF file (application/pdf)", field="file_id")
        if int(record.size) > settings.contract_max_bytes:
            raise Unprocessable("file_too_large", f"A contract may be at most {settings.contract_max_bytes} bytes",
                                field="file_id")
        if not read().startswith(PDF_MAGIC):
            raise Unprocessable("not_a_pdf", "A contract must be a PDF file", field="file_id")

    site = load_site(site_id)
    now = clock.now()
    uow = UnitOfWork()
    claimed = uploads.claim_one(uow, principal, file_id, site_id, now, a_pdf)
    contract_id = ids.new_id("sct")
    filename = claimed["filename"]
    item = {"id": contract_id, "filename": filename, "key": claimed["key"], "file_id": claimed["id"],
            "size": claimed["size"], "uploaded_at": clock.iso(now)}
    uow.update(site, [SiteModel.contracts.set([*site.contracts, item])],
               condition=SiteModel.contracts == site.contracts)
    return idempotency.commit(uow, 201, {"id": contract_id, "kind": "personal", "title": filename, "version": None,
                                         "effective_from": None, "filename": filename, "size": item["size"],
                                         "uploaded_at": item["uploaded_at"],
                                         "url": f"/v1/sites/{site_id}/contracts/{contract_id}"})


def offer_pdf(principal: Principal, site_id: str) -> tuple[str, bytes]:
    from chalicelib.documents.offer import OFFER_VERSION, render_offer
    from chalicelib.services import accounts

    deal = visible(principal, site_id)
    site = load_site(site_id)
    reader = accounts.get_user(deal.client_id if principal.user_id == deal.client_id else principal.user_id)
    return f"offer-{OFFER_VERSION}.pdf", render_offer(site.name, site.service_code, reader.locale, reader.timezone)
