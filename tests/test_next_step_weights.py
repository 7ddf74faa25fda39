"""The next step weighs 'required' and 'excludes' clues by the pack's scoring.next_step, not by constants in code."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from plugin import engine, load_knowledge
from tests.conftest import MINI_PACKS, mini_doc


def pack_with(tmp_path: Path, **next_step: float) -> Path:
    shutil.copytree(MINI_PACKS, tmp_path, dirs_exist_ok=True)
    manifest = tmp_path / "mini" / "pack.yaml"
    data = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    data["scoring"]["next_step"].update(next_step)
    manifest.write_text(yaml.safe_dump(data), encoding="utf-8")
    # one more test that settles only the 'excludes' clue (toe anomaly stated absent)
    discriminators = tmp_path / "mini" / "discriminators.yaml"
    d = yaml.safe_load(discriminators.read_text(encoding="utf-8"))
    d["discriminators"].append({"id": "toes", "statement": "Radiograph of the great toes", "kind": "imaging",
                                "resolves": ["toes-normal"], "source": ["test"]})
    discriminators.write_text(yaml.safe_dump(d), encoding="utf-8")
    return tmp_path


def steps(root: Path) -> list[str]:
    """The footer's questions: the open tests that best separate the leading diagnosis from its competitors."""
    doc = mini_doc()  # bone calcification of the hip: mineral stated, toes and phosphate not
    doc["findings"][0]["attributes"] = {"pattern": ["rim"]}  # mineral unknown: CT and biopsy stay open
    result = engine.result_of(doc, load_knowledge(root))
    return [q.discriminator_id for p in result.in_scope for q in p.questions]


def test_the_excludes_weight_of_the_pack_decides_whether_a_test_that_could_exclude_is_worth_doing(tmp_path: Path) -> None:
    heavy = steps(pack_with(tmp_path / "a", excludes_weight=-50.0))
    none = steps(pack_with(tmp_path / "b", excludes_weight=0.0))
    assert "toes" in heavy, heavy
    assert "toes" not in none, none

