"""Bounded API fuzzing with schemathesis against the service's own OpenAPI document (in process, over ASGI).

Runs over the operations of `create_app(Settings())` (the shipped packs), no network:

* positive: schema-conforming requests (explicit examples + Hypothesis fuzzing) on every operation. Bodies
  schemathesis generates from the schema alone almost never pass the cross-field rules (unknown code systems,
  dangling study ids), so a `map_body` hook repairs them into documents the packs understand, keeping the
  generated free text, numbers, dates and structure: POST /evaluate then really evaluates and must answer 200
  with FHIR that fhir.resources accepts;
* negative: schema-breaking requests on POST /evaluate and POST /validate (the deterministic coverage cases
  plus Hypothesis fuzzing). `shape` is pinned to a valid value so the body, not only the query, is broken.

Every response must: not be a 5xx; carry a status the OpenAPI document declares; have the declared content
type; match the declared response schema. Negative bodies must be refused by POST /evaluate (4xx) and reported
with error issues by POST /validate (which answers 200 with an OperationOutcome by design).

Bounded and deterministic for CI: DDX_FUZZ_EXAMPLES (default 30) Hypothesis examples per operation and run,
derandomized (DDX_FUZZ_RANDOM=1 for fresh random inputs). Long runs: docs/fuzzing.md. The counts (inputs tried
by status, failing inputs) are printed at the end of the module (run with -n 0: xdist workers print nowhere).
"""

from __future__ import annotations

import itertools
import json
import os
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fhir.resources.R4B import get_fhir_model_class
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.parameters import ParameterLocation

from plugin import load_knowledge, units
from plugin.api.app import create_app
from plugin.knowledge.catalog import Catalog
from plugin.read import check as validate
from plugin.settings import Settings
from tests.cds.conformance import response_problems
from tests.conftest import values_of
from tests.strategies import LOINC, views
from tests.test_text_safety import R4_STRING, rendered_text, values_of_list

EXAMPLES = int(os.environ.get("DDX_FUZZ_EXAMPLES", "30"))
RANDOM = os.environ.get("DDX_FUZZ_RANDOM", "") not in ("", "0")


@schemathesis.check
def fhir_text_is_plain_and_valid(ctx: Any, response: Any, case: Any) -> bool | None:
    """Request text in a FHIR answer: markdown (note.text) renders as plain text; displays, texts and issue expressions
    match R4's string regex as ECMA-262 reads it; no valueInteger is written as a decimal."""
    if not response.content or not response.content.startswith(b"{"):
        return None
    raw = response.content
    assert not re.search(rb'"valueInteger":-?[0-9]+[.eE]', raw), "a valueInteger written as a decimal"
    body = json.loads(raw)
    for note in (n["text"] for notes in values_of_list(body, "note") for n in notes if isinstance(n, dict)):
        tags, _ = rendered_text(note)
        assert tags <= {"p"}, f"note renders as markup: {note!r}"
    strings = [*values_of(body, "display"), *values_of(body, "text"), *(e for es in values_of_list(body, "expression") for e in es)]
    for value in strings:
        assert value.startswith("<div") or R4_STRING.fullmatch(value), f"not a valid FHIR string: {value!r}"
    return None


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          fhir_text_is_plain_and_valid]
# Accept headers a FHIR client sends, all acceptable; the refused ones (other fhirVersion, q=0) are in test_http.py.
ACCEPTS = itertools.cycle(["application/fhir+json; fhirVersion=4.0", "application/fhir+json", "application/json", "*/*",
                           "application/fhir+json; fhirVersion=3.0, */*;q=0.1", None])

TRIED: defaultdict[str, Counter[tuple[str, int]]] = defaultdict(Counter)  # run -> (operation, status) -> inputs
FAILED: defaultdict[str, Counter[str]] = defaultdict(Counter)  # run -> operation -> failing inputs


# --- repairing generated bodies into documents the packs understand -----------------------------------------

def _pick(options: list[dict[str, str]], seed: Any) -> dict[str, str]:
    return options[len(json.dumps(seed, sort_keys=True, default=str)) % len(options)]


def _recode(coding: dict[str, Any], options: list[dict[str, str]]) -> None:
    """A known system and code; the generated display is kept (it is free text)."""
    chosen = _pick(options, coding)
    coding["system"], coding["code"] = chosen["system"], chosen["code"]


def repair(body: Any, catalog: Catalog) -> Any:
    """Make a schema-valid generated document pass the cross-field rules too, staying schema-valid."""
    if isinstance(body, dict) and isinstance(body.get("context"), dict) and "findings" in body["context"]:  # a CDS Hooks call
        body["context"]["findings"] = repair(body["context"]["findings"], catalog)
        return body
    if not isinstance(body, dict) or not {"patient", "studies", "findings"} <= set(body):
        return body
    packs = views(catalog)
    findings = [c for v in packs for c in v.findings]
    scope = [c for v in packs for c in v.scope] or findings
    history = [c for v in packs for c in v.history]
    sites = [c for v in packs for c in v.sites]
    labs = [lab for v in packs for lab in v.labs]

    for listname in ("studies", "findings", "history", "labs"):
        for i, item in enumerate(body.get(listname, [])):
            item["id"] = f"{listname[0]}{i}"
    latest = max(s["date"] for s in body["studies"])
    for s in body["studies"]:  # a work-up spans weeks, not the centuries generated dates may
        if (date.fromisoformat(latest) - date.fromisoformat(s["date"])).days > 3650:
            s["date"] = latest
    first = min(s["date"] for s in body["studies"])
    for i, f in enumerate(body["findings"]):
        f["study"] = body["studies"][i % len(body["studies"])]["id"]
        _recode(f["code"], scope if i == 0 else findings)
        if i == 0:
            f["status"] = "present"  # in scope, so the rules run
        if "bodySite" in f:
            _recode(f["bodySite"], sites)
    for h in body.get("history", []):
        _recode(h["code"], history)
        if "onsetDate" in h:
            h.pop("onsetBeforeStudy", None)
        if h.get("onsetDate", "") > latest:
            h["onsetDate"] = latest
    for x in body.get("labs", []):
        lab = labs[len(json.dumps(x, sort_keys=True)) % len(labs)]
        x["code"] = dict(lab.coding, display=x["code"]["display"])
        if "value" in x:
            x["value"]["unit"] = lab.unit
            rng = x.get("referenceRange", {})
            if lab.maximum is not None:  # the pack's plausible maximum: above it is a unit mix-up, refused
                x["value"]["value"] = min(x["value"]["value"], lab.maximum)
                rng.update({k: min(v, lab.maximum) for k, v in rng.items()})
            if "low" in rng and "high" in rng and rng["low"] > rng["high"]:
                rng["low"], rng["high"] = rng["high"], rng["low"]
        else:
            x.pop("referenceRange", None)
            x.setdefault("interpretation", "N")
    for c in body.get("reportCode", []):
        c["system"] = LOINC

    patient = body["patient"]
    if "age" in patient:
        patient.pop("birthDate", None)
        if units.to_days(patient["age"]["value"], patient["age"]["unit"]) > units.to_days(130, "a"):
            patient["age"] = {"value": 10, "unit": "a"}
    elif "birthDate" in patient:
        if patient["birthDate"] > first or (date.fromisoformat(latest) - date.fromisoformat(patient["birthDate"])).days > 40000:
            patient["birthDate"] = first
    return body


# --- fixtures: the app and two schemathesis views of its OpenAPI document ----------------------------------

@pytest.fixture(scope="module")
def app() -> FastAPI:
    return create_app(Settings())


@pytest.fixture(scope="module")
def knowledge() -> Catalog:
    return load_knowledge()


def load(app: FastAPI, mode: GenerationMode, phases: list[str]) -> Any:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    schema.config.generation.update(modes=[mode], max_examples=EXAMPLES, deterministic=not RANDOM)
    schema.config.phases.update(phases=phases)
    return schema


@pytest.fixture(scope="module")
def positive_schema(app: FastAPI, knowledge: Catalog) -> Any:
    schema = load(app, GenerationMode.POSITIVE, ["examples", "fuzzing"])

    def map_body(context: Any, body: Any) -> Any:
        return repair(body, knowledge)

    def map_headers(context: Any, headers: Any) -> Any:
        accept = next(ACCEPTS)
        return headers if accept is None else {**(headers or {}), "accept": accept}

    schema.hook(map_body)
    schema.hook(map_headers)
    return schema


@pytest.fixture(scope="module")
def negative_schema(app: FastAPI) -> Any:
    schema = load(app, GenerationMode.NEGATIVE, ["coverage", "fuzzing"])
    schema.config.update(parameters={"shape": "bundle"})
    return schema


@pytest.fixture(scope="module", autouse=True)
def report(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    lines = ["", "API fuzzing (schemathesis): inputs tried, by operation and status; failing inputs"]
    for run in sorted(TRIED):
        for op in sorted({op for op, _ in TRIED[run]}):
            statuses = {s: n for (o, s), n in sorted(TRIED[run].items()) if o == op}
            lines.append(f"  {run:8} {op:32} tried {sum(statuses.values()):5}  by status {statuses}  failing {FAILED[run][op]}")
    total, failing = sum(sum(c.values()) for c in TRIED.values()), sum(sum(c.values()) for c in FAILED.values())
    lines.append(f"  total: {total} inputs tried, {failing} failing")
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print("\n".join(lines))


def exercise(run: str, case: Any, checks: list[Any]) -> Any:
    response = case.call()
    TRIED[run][(case.operation.label, response.status_code)] += 1
    try:
        case.validate_response(response, checks=checks)
    except BaseException:
        FAILED[run][case.operation.label] += 1
        raise
    return response


def fhir_round_trips(resource: dict[str, Any]) -> bool:
    model = get_fhir_model_class(resource["resourceType"])
    return json.loads(model.model_validate(resource).model_dump_json()) == resource  # type: ignore[no-any-return]


positive = schemathesis.pytest.from_fixture("positive_schema")
negative = schemathesis.pytest.from_fixture("negative_schema").include(method="POST")


@positive.parametrize()
def test_positive_requests_get_declared_answers(case: Any, knowledge: Catalog) -> None:
    response = exercise("positive", case, CHECKS)
    if case.operation.method.upper() != "POST" or not isinstance(case.body, dict):
        return
    try:
        valid = not validate.check(case.body, knowledge)
        if valid and case.operation.path == "/evaluate":
            assert response.status_code == 200, response.text
            body = response.json()
            resources = [e["resource"] for e in body["entry"]] if body["resourceType"] == "Bundle" else [body]
            assert all(fhir_round_trips(r) for r in resources), "the FHIR output does not round-trip through fhir.resources"
        findings = case.body.get("context", {}).get("findings") if isinstance(case.body.get("context"), dict) else None
        if case.operation.path == "/cds-services/{service_id}" and findings is not None and not validate.check(findings, knowledge):
            assert response.status_code in (200, 400), response.text  # 400: an envelope field the service refuses (blank userId)
            if response.status_code == 200:
                assert response_problems(response.json()) == [], response.text
        if valid and case.operation.path == "/validate":
            assert response.json()["issue"][0]["severity"] == "information", response.text
    except BaseException:
        FAILED["positive"][case.operation.label] += 1
        raise


@negative.parametrize()
def test_negative_requests_are_refused_with_declared_answers(case: Any) -> None:
    body = case.meta.components.get(ParameterLocation.BODY) if case.meta else None
    if case.operation.path == "/validate":
        response = exercise("negative", case, CHECKS)
        if response.status_code == 200 and body is not None and body.mode.is_negative:
            if response.json()["issue"][0]["severity"] != "error":
                FAILED["negative"][case.operation.label] += 1
                pytest.fail(f"POST /validate called a schema-breaking body valid: {case.body!r}")
    else:
        exercise("negative", case, [*CHECKS, negative_data_rejection])
