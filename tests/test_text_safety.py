"""Request text in FHIR output: markdown that renders as the plain text it was, strings R4's regular expressions accept
as an ECMA-262 engine reads them (checked in node, not only with Python's re), and XHTML that stays escaped."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from plugin import text_safety
from plugin.engine import evaluate, validate_document
from plugin.knowledge.catalog import Catalog
from plugin.schema_check import _Part
from tests.conftest import ROOT, mini_doc, values_of

NODE_MODULES = ROOT / "tests" / "fhir_validators" / "node_modules"
# ECMA-262 \s: WhiteSpace and LineTerminator (ES2023 §12.2, §12.3), written out so Python's re reads it the same way.
ECMA_SPACE = "\t\n\x0b\x0c\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
R4_STRING = re.compile(f"(?:[ \\r\\n\\t]|[^{ECMA_SPACE}])+")
HOSTILE = [
    "<img src=x onerror=alert(1)>", "[click](javascript:alert(1))", "![](https://evil.example/pixel.png)",
    "<script>alert(1)</script>", "**bold** _it_ `code`", "    indented code", "# Heading", "1. one\n2. two",
    "right\u202eleft\u202c", "isolate\u2066x\u2069", "mark\u200e\u200f\u061c", "\ufeffbom first", "nbsp\u00a0here",
    "line\u2028sep\u2029para", "ideographic\u3000space", "c1\u0085\u009bcontrol", "tab\tand\r\nbreak", "a\\", "&amp; &#60;",
    "\u202e", "\u00a0\u2028", "emoji \U0001f600 and combining e\u0301",
]
COMMONMARK = MarkdownIt("commonmark")


def rendered_text(markdown: str) -> tuple[set[str], str]:
    """The tags a CommonMark renderer makes of `markdown`, and the text it shows, whitespace collapsed."""
    out = COMMONMARK.render(markdown)
    tags = set(re.findall(r"</?([a-zA-Z0-9]+)", out))
    return tags, " ".join(html.unescape(re.sub(r"<[^>]*>", " ", out)).split())


@settings(max_examples=300, derandomize=True, deadline=None, database=None)
@given(st.text(max_size=80))
def test_markdown_renders_as_the_plain_text_it_was(text: str) -> None:
    out = text_safety.markdown(text)
    shown = text_safety.string(text)
    if out is None:
        assert shown is None
        return
    tags, visible = rendered_text(out)
    assert tags <= {"p"}, (text, out, tags)
    assert visible == " ".join((shown or "").split()), (text, out)


@settings(max_examples=300, derandomize=True, deadline=None, database=None)
@given(st.text(max_size=80))
def test_string_matches_the_r4_string_regex(text: str) -> None:
    out = text_safety.string(text)
    assert out is None or R4_STRING.fullmatch(out), (text, out)
    assert out is None or not re.search("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c\x00-\x08\x7f-\x9f]", out)


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_renders_plain(text: str) -> None:
    tags, visible = rendered_text(text_safety.markdown(text) or "")
    assert tags <= {"p"}
    assert "<" not in COMMONMARK.render(text_safety.markdown(text) or "").replace("<p>", "").replace("</p>", "")
    assert not {"img", "a", "script", "code", "pre", "h1", "ol", "em", "strong"} & tags


def hostile_outputs(mini: Catalog) -> list[tuple[str, Any]]:
    """FHIR built from documents whose every free-text field carries hostile text, in both shapes, and a refusal."""
    out = []
    for i, text in enumerate(HOSTILE):
        line = re.sub("[\t\r\n]", " ", text)  # a display is one line (the schema says so); a note may have several
        doc = mini_doc(reportCode=[{"system": "http://loinc.org", "code": "18748-4", "display": line}])
        doc["findings"][0]["note"] = text
        doc["findings"][0]["code"]["display"] = line
        doc["history"] = [{"id": "h1", "status": "present", "note": text,
                           "code": {"system": "http://snomed.info/sct", "code": "1234567", "display": "x\u202ey"}}]
        for shape in ("bundle", "contained"):
            out.append((f"hostile-{i}:{shape}", evaluate(doc, mini, shape=shape)))
        refused = mini_doc()
        refused["findings"][0][f"x{text}"] = 1  # a property name is request text too (it is named in the path)
        out.append((f"refused-{i}", validate_document(refused, mini)))
    return out


def values_of_list(node: Any, key: str) -> list[Any]:
    """Every list held under `key` anywhere in a JSON tree."""
    if isinstance(node, dict):
        return ([node[key]] if isinstance(node.get(key), list) else []) + [x for v in node.values() for x in values_of_list(v, key)]
    if isinstance(node, list):
        return [x for v in node for x in values_of_list(v, key)]
    return []


def node_available() -> None:
    if shutil.which("node") is None or not (NODE_MODULES / "@asymmetrik" / "fhir-json-schema-validator").is_dir():
        pytest.skip("node or the pinned validators are missing: npm ci --prefix tests/fhir_validators")


def test_no_hostile_text_reaches_the_output_raw(mini: Catalog) -> None:
    """Anywhere: no bidi control, BOM, odd white space or C1 control. In markdown (Annotation.text): no live markup.
    A FHIR string such as a display is plain text by definition: '<5 mm' stays '<5 mm' there."""
    for name, resource in hostile_outputs(mini):
        text = json.dumps(resource, ensure_ascii=False)
        for bad in ("\u202e", "\u2066", "\ufeff", "\u00a0", "\u2028", "\u0085"):
            assert bad not in text, (name, bad)
        for note in (n["text"] for notes in values_of_list(resource, "note") for n in notes):
            tags, _ = rendered_text(note)
            assert tags <= {"p"}, (name, note)


def test_hostile_text_output_passes_the_r4_json_schema_in_node(mini: Catalog) -> None:
    """The HL7 R4 JSON Schema, its patterns compiled by a JavaScript engine (validate.mjs), on every hostile output."""
    node_available()
    items = [{"name": name, "resource": resource} for name, resource in hostile_outputs(mini)]
    proc = subprocess.run(["node", "validate.mjs"], input=json.dumps(items), capture_output=True, text=True,
                          cwd=ROOT / "tests" / "fhir_validators", timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    errors = [(r["name"], r["validator"], e) for r in json.loads(proc.stdout)["results"] for e in r["errors"]]
    assert not errors, errors[:20]


# --- the input side: the findings schema's patterns read as ECMA-262 reads them ------------------------------------

TRICKY = ["RID2639", "\ufeffRID2639", "RID2639\ufeff", "RID2639\n", "a b", "a  b", " a", "a\u00a0b", "a\u2028b", "a\u0085b",
          "f1", "f1\n", "Patient/p1", "Patient/p1\n", "1.0.0", "1.0.0\n", "\u0661.0.0", "mg/dL", "mg/dL\u00a0", "x" * 70,
          "Calcification", "Calcification\u0085", "tab\there", "", "1\u0660", "bone", "bone\n"]


def test_schema_patterns_agree_with_a_javascript_regex_engine(mini: Catalog) -> None:
    """Every pattern of the enforced findings schema, on strings where Python's re and ECMA-262 differ, judged by the
    validator the service uses and by node's RegExp (JSON Schema's regex dialect is ECMA-262's)."""
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    patterns = sorted(set(values_of(dict(mini.validator.schema), "pattern")))
    assert len(patterns) >= 5
    script = "const [ps, ss] = JSON.parse(require('fs').readFileSync(0, 'utf8'));" \
             "console.log(JSON.stringify(ps.map(p => ss.map(s => new RegExp(p, 'u').test(s)))));"
    proc = subprocess.run(["node", "-e", script], input=json.dumps([patterns, TRICKY]), capture_output=True, text=True,
                          timeout=60, check=True)
    ecma = json.loads(proc.stdout)
    for pattern, verdicts in zip(patterns, ecma, strict=True):
        ours = _Part({"type": "string", "pattern": pattern}).rs
        mismatches = [s for s, v in zip(TRICKY, verdicts, strict=True) if ours.is_valid(s) != v]
        assert not mismatches, (pattern, mismatches)


@pytest.mark.parametrize("where", ["code", "bodySite"])
def test_a_code_with_a_byte_order_mark_is_refused(mini: Catalog, where: str) -> None:
    from plugin.read import check as validate

    doc = mini_doc()
    doc["findings"][0][where]["code"] = "\ufeff" + doc["findings"][0][where]["code"]
    assert [i.path for i in validate.check(doc, mini)] == [f"findings[0].{where}.code"]
