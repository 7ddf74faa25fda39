"""POST /evaluate and POST /validate: findings document in, FHIR out."""

from __future__ import annotations

from typing import Literal

import orjson
from fastapi import APIRouter, Depends, Query, Request

from plugin import service
from plugin.api.deps import CatalogDep, SettingsDep
from plugin.api.openapi import body_doc, responses_doc
from plugin.api.request_body import check_accept, read_json
from plugin.api.responses import FhirResponse

router = APIRouter(dependencies=[Depends(check_accept)])


@router.post("/evaluate", response_class=FhirResponse, openapi_extra=body_doc(),
             responses=responses_doc(200, "The differential as a FHIR R4 Bundle (or contained DiagnosticReport).", "Bundle"))
async def evaluate(request: Request, catalog: CatalogDep, settings: SettingsDep,
                   shape: Literal["bundle", "contained"] = Query("bundle", description="bundle, or contained: one DiagnosticReport")
                   ) -> FhirResponse:
    """Evaluate one findings document: a ranked, explained differential diagnosis as FHIR R4."""
    document = await read_json(request)
    result = service.pipeline.run(document, catalog, settings.max_differential)
    request.state.log = {"candidates": len(result.candidates), "in_scope": bool(result.in_scope)}
    return FhirResponse(orjson.dumps(service.render(result, catalog, shape)))


@router.post("/validate", response_class=FhirResponse, openapi_extra=body_doc(),
             responses=responses_doc(200, "An OperationOutcome: error issues when invalid; when valid, one informational issue, then a warning "
                                     "for each code no loaded pack knows.", "OperationOutcome"))
async def validate(request: Request, catalog: CatalogDep) -> FhirResponse:
    """Check one findings document without evaluating it."""
    document = await read_json(request)
    outcome = service.validate_document(document, catalog)
    request.state.log = {"issues": len(outcome["issue"]) if outcome["issue"][0]["severity"] == "error" else 0}
    return FhirResponse(orjson.dumps(outcome))
