"""The OpenAPI document: the request body is the findings schema, every status is declared with OperationOutcome."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from plugin.api.responses import FHIR_JSON

ERROR_STATUSES = {
    400: "The body is not strict JSON (or a query parameter is invalid): no verdict on the content is possible.",
    401: "Authentication is required and missing or invalid (only when authentication is configured).",
    403: "Authenticated, but not allowed.",
    404: "No such path.",
    405: "Method not allowed on this path.",
    406: "The Accept header allows no media type this service produces.",
    413: "The body is larger than the configured limit.",
    415: "The body is neither application/json (findings JSON) nor application/fhir+json (a FHIR input Bundle).",
    422: "The document parses but breaks the findings schema or the knowledge pack's rules: every problem, with its path.",
    500: "Unexpected internal error; the OperationOutcome carries an incident id that also appears in the log.",
}
GET_STATUSES = (401, 403, 404, 405, 406, 500)


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def body_doc(schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema or _ref("FindingsReport")}}}}


_TEXT = {"type": "string", "minLength": 1}
CDS_REQUEST = {  # CDS Hooks 2.0 "Calling a CDS Service", with this hook's context
    "type": "object", "required": ["hook", "hookInstance", "context"],
    "properties": {
        "hook": {"const": "org.rad-ddx.diagnosticreport-review"}, "hookInstance": _TEXT, "fhirServer": _TEXT,
        "fhirAuthorization": {"type": "object"}, "prefetch": {"type": "object"},
        "context": {"type": "object", "required": ["userId", "findings"],
                    "properties": {"userId": _TEXT, "patientId": _TEXT, "findings": _ref("FindingsReport")}},
    },
}
CDS_FEEDBACK = {  # CDS Hooks 2.0 "Feedback"
    "type": "object", "required": ["feedback"],
    "properties": {"feedback": {"type": "array", "minItems": 1, "items": {
        "type": "object", "required": ["card", "outcome", "outcomeTimestamp"],
        "properties": {
            "card": _TEXT, "outcome": {"enum": ["accepted", "overridden"]}, "outcomeTimestamp": {"type": "string"},
            "acceptedSuggestions": {"type": "array", "items": {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}}},
            "overrideReason": {"type": "object", "properties": {
                "reason": {"type": "object", "required": ["system", "code"],
                           "properties": {"system": {"type": "string"}, "code": {"type": "string"}, "display": {"type": "string"}}},
                "userComment": {"type": "string"}}},
        }}}},
}


def responses_doc(ok: int, description: str, kind: str | None = None, extra: tuple[int, ...] = (),
                  post: bool = False) -> dict[int | str, Any]:
    ok_content = {FHIR_JSON: {"schema": _ref(kind)}} if kind else {"application/json": {"schema": {"type": "object"}}}
    out: dict[int | str, Any] = {ok: {"description": description, "content": ok_content}}
    statuses = ERROR_STATUSES if kind or post else {s: ERROR_STATUSES[s] for s in GET_STATUSES}
    for status, text in statuses.items():
        out[status] = {"description": text, "content": {FHIR_JSON: {"schema": _ref("OperationOutcome")}}}
    for status in extra:
        out[status] = {"description": "Not ready yet: knowledge packs are still loading.",
                       "content": {"application/json": {"schema": {"type": "object"}}}}
    return out


OPERATION_OUTCOME = {
    "type": "object",
    "required": ["resourceType", "issue"],
    "properties": {
        "resourceType": {"const": "OperationOutcome"},
        "id": {"type": "string"},
        "issue": {
            "type": "array", "minItems": 1,
            "items": {
                "type": "object", "required": ["severity", "code"],
                "properties": {
                    "severity": {"enum": ["fatal", "error", "warning", "information"]},
                    "code": {"type": "string"},
                    "diagnostics": {"type": "string"},
                    "expression": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
    },
}
FHIR_RESOURCE = {"type": "object", "required": ["resourceType"], "properties": {"resourceType": {"type": "string"}}}
BUNDLE = {
    "description": "FHIR R4 (R5 with Accept fhirVersion=5.0) Bundle of type collection, message (?shape=message) or transaction "
                   "(?shape=transaction), or with ?shape=contained a DiagnosticReport with contained resources.",
    "type": "object", "required": ["resourceType"],
    "properties": {"resourceType": {"enum": ["Bundle", "DiagnosticReport"]}},
}


def inline_defs(schema: Mapping[str, Any], prefix: str) -> dict[str, dict[str, Any]]:
    """Move a JSON Schema's $defs into OpenAPI components, rewriting '#/$defs/x' references to match."""
    text = json.dumps(schema).replace('"#/$defs/', f'"#/components/schemas/{prefix}_')
    moved = json.loads(text)
    defs = moved.pop("$defs", {})
    for key in ("$schema", "$id"):  # a component's base URI is the OpenAPI document's
        moved.pop(key, None)
    out = {prefix: moved}
    out |= {f"{prefix}_{k}": v for k, v in defs.items()}
    return out


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        schemas = doc.setdefault("components", {}).setdefault("schemas", {})
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        for operation in (op for path in doc["paths"].values() for op in path.values()):
            if "HTTPValidationError" in json.dumps(operation.get("responses", {}).get("422", {})):
                del operation["responses"]["422"]  # FastAPI's guess for path parameters; a bad one is answered 400 here
            for response in operation.get("responses", {}).values():
                for media in response.get("content", {}).values():
                    schema = media.get("schema", {})
                    if "$ref" in schema:  # FastAPI adds the response class's own type beside our $ref
                        media["schema"] = {"$ref": schema["$ref"]}
        services = [pack.id for pack in app.state.catalog.packs]
        for operation in (op for path in doc["paths"].values() for op in path.values()):
            for parameter in operation.get("parameters", []):
                if parameter["name"] == "service_id" and parameter["in"] == "path":  # the CDS services: one per pack
                    parameter["schema"] = {"type": "string", "enum": services, "title": "CDS service id"}
        schemas |= inline_defs(copy.deepcopy(dict(app.state.catalog.findings_schema)), "FindingsReport")
        schemas |= {"OperationOutcome": OPERATION_OUTCOME, "Bundle": BUNDLE, "FhirResource": FHIR_RESOURCE}
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]
