"""What a pack says about how its differential reads: families of variants, each diagnosis's own next steps, the
population it is written for and the rules that keep its likelihood labels honest. Checked at load like the rest."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from plugin import units
from plugin.knowledge.checker import Checker
from plugin.model import Likelihood


@dataclass(frozen=True, slots=True)
class LabelRule:
    specific_weight: float  # a band above the cap needs a supporting clue of at least this many points
    strong_against_weight: float  # an opposing clue of at least this many points caps the band
    cap: Likelihood
    shown_if_shared_by_at_most: int | None = None  # None: any supporting finding may be shown "for"


@dataclass(frozen=True, slots=True)
class Population:
    statement: str
    min_days: float | None
    max_days: float | None


@dataclass(frozen=True, slots=True)
class Form:
    families: Mapping[str, tuple[str, str]]  # diagnosis id -> (family id, family display)
    named_only_with: Mapping[str, frozenset[str]]  # member -> clue ids, one of which must be true for it to name its family
    own_steps: Mapping[str, tuple[str, ...]]  # diagnosis id -> its own next steps (discriminator ids), preferred first
    labels: LabelRule
    population: Population | None


def build_form(manifest: Mapping[str, Any], dia: Mapping[str, Any], diagnoses: set[str], discriminators: set[str],
               check: Checker, clues: frozenset[str] = frozenset()) -> Form:
    families: dict[str, tuple[str, str]] = {}
    named_only_with: dict[str, frozenset[str]] = {}
    for i, fam in enumerate(dia.get("families", [])):
        for member, needs in fam.get("named_only_with", {}).items():
            if member not in fam["members"]:
                check.add("diagnoses.yaml", f"families[{i}].named_only_with.{member}", f"'{member}' is not a member of this family")
            for ref in needs:
                if ref not in clues:
                    check.add("diagnoses.yaml", f"families[{i}].named_only_with.{member}", f"clue '{ref}' is not defined")
            named_only_with[member] = frozenset(needs)
        for j, member in enumerate(fam["members"]):
            where = f"families[{i}].members[{j}]"
            if member not in diagnoses:
                check.add("diagnoses.yaml", where, f"diagnosis '{member}' is not defined")
            elif member in families:
                check.add("diagnoses.yaml", where, f"'{member}' is already a member of family '{families[member][0]}'")
            families[member] = (fam["id"], fam["display"])
    steps: dict[str, tuple[str, ...]] = {}
    for dx, refs in dia.get("next_steps", {}).items():
        if dx not in diagnoses:
            check.add("diagnoses.yaml", f"next_steps.{dx}", f"diagnosis '{dx}' is not defined")
        for j, ref in enumerate(refs):
            if ref not in discriminators:
                check.add("diagnoses.yaml", f"next_steps.{dx}[{j}]", f"discriminator '{ref}' is not defined")
        steps[dx] = tuple(refs)
    rule = manifest["scoring"]["labels"]
    labels = LabelRule(float(rule["specific_weight"]), float(rule["strong_against_weight"]), Likelihood(rule["cap"]),
                       rule.get("shown_if_shared_by_at_most"))
    pop = manifest.get("population")
    population = None
    if pop:
        age = pop.get("age", {})
        population = Population(pop["statement"], _days(age.get("min")), _days(age.get("max")))
    return Form(families, named_only_with, steps, labels, population)


def _days(quantity: Mapping[str, Any] | None) -> float | None:
    return None if quantity is None else units.to_days(quantity["value"], quantity["unit"])
