"""The exchange shapes: a FHIR message for interface engines and a transaction a FHIR server applies as is."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from itertools import count
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B import get_fhir_model_class

from plugin import evaluate, terms
from plugin.api.app import create_app
from plugin.knowledge.catalog import Catalog
from plugin.settings import Settings
from tests.conftest import MINI_PACKS, mini_doc, sample_paths, values_of


def round_trip(resource: dict[str, Any]) -> dict[str, Any]:
    model = get_fhir_model_class(resource["resourceType"])
    return json.loads(model.model_validate(resource).model_dump_json())  # type: ignore[no-any-return]


def ids(prefix: str) -> Any:
    n = count(1)
    return lambda: f"{prefix}-0000-4000-8000-{next(n):012d}"


@pytest.mark.parametrize("path", sample_paths(), ids=lambda p: p.stem)
def test_message_header_first_focus_on_the_report_rest_as_the_bundle(path: Path, catalog: Catalog) -> None:
    document = json.loads(path.read_text(encoding="utf-8"))
    message = evaluate(document, catalog, shape="message", endpoint="https://ddx.example.org")
    assert round_trip(message) == message
    assert message["type"] == "message" and message["identifier"]["value"] == f"urn:uuid:{message['id']}"
    header = message["entry"][0]["resource"]
    assert header["resourceType"] == "MessageHeader"
    assert header["eventUri"] == terms.MESSAGE_EVENT
    assert header["source"]["endpoint"] == "https://ddx.example.org"
    urls = {e["fullUrl"]: e["resource"] for e in message["entry"]}
    assert len(urls) == len(message["entry"])
    assert urls[header["focus"][0]["reference"]]["resourceType"] == "DiagnosticReport"
    internal = [r for r in values_of(message, "reference") if r.startswith("urn:uuid:")]
    assert set(internal) <= set(urls)
    bundle = evaluate(document, catalog, shape="bundle", new_id=ids("00000000"), now=lambda: datetime(2026, 1, 1, tzinfo=UTC))
    again = evaluate(document, catalog, shape="message", new_id=ids("00000000"), now=lambda: datetime(2026, 1, 1, tzinfo=UTC))
    assert [e["resource"]["resourceType"] for e in again["entry"][1:]] == [e["resource"]["resourceType"] for e in bundle["entry"]]


@pytest.mark.parametrize("path", sample_paths(), ids=lambda p: p.stem)
def test_transaction_puts_every_entry_with_ids_from_the_report(path: Path, catalog: Catalog) -> None:
    document = json.loads(path.read_text(encoding="utf-8"))
    first = evaluate(document, catalog, shape="transaction", new_id=ids("00000000"), now=lambda: datetime(2026, 1, 1, tzinfo=UTC))
    second = evaluate(document, catalog, shape="transaction", new_id=ids("11111111"), now=lambda: datetime(2026, 2, 1, tzinfo=UTC))
    assert round_trip(first) == first and first["type"] == "transaction"
    for entry in first["entry"]:
        resource = entry["resource"]
        assert entry["request"] == {"method": "PUT", "url": f"{resource['resourceType']}/{resource['id']}"}
        assert entry["fullUrl"] == f"urn:uuid:{resource['id']}"
        assert round_trip(resource) == resource
    urls = [e["request"]["url"] for e in first["entry"]]
    assert len(urls) == len(set(urls))
    internal = [r for r in values_of(first, "reference") if r.startswith("urn:uuid:")]
    assert internal and set(internal) <= {e["fullUrl"] for e in first["entry"]}
    # Sent twice (other random ids, another time): the same resources are replaced, none is added.
    assert urls == [e["request"]["url"] for e in second["entry"]]
    assert not any(i.startswith(("00000000-", "11111111-")) for i in values_of(first, "id") if i != first["id"])


def test_transaction_ids_differ_between_reports(mini: Catalog) -> None:
    one = evaluate(mini_doc(), mini, shape="transaction")
    other_patient = mini_doc(patient={"age": {"value": 14, "unit": "a"}, "sex": "male", "subject": "Patient/p2"})
    two = evaluate(other_patient, mini, shape="transaction")
    assert not {e["request"]["url"] for e in one["entry"]} & {e["request"]["url"] for e in two["entry"]}
    anonymous = mini_doc(patient={"sex": "male"})
    changed = mini_doc(patient={"sex": "male"})
    changed["findings"][0]["status"] = "absent"
    urls = [{e["request"]["url"] for e in evaluate(d, mini, shape="transaction")["entry"]} for d in (anonymous, changed)]
    assert not urls[0] & urls[1]  # without a subject, two different reports never overwrite each other


def test_http_message_uses_the_configured_public_url() -> None:
    settings = Settings(mappings_dir=MINI_PACKS, public_url="https://ddx.example.org/api")
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        r = client.post("/evaluate?shape=message", json=mini_doc())
        assert r.status_code == 200, r.text
        assert r.json()["entry"][0]["resource"]["source"]["endpoint"] == "https://ddx.example.org/api"
        t = client.post("/evaluate?shape=transaction", json=mini_doc())
        assert t.status_code == 200 and t.json()["type"] == "transaction"
