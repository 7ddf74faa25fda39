"""Property-based tests of the domain core: for any document tests/strategies.py draws from a pack's vocabulary.

Each property runs against the shipped packs and the mini test pack (one also against both loaded together).
Bounded for CI (a few hundred examples, about half a minute in all) and DERANDOMIZED: Hypothesis derives the
examples from the test itself, so every run (local or CI) tries the same inputs and a failure reproduces by
re-running. For a longer, random exploration see docs/fuzzing.md:

    DDX_PROPERTY_EXAMPLES=2000 DDX_PROPERTY_RANDOM=1 python -m pytest tests/test_properties.py --hypothesis-show-statistics
"""

from __future__ import annotations

import copy
import itertools
import json
import os
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B import get_fhir_model_class
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plugin import engine, load_knowledge, paths, terms
from plugin.decide import DEFAULT_MAX_DIFFERENTIAL
from plugin.engine import evaluate
from plugin.knowledge.catalog import Catalog
from plugin.read import check as validate
from plugin.write.outcome import operation_outcome
from tests.conftest import MINI_PACKS, mini_doc, values_of
from tests.fhir.invariants import dom3_unreferenced
from tests.strategies import findings_documents, invalid_documents, scope_concepts, unreadable_bodies
from tests.test_text_safety import R4_STRING, rendered_text, values_of_list

RANDOM = os.environ.get("DDX_PROPERTY_RANDOM", "") not in ("", "0")


def bounded(default: int) -> Callable[[Any], Any]:
    """Hypothesis settings for one property: `default` examples (DDX_PROPERTY_EXAMPLES overrides), no deadline."""
    return settings(
        max_examples=int(os.environ.get("DDX_PROPERTY_EXAMPLES", default)),
        deadline=None,
        derandomize=not RANDOM,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


@dataclass(frozen=True)
class World:
    name: str
    catalog: Catalog
    client: TestClient


@pytest.fixture(scope="module", params=["shipped", "mini"])
def world(request: pytest.FixtureRequest) -> World:
    shipped = request.param == "shipped"
    return World(request.param, request.getfixturevalue("catalog" if shipped else "mini"),
                 request.getfixturevalue("client" if shipped else "mini_client"))


NOW = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


def counter_ids() -> Callable[[], str]:
    n = itertools.count(1)
    return lambda: str(uuid.UUID(int=next(n)))


def run(doc: Any, world: World, shape: str = "bundle", max_items: int = DEFAULT_MAX_DIFFERENTIAL) -> dict[str, Any]:
    return evaluate(doc, world.catalog, shape, max_items=max_items, new_id=counter_ids(), now=lambda: NOW)  # type: ignore[arg-type]


def round_trip(resource: dict[str, Any]) -> dict[str, Any]:
    model = get_fhir_model_class(resource["resourceType"])
    return json.loads(model.model_validate(resource).model_dump_json())  # type: ignore[no-any-return]


def references(node: Any) -> Iterator[str]:
    return values_of(node, "reference")


def resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def simple_scope(node: Mapping[str, Any]) -> bool:
    """A scope predicate that is only 'one of these findings stated present' (so an oracle can decide it)."""
    ((op, arg),) = node.items()
    if op == "any":
        return all(simple_scope(n) for n in arg)
    return op == "finding" and set(arg) <= {"concept", "status"} and arg.get("status", "present") == "present"


def expected_scope(doc: Mapping[str, Any], catalog: Catalog) -> dict[str, bool]:
    """Independent of the predicate engine: which packs a document is in scope of, for simple scope predicates."""
    out = {}
    for pack in catalog.packs:
        when = pack.raw["manifest"]["scope"]["when"]
        if not simple_scope(when):
            continue
        wanted = scope_concepts(when)
        out[pack.id] = any(
            f["status"] == "present" and (hit := catalog.codes.get((f["code"]["system"], f["code"]["code"]))) is not None
            and hit[1] == "concept" and hit[2] in wanted
            for f in doc["findings"]
        )
    return out


def expected_warnings(doc: Mapping[str, Any], catalog: Catalog) -> set[str]:
    """Paths of every code no loaded pack knows in the role it is used in."""
    def unknown(coding: Mapping[str, str], kind: str) -> bool:
        hit = catalog.codes.get((coding["system"], coding["code"]))
        return hit is None or hit[1] != kind

    paths = set()
    for i, f in enumerate(doc["findings"]):
        if unknown(f["code"], "concept"):
            paths.add(f"findings[{i}].code")
        if "bodySite" in f and unknown(f["bodySite"], "site"):
            paths.add(f"findings[{i}].bodySite")
    paths |= {f"history[{i}].code" for i, h in enumerate(doc.get("history", [])) if unknown(h["code"], "concept")}
    paths |= {f"labs[{i}].code" for i, x in enumerate(doc.get("labs", [])) if unknown(x["code"], "lab")}
    return paths


# --- valid documents -------------------------------------------------------------------------------------

@bounded(100)
@given(data=st.data())
def test_drawn_documents_pass_validation(world: World, data: st.DataObject) -> None:
    doc = data.draw(findings_documents(world.catalog), label="document")
    assert validate.check(doc, world.catalog) == []


@bounded(120)
@given(data=st.data(), max_items=st.integers(1, 8))
def test_evaluation_is_deterministic_ranked_and_bounded(world: World, data: st.DataObject, max_items: int) -> None:
    doc = data.draw(findings_documents(world.catalog), label="document")
    before = copy.deepcopy(doc)
    result = engine.result_of(doc, world.catalog, max_items)
    assert doc == before, "evaluation changed its input"

    # deterministic: the same input, ids and clock give byte-identical output, in both shapes
    first = run(doc, world, max_items=max_items)
    assert orjson.dumps(first) == orjson.dumps(run(doc, world, max_items=max_items))
    contained = run(doc, world, "contained", max_items)
    assert contained == run(doc, world, "contained", max_items)

    for section in result.packs:
        dx = [c.diagnosis_id for c in section.candidates]
        assert len(dx) == len(set(dx)), f"a diagnosis ranked twice: {dx}"
        assert [c.rank for c in section.candidates] == list(range(1, len(dx) + 1))
        assert len(dx) <= max_items
        assert [c.score for c in section.candidates] == sorted((c.score for c in section.candidates), reverse=True)
        assert not set(dx) & {d for d, _ in section.excluded}, "an excluded diagnosis is ranked"
        if not section.in_scope:
            assert not section.candidates

    oracle = expected_scope(doc, world.catalog)
    assert {p.pack_id: p.in_scope for p in result.packs if p.pack_id in oracle} == oracle

    risk, conditions = resources(first, "RiskAssessment"), resources(first, "Condition")
    if not result.in_scope:
        assert not risk and not conditions
        assert not [r for r in contained["contained"] if r["resourceType"] in ("RiskAssessment", "Condition")]
    assert len(conditions) == len(result.candidates)
    outcomes = [json.dumps(c["code"], sort_keys=True) for c in conditions]
    assert len(outcomes) == len(set(outcomes)), "a diagnosis has two Conditions"
    for ra in risk:
        ranks = [next(x["valueInteger"] for x in p["extension"] if x["url"] == terms.EXT_RANK) for p in ra.get("prediction", [])]
        assert sorted(ranks) == sorted(c.rank for c in result.candidates)

    report = first["entry"][0]["resource"]
    assert report["resourceType"] == "DiagnosticReport"
    assert len(report["result"]) == len(doc["findings"])
    warned = {e for oo in resources(first, "OperationOutcome") for i in oo["issue"] for e in i.get("expression", [])}
    assert warned == expected_warnings(doc, world.catalog)


@bounded(80)
@given(data=st.data())
def test_fhir_output_parses_round_trips_and_resolves(world: World, data: st.DataObject) -> None:
    doc = data.draw(findings_documents(world.catalog), label="document")
    bundle = run(doc, world)
    full_urls = [e["fullUrl"] for e in bundle["entry"]]
    assert len(full_urls) == len(set(full_urls))
    for entry in bundle["entry"]:
        assert entry["fullUrl"] == f"urn:uuid:{entry['resource']['id']}"
        assert round_trip(entry["resource"]) == entry["resource"]
    internal = [r for r in references(bundle) if r.startswith("urn:uuid:")]
    assert internal and set(internal) <= set(full_urls)

    contained = run(doc, world, "contained")
    assert round_trip(contained) == contained
    local = {"#"} | {"#" + r["id"] for r in contained["contained"]}
    assert {r for r in references(contained) if r.startswith("#")} <= local
    assert not dom3_unreferenced(contained), "dom-3: a contained resource nothing refers to"
    assert not [r for r in references(contained) if r.startswith("urn:")]


# Free text as senders type it and as attackers do: any printable character, bidi controls, odd white space, markup.
_LINE_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")), min_size=1, max_size=60)
_HOSTILE = st.sampled_from(["<img src=x onerror=alert(1)>", "[x](javascript:alert(1))", "![](https://e.example/p.png)",
                            "a\u202eb", "\ufeffx", "x\u00a0y", "x\u2028y", "**b** `c`", "    code"])


@bounded(80)
@given(data=st.data())
def test_output_text_is_valid_fhir_text(world: World, data: st.DataObject) -> None:
    """Request text in the output: notes render as plain text, every string matches R4's string regex (ECMA-262 \\s),
    every valueInteger is an integer in the JSON text."""
    doc = data.draw(findings_documents(world.catalog), label="document")
    for f in doc["findings"]:
        f["note"] = data.draw(st.one_of(_LINE_TEXT, _HOSTILE), label="note")
        f["code"]["display"] = data.draw(st.one_of(_LINE_TEXT, _HOSTILE), label="display")
    bundle = run(doc, world)
    raw = orjson.dumps(bundle)
    assert not re.search(rb'"valueInteger":-?[0-9]+[.eE]', raw)
    for entry in bundle["entry"]:
        for note in (n["text"] for notes in values_of_list(entry["resource"], "note") for n in notes):
            tags, _ = rendered_text(note)
            assert tags <= {"p"}, note
        for key in ("display", "text"):
            for value in values_of(entry["resource"], key):
                if key == "text" and value.startswith("<div"):
                    continue
                assert R4_STRING.fullmatch(value), (key, value)


@bounded(40)
@given(data=st.data())
def test_api_accepts_every_drawn_document(world: World, data: st.DataObject) -> None:
    doc = data.draw(findings_documents(world.catalog), label="document")
    answer = world.client.post("/evaluate", content=json.dumps(doc), headers={"content-type": "application/json"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/fhir+json")
    body = answer.json()
    assert body["resourceType"] == "Bundle"
    assert len(body["entry"]) == len(run(doc, world)["entry"])


@pytest.fixture(scope="module")
def two_packs(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    """The shipped packs and the mini pack loaded together: they share a RadLex body-site code and a LOINC lab code."""
    folder = tmp_path_factory.mktemp("mappings")
    for pack in [*sorted(paths.MAPPINGS_DIR.glob("*/pack.yaml")), MINI_PACKS / "mini" / "pack.yaml"]:
        (folder / pack.parent.name).symlink_to(pack.parent, target_is_directory=True)
    return load_knowledge(folder)


@bounded(30)
@given(data=st.data())
def test_two_packs_evaluate_side_by_side(two_packs: Catalog, data: st.DataObject) -> None:
    doc = data.draw(findings_documents(two_packs), label="document")
    result = engine.result_of(doc, two_packs)
    assert {p.pack_id: p.in_scope for p in result.packs} == expected_scope(doc, two_packs)
    for section in result.packs:
        assert [c.rank for c in section.candidates] == list(range(1, len(section.candidates) + 1))
    world = World("two", two_packs, None)  # type: ignore[arg-type]
    bundle = run(doc, world)
    assert all(round_trip(e["resource"]) == e["resource"] for e in bundle["entry"])
    assert {r for r in references(bundle) if r.startswith("urn:")} <= {e["fullUrl"] for e in bundle["entry"]}
    warned = {e for oo in resources(bundle, "OperationOutcome") for i in oo["issue"] for e in i.get("expression", [])}
    assert warned == expected_warnings(doc, two_packs)


# --- invalid documents -----------------------------------------------------------------------------------

@bounded(120)
@given(data=st.data())
def test_invalid_documents_are_rejected_with_422(world: World, data: st.DataObject) -> None:
    doc = data.draw(invalid_documents(world.catalog), label="document")
    issues = validate.check(doc, world.catalog)
    assert issues, "the mutation was not caught by validation"
    assert all(i.severity == "error" for i in issues)

    answer = world.client.post("/evaluate", content=json.dumps(doc), headers={"content-type": "application/json"})
    assert answer.status_code in (400, 422), (answer.status_code, answer.text)
    assert answer.json()["resourceType"] == "OperationOutcome"

    checked = world.client.post("/validate", content=json.dumps(doc), headers={"content-type": "application/json"})
    assert checked.status_code == 200
    assert checked.json()["issue"] == operation_outcome(issues)["issue"]


@bounded(30)
@given(data=st.data())
def test_unreadable_bodies_are_answered_400(world: World, data: st.DataObject) -> None:
    body = data.draw(unreadable_bodies(world.catalog), label="body")
    for path in ("/evaluate", "/validate"):
        answer = world.client.post(path, content=body, headers={"content-type": "application/json"})
        assert answer.status_code == 400, (path, answer.status_code, answer.text)
        assert answer.json()["resourceType"] == "OperationOutcome"


# --- bugs found by these properties, pinned until fixed ----------------------------------------------------

def _set(doc: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.replace("[", ".").replace("]", "").split(".")
    node: Any = doc
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    node[last] = value


@pytest.mark.parametrize(("path", "value"), [
    ("findings.0.code.code", "calcification\n"),
    ("findings.0.bodySite.code", "RID2639\n"),
    ("reportCode.0.code", "18748-4\n"),
    ("findings.0.code.display", "Calcification\n"),
    ("patient.subject", "Patient/p1\n"),
    ("findings.0.id", "f1\n"),
    ("schemaVersion", "1.0.0\n"),
])
def test_schema_patterns_reject_a_trailing_newline(mini: Catalog, path: str, value: str) -> None:
    doc = mini_doc(schemaVersion="1.0.0", reportCode=[{"system": "http://loinc.org", "code": "18748-4", "display": "Imaging"}])
    _set(doc, path, value)
    assert validate.check(doc, mini), f"{path} = {value!r} was accepted"


@pytest.mark.parametrize("path", ["findings.0.bodySite.code", "findings.0.code.code", "reportCode.0.code"])
def test_an_accepted_document_never_yields_invalid_fhir(mini_client: TestClient, path: str) -> None:
    doc = mini_doc(reportCode=[{"system": "http://loinc.org", "code": "18748-4", "display": "Imaging"}])
    _set(doc, path, "RID2639\n")
    answer = mini_client.post("/evaluate", content=json.dumps(doc), headers={"content-type": "application/json"})
    if answer.status_code == 200:
        for entry in answer.json()["entry"]:
            round_trip(entry["resource"])
    else:
        assert answer.status_code == 422
