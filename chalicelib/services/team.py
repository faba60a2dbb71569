"""A company's team and settings (seed 000). The company invites contractors by e-mail — one
address or many, comma-separated — and each address gets its own answer: invited, added (it
already has an account), already in the team, or invalid; the valid ones go through whatever
the others do. An invitee gets a one-time link (only its SHA-256 is stored; it expires, and a
conditional write makes it single-use) to set a password, which creates the account and joins
the team in one transaction."""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from chalicelib import auth, clock, i18n, views
from chalicelib.auth import Principal
from chalicelib.config import settings
from chalicelib.errors import Conflict, Forbidden, NotFound, Unprocessable
from chalicelib.pagination import page
from chalicelib.services import accounts, notifications, profiles
from chalicelib.store.models import KeyModel, ProfileModel, TeamMemberModel, UserModel
from chalicelib.store.uow import UnitOfWork

INVITED, ACTIVE = "invited", "active"
MAX_ADDRESSES = 50


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
    company = accounts.get_user(principal.user_id)
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
    member = TeamMemberModel(company.id, email, user_id=existing.id if existing else None,
                             state=ACTIVE if existing else INVITED, greeting=greeting, invited_at=clock.iso(now),
                             joined_at=clock.iso(now) if existing else None)
    uow = UnitOfWork()
    # A pending invitation may be renewed (a fresh link) or completed by an account made meanwhile.
    uow.put(member, condition=TeamMemberModel.email.does_not_exist() | (TeamMemberModel.state == INVITED),
            on_fail=Conflict("in_team", "already"))
    params = {"company_name": _company_name(company), "greeting": greeting}
    if existing:
        notifications.enqueue(uow, existing.id, "team_added", params)
    else:
        token = secrets.token_urlsafe(32)
        expires_at = now + timedelta(hours=settings.invitation_ttl_hours)
        uow.put(KeyModel(_invitation_key(token), target_id=company.id,
                         data={"email": email, "expires_at": clock.iso(expires_at)}))
        notifications.enqueue(uow, f"{notifications.EMAIL_PREFIX}{email}", "team_invitation", {
            **params, "locale": company.locale, "timezone": i18n.zone_name(company.timezone, company.locale),
            "expires_at": clock.iso(expires_at),
            "link": f"{settings.app_url}/v1/invitations/{token}/accept"})
    try:
        uow.commit()
    except Conflict:
        return "already_in_team"
    return "added" if existing else "invited"


def _company_name(company: UserModel) -> str:
    return profiles.load(company.id).company_name or company.name


def accept_invitation(token: str, password: str, name: str, locale: str,
                      timezone: str | None = None) -> tuple[int, dict]:
    """The invitee sets a password: the account is created and joins the team, once."""
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

    def join(uow: UnitOfWork, user: UserModel) -> None:
        uow.update(invitation, [KeyModel.seq.set(1)], condition=KeyModel.seq.does_not_exist(),
                   on_fail=Conflict("invitation_used", "This invitation has already been used; log in instead"))
        uow.update(TeamMemberModel(company_id, email), [
            TeamMemberModel.user_id.set(user.id), TeamMemberModel.state.set(ACTIVE),
            TeamMemberModel.joined_at.set(clock.iso(clock.now()))], condition=TeamMemberModel.state == INVITED)

    return accounts.signup_invited(email, password, name, locale, join, timezone)


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
