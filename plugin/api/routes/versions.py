"""GET /$versions: the FHIR versions this service writes and the default (the FHIR $versions operation's Parameters)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from plugin.api.fhir_version import DEFAULT, SUPPORTED
from plugin.api.openapi import responses_doc
from plugin.api.request_body import check_accept
from plugin.api.responses import FhirResponse

router = APIRouter(dependencies=[Depends(check_accept)])


@router.get("/$versions", response_class=FhirResponse,
            responses=responses_doc(200, "The supported FHIR versions and the default, as a Parameters resource.", "FhirResource"))
async def versions() -> FhirResponse:
    """List the FHIR versions this service answers in (choose one with Accept: application/fhir+json; fhirVersion=5.0)."""
    parameters = [{"name": "version", "valueCode": v} for v in SUPPORTED] + [{"name": "default", "valueCode": DEFAULT}]
    return FhirResponse({"resourceType": "Parameters", "parameter": parameters})
