"""Local-stage dev routes, the scheduled job entrypoint, OpenAPI and the table template."""
from __future__ import annotations

import json

from chalicelib.entrypoints.api.http import OPERATIONS
from chalicelib.platform import config
from chalicelib.store import tables


def test_dev_clock_moves_time_for_api_and_jobs(api):
    before = api.get("/dev/clock").json_body
    moved = api.post("/dev/clock", {"advance_seconds": 86400}).json_body
    assert moved["offset_seconds"] == before["offset_seconds"] + 86400
    assert moved["now"] > before["now"]
    ran = api.post("/dev/jobs/run").json_body
    assert ran["now"] >= moved["now"] and "retry_unsent_email" in ran["jobs"]


def test_dev_clock_rejects_bad_input(api):
    assert api.post("/dev/clock", {"advance_seconds": -5}).status_code == 422
    assert api.post("/dev/clock", {"advance_seconds": "soon"}).status_code == 422


def test_dev_routes_are_404_on_other_stages(api, monkeypatch):
    monkeypatch.setenv("STAGE", "prod")
    config.reload()
    try:
        assert api.get("/dev/clock").status_code == 404
        assert api.post("/dev/clock", {"advance_seconds": 5}).status_code == 404
        assert api.post("/dev/clock", raw=b"garbage").status_code == 404
        assert api.post("/dev/jobs/run").status_code == 404
    finally:
        monkeypatch.setenv("STAGE", "local")
        config.reload()


def test_scheduled_handler_runs_every_job(api):
    import app as app_module

    event = {"version": "0", "id": "1", "detail-type": "Scheduled Event", "source": "aws.events", "account": "0",
             "time": "2026-11-22T10:00:00Z", "region": "eu-central-1", "resources": [], "detail": {}}

    class Context:
        function_name, memory_limit_in_mb, aws_request_id = "jobs", 128, "r"
        invoked_function_arn = "arn:aws:lambda:eu-central-1:0:function:jobs"

    assert set(app_module.run_scheduled_jobs(event, Context())) == {"fire_due_timers", "retry_unsent_email",
                                                                    "resend_payout_requests", "resend_card_refunds",
                                                                    "report_queues", "sweep_local_uploads"}


def test_openapi_documents_every_route_with_schemas(api):
    import app as app_module

    document = api.get("/openapi.json").json_body
    routes = {(path, method.lower()) for path, entries in app_module.app.routes.items()
              for method, entry in entries.items() if entry.view_name != "method_not_allowed"}
    documented = {(path, method) for path, ops in document["paths"].items() for method in ops}
    assert routes == documented
    for path, ops in document["paths"].items():
        for method, op in ops.items():
            assert op["responses"], (path, method)
            if method == "post" and any(o.request for o in OPERATIONS if o.path == path and o.method == "POST"):
                assert "requestBody" in op
    assert {"InvoiceIn", "InvoiceOut", "ErrorOut", "SignupIn"} <= set(document["components"]["schemas"])
    assert len(OPERATIONS) == len(documented)


def test_the_api_answers_its_errors_in_json_and_the_pages_in_html_whatever_their_tag(api):
    """The API's site routes and the billing section's pages share a subject, not a shape: only a page (registered
    by chalicelib/entrypoints/web) documents HTML errors and urlencoded forms."""
    paths = api.get("/openapi.json").json_body["paths"]
    requisites = paths["/v1/sites/{site_id}/requisites"]["put"]
    assert set(requisites["responses"]["422"]["content"]) == {"application/json"}
    assert set(requisites["requestBody"]["content"]) == {"application/json"}
    page = paths["/billing/{site_id}/requisites"]["post"]
    assert set(page["responses"]["403"]["content"]) == {"text/html"}
    assert set(page["requestBody"]["content"]) == {"application/x-www-form-urlencoded"}
    assert not any(parameter["name"] == "Idempotency-Key" for parameter in page["parameters"])
    pdf = paths["/billing/{site_id}/invoices/{invoice_id}/pdf"]["get"]
    assert set(pdf["responses"]["200"]["content"]) == {"application/pdf"}
    assert set(pdf["responses"]["404"]["content"]) == {"text/html"}


def test_infra_template_is_generated_from_the_models():
    on_disk = json.loads(tables.TEMPLATE_PATH.read_text())
    assert on_disk == json.loads(json.dumps(tables.template())), "run: python -m chalicelib.store.tables"


def test_unexpected_failure_is_a_clean_500(api, monkeypatch):
    from chalicelib.services import balances

    monkeypatch.setattr(balances, "balances", lambda principal: 1 / 0)
    token = api.signup("boom@example.com")
    response = api.get("/v1/balances", token=token)
    assert response.status_code == 500
    assert response.json_body == {"error": {"code": "internal_error", "message": "Something went wrong on our side"}}
