"""The predicate language of knowledge packs, compiled once at load into closures over a Report.

Closed and three-valued: every test returns True, False or None (the report does not state it).
Operators: all / any / not, finding, history, age, sex, lab. See schemas/knowledge-pack.schema.json.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from plugin import units
from plugin.model import Fact, LabResult, Report, Truth

Test = Callable[[Report], Truth]


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """What a predicate may name; used to check references and expand site sets."""

    concepts: Mapping[str, str]  # id -> kind
    attributes: Mapping[str, frozenset[str]]  # id -> value ids
    sites: frozenset[str]
    site_sets: Mapping[str, frozenset[str]]
    lab_units: Mapping[str, tuple[str, float | None]]  # id -> (unit, molar mass)
    lab_max: Mapping[str, float]  # id -> plausible maximum in its unit (input sanity bound)


class PredicateError(ValueError):
    def __init__(self, path: str, reason: str) -> None:
        super().__init__(reason)
        self.path = path
        self.reason = reason


def and3(values: Iterable[Truth]) -> Truth:
    result: Truth = True
    for v in values:
        if v is False:
            return False
        if v is None:
            result = None
    return result


def or3(values: Iterable[Truth]) -> Truth:
    result: Truth = False
    for v in values:
        if v is True:
            return True
        if v is None:
            result = None
    return result


def compile_predicate(node: Mapping[str, Any], vocab: Vocabulary, path: str = "when") -> Test:
    """Compile one predicate node (already schema-valid) or raise PredicateError naming its path."""
    ((op, arg),) = node.items()
    compiler = OPERATORS.get(op)
    if compiler is None:
        raise PredicateError(f"{path}.{op}", f"unknown operator '{op}'")
    return compiler(arg, vocab, f"{path}.{op}")


def _all(arg: Any, vocab: Vocabulary, here: str) -> Test:
    parts = tuple(compile_predicate(p, vocab, f"{here}[{i}]") for i, p in enumerate(arg))

    def all_(r: Report) -> Truth:  # and3 over the parts, written out: this runs for every clue of every report
        result: Truth = True
        for p in parts:
            v = p(r)
            if v is False:
                return False
            if v is None:
                result = None
        return result

    return all_


def _any(arg: Any, vocab: Vocabulary, here: str) -> Test:
    parts = tuple(compile_predicate(p, vocab, f"{here}[{i}]") for i, p in enumerate(arg))

    def any_(r: Report) -> Truth:  # or3 over the parts, written out
        result: Truth = False
        for p in parts:
            v = p(r)
            if v is True:
                return True
            if v is None:
                result = None
        return result

    return any_


def _not(arg: Any, vocab: Vocabulary, here: str) -> Test:
    inner = compile_predicate(arg, vocab, here)

    def negate(r: Report) -> Truth:
        v = inner(r)
        return None if v is None else not v

    return negate


def _age(arg: Any, vocab: Vocabulary, here: str) -> Test:
    low, high = _days_range(arg)
    if high is not None and low is not None and low >= high:
        raise PredicateError(here, "age range can never hold: min is not below max")
    return lambda r: None if r.age_days is None else _in_range(r.age_days, low, high)


def _sex(arg: Any, vocab: Vocabulary, here: str) -> Test:
    return lambda r: None if r.sex not in ("female", "male") else r.sex == arg


def _finding(arg: Any, vocab: Vocabulary, here: str) -> Test:
    return _fact_test(arg, vocab, here, timed=False)


def _history(arg: Any, vocab: Vocabulary, here: str) -> Test:
    return _fact_test(arg, vocab, here, timed=True)


def _days_range(spec: Mapping[str, Any]) -> tuple[float | None, float | None]:
    low = units.to_days(spec["min"]["value"], spec["min"]["unit"]) if "min" in spec else None
    high = units.to_days(spec["max"]["value"], spec["max"]["unit"]) if "max" in spec else None
    return low, high


def _in_range(value: float, low: float | None, high: float | None) -> bool:
    return (low is None or value >= low) and (high is None or value < high)


def _fact_test(spec: Mapping[str, Any], vocab: Vocabulary, path: str, *, timed: bool) -> Test:
    concepts = (spec["concept"],) if isinstance(spec["concept"], str) else tuple(spec["concept"])
    for c in concepts:
        if c not in vocab.concepts:
            raise PredicateError(f"{path}.concept", f"concept '{c}' is not in the vocabulary")
    want_present = spec.get("status", "present") == "present"
    attrs: dict[str, frozenset[str]] = {}
    for name, values in spec.get("attributes", {}).items():
        if name not in vocab.attributes:
            raise PredicateError(f"{path}.attributes.{name}", f"attribute '{name}' is not in the vocabulary")
        unknown = set(values) - vocab.attributes[name]
        if unknown:
            raise PredicateError(f"{path}.attributes.{name}", f"value(s) {sorted(unknown)} not defined for '{name}'")
        attrs[name] = frozenset(values)
    sites: frozenset[str] | None = None
    if "site" in spec:
        expanded: set[str] = set()
        for s in spec["site"]:
            if s in vocab.site_sets:
                expanded |= vocab.site_sets[s]
            elif s in vocab.sites:
                expanded.add(s)
            else:
                raise PredicateError(f"{path}.site", f"'{s}' is neither a body site nor a site set")
        sites = frozenset(expanded)
    count = spec.get("count")
    size = spec.get("size")
    change = frozenset(spec["change"]) if "change" in spec else None
    onset = _days_range(spec["onset"]) if timed and "onset" in spec else None
    constrained = bool(attrs or sites or count or size or change)
    if not want_present and (constrained or onset):
        raise PredicateError(path, "a test for a finding stated absent cannot also constrain its attributes or timing")
    kinds = {vocab.concepts[c] for c in concepts}
    if constrained and kinds == {"history"}:
        raise PredicateError(path, "can never fire: history items carry no imaging attributes")
    if onset and kinds == {"finding"}:
        raise PredicateError(path, "can never fire: imaging findings carry no onset")

    attr_items = tuple(attrs.items())
    count_range = None if count is None else (count.get("min"), _exclusive(count.get("max")))
    size_range = None if size is None else (size.get("min_mm"), size.get("max_mm"))

    def entry(f: Fact) -> Truth:  # and3 over the stated constraints, written out: false wins, then unknown
        if f.present != want_present:
            return False
        if not want_present:
            return True
        result: Truth = True
        for name, accepted in attr_items:
            v = _attribute(f.attributes.get(name), f.absent_attributes.get(name), accepted)
            if v is False:
                return False
            if v is None:
                result = None
        if sites is not None:
            if f.site is None:
                result = None
            elif f.site not in sites:
                return False
        if count_range is not None:
            if f.count is None:
                result = None
            elif not _in_range(f.count, *count_range):
                return False
        if size_range is not None:
            if f.size_mm is None:
                result = None
            elif not _in_range(f.size_mm, *size_range):
                return False
        if change is not None:
            if f.change is None:
                result = None
            elif f.change not in change:
                return False
        if onset is not None:
            if f.onset_days is None:
                result = None
            elif not _in_range(f.onset_days, *onset):
                return False
        return result

    # only present / absent is asked (no constraint at all, not even an empty one): entry(f) is f.present == want_present
    plain = not attrs and sites is None and count is None and size is None and change is None and onset is None

    def test(r: Report) -> Truth:  # or3 of entry() over the facts of the concepts; unknown when there are none
        get = r.by_concept.get
        seen = False
        result: Truth = False
        for c in concepts:
            for f in get(c, ()):
                seen = True
                v = (f.present == want_present) if plain else entry(f)
                if v is True:
                    return True
                if v is None:
                    result = None
        return result if seen else None

    return test


def _attribute(stated: frozenset[str] | None, absent: frozenset[str] | None, accepted: frozenset[str]) -> Truth:
    """True when a stated value is accepted; false when other values are stated or every accepted one is stated absent."""
    if stated and stated & accepted:
        return True
    if stated or (absent is not None and accepted <= absent):
        return False
    return None


def _exclusive(max_inclusive: int | None) -> int | None:
    return None if max_inclusive is None else max_inclusive + 1


def _lab_test(spec: Mapping[str, Any], vocab: Vocabulary, path: str) -> Test:
    test_id = spec["test"]
    if test_id not in vocab.lab_units:
        raise PredicateError(f"{path}.test", f"lab '{test_id}' is not in the vocabulary")
    unit, molar_mass = vocab.lab_units[test_id]
    ((kind, arg),) = ((k, v) for k, v in spec.items() if k != "test")

    def bound(q: Mapping[str, Any]) -> float:
        """A bound stated in any unit, in the test's own unit."""
        factor = units.converter(q["unit"], unit, molar_mass)
        if factor is None:
            raise PredicateError(f"{path}.{kind}.unit", f"'{q['unit']}' does not convert to {unit}")
        return float(q["value"]) * factor

    compare = LAB_COMPARISONS.get(kind)
    if compare is None:  # pragma: no cover - the pack schema admits no other key
        raise PredicateError(path, f"unknown lab comparison '{kind}'")
    one = compare(arg, bound)
    return lambda r: or3(one(x) for x in r.labs_by_test.get(test_id, ())) if test_id in r.labs_by_test else None


def _high(x: LabResult) -> Truth:
    if x.value is not None and x.high is not None:
        return x.value > x.high
    return {"H": True, "HH": True, "N": False, "L": False, "LL": False}.get(x.flag or "")


def _low(x: LabResult) -> Truth:
    if x.value is not None and x.low is not None:
        return x.value < x.low
    return {"L": True, "LL": True, "N": False, "H": False, "HH": False}.get(x.flag or "")


def _normal(x: LabResult) -> Truth:
    if x.flag == "N" and x.value is None:
        return True
    h, lo = _high(x), _low(x)
    return and3([None if h is None else not h, None if lo is None else not lo])


def _above(arg: Any, bound: Callable[[Mapping[str, Any]], float]) -> Callable[[LabResult], Truth]:
    limit = bound(arg)
    return lambda x: None if x.value is None else x.value > limit


def _below(arg: Any, bound: Callable[[Mapping[str, Any]], float]) -> Callable[[LabResult], Truth]:
    limit = bound(arg)
    return lambda x: None if x.value is None else x.value < limit


def _uln_multiple(arg: Any, bound: Callable[[Mapping[str, Any]], float]) -> Callable[[LabResult], Truth]:
    n = float(arg)
    return lambda x: None if x.value is None or x.high is None else x.value >= n * x.high


# One lab result against one comparison: true / false / unknown. Keyed by the pack schema's comparison names.
LAB_COMPARISONS: dict[str, Callable[[Any, Callable[[Mapping[str, Any]], float]], Callable[[LabResult], Truth]]] = {
    "high": lambda arg, bound: _high,
    "low": lambda arg, bound: _low,
    "normal": lambda arg, bound: _normal,
    "above": _above,
    "below": _below,
    "uln_multiple_at_least": _uln_multiple,
}

# The predicate language's operators (schemas/knowledge-pack.schema.json#/$defs/predicate), each compiled once.
OPERATORS: dict[str, Callable[[Any, Vocabulary, str], Test]] = {
    "all": _all, "any": _any, "not": _not, "finding": _finding, "history": _history, "age": _age, "sex": _sex, "lab": _lab_test,
}
