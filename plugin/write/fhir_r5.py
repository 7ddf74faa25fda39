"""Any R4 output form -> FHIR R5 (5.0.0), respecting what changed between the two for the resources we write.

* Condition: clinicalStatus is required (terms.CLINICAL_ACTIVE, see there why `active`); evidence is a CodeableReference
  list ({"reference": ...} per R4 evidence.detail).
* Device: deviceName -> name, whose type is a required binding without manufacturer-name (terms.DEVICE_NAME_TYPE_R5).
* DiagnosticReport: imagingStudy -> study; conclusion is markdown (characters markdown would interpret are escaped);
  supportingInfo may not point at Condition or RiskAssessment, so those links stay the R4 extensions they already are.
* MessageHeader: eventUri -> eventCoding (the project's own message-event code system); source.endpoint -> endpointUrl.
tests/fhir/test_r5.py proves each output equals what the R5 models of fhir.resources make of it.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from plugin import terms as t

Json = dict[str, Any]
MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+\-!|])")


def _condition(r: Json) -> Json:
    out: Json = {}
    for key, value in r.items():
        if key == "verificationStatus":
            out["clinicalStatus"] = {"coding": [dict(t.CLINICAL_ACTIVE)]}
        if key == "evidence":
            value = [{"reference": d} for e in value for d in e.get("detail", [])]
        out[key] = value
    return out


def _device(r: Json) -> Json:
    out = {k: v for k, v in r.items() if k != "deviceName"}
    if "deviceName" in r:
        names = [{"value": n["name"], "type": t.DEVICE_NAME_TYPE_R5} for n in r["deviceName"]]
        out = {k: v for k, v in out.items() if k in ("resourceType", "id", "meta")} | {"name": names} | {
            k: v for k, v in out.items() if k not in ("resourceType", "id", "meta")}
    return out


def _report(r: Json) -> Json:
    out: Json = {}
    for key, value in r.items():
        if key == "imagingStudy":
            key = "study"
        if key == "conclusion":
            value = MARKDOWN_SPECIAL.sub(r"\\\1", value)
        out[key] = value
    return out


def _header(r: Json) -> Json:
    out: Json = {}
    for key, value in r.items():
        if key == "eventUri":
            key, value = "eventCoding", dict(t.MESSAGE_EVENT_CODE)
        if key == "source":
            value = {("endpointUrl" if k == "endpoint" else k): v for k, v in value.items()}
        out[key] = value
    return out


CONVERT = {"Condition": _condition, "Device": _device, "DiagnosticReport": _report, "MessageHeader": _header}


def resource_to_r5(r: Json) -> Json:
    out = CONVERT.get(r.get("resourceType", ""), lambda x: x)(r)
    if "contained" in out:
        out["contained"] = [resource_to_r5(c) for c in out["contained"]]
    if out.get("resourceType") == "Bundle":
        out["entry"] = [e | {"resource": resource_to_r5(e["resource"])} if "resource" in e else e for e in out["entry"]]
    return out


def to_r5(output: Json) -> Json:
    """The R5 form of one R4 output (Bundle of any type, contained DiagnosticReport, OperationOutcome)."""
    return resource_to_r5(copy.deepcopy(output))
