"""CDS Hooks 2.0: discovery, one service per knowledge pack on the custom hook org.rad-ddx.diagnosticreport-review,
feedback (stored, committed before the answer) and the knowledge author's feedback summary."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from plugin import engine
from plugin.api.cds_request import HOOK, HOOK_CONTEXT, feedback_entries, request_problems
from plugin.api.deps import CatalogDep, DatabaseDep, SettingsDep
from plugin.api.openapi import CDS_FEEDBACK, CDS_REQUEST, body_doc, responses_doc
from plugin.api.request_body import check_accept, read_json
from plugin.api.responses import outcome_response, problem
from plugin.errors import InputInvalid, InputUnreadable, Issue, IssueType, Severity
from plugin.knowledge.catalog import Catalog
from plugin.store import feedback as store
from plugin.write import Stamp
from plugin.write.cds_card import cds_card

router = APIRouter(dependencies=[Depends(check_accept)], tags=["CDS Hooks"])
ID_NAMESPACE = uuid.UUID("5b7c1f3e-8d0a-4c55-9a57-2f0c1d7e9b12")  # uuid5 namespace of card, suggestion and resource ids


def _service(pack: Any) -> dict[str, Any]:
    context = " ".join(f"`{k}` ({'required' if req else 'optional'}): {text}" for k, (req, text) in HOOK_CONTEXT.items())
    return {
        "hook": HOOK, "id": pack.id, "title": f"Differential diagnosis: {pack.title}",
        "description": f"A ranked, explained differential diagnosis while the report is written. Scope: {pack.scope_statement} "
                       f"Context: {context}",
        "usageRequirements": pack.intended_use,
    }


def _pack_or_404(catalog: Catalog, service_id: str) -> Any:
    return next((p for p in catalog.packs if p.id == service_id), None)


def _ids(service_id: str, hook_instance: str) -> Callable[[], str]:
    """Ids derived from (service, hookInstance): the same hook call answered twice carries the same uuids."""
    counter = iter(range(1_000_000))
    return lambda: str(uuid.uuid5(ID_NAMESPACE, f"{service_id}\x00{hook_instance}\x00{next(counter)}"))


@router.get("/cds-services", summary="CDS Hooks discovery", responses=responses_doc(200, "The CDS services: one per knowledge pack."))
async def discovery(catalog: CatalogDep) -> JSONResponse:
    """One CDS service per knowledge pack."""
    return JSONResponse({"services": [_service(p) for p in catalog.packs]})


@router.post("/cds-services/{service_id}", summary="Call a CDS service", openapi_extra=body_doc(CDS_REQUEST),
             responses=responses_doc(200, '{"cards": [one card]}, or {"cards": []} when the report is out of scope.', post=True))
async def call(service_id: str, request: Request, catalog: CatalogDep, settings: SettingsDep, database: DatabaseDep) -> Response:
    """A CDS Hooks request (hook org.rad-ddx.diagnosticreport-review) -> {"cards": [one card]} or {"cards": []}."""
    if _pack_or_404(catalog, service_id) is None:
        return problem(404, IssueType.NOT_FOUND, "No such CDS service.")
    form, body = await read_json(request)
    if issues := request_problems(body):
        return outcome_response(400, issues)
    try:
        result = engine.result_of(body["context"]["findings"], catalog, settings.max_differential, form)
    except InputUnreadable:
        raise
    except InputInvalid as exc:
        raise InputInvalid([Issue(i.severity, i.code, i.message, "context.findings" + ("." + i.path if i.path else ""))
                            for i in exc.issues]) from None
    now = datetime.now(UTC)
    card = cds_card(result, service_id, Stamp(_ids(service_id, body["hookInstance"]), now), settings.public_url.rstrip("/") + "/docs")
    request.state.log = {"cards": int(card is not None)}
    if card is None:
        return JSONResponse({"cards": []})
    pack = next(p for p in result.packs if p.pack_id == service_id)
    issued = store.IssuedCard(card["uuid"], card["suggestions"][0]["uuid"], service_id, body["hookInstance"], card["indicator"], now, pack)
    await run_in_threadpool(store.record_card, database, issued)
    return JSONResponse({"cards": [card]})


@router.post("/cds-services/{service_id}/feedback", summary="Feedback on a card", openapi_extra=body_doc(CDS_FEEDBACK),
             responses=responses_doc(200, "Every entry stored (committed) against its card.", post=True))
async def feedback(service_id: str, request: Request, catalog: CatalogDep, database: DatabaseDep) -> Response:
    """Every entry stored against the card it answers, committed before this answers 200."""
    if _pack_or_404(catalog, service_id) is None:
        return problem(404, IssueType.NOT_FOUND, "No such CDS service.")
    _, body = await read_json(request)
    entries, issues = feedback_entries(body)
    if issues:
        return outcome_response(400, issues)
    try:
        await run_in_threadpool(store.record_feedback, database, service_id, entries, datetime.now(UTC))
    except store.UnknownCard as exc:
        return outcome_response(422, [Issue(Severity.ERROR, IssueType.NOT_FOUND, "This service issued no card with this uuid.",
                                            f"feedback[{exc.index}].card")])
    request.state.log = {"feedback": len(entries)}
    return JSONResponse({"stored": len(entries)})


@router.get("/cds-services/{service_id}/feedback/summary", summary="Feedback summary for knowledge authors",
            responses=responses_doc(200, "Accepted and overridden counts per diagnosis and per clue, with the override reasons."))
async def summary(service_id: str, catalog: CatalogDep, database: DatabaseDep) -> Response:
    """Accepted and overridden counts per diagnosis and per clue, with the override reasons."""
    if _pack_or_404(catalog, service_id) is None:
        return problem(404, IssueType.NOT_FOUND, "No such CDS service.")
    return JSONResponse(await run_in_threadpool(store.summary, database, service_id))
