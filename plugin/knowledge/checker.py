"""Problems found while loading a pack, collected with file, path and reason."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from plugin.errors import PackProblem
from plugin.knowledge.predicates import PredicateError, Test, Vocabulary, compile_predicate


class Checker:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.problems: list[PackProblem] = []

    def add(self, filename: str, path: str, reason: str) -> None:
        self.problems.append(PackProblem(str(self.folder / filename), path, reason))

    def unique(self, filename: str, items: list[Mapping[str, Any]], listname: str) -> dict[str, Mapping[str, Any]]:
        seen: dict[str, Mapping[str, Any]] = {}
        for i, item in enumerate(items):
            if item["id"] in seen:
                self.add(filename, f"{listname}[{i}].id", f"duplicate id '{item['id']}'")
            seen[item["id"]] = item
        return seen

    def sources(self, filename: str, path: str, refs: list[str], known: Mapping[str, Any]) -> tuple[str, ...]:
        for j, ref in enumerate(refs):
            if ref.split()[0] not in known:
                self.add(filename, f"{path}[{j}]", f"source '{ref.split()[0]}' is not declared in pack.yaml sources")
        return tuple(refs)

    def compile(self, filename: str, path: str, node: Mapping[str, Any], vocab: Vocabulary) -> Test:
        try:
            return compile_predicate(node, vocab, path)
        except PredicateError as exc:
            self.add(filename, exc.path, exc.reason)
            return lambda r: None
