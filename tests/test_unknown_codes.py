"""A code no pack knows, inside a known code system: `ddx validate` and POST /validate warn, as evaluation does."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from fastapi.testclient import TestClient

from plugin import validate_document
from plugin.cli import main
from plugin.engine import document_issues
from plugin.knowledge.catalog import Catalog
from tests.conftest import MINI_CONCEPT, mini_doc

MADE_UP_SNOMED = {"system": "http://snomed.info/sct", "code": "999999999999", "display": "Made up"}
MADE_UP_PACK_CODE = {"system": MINI_CONCEPT, "code": "no-such-concept", "display": "Made up"}


def with_history(code: dict[str, str]) -> dict:
    return mini_doc(history=[{"id": "h1", "code": code, "status": "present"}])


def test_validate_endpoint_warns_about_a_made_up_code_in_a_known_system(mini_client: TestClient) -> None:
    for code in (MADE_UP_SNOMED, MADE_UP_PACK_CODE):
        r = mini_client.post("/validate", json=with_history(code))
        assert r.status_code == 200
        issues = r.json()["issue"]
        assert issues[0]["severity"] == "information" and "1 warning" in issues[0]["diagnostics"]
        assert issues[1:] == [{"severity": "warning", "code": "code-invalid", "expression": ["history[0].code"],
                               "diagnostics": "Code not known to any loaded knowledge pack: this history item was not evaluated."}]


def test_validate_warns_exactly_what_evaluate_reports(mini: Catalog, mini_client: TestClient) -> None:
    doc = with_history(MADE_UP_SNOMED)
    doc["findings"][0]["bodySite"] = {"system": "http://radlex.org", "code": "RID0", "display": "made up"}
    bundle = mini_client.post("/evaluate", json=doc).json()
    reported = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "OperationOutcome"]
    assert len(reported) == 1
    assert validate_document(doc, mini)["issue"][1:] == reported[0]["issue"]
    assert [i.path for i in document_issues(doc, mini)] == ["findings[0].bodySite", "history[0].code"]


def test_known_codes_and_invalid_documents_get_no_warning(mini: Catalog) -> None:
    assert validate_document(mini_doc(), mini)["issue"] == [
        {"severity": "information", "code": "informational", "diagnostics": "The document is valid."}]
    broken = with_history(MADE_UP_SNOMED)
    del broken["findings"][0]["status"]
    assert {i["severity"] for i in validate_document(broken, mini)["issue"]} == {"error"}


def test_cli_validate_prints_the_warning_and_still_exits_0(tmp_path: Path, monkeypatch) -> None:
    from plugin.settings import get_settings

    monkeypatch.setenv("DDX_MAPPINGS_DIR", str(Path(__file__).parent / "data" / "packs"))
    get_settings.cache_clear()
    try:
        doc = tmp_path / "doc.json"
        doc.write_text(json.dumps(with_history(MADE_UP_SNOMED)), encoding="utf-8")
        run = CliRunner().invoke(main, ["validate", str(doc)])
    finally:
        get_settings.cache_clear()
    assert run.exit_code == 0, run.output
    assert "history[0].code: [code-invalid] warning: Code not known to any loaded knowledge pack" in run.output
    assert run.output.rstrip().endswith("valid (1 warning(s))")


def test_a_lab_without_loinc_is_sent_in_the_pack_concept_system_as_the_vocabulary_says(catalog: Catalog) -> None:
    """vocabulary.yaml: a lab test with no LOINC code is coded in {code_system_base}-concept with its id."""
    from tests.conftest import load_sample

    pack = catalog.packs[0]
    no_loinc = [lab for lab in pack.raw["vocabulary"]["labs"] if not lab.get("codings")]
    assert no_loinc, "the shipped pack has no lab without a LOINC code any more: this test has nothing to check"
    vocabulary_text = (Path(__file__).parents[1] / "mappings" / pack.id / "vocabulary.yaml").read_text(encoding="utf-8")
    assert pack.system("concept") in vocabulary_text
    doc = load_sample("001-vm-forearm-phleboliths-mri")
    for lab in no_loinc:
        doc["labs"] = [{"id": "l1", "code": {"system": pack.system("concept"), "code": lab["id"], "display": lab["display"]},
                        "interpretation": "H"}]
        assert document_issues(doc, catalog) == []
        doc["labs"][0]["code"]["code"] = lab["id"] + "-made-up"
        assert [i.severity for i in document_issues(doc, catalog)] == ["warning"]
