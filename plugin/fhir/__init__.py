"""Stage 5b: FHIR R4 output, built as plain JSON on the hot path.

Tests prove every resource equals what fhir.resources.R4B (R4-compatible for these resources) makes of it.
"""

from plugin.fhir.outcome import operation_outcome
from plugin.fhir.r4 import build_bundle, build_contained

__all__ = ["build_bundle", "build_contained", "operation_outcome"]
