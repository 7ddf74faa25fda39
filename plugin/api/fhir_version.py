"""FHIR version negotiation: the Accept header's fhirVersion parameter -> a version we write (4.0 unless asked otherwise).

One small function, so that check_accept (plugin/api/request_body.py) can answer 406 where it returns None.
"""

from __future__ import annotations

SUPPORTED = ("4.0", "5.0")
DEFAULT = "4.0"
FHIR_TYPES = ("application/fhir+json", "application/json", "application/*", "*/*")


def _q(params: dict[str, str]) -> float:
    try:
        return float(params.get("q", "1"))
    except ValueError:
        return 0.0


def negotiate(accept: str | None) -> str | None:
    """The FHIR version to answer in: the best-weighted acceptable media range's fhirVersion (none named: DEFAULT);
    None when every acceptable range names only versions we do not write (or no range is acceptable at all)."""
    if not accept or not accept.strip():
        return DEFAULT
    best: tuple[float, int, str] | None = None
    for position, part in enumerate(accept.split(",")):
        media, *raw = [p.strip() for p in part.split(";")]
        params = {k.strip().lower(): v.strip().strip('"') for k, _, v in (p.partition("=") for p in raw)}
        if media.lower() not in FHIR_TYPES or _q(params) <= 0:
            continue
        version = params.get("fhirversion", DEFAULT)
        version = version[:3] if version.count(".") >= 1 else version  # 5.0.0 -> 5.0, as the spec's mime-type parameter
        if version not in SUPPORTED:
            continue
        candidate = (_q(params), -position, version)
        if best is None or candidate > best:
            best = candidate
    return best[2] if best else None


def media_type(version: str) -> str:
    return f"application/fhir+json; fhirVersion={version}"
