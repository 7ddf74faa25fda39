"""Shared fixtures: the shipped knowledge, the mini test pack, an API client on each, sample documents."""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from plugin import load_knowledge
from plugin.api.app import create_app
from plugin.knowledge.catalog import Catalog
from plugin.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_reports"
MINI_PACKS = Path(__file__).parent / "data" / "packs"
MINI_CONCEPT = "https://rad-ddx.org/fhir/CodeSystem/mini-concept"


@pytest.fixture(scope="session", autouse=True)
def _database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Every Settings() of the session (and every server it starts) uses a throw-away SQLite file, never the default one."""
    previous = os.environ.get("DDX_DATABASE_URL")
    os.environ["DDX_DATABASE_URL"] = f"sqlite:///{tmp_path_factory.mktemp('db') / 'ddx.sqlite3'}"
    yield
    if previous is None:
        del os.environ["DDX_DATABASE_URL"]
    else:
        os.environ["DDX_DATABASE_URL"] = previous


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    """The shipped knowledge packs."""
    return load_knowledge()


@pytest.fixture(scope="session")
def mini() -> Catalog:
    """A tiny pack whose rules the tests control."""
    return load_knowledge(MINI_PACKS)


@pytest.fixture(scope="session")
def client() -> Iterator[TestClient]:
    with TestClient(create_app(Settings()), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture(scope="session")
def mini_client() -> Iterator[TestClient]:
    with TestClient(create_app(Settings(mappings_dir=MINI_PACKS)), raise_server_exceptions=False) as c:
        yield c


def sample_paths() -> list[Path]:
    return sorted(p for p in SAMPLES.rglob("*.json") if not p.name.endswith(".expected.json"))


def load_sample(name: str) -> dict[str, Any]:
    """A sample document by file stem (first match anywhere under sample_reports/)."""
    path = next(p for p in sample_paths() if p.stem == name)
    return json.loads(path.read_text(encoding="utf-8"))


def mini_doc(**changes: Any) -> dict[str, Any]:
    """A valid document for the mini pack: a 14-year-old with bone-type calcification of the hip."""
    doc: dict[str, Any] = {
        "patient": {"age": {"value": 14, "unit": "a"}, "sex": "male", "subject": "Patient/p1"},
        "studies": [{"id": "s1", "modality": "CR", "date": "2024-03-01"}],
        "findings": [{
            "id": "f1", "study": "s1", "status": "present",
            "code": {"system": MINI_CONCEPT, "code": "calcification", "display": "Calcification"},
            "attributes": {"mineral": "bone", "pattern": ["rim"]},
            "bodySite": {"system": "http://radlex.org", "code": "RID2639", "display": "hip"},
            "laterality": "left", "size": {"value": 3, "unit": "cm"},
        }],
    }
    doc = copy.deepcopy(doc)
    doc.update(changes)
    return doc


def values_of(node: Any, key: str) -> Iterator[Any]:
    """Every value held under `key` anywhere in a JSON tree (references, $refs, formats ...), depth first."""
    if isinstance(node, dict):
        if isinstance(node.get(key), str):
            yield node[key]
        for v in node.values():
            yield from values_of(v, key)
    elif isinstance(node, list):
        for v in node:
            yield from values_of(v, key)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", help="rewrite tests/golden/ from today's outputs")


@pytest.fixture(scope="session")
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))
