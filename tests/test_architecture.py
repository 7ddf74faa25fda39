"""The design rules that keep the pipeline easy to see, enforced."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import plugin

PACKAGE = Path(plugin.__file__).parent


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_domain_core_imports_no_web_framework() -> None:
    for path in PACKAGE.rglob("*.py"):
        if "api" in path.relative_to(PACKAGE).parts or path.name == "cli.py":
            continue
        web = {m for m in imports(path) if m.split(".")[0] in ("fastapi", "starlette", "uvicorn")}
        assert not web, f"{path.name} imports {web}"


def test_public_api_is_what_we_promise() -> None:
    assert sorted(plugin.__all__) == ["__version__", "evaluate", "load_knowledge", "validate_document"]


def test_no_diagnosis_named_in_python(catalog: plugin.catalog.Catalog) -> None:  # type: ignore[name-defined]
    ids = {d for p in catalog.packs for d in p.diagnoses} | {c.id for p in catalog.packs for c in p.clues}
    source = "\n".join(p.read_text(encoding="utf-8") for p in PACKAGE.rglob("*.py"))
    named = {i for i in ids if re.search(rf"['\"]{re.escape(i)}['\"]", source)}
    assert not named, f"diagnosis or clue ids hard-coded in Python: {named}"


def test_modules_stay_small() -> None:
    for path in PACKAGE.rglob("*.py"):
        lines = len(path.read_text(encoding="utf-8").splitlines())
        assert lines <= 350, f"{path.name} has {lines} lines: split it by stage or concern"
