"""The HTTP edge: strict JSON, sizes, media types, methods and paths, each refusal a FHIR OperationOutcome, never a 500."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from plugin.api.app import create_app
from plugin.settings import Settings
from tests.conftest import MINI_CONCEPT, MINI_PACKS, load_sample, mini_doc

FHIR_JSON = "application/fhir+json; fhirVersion=4.0"
JSON = {"content-type": "application/json"}
POSTS = ["/evaluate", "/validate"]
LIMIT = 2048


@pytest.fixture(scope="module")
def small_client() -> Iterator[TestClient]:
    """The mini pack behind a 2 KiB body limit."""
    with TestClient(create_app(Settings(mappings_dir=MINI_PACKS, max_body_bytes=LIMIT)), raise_server_exceptions=False) as c:
        yield c


def no_trace(text: str) -> None:
    assert "Traceback" not in text
    assert 'File "' not in text


def outcome(response: Any, status: int) -> dict[str, Any]:
    """Assert an error answer: the status, FHIR JSON, an OperationOutcome with an error, no stack trace."""
    no_trace(response.text)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == FHIR_JSON
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"]
    assert any(i["severity"] in ("error", "fatal") for i in body["issue"])
    for issue in body["issue"]:
        assert issue["code"] and issue["diagnostics"]
    return body  # type: ignore[no-any-return]


def post(client: TestClient, path: str, body: bytes, **headers: str) -> Any:
    return client.post(path, content=body, headers={**JSON, **headers})


# --- strict JSON: 400, or 422 for JSON that is not a findings document ---------------------------------------------

STRICT_CASES = {
    "duplicate-key": b'{"patient": {}, "patient": {}}',
    "duplicate-key-nested": json.dumps(mini_doc()).replace('"sex": "male"', '"sex": "male", "sex": "female"').encode(),
    "nan": b'{"patient": {"age": {"value": NaN, "unit": "a"}}}',
    "infinity": b'{"patient": {"age": {"value": Infinity, "unit": "a"}}}',
    "-infinity": b'{"patient": {"age": {"value": -Infinity, "unit": "a"}}}',
    "bad-utf8": b'{"patient": {"subject": "Patient/\xff\xfe"}}',
    "overlong-utf8": b'{"a": "\xc0\xaf"}',
    "utf16": json.dumps({"a": 1}).encode("utf-16"),
    "deep-arrays": b"[" * 100 + b"]" * 100,
    "deep-objects": b'{"a":' * 100 + b"1" + b"}" * 100,
    "truncated": json.dumps(mini_doc()).encode()[:-10],
    "trailing-garbage": b'{"patient": {}} x',
    "single-quotes": b"{'patient': {}}",
    "comment": b'{"patient": {}} // note',
}


@pytest.mark.parametrize("path", POSTS)
@pytest.mark.parametrize("case", list(STRICT_CASES))
def test_not_strict_json_is_400(mini_client: TestClient, path: str, case: str) -> None:
    outcome(post(mini_client, path, STRICT_CASES[case]), 400)


@pytest.mark.parametrize("path", POSTS)
def test_empty_body_is_400(mini_client: TestClient, path: str) -> None:
    outcome(post(mini_client, path, b""), 400)


@pytest.mark.parametrize("path", POSTS)
def test_empty_body_is_refused_as_an_outcome_not_a_500(mini_client: TestClient, path: str) -> None:
    r = post(mini_client, path, b"")
    assert r.status_code in (400, 422)
    assert outcome(r, r.status_code)["issue"][0]["severity"] == "error"


def test_nesting_at_the_limit_is_read_then_refused_as_not_a_document(mini_client: TestClient) -> None:
    at_limit = b"[" * 32 + b"]" * 32
    outcome(post(mini_client, "/evaluate", at_limit), 422)
    r = post(mini_client, "/validate", at_limit)
    assert r.status_code == 200 and [i["severity"] for i in r.json()["issue"]] == ["error"]
    outcome(post(mini_client, "/evaluate", b"[" + at_limit + b"]"), 400)


def test_json_that_is_not_an_object_is_422(mini_client: TestClient) -> None:
    for body in (b"[]", b'"text"', b"42", b"null", b"true"):
        body_json = outcome(post(mini_client, "/evaluate", body), 422)
        assert body_json["issue"][0]["code"] == "structure"


def test_json_that_is_not_an_object_is_reported_by_validate(mini_client: TestClient) -> None:
    r = post(mini_client, "/validate", b"[]")
    assert r.status_code == 200 and r.headers["content-type"] == FHIR_JSON
    assert [i["severity"] for i in r.json()["issue"]] == ["error"]


@pytest.mark.parametrize("field", ["note", "display"])
def test_lone_surrogate_escape_is_refused_not_a_500(mini_client: TestClient, field: str) -> None:
    doc = mini_doc()
    if field == "note":
        doc["findings"][0]["note"] = "left \ud800 hip"
    else:
        doc["findings"][0]["code"]["display"] = "Calcification \udc00"
    body = json.dumps(doc).encode()  # ensure_ascii: the surrogate is sent as the escape \ud800, i.e. valid UTF-8 bytes
    r = post(mini_client, "/evaluate", body)
    assert r.status_code in (400, 422)
    outcome(r, r.status_code)


# --- size: 413 before the body is read ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", POSTS)
def test_body_over_the_limit_with_content_length_is_413(small_client: TestClient, path: str) -> None:
    big = json.dumps(
        mini_doc(
            labs=[{"id": f"l{i}", "interpretation": "H", "code": {"system": "http://loinc.org", "code": "2777-1", "display": "P"}} for i in range(40)]
        )
    )
    assert len(big) > LIMIT
    body = outcome(post(small_client, path, big.encode()), 413)
    assert body["issue"][0]["code"] == "too-long"


def test_body_at_the_limit_is_read(small_client: TestClient) -> None:
    doc = json.dumps(mini_doc()).encode()
    body = doc + b" " * (LIMIT - len(doc))
    assert len(body) == LIMIT
    r = post(small_client, "/evaluate", body)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("path", POSTS)
def test_chunked_body_over_the_limit_is_413(small_client: TestClient, path: str) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(16):
            yield b" " * 512

    r = small_client.post(path, content=chunks(), headers=JSON)
    assert "content-length" not in r.request.headers
    outcome(r, 413)


def _raw_scope(path: str, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), (b"content-type", b"application/json"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }


def _drive(app: Any, scope: dict[str, Any], chunk: bytes, max_chunks: int) -> tuple[int, list[dict[str, Any]]]:
    """Call the ASGI app directly with a body fed one chunk per receive(); count how many chunks it pulled."""
    pulled = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        if pulled >= max_chunks:
            return {"type": "http.request", "body": b"", "more_body": False}
        pulled += 1
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def run() -> None:
        try:
            await app(scope, receive, send)
        except Exception:  # noqa: BLE001 - Starlette re-raises after answering 500; the answer is what is checked
            pass

    asyncio.run(run())
    return pulled, sent


def _status_and_body(sent: list[dict[str, Any]]) -> tuple[int, bytes]:
    start = next(m for m in sent if m["type"] == "http.response.start")
    headers = dict(start["headers"])
    assert headers[b"content-type"] == FHIR_JSON.encode()
    return start["status"], b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


def test_declared_length_over_the_limit_is_refused_without_reading_the_body(small_client: TestClient) -> None:
    scope = _raw_scope("/evaluate", [(b"content-length", str(10 * LIMIT).encode())])
    pulled, sent = _drive(small_client.app, scope, b" " * 1024, 1000)
    status, body = _status_and_body(sent)
    assert status == 413 and json.loads(body)["resourceType"] == "OperationOutcome"
    assert pulled == 0


def test_streamed_body_over_the_limit_is_refused_after_reading_at_most_the_limit(small_client: TestClient) -> None:
    # 1000 chunks of 1 KiB would be ~1 MB: the refusal must come after about LIMIT bytes, not after the whole body
    pulled, sent = _drive(small_client.app, _raw_scope("/evaluate", []), b" " * 1024, 1000)
    assert pulled <= LIMIT // 1024 + 2
    status, body = _status_and_body(sent)
    assert status == 413, body
    no_trace(body.decode())


# --- media types, methods, paths, parameters ----------------------------------------------------------------------


@pytest.mark.parametrize("path", POSTS)
@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "application/x-www-form-urlencoded", None])
def test_body_not_application_json_is_415(mini_client: TestClient, path: str, content_type: str | None) -> None:
    headers = {"content-type": content_type} if content_type else {}
    r = mini_client.post(path, content=json.dumps(mini_doc()).encode(), headers=headers)
    if content_type is None:
        assert "content-type" not in r.request.headers
    outcome(r, 415)


def test_application_json_with_charset_is_accepted(mini_client: TestClient) -> None:
    r = mini_client.post("/evaluate", content=json.dumps(mini_doc()).encode(), headers={"content-type": "application/json; charset=utf-8"})
    assert r.status_code == 200


@pytest.mark.parametrize("path", POSTS)
@pytest.mark.parametrize("accept", [
    "text/html", "application/xml, text/html;q=0.9",
    "application/fhir+json; fhirVersion=3.0", "application/fhir+json; fhirVersion=6.0", "application/json; fhirVersion=1.0",
    "application/fhir+json;q=0", "application/fhir+json;q=0, application/json;q=0", "text/*, */*;q=0", "not a media type",
])
def test_accept_nothing_we_produce_is_406(mini_client: TestClient, path: str, accept: str) -> None:
    outcome(mini_client.post(path, json=mini_doc(), headers={"accept": accept}), 406)


@pytest.mark.parametrize(
    "accept", ["application/fhir+json", "application/fhir+json; fhirVersion=4.0", "application/json", "*/*", "text/html, */*;q=0.1",
               'application/fhir+json; fhirVersion="4.0"', "application/fhir+json; fhirVersion=4.0.1",
               "application/fhir+json; fhirVersion=3.0, application/fhir+json; fhirVersion=4.0;q=0.5"]
)
def test_accept_something_we_produce(mini_client: TestClient, accept: str) -> None:
    r = mini_client.post("/evaluate", json=mini_doc(), headers={"accept": accept})
    assert r.status_code == 200 and r.headers["content-type"] == FHIR_JSON


def test_get_knowledge_with_accept_html_is_406(mini_client: TestClient) -> None:
    outcome(mini_client.get("/knowledge", headers={"accept": "text/html"}), 406)


@pytest.mark.parametrize(("method", "path"), [("GET", "/nowhere"), ("POST", "/nowhere"), ("GET", "/evaluate/extra"), ("POST", "/knowledge/x")])
def test_unknown_path_is_404(mini_client: TestClient, method: str, path: str) -> None:
    body = outcome(mini_client.request(method, path, headers=JSON, content=b"{}"), 404)
    assert body["issue"][0]["code"] == "not-found"


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("GET", "/evaluate", "POST"),
        ("PUT", "/validate", "POST"),
        ("DELETE", "/evaluate", "POST"),
        ("POST", "/knowledge", "GET"),
        ("POST", "/health", "GET"),
    ],
)
def test_wrong_method_is_405(mini_client: TestClient, method: str, path: str, allow: str) -> None:
    r = mini_client.request(method, path)
    outcome(r, 405)
    assert allow in r.headers["allow"]


@pytest.mark.parametrize("query", ["shape=wrong", "shape=", "shape=BUNDLE"])
def test_bad_shape_is_400(mini_client: TestClient, query: str) -> None:
    body = outcome(mini_client.post(f"/evaluate?{query}", json=mini_doc()), 400)
    assert body["issue"][0].get("expression") == ["shape"]


# --- the happy paths ----------------------------------------------------------------------------------------------


def test_evaluate_returns_a_bundle(mini_client: TestClient) -> None:
    r = mini_client.post("/evaluate", json=mini_doc())
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == FHIR_JSON
    bundle = r.json()
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "collection"
    assert bundle["entry"][0]["resource"]["resourceType"] == "DiagnosticReport"
    assert all(e["fullUrl"].startswith("urn:uuid:") for e in bundle["entry"])


def test_evaluate_bundle_shape_explicitly(mini_client: TestClient) -> None:
    r = mini_client.post("/evaluate?shape=bundle", json=mini_doc())
    assert r.status_code == 200 and r.json()["resourceType"] == "Bundle"


def test_evaluate_contained_shape(mini_client: TestClient) -> None:
    r = mini_client.post("/evaluate?shape=contained", json=mini_doc())
    assert r.status_code == 200 and r.headers["content-type"] == FHIR_JSON
    report = r.json()
    assert report["resourceType"] == "DiagnosticReport"
    assert report["contained"] and all("resourceType" in c for c in report["contained"])


def test_evaluate_with_a_known_system_but_unknown_code_warns_in_the_bundle(mini_client: TestClient) -> None:
    doc = mini_doc()
    doc["findings"].append(
        {"id": "f2", "study": "s1", "status": "present", "code": {"system": MINI_CONCEPT, "code": "no-such-concept", "display": "Unknown"}}
    )
    r = mini_client.post("/evaluate", json=doc)
    assert r.status_code == 200, r.text
    outcomes = [e["resource"] for e in r.json()["entry"] if e["resource"]["resourceType"] == "OperationOutcome"]
    assert len(outcomes) == 1
    issues = outcomes[0]["issue"]
    assert {i["severity"] for i in issues} == {"warning"}
    assert ["findings[1].code"] in [i.get("expression") for i in issues]


def test_evaluate_invalid_document_is_422_with_every_problem(mini_client: TestClient) -> None:
    doc = mini_doc()
    del doc["findings"][0]["status"]
    doc["findings"][0]["colour"] = "ZZMARKERZZ"
    doc["patient"]["sex"] = "ZZMARKERZZ"
    doc["studies"][0]["date"] = "ZZMARKERZZ"
    doc["findings"][0]["attributes"]["mineral"] = "ZZMARKERZZ"
    r = mini_client.post("/evaluate", json=doc)
    body = outcome(r, 422)
    assert "ZZMARKERZZ" not in r.text
    expressions = [e for i in body["issue"] for e in i.get("expression", [])]
    assert set(expressions) >= {"findings[0].status", "findings[0].colour", "patient.sex", "studies[0].date", "findings[0].attributes.mineral"}
    assert {i["severity"] for i in body["issue"]} == {"error"}
    codes = {i["expression"][0]: i["code"] for i in body["issue"]}
    assert codes["findings[0].status"] == "required"
    assert codes["findings[0].colour"] == "structure"
    assert codes["patient.sex"] == "code-invalid"
    assert codes["studies[0].date"] == "value"


def test_evaluate_rule_problems_are_422(mini_client: TestClient) -> None:
    doc = mini_doc()
    doc["findings"][0]["study"] = "s9"
    doc["patient"]["birthDate"] = "2010-01-01"
    doc["studies"].append({"id": "s1", "modality": "CT", "date": "2024-03-01"})
    body = outcome(mini_client.post("/evaluate", json=doc), 422)
    assert len(body["issue"]) >= 3


def test_validate_valid_document(mini_client: TestClient) -> None:
    r = mini_client.post("/validate", json=mini_doc())
    assert r.status_code == 200 and r.headers["content-type"] == FHIR_JSON
    body = r.json()
    assert body["resourceType"] == "OperationOutcome"
    assert len(body["issue"]) == 1 and body["issue"][0]["severity"] == "information"


def test_validate_invalid_document_is_200_with_error_issues(mini_client: TestClient) -> None:
    doc = mini_doc()
    del doc["findings"][0]["status"]
    doc["findings"][0]["colour"] = "red"
    doc["labs"] = [{"id": "l1", "code": {"system": "http://loinc.org", "code": "2777-1", "display": "P"}, "value": {"value": 1}}]
    r = mini_client.post("/validate", json=doc)
    assert r.status_code == 200 and r.headers["content-type"] == FHIR_JSON
    issues = r.json()["issue"]
    assert len(issues) >= 3 and {i["severity"] for i in issues} == {"error"}
    assert {e for i in issues for e in i["expression"]} >= {"findings[0].status", "findings[0].colour", "labs[0].value.unit"}


def test_validate_and_evaluate_agree_on_the_issues(mini_client: TestClient) -> None:
    doc = mini_doc()
    doc["labs"] = [{"id": "l1", "code": {"system": "http://loinc.org", "code": "2777-1", "display": "P"}, "value": {"value": 1, "unit": "U/L"}}]
    validated = mini_client.post("/validate", json=doc).json()["issue"]
    evaluated = outcome(mini_client.post("/evaluate", json=doc), 422)["issue"]
    assert validated == evaluated
    assert [i["expression"] for i in evaluated] == [["labs[0].value.unit"]]


def test_knowledge_lists_the_pack_and_its_vocabulary(mini_client: TestClient) -> None:
    r = mini_client.get("/knowledge")
    assert r.status_code == 200
    packs = r.json()["packs"]
    assert [(p["id"], p["version"]) for p in packs] == [("mini", "1.0.0")]
    pack = packs[0]
    diagnoses = {d["id"]: d for d in pack["diagnoses"]}
    assert set(diagnoses) == {"bone-former", "calcium-former"}
    assert diagnoses["calcium-former"]["group"]["code"] == "calcifying"
    assert {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "E83.52", "display": "Hypercalcemia"} in diagnoses["calcium-former"]["codes"]
    assert all(d["codes"] for d in diagnoses.values())
    voc = pack["vocabulary"]
    attributes = {a["id"]: a for a in voc["attributes"]}
    assert {v["code"] for v in attributes["mineral"]["values"]} == {"bone", "calcium"}
    assert attributes["mineral"]["cardinality"] == "one" and attributes["pattern"]["cardinality"] == "many"
    findings = {f["id"]: f for f in voc["findings"]}
    assert {"system": MINI_CONCEPT, "code": "calcification", "display": "Calcification"} in findings["calcification"]["codes"]
    labs = {x["id"]: x for x in voc["labs"]}
    assert labs["phosphate"]["unit"] == "mg/dL"
    assert any(c["system"] == "http://loinc.org" and c["code"] == "2777-1" for c in labs["phosphate"]["codes"])


def test_findings_schema_endpoint_is_the_tightened_schema(mini_client: TestClient) -> None:
    r = mini_client.get("/schemas/findings-report")
    assert r.status_code == 200
    attributes = r.json()["$defs"]["attributes"]
    assert set(attributes["properties"]) == {"mineral", "pattern"}
    assert attributes["additionalProperties"] is False


def test_health_is_ready_with_the_pack(mini_client: TestClient) -> None:
    r = mini_client.get("/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ready"
    assert any(p.startswith("mini") for p in body["packs"])


def test_sane_request_id_is_echoed(mini_client: TestClient) -> None:
    for path, method in (("/evaluate", "POST"), ("/health", "GET"), ("/nowhere", "GET")):
        r = mini_client.request(method, path, json=mini_doc() if method == "POST" else None, headers={"x-request-id": "abc-123-XYZ"})
        assert r.headers["x-request-id"] == "abc-123-XYZ"


@pytest.mark.parametrize("request_id", ["has space", "semi;colon", "x" * 65, "<script>"])
def test_insane_request_id_is_replaced(mini_client: TestClient, request_id: str) -> None:
    r = mini_client.get("/health", headers={"x-request-id": request_id})
    assert r.headers["x-request-id"] != request_id
    assert 0 < len(r.headers["x-request-id"]) <= 64


def test_request_id_is_made_when_none_is_sent(mini_client: TestClient) -> None:
    a = mini_client.get("/health").headers["x-request-id"]
    b = mini_client.get("/health").headers["x-request-id"]
    assert a and b and a != b


def test_one_shipped_sample_through_evaluate(client: TestClient) -> None:
    r = client.post("/evaluate", json=load_sample("001-vm-forearm-phleboliths-mri"))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == FHIR_JSON
    assert r.json()["entry"][0]["resource"]["resourceType"] == "DiagnosticReport"


@pytest.mark.parametrize("path", ["/health", "/knowledge", "/schemas/findings-report"])
def test_head_is_answered_wherever_get_is(mini_client: TestClient, path: str) -> None:
    """HEAD /health was 405, though the README and the auth rules call it open (RFC 9110: HEAD wherever GET)."""
    r = mini_client.head(path)
    assert r.status_code == 200
    assert r.headers["content-type"] == mini_client.get(path).headers["content-type"]


@pytest.mark.parametrize("path", ["/health/", "/knowledge/", "/evaluate/"])
def test_a_trailing_slash_is_not_redirected_to_the_host_sent(mini_client: TestClient, path: str) -> None:
    """The redirect's Location was built from the Host header (with auth off: an open redirect)."""
    r = mini_client.request("POST" if path == "/evaluate/" else "GET", path, headers={"host": "evil.example"},
                            json=mini_doc(), follow_redirects=False)
    assert r.status_code == 404
    assert "location" not in r.headers and "evil.example" not in r.text


def test_an_integer_beyond_64_bits_is_a_value_problem_at_its_path(mini_client: TestClient) -> None:
    """It was refused as 'an unpaired UTF-16 surrogate' (orjson's reason for not writing it, misread)."""
    body = json.dumps(mini_doc()).replace('"findings": [{', '"findings": [{"count": 123456789012345678901234567890, ', 1).encode()
    answer = outcome(post(mini_client, "/evaluate", body), 422)
    assert [(i["expression"], i["code"]) for i in answer["issue"]] == [(["findings[0].count"], "value")]
    assert "surrogate" not in answer["issue"][0]["diagnostics"]


def test_lower_case_log_level_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DDX_LOG_LEVEL", "debug")
    assert Settings().log_level == "DEBUG"
