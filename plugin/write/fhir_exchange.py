"""Result -> the two FHIR R4 Bundles for exchange with an EHR: a `message` for interface engines and a `transaction`
a FHIR server can apply as is. Both reuse the collection Bundle of fhir_r4.py and only re-wrap it.

* message: a MessageHeader first (event: the project's own eventUri; source.endpoint: the configured public URL;
  focus: the DiagnosticReport), then every entry of the collection Bundle.
* transaction: every entry with `request` PUT Type/id, where each id is a UUID v5 of the report's identity and the
  resource's role in it, so that sending the same report twice replaces what the first one wrote.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from plugin import terms as t
from plugin.model import Result
from plugin.version import __version__
from plugin.write.fhir_r4 import build_bundle

Json = dict[str, Any]


def build_message(result: Result, new_id: Callable[[], str], now: datetime, endpoint: str) -> Json:
    """A Bundle of type message: MessageHeader first, focus on the DiagnosticReport, then the collection's entries."""
    collection = build_bundle(result, new_id, now)
    entries: list[Json] = collection["entry"]
    report_url = entries[0]["fullUrl"]  # the DiagnosticReport is always first in the collection
    header_id = new_id()
    header: Json = {
        "resourceType": "MessageHeader", "id": header_id, "eventUri": t.MESSAGE_EVENT,
        "source": {"name": t.DEVICE_NAME, "software": t.DEVICE_NAME, "version": __version__, "endpoint": endpoint},
        "focus": [{"reference": report_url}],
    }
    bundle_id = collection["id"]
    return {
        "resourceType": "Bundle", "id": bundle_id,
        "identifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{bundle_id}"},
        "type": "message", "timestamp": collection["timestamp"],
        "entry": [{"fullUrl": f"urn:uuid:{header_id}", "resource": header}, *entries],
    }


def report_identity(result: Result) -> str:
    """What names one report across repeated sends: the subject, the studies (id and date) and the report codes;
    without a subject, the stated facts too (so two unrelated anonymous reports never overwrite each other)."""
    report = result.report
    studies = sorted({(f.study, f.date) for f in report.facts if f.study}, key=str)
    key: dict[str, Any] = {
        "subject": report.subject, "studies": studies, "study_date": report.study_date,
        "codes": sorted(f"{c.system}|{c.code}" for c in report.report_codings),
    }
    if report.subject is None or report.study_date is None:
        key["facts"] = [(f.kind.value, f.id, f.coding.system, f.coding.code, f.present) for f in report.facts]
        key["labs"] = [(x.id, x.coding.system, x.coding.code, x.raw_value) for x in report.labs]
    return json.dumps(key, sort_keys=True, separators=(",", ":"), default=str)


def _roles(result: Result) -> list[str]:
    """The role of every resource of the collection Bundle, in its order (see fhir_r4._Builder.resources)."""
    report = result.report
    roles = ["DiagnosticReport"]
    roles += [f"Observation/{f.kind.value}:{f.id}" for f in report.facts] + [f"Observation/lab:{x.id}" for x in report.labs]
    if result.candidates:
        roles.append("RiskAssessment")
        roles += [f"Condition/{c.pack_coding.system}|{c.pack_coding.code}" for c in result.candidates]
    if report.warnings:
        roles.append("OperationOutcome")
    return [*roles, "Provenance", "Device"]


def build_transaction(result: Result, new_id: Callable[[], str], now: datetime) -> Json:
    """A Bundle of type transaction: PUT on every entry, ids a UUID v5 of (report identity, role)."""
    collection = build_bundle(result, new_id, now)
    roles = _roles(result)
    entries: list[Json] = collection["entry"]
    if len(roles) != len(entries):  # a writer bug, never the input's fault
        raise AssertionError(f"transaction: {len(entries)} resources but {len(roles)} roles")
    namespace = uuid.uuid5(uuid.NAMESPACE_URL, f"{t.CANONICAL}/report/{hashlib.sha256(report_identity(result).encode()).hexdigest()}")
    new_ids = {e["resource"]["id"]: str(uuid.uuid5(namespace, role)) for e, role in zip(entries, roles, strict=True)}
    text = json.dumps(entries)
    for old, new in new_ids.items():  # ids are UUIDs: replacing them as strings cannot hit anything else
        text = text.replace(old, new)
    rewritten: list[Json] = json.loads(text)
    out = [
        {"fullUrl": e["fullUrl"], "resource": e["resource"],
         "request": {"method": "PUT", "url": f"{e['resource']['resourceType']}/{e['resource']['id']}"}}
        for e in rewritten
    ]
    return {"resourceType": "Bundle", "id": collection["id"], "type": "transaction", "timestamp": collection["timestamp"],
            "entry": out}
