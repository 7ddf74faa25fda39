"""The accept path (jsonschema-rs, formats on) and the reference (jsonschema) give the same verdict on every document.

`plugin.schema_check` decides valid / invalid with jsonschema-rs; `jsonschema` is the reference. They read one schema
document (the findings schema as the loaded packs tighten it). Two things are handled explicitly:

* `pattern`: JSON Schema patterns are ECMA-262 regular expressions, and jsonschema-rs reads them so; jsonschema runs
  them with Python's `re`, which differs on two points this schema meets: `$` also matches before a final line feed,
  and `\\s` is Unicode's White_Space (with U+001C-U+001F and U+0085, without the byte-order mark U+FEFF) instead of
  ECMA-262's WhiteSpace and LineTerminator. The reference below reads each pattern as ECMA-262 does (`\\s` spelled
  out, a final `$` as the end of the string); a test shows plain `re` would disagree on exactly these inputs.
* `format`: on in both. `date`: the accept path checks it as jsonschema does (plugin.schema_check.is_date), since
  RFC 3339 admits the year 0000 and Python's dates do not (this test found a birth date of 0000-01-01 crashing the
  read stage). `uri`: jsonschema checks it with rfc3987, whose regular expression ends in a Python `$` (a final line
  feed passes); the reference here refuses that line feed, as jsonschema-rs and RFC 3986 do.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plugin.knowledge.catalog import Catalog
from plugin.read import problems as catalog_problems
from tests import strategies
from tests.conftest import sample_paths

ECMA_SPACE = "\t\n\x0b\x0c\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"  # ES2023 §12.2, §12.3


def ecma(pattern: str) -> str:
    """The pattern for Python's `re` with ECMA-262's meaning of `\\s`, `\\S` and a final `$` (all this schema uses)."""
    out, in_class, i = "", False, 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            if nxt == "s":
                out += ECMA_SPACE if in_class else f"[{ECMA_SPACE}]"
            elif nxt == "S" and not in_class:
                out += f"[^{ECMA_SPACE}]"
            else:
                assert not (nxt == "S" and in_class), "\\S inside a class: not used by this schema"
                out += pattern[i:i + 2]
            i += 2
            continue
        if ch == "[" and not in_class:
            in_class = True
        elif ch == "]" and in_class:
            in_class = False
        out += r"\Z" if ch == "$" and not in_class and i == len(pattern) - 1 else ch
        i += 1
    return out


def _ecma_pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[jsonschema.ValidationError]:
    if validator.is_type(instance, "string") and not re.search(ecma(pattern), instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


Reference = jsonschema.validators.extend(jsonschema.Draft202012Validator, {"pattern": _ecma_pattern})
FORMATS = copy.deepcopy(jsonschema.Draft202012Validator.FORMAT_CHECKER)
_rfc3987_uri = FORMATS.checkers["uri"][0]


@FORMATS.checks("uri", raises=ValueError)
def _uri(instance: object) -> bool:
    return not (isinstance(instance, str) and instance.endswith("\n")) and bool(_rfc3987_uri(instance))


@pytest.fixture(scope="module")
def validators(catalog: Catalog) -> tuple[Any, Any, Any]:
    schema = catalog.validator.schema
    return (catalog.validator.whole.rs, Reference(schema, format_checker=FORMATS),
            jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER))


def sample_documents() -> list[Any]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sample_paths()]


def assert_agree(validators: tuple[Any, Any, Any], document: Any) -> bool:
    fast, reference, _ = validators
    verdict = fast.is_valid(document)
    assert verdict == reference.is_valid(document), (verdict, document)
    return bool(verdict)


def test_every_sample_document(validators: tuple[Any, Any, Any]) -> None:
    docs = sample_documents()
    assert docs and all(assert_agree(validators, d) for d in docs if "resourceType" not in d)


FAST = settings(max_examples=500, derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@FAST
@given(data=st.data())
def test_generated_valid_documents(catalog: Catalog, validators: tuple[Any, Any, Any], data: st.DataObject) -> None:
    assert_agree(validators, data.draw(strategies.findings_documents(catalog)))


@FAST
@given(data=st.data())
def test_generated_invalid_documents(catalog: Catalog, validators: tuple[Any, Any, Any], data: st.DataObject) -> None:
    assert_agree(validators, data.draw(strategies.invalid_documents(catalog)))


# Strings on the edges where regular-expression dialects differ: `$` before a final line feed, Unicode and ECMA-262
# white space (NBSP, NEL, U+001C, LS, ideographic space), the byte-order mark, letters outside ASCII.
EDGES = ["abc", "abc\n", "abc\r", "\nabc", "\ufeffabc", "abc\ufeff", "a\ufeffb", "a b", "a  b", " a", "a ", "a\tb",
         "a\u00a0b", "a\x85b", "a\x1cb", "a\u2028b", "a\u3000b", "\u00e9", "\u00e9t\u00e9", "a\u0301", "\U0001d518",
         "\u0661\u0662", "Ａ", "a.b-c_d", "a/b", "", "1.2.3", "1.2.3\n", "mg/dL", "mg/dL\n", "µg/L", "10*3/uL"]
PLACES: list[tuple[tuple[Any, ...], str]] = [
    (("findings", 0, "id"), "id"), (("findings", 0, "code", "code"), "code"), (("findings", 0, "code", "display"), "display"),
    (("findings", 0, "note"), "note"), (("patient", "subject"), "subject"), (("schemaVersion",), "version"),
    (("studies", 0, "id"), "study id"),
]


def _at(doc: Any, where: tuple[Any, ...], value: Any) -> Any:
    doc = copy.deepcopy(doc)
    node = doc
    for part in where[:-1]:
        node = node[part]
    node[where[-1]] = value
    return doc


def _base() -> dict[str, Any]:
    return next(d for d in sample_documents() if "resourceType" not in d and d.get("patient"))


@pytest.mark.parametrize("where", [w for w, _ in PLACES], ids=[n for _, n in PLACES])
def test_pattern_edges(validators: tuple[Any, Any, Any], where: tuple[Any, ...]) -> None:
    base = _base()
    for text in EDGES:
        prefix = "Patient/" if where == ("patient", "subject") else ""
        assert_agree(validators, _at(base, where, prefix + text))


def test_plain_python_re_would_disagree_where_the_reference_spells_ecma_out(validators: tuple[Any, Any, Any]) -> None:
    fast, _, plain = validators
    base = _base()
    for where, text in [(("findings", 0, "id"), "f1\n"), (("findings", 0, "code", "code"), "a\ufeff")]:
        doc = _at(base, where, text)
        assert not fast.is_valid(doc) and plain.is_valid(doc), (where, text)


DATES = ["2024-02-29", "2023-02-29", "2024-02-30", "2024-13-01", "2024-1-1", "2024-01-01T00:00:00Z", "20240101",
         "2024-01-01\n", "\u0662024-01-01", "0000-01-01", "9999-12-31", " 2024-01-01"]
URIS = ["http://snomed.info/sct", "urn:oid:2.16.840.1.113883.6.96", "http://example.org/a b", "not a uri", "a:b",
        "//example.org", "http://[::1]/x", "http://\u00fc.example/", "http://example.org/%zz", "mailto:x@example.org",
        "http://example.org/#frag", "http:", "http://example.org/\n"]


def test_format_edges(validators: tuple[Any, Any, Any]) -> None:
    base = _base()
    for text in DATES:
        assert_agree(validators, _at(base, ("studies", 0, "date"), text))
    for text in URIS:
        assert_agree(validators, _at(base, ("findings", 0, "code", "system"), text))


def test_a_year_python_cannot_hold_is_refused_not_a_crash(catalog: Catalog) -> None:
    doc = _at(_base(), ("patient", "birthDate"), "0000-01-01")
    doc["patient"].pop("age", None)
    assert [i.path for i in catalog_problems(doc, catalog)] == ["patient.birthDate"]
