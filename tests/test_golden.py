"""Golden outputs: what every sample report produces, in every output form, pinned.

Ids and timestamps are made deterministic by injecting them (no normalising after the fact). One full output per form
is kept readable in tests/golden/; every sample in every form is pinned by the SHA-256 of its canonical JSON.
Regenerate after an intended change with `python -m pytest tests/test_golden.py --update-golden` and review the diff.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from itertools import count
from pathlib import Path
from typing import Any

import pytest

from plugin import engine
from plugin.knowledge.catalog import Catalog
from tests.conftest import SAMPLES, sample_paths

GOLDEN = Path(__file__).parent / "golden"
SHAPES = ("bundle", "contained", "message", "transaction")
SHOWN = "soft-tissue-calcification/061-fop-neck-back-bridges-great-toes"  # a caution, labs, history: most of the form
FIXED_NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def ids() -> Callable[[], str]:
    n = count(1)
    return lambda: f"00000000-0000-4000-8000-{next(n):012d}"


def output(document: Any, catalog: Catalog, shape: str) -> dict[str, Any]:
    return engine.evaluate(document, catalog, shape, new_id=ids(), now=lambda: FIXED_NOW)


def canonical(data: Any) -> str:
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def all_outputs(catalog: Catalog) -> dict[str, str]:
    digests = {}
    for path in sample_paths():
        name = str(path.relative_to(SAMPLES).with_suffix(""))
        document = json.loads(path.read_text(encoding="utf-8"))
        for shape in SHAPES:
            digests[f"{name} {shape}"] = hashlib.sha256(canonical(output(document, catalog, shape)).encode()).hexdigest()
    return digests


def test_every_sample_in_every_form_equals_its_golden_output(catalog: Catalog, update_golden: bool) -> None:
    file = GOLDEN / "digests.json"
    now = all_outputs(catalog)
    if update_golden:
        file.write_text(json.dumps(now, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    pinned = json.loads(file.read_text(encoding="utf-8"))
    changed = sorted(k for k in pinned.keys() | now.keys() if pinned.get(k) != now.get(k))
    assert not changed, f"{len(changed)} outputs changed, e.g. {changed[:5]} (review, then --update-golden)"


@pytest.mark.parametrize("shape", SHAPES)
def test_one_output_per_form_is_pinned_readably(catalog: Catalog, update_golden: bool, shape: str) -> None:
    file = GOLDEN / f"{SHOWN.rsplit('/', 1)[1]}.{shape}.json"
    document = json.loads((SAMPLES / f"{SHOWN}.json").read_text(encoding="utf-8"))
    now = output(document, catalog, shape)
    if update_golden:
        file.write_text(json.dumps(now, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    assert now == json.loads(file.read_text(encoding="utf-8"))
