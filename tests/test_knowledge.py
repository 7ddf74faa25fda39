"""Knowledge packs load whole or fail at start-up with file, path and reason."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from plugin import load_knowledge
from plugin.errors import PackInvalid
from plugin.knowledge.check import check_packs
from tests.conftest import MINI_PACKS


def broken_pack(tmp_path: Path, filename: str, mutate: Callable[[Any], Any] | None = None, text: str | None = None) -> Path:
    root = tmp_path / "packs"
    shutil.copytree(MINI_PACKS, root)
    file = root / "mini" / filename
    if text is not None:
        file.write_text(text, encoding="utf-8")
    else:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
        mutate(data)  # type: ignore[misc]
        file.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return root


def problems_of(root: Path) -> list[str]:
    with pytest.raises(PackInvalid) as info:
        load_knowledge(root)
    return [str(p) for p in info.value.problems]


def test_mini_pack_loads(mini: Any) -> None:
    pack = mini.packs[0]
    assert (pack.id, pack.version, len(pack.clues)) == ("mini", "1.0.0", 6)


@pytest.mark.parametrize(
    ("filename", "mutate", "where", "reason"),
    [
        ("clues.yaml", lambda d: d["clues"][0]["effects"].__setitem__(0, {**d["clues"][0]["effects"][0], "diagnosis": "nobody"}),
         "clues.yaml: clues[0].effects[0].diagnosis", "'nobody' is not defined"),
        ("clues.yaml", lambda d: d["clues"][0].__setitem__("when", {"frobnicate": {}}), "clues.yaml: clues[0].when", ""),
        ("clues.yaml", lambda d: d["clues"].append(dict(d["clues"][0])), "clues.yaml: clues[6].id", "duplicate id 'bone'"),
        ("clues.yaml", lambda d: d["clues"][0]["when"]["finding"].__setitem__("concept", "unicorn"),
         "clues.yaml: clues[0].when.finding.concept", "'unicorn' is not in the vocabulary"),
        ("clues.yaml", lambda d: d["clues"][0]["when"]["finding"]["attributes"].__setitem__("mineral", ["wood"]),
         "clues.yaml: clues[0].when.finding.attributes.mineral", "not defined for 'mineral'"),
        ("clues.yaml", lambda d: d["clues"][0].__setitem__("source", ["nowhere"]), "clues.yaml: clues[0].source[0]", "not declared"),
        ("clues.yaml", lambda d: d["clues"][0]["effects"][0].pop("weight"), "clues.yaml: clues[0].effects[0]", "weight"),
        ("clues.yaml", lambda d: d["clues"][4]["when"]["lab"].__setitem__("test", "unobtainium"),
         "clues.yaml: clues[4].when.lab.test", "not in the vocabulary"),
        ("clues.yaml", lambda d: d["clues"][1]["when"]["finding"].__setitem__("concept", "trauma"),
         "clues.yaml: clues[1].when.finding", "can never fire"),
        ("diagnoses.yaml", lambda d: d["diagnoses"][1]["codes"][0].__setitem__("code", "E83 52!"),
         "diagnoses.yaml: diagnoses[1].codes[0].code", ""),
        ("diagnoses.yaml", lambda d: d["diagnoses"][0].__setitem__("group", "nogroup"), "diagnoses.yaml: diagnoses[0].group", "not defined"),
        ("discriminators.yaml", lambda d: d["discriminators"][0]["resolves"].append("ghost"),
         "discriminators.yaml: discriminators[0].resolves[2]", "clue 'ghost' is not defined"),
        ("cautions.yaml", lambda d: d["cautions"][0].__setitem__("avoid_discriminators", ["ghost"]),
         "cautions.yaml: cautions[0].avoid_discriminators[0]", "not defined"),
        ("vocabulary.yaml", lambda d: d["labs"][0].__setitem__("unit", "furlongs"), "vocabulary.yaml: labs[0].unit", "not a supported UCUM unit"),
        ("pack.yaml", lambda d: d.__setitem__("version", "one"), "pack.yaml: version", ""),
    ],
    ids=["undefined-diagnosis", "unknown-operator", "duplicate-id", "unknown-concept", "unknown-attribute-value", "unknown-source",
         "weight-missing", "unknown-lab", "never-fires", "malformed-code", "unknown-group", "unknown-clue", "unknown-discriminator",
         "bad-unit", "bad-version"],
)
def test_broken_pack_fails_with_file_path_and_reason(tmp_path: Path, filename: str, mutate: Any, where: str, reason: str) -> None:
    problems = problems_of(broken_pack(tmp_path, filename, mutate))
    assert any(where in p and reason in p for p in problems), problems


def test_bad_yaml_names_the_file(tmp_path: Path) -> None:
    problems = problems_of(broken_pack(tmp_path, "clues.yaml", text="clues: [unclosed\n"))
    assert any("clues.yaml" in p and "not valid YAML" in p for p in problems), problems


def test_every_problem_is_reported_not_only_the_first(tmp_path: Path) -> None:
    def two(d: Any) -> None:
        d["clues"][0]["effects"][0]["diagnosis"] = "nobody"
        d["clues"][1]["source"] = ["nowhere"]

    assert len(problems_of(broken_pack(tmp_path, "clues.yaml", two))) >= 2


def test_pack_check_verifies_icd10cm_codes_against_the_official_tables(tmp_path: Path) -> None:
    def wrong_display(d: Any) -> None:
        d["diagnoses"][1]["codes"][0]["display"] = "Too much calcium"

    root = broken_pack(tmp_path, "diagnoses.yaml", wrong_display)
    record = root / "mini" / "codes.yaml"  # the pack's own record agrees, so only the official tables can catch it
    record.write_text(record.read_text(encoding="utf-8").replace("display: Hypercalcemia", "display: Too much calcium"), encoding="utf-8")
    problems, _ = check_packs(root / "mini")
    assert any("E83.52 display should be 'Hypercalcemia'" in str(p) for p in problems)


def test_shipped_packs_pass_pack_check() -> None:
    problems, report = check_packs()
    assert problems == [], "\n".join(map(str, problems))
    assert report


def test_pack_check_catches_a_site_code_table_that_drifted_from_the_official_tables(tmp_path: Path) -> None:
    import json

    from plugin.paths import MAPPINGS_DIR

    root = tmp_path / "packs"
    shutil.copytree(MAPPINGS_DIR / "soft-tissue-calcification", root / "stc")
    table_file = root / "stc" / "icd10cm-leaves.json"
    table = json.loads(table_file.read_text(encoding="utf-8"))
    table["codes"]["M61.052"] = "Myositis ossificans, left leg"
    table_file.write_text(json.dumps(table), encoding="utf-8")
    problems, _ = check_packs(root / "stc")
    assert any("icd10cm-leaves.json" in str(p) and "differs from the official tables" in str(p) for p in problems)
    del table["codes"]["M61.052"]
    table_file.write_text(json.dumps(table), encoding="utf-8")
    assert any("M61.052" in p and "not a leaf in icd10cm-leaves.json" in p for p in problems_of(root))
