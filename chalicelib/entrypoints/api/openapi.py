"""`GET /openapi.json`: the OpenAPI 3.1 document built from every registered endpoint (on its first
request, which is when the models and pydantic load)."""
from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING

from chalice import Blueprint

from chalicelib.entrypoints.api.http import OPERATIONS, Operation, Schema, endpoint
from chalicelib.entrypoints.api.http import schema_names as s

if TYPE_CHECKING:
    from pydantic import BaseModel

bp = Blueprint(__name__)

_QUERY_DOCS = {
    "limit": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
    "cursor": {"type": "string"},
    "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
    "role": {"type": "string", "enum": ["client", "contractor"], "default": "client"},
    "skills": {"type": "string", "description": "comma-separated; default: the caller's own skills"},
    "version": {"type": "integer", "minimum": 1, "description": "a submitted version of the deliverable; "
                "default: the latest upload"},
    "lang": {"type": "string", "enum": ["en", "ru", "uk", "fa"], "description": "the page's language"},
    "status": {"type": "string", "enum": ["active", "past_due", "blocked", "deletion_requested", "deleted"],
               "default": "blocked", "description": "the sites' status"},
    "operator": {"type": "string", "maxLength": 254, "description": "the console's audit log: only this operator's "
                 "acts (his e-mail or user id)"},
    "object": {"type": "string", "maxLength": 200, "description": "the console's audit log: only the acts on this "
               "object (a site id, `site#<id>` or `user#<id>`)"},
    "who": {"type": "string", "maxLength": 254, "description": "the console's contractors: an e-mail, a user id or "
            "a part of the name"},
    "q": {"type": "string", "maxLength": 254, "description": "sites named by a service code, a domain, an owner's "
          "e-mail, a tax id or a site id"},
    "done": {"type": "string", "maxLength": 40, "description": "the console: the act just done, whose result or "
             "notice the page shows"},
    "category": {"type": "string", "description": "a category's id (GET /v1/catalog/categories)"},
    "tariff": {"type": "string", "maxLength": 40, "description": "a tariff's code (GET /v1/tariffs)"},
    "tag": {"type": "array", "items": {"type": "string"}, "maxItems": 5,
            "description": "repeatable (?tag=a&tag=b): gigs with every one of them"},
    "min_price": {"type": "integer", "minimum": 0, "description": "minor units, included; needs currency"},
    "max_price": {"type": "integer", "minimum": 0, "description": "minor units, included; needs currency"},
    "max_days": {"type": "integer", "minimum": 1, "description": "delivery in at most this many days"},
    "level": {"type": "string", "description": "the contractor's level or above: new, advanced, pro"},
    "sort": {"type": "string", "enum": ["rank", "price", "new"], "default": "rank",
             "description": "rank: responsibility rating, then review score and count; price (needs currency): "
                            "cheapest first; new: newest first"},
    # the console's unmatched payments: the queue's search, and a payment's page after an act
    "amount": {"type": "string", "maxLength": 30, "description": "the console's payments: this amount, in the "
               "payment's currency (`1500.00`)"},
    "from": {"type": "string", "format": "date", "description": "the console's payments: received on this day or "
             "later"},
    "to": {"type": "string", "format": "date", "description": "the console's payments: received on this day or "
           "earlier"},
    "payer": {"type": "string", "maxLength": 200, "description": "the console's payments: the payer's name or IBAN "
              "contains this, in any case"},
    "text": {"type": "string", "maxLength": 200, "description": "the console's payments: the purpose contains this, "
             "in any case"},
    "run": {"type": "string", "maxLength": 100, "description": "the console's books page: a run of the books audit "
            "whose result it shows"},
}
_ERROR_TEXT = {400: "Malformed request", 401: "No or bad credentials",
               402: "Not enough available balance: `missing`, and a card `topup` whose payment completes the action",
               403: "Not allowed in your role",
               404: "Unknown, or not visible to you", 409: "State conflict (status, funds, idempotency)",
               406: "The route answers a file: send an Accept header that allows its type (or */*)",
               422: "Well-formed but invalid",
               429: "Too many attempts; retry after Retry-After seconds",
               503: "Busy for a moment (nothing was written); retry after Retry-After seconds, same Idempotency-Key"}


_PAGE_TEXT = {410: "The link has expired (a page that says so)"}
_PAGE_REDIRECT = {"description": "On to the next page (Location), without the link's token in the address",
                  "headers": {"Location": {"schema": {"type": "string"}}}}


@endpoint(bp, "GET", "/openapi.json", summary="This document", tag="meta", auth_="none")
def openapi(call):
    return document()


@cache
def document() -> dict:
    components: dict[str, dict] = {}
    components["ErrorOut"] = _schema(s.ErrorOut.model, components)
    paths: dict[str, dict] = {}
    for operation in OPERATIONS:
        paths.setdefault(operation.path, {})[operation.method.lower()] = _operation(operation, components)
    return {
        "openapi": "3.1.0",
        "info": {"title": "escrowdesk", "version": "1.0.0",
                 "description": "Balances, escrow, invoices and the bank webhook. Money is an integer in minor "
                                "units plus an ISO 4217 code. Every POST accepts an Idempotency-Key header."},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "bankSignature": {"type": "apiKey", "in": "header", "name": "X-Bank-Signature"},
                "acquirerSignature": {"type": "apiKey", "in": "header", "name": "X-Acquirer-Signature"},
                "siteKey": {"type": "apiKey", "in": "header", "name": "X-Site-Key"},
            },
        },
    }


def _operation(op: Operation, components: dict) -> dict:
    doc: dict = {"operationId": op.name, "summary": op.summary, "tags": [op.tag], "parameters": _parameters(op),
                 "responses": {str(status): _success(op, components) if status != 303 else _PAGE_REDIRECT
                               for status in (op.status, *op.also)}}
    if op.auth in ("user", "operator"):
        doc["security"] = [{"bearer": []}]
    elif op.auth == "bank":
        doc["security"] = [{"bankSignature": []}]
    elif op.auth == "acquirer":
        doc["security"] = [{"acquirerSignature": []}]
    elif op.auth == "site":
        doc["security"] = [{"siteKey": []}]
    else:
        doc["security"] = []
    page = op.page  # a page people open: forms in, HTML out (or a PDF it offers), errors as pages too
    if op.request is not None:
        doc["requestBody"] = {"required": True, "content": {
            "application/x-www-form-urlencoded" if page else "application/json": {
                "schema": {"$ref": f"#/components/schemas/{_schema_name(op.request, components)}"}}}}
    for code in op.errors:
        content = {"text/html": {"schema": {"type": "string"}}} if page else {
            "application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}
        doc["responses"][str(code)] = {"description": _ERROR_TEXT.get(code, _PAGE_TEXT.get(code, "")),
                                       "content": content}
    return doc


def _parameters(op: Operation) -> list[dict]:
    params = [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
              for name in re.findall(r"{(\w+)}", op.path)]
    params += [{"name": name, "in": "query", "required": False, "schema": _QUERY_DOCS[name]} for name in op.query]
    if op.method == "POST" and not op.page:
        params.append({"name": "Idempotency-Key", "in": "header", "required": False,
                       "schema": {"type": "string", "minLength": 1, "maxLength": 255}})
    return params


def _success(op: Operation, components: dict) -> dict:
    if op.produces == "text/html":
        return {"description": "The page", "content": {"text/html": {"schema": {"type": "string"}}}}
    if op.produces != "application/json":
        return {"description": "OK", "content": {op.produces: {"schema": {"type": "string", "format": "binary"}}}}
    if op.response is None:
        return {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}
    ref = f"#/components/schemas/{_schema_name(op.response, components)}"
    return {"description": "OK", "content": {"application/json": {"schema": {"$ref": ref}}}}


def _schema_name(schema: Schema, components: dict) -> str:
    if schema.name not in components:
        components[schema.name] = _schema(schema.model, components)
    return schema.name


def _schema(model: type[BaseModel], components: dict) -> dict:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, definition in schema.pop("$defs", {}).items():
        components.setdefault(name, definition)
    return schema
