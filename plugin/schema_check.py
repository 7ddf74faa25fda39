"""The findings schema checked at a bounded cost, with ECMA-262 regular expressions.

Why not `jsonschema` (Python) alone: a failing `maxItems` did not stop `uniqueItems` from comparing every pair of a
7,000-item array (~7 s of CPU for 21 KB), and a valid document at the schema's maxima took ~140 ms. Why not
jsonschema-rs alone: it is fast and linear per keyword, but builds every error eagerly (~6 µs each), so a body of
60,000 broken items cost seconds before the first error could be read. So, in order:

1. `is_valid` with jsonschema-rs: short-circuits, ~2 ms for the largest valid document (the hot path ends here);
2. the cheap bounds (maxItems, maxLength, and a cap on unexpected properties) are checked in Python along the schema's
   own structure, and the document is cut to them: what is past a bound is reported once and not looked at again;
3. jsonschema-rs on the cut document, the top level first, then item by item, lazily: the caller stops reading
   after its issue limit, so at most that many items are checked in full.

Patterns run on jsonschema-rs's linear-time regex engine (no backtracking), which reads them as ECMA-262 does
(`\\s` includes U+FEFF, `$` is the end of the string), as JSON Schema specifies. Formats are checked (`date`, `uri`);
`date` is checked as jsonschema (the reference) does it, with Python's calendar: RFC 3339 admits the year 0000, which
Python's dates (and so everything after the check) cannot hold. tests/test_schema_agreement.py proves both agree.
"""

from __future__ import annotations

import copy
import re
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from itertools import islice
from typing import Any

import jsonschema_rs

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def is_date(text: str) -> bool:
    """RFC 3339 full-date that Python's `date` can hold: what jsonschema's `date` format checker accepts."""
    if not _DATE.fullmatch(text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


EXTRA_PROPERTIES_KEPT = 101  # unexpected properties named per object: the issue list stops at 100 anyway


@dataclass
class SchemaError:
    """The parts of a `jsonschema.ValidationError` that plugin.read.check reads (same names)."""

    validator: str  # the keyword
    validator_value: Any
    instance: Any
    schema: Mapping[str, Any]  # the schema object holding the keyword
    absolute_path: deque[str | int] = field(default_factory=deque)


def _at(schema: Any, path: list[str | int]) -> Any:
    for part in path:
        schema = schema[part]
    return schema


class _Part:
    """One compiled schema; its errors are rebased onto `prefix`, the instance path of what it checks."""

    def __init__(self, schema: Mapping[str, Any]) -> None:
        self.schema = schema
        self.rs = jsonschema_rs.Draft202012Validator(
            dict(schema), validate_formats=True, formats={"date": is_date}, pattern_options=jsonschema_rs.RegexOptions(),
            mask="(value)")

    def errors(self, instance: Any, prefix: list[str | int]) -> Iterator[SchemaError]:
        for err in self.rs.iter_errors(instance):
            spath = list(err.schema_path)
            keyword = str(spath[-1])
            value = _at(self.schema, spath)
            if keyword == "required":
                value = [err.kind.as_dict()["property"]]  # one error per missing property, as its own list
            yield SchemaError(keyword, value, err.instance, _at(self.schema, spath[:-1]), deque([*prefix, *err.instance_path]))


def _cut(instance: Any, schema: Any, path: list[str | int], found: list[SchemaError]) -> Any:
    """The instance within the schema's size bounds; each bound broken is appended to `found`."""
    if type(schema) is not dict:  # schemas here are plain JSON: type() is cheaper than an ABC isinstance
        return instance
    kind = type(instance)
    if kind is str:
        limit = schema.get("maxLength")
        if limit is not None and len(instance) > limit:
            found.append(SchemaError("maxLength", limit, None, schema, deque(path)))
            return instance[:limit]
        return instance
    if kind is list:
        limit = schema.get("maxItems")
        if limit is not None and len(instance) > limit:
            found.append(SchemaError("maxItems", limit, None, schema, deque(path)))
            instance = instance[:limit]
        items = schema.get("items")
        return [_cut(x, items, [*path, i], found) for i, x in enumerate(instance)] if type(items) is dict else instance
    if kind is dict:
        props = schema.get("properties", {})
        out = {k: _cut(instance[k], s, [*path, k], found) for k, s in props.items() if k in instance}
        if len(out) < len(instance):
            extra = schema.get("additionalProperties", True)
            unexpected = islice((k for k in instance if k not in props), EXTRA_PROPERTIES_KEPT)
            # values of properties that are not allowed at all are never read; others keep their subschema's bounds
            out |= {k: None if extra is False else _cut(instance[k], extra, [*path, k], found) for k in unexpected}
        return out
    return instance


def _shallow(schema: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, _Part]]:
    """The top level without the item schemas of its arrays, and a compiled part per array's items."""
    top = copy.deepcopy(dict(schema))
    parts: dict[str, _Part] = {}
    for name, prop in top.get("properties", {}).items():
        if isinstance(prop, dict) and isinstance(prop.get("items"), dict):
            parts[name] = _Part(prop.pop("items"))
    return top, parts


class BoundedValidator:
    """`iter_errors(document)` like jsonschema's, at a cost bounded by the schema's sizes, not by the document's."""

    def __init__(self, schema: Mapping[str, Any]) -> None:
        self.schema = schema
        self.whole = _Part(schema)
        top, self.item_parts = _shallow(schema)
        self.top = _Part(top)

    def bounded(self, document: Any) -> Any:
        """The document with its top-level lists cut to their maxItems (and its other parts within their bounds)."""
        return _cut(document, self.top.schema, [], [])

    def iter_errors(self, document: Any) -> Iterator[SchemaError]:
        if self.whole.rs.is_valid(document):
            return
        found: list[SchemaError] = []
        view = _cut(document, self.top.schema, [], found)
        yield from self._reported(found, self.top.errors(view, []))
        if type(view) is not dict:
            return
        for name, part in self.item_parts.items():
            items = view.get(name)
            if type(items) is not list:
                continue
            for i, item in enumerate(items):
                if part.rs.is_valid(item):  # most items of most documents: no cut, no errors to build
                    continue
                found = []
                cut = _cut(item, part.schema, [name, i], found)
                yield from self._reported(found, part.errors(cut, [name, i]))

    @staticmethod
    def _reported(bounds: list[SchemaError], errors: Iterator[SchemaError]) -> Iterator[SchemaError]:
        """The broken bounds, then the other errors; a string cut to its maxLength is said once, by its length."""
        yield from bounds
        too_long = {tuple(e.absolute_path) for e in bounds if e.validator == "maxLength"}
        yield from (e for e in errors if tuple(e.absolute_path) not in too_long)
