"""Domain values: the normalised report (stage 2 output) and the result (stage 4 output).

One result model feeds every output form: FHIR Bundle, contained DiagnosticReport, CLI, harness.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from plugin.errors import Issue

Truth = bool | None  # three-valued: None = the report does not state it


class FactKind(StrEnum):
    FINDING = "finding"
    HISTORY = "history"


class EffectKind(StrEnum):
    """What a clue does to a diagnosis when it is true (required: when it is false)."""

    SUPPORTS = "supports"
    OPPOSES = "opposes"
    REQUIRED = "required"
    EXCLUDES = "excludes"
    AGE = "age"  # not a clue's: the age-outside-usual-range adjustment


class Likelihood(StrEnum):
    """The bands of http://terminology.hl7.org/CodeSystem/risk-probability a pack's likelihood labels use."""

    NEGLIGIBLE = "negligible"
    LOW = "low"
    MODERATE = "moderate"
    HIGH = "high"
    CERTAIN = "certain"


@dataclass(frozen=True, slots=True)
class Coding:
    system: str
    code: str
    display: str | None = None

    def as_fhir(self) -> dict[str, str]:
        out = {"system": self.system, "code": self.code}
        if self.display is not None:
            out["display"] = self.display
        return out


@dataclass(frozen=True, slots=True)
class Fact:
    """A stated imaging finding or history item, with its pack concept (None when unknown)."""

    id: str
    kind: FactKind
    index: int  # position in its input list, for paths and output order
    coding: Coding
    concept: str | None
    present: bool
    study: str | None = None
    site: str | None = None
    site_coding: Coding | None = None
    laterality: str | None = None
    attributes: Mapping[str, frozenset[str]] = field(default_factory=dict)
    attribute_order: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    absent_attributes: Mapping[str, frozenset[str]] = field(default_factory=dict)  # values stated not there (1.1)
    size_mm: float | None = None
    size: tuple[float, str] | None = None
    count: int | None = None
    change: str | None = None
    interval: tuple[float, str] | None = None
    onset_days: float | None = None
    onset: tuple[float, str] | None = None
    onset_date: str | None = None
    date: str | None = None  # date of the study that showed it
    note: str | None = None
    # The pack's own codings, resolved while reading so that writers never consult the knowledge again:
    pack_coding: Coding | None = None  # the concept in the pack's system, when the input used a standard code
    site_pack_coding: Coding | None = None
    attribute_codings: tuple[tuple[Coding, Coding], ...] = ()  # (attribute, value) in input order
    absent_attribute_codings: tuple[tuple[Coding, Coding], ...] = ()


@dataclass(frozen=True, slots=True)
class LabResult:
    id: str
    index: int
    coding: Coding
    test: str | None  # pack lab id; None when unknown
    value: float | None  # in the pack's unit for the test
    low: float | None
    high: float | None
    flag: str | None
    raw_value: tuple[float, str] | None = None
    raw_range: tuple[float | None, float | None] | None = None
    date: str | None = None
    pack_coding: Coding | None = None  # the test in the pack's system, when the input used a standard code


@dataclass(frozen=True, slots=True)
class Report:
    subject: str | None
    sex: str | None
    age_days: float | None
    report_codings: tuple[Coding, ...]
    study_date: str | None  # the document's date, else the latest study's: the one being reported
    facts: tuple[Fact, ...]
    labs: tuple[LabResult, ...]
    by_concept: Mapping[str, tuple[Fact, ...]]
    labs_by_test: Mapping[str, tuple[LabResult, ...]]
    warnings: tuple[Issue, ...] = ()
    clinical_only: bool = False  # no imaging study listed: findings from a clinical examination (schema 1.1)


@dataclass(frozen=True, slots=True)
class ClueOutcome:
    """What one clue did to one diagnosis in this report."""

    clue_id: str
    statement: str
    effect: EffectKind
    weight: float
    reason: str
    sources: tuple[str, ...]
    fact_ids: tuple[str, ...] = ()  # 'finding:<id>', 'history:<id>', 'lab:<id>': what the clue rests on
    specific: bool = True  # worth a place on the diagnosis's line (pack.yaml scoring.labels): not a finding many share


@dataclass(frozen=True, slots=True)
class NextStep:
    discriminator_id: str
    statement: str
    kind: str
    neighbours: tuple[str, ...]
    separation: float
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Caution:
    id: str
    statement: str
    sources: tuple[str, ...]
    headline: str | None = None  # an overriding safety caution's header line
    forbids: tuple[str, ...] = ()  # next steps (discriminator ids) it forbids: an overriding safety caution when not empty


@dataclass(frozen=True, slots=True)
class Candidate:
    rank: int
    diagnosis_id: str
    display: str
    group_id: str
    group_display: str
    codes: tuple[Coding, ...]
    score: float
    likelihood: Likelihood
    likelihood_display: str
    supporting: tuple[ClueOutcome, ...]
    opposing: tuple[ClueOutcome, ...]
    not_stated: tuple[ClueOutcome, ...]
    next_step: NextStep | None
    cautions: tuple[Caution, ...]
    outside_pack: bool
    sources: tuple[str, ...]
    pack_coding: Coding  # the diagnosis in its pack's code system
    group_coding: Coding
    family: str | None = None  # the disease this diagnosis is a variant of (one entry per family)
    label_note: str | None = None  # why the label is lower than the score alone would give


@dataclass(frozen=True, slots=True)
class FiredEffect:
    diagnosis: str
    effect: EffectKind
    weight: float
    reason: str


@dataclass(frozen=True, slots=True)
class ClueTrace:
    """One clue of a pack against this report: its truth and the effects that fired (for `ddx explain`)."""

    clue_id: str
    statement: str
    truth: Truth
    fired: tuple[FiredEffect, ...]


@dataclass(frozen=True, slots=True)
class PackResult:
    pack_id: str
    pack_version: str
    pack_title: str
    intended_use: str
    in_scope: bool
    scope_reason: str
    candidates: tuple[Candidate, ...]
    excluded: tuple[tuple[str, str], ...]  # (diagnosis id, reason)
    clue_truths: Mapping[str, Truth]
    trace: Mapping[str, Any]
    clues: tuple[ClueTrace, ...] = ()
    header: tuple[str, ...] = ()  # the data and scope checks the radiologist reads first
    overriding: tuple[Caution, ...] = ()  # safety cautions that override the rest of the form
    questions: tuple[NextStep, ...] = ()  # the open questions whose answers would most change the ranking


@dataclass(frozen=True, slots=True)
class Result:
    report: Report
    packs: tuple[PackResult, ...]

    @property
    def in_scope(self) -> tuple[PackResult, ...]:
        return tuple(p for p in self.packs if p.in_scope)

    @property
    def candidates(self) -> tuple[Candidate, ...]:
        return tuple(c for p in self.in_scope for c in p.candidates)
