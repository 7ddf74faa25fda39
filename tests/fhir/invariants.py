"""FHIR R4 invariants the external validators the tests run do not check, written out plainly.

dom-3 (DomainResource, R4): "If the resource is contained in another resource, it SHALL be referred to from elsewhere in
the resource or SHALL refer to the containing resource". HAPI's R4 instance validator reports it; the HL7 JSON Schema
cannot express it and Medplum's validateResource does not check it. This output uses plain '#id' references only (no
canonical or uri references to contained resources), so looking at every `reference` is the whole of the FHIRPath:

    contained.where((('#'+id in (%resource.descendants().reference | ...)) or
                     descendants().where(reference = '#').exists() ...).not()).trace('unmatched', id).empty()
"""

from __future__ import annotations

from typing import Any

from tests.conftest import values_of


def dom3_unreferenced(container: dict[str, Any]) -> list[str]:
    """Ids of contained resources that nothing in the container refers to and that do not refer to the container."""
    everywhere = set(values_of(container, "reference"))  # the container's own elements and every contained resource's
    return [c["id"] for c in container.get("contained", [])
            if f"#{c['id']}" not in everywhere and "#" not in set(values_of(c, "reference"))]
