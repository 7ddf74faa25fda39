"""POST /evaluate and POST /validate: a findings document in (any registered reader), FHIR out (any registered writer)."""

from __future__ import annotations

import re

import orjson
from fastapi import APIRouter, Depends, Query, Request

from plugin import engine
from plugin.api.deps import CatalogDep, service
from plugin.api.fhir_version import DEFAULT, media_type, negotiate
from plugin.api.openapi import body_doc, responses_doc
from plugin.api.request_body import check_accept, read_json
from plugin.api.responses import FhirResponse
from plugin.write import DEFAULT_SHAPE, WRITERS

router = APIRouter(dependencies=[Depends(check_accept)])

SHAPES = "; ".join(f"{w.name}: {w.description}" for w in WRITERS.values())
SHAPE_PATTERN = "^(" + "|".join(re.escape(name) for name in WRITERS) + ")$"  # the registry is the one list of forms


@router.post("/evaluate", response_class=FhirResponse, openapi_extra=body_doc(),
             responses=responses_doc(200, "The differential as a FHIR R4 Bundle (or contained DiagnosticReport).", "Bundle"))
async def evaluate(request: Request,
                   shape: str = Query(DEFAULT_SHAPE, description=f"The output form. {SHAPES}.", pattern=SHAPE_PATTERN,
                                      json_schema_extra={"enum": list(WRITERS)})) -> FhirResponse:
    """Evaluate one findings document: a ranked, explained differential diagnosis as FHIR R4."""
    # The hot path reads the app's state itself: two dependencies would cost more than the rest of the HTTP edge's own
    # work (benchmarks/README.md); the other routes keep CatalogDep and SettingsDep.
    catalog, settings = service(request)
    form, document = await read_json(request)
    result = engine.result_of(document, catalog, settings.max_differential, form)
    request.state.log = {"candidates": len(result.candidates), "in_scope": bool(result.in_scope)}
    # An unsupported fhirVersion is refused (406) by check_accept; whatever reaches here answers in 4.0 unless 5.0 was asked.
    version = negotiate(request.headers.get("accept")) or DEFAULT
    out = engine.render(result, shape, endpoint=settings.public_url, fhir_version=version)
    return FhirResponse(orjson.dumps(out), media_type=media_type(version))


@router.post("/validate", response_class=FhirResponse, openapi_extra=body_doc(),
             responses=responses_doc(200, "An OperationOutcome: error issues when invalid; when valid, one informational issue, then a warning "
                                     "for each code no loaded pack knows.", "OperationOutcome"))
async def validate(request: Request, catalog: CatalogDep) -> FhirResponse:
    """Check one findings document without evaluating it."""
    form, document = await read_json(request)
    outcome = engine.validate_document(document, catalog, form)
    request.state.log = {"issues": len(outcome["issue"]) if outcome["issue"][0]["severity"] == "error" else 0}
    return FhirResponse(orjson.dumps(outcome))
