"""Knowledge packs: load mappings/<pack>/ once, check it whole, compile its predicates.

A broken pack fails here, at start-up, with file, path and reason; never at request time.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jsonschema_rs
import yaml

from plugin import paths
from plugin.errors import PackInvalid, PackProblem
from plugin.knowledge.build import build_pack
from plugin.knowledge.model import Pack

PACK_FILES = {
    "pack.yaml": "manifest",
    "vocabulary.yaml": "vocabulary",
    "diagnoses.yaml": "diagnoses",
    "clues.yaml": "clues",
    "discriminators.yaml": "discriminators",
    "cautions.yaml": "cautions",
    "codes.yaml": "codes",
}


def _load_schema(schemas_dir: Path, name: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((schemas_dir / name).read_text(encoding="utf-8"))
    return schema


# libyaml's parser when PyYAML was built with it (the same safe constructors, ~10x faster than the pure-Python one).
YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(text: str) -> Any:
    """yaml.safe_load, with libyaml's parser when available."""
    return yaml.load(text, Loader=YAML_LOADER)  # noqa: S506 - a safe loader (CSafeLoader or SafeLoader)


def _file_validators(schemas_dir: Path) -> dict[str, Any]:
    """Per file kind, jsonschema-rs: it accepts a valid pack file in milliseconds (jsonschema lists the problems)."""
    schema = _load_schema(schemas_dir, paths.PACK_SCHEMA)
    return {kind: jsonschema_rs.Draft202012Validator({**schema, "$ref": f"#/$defs/{kind}"}, validate_formats=True)
            for kind in set(PACK_FILES.values())}


def _problems(schemas_dir: Path, kind: str, data: Any) -> list[Any]:
    """Every problem of a pack file jsonschema-rs refused, from jsonschema (imported only then: ~0.3 s)."""
    import jsonschema
    from referencing import Registry, Resource

    schema = _load_schema(schemas_dir, paths.PACK_SCHEMA)
    registry: Registry = Resource.from_contents(schema) @ Registry()
    reference = jsonschema.Draft202012Validator({"$ref": f"{schema['$id']}#/$defs/{kind}"}, registry=registry,
                                                format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    return sorted(reference.iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))


def _json_path(parts: Iterable[Any]) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def load_pack(folder: Path, schemas_dir: Path = paths.SCHEMAS_DIR) -> Pack:
    """Load and check one pack folder; raise PackInvalid listing every problem found."""
    problems: list[PackProblem] = []
    raw: dict[str, Any] = {}
    validators = _file_validators(schemas_dir)
    for filename, kind in PACK_FILES.items():
        file = folder / filename
        if not file.is_file():
            problems.append(PackProblem(str(file), "", "file missing"))
            continue
        try:
            data = read_yaml(file.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            problems.append(PackProblem(str(file), "", f"not valid YAML: {exc}"))
            continue
        for err in [] if validators[kind].is_valid(data) else _problems(schemas_dir, kind, data):
            problems.append(PackProblem(str(file), _json_path(err.absolute_path), err.message))
        raw[kind] = data
    if problems:
        raise PackInvalid(problems)
    return build_pack(folder, raw)


def load_packs(mappings_dir: Path = paths.MAPPINGS_DIR, schemas_dir: Path = paths.SCHEMAS_DIR) -> tuple[Pack, ...]:
    folders = paths.pack_folders(mappings_dir)
    if not folders:
        raise PackInvalid([PackProblem(str(mappings_dir), "", "no knowledge pack (no */pack.yaml) found")])
    problems: list[PackProblem] = []
    packs: list[Pack] = []
    for folder in folders:
        try:
            packs.append(load_pack(folder, schemas_dir))
        except PackInvalid as exc:
            problems.extend(exc.problems)
    if problems:
        raise PackInvalid(problems)
    ids = [p.id for p in packs]
    dupes = {i for i in ids if ids.count(i) > 1}
    if dupes:
        raise PackInvalid([PackProblem(str(mappings_dir), "", f"pack id '{d}' used by more than one folder") for d in dupes])
    return tuple(packs)

