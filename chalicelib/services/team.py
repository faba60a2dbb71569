"""A company's team and settings (seed 000). The company invites contractors by e-mail — one
address or many, comma-separated — and each address gets its own answer: invited (whether or not it
already has an account: the answer does not tell the inviter who has one), already in the team, over a
limit, not sent today, or invalid; the valid ones go through whatever the others do.

An invitee without an account gets a one-time link (only its SHA-256 is stored; it expires, and a
conditional write makes it single-use) to a page where he sets his name and password, which creates
the account and joins the team in one transaction — or declines. Someone who already has an account
is never added silently: he gets a request to join, and joins only when he accepts it (on the
page the e-mail links to, or signed in), and only once his address is confirmed: whoever signed up with
an address he does not own cannot take its team membership. Invitations are limited per company and day. An
address gets at most INVITATION_EMAILS_PER_COMPANY_ADDRESS_PER_DAY invitation e-mails a day from one company (so
no company floods a person) and INVITATION_EMAILS_PER_ADDRESS_PER_DAY from all of them (a higher cap, so one
company's invitation never silences another's). An invitation over either is not sent, and the inviter is told
so (`not_sent_today`): it is never dropped silently.
The greeting is the company's own words, plain text, shown as a quote from the company.

An invitee is in the team at once, listed as `invited` (or `requested`, for an existing account) until he
joins: the company may assign him drafts (by the `contractor_id` the team's list shows, which for someone
without an account yet is an id derived from the company and his address). A draft of his cannot be sent
until he joins; when he joins, his drafts become his for good; when he declines, or his invitation
expires, they return to unassigned and the company is told (`processes/b2b_task.py`, `unassign`). A
renewed invitation carries his drafts along to its new expiry."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from chalicelib import engine
from chalicelib.access import auth, limits
from chalicelib.access.auth import Principal
from chalicelib.notify import links, outbox
from chalicelib.platform import clock, i18n
from chalicelib.platform.config import settings
from chalicelib.platform.errors import Conflict, Forbidden, NotFound, TooManyRequests, Unprocessable
from chalicelib.processes import Context
from chalicelib.processes.b2b_task import DRAFT, pending_member, placeholder_id
from chalicelib.processes.b2b_task import PROCESS as TASKS
from chalicelib.services import accounts, notifications, profiles, views
from chalicelib.services.pagination import page
from chalicelib.store import lookup
from chalicelib.store.models import DealModel, KeyModel, ProfileModel, TeamMemberModel, UserModel
from chalicelib.store.uow import UnitOfWork

INVITED, REQUESTED, ACTIVE, DECLINED = "invited", "requested", "active", "declined"
MAX_ADDRESSES = 50
NOT_SENT_TODAY = "not_sent_today"  # the address had its invitation e-mails for today: nothing sent, nothing kept


def invitations_per_company() -> limits.Daily:
    return limits.Daily("invites-company", settings.invitations_per_company_per_day)


def invitation_emails_per_company_address() -> limits.Daily:
    return limits.Daily("invites-company-address", settings.invitation_emails_per_company_address_per_day)


def invitation_emails_per_address() -> limits.Daily:
    return limits.Daily("invites-address", settings.invitation_emails_per_address_per_day)


class _CompanyLimit(Exception):
    pass


class _AddressLimit(Exception):
    pass


def _invitation_key(token: str) -> str:
    return "invite#" + hashlib.sha256(token.encode()).hexdigest()


def invite(principal: Principal, addresses: str, greeting: str) -> dict:
    """One answer per address; each valid one is its own small transaction."""
    from email_validator import EmailNotValidError, validate_email

    parts = [part.strip() for part in addresses.split(",") if part.strip()]
    if not parts:
        raise Unprocessable("validation_error", "Give at least one e-mail address", field="emails")
    if len(parts) > MAX_ADDRESSES:
        raise Unprocessable("validation_error", f"At most {MAX_ADDRESSES} addresses at once", field="emails")
    company = principal.user or accounts.get_user(principal.user_id)
    if limits.count_today(invitations_per_company(), company.id) >= settings.invitations_per_company_per_day:
        raise TooManyRequests("too_many_invitations", f"Your company may invite at most "
                              f"{settings.invitations_per_company_per_day} addresses a day",
                              retry_after=limits.seconds_to_next_day())
    results, seen = [], set()
    for raw in parts:
        try:
            email = validate_email(raw, check_deliverability=False).normalized.lower()
        except EmailNotValidError as error:
            results.append({"email": raw, "status": "invalid", "reason": str(error)})
            continue
        if email in seen or email == company.email:
            results.append({"email": raw, "status": "invalid" if email == company.email else "duplicate"})
            continue
        seen.add(email)
        results.append({"email": email, "status": _invite_one(company, email, greeting)})
    return {"results": results}


def _invite_one(company: UserModel, email: str, greeting: str) -> str:
    now = clock.now()
    existing = accounts.find_by_email(email)
    expires_at = now + timedelta(hours=settings.invitation_ttl_hours)
    member = TeamMemberModel(company.id, email, user_id=existing.id if existing else None,
                             state=REQUESTED if existing else INVITED, greeting=greeting, invited_at=clock.iso(now),
                             expires_at=clock.iso(expires_at))
    uow = UnitOfWork()
    # A pending invitation or request may be renewed (a fresh link), a declined one sent again.
    uow.put(member, condition=TeamMemberModel.email.does_not_exist() |
            TeamMemberModel.state.is_in(INVITED, REQUESTED, DECLINED), on_fail=Conflict("in_team", "already"))
    limits.charge(uow, invitations_per_company(), company.id, on_fail=_CompanyLimit())
    limits.charge(uow, invitation_emails_per_company_address(), f"{company.id} {email}", on_fail=_AddressLimit())
    limits.charge(uow, invitation_emails_per_address(), email, on_fail=_AddressLimit())
    seed = links.new_seed()  # the link is made from it when the e-mail is sent; no working link is stored
    for draft in _drafts_of(company.id, email, member.user_id):  # a renewal: his drafts wait until the new expiry
        _redirect(uow, draft, member.user_id or placeholder_id(company.id, email),
                  {"email": email, "expires_at": member.expires_at})
    uow.put(KeyModel(_invitation_key(links.one_time_token(seed)), target_id=company.id, data={
        "email": email, "expires_at": clock.iso(expires_at), "user_id": existing.id if existing else None}))
    params = {"company_id": company.id, "company_name": _company_name(company), "greeting": greeting,
              "expires_at": clock.iso(expires_at), links.SEED: seed}
    if existing:
        outbox.enqueue(uow, existing.id, "team_join_request", params)
    else:
        outbox.enqueue(uow, f"{notifications.EMAIL_PREFIX}{email}", "team_invitation",
                              {**params, "locale": company.locale,
                               "timezone": i18n.zone_name(company.timezone, company.locale)})
    try:
        uow.commit()
    except Conflict:
        return "already_in_team"
    except _CompanyLimit:
        return "daily_limit_reached"
    except _AddressLimit:
        return NOT_SENT_TODAY
    return "invited"  # an existing account got its request to join; the inviter is not told which


def _company_name(company: UserModel) -> str:
    return profiles.load(company.id).company_name or company.name


@dataclass(frozen=True)
class Invitation:
    """What an invitation link stands for: who invites whom, and whether he already has an account."""

    key: KeyModel
    company_id: str
    company_name: str
    email: str
    greeting: str
    user_id: str | None
    expires_at: str


def open_invitation(token: str) -> Invitation:
    """The invitation behind a link, or why it cannot be used (404 unknown, 409 used or expired)."""
    try:
        invitation = KeyModel.get(_invitation_key(token), consistent_read=True)
    except KeyModel.DoesNotExist:
        raise NotFound("invalid_invitation", "This invitation link is not valid") from None
    data = invitation.data or {}
    if invitation.seq:
        raise Conflict("invitation_used", "This invitation has already been used; log in instead")
    if clock.parse_iso(data["expires_at"]) < clock.now():
        raise Conflict("invitation_expired", "This invitation has expired; ask the company for a new one")
    company_id, email = str(invitation.target_id), data["email"]
    try:
        member = TeamMemberModel.get(company_id, email, consistent_read=True)
    except TeamMemberModel.DoesNotExist:
        raise NotFound("invalid_invitation", "This invitation link is not valid") from None
    if member.state not in (INVITED, REQUESTED):
        raise Conflict("invitation_used", "This invitation has already been answered")
    company = accounts.get_user(company_id)
    return Invitation(invitation, company_id, _company_name(company), email, member.greeting or "",
                      data.get("user_id"), data["expires_at"])


def _use(uow: UnitOfWork, invitation: Invitation) -> None:
    uow.update(invitation.key, [KeyModel.seq.set(1)], condition=KeyModel.seq.does_not_exist(),
               on_fail=Conflict("invitation_used", "This invitation has already been used; log in instead"))


def accept_invitation(token: str, password: str | None, name: str | None, locale: str,
                      timezone: str | None = None) -> tuple[int, dict]:
    """The invitee sets a password: the account is created and joins the team, once."""
    invitation = open_invitation(token)
    if invitation.user_id:
        raise Conflict("account_exists", "This address already has an account: accept the request to join on the "
                                         "page the e-mail links to, or signed in")
    if not password or not name:
        raise Unprocessable("validation_error", "Set a name and a password (8 characters or more) to join",
                            field="password" if not password else "name")

    def join(uow: UnitOfWork, user: UserModel) -> None:
        _use(uow, invitation)
        uow.update(TeamMemberModel(invitation.company_id, invitation.email), [
            TeamMemberModel.user_id.set(user.id), TeamMemberModel.state.set(ACTIVE),
            TeamMemberModel.joined_at.set(clock.iso(clock.now()))], condition=TeamMemberModel.state == INVITED)
        for draft in _drafts_of(invitation.company_id, invitation.email, None):
            _redirect(uow, draft, user.id, None)

    return accounts.signup_invited(invitation.email, password, name, locale, join, timezone)


def answer_invitation(token: str, accept: bool) -> dict:
    """By the link alone: decline any invitation, or accept a request to join (the account exists)."""
    invitation = open_invitation(token)
    if accept and not invitation.user_id:
        raise Unprocessable("validation_error", "Set a name and a password to join", field="password")
    uow = UnitOfWork()
    _use(uow, invitation)
    member = _answer(uow, invitation.company_id, invitation.email, invitation.user_id, accept)
    uow.commit()
    return views.team_member(member)


def answer_request(principal: Principal, company_id: str, accept: bool) -> dict:
    """Signed in: accept or decline a company's request to join its team."""
    user = principal.user or accounts.get_user(principal.user_id)
    uow = UnitOfWork()
    member = _answer(uow, company_id, user.email, user.id, accept)
    uow.commit()
    return views.team_member(member)


def _answer(uow: UnitOfWork, company_id: str, email: str, user_id: str | None, accept: bool) -> TeamMemberModel:
    try:
        member = TeamMemberModel.get(company_id, email, consistent_read=True)
    except TeamMemberModel.DoesNotExist:
        raise NotFound("not_found", "No such request to join") from None
    pending = INVITED if user_id is None else REQUESTED
    if member.state != pending or member.user_id != user_id:
        raise Conflict("invitation_used", "This request was already answered")
    if accept and user_id is not None:  # an existing account joins only with a proven address
        accounts.require_confirmed_email(accounts.get_user(user_id))
    now = clock.now()
    member.state = ACTIVE if accept else DECLINED
    member.joined_at = clock.iso(now) if accept else None
    joined = TeamMemberModel.joined_at.set(member.joined_at) if accept else TeamMemberModel.joined_at.remove()
    uow.update(member, [TeamMemberModel.state.set(member.state), joined], condition=TeamMemberModel.state == pending,
               on_fail=Conflict("invitation_used", "This request was already answered"))
    for draft in _drafts_of(company_id, email, user_id):
        if accept:
            _redirect(uow, draft, str(user_id), None)
        else:
            engine.apply(uow, TASKS, draft, "unassign", Context(now, "system", reason="declined"))
    return member


MAX_DRAFTS_PER_INVITEE = 25  # his joining moves them all in one transaction


def _drafts_of(company_id: str, email: str, user_id: str | None) -> list[DealModel]:
    """The company's drafts waiting for the invitee at `email` to join."""
    found = []
    for contractor_id in {placeholder_id(company_id, email), *([user_id] if user_id else [])}:
        # the index holds keys only: his tasks are read whole in one batch, then sorted out here
        tasks = lookup.in_order(DealModel, list(DealModel.by_contractor.query(f"{TASKS.noun}#{contractor_id}")))
        found += [draft for draft in tasks if draft.client_id == company_id and draft.status == DRAFT
                  and (pending_member(draft) or {}).get("email") == email]
    return found


def _redirect(uow: UnitOfWork, draft: DealModel, contractor_id: str, member: dict | None) -> None:
    """A draft's contractor settled outside the process: he joined (`member` None), or his invitation was renewed."""
    read_version = int(draft.version)
    draft.contractor_id, draft.contractor_key = contractor_id, f"{TASKS.noun}#{contractor_id}"
    draft.data = {**{key: value for key, value in (draft.data or {}).items() if key != "member"},
                  **({"member": member} if member else {})}
    draft.version = read_version + 1
    uow.update(draft, [DealModel.contractor_id.set(draft.contractor_id),
                       DealModel.contractor_key.set(draft.contractor_key), DealModel.data.set(draft.data),
                       DealModel.version.set(draft.version), *engine.rearmed(TASKS, draft)],
               condition=(DealModel.status == DRAFT) & (DealModel.version == read_version),
               on_fail=Conflict("state_changed", "A draft of this contractor changed meanwhile; try again"))


def assignee(company_id: str, contractor_id: str) -> tuple[str, dict | None]:
    """Whom a draft may be assigned to: an active member (his id, None), or someone invited whose
    invitation is still open (his id or placeholder, and {email, expires_at} of the invitation)."""
    now = clock.now()
    for member in TeamMemberModel.query(company_id, consistent_read=True):
        if contractor_id not in (member.user_id, placeholder_id(company_id, member.email)):
            continue
        if member.state == ACTIVE and member.user_id == contractor_id:
            return contractor_id, None
        if member.state in (INVITED, REQUESTED) and member.expires_at and clock.parse_iso(member.expires_at) > now:
            return member.user_id or placeholder_id(company_id, member.email), {"email": member.email,
                                                                                 "expires_at": member.expires_at}
    raise Unprocessable("not_in_team", "The contractor must be a member of your team, or invited to it",
                        field="contractor_id")


def require_room_for_draft(company_id: str, contractor_id: str, member: dict) -> None:
    if len(_drafts_of(company_id, member["email"], contractor_id)) >= MAX_DRAFTS_PER_INVITEE:
        raise Conflict("too_many_drafts", f"At most {MAX_DRAFTS_PER_INVITEE} drafts may wait for one invitee to "
                                          "join; send some once he has joined")


def members(principal: Principal, limit: int, cursor: str | None) -> dict:
    return page(lambda **kw: TeamMemberModel.query(principal.user_id, **kw), limit, cursor, views.team_member)


def require_member(company_id: str, contractor_id: str) -> UserModel:
    """The contractor must be an active member of the company's team."""
    try:
        contractor = UserModel.get(contractor_id, consistent_read=True)
        member = TeamMemberModel.get(company_id, contractor.email, consistent_read=True)
    except (UserModel.DoesNotExist, TeamMemberModel.DoesNotExist):
        raise Unprocessable("not_in_team", "The contractor must be a member of your team",
                            field="contractor_id") from None
    if member.state != ACTIVE or member.user_id != contractor_id:
        raise Unprocessable("not_in_team", "The contractor has not joined your team yet", field="contractor_id")
    return contractor


def get_settings(principal: Principal) -> dict:
    profile = profiles.load(principal.user_id)
    return {"company_name": profile.company_name or "", "company_details": profile.company_details or "",
            "send_tasks_immediately": bool(profile.send_tasks_immediately)}


def update_settings(principal: Principal, changes: dict) -> dict:
    if auth.OPERATOR in principal.roles:
        raise Forbidden("not_a_company", "Operators have no company settings")
    attributes: dict[str, Any] = {"company_name": ProfileModel.company_name,
                                  "company_details": ProfileModel.company_details,
                                  "send_tasks_immediately": ProfileModel.send_tasks_immediately}
    actions = [attributes[name].set(value) for name, value in changes.items() if value is not None]
    if actions:
        ProfileModel(principal.user_id).update(actions=actions)
    return get_settings(principal)
