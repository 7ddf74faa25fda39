"""GET /knowledge, GET /health, GET /schemas/findings-report: what the service knows and whether it is ready."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from plugin.api.deps import CatalogDep
from plugin.api.openapi import responses_doc
from plugin.api.request_body import check_accept
from plugin.knowledge.catalog import STANDARD_SYSTEMS
from plugin.knowledge.model import Pack

router = APIRouter(dependencies=[Depends(check_accept)])


def pack_summary(pack: Pack) -> dict[str, Any]:
    voc = pack.raw["vocabulary"]
    concept_system = pack.system("concept")

    def codings(item: dict[str, Any], own: str) -> list[dict[str, str]]:
        return [{"system": own, "code": item["id"], "display": item["display"]}] + [
            {"system": c["system"], "code": c["code"], "display": c["display"]} for c in item.get("codings", [])]

    return {
        "id": pack.id, "version": pack.version, "title": pack.title, "scope": pack.scope_statement,
        "intendedUse": pack.intended_use, "limitations": list(pack.limitations),
        "codeSystems": {k: pack.system(k) for k in ("concept", "body-site", "attribute", "attribute-value", "diagnosis", "group")},
        "diagnoses": [
            {"id": d.id, "display": d.display, "group": {"code": d.group, "display": pack.groups[d.group]},
             "frequency": d.frequency, "codes": [c.as_fhir() for c in d.codes] + [
                 {"system": pack.system("diagnosis"), "code": d.id, "display": d.display}],
             "missingStandardCode": d.missing_standard_code}
            for d in pack.diagnoses.values()
        ],
        "vocabulary": {
            "findings": [{"id": c["id"], "kind": c["kind"], "codes": codings(c, concept_system),
                          "missingStandardCode": c.get("missing_standard_code")} for c in voc["concepts"]],
            "attributes": [{"id": a["id"], "display": a["display"], "cardinality": a["cardinality"],
                            "values": [{"code": v["id"], "display": v["display"]} for v in a["values"]]} for a in voc["attributes"]],
            "bodySites": [{"id": s["id"], "codes": codings(s, pack.system("body-site"))} for s in voc["body_sites"]],
            "labs": [{"id": x["id"], "unit": x["unit"], "codes": codings(x, concept_system)} for x in voc["labs"]],
        },
    }


@router.get("/knowledge", responses=responses_doc(200, "The loaded knowledge packs and the input vocabulary they understand."))
async def knowledge(catalog: CatalogDep) -> JSONResponse:
    """Loaded packs: id, version, diagnoses with codes and group, and the input vocabulary."""
    return JSONResponse({"packs": [pack_summary(p) for p in catalog.packs], "standardSystems": STANDARD_SYSTEMS})


@router.get("/schemas/findings-report", responses=responses_doc(200, "The findings schema, tightened to the loaded vocabularies."))
async def findings_schema(catalog: CatalogDep) -> JSONResponse:
    """The JSON Schema a findings document must satisfy here."""
    return JSONResponse(dict(catalog.findings_schema))


@router.get("/health", responses=responses_doc(200, "Ready: knowledge packs are loaded.", extra=(503,)))
async def health(request: Request) -> JSONResponse:
    """Ready only once knowledge packs are loaded."""
    catalog = getattr(request.app.state, "catalog", None)
    if catalog is None:
        return JSONResponse({"status": "starting"}, status_code=503)
    return JSONResponse({"status": "ready", "packs": [f"{p.id}@{p.version}" for p in catalog.packs]})


# HEAD wherever GET is (RFC 9110 §9.3.2: same status and headers, no body; uvicorn drops it). FastAPI routes answer only
# the methods they list, so HEAD /health was 405 although the README and the auth rules call it open.
# Added once each, kept out of the OpenAPI document (which would list every operation twice).
for _route in list(router.routes):
    if "GET" in getattr(_route, "methods", ()):
        router.add_api_route(_route.path, _route.endpoint, methods=["HEAD"], include_in_schema=False)  # type: ignore[attr-defined]
