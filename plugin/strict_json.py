"""Strict JSON at a bounded cost: UTF-8 only, no NaN/Infinity, no duplicate keys, no unpaired surrogates, bounded nesting.

Why not `json.loads` with an `object_pairs_hook`: a Python call per object made a 1 MB body of `{}`s cost ~110 ms.
Here every step over the whole body runs in C (orjson parses; bytes.count and orjson.dumps compare colons), and the
only Python loop (the nesting walk) stops after MAX_VALUES values, more than any findings document can hold.
"""

from __future__ import annotations

import gc
import json
import re
from itertools import chain
from typing import Any

import orjson

from plugin.errors import InputUnreadable, Issue, IssueType, Severity

MAX_DEPTH = 32
# A findings document at every schema maximum holds ~17,000 JSON values with 1.1's absentAttributes
# (tests/test_cost_budget.py builds it); past this many none can be one, and the walk below stops.
MAX_VALUES = 60_000
ESCAPED_COLON = re.compile(rb"\\u003[aA]")


def _fail(message: str) -> InputUnreadable:
    return InputUnreadable([Issue(Severity.ERROR, IssueType.STRUCTURE, message)])


def _why(body: bytes, exc: orjson.JSONDecodeError) -> str:
    """orjson's reason in our words (no input quoted); looked up at the failing position only: O(1)."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return "The body is not valid UTF-8."
    msg, at = str(exc.msg), body[exc.pos: exc.pos + 4]
    if "surrogate" in msg:
        return "A string holds an unpaired UTF-16 surrogate escape."
    if "depth" in msg:
        return f"The JSON is nested more than {MAX_DEPTH} levels deep."
    if "infinity" in msg:
        return "A number is too large to be represented."
    if at.startswith((b"NaN", b"Infi", b"-Inf")):
        return "NaN and Infinity are not allowed in JSON."
    return "The body is not well-formed JSON."


def _walk(document: Any) -> str | None:
    """Why the document is refused (too deep, too many values), or None. Level by level, so the depth is known without
    recursion; each level's size is summed (in C) before it is opened, so at most MAX_VALUES values are ever visited.
    Returns rather than raises: a traceback would keep this frame, and the document with it, alive."""
    level, depth, seen = [document], 0, 0
    while level:
        depth += 1
        if depth > MAX_DEPTH:
            return f"The JSON is nested more than {MAX_DEPTH} levels deep."
        seen += sum(map(len, level))
        if seen > MAX_VALUES:
            return f"The JSON holds more than {MAX_VALUES} values; no findings document has that many."
        children = list(chain.from_iterable(map(dict.values, [n for n in level if type(n) is dict])))
        children += chain.from_iterable([n for n in level if type(n) is list])
        level = [c for c in children if type(c) is dict or type(c) is list]
    return None


def _has_duplicate_keys(body: bytes, document: Any) -> bool:
    """Each member's ':' is in the body; colons in strings are in both the body and orjson's re-serialisation.

    orjson keeps one value per repeated key, so the body then has more colons than the document written back.
    A colon escaped as \\u003a would break the count: such (rare) bodies are checked by the standard parser.
    """
    if ESCAPED_COLON.search(body):
        try:
            json.loads(body, object_pairs_hook=_no_duplicates)
        except ValueError:
            return True
        return False
    return body.count(b":") != orjson.dumps(document).count(b":")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise ValueError("duplicate key")
    return out


def parse(body: bytes) -> Any:
    """The parsed document, or InputUnreadable saying why not (answered 400)."""
    if not body.strip():
        raise _fail("The request body is empty.")
    # A parsed document has no cycles: the collector would only rescan it. It stays off until the document is checked,
    # so a refused one is freed before the collector ever counts it (1 MB of nested arrays: ~50 ms less).
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _checked(body)
    finally:
        if enabled:
            gc.enable()


def _checked(body: bytes) -> Any:
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise _fail(_why(body, exc)) from None
    if type(document) is dict or type(document) is list:
        problem = _walk(document) or ("An object repeats a key." if _has_duplicate_keys(body, document) else None)
        if problem:
            del document  # freed now, while the collector is still off
            raise _fail(problem)
    return document
