"""Content negotiation on the Accept header (RFC 9110 §12.5.1) with FHIR's `fhirVersion` media-type parameter.

FHIR (R4 http.html §3.1.0.1.9): a client names the version it wants as `application/fhir+json; fhirVersion=4.0`, and a
server that does not offer that version answers 406. Each media range is matched the RFC's way: the most specific range
that matches an offer decides its quality, and quality 0 means "not acceptable" (so `application/fhir+json;q=0, */*`
refuses FHIR JSON even though `*/*` would take it). A range naming another fhirVersion does not match our offer.

FHIR_VERSIONS maps each version this service can write to its media type: R4 only today; FHIR R5 would be one more
entry (and a renderer), nothing here changes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

FHIR_VERSIONS = {"4.0": "application/fhir+json; fhirVersion=4.0",  # major.minor, as FHIR's fhirVersion parameter
                 "5.0": "application/fhir+json; fhirVersion=5.0"}
DEFAULT_VERSION = "4.0"  # answered when the client names no version (or accepts several equally)
# application/json is FHIR's accepted synonym; it is what GET /knowledge and friends answer.
PRODUCED = ("application/fhir+json", "application/json")

# One media range: type/subtype, then ;name=value parameters (a value may be a quoted string holding , or ;).
_RANGE = re.compile(r'\s*([^\s;,]+)\s*((?:;\s*[^\s;,=]+\s*=\s*(?:"(?:[^"\\]|\\.)*"|[^\s;,"]*)\s*)*)(?:,|$)')
_PARAM = re.compile(r';\s*([^\s;,=]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s;,"]*)')


@dataclass(frozen=True)
class MediaRange:
    type: str
    subtype: str
    params: dict[str, str]
    q: float

    def matches(self, media: str, version: str) -> bool:
        kind, sub = media.split("/")
        wanted = self.params.get("fhirversion")
        return (self.type in ("*", kind) and self.subtype in ("*", sub)
                and (wanted is None or ".".join(wanted.split(".")[:2]) == version))

    @property
    def specificity(self) -> int:
        return (self.type != "*") + (self.subtype != "*") + len(self.params)


def parse(header: str) -> list[MediaRange] | None:
    """The ranges of an Accept header; None when it is not one (answered 406 too: nothing acceptable can be read)."""
    out, at = [], 0
    while at < len(header):
        m = _RANGE.match(header, at)
        if m is None or m.end() == at:
            return None
        at = m.end()
        media, raw = m.group(1).lower(), m.group(2)
        if media.count("/") != 1:
            return None
        params = {k.lower(): v.strip('"') for k, v in _PARAM.findall(raw)}
        try:
            q = float(params.pop("q", "1"))
        except ValueError:
            return None
        kind, sub = media.split("/")
        out.append(MediaRange(kind, sub, params, q))
    return out


def quality(ranges: list[MediaRange], media: str, version: str) -> float:
    """The client's quality for `media` in FHIR `version`: that of the most specific range matching it, else 0."""
    matching = [r for r in ranges if r.matches(media, version)]
    if not matching:
        return 0.0
    top = max(r.specificity for r in matching)
    return max(r.q for r in matching if r.specificity == top)


def fhir_version(header: str | None) -> str | None:
    """The FHIR version to answer in, or None when the client accepts nothing this service writes (406)."""
    if not header or not header.strip():
        return DEFAULT_VERSION
    ranges = parse(header)
    if ranges is None:
        return None
    scored = [(quality(ranges, media, version), version == DEFAULT_VERSION, version) for version in FHIR_VERSIONS for media in PRODUCED]
    best = max(scored)  # the highest quality; on a tie the default version
    return best[2] if best[0] > 0 else None
