"""Contractor profiles: the level that bounds custom offers, the custom-offers switch, and the
responsibility rating — orders completed out of those completed or failed (refused before the
start without the client's agreement, auto-cancelled for not starting, or cancelled by the client
once late), as Kwork counts it. A cancellation both parties agreed to does not count against it,
nor does a client's refusal of a cancellation request."""
from __future__ import annotations

from chalicelib.access.auth import Principal
from chalicelib.platform import clock
from chalicelib.platform.config import settings
from chalicelib.platform.errors import Unprocessable
from chalicelib.services import views
from chalicelib.store import audit_log, catalog, lookup
from chalicelib.store.models import ProfileModel, UserModel
from chalicelib.store.uow import UnitOfWork, run_with_retries

DEFAULT_LEVEL = "new"
ENABLED = "enabled"


def load(user_id: str) -> ProfileModel:
    try:
        return ProfileModel.get(user_id, consistent_read=True)
    except ProfileModel.DoesNotExist:
        return ProfileModel(user_id)


def level_of(profile: ProfileModel, user: UserModel | None = None) -> str:
    """The operator's override if any, else the highest level whose rule (`LEVEL_RULES`: completed orders,
    responsibility rating, account age) the contractor meets now — so the level moves by itself."""
    if profile.level in settings.offer_levels:
        return profile.level
    user = user or lookup.load(UserModel, profile.user_id, what="user")
    return catalog.earned_level(None, int(profile.orders_completed or 0), int(profile.orders_failed or 0),
                                user.created_at, clock.now())


def show(user_id: str) -> dict:
    user = lookup.load(UserModel, user_id, what="user")
    profile = load(user_id)
    completed, failed = int(profile.orders_completed or 0), int(profile.orders_failed or 0)
    counted = completed + failed
    percent = 100 if not counted else completed * 100 // counted
    return {"id": user.id, "name": user.name, "level": level_of(profile, user),
            "level_set_by_operator": None if profile.level not in settings.offer_levels else {
                "by": profile.level_set_by, "at": profile.level_set_at},
            "custom_offers": profile.custom_offers == ENABLED, "skills": list(profile.skills or []),
            "responsibility": {"percent": percent, "completed": completed, "failed": failed,
                               "cancelled_without_penalty": int(profile.orders_cancelled or 0)},
            "project_rating": views.rating(profile.contractor_rating_sum, profile.contractor_rating_count)}


def show_client(user_id: str) -> dict:
    """A client's profile: how the contractors of his completed projects rated him."""
    user = lookup.load(UserModel, user_id, what="user")
    profile = load(user_id)
    return {"id": user.id, "name": user.name,
            "project_rating": views.rating(profile.client_rating_sum, profile.client_rating_count)}


def update(principal: Principal, custom_offers: bool | None, skills: list[str] | None) -> dict:
    """The contractor's own settings: whether he takes custom offers, and his skills (for projects)."""
    actions: list = []
    if custom_offers is not None:
        switch = ProfileModel.custom_offers
        actions.append(switch.set(ENABLED) if custom_offers else switch.remove())
    if skills is not None:
        normalised: list[str] = sorted({skill.lower() for skill in skills})
        actions.append(ProfileModel.skills.set(normalised))  # type: ignore[arg-type]
    if actions:
        ProfileModel(principal.user_id).update(actions=actions)
    return show(principal.user_id)


def set_level(principal: Principal, user_id: str, level: str, reason: str = "") -> dict:
    """An operator sets a contractor's level (setting it twice is harmless): his act in the audit log, with the
    level before and after and his reason (`subject` = `user#<id>`), committed with the change."""
    principal.require_operator()
    if level not in settings.offer_levels:
        raise Unprocessable("unknown_level", f"level must be one of: {', '.join(settings.offer_levels)}",
                            field="level")
    user = lookup.load(UserModel, user_id, what="user")

    def attempt() -> None:
        profile = load(user_id)
        before = {"level": level_of(profile, user), "set_by_operator": profile.level in settings.offer_levels}
        profile.level = level  # his listed gigs' rows show (and filter by) the new level at once
        uow = UnitOfWork()
        catalog.restand(uow, profile, [ProfileModel.level.set(level), ProfileModel.level_set_by.set(principal.user_id),
                                       ProfileModel.level_set_at.set(clock.iso(clock.now()))])
        audit_log.record(uow, subject=f"user#{user_id}", actor_id=principal.user_id, action="set_level",
                         reason=reason, before=before, after={"level": level, "set_by_operator": True})
        uow.commit()

    run_with_retries(attempt)
    return show(user_id)


SEARCH_RESULTS = 20  # the most users a search shows
NAME_SCAN_ITEMS = 1000  # a search by name reads at most this many users (one bounded Scan: about 1 MB, ~128 RCU)


def search(principal: Principal, text: str) -> dict:
    """Operators: users to look at as contractors, by id (`usr_…`: one read), by e-mail (two reads, the address's
    key item and the user) or by a part of the name, case-insensitively. The users table has no index by name,
    so a name is looked for in at most `NAME_SCAN_ITEMS` users (one Scan, read page by page and stopped there):
    `complete` says whether the whole table was read. Each found user with his level."""
    from chalicelib.services import accounts

    principal.require_operator()
    wanted = " ".join(text.split())[:254]
    found: list[UserModel] = []
    complete = True
    if not wanted:
        return {"items": [], "complete": True}
    if "@" in wanted:
        user = accounts.find_by_email(wanted)
        found = [user] if user is not None else []
    elif wanted.startswith("usr_") and " " not in wanted:
        try:
            found = [UserModel.get(wanted)]
        except UserModel.DoesNotExist:
            found = []
    else:
        needle = wanted.casefold()
        scanned = UserModel.scan(page_size=200, limit=NAME_SCAN_ITEMS)
        for read, user in enumerate(scanned, start=1):
            if needle in user.name.casefold():
                found.append(user)
                if len(found) >= SEARCH_RESULTS:
                    break
            if read >= NAME_SCAN_ITEMS:
                break
        complete = scanned.last_evaluated_key is None and len(found) < SEARCH_RESULTS
    found.sort(key=lambda user: (user.name.casefold(), user.id))
    return {"items": [{"id": user.id, "name": user.name, "email": user.email,
                       "level": level_of(load(user.id), user)} for user in found[:SEARCH_RESULTS]],
            "complete": complete}


def operator_view(principal: Principal, user_id: str) -> dict:
    """Operators: a contractor's profile with his e-mail and the levels an operator may set."""
    principal.require_operator()
    user = lookup.load(UserModel, user_id, what="user")
    return {**show(user_id), "email": user.email, "created_at": user.created_at,
            "levels": list(settings.offer_levels)}
