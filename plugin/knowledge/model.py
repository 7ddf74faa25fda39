"""A loaded knowledge pack as immutable values, shared read-only by every request."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from plugin.knowledge.form import Form
from plugin.knowledge.intervals import Intervals
from plugin.knowledge.predicates import Test, Vocabulary
from plugin.model import ClueOutcome, Coding, EffectKind, Likelihood


@dataclass(frozen=True, slots=True)
class SiteCodes:
    """ICD-10-CM leaves built from the index lesion's site and laterality; every buildable code checked at load."""

    by_site: Mapping[str, str]  # site id -> code prefix
    laterality: Mapping[str, str]  # right / left / unspecified -> last character
    other_site: str | None
    other_sites: frozenset[str]
    multiple_sites: str | None
    displays: Mapping[str, str]  # every code it can build -> official display


@dataclass(frozen=True, slots=True)
class Diagnosis:
    id: str
    display: str
    group: str
    frequency: str
    prior: float
    usual_age: tuple[float | None, float | None] | None  # days
    usual_age_text: str | None
    usual_age_sources: tuple[str, ...]
    usual_age_onset_of: frozenset[str]  # concepts whose stated onset gives the age at onset to check instead
    codes: tuple[Coding, ...]
    missing_standard_code: str | None
    outside_pack: bool
    sources: tuple[str, ...]
    site_codes: SiteCodes | None = None


@dataclass(frozen=True, slots=True)
class Effect:
    diagnosis: str
    effect: EffectKind
    weight: float
    reason: str
    signed: float  # score points it would move, for how far a test separates two diagnoses (pack scoring.next_step)


@dataclass(frozen=True, slots=True)
class Clue:
    id: str
    statement: str
    test: Test
    effects: tuple[Effect, ...]
    sources: tuple[str, ...]
    concepts: frozenset[str]
    labs: frozenset[str]


@dataclass(frozen=True, slots=True)
class Discriminator:
    id: str
    statement: str
    kind: str
    resolves: tuple[str, ...]
    sources: tuple[str, ...]
    effects: tuple[Mapping[str, float], ...] = ()  # per clue it resolves that moves a score: diagnosis -> signed points
    moves: frozenset[str] = frozenset()  # every diagnosis one of those clues moves: a test separates only these


@dataclass(frozen=True, slots=True)
class CautionRule:
    id: str
    diagnosis: str
    statement: str
    within_rank: int
    avoid: frozenset[str]
    sources: tuple[str, ...]
    when: Test | None = None  # its own evidence: shown only when true for the report
    unless: Test | None = None  # shown only when this is not true
    overriding: bool = False  # a safety caution for the header
    headline: str | None = None


@dataclass(frozen=True, slots=True)
class Pack:
    id: str
    version: str
    title: str
    code_system_base: str
    scope_statement: str
    scope: Test
    intended_use: str
    limitations: tuple[str, ...]
    age_penalty: float
    min_score: float
    likelihood: tuple[tuple[float, Likelihood, str], ...]  # (min score, band, display), highest first
    sources: Mapping[str, Mapping[str, Any]]
    vocabulary: Vocabulary
    raw: Mapping[str, Any]  # the parsed files, for /knowledge and code-system publication
    groups: Mapping[str, str]
    diagnoses: Mapping[str, Diagnosis]  # in file order
    clues: tuple[Clue, ...]
    discriminators: tuple[Discriminator, ...]
    cautions: tuple[CautionRule, ...]
    codes: Mapping[tuple[str, str], tuple[str, str]]  # (system, code) -> (kind, id)
    displays: Mapping[tuple[str, str], str]  # (kind, id) -> display; kinds: concept, lab, site, attribute, value
    scope_concepts: frozenset[str]  # the concepts whose findings put a report in scope: the index lesion
    unstated: Mapping[tuple[str, str], ClueOutcome]  # (clue, diagnosis) -> the outcome listed when the clue is unknown
    next_step_neighbours: int  # how many closest competitors a next step should separate a diagnosis from
    form: Form  # how the differential reads: families, own next steps, label rules, population
    clinical_only: bool = False  # whether a document without an imaging study can be in scope
    supported_by: Mapping[str, int] = field(default_factory=dict)  # clue id -> how many diseases it supports (families once)
    intervals: Intervals = field(default_factory=dict)  # lab id -> children's reference intervals (pack.yaml)

    def display(self, kind: str, ident: str) -> str:
        return self.displays.get((kind, ident), ident)

    def system(self, kind: str) -> str:
        """The pack's own code system of a kind: concept, attribute, attribute-value, body-site, diagnosis, group."""
        return f"{self.code_system_base}-{kind}"
