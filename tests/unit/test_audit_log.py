"""The operators' audit log read back (chalicelib/services/console.py `audit_records`, the console's /console/audit):
one operator's acts, one object's, both, or everybody's, newest first, a page at a time with a signed cursor;
every read is a query on the table or one of its two indexes (`by_actor`; `by_month`, read newest month first),
never a scan; and no route can change or delete a record."""
from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from chalicelib.access import auth
from chalicelib.platform import clock
from chalicelib.platform.errors import BadRequest
from chalicelib.services import console, pagination
from chalicelib.store import audit_log
from chalicelib.store.models import AuditLogModel
from chalicelib.store.uow import UnitOfWork


@pytest.fixture
def operators(store):
    from chalicelib.services import accounts

    made = [accounts.create_operator(f"{name}@escrowdesk.local", "operator-pass") for name in ("ann", "bob", "cid")]
    return [auth.Principal(user_id=m["user"]["id"], roles=(auth.OPERATOR,)) for m in made]


def _act(operator: auth.Principal, subject: str, action: str, days_ago: float) -> AuditLogModel:
    uow = UnitOfWork()
    record = audit_log.record(uow, subject=subject, actor_id=operator.user_id, action=action, reason="why",
                              before={"n": 1}, after={"n": 2}, now=clock.now() - timedelta(days=days_ago))
    uow.commit()
    return record


@pytest.fixture
def acts(operators):
    """Ten acts over about three months: ann's on site s1 and s2, bob's on s1, none of cid's; newest last."""
    ann, bob, _ = operators
    plan = [(ann, "site#s1", 80), (bob, "site#s1", 75), (ann, "site#s2", 61), (ann, "site#s1", 45),
            (bob, "site#s2", 40), (ann, "site#s1", 31), (bob, "site#s1", 20), (ann, "site#s2", 3),
            (ann, "site#s1", 1), (bob, "site#s1", 0.5)]
    return [_act(who, subject, f"act{number}", days) for number, (who, subject, days) in enumerate(plan)]


def _read(principal, operator="", subject="", size=3) -> list[dict]:
    """Every page, following the cursors: the records in order."""
    found, cursor, pages = [], None, 0
    with pagination.list_scope(f"test\n{operator}\n{subject}"):
        while True:
            page = console.audit_records(principal, operator, subject, cursor, size=size)
            assert 1 <= len(page["records"]) <= size or (pages == 0 and not page["next_cursor"])
            found += page["records"]
            pages += 1
            cursor = page["next_cursor"]
            if not cursor:
                return found
            assert pages < 20


def _newest_first(records) -> list[str]:
    return [record.action for record in sorted(records, key=lambda record: record.sk, reverse=True)]


@pytest.fixture
def no_scan(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the audit log is read with queries, never a scan")

    monkeypatch.setattr(AuditLogModel, "scan", refuse)


def test_everybodys_acts_come_newest_first_across_months_a_page_at_a_time(operators, acts, no_scan):
    assert len({record.month for record in acts}) >= 3
    found = _read(operators[2])
    assert [record["action"] for record in found] == _newest_first(acts)
    assert found[0]["actor_email"] == "bob@escrowdesk.local" and found[0]["subject"] == "site#s1"
    assert found[0]["before"] == {"n": 1} and found[0]["after"] == {"n": 2} and found[0]["reason"] == "why"
    assert [record["action"] for record in _read(operators[2], size=50)] == _newest_first(acts)


def test_a_page_ending_at_a_months_end_loses_repeats_nothing_and_no_page_is_empty(operators, acts, no_scan):
    for size in (1, 2, 3, 4, 5, 7, 10):
        assert [record["action"] for record in _read(operators[0], size=size)] == _newest_first(acts), size


def test_one_operators_acts_by_his_e_mail_or_his_id(operators, acts, no_scan):
    ann = operators[0]
    hers = _newest_first([record for record in acts if record.actor_id == ann.user_id])
    assert [record["action"] for record in _read(ann, operator="ann@escrowdesk.local")] == hers
    assert [record["action"] for record in _read(ann, operator=ann.user_id, size=2)] == hers
    assert {record["actor_email"] for record in _read(ann, operator="ann@escrowdesk.local")} == {
        "ann@escrowdesk.local"}


def test_an_operator_without_acts_or_an_unknown_one_has_an_empty_log(operators, acts, no_scan):
    assert console.audit_records(operators[0], "cid@escrowdesk.local") == {"records": [], "next_cursor": None}
    assert console.audit_records(operators[0], "nobody@example.com") == {"records": [], "next_cursor": None}
    assert console.audit_records(operators[0], operators[2].user_id, "s1") == {"records": [], "next_cursor": None}


def test_one_objects_acts_by_its_subject_or_its_bare_site_id(operators, acts, no_scan):
    on_s1 = _newest_first([record for record in acts if record.subject == "site#s1"])
    assert [record["action"] for record in _read(operators[0], subject="site#s1")] == on_s1
    assert [record["action"] for record in _read(operators[0], subject="s1", size=2)] == on_s1
    assert _read(operators[0], subject="site#elsewhere") == []


def test_one_operators_acts_on_one_object(operators, acts, no_scan):
    bob = operators[1]
    wanted = _newest_first([record for record in acts
                            if record.subject == "site#s1" and record.actor_id == bob.user_id])
    assert len(wanted) == 3
    assert [record["action"] for record in _read(bob, operator="bob@escrowdesk.local", subject="s1", size=2)] == wanted


def test_a_cursor_pages_only_the_list_it_came_from(operators, acts):
    with pagination.list_scope("test\n\n"):
        cursor = console.audit_records(operators[0], size=2)["next_cursor"]
        assert cursor
        with pytest.raises(BadRequest):
            console.audit_records(operators[0], size=2, cursor=cursor[:-2] + "00")
    with pagination.list_scope("test\nbob@escrowdesk.local\n"), pytest.raises(BadRequest):
        console.audit_records(operators[0], "bob@escrowdesk.local", cursor=cursor)


def test_only_operators_read_the_audit_log(operators, acts):
    from chalicelib.platform.errors import Forbidden

    with pytest.raises(Forbidden):
        console.audit_records(auth.Principal(user_id=operators[0].user_id, roles=(auth.CLIENT,)))


def test_the_records_index_keys_are_written_with_each_act(operators, acts):
    assert all(record.month == record.at[:7] and re.fullmatch(r"\d{4}-\d{2}", record.month) for record in acts)
    names = {index["index_name"] for index in AuditLogModel._get_schema()["global_secondary_indexes"]}
    assert names == {"by_actor", "by_month"}


def test_no_route_changes_or_deletes_an_audit_record(api):
    """The audit log's routes only read, and no code changes or deletes a record: the only write is the put of a new
    one on a key nobody has (the API's role may not update or delete one either: tests/unit/test_cloud_template.py)."""
    from chalicelib.entrypoints.api.http import OPERATIONS

    # (POST /console/books/audit runs the books audit: it writes a new record of that act, and changes none)
    audit_routes = [operation for operation in OPERATIONS if operation.path.endswith("/audit")
                    and operation.path != "/console/books/audit"]
    assert audit_routes and all(operation.method == "GET" for operation in audit_routes)
    root = Path(audit_log.__file__).resolve().parents[1]
    for source in root.rglob("*.py"):
        text = source.read_text(encoding="utf-8")
        assert not re.search(r"AuditLogModel[\w.]*\.(update|delete|batch_write)\(", text), source
        for record in re.findall(r"(\w+) = AuditLogModel\(", text):
            assert f"uow.put({record}, condition=AuditLogModel.sk.does_not_exist())" in text, source


def test_the_audit_page_links_to_older_records_and_refuses_a_foreign_or_altered_link(api):
    from html import unescape

    from chalicelib.services import accounts
    from tests.unit.test_console import EMAIL, PASSWORD, _enrol

    accounts.create_operator(EMAIL, PASSWORD)
    session, _ = _enrol(api)  # an act: the TOTP enrolment
    ann = auth.Principal(user_id=accounts.find_by_email(EMAIL).id, roles=(auth.OPERATOR,))
    for number in range(console.AUDIT_PAGE):
        _act(ann, "site#s1", f"bulk{number}", days_ago=40 + number / 10)
    headers = {"Cookie": session}

    first = api.get("/console/audit?lang=en", headers=headers)
    html = first.body.decode()
    assert first.status_code == 200 and html.count("<tr>") == console.AUDIT_PAGE + 1  # the head's row too
    older = unescape(re.search(r'<a href="([^"]+)" rel="next">Older records</a>', html).group(1))
    path = older[older.index("/console/"):]
    second = api.get(path, headers=headers).body.decode()
    rest = len(list(AuditLogModel.scan())) - console.AUDIT_PAGE
    assert rest >= 1 and second.count("<tr>") == 1 + rest and "bulk49" in second and "Newest records" in second
    assert 'rel="next"' not in second
    cursor = re.search(r"cursor=([^&]+)", path).group(1)
    altered = api.get(path.replace(cursor, cursor[:-3] + "abc"), headers=headers)
    assert altered.status_code == 400 and "This link does not work" in altered.body.decode()
    foreign = api.get(f"/console/audit?lang=en&object=s1&cursor={cursor}", headers=headers)
    assert foreign.status_code == 400
