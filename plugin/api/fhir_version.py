"""FHIR version negotiation for the routes: which version to write and the Content-Type that says so.

The Accept header is read once, the RFC 9110 way, by plugin/api/accept.py (which also answers 406 through check_accept
when no supported version is acceptable); this module names the result for the routes and GET /$versions.
"""

from __future__ import annotations

from plugin.api import accept

SUPPORTED = tuple(accept.FHIR_VERSIONS)
DEFAULT = accept.DEFAULT_VERSION


def negotiate(header: str | None) -> str | None:
    """The FHIR version to answer in (DEFAULT when none is named); None when no supported version is acceptable."""
    return accept.fhir_version(header)


def media_type(version: str) -> str:
    return f"application/fhir+json; fhirVersion={version}"
