"""The design rules that keep the pipeline easy to see, enforced."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import plugin
from plugin.knowledge.catalog import Catalog

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


def test_no_diagnosis_named_in_python(catalog: Catalog) -> None:
    ids = {d for p in catalog.packs for d in p.diagnoses} | {c.id for p in catalog.packs for c in p.clues}
    source = "\n".join(p.read_text(encoding="utf-8") for p in PACKAGE.rglob("*.py"))
    named = {i for i in ids if re.search(rf"['\"]{re.escape(i)}['\"]", source)}
    assert not named, f"diagnosis or clue ids hard-coded in Python: {named}"


def test_modules_stay_small() -> None:
    for path in PACKAGE.rglob("*.py"):
        lines = len(path.read_text(encoding="utf-8").splitlines())
        assert lines <= 350, f"{path.name} has {lines} lines: split it by stage or concern"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Module -> the plugin modules it imports at module level or inside functions (`from a import b` counts a.b if a
    module, else a)."""
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                targets |= {f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules else node.module for a in node.names}
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def test_no_import_cycles() -> None:
    graph = import_graph()
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                raise AssertionError("import cycle: " + " -> ".join(path[path.index(nxt):] + [node, nxt]))
            if nxt not in state:
                visit(nxt, path + [node])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [])


# Stages in order; a module may import its own stage and earlier ones, never a later one. The shared layer (domain
# values, errors, units, terms, paths, version) imports no stage; the edges (engine, api, cli, harness, settings, logs)
# may import any.
LAYERS = {"shared": 0, "knowledge": 1, "read": 2, "decide": 3, "write": 4}
SHARED = {"plugin.model", "plugin.errors", "plugin.units", "plugin.terms", "plugin.paths", "plugin.version",
          "plugin.strict_json", "plugin.schema_check", "plugin.text_safety"}  # generic: no domain, no stage


def layer(module: str) -> int | None:
    if module in SHARED:
        return 0
    parts = module.split(".")
    return LAYERS.get(parts[1]) if len(parts) > 1 else None


def test_no_stage_imports_a_later_stage() -> None:
    wrong = []
    for module, targets in import_graph().items():
        own = layer(module)
        if own is None:
            continue
        wrong += [f"{module} -> {t}" for t in targets if (layer(t) is None or layer(t) > own)]  # type: ignore[operator]
    assert not wrong, wrong


def test_the_import_graph_sees_the_stages() -> None:
    """The graph sees a stage importing a later one (the rule above would not silently pass on a broken walker)."""
    graph = import_graph()
    assert "plugin.decide.rank" in graph["plugin.engine"] or "plugin.decide" in graph["plugin.engine"]
    assert any(layer(t) == LAYERS["knowledge"] for t in graph["plugin.decide.rank"])


def test_types_are_checked_strictly() -> None:
    """`mypy plugin` with strict = true (pyproject.toml) finds nothing: the types are part of the design."""
    from mypy import api

    out, err, status = api.run(["--config-file", str(PACKAGE.parent / "pyproject.toml"), str(PACKAGE)])
    assert status == 0, out + err
