"""Worst-case request bodies, generated from the findings schema as enforced: for every place a value can stand and every
keyword that constrains it, bodies of a chosen size built to make that keyword (or the rules behind it) work hardest.

    cases(catalog)        every (place, shape) pair: a function of n (the repeat count) giving a document
    largest_valid(catalog) the most a valid document can hold, as bytes
    body(case, n)         the document as bytes
    sized(case, nbytes)   the n whose body is about `nbytes` long
    handle(body, catalog) what POST /evaluate does with a body, minus HTTP: parse, check, evaluate, render or refuse

Nothing here is a fixed list of payloads: the places come from walking the schema (so a property added to the schema
is attacked without editing this file), the shapes from the keywords each place carries. Used by
tests/test_cost_budget.py (cost grows linearly) and benchmarks/hostile.py (worst CPU per KB, in ms).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from plugin import engine
from plugin.errors import InputInvalid
from plugin.knowledge.catalog import Catalog
from plugin.read import check as validate
from plugin.write.outcome import operation_outcome
from tests.strategies import LOINC, views

Path = tuple[str | int, ...]
Doc = dict[str, Any]


@dataclass(frozen=True)
class Case:
    place: str  # e.g. findings[0].code.code
    shape: str  # e.g. distinct-objects
    make: Callable[[int], Any]  # n -> document


def base_document(catalog: Catalog) -> Doc:
    """A valid document with one of everything the schema allows (each list holds one item), so every place exists."""
    view = views(catalog)[0]
    attrs = {name: (list(values) if many else values[0]) for name, many, values in view.attributes}
    # 1.1: a value stated absent, never one stated present (a one-value attribute's second value)
    absent = next({name: values[1]} for name, many, values in view.attributes if not many and len(values) > 1)
    lab = view.labs[0]
    return {
        "schemaVersion": "1.1.0",
        "date": "2024-01-01",
        "reportCode": [{"system": LOINC, "code": "18748-4", "display": "Diagnostic imaging study"}],
        "patient": {"age": {"value": 30, "unit": "a"}, "sex": "female", "subject": "Patient/p1"},
        "studies": [{"id": "s1", "modality": "CT", "date": "2024-01-01"}],
        "findings": [{"id": "f1", "study": "s1", "code": dict(view.scope[0]), "status": "present", "bodySite": dict(view.sites[0]),
                      "laterality": "left", "attributes": attrs, "absentAttributes": absent, "size": {"value": 3, "unit": "cm"}, "count": 2,
                      "change": {"trend": "new", "interval": {"value": 2, "unit": "wk"}}, "note": "Well-defined margins."}],
        "history": [{"id": "h1", "code": dict(view.history[0]), "status": "present",
                     "onsetBeforeStudy": {"value": 2, "unit": "wk"}, "note": "After a fall."}],
        "labs": [{"id": "l1", "code": dict(lab.coding), "value": {"value": 1, "unit": lab.unit},
                  "referenceRange": {"low": 0.5, "high": 2}, "interpretation": "N", "date": "2024-01-01"}],
    }


def _places(schema: Mapping[str, Any], path: Path = ()) -> Iterator[tuple[Path, Mapping[str, Any]]]:
    """Every place in a document the (inlined) schema describes, with the subschema that governs it."""
    yield path, schema
    for name, sub in schema.get("properties", {}).items():
        if isinstance(sub, Mapping):
            yield from _places(sub, (*path, name))
    items = schema.get("items")
    if isinstance(items, Mapping):
        yield from _places(items, (*path, 0))


def _put(doc: Doc, path: Path, value: Any) -> Doc:
    if not path:
        return value  # type: ignore[no-any-return]
    node: Any = doc
    for part, after in zip(path[:-1], path[1:], strict=True):
        if isinstance(node, dict) and part not in node:  # a place the base leaves out: made, one item deep
            node[part] = [None] if isinstance(after, int) else {}
        node = node[part]
    node[path[-1]] = value
    return doc


def _get(doc: Any, path: Path) -> Any:
    """The value at a place of the base document; None where the base leaves it out (absentAttributes holds one name)."""
    for part in path:
        try:
            doc = doc[part]
        except (KeyError, IndexError):
            return None
    return doc


def _text(path: Path) -> str:
    return validate.path_of(path) or "(document)"


# Shapes by the kind of value a keyword constrains. Each makes the work of its keywords grow with n, the way an
# attacker would: distinct unsortable items (uniqueItems), near-matches (pattern backtracking), long strings past
# maxLength (pattern and format after it), many properties (additionalProperties, required), deep and wide nesting.
def _array_shapes(template: Any) -> dict[str, Callable[[int], Any]]:
    return {
        "distinct-objects": lambda n: [{"k": i} for i in range(n)],
        "mixed-scalars": lambda n: [i if i % 2 else str(i) for i in range(n)],
        "distinct-arrays": lambda n: [[i] for i in range(n)],
        "empty-objects": lambda n: [{} for _ in range(n)],
        "valid-items": lambda n: [copy.deepcopy(template) for _ in range(n)],
        "deep-items": lambda n: [[[[[[[[i]]]]]]] for i in range(n // 8)],
    }


STRING_SHAPES: dict[str, Callable[[int], str]] = {
    "long": lambda n: "a" * n,
    "near-match": lambda n: "a " * (n // 2) + " ",
    "bom": lambda n: "\ufeff" * n,
    "digits-dash": lambda n: "1" * n + "-",
    "uri-segments": lambda n: "http://a/" + "a/" * (n // 2) + " ",
    "bidi": lambda n: "\u202e" * n,
}

OBJECT_SHAPES: dict[str, Callable[[int], Any]] = {
    "many-properties": lambda n: {f"k{i}": i for i in range(n)},
    "many-object-properties": lambda n: {f"k{i}": {} for i in range(n)},
}

NUMBER_SHAPES: dict[str, Callable[[int], Any]] = {
    "many-numbers": lambda n: [1.5] * n,
    "many-integers": lambda n: list(range(n)),
}


def cases(catalog: Catalog) -> list[Case]:
    base = base_document(catalog)
    out: list[Case] = []
    for path, schema in _places(catalog.validator.schema):
        kinds = schema.get("type")
        kinds = {kinds} if isinstance(kinds, str) else set(kinds or ())
        shapes: dict[str, Callable[[int], Any]] = {}
        if "enum" in schema or "const" in schema or not kinds:
            # compared against every allowed value: big instances of each kind (one shape each is enough here)
            shapes |= {"enum-string": STRING_SHAPES["long"], "enum-array": _array_shapes({})["deep-items"],
                       "enum-object": OBJECT_SHAPES["many-properties"]}
        if "array" in kinds:
            existing = _get(base, path) if path else None
            template = existing[0] if isinstance(existing, list) and existing else {}
            shapes |= _array_shapes(template)
        if "string" in kinds:
            shapes |= STRING_SHAPES
        if "object" in kinds:
            shapes |= OBJECT_SHAPES
        if kinds & {"number", "integer"}:
            shapes |= NUMBER_SHAPES
        for shape, make in shapes.items():
            out.append(Case(_text(path), shape, lambda n, p=path, m=make: _put(copy.deepcopy(base), p, m(n))))
    return out


def body(case: Case, n: int) -> bytes:
    return orjson.dumps(case.make(n))


def sized(case: Case, nbytes: int) -> int:
    """The repeat count whose body is about nbytes long (bodies grow linearly with n; measured at two points)."""
    small, large = len(body(case, 100)), len(body(case, 1100))
    per = max((large - small) / 1000, 1e-9)
    return max(1, int((nbytes - small) / per) + 100)


def handle(raw: bytes, catalog: Catalog) -> bytes:
    """POST /evaluate without HTTP: strict parse, validation and rules, evaluation, FHIR, bytes out; or the refusal."""
    try:
        document = validate.parse_strict(raw)
        return orjson.dumps(engine.render(engine.result_of(document, catalog)))
    except InputInvalid as exc:
        return orjson.dumps(operation_outcome(exc.issues))


def largest_valid(catalog: Catalog) -> bytes:
    """Every list at its maxItems, every note at its maxLength, every attribute value: the most a valid document holds."""
    schema = catalog.validator.schema
    doc = base_document(catalog)
    note = ("Well-defined margins; no periosteal reaction. " * 40)[:1000]
    for name in ("reportCode", "studies", "findings", "history", "labs"):
        template = doc[name][0]
        doc[name] = []
        for i in range(schema["properties"][name]["maxItems"]):
            item = copy.deepcopy(template)
            if "id" in item:
                item["id"] = f"{name[0]}{i}"
            if "note" in item:
                item["note"] = note
            doc[name].append(item)
    for f in doc["findings"]:
        f["study"] = "s0"
    return orjson.dumps(doc)
